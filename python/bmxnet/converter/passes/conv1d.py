"""Pass: run 1-D binary convolutions as (1, k) 2-D ones. The matched layer already has 2-D
attributes and weight (``patterns``); this puts ``expand_dims(axis=2)`` before its op, (N, C,
W) -> (N, C, 1, W), and ``Reshape(shape=(0, 0, -1))`` after it, (N, O, 1, W') -> (N, O, W')."""

from ..conversion import Conversion
from ..graph import new_node


def wrap_conv1d(c: Conversion):
    for layer in c.layers:
        if not layer.match.conv1d:
            continue
        name, op = layer.node.name, layer.op
        data = op.inputs[0]
        expand = new_node("expand_dims", f"{name}_nchw", {"axis": "2"}, [data[:2]])
        op.inputs[0] = (expand, 0, 0)
        reshape = new_node("Reshape", f"{name}_ncw", {"shape": "(0, 0, -1)"}, [(op, 0)])
        c.redirect[(layer.end, 0)] = (reshape, 0)

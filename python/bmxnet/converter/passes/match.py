"""Pass: find the binary layers. Every Convolution/FullyConnected whose data and weight come from
a sign (``patterns``) becomes a `Layer` of the conversion; every other one is reported as
staying float, with why (``reasons``)."""

from typing import Dict

import numpy as np

from ..conversion import Conversion, Layer
from ..errors import NotConvertible
from ..graph import Node
from ..patterns import match_layer
from ..report import SkippedLayer

LAYER_OPS = ("Convolution", "FullyConnected")


def match_layers(c: Conversion):
    """Fills `c.layers` and `c.float_layers`, in graph order."""
    bases: Dict[Node, str] = {}  # names of evaluated weights, by sign node
    for node in c.graph.nodes:
        if node.op not in LAYER_OPS:
            continue
        try:
            m = match_layer(node, c.params, c.sym_path, c.folder, bases)
        except NotConvertible as why:
            kind = "conv" if node.op == "Convolution" else "dense"
            c.float_layers.append((node, SkippedLayer(node.name, kind, str(why))))
            continue
        bias = c.params.get(m.bias_var.name) if m.bias_var is not None else None
        c.layers.append(Layer(
            m, m.node, notes=list(m.notes),
            bias=bias.astype(np.float64) if bias is not None else None,
            bias_var=m.bias_var if bias is not None and bias.dtype == np.float32 else None))

"""Pass: fold XNOR-Net scaling into the binary layers.

``broadcast_mul(layer, Reshape(BlockGrad(mean(abs(w), axis=all but 0))))`` of the layer's own
weight variable ``w`` (BMXNet v2: a transposed ``mean(..., exclude=True)``) becomes the layer's
per-channel ``scale``, and a ``broadcast_add(., Reshape(b))`` of a float32 ``(O,)`` parameter
after it its ``bias``. Each must be the only consumer of what it follows."""

from typing import Optional

import numpy as np

from ..attrs import Attrs, reduce_axes
from ..conversion import Conversion, Layer
from ..errors import NotConvertible
from ..graph import Node
from ..patterns import Match
from ..v2_patterns import strip_transpose

_MUL_OPS = ("broadcast_mul", "elemwise_mul")
_ADD_OPS = ("broadcast_add", "elemwise_add")
# Ops with one input whose forward value is their input, possibly reshaped.
_PASS_THROUGH = frozenset(("BlockGrad", "stop_gradient", "identity", "_copy", "Reshape",
                           "reshape"))


def _strip(entry) -> Node:
    node = entry[0]
    while node.op in _PASS_THROUGH and len(node.inputs) == 1 and node.inputs[0][1] == 0:
        node = node.inputs[0][0]
    return node


def per_channel(value: np.ndarray, m: Match) -> Optional[np.ndarray]:
    """`value` as an (O,) float64 vector when broadcasting it over the layer output is per
    channel, else None."""
    shape = value.shape
    out_ndim = (3 if m.conv1d else 4) if m.kind == "conv" else 2
    if len(shape) > out_ndim:
        return None
    channel = out_ndim - 1 if m.kind == "dense" else 1  # axis of the output channels
    aligned = (1,) * (out_ndim - len(shape)) + shape   # numpy/MXNet broadcasting: right-aligned
    if any(d != 1 for i, d in enumerate(aligned) if i != channel):
        return None
    if aligned[channel] not in (1, m.out_channels):
        return None
    return np.broadcast_to(value.reshape(-1), (m.out_channels,)).astype(np.float64)


def _is_weight_magnitude(entry, m: Match, path: str) -> bool:
    """Whether `entry` is XNOR-Net's mean(|w|) over all but the output axis of the layer's own
    weight variable (behind BlockGrad / Reshape)."""
    mean = strip_transpose(_strip(entry), _strip)  # BMXNet v2 scales by a (1, O, 1, 1) transpose
    if m.weight_var is None or mean.op != "mean" or len(mean.inputs) != 1:
        return False
    source = mean.inputs[0][0]
    if source.op != "abs" or len(source.inputs) != 1 or source.inputs[0][0] is not m.weight_var:
        return False
    ndim = (3 if m.conv1d else 4) if m.kind == "conv" else 2
    try:
        return reduce_axes(Attrs(mean, path), ndim) == tuple(range(1, ndim))
    except NotConvertible:
        return False


def _other_operand(c: Conversion, node: Node, ops):
    """(the binary op consuming `node` alone when it is one of `ops`, its other operand)."""
    user, slot = c.sole_consumer(node)
    if user is None or user.op not in ops or len(user.inputs) != 2:
        return None, None
    return user, user.inputs[1 - slot]


def _fold_scale(c: Conversion, layer: Layer) -> bool:
    m = layer.match
    mul, other = _other_operand(c, layer.end, _MUL_OPS)
    if other is None or not _is_weight_magnitude(other, m, c.sym_path):
        return False
    try:
        scale = per_channel(c.folder.eval(other), m)
    except NotConvertible as why:
        layer.notes.append(f"scaling not folded: {why}")
        return False
    if scale is None:
        return False
    layer.end, layer.scale = mul, scale
    if layer.bias is not None:
        layer.bias, layer.bias_var = layer.bias * scale, None
    layer.notes.append("xnor scale mean(|w|) folded")
    return True


def _fold_bias_after_scale(c: Conversion, layer: Layer):
    m, params = layer.match, c.params
    add, other = _other_operand(c, layer.end, _ADD_OPS)
    source = _strip(other) if other is not None else None
    if not (source is not None and source.is_var and source.name in params
            and params.get(source.name) is not None
            and params.get(source.name).dtype == np.float32
            and params.get(source.name).shape == (m.out_channels,)):
        return
    try:
        bias = per_channel(c.folder.eval(other), m)
    except NotConvertible:
        return
    if bias is None:
        return
    layer.end = add
    layer.bias_var = source if layer.bias is None else None
    layer.bias = bias if layer.bias is None else layer.bias + bias


def fold_scaling(c: Conversion):
    for layer in c.layers:
        if _fold_scale(c, layer):
            _fold_bias_after_scale(c, layer)

"""Folding what follows a layer into it: XNOR-Net scaling, BMXNet v2's offset, BatchNorm, a
residual add."""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .attrs import Attrs, int_tuple, reduce_axes
from .errors import ConversionError, NotConvertible
from .folding import Folder
from .graph import Graph, Node, new_node
from .params import Params
from .patterns import Match
from .v2_patterns import offset_after, strip_transpose

# Ops with one input whose forward value is their input, possibly reshaped.
_PASS_THROUGH = frozenset(("BlockGrad", "stop_gradient", "identity", "_copy", "Reshape",
                           "reshape"))


def _strip(entry) -> Node:
    node = entry[0]
    while node.op in _PASS_THROUGH and len(node.inputs) == 1 and node.inputs[0][1] == 0:
        node = node.inputs[0][0]
    return node


def _sole_consumer(graph: Graph, node: Node):
    """(consumer, slot) when `node` feeds exactly one input of one node and is no head."""
    users = graph.consumers[node]
    if len(users) != 1 or graph.used_as_head(node):
        return None, None
    user, slot, idx = users[0]
    return (user, slot) if idx == 0 else (None, None)


def _per_channel(value: np.ndarray, m: Match) -> Optional[np.ndarray]:
    """`value` as an (O,) vector when broadcasting it over the layer output is per channel."""
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


@dataclass
class Epilogue:
    """What follows a binary layer and folds into it: output = scale * dot + bias."""
    end: Node                          # the node whose output the binary op replaces
    scale: Optional[np.ndarray]         # float64 (O,)
    bias: Optional[np.ndarray]          # float64 (O,)
    bias_var: Optional[Node]           # a variable holding exactly `bias`, if any
    notes: List[str]


def fold_epilogue(graph: Graph, m: Match, params: Params, folder: Folder,
                  path: str) -> Epilogue:
    """XNOR-Net scaling (and the bias added after it) that alone follows the layer:
    broadcast_mul(layer, Reshape(BlockGrad(mean(abs(w), axis=all but 0))))
    [-> broadcast_add(., Reshape(b))]."""
    ep = Epilogue(m.node, None, None, m.bias_var, [])
    if m.bias_var is not None:
        ep.bias = params.get(m.bias_var.name).astype(np.float64)

    def other_operand(user, slot):
        if user is None or len(user.inputs) != 2:
            return None
        return user.inputs[1 - slot]

    user, slot = _sole_consumer(graph, ep.end)
    other = other_operand(user, slot) if user is not None and user.op in (
        "broadcast_mul", "elemwise_mul") else None
    if other is not None and _is_weight_magnitude(other, m, path):
        try:
            scale = _per_channel(folder.eval(other), m)
        except NotConvertible as why:
            ep.notes.append(f"scaling not folded: {why}")
            scale = None
        if scale is not None:
            ep.end, ep.scale = user, scale
            if ep.bias is not None:
                ep.bias, ep.bias_var = ep.bias * scale, None
            ep.notes.append("xnor scale mean(|w|) folded")
            user, slot = _sole_consumer(graph, ep.end)
            other = other_operand(user, slot) if user is not None and user.op in (
                "broadcast_add", "elemwise_add") else None
            bias_src = _strip(other) if other is not None else None
            if (bias_src is not None and bias_src.is_var and bias_src.name in params
                    and params.get(bias_src.name) is not None
                    and params.get(bias_src.name).dtype == np.float32
                    and params.get(bias_src.name).shape == (m.out_channels,)):
                try:
                    bias = _per_channel(folder.eval(other), m)
                except NotConvertible:
                    bias = None
                if bias is not None:
                    ep.end = user
                    ep.bias_var = bias_src if ep.bias is None else None
                    ep.bias = bias if ep.bias is None else ep.bias + bias
    offset = offset_after(ep.end, lambda n: _sole_consumer(graph, n)[0])
    if offset is not None:  # BMXNet v2's (h + K) / 2
        ep.end, c, d = offset
        scale = ep.scale if ep.scale is not None else np.ones(m.out_channels)
        ep.scale = scale / d
        ep.bias = ((ep.bias if ep.bias is not None else np.zeros(m.out_channels)) + c) / d
        ep.bias_var = None
        ep.notes.append(f"offset (h + {c:g}) / {d:g} folded")
    return ep


def foldable_batchnorm(graph: Graph, end: Node, kind: str, conv1d: bool, flatten: bool,
                       out_channels: int, params: Params, path: str):
    """The BatchNorm that alone consumes the output `end` of a conv/dense layer with
    `out_channels` outputs, or (None, reason)."""
    bn, slot = _sole_consumer(graph, end)
    if bn is None or bn.op != "BatchNorm" or slot != 0:
        return None, None
    a = Attrs(bn, path)
    axis = a.int("axis", 1)
    if kind == "conv":
        ok_axes = (1, -2) if conv1d else (1, -3)
    else:
        ok_axes = (1, -1) if flatten else (-1,)
    if axis not in ok_axes:
        return None, f"{bn.name} not folded: axis={axis} is not the channel axis"
    if len(bn.inputs) != 5 or not all(s.is_var and s.name in params for s, _, _ in bn.inputs[1:]):
        return None, f"{bn.name} not folded: its statistics are not plain parameters"
    if any(idx > 0 for _, _, idx in graph.consumers[bn]) or any(
            h[0] is bn and h[1] > 0 for h in graph.heads):
        return None, f"{bn.name} not folded: its mean/var outputs are used"
    stats = [params.get(s.name) for s, _, _ in bn.inputs[1:]]
    if any(s is None or s.shape != (out_channels,) for s in stats):
        raise ConversionError(
            f"{params.path} does not match {path}: the statistics of {bn.name} do not have shape "
            f"({out_channels},); pass the .params file exported together with this symbol")
    if not np.all(stats[3].astype(np.float64) + a.float("eps", 1e-3) > 0):
        return None, f"{bn.name} not folded: running_var + eps is not positive"
    return bn, None


def batchnorm_factors(bn: Node, params: Params, path: str):
    """(k, running_mean, beta) in float64 with k = gamma / sqrt(running_var + eps) (gamma = 1
    under fix_gamma): the BatchNorm computes (x - running_mean) * k + beta."""
    b = Attrs(bn, path)
    gamma, beta, mean, var = (params.get(v.name).astype(np.float64) for v, _, _ in bn.inputs[1:])
    if b.bool("fix_gamma", True):
        gamma = np.ones_like(gamma)
    return gamma / np.sqrt(var + b.float("eps", 1e-3)), mean, beta


def fold_batchnorm_into_float_layer(graph: Graph, node: Node, kind: str, params: Params,
                                    path: str, new_var, redirect) -> Optional[str]:
    """Folds the BatchNorm that alone follows a float Convolution/FullyConnected with plain
    float32 weight (and bias) parameters into new weights W * k and bias (b - mean) * k + beta,
    k = gamma / sqrt(var + eps), as inference engines do; returns the BatchNorm's name, or None
    when the layer is not of that form (k-bit and computed weights stay as they are)."""
    a = Attrs(node, path)
    no_bias = a.bool("no_bias", False)
    if len(node.inputs) != (2 if no_bias else 3):
        return None
    w_var = node.inputs[1][0]
    b_var = None if no_bias else node.inputs[2][0]
    for v in (w_var, b_var):
        if v is not None and not (v.is_var and v.name in params
                                  and params.get(v.name) is not None
                                  and params.get(v.name).dtype == np.float32):
            return None
    weight = params.get(w_var.name)
    if kind == "conv":
        dims = len(int_tuple(a, "kernel") or ())
        if dims not in (1, 2) or a.str("layout", "None") not in ("None", "NCHW", "NCW"):
            return None
        out_channels = a.int("num_filter")
        flatten = False
    else:
        out_channels = a.int("num_hidden")
        flatten = a.bool("flatten", True)
        dims = 0
    if weight.ndim < 2 or weight.shape[0] != out_channels:
        return None  # check_params reports mismatched files; an odd graph stays as it is
    bn, _ = foldable_batchnorm(graph, node, kind, dims == 1, flatten, out_channels, params,
                               path)
    if bn is None:
        return None
    k, mean, beta = batchnorm_factors(bn, params, path)
    bias = params.get(b_var.name).astype(np.float64) if b_var is not None else 0.0
    new_w = (weight.astype(np.float64) * k.reshape((-1,) + (1,) * (weight.ndim - 1)))
    new_b = (bias - mean) * k + beta
    attrs = dict(node.attrs)
    attrs["no_bias"] = "False"
    inputs = [node.inputs[0][:2], (new_var(w_var.name, new_w.astype(np.float32), w_var), 0),
              (new_var(f"{node.name}_bias", new_b.astype(np.float32), b_var), 0)]
    redirect[(bn, 0)] = (new_node(node.op, node.name, attrs, inputs), 0)
    return bn.name


# Elementwise adds of two same-shaped tensors (Gluon's `a + b` exports elemwise_add).
_ELEMWISE_ADD_OPS = frozenset(("elemwise_add", "_plus", "_Plus", "_add"))


def fusable_residual_add(graph: Graph, end: Node, redirect):
    """(add node, other operand entry) when the layer output `end` feeds only one elementwise
    add (a ResNet shortcut), which bmx_binary_conv2d(add_residual=True) then computes in its
    epilogue; else None. An add already fused into the layer on its other operand (already
    redirected) is not fused again."""
    add, slot = _sole_consumer(graph, end)
    if add is None or add.op not in _ELEMWISE_ADD_OPS or len(add.inputs) != 2:
        return None
    if (add, 0) in redirect:
        return None
    other = add.inputs[1 - slot]
    return add, (other[0], other[1])

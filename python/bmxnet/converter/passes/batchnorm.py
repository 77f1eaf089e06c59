"""Pass: fold a BatchNorm that alone follows a binary layer (after its scaling and offset) into
the layer's ``scale`` and ``bias``. `foldable_batchnorm` and `batchnorm_factors` are shared
with the float layers' fold (``float_batchnorm``)."""

import numpy as np

from ..attrs import Attrs
from ..conversion import Conversion
from ..errors import ConversionError
from ..graph import Node


def foldable_batchnorm(c: Conversion, end: Node, kind: str, conv1d: bool, flatten: bool,
                       out_channels: int):
    """(the BatchNorm that alone consumes the output `end` of a conv/dense layer with
    `out_channels` outputs, None), or (None, why it is not folded, or None when there is no
    BatchNorm)."""
    params, path = c.params, c.sym_path
    bn, slot = c.sole_consumer(end)
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
    if any(idx > 0 for _, _, idx in c.graph.consumers[bn]) or any(
            h[0] is bn and h[1] > 0 for h in c.graph.heads):
        return None, f"{bn.name} not folded: its mean/var outputs are used"
    stats = [params.get(s.name) for s, _, _ in bn.inputs[1:]]
    if any(s is None or s.shape != (out_channels,) for s in stats):
        raise ConversionError(
            f"{params.path} does not match {path}: the statistics of {bn.name} do not have shape "
            f"({out_channels},); pass the .params file exported together with this symbol")
    if not np.all(stats[3].astype(np.float64) + a.float("eps", 1e-3) > 0):
        return None, f"{bn.name} not folded: running_var + eps is not positive"
    return bn, None


def batchnorm_factors(c: Conversion, bn: Node):
    """(k, running_mean, beta) in float64 with k = gamma / sqrt(running_var + eps) (gamma = 1
    under fix_gamma): the BatchNorm computes (x - running_mean) * k + beta."""
    b = Attrs(bn, c.sym_path)
    gamma, beta, mean, var = (c.params.get(v.name).astype(np.float64)
                              for v, _, _ in bn.inputs[1:])
    if b.bool("fix_gamma", True):
        gamma = np.ones_like(gamma)
    return gamma / np.sqrt(var + b.float("eps", 1e-3)), mean, beta


def fold_batchnorm(c: Conversion):
    if not c.fold_batchnorm:
        return
    for layer in c.layers:
        m = layer.match
        bn, note = foldable_batchnorm(c, layer.end, m.kind, m.conv1d,
                                      m.attrs.get("flatten") == "True", m.out_channels)
        if note:
            layer.notes.append(note)
        if bn is None:
            continue
        k, mean, beta = batchnorm_factors(c, bn)
        layer.scale = k if layer.scale is None else layer.scale * k
        layer.bias = ((layer.bias if layer.bias is not None else 0.0) - mean) * k + beta
        layer.bias_var = None
        layer.batchnorm = layer.end = bn

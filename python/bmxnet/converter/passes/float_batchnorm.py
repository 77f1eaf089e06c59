"""Pass: fold a BatchNorm that alone follows a float Convolution/FullyConnected with plain
float32 weight (and bias) parameters into new weights ``W * k`` and bias
``(b - mean) * k + beta``, ``k = gamma / sqrt(var + eps)``, as inference engines do. Layers of
another form (k-bit and computed weights) stay as they are."""

from typing import Optional

import numpy as np

from ..attrs import Attrs, int_tuple
from ..conversion import Conversion
from ..graph import Node, new_node
from .batchnorm import batchnorm_factors, foldable_batchnorm


def _fold(c: Conversion, node: Node, kind: str) -> Optional[str]:
    """Folds the BatchNorm after `node`; returns its name, or None when there is none to fold."""
    params = c.params
    a = Attrs(node, c.sym_path)
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
    bn, _ = foldable_batchnorm(c, node, kind, dims == 1, flatten, out_channels)
    if bn is None:
        return None
    k, mean, beta = batchnorm_factors(c, bn)
    bias = params.get(b_var.name).astype(np.float64) if b_var is not None else 0.0
    new_w = (weight.astype(np.float64) * k.reshape((-1,) + (1,) * (weight.ndim - 1)))
    new_b = (bias - mean) * k + beta
    attrs = dict(node.attrs)
    attrs["no_bias"] = "False"
    inputs = [node.inputs[0][:2], (c.new_var(w_var.name, new_w.astype(np.float32), w_var), 0),
              (c.new_var(f"{node.name}_bias", new_b.astype(np.float32), b_var), 0)]
    c.redirect[(bn, 0)] = (new_node(node.op, node.name, attrs, inputs), 0)
    return bn.name


def fold_float_batchnorm(c: Conversion):
    """Every layer that stays float gets the BatchNorm after it folded in."""
    if not c.fold_batchnorm:
        return
    for node, layer in c.float_layers:
        layer.folded_batchnorm = _fold(c, node, layer.kind)

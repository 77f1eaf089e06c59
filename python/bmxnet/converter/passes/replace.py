"""Pass: replace each binary layer, from its data input to the last node folded into it, by one
``bmx_binary_conv2d`` / ``bmx_binary_dense`` over its packed weight, with its ``scale``,
``bias`` and ``residual`` as inputs (DESIGN.md section 3, "Ops")."""

import numpy as np

from ..conversion import Conversion, Layer
from ..graph import new_node

OPS = {"conv": "bmx_binary_conv2d", "dense": "bmx_binary_dense"}


def _inputs_and_attrs(c: Conversion, layer: Layer):
    m, node = layer.match, layer.node
    inputs = [m.data_in, (layer.packed_var, 0)]
    attrs = node.hidden_attrs()
    attrs.update(m.attrs)
    if layer.scale is not None:
        inputs.append((c.new_var(f"{node.name}_scale", layer.scale.astype(np.float32)), 0))
    if layer.bias is not None:
        if layer.bias_var is not None:
            inputs.append((layer.bias_var, 0))  # unchanged: keep the original variable
        else:
            template = m.bias_var if layer.batchnorm is None else None
            inputs.append((c.new_var(f"{node.name}_bias", layer.bias.astype(np.float32),
                                     template), 0))
    attrs["use_scale"] = str(layer.scale is not None)
    attrs["no_bias"] = str(layer.bias is None)
    if layer.residual is not None:
        inputs.append(layer.residual)
        attrs["add_residual"] = "True"
    return inputs, attrs


def replace_layers(c: Conversion):
    for layer in c.layers:
        inputs, attrs = _inputs_and_attrs(c, layer)
        layer.op = new_node(OPS[layer.match.kind], layer.node.name, attrs, inputs)
        c.redirect[(layer.end, 0)] = (layer.op, 0)

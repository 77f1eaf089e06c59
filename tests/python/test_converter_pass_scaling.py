"""The converter's XNOR scaling pass (bmxnet.converter.passes.scaling) on hand-written graphs:
mean(|w|) of the layer's own weight, and the bias added after it, fold into scale and bias."""
import numpy as np
from converter_graphs import Sym, conversion, run_before, run_through

from bmxnet.converter.passes.scaling import fold_scaling


def _xnor_layer(axis="(1, 2, 3)", own_weight=True):
    """QConv2D(scaling="xnor") as nn.py exports it: mul by mean(|w|), then add the bias."""
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 8, 4, bias=False)
    w = next((i, 0) for i, n in enumerate(s.nodes) if n["name"] == "q_weight")
    if not own_weight:
        w = s.weight("other_weight", (8, 4, 3, 3))
    m = s.op("mean", "q_mean", [s.op("abs", "q_abs", [w])], axis=axis)
    m = s.op("Reshape", "q_scale", [s.op("BlockGrad", "q_stop", [m])], shape="(1, -1, 1, 1)")
    y = s.op("broadcast_mul", "q_mul", [y, m])
    b = s.param("q_bias", np.arange(8, dtype=np.float32))
    b = s.op("Reshape", "q_bias_r", [b], shape="(1, -1, 1, 1)")
    return s, s.op("broadcast_add", "q_add", [y, b])


def test_xnor_scale_and_the_bias_after_it_fold_into_the_layer():
    s, y = _xnor_layer()
    c = run_through(conversion(s, [y]), fold_scaling)
    (layer,) = c.layers
    weight = c.params.get("q_weight")
    np.testing.assert_allclose(layer.scale, np.abs(weight).mean(axis=(1, 2, 3)), rtol=1e-6)
    np.testing.assert_array_equal(layer.bias, np.arange(8))
    assert layer.bias_var.name == "q_bias"  # unchanged: the op reads the same variable
    assert layer.end.name == "q_add"
    assert layer.notes == ["xnor scale mean(|w|) folded"]


def test_a_scale_that_is_not_the_layers_own_weight_magnitude_stays():
    for s, y in (_xnor_layer(axis="(0, 2, 3)"), _xnor_layer(own_weight=False)):
        c = run_through(conversion(s, [y]), fold_scaling)
        (layer,) = c.layers
        assert layer.scale is None and layer.end is layer.node and not layer.notes


def test_the_pass_alone_makes_the_difference():
    s, y = _xnor_layer()
    c = run_before(conversion(s, [y]), fold_scaling)
    assert c.layers[0].scale is None
    fold_scaling(c)
    assert c.layers[0].scale is not None

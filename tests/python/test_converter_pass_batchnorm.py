"""The converter's BatchNorm pass for binary layers (bmxnet.converter.passes.batchnorm) on
hand-written graphs: a BatchNorm that alone follows the layer folds into scale and bias."""
import numpy as np
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter.passes.batchnorm import fold_batchnorm


def _layer_and_bn(axis=1):
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 8, 4, bias=True)
    return s, s.batchnorm(y, "bn", 8, axis=axis)


def test_batchnorm_folds_into_scale_and_bias():
    s, y = _layer_and_bn()
    c = run_through(conversion(s, [y]), fold_batchnorm)
    (layer,) = c.layers
    p = {k[4:]: v.astype(np.float64) for k, v in s.params.items()}
    k = p["bn_gamma"] / np.sqrt(p["bn_running_var"] + 1e-5)
    np.testing.assert_array_equal(layer.scale, k)
    np.testing.assert_array_equal(layer.bias, (p["q_bias"] - p["bn_running_mean"]) * k
                                  + p["bn_beta"])
    assert layer.batchnorm.name == "bn_fwd" and layer.end is layer.batchnorm
    assert layer.bias_var is None  # the bias changed: a new variable holds it


def test_batchnorm_on_another_axis_stays_with_the_reason():
    s, y = _layer_and_bn(axis=2)
    (layer,) = run_through(conversion(s, [y]), fold_batchnorm).layers
    assert layer.batchnorm is None and layer.scale is None
    assert layer.notes == ["bn_fwd not folded: axis=2 is not the channel axis"]


def test_no_fold_bn_keeps_every_batchnorm():
    s, y = _layer_and_bn()
    (layer,) = run_through(conversion(s, [y], fold_batchnorm=False), fold_batchnorm).layers
    assert layer.batchnorm is None and layer.end is layer.node

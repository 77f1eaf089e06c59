"""bmxnet.v2 beyond v2's own test file: the offset in hybridized and exported graphs, v2's
argument checks, config scoping, 1-D/3-D pre-padding and the scaled blocks."""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

import bmxnet  # noqa: F401
from bmxnet import v2
from bmxnet.v2 import nn


def _rand(shape, seed=0, scale=1.0):
    return mx.nd.array(np.random.RandomState(seed).uniform(-scale, scale, size=shape))


def test_qdense_returns_the_xnor_count():
    d = nn.QDense(1, use_bias=False, in_units=4)
    d.initialize(mx.init.One())
    assert d(mx.nd.array([[1, 1, 1, -1]])).asscalar() == 3.0
    e = nn.QDense(1, in_units=4, no_offset=True, params=d.collect_params())
    assert e(mx.nd.array([[1, 1, 1, -1]])).asscalar() == 2.0


def _v2_net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.QActivation(), nn.QConv2D(8, 3, padding=1), nn.BatchNorm(),
                nn.QActivation(), nn.QDense(5))
    return net


def test_hybridized_deferred_offset_equals_imperative_and_exports_k(tmp_path):
    net = _v2_net()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = _rand((2, 3, 6, 6))
    first = net(x).asnumpy()           # the call that completes the deferred shapes
    second = net(x).asnumpy()
    net.hybridize(active=False)
    imperative = net(x).asnumpy()
    np.testing.assert_array_equal(first, imperative)
    np.testing.assert_array_equal(second, imperative)
    net.hybridize()
    net(x)
    net.export(str(tmp_path / "m"))
    nodes = json.load(open(tmp_path / "m-symbol.json"))["nodes"]
    plus = [float(n["attrs"]["scalar"]) for n in nodes if n["op"] == "_plus_scalar"]
    div = [float(n["attrs"]["scalar"]) for n in nodes if n["op"] == "_div_scalar"]
    assert plus == [27.0, 8 * 6 * 6] and div == [2.0, 2.0]
    pads = [n for n in nodes if n["op"] == "Pad"]
    assert len(pads) == 1 and float(pads[0]["attrs"]["constant_value"]) == -1.0


def test_v2_parameter_names_and_weight_decay():
    conv = nn.QConv2D(4, 3)
    assert conv.weight.name.startswith("qconv") and conv.weight.wd_mult == 0.0
    block = nn.BinaryConvolution(4, prefix="blk_")
    assert sorted(block.collect_params()) == ["blk_weight"]
    assert nn.QDense(3).weight.wd_mult == 0.0


@pytest.mark.parametrize("layer", [lambda: nn.QConv2D(4, 3, use_bias=True),
                                   lambda: nn.QDense(4, use_bias=True),
                                   lambda: nn.QConv2D(4, 3, activation="relu"),
                                   lambda: nn.QConv2D(4, 3, layout="NHWC")])
def test_unsupported_arguments_are_refused_in_one_sentence(layer):
    with pytest.raises(ValueError, match="not supported|only layout"):
        layer()


def test_wrong_method_for_the_width_is_refused():
    with pytest.raises(ValueError, match="does not work with 2 bit"):
        nn.QActivation(bits=2, method="det_sign")
    with pytest.raises(ValueError, match="unknown binary layer config field"):
        with nn.set_binary_layer_config(bitz=2):
            pass


def test_config_is_restored_and_inconsistent_methods_become_defaults():
    before = nn.binary_layer_config.get_values()
    with nn.set_binary_layer_config(bits_a=3):
        assert nn.binary_layer_config.activation == "round"   # det_sign does not fit 3 bits
        assert nn.QActivation().bits == 3
    assert nn.binary_layer_config.get_values() == before
    with pytest.raises(RuntimeError):
        with nn.set_binary_layer_config(bits=2):
            raise RuntimeError("inside")
    assert nn.binary_layer_config.get_values() == before


@pytest.mark.parametrize("ndim", [1, 3])
def test_1d_and_3d_convolutions_pad_with_minus_one(ndim):
    layer = (nn.QConv1D if ndim == 1 else nn.QConv3D)(3, 3, padding=1, in_channels=2)
    layer.initialize(mx.init.Xavier())
    x = mx.nd.array(np.sign(np.random.RandomState(1).uniform(-1, 1, (2, 2) + (5,) * ndim)) + 0.0)
    w = v2.det_sign(layer.weight.data())
    padded = mx.nd.array(np.pad(x.asnumpy(), [(0, 0), (0, 0)] + [(1, 1)] * ndim,
                                constant_values=-1))
    h = mx.nd.Convolution(padded, w, **layer._kwargs)
    np.testing.assert_array_equal(layer(x).asnumpy(), ((h + 2 * 3 ** ndim) / 2).asnumpy())
    layer.hybridize()
    np.testing.assert_array_equal(layer(x).asnumpy(), ((h + 2 * 3 ** ndim) / 2).asnumpy())


def test_scaled_binary_conv_is_xnor_nets():
    block = nn.ScaledBinaryConv(4, kernel_size=3, padding=1, in_channels=2)
    block.initialize(mx.init.Xavier())
    x = _rand((1, 2, 5, 5), seed=3)
    w = block.qconv.weight.data()
    alpha = mx.nd.mean(mx.nd.abs(w), axis=(1, 2, 3)).reshape((1, -1, 1, 1))
    signs = mx.nd.pad(v2.det_sign(x), mode="constant", constant_value=-1,
                      pad_width=(0, 0, 0, 0, 1, 1, 1, 1))
    h = mx.nd.Convolution(signs, v2.det_sign(w), kernel=(3, 3), num_filter=4, no_bias=True)
    a = mx.nd.mean(mx.nd.abs(x), axis=1, keepdims=True)
    k = mx.nd.Convolution(a, mx.nd.full((1, 1, 3, 3), 1 / 9), kernel=(3, 3), num_filter=1,
                          no_bias=True, pad=(1, 1))
    expected = mx.nd.broadcast_mul(k, mx.nd.broadcast_mul(h, alpha))
    np.testing.assert_allclose(block(x).asnumpy(), expected.asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("approximation,stopped", [("xnor", True), ("", False)])
def test_weight_scale_gradient_is_stopped_only_under_xnor(approximation, stopped):
    with nn.set_binary_layer_config(approximation=approximation):
        conv = nn.QConv2D(2, 1, in_channels=1, apply_scaling=True)
    conv.initialize(mx.init.Constant(0.5))
    x = mx.nd.ones((1, 1, 1, 1))
    with autograd.record():
        y = conv(x).sum()
    y.backward()
    grad = conv.weight.grad().asnumpy().ravel()
    # y = sum_o sign(w_o) * |w_o| (x = 1): the STE path gives |w_o| = 0.5, the scale path
    # sign(w_o) = 1 more
    np.testing.assert_allclose(grad, [0.5, 0.5] if stopped else [1.5, 1.5])


def test_fluent_methods_as_in_the_fork():
    x = _rand((3, 4), seed=2, scale=2.0)
    np.testing.assert_array_equal(x.det_sign().asnumpy(), v2.det_sign(x).asnumpy())
    np.testing.assert_array_equal(x.approx_sign().asnumpy(), v2.approx_sign(x).asnumpy())
    np.testing.assert_array_equal(x.round_ste().asnumpy(), np.round(x.asnumpy()))
    sym = mx.sym.var("x").det_sign()
    np.testing.assert_array_equal(sym.eval(x=x)[0].asnumpy(), v2.det_sign(x).asnumpy())

"""bmxnet.nn layers, larq style: a quantized layer equals the float Gluon layer applied to
quantized inputs and weights; gradients equal their definitions; every option hybridizes and
exports."""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet  # noqa: F401
from bmxnet import quantizers
from bmxnet.nn import QActivation, QConv1D, QConv2D, QDense


def _rand(shape, seed=0, scale=1.5):
    return mx.nd.array(np.random.RandomState(seed).uniform(-scale, scale, size=shape))


def _quantize(name, bits, mode, x):
    """Reference quantization with the plain quantizer functions (not the layers)."""
    if bits == 32:
        return x
    if bits > 1:
        return quantizers.dorefa(mx.nd, x, bits=bits, mode=mode)
    return quantizers.get(name)(mx.nd, x)


def _init(layer, x):
    layer.initialize(mx.init.Uniform(1.0))
    layer(x)  # completes deferred shapes
    for p in layer.collect_params().values():
        if p.name.endswith("bias"):
            p.set_data(_rand(p.shape, seed=7))
    return layer


def _pad_nd(x, pad, value):
    """Pads the spatial axes of x (N, C, ...) with `value`."""
    width = [(0, 0), (0, 0)] + [(p, p) for p in pad]
    return mx.nd.array(np.pad(x.asnumpy(), width, constant_values=value))


CONV_CASES = [
    # bits, bits_a, input_quantizer, kernel_quantizer, pad_value
    (1, 1, "det_sign", "det_sign", -1),
    (1, 1, "det_sign", "det_sign", 1),
    (1, 1, "det_sign", "det_sign", 0),
    (1, 1, "approx_sign", "approx_sign", -1),
    (1, 1, "swish_sign", "det_sign", 1),
    (1, 1, "ste_heaviside", "det_sign", 0),
    (2, 3, "det_sign", "det_sign", -1),
    (1, 32, "det_sign", "det_sign", -1),
    (32, 1, "det_sign", "det_sign", 1),
    (32, 32, "det_sign", "det_sign", -1),
]


@pytest.mark.parametrize("bits,bits_a,act,wq,pad_value", CONV_CASES)
@pytest.mark.parametrize("ndim", [1, 2])
def test_qconv_equals_float_conv_on_quantized_values(bits, bits_a, act, wq, pad_value, ndim):
    kernel, strides, padding, dilation, groups = (3, 2, 1, 1, 1) if ndim == 2 else (3, 1, 2, 2, 2)
    layer_cls, float_cls = (QConv2D, nn.Conv2D) if ndim == 2 else (QConv1D, nn.Conv1D)
    shape = (2, 4, 7, 6) if ndim == 2 else (2, 4, 9)
    x = _rand(shape, seed=1)
    q = _init(layer_cls(6, kernel, strides, padding, dilation, groups, pad_value=pad_value,
                        input_quantizer=act, kernel_quantizer=wq, bits=bits, bits_a=bits_a),
              x)
    w = q.weight.data()
    xq = _quantize(act, bits_a, "activations", x)
    wq_ = _quantize(wq, bits, "weights", w)
    binary_input = bits_a == 1
    pad = (padding,) * ndim
    if binary_input and pad_value != 0:
        xq, float_padding = _pad_nd(xq, pad, pad_value), 0
    else:
        float_padding = padding
    ref = float_cls(6, kernel, strides, float_padding, dilation, groups, in_channels=4)
    ref.initialize()
    ref.weight.set_data(wq_)
    ref.bias.set_data(q.bias.data())
    np.testing.assert_allclose(q(x).asnumpy(), ref(xq).asnumpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bits,bits_a,act,wq", [(1, 1, "det_sign", "det_sign"),
                                                (1, 1, "approx_sign", "swish_sign"),
                                                (4, 2, "det_sign", "det_sign"),
                                                (1, 32, "det_sign", "det_sign"),
                                                (32, 32, "det_sign", "det_sign")])
@pytest.mark.parametrize("flatten", [True, False])
def test_qdense_equals_float_dense_on_quantized_values(bits, bits_a, act, wq, flatten):
    x = _rand((3, 2, 5), seed=2)
    q = _init(QDense(7, input_quantizer=act, kernel_quantizer=wq, bits=bits, bits_a=bits_a,
                     flatten=flatten), x)
    ref = nn.Dense(7, flatten=flatten, in_units=10 if flatten else 5)
    ref.initialize()
    ref.weight.set_data(_quantize(wq, bits, "weights", q.weight.data()))
    ref.bias.set_data(q.bias.data())
    expected = ref(_quantize(act, bits_a, "activations", x))
    np.testing.assert_allclose(q(x).asnumpy(), expected.asnumpy(), rtol=1e-5, atol=1e-5)


def test_qactivation():
    x = _rand((4, 9))
    np.testing.assert_array_equal(QActivation()(x).asnumpy(), np.where(x.asnumpy() >= 0, 1, -1))
    np.testing.assert_array_equal(QActivation(bits=32)(x).asnumpy(), x.asnumpy())
    np.testing.assert_allclose(QActivation(bits=3)(x).asnumpy(),
                               quantizers.dorefa(mx.nd, x, bits=3).asnumpy())
    np.testing.assert_array_equal(QActivation(act_bit=2)(x).asnumpy(),
                                  QActivation(bits_a=2)(x).asnumpy())
    # gradient: straight through, cancelled where |x| > clip_threshold
    layer = QActivation(clip_threshold=0.7)
    x.attach_grad()
    with mx.autograd.record():
        y = layer(x)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.abs(x.asnumpy()) <= 0.7)


@pytest.mark.parametrize("hybridize", [False, True])
def test_kbit_qactivation_cancels_the_gradient_beyond_clip_threshold(hybridize):
    layer = QActivation(bits=2, clip_threshold=0.2)
    if hybridize:
        layer.hybridize()
    x = mx.nd.array([0.1, 0.5, 0.9])
    x.attach_grad()
    with mx.autograd.record():
        y = layer(x)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [1, 0, 0])
    np.testing.assert_array_equal(y.asnumpy(), quantizers.dorefa(mx.nd, x, bits=2).asnumpy())


def test_kbit_layer_input_cancels_the_gradient_beyond_clip_threshold():
    layer = QDense(3, bits=32, bits_a=2, clip_threshold=0.4, in_units=4)
    layer.initialize(mx.init.One())
    x = mx.nd.array([[0.1, 0.3, 0.5, 0.9]])
    x.attach_grad()
    with mx.autograd.record():
        y = layer(x)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [[3, 3, 0, 0]])


def test_binary_gradients_equal_their_definition():
    """QDense(1 bit): y = sign(x) sign(W)^T; dL/dW = (dL/dy)^T sign(x) where |W| <= clip,
    dL/dx = (dL/dy) sign(W) where |x| <= clip."""
    clip = 0.9
    x = _rand((4, 12), seed=3)
    layer = _init(QDense(5, clip_threshold=clip, use_bias=False), x)
    w = layer.weight.data().asnumpy()
    x.attach_grad()
    r = _rand((4, 5), seed=4)
    with mx.autograd.record():
        loss = (layer(x) * r).sum()
    loss.backward()
    xs, ws = np.where(x.asnumpy() >= 0, 1, -1), np.where(w >= 0, 1, -1)
    np.testing.assert_allclose(layer.weight.grad().asnumpy(),
                               (r.asnumpy().T @ xs) * (np.abs(w) <= clip), rtol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(),
                               (r.asnumpy() @ ws) * (np.abs(x.asnumpy()) <= clip), rtol=1e-5)


@pytest.mark.parametrize("use_bias", [False, True])
def test_xnor_scaling(use_bias):
    """scaling='xnor': output channel o times mean|W[o]|, bias after; gradient stopped
    through the mean (larq's MagnitudeAwareSign)."""
    x = _rand((2, 3, 5, 5), seed=5)
    q = _init(QConv2D(4, 3, padding=1, scaling="xnor", use_bias=use_bias), x)
    plain = QConv2D(4, 3, padding=1, use_bias=False, in_channels=3)
    plain.initialize()
    plain.weight.set_data(q.weight.data())
    w = q.weight.data().asnumpy()
    alpha = np.abs(w).mean(axis=(1, 2, 3)).reshape(1, -1, 1, 1)
    expected = plain(x).asnumpy() * alpha
    if use_bias:
        expected += q.bias.data().asnumpy().reshape(1, -1, 1, 1)
    np.testing.assert_allclose(q(x).asnumpy(), expected, rtol=1e-5, atol=1e-5)
    # gradient w.r.t. W: STE only (alpha is a constant for the gradient)
    r = _rand(expected.shape, seed=6)
    with mx.autograd.record():
        (q(x) * r).sum().backward()
    with mx.autograd.record():
        (plain(x) * (r * mx.nd.array(alpha))).sum().backward()
    np.testing.assert_allclose(q.weight.grad().asnumpy(), plain.weight.grad().asnumpy(),
                               rtol=1e-4, atol=1e-5)

    d = _init(QDense(3, scaling="xnor"), mx.nd.ones((2, 6)))
    xd = _rand((2, 6), seed=8)
    wd = d.weight.data().asnumpy()
    expected = (np.where(xd.asnumpy() >= 0, 1, -1) @ np.where(wd >= 0, 1, -1).T
                * np.abs(wd).mean(axis=1) + d.bias.data().asnumpy())
    np.testing.assert_allclose(d(xd).asnumpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("M,N", [(3, 1), (1, 2), (2, 3)])
def test_abc_net_bases(M, N):
    """ABC-Net: sum_{m,n} alpha_m beta_n conv(sign(x + v_n), sign(W - mean W + u_m std W))."""
    x = _rand((2, 3, 6, 6), seed=9)
    q = _init(QConv2D(4, 3, padding=1, weight_bases=M, act_bases=N), x)
    rng = np.random.RandomState(10)
    q.weight_coef.set_data(mx.nd.array(rng.uniform(0.1, 1, M)))
    q.act_coef.set_data(mx.nd.array(rng.uniform(0.1, 1, N)))
    q.act_shift.set_data(mx.nd.array(rng.uniform(-0.5, 0.5, N)))
    w = q.weight.data().asnumpy()
    alpha, beta = q.weight_coef.data().asnumpy(), q.act_coef.data().asnumpy()
    shift = q.act_shift.data().asnumpy()
    us = [0.0] if M == 1 else np.linspace(-1, 1, M)
    expected = q.bias.data().asnumpy().reshape(1, -1, 1, 1)
    for m, u in enumerate(us):
        base = np.where(w - w.mean() + u * w.std() >= 0, 1.0, -1.0)
        for n in range(N):
            a = np.where(x.asnumpy() + shift[n] >= 0, 1.0, -1.0)
            a = np.pad(a, [(0, 0), (0, 0), (1, 1), (1, 1)], constant_values=-1)
            conv = mx.nd.Convolution(mx.nd.array(a), mx.nd.array(base), kernel=(3, 3),
                                     num_filter=4, no_bias=True).asnumpy()
            expected = expected + alpha[m] * beta[n] * conv
    np.testing.assert_allclose(q(x).asnumpy(), expected, rtol=1e-5, atol=1e-4)
    # all coefficients and shifts learn
    with mx.autograd.record():
        q(x).square().sum().backward()
    for p in (q.weight_coef, q.act_coef, q.weight):
        assert np.abs(p.grad().asnumpy()).sum() > 0, p.name
    if N > 1 or shift.any():
        assert np.abs(q.act_shift.grad().asnumpy()).sum() > 0


def test_aliases_and_option_errors():
    a = QConv2D(4, 3, weight_bit=2, act_bit=4)
    assert (a._bits, a._bits_a) == (2, 4)
    assert QDense(3, weight_bit=32)._bits == 32
    with pytest.raises(ValueError, match="bits=2 and weight_bit=3 disagree"):
        QConv2D(4, 3, bits=2, weight_bit=3)
    with pytest.raises(ValueError, match="1..32"):
        QDense(3, bits=33)
    with pytest.raises(ValueError, match="1..32"):
        QActivation(bits=0)
    with pytest.raises(ValueError, match="pad_value"):
        QConv2D(4, 3, pad_value=2)
    with pytest.raises(ValueError, match="scaling"):
        QConv2D(4, 3, scaling="mean")
    with pytest.raises(ValueError, match="unknown quantizer"):
        QDense(3, input_quantizer="sgn")
    with pytest.raises(ValueError, match="ABC-Net"):
        QConv2D(4, 3, weight_bases=2, bits=2)
    with pytest.raises(ValueError, match="exclude"):
        QConv2D(4, 3, weight_bases=2, scaling="xnor")
    with pytest.raises(ValueError, match="layout"):
        QConv2D(4, 3, layout="NHWC")


def test_quantizer_aliases_mean_the_same_quantizer():
    x = _rand((2, 3, 6, 6), seed=4)
    a = _init(QConv2D(4, 3, kernel_quantizer="swish_sign", input_quantizer="approx_sign"), x)
    b = QConv2D(4, 3, weight_quantization="swish_sign", input_quantizer="approx_sign")
    _init(b, x)
    b.weight.set_data(a.weight.data())
    b.bias.set_data(a.bias.data())
    np.testing.assert_array_equal(a(x).asnumpy(), b(x).asnumpy())
    assert QDense(3, weight_quantization="approx_sign")._quantize_weight.__name__ == "approx_sign"
    assert QDense(3, kernel_quantizer="approx_sign", weight_quantization="approx_sign")
    with pytest.raises(ValueError, match="kernel_quantizer='det_sign' and "
                                         "weight_quantization='approx_sign' disagree"):
        QDense(3, kernel_quantizer="det_sign", weight_quantization="approx_sign")
    np.testing.assert_array_equal(QActivation("approx_sign")(x).asnumpy(),
                                  QActivation(activation="approx_sign")(x).asnumpy())
    with pytest.raises(ValueError, match="disagree"):
        QActivation(quantizer="det_sign", activation="approx_sign")


@pytest.mark.parametrize("make,shape", [
    (lambda **o: QConv2D(4, 3, padding=1, **o), (2, 3, 5, 5)),
    (lambda **o: QConv1D(4, 3, padding=1, **o), (2, 3, 7)),
    (lambda **o: QDense(4, **o), (2, 6)),
])
@pytest.mark.parametrize("hybridize", [False, True])
def test_activation_is_gluons_output_activation(make, shape, hybridize):
    x = _rand(shape, seed=5)
    plain, relu = make(), make(activation="relu")
    _init(plain, x)
    _init(relu, x)
    for p, q in zip(plain.collect_params().values(), relu.collect_params().values()):
        q.set_data(p.data())
    if hybridize:
        plain.hybridize()
        relu.hybridize()
    expected = plain(x).asnumpy()
    assert (expected < 0).any()
    np.testing.assert_array_equal(relu(x).asnumpy(), np.maximum(expected, 0))


@pytest.mark.parametrize("layer", [QConv2D, QConv1D, QDense])
def test_a_quantizer_given_as_activation_is_refused_with_the_right_name(layer):
    with pytest.raises(ValueError, match="input_quantizer='approx_sign'"):
        layer(4, 3, activation="approx_sign") if layer is not QDense else \
            layer(4, activation="approx_sign")
    with pytest.raises(ValueError, match="Gluon's output activation"):
        QDense(4, activation=quantizers.det_sign)


def test_model_zoo_refuses_activation_as_a_quantizer():
    with pytest.raises(ValueError, match="input_quantizer="):
        bmxnet.model_zoo.get_model("binary_lenet", classes=10, activation="approx_sign")
    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10, input_quantizer="approx_sign",
                                     kernel_quantizer="swish_sign")
    layers = []
    net.apply(lambda b: layers.append(b) if isinstance(b, (QConv2D, QDense)) else None)
    assert layers and all(b._quantize_input.__name__ == "approx_sign" and
                          b._quantize_weight.__name__ == "swish_sign" for b in layers)


def test_deferred_shapes_only_touch_blocks_with_quantized_layers():
    """HybridBlock.infer_shape stays Gluon's own and a float net infers as in Gluon;
    infer_shape on a quantized layer alone, and the first forward of a hybridized container,
    complete the quantized weights."""
    from mxnet.gluon import HybridBlock
    assert HybridBlock.infer_shape.__module__ == "mxnet.gluon.block"
    float_net = nn.HybridSequential()
    float_net.add(nn.Conv2D(4, 3), nn.Dense(2))
    float_net.initialize()
    float_net.hybridize()
    float_net(mx.nd.ones((1, 3, 5, 5)))
    assert float_net[0].weight.shape == (4, 3, 3, 3)
    layer = QConv2D(4, 3)
    layer.initialize()
    layer.infer_shape(mx.nd.ones((1, 5, 6, 6)))
    assert layer.weight.shape == (4, 5, 3, 3)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, 3), QConv2D(4, 3), QDense(2))
    net.initialize()
    net.hybridize()
    net(mx.nd.ones((1, 3, 9, 9)))
    assert net[1].weight.shape == (4, 6, 3, 3) and net[2].weight.shape == (2, 4 * 5 * 5)


def test_gluon_options_behave_as_in_gluon():
    """groups, dilation, strides, initializers, prefixes are Gluon's."""
    q = QConv2D(8, (3, 5), strides=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2,
                use_bias=False, weight_initializer=mx.init.Constant(0.25), prefix="myconv_")
    q.initialize()
    y = q(mx.nd.ones((1, 6, 9, 9)))
    assert q.weight.shape == (8, 3, 3, 5) and q.bias is None
    assert q.weight.name == "myconv_weight"
    ref = nn.Conv2D(8, (3, 5), (2, 1), (1, 2), (2, 1), 2, in_channels=6)
    ref.initialize()
    assert y.shape == ref(mx.nd.ones((1, 6, 9, 9))).shape
    np.testing.assert_array_equal(q.weight.data().asnumpy(), 0.25)
    assert "bits=1" in repr(q) and "pad_value=-1" in repr(q)


OPTIONS = [{}, {"scaling": "xnor"}, {"bits": 3, "bits_a": 2}, {"pad_value": 0},
           {"pad_value": 1}, {"input_quantizer": "approx_sign", "kernel_quantizer": "swish_sign"},
           {"weight_bases": 2, "act_bases": 2}, {"bits": 32, "bits_a": 32},
           {"input_quantizer": "ste_heaviside", "clip_threshold": 0}, {"activation": "relu"}]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_every_option_hybridizes_and_exports(tmp_path, options):
    dense_options = {k: v for k, v in options.items()
                     if k not in ("pad_value", "weight_bases", "act_bases")}
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3), nn.BatchNorm(),
                QConv2D(6, 3, padding=1, **options), nn.BatchNorm(),
                nn.HybridLambda(lambda F, x: F.reshape(x, shape=(0, 6, -1))), QConv1D(5, 3, padding=1, **options),
                QDense(3, **dense_options), QActivation(dense_options.get("input_quantizer")))
    net.initialize(mx.init.Xavier())
    x = _rand((2, 3, 8, 8), seed=11)
    y = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y, atol=1e-5)
    with mx.autograd.record():
        net(x).sum().backward()  # trains hybridized
    prefix = str(tmp_path / "m")
    net.export(prefix)
    loaded = nn.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
    np.testing.assert_allclose(loaded(x).asnumpy(), net(x).asnumpy(), atol=1e-5)


def test_exported_graph_patterns(tmp_path):
    """The graphs of DESIGN.md's "Exported patterns" (what model-converter matches), each
    straight-through sign (bmxnet.ste_sign, several stock ops) read as one "sign" token."""
    from bmxnet.ste_sign import find_signs

    def ops_of(layer, shape):
        net = nn.HybridSequential()
        net.add(layer)
        net.initialize()
        net.hybridize()
        net(mx.nd.ones(shape))
        net.export(str(tmp_path / "p"))
        nodes = json.load(open(tmp_path / "p-symbol.json"))["nodes"]
        signs = find_signs(nodes)
        inside = {m for s in signs.values() for m in s.members if m != s.index}
        return [signs[i].kind if i in signs else n["op"] for i, n in enumerate(nodes)
                if n["op"] != "null" and i not in inside]
    assert ops_of(QConv2D(4, 3, padding=1), (1, 2, 5, 5)) == \
        ["det_sign", "Pad", "det_sign", "Convolution"]
    assert ops_of(QConv2D(4, 3, padding=1, pad_value=0), (1, 2, 5, 5)) == \
        ["det_sign", "det_sign", "Convolution"]
    assert ops_of(QDense(4, input_quantizer="approx_sign"), (1, 6)) == \
        ["approx_sign", "det_sign", "FullyConnected"]
    assert ops_of(QConv2D(4, 3, scaling="xnor", use_bias=False), (1, 2, 5, 5)) == \
        ["det_sign", "det_sign", "Convolution", "abs", "mean", "BlockGrad", "Reshape",
         "broadcast_mul"]
    ops = ops_of(QConv2D(4, 3, weight_bases=2, act_bases=3, use_bias=False), (1, 2, 5, 5))
    assert ops.count("Convolution") == 6 and ops.count("add_n") == 1
    assert ops.count("det_sign") == 2 + 3


def test_offset_returns_the_xnor_count():
    layer = QDense(1, use_bias=False, in_units=4, offset=True)
    layer.initialize(mx.init.One())
    x = mx.nd.array([[1, 1, 1, -1]])
    assert layer(x).asscalar() == 3.0
    plain = QDense(1, use_bias=False, in_units=4, params=layer.collect_params())
    assert plain(x).asscalar() == 2.0


@pytest.mark.parametrize("ndim", [1, 2])
def test_offset_convolution_equals_its_definition_and_exports_k(tmp_path, ndim):
    cls = QConv1D if ndim == 1 else QConv2D
    layer = cls(6, 3, padding=1, groups=2, offset=True)
    x = _rand((2, 4) + (5,) * ndim, seed=4)
    layer.initialize(mx.init.Uniform(1.0))
    layer.hybridize()
    first = layer(x).asnumpy()  # the call that completes the deferred weight shape
    plain = cls(6, 3, padding=1, groups=2, params=layer.collect_params())
    fan_in = 2 * 3 ** ndim
    np.testing.assert_array_equal(first, (plain(x).asnumpy() + fan_in) / 2)
    np.testing.assert_array_equal(layer(x).asnumpy(), first)
    layer.export(str(tmp_path / "m"))
    nodes = json.load(open(tmp_path / "m-symbol.json"))["nodes"]
    assert [float(n["attrs"]["scalar"]) for n in nodes if n["op"] == "_plus_scalar"] == [fan_in]


@pytest.mark.parametrize("options", [{"bits": 2}, {"bits_a": 32}, {"scaling": "xnor"},
                                     {"weight_bases": 2}, {"offset": "yes"}])
def test_offset_is_refused_where_it_counts_nothing(options):
    options = {"offset": True, **options}
    with pytest.raises(ValueError, match="offset"):
        QConv2D(4, 3, **options)

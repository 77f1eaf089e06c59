"""BMXNet v2's binary-layer tests (hpi-xnor/BMXNet-v2, tests/binary/test_binary.py), replayed
against bmxnet.v2: same cases, shapes and assertions. Each gradient is copied before the next
backward pass overwrites the buffer, so the "gradients equal" checks compare two computations.

Not replayed: v2's GPU-vs-CPU comparisons of its inference ops (bmxnet's ops run on the CPU).
v2's two inference-op cases (a 1x1 convolution over 32 channels, a 1024 -> 10 dense layer) call
its packed ops, mx.nd.BinaryInferenceConvolution and BinaryInferenceFullyConnected, twice on
weights packed as v2's model-converter packs them (v2_packed.py) and also check the comparison
with the v2 layer that v2 left commented out.
"""
from functools import reduce
from operator import mul

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.test_utils import assert_almost_equal

import bmxnet  # noqa: F401  (registers the ops)
from bmxnet import v2
from bmxnet.v2 import nn

import v2_packed


@pytest.fixture(autouse=True)
def _seed():
    mx.random.seed(42)
    np.random.seed(42)


def forward(x, *block_sequence):
    """(input gradient, output) of 5 * mean(blocks(x))."""
    hidden = x
    with autograd.record():
        for block in block_sequence:
            hidden = block.forward(hidden)
        loss = 5 * hidden.mean()
    loss.backward()
    return x.grad.asnumpy().copy(), hidden.asnumpy()


def _signs(shape):
    x = np.sign(np.random.uniform(-1, 1, shape))
    x[x == 0] = 1
    return x


# input_shape, test_conv, layer, args, kwargs
TEST_PARAMS = [
    ((1, 2, 5, 5), True, nn.QConv2D, [16], {"kernel_size": 3, "strides": 1, "padding": 1,
                                            "in_channels": 0}),
    ((1, 2, 4, 4), True, nn.QConv2D, [16], {"kernel_size": 2, "strides": 2, "padding": 0,
                                            "in_channels": 0}),
    ((3, 50), False, nn.QDense, [16], {}),
]


@pytest.mark.parametrize("input_shape,test_conv,layer,args,kwargs", TEST_PARAMS)
def test_binary_qconv_qdense(input_shape, test_conv, layer, args, kwargs):
    in_data = mx.nd.array(_signs(input_shape))
    in_data.attach_grad()

    binary_layer = layer(*args, **kwargs)
    binary_layer.initialize(mx.init.Xavier(magnitude=2))
    with autograd.record():
        result1 = binary_layer.forward(in_data)
    result1.backward()
    gradients1 = in_data.grad.asnumpy().copy()

    with autograd.record():
        binary_weight = v2.det_sign(binary_layer.weight.data())
        if test_conv:
            p = kwargs["padding"]
            padded_in = mx.nd.pad(in_data, mode="constant", pad_width=(0, 0, 0, 0, p, p, p, p),
                                  constant_value=-1)
            direct_result = mx.nd.Convolution(padded_in, binary_weight, **binary_layer._kwargs)
        else:
            direct_result = mx.nd.FullyConnected(in_data, binary_weight, None, no_bias=True,
                                                 num_hidden=binary_layer._units)
        offset = reduce(mul, binary_weight.shape[1:], 1)
        result2 = (direct_result + offset) / 2
    result2.backward()
    gradients2 = in_data.grad.asnumpy().copy()

    assert_almost_equal(result1.asnumpy(), result2.asnumpy())
    assert_almost_equal(gradients1, gradients2)
    assert np.abs(gradients1).sum() > 0  # a real gradient, not two empty buffers

    fractions = result1.asnumpy() - np.fix(result1.asnumpy())
    assert_almost_equal(fractions, np.zeros_like(result1.asnumpy()))


@pytest.mark.parametrize("input_shape", [(1, 2, 5, 5), (10, 1000)])
@pytest.mark.parametrize("threshold", [0.01, 0.1, 0.5, 1.0, 2.0])
def test_qactivation(input_shape, threshold):
    in_npy = np.random.uniform(-2, 2, input_shape)
    in_data = mx.nd.array(in_npy)
    in_data.attach_grad()

    binary_layer = nn.QActivation(gradient_cancel_threshold=threshold)
    with autograd.record():
        result1 = binary_layer.forward(in_data)
    result1.backward()
    gradients1 = in_data.grad.asnumpy().copy()

    with autograd.record():
        cancelled = v2.gradcancel(in_data, threshold=threshold)
        result2 = v2.det_sign(cancelled)
    result2.backward()
    gradients2 = in_data.grad.asnumpy().copy()

    # check that correct functions are used
    assert_almost_equal(result1.asnumpy(), result2.asnumpy())
    assert_almost_equal(gradients1, gradients2)

    # explicitly model cancelling, for both gradients
    expected_let_through = np.zeros_like(in_npy)
    expected_let_through[np.abs(in_data.asnumpy()) <= threshold] = 1
    assert_almost_equal(np.abs(np.sign(gradients1)), expected_let_through)
    assert_almost_equal(np.abs(np.sign(gradients2)), expected_let_through)

    # shape should be unchanged
    assert result1.shape == in_data.shape


def _xnor_popcount_conv(x01, w01, kernel_size, stride, out_shape):
    """Naive xnor-popcount convolution of {0, 1} arrays."""
    out = np.zeros(out_shape)
    for n in range(out_shape[0]):
        for o in range(out_shape[1]):
            for i in range(out_shape[2]):
                for j in range(out_shape[3]):
                    for c in range(x01.shape[1]):
                        window = x01[n, c, i * stride:i * stride + kernel_size,
                                     j * stride:j * stride + kernel_size]
                        out[n, o, i, j] += np.sum(np.logical_not(
                            np.logical_xor(window, w01[o, c])))
    return out


@pytest.mark.parametrize("input_shape,test_conv,layer,args,kwargs", TEST_PARAMS)
def test_qconv_binary_operation(input_shape, test_conv, layer, args, kwargs):
    in_npy = _signs(input_shape)
    in_data = mx.nd.array(in_npy)

    binary_layer = layer(*args, **kwargs)
    binary_layer.initialize(mx.init.Xavier(magnitude=2))
    result1 = binary_layer.forward(in_data)

    if test_conv:
        p = kwargs["padding"]
        in_npy = mx.nd.pad(in_data, mode="constant", pad_width=(0, 0, 0, 0, p, p, p, p),
                           constant_value=-1).asnumpy()
    binary_weight_npy = ((v2.det_sign(binary_layer.weight.data()) + 1) / 2).asnumpy()
    in_data_converted_npy = (in_npy + 1) / 2
    if test_conv:
        kernel_size, stride = kwargs["kernel_size"], kwargs["strides"]
        shape = (in_npy.shape[0], binary_layer._channels,
                 (in_npy.shape[2] - kernel_size) // stride + 1,
                 (in_npy.shape[3] - kernel_size) // stride + 1)
        assert shape == result1.shape
        result2 = _xnor_popcount_conv(in_data_converted_npy, binary_weight_npy, kernel_size,
                                      stride, shape)
    else:
        xnor = np.logical_not(np.logical_xor(in_data_converted_npy[:, None, :],
                                             binary_weight_npy[None, :, :]))
        result2 = xnor.sum(axis=2)
        assert result2.shape == (in_npy.shape[0], binary_layer._units)

    assert_almost_equal(result1.asnumpy(), result2)


def _value_and_grad(fn, x_values):
    x = mx.nd.array(x_values)
    x.attach_grad()
    with autograd.record():
        y = fn(x)
    y.backward()
    return y.asnumpy(), x.grad.asnumpy().copy()


def test_det_sign():
    y, grad = _value_and_grad(v2.det_sign, [0.0, 0.6, -0.3])
    assert_almost_equal(np.array([1.0, 1.0, -1.0]), y)
    assert_almost_equal(np.array([1.0, 1.0, 1.0]), grad)


def test_det_sign_gradient_is_never_cancelled():
    y, grad = _value_and_grad(v2.det_sign, [-3.0, 1.5, 40.0])
    assert_almost_equal(np.array([-1.0, 1.0, 1.0]), y)
    assert_almost_equal(np.array([1.0, 1.0, 1.0]), grad)


def test_approx_sign():
    y, grad = _value_and_grad(v2.approx_sign, [0.0, 0.6, -0.3])
    assert_almost_equal(np.array([1.0, 1.0, -1.0]), y)
    assert_almost_equal(np.array([2.0, 0.8, 1.4]), grad)


def test_approx_sign_gradient_outside_the_unit_interval_is_v2s():
    y, grad = _value_and_grad(v2.approx_sign, [-1.5, 2.0])
    assert_almost_equal(np.array([-1.0, 1.0]), y)
    assert_almost_equal(np.array([-1.0, -2.0]), grad)


def test_round_ste():
    npy = np.random.uniform(-10, 10, (2, 3, 4))
    y, grad = _value_and_grad(v2.round_ste, npy)
    assert_almost_equal(np.round(npy), y)
    assert_almost_equal(np.ones_like(npy), grad)


@pytest.mark.parametrize("threshold", [0.01, 0.1, 0.5, 1.0, 2.0])
def test_grad_cancel(threshold):
    npy = np.random.uniform(-2, 2, (2, 3, 4))
    _, exp_grad = _value_and_grad(lambda x: x ** 2, npy)
    _, grad = _value_and_grad(lambda x: v2.gradcancel(x, threshold=threshold) ** 2, npy)
    exp_grad[np.abs(npy.astype(np.float32)) > threshold] = 0
    np.testing.assert_almost_equal(exp_grad, grad)


@pytest.mark.parametrize("bits", [1])
@pytest.mark.parametrize("input_shape", [(1, 2, 4, 4)])
def test_qconvolution_scaling(input_shape, bits, channel=16, kernel=(3, 3)):
    in_data = mx.nd.array(np.random.uniform(-1, 1, input_shape))
    in_data.attach_grad()

    qconv_scaled = nn.QConv2D(channel, kernel, bits, use_bias=False, no_offset=True,
                              apply_scaling=True)
    qconv_scaled.initialize(mx.init.Xavier(magnitude=2))
    qconv_std = nn.QConv2D(channel, kernel, bits, use_bias=False, no_offset=True,
                           apply_scaling=False, params=qconv_scaled.collect_params())
    conv = nn.Conv2D(channel, kernel, use_bias=False, params=qconv_scaled.collect_params())

    grad_scaled, result_scaled = forward(in_data, qconv_scaled)
    grad_std, result_std = forward(in_data, qconv_std)
    grad, result = forward(in_data, conv)

    def mse(a, b):
        return ((a - b) ** 2).mean()

    def sign_match(a, b):
        return np.mean(np.sign(a) * np.sign(b))

    assert mse(result, result_scaled) < mse(result, result_std)
    assert sign_match(result_std, result_scaled) > 0.95


@pytest.mark.parametrize("grad_cancel", [1.0, 0.2])
@pytest.mark.parametrize("bits_a,activation", [(1, "det_sign"), (2, "round")])
def test_binary_layer_config_qact(grad_cancel, bits_a, activation, input_shape=(1, 2, 4, 4)):
    in_data = mx.nd.array(np.random.uniform(-1, 1, input_shape))
    in_data.attach_grad()

    qact = nn.QActivation(bits=bits_a, gradient_cancel_threshold=grad_cancel, method=activation)
    with nn.set_binary_layer_config(grad_cancel=grad_cancel, bits_a=bits_a,
                                    activation=activation):
        qact_config = nn.QActivation()

    grad, y = forward(in_data, qact)
    grad_, y_ = forward(in_data, qact_config)

    np.testing.assert_almost_equal(y, y_)
    np.testing.assert_almost_equal(grad, grad_)
    # the threshold applies at every width: nothing passes where |x| > grad_cancel
    assert np.all(grad[np.abs(in_data.asnumpy()) > grad_cancel] == 0)


@pytest.mark.parametrize("bits,weight_quantization", [(1, "det_sign"), (2, "dorefa"),
                                                      (32, "identity")])
def test_binary_layer_config_qconv(bits, weight_quantization, input_shape=(1, 3, 7, 7),
                                   channel=2):
    in_data = mx.nd.array(np.random.uniform(-1, 1, input_shape))
    in_data.attach_grad()

    qconv = nn.QConv2D(channel, 3, bits=bits, quantization=weight_quantization,
                       in_channels=input_shape[1])
    qconv.initialize(mx.init.Xavier(magnitude=2))

    with nn.set_binary_layer_config(bits=bits, weight_quantization=weight_quantization):
        qconv_config = nn.QConv2D(channel, 3, params=qconv.collect_params(),
                                  in_channels=input_shape[1])

    grad, y = forward(in_data, qconv)
    grad_, y_ = forward(in_data, qconv_config)

    np.testing.assert_almost_equal(y, y_)
    np.testing.assert_almost_equal(grad, grad_)


def test_binary_layer_config_scaling():
    assert isinstance(nn.activated_conv(3), nn.BinaryConvolution)
    with nn.set_binary_layer_config(approximation="xnor"):
        assert isinstance(nn.activated_conv(3), nn.ScaledBinaryConv)
    with nn.set_binary_layer_config(approximation="binet"):
        assert isinstance(nn.activated_conv(3), nn.ScaledWeightsBinaryConv)
    assert isinstance(nn.activated_conv(3), nn.BinaryConvolution)


def _packed(weight):
    """v2's packed words of a float weight, as its model-converter writes them (float32)."""
    w = weight.asnumpy()
    packed = v2_packed.pack_conv(w) if w.ndim == 4 else v2_packed.pack_dense(w)
    return mx.nd.array(packed, dtype=packed.dtype)


def test_binary_inference_conv():
    input_dim, output_dim, batch_size, kernel_dim = 32, 1, 10, 1
    input_data = mx.nd.random.normal(-1, 1, shape=(batch_size, input_dim, kernel_dim,
                                                   kernel_dim))
    weight = mx.nd.random.normal(-1, 1, shape=(output_dim, input_dim, kernel_dim, kernel_dim))
    weight_concatenated = _packed(weight)
    assert weight_concatenated.shape == (output_dim, input_dim // 32, kernel_dim, kernel_dim)
    binary_infer_result = mx.nd.BinaryInferenceConvolution(
        data=input_data, weight=weight_concatenated, kernel=(kernel_dim, kernel_dim),
        num_filter=output_dim)
    binary_infer_result2 = mx.nd.BinaryInferenceConvolution(
        data=input_data, weight=weight_concatenated, kernel=(kernel_dim, kernel_dim),
        num_filter=output_dim)

    qconv_layer = nn.QConv2D(output_dim, kernel_dim, bits=1, use_bias=False, in_channels=input_dim,
                             apply_scaling=False, no_offset=False)
    qact = nn.QActivation(bits=1)
    qconv_result = qconv_layer.hybrid_forward(mx.nd, x=qact.forward(input_data), weight=weight)

    np.testing.assert_equal(binary_infer_result.asnumpy(), binary_infer_result2.asnumpy())
    np.testing.assert_equal(binary_infer_result.asnumpy(), qconv_result.asnumpy())


def test_binary_inference_fc():
    batch_size, num_hidden_fc, num_input_features = 1, 10, 1024
    input_data = mx.nd.random.normal(-1, 1, shape=(batch_size, num_input_features))
    weight = mx.nd.random.normal(-1, 1, shape=(num_hidden_fc, num_input_features))
    weight_concatenated = _packed(weight)
    assert weight_concatenated.shape == (num_hidden_fc, num_input_features // 32)
    binary_infer_result = mx.nd.BinaryInferenceFullyConnected(
        data=input_data, weight=weight_concatenated, num_hidden=num_hidden_fc)
    binary_infer_result2 = mx.nd.BinaryInferenceFullyConnected(
        data=input_data, weight=weight_concatenated, num_hidden=num_hidden_fc)

    qdense_layer = nn.QDense(num_hidden_fc)
    qact = nn.QActivation(bits=1)
    qdense_result = qdense_layer.hybrid_forward(mx.nd, x=qact.forward(input_data), weight=weight)

    np.testing.assert_equal(binary_infer_result.asnumpy(), binary_infer_result2.asnumpy())
    np.testing.assert_equal(binary_infer_result.asnumpy(), qdense_result.asnumpy())

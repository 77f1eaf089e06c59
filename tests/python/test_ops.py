"""The five bmx_ ops against float references on ±1 data (the equivalence bar)."""
import itertools

import mxnet as mx
import numpy as np
import pytest

import bmxnet  # noqa: F401  (loads the ops)

rng = np.random.RandomState(0)


def sign(x):
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


def pack_reference(x):
    """numpy twin of bmx_bitpack: bit c%32 of word c//32 is 1 where x < 0."""
    x = np.asarray(x)
    c = x.shape[-1]
    words = (c + 31) // 32
    bits = np.zeros(x.shape[:-1] + (words * 32,), dtype=np.uint64)
    bits[..., :c] = x < 0
    weights = (np.uint64(1) << np.arange(32, dtype=np.uint64))
    packed = (bits.reshape(x.shape[:-1] + (words, 32)) * weights).sum(axis=-1)
    return packed.astype(np.uint32).view(np.int32)


def float_conv(x, w, kernel, stride, dilate, pad, pad_value, groups, bias=None):
    """Convolution on sign(x), sign(w), with the border holding pad_value after sign."""
    xs = mx.nd.array(sign(x))
    conv_pad = pad
    if pad_value != 0 and any(pad):
        xs = mx.nd.pad(xs, mode="constant", constant_value=pad_value,
                       pad_width=(0, 0, 0, 0, pad[0], pad[0], pad[1], pad[1]))
        conv_pad = (0, 0)
    args = [xs, mx.nd.array(sign(w))] + ([mx.nd.array(bias)] if bias is not None else [])
    return mx.nd.Convolution(*args, kernel=kernel, stride=stride, dilate=dilate, pad=conv_pad,
                             num_filter=w.shape[0], num_group=groups,
                             no_bias=bias is None).asnumpy()


def binary_conv(x, w, kernel, stride, dilate, pad, pad_value, groups, scale=None, bias=None):
    packed = mx.nd.bmx_bitpack(mx.nd.array(w).transpose((0, 2, 3, 1)))
    args = [mx.nd.array(x), packed]
    args += [mx.nd.array(scale)] if scale is not None else []
    args += [mx.nd.array(bias)] if bias is not None else []
    return mx.nd.bmx_binary_conv2d(*args, kernel=kernel, stride=stride, dilate=dilate, pad=pad,
                                   pad_value=pad_value, num_filter=w.shape[0], num_group=groups,
                                   use_scale=scale is not None, no_bias=bias is None).asnumpy()


def check_conv(c, o, k, stride, pad, pad_value, groups, dilate=1, hw=(7, 6), batch=2, bias=False):
    x = rng.randn(batch, c, *hw).astype(np.float32)
    w = rng.randn(o, c // groups, k, k).astype(np.float32)
    x[0, 0, 0, 0] = 0.0  # sign(0) = +1 on both sides
    b = rng.randn(o).astype(np.float32) if bias else None
    kw = dict(kernel=(k, k), stride=(stride, stride), dilate=(dilate, dilate), pad=(pad, pad),
              pad_value=pad_value, groups=groups)
    expected = float_conv(x, w, bias=b, **kw)
    got = binary_conv(x, w, bias=b, **kw)
    np.testing.assert_array_equal(got, expected, err_msg=str(dict(c=c, o=o, **kw)))


@pytest.mark.parametrize("c", range(1, 130))
def test_conv_every_channel_count(c):
    check_conv(c, o=3, k=3, stride=1, pad=1, pad_value=(-1, 0, 1)[c % 3], groups=1, hw=(4, 5), batch=1)


@pytest.mark.parametrize("k,stride,groups,pad_value",
                         list(itertools.product((1, 3, 5), (1, 2), (1, 2), (-1, 0, 1))))
def test_conv_kernels_strides_groups_pads(k, stride, groups, pad_value):
    for cg in (1, 31, 32, 33, 64, 65):
        check_conv(cg * groups, o=2 * groups, k=k, stride=stride, pad=k // 2, pad_value=pad_value,
                   groups=groups, bias=cg % 2 == 1)


@pytest.mark.parametrize("pad_value", (-1, 0, 1))
def test_conv_dilation_and_wide_padding(pad_value):
    check_conv(40, o=4, k=3, stride=1, pad=2, pad_value=pad_value, groups=1, dilate=2, hw=(8, 9))
    check_conv(33, o=5, k=3, stride=2, pad=3, pad_value=pad_value, groups=1, hw=(5, 5))


def test_conv_scale_and_bias():
    x = rng.randn(2, 70, 6, 6).astype(np.float32)
    w = rng.randn(8, 70, 3, 3).astype(np.float32)
    scale = rng.rand(8).astype(np.float32)
    bias = rng.randn(8).astype(np.float32)
    kw = dict(kernel=(3, 3), stride=(1, 1), dilate=(1, 1), pad=(1, 1), pad_value=-1, groups=1)
    dots = float_conv(x, w, **kw)
    got = binary_conv(x, w, scale=scale, bias=bias, **kw)
    np.testing.assert_allclose(got, dots * scale[None, :, None, None] + bias[None, :, None, None],
                               rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("k", list(range(1, 130)) + [255, 256, 257, 1000])
def test_dense_equals_fully_connected(k):
    x = rng.randn(3, k).astype(np.float32)
    w = rng.randn(5, k).astype(np.float32)
    b = rng.randn(5).astype(np.float32)
    expected = mx.nd.FullyConnected(mx.nd.array(sign(x)), mx.nd.array(sign(w)), mx.nd.array(b),
                                    num_hidden=5).asnumpy()
    packed = mx.nd.bmx_bitpack(mx.nd.array(w))
    got = mx.nd.bmx_binary_dense(mx.nd.array(x), packed, mx.nd.array(b), num_hidden=5).asnumpy()
    np.testing.assert_array_equal(got, expected)


def test_dense_flatten_and_scale():
    x = rng.randn(2, 3, 4, 5).astype(np.float32)
    w = rng.randn(6, 60).astype(np.float32)
    scale = rng.rand(6).astype(np.float32)
    expected = sign(x).reshape(2, 60) @ sign(w).T * scale
    got = mx.nd.bmx_binary_dense(mx.nd.array(x), mx.nd.bmx_bitpack(mx.nd.array(w)),
                                 mx.nd.array(scale), num_hidden=6, use_scale=True,
                                 no_bias=True).asnumpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # flatten=False reduces over the last axis only
    w2 = rng.randn(6, 5).astype(np.float32)
    got = mx.nd.bmx_binary_dense(mx.nd.array(x), mx.nd.bmx_bitpack(mx.nd.array(w2)),
                                 num_hidden=6, no_bias=True, flatten=False).asnumpy()
    np.testing.assert_array_equal(got, sign(x) @ sign(w2).T)


@pytest.mark.parametrize("c", [1, 5, 31, 32, 33, 64, 65, 100])
def test_bitpack_matches_numpy_packing(c):
    x = rng.randn(3, 2, c).astype(np.float32)
    x[0, 0, 0] = 0.0
    x[0, 0, -1] = -0.0  # -0.0 >= 0, so +1 and bit 0
    got = mx.nd.bmx_bitpack(mx.nd.array(x))
    assert got.dtype == np.int32
    assert got.shape == (3, 2, (c + 31) // 32)
    np.testing.assert_array_equal(got.asnumpy(), pack_reference(x))


def test_det_sign_forward_and_gradient():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], dtype=np.float32)
    for clip in (1.0, 0.5, 0.0):
        data = mx.nd.array(x)
        data.attach_grad()
        dy = rng.randn(len(x)).astype(np.float32)
        with mx.autograd.record():
            y = mx.nd.bmx_det_sign(data, clip_threshold=clip)
        y.backward(mx.nd.array(dy))
        np.testing.assert_array_equal(y.asnumpy(), sign(x))
        mask = np.abs(x) <= clip if clip > 0 else np.ones_like(x, dtype=bool)
        np.testing.assert_array_equal(data.grad.asnumpy(), np.where(mask, dy, 0.0))


def test_approx_sign_forward_and_gradient():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.25, 1.0, 1.5], dtype=np.float32)
    data = mx.nd.array(x)
    data.attach_grad()
    dy = rng.randn(len(x)).astype(np.float32)
    with mx.autograd.record():
        y = mx.nd.bmx_approx_sign(data)
    y.backward(mx.nd.array(dy))
    np.testing.assert_array_equal(y.asnumpy(), sign(x))
    expected = np.where(np.abs(x) <= 1, dy * (2 - 2 * np.abs(x)), 0.0)
    np.testing.assert_allclose(data.grad.asnumpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("attrs,needle", [
    (dict(kernel=(3, 3), num_filter=4, pad_value=2), "pad_value"),
    (dict(kernel=(3, 3), num_filter=4, stride=(0, 1)), "stride"),
    (dict(kernel=(3, 3), num_filter=4, bogus=1), "bogus"),
    (dict(kernel="(a, b)", num_filter=4), "kernel"),
    (dict(kernel=(3, 3), num_filter=8), "weight"),           # shape mismatch
    (dict(kernel=(9, 9), num_filter=4), "larger than the padded input"),
])
def test_conv_bad_attributes_raise_clear_errors(attrs, needle):
    x = mx.nd.ones((1, 5, 6, 6))
    packed = mx.nd.bmx_bitpack(mx.nd.ones((4, 3, 3, 5)))
    with pytest.raises(mx.base.MXNetError) as err:
        mx.nd.bmx_binary_conv2d(x, packed, no_bias=True, **attrs).wait_to_read()
    message = str(err.value).strip().splitlines()[-1]
    assert "bmx_binary_conv2d" in message and needle in message, message


def test_binary_ops_reject_float_weights():
    with pytest.raises(mx.base.MXNetError, match="int32"):
        mx.nd.bmx_binary_dense(mx.nd.ones((2, 8)), mx.nd.ones((3, 1)), num_hidden=3,
                               no_bias=True).wait_to_read()


@pytest.mark.parametrize("scale_bias", [False, True])
def test_conv_add_residual_is_the_layer_output_plus_residual(scale_bias):
    """add_residual=True: out = (scale * dot + bias) + residual, rounded as an elemwise_add
    after the layer would round it (bit for bit), over tile edges and both strides."""
    for c, o, size, stride in [(70, 8, 6, 1), (64, 33, 9, 2), (1, 17, 5, 1)]:
        x = mx.nd.array(rng.randn(2, c, size, size).astype(np.float32))
        packed = mx.nd.bmx_bitpack(mx.nd.array(rng.randn(o, c, 3, 3)).transpose((0, 2, 3, 1)))
        extra = [mx.nd.array(rng.rand(o)), mx.nd.array(rng.randn(o))] if scale_bias else []
        kw = dict(kernel=(3, 3), stride=(stride, stride), pad=(1, 1), num_filter=o,
                  use_scale=scale_bias, no_bias=not scale_bias)
        plain = mx.nd.bmx_binary_conv2d(x, packed, *extra, **kw)
        residual = mx.nd.array(rng.randn(*plain.shape).astype(np.float32))
        fused = mx.nd.bmx_binary_conv2d(x, packed, *extra, residual, add_residual=True, **kw)
        np.testing.assert_array_equal(fused.asnumpy(), (plain + residual).asnumpy())


def test_conv_residual_of_the_wrong_shape_is_a_clear_error():
    x = mx.nd.array(rng.randn(1, 8, 5, 5).astype(np.float32))
    packed = mx.nd.bmx_bitpack(mx.nd.array(rng.randn(4, 8, 3, 3)).transpose((0, 2, 3, 1)))
    with pytest.raises(mx.base.MXNetError, match="bmx_binary_conv2d.*'residual'.*expected"):
        mx.nd.bmx_binary_conv2d(x, packed, mx.nd.zeros((1, 4, 5, 5)), kernel=(3, 3),
                                num_filter=4, no_bias=True, add_residual=True).asnumpy()

"""bmxnet.quantizers: forward values and gradients against their definitions (numpy)."""
import mxnet as mx
import numpy as np
import pytest

import bmxnet  # noqa: F401  (loads the ops)
from bmxnet import quantizers

SIGNS = ["det_sign", "approx_sign", "swish_sign", "ste_heaviside"]


def _x(n=257, scale=2.0, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-scale, scale, size=n).astype(np.float32)
    x[:4] = [0.0, -0.0, 1.0, -1.0]
    return x


def _forward_backward(name, x, **options):
    """(value, d sum(value * r) / dx, r) through F = mx.nd."""
    q = quantizers.get(name)
    xs = mx.nd.array(x)
    xs.attach_grad()
    r = np.random.RandomState(1).uniform(0.5, 1.5, size=x.shape).astype(np.float32)
    with mx.autograd.record():
        y = q(mx.nd, xs, **options)
        loss = (y * mx.nd.array(r)).sum()
    loss.backward()
    return y.asnumpy(), xs.grad.asnumpy(), r


def _sign(x):
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


def test_registry_names_and_errors():
    assert set(quantizers.names()) >= set(SIGNS + ["dorefa", "identity"])
    assert quantizers.get("det_sign") is quantizers.det_sign
    fn = lambda F, x, **_: x  # noqa: E731
    assert quantizers.get(fn) is fn
    with pytest.raises(ValueError, match="unknown quantizer 'nope'.*det_sign"):
        quantizers.get("nope")
    assert all(quantizers.is_sign(n) for n in SIGNS)
    assert not quantizers.is_sign("dorefa") and not quantizers.is_sign("identity")


def test_register_custom():
    @quantizers.register("test_negate")
    def negate(F, x, **_):
        return -x
    try:
        assert quantizers.get("test_negate") is negate
        np.testing.assert_array_equal(negate(mx.nd, mx.nd.array([1, -2])).asnumpy(), [-1, 2])
    finally:
        quantizers._REGISTRY.pop("test_negate")


@pytest.mark.parametrize("clip", [1.0, 0.5, 0.0])
def test_det_sign(clip):
    x = _x()
    y, g, r = _forward_backward("det_sign", x, clip_threshold=clip)
    np.testing.assert_array_equal(y, _sign(x))
    mask = np.abs(x) <= clip if clip else np.ones_like(x, bool)
    np.testing.assert_allclose(g, r * mask, rtol=1e-6)


@pytest.mark.parametrize("clip", [None, 1.0, 0.5])
def test_approx_sign(clip):
    x = _x()
    y, g, r = _forward_backward("approx_sign", x, clip_threshold=clip)
    np.testing.assert_array_equal(y, _sign(x))
    expected = np.where(np.abs(x) <= 1, 2 - 2 * np.abs(x), 0) * r
    if clip is not None and clip < 1:
        expected *= np.abs(x) <= clip
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("clip", [None, 1.0])
@pytest.mark.parametrize("beta", [5.0, 2.0])
def test_swish_sign(clip, beta):
    x = _x()
    y, g, r = _forward_backward("swish_sign", x, clip_threshold=clip, beta=beta)
    np.testing.assert_array_equal(y, _sign(x))  # exactly +-1, +1 at 0 and -0
    bx = beta * x.astype(np.float64)
    expected = beta * (2 - bx * np.tanh(bx / 2)) / (1 + np.cosh(bx)) * r
    if clip:
        expected *= np.abs(x) <= clip
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("clip", [1.0, 0.0])
def test_ste_heaviside(clip):
    x = _x()
    y, g, r = _forward_backward("ste_heaviside", x, clip_threshold=clip)
    np.testing.assert_array_equal(y, (x >= 0).astype(np.float32))
    mask = np.abs(x) <= clip if clip else np.ones_like(x, bool)
    np.testing.assert_allclose(g, r * mask, rtol=1e-6)


@pytest.mark.parametrize("bits", [2, 3, 8, 31])
def test_dorefa_activations(bits):
    x = _x(scale=1.5)
    y, g, r = _forward_backward("dorefa", x, bits=bits, mode="activations")
    n = 2.0 ** bits - 1
    expected = np.floor(np.clip(x.astype(np.float64), 0, 1) * n + 0.5) / n
    np.testing.assert_allclose(y, expected, atol=1e-6)
    if bits <= 8:
        assert len(np.unique(y)) <= n + 1
        np.testing.assert_allclose(y * n, np.round(y * n), atol=1e-4)  # on the grid
    np.testing.assert_allclose(g, r * ((x >= 0) & (x <= 1)), rtol=1e-6)


@pytest.mark.parametrize("clip", [0.2, 0.7, 1.0, 2.0, None, 0.0])
def test_dorefa_activations_cancel_the_gradient_beyond_clip_threshold(clip):
    x = _x(scale=1.5)
    y, g, r = _forward_backward("dorefa", x, bits=2, mode="activations", clip_threshold=clip)
    y_plain, _, _ = _forward_backward("dorefa", x, bits=2, mode="activations")
    np.testing.assert_array_equal(y, y_plain)  # the forward value is untouched
    upper = 1.0 if not clip else min(1.0, clip)
    np.testing.assert_allclose(g, r * ((x >= 0) & (x <= upper)), rtol=1e-6)


@pytest.mark.parametrize("bits", [2, 4])
def test_dorefa_weights(bits):
    w = _x(n=300, scale=2.0, seed=3)
    w[5] = 2.5  # a unique maximum of |tanh(w)|
    y, g, r = _forward_backward("dorefa", w, bits=bits, mode="weights")
    n = 2.0 ** bits - 1
    t = np.tanh(w.astype(np.float64))
    m = np.abs(t).max()
    expected = 2 * np.floor((t / (2 * m) + 0.5) * n + 0.5) / n - 1
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert y.min() >= -1 and y.max() <= 1 and len(np.unique(y)) <= n + 1
    # STE through round: d/dw of tanh(w) / max|tanh(w)|, away from the maximum
    others = np.arange(len(w)) != 5
    np.testing.assert_allclose(g[others], (r * (1 - t ** 2) / m)[others], rtol=1e-4)


def test_dorefa_rejects_bad_options():
    with pytest.raises(ValueError, match="bits must be in 2..31"):
        quantizers.dorefa(mx.nd, mx.nd.ones(3), bits=1)
    with pytest.raises(ValueError, match="mode"):
        quantizers.dorefa(mx.nd, mx.nd.ones(3), bits=2, mode="gradients")


def test_identity():
    x = _x()
    y, g, r = _forward_backward("identity", x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("name,options", [(n, {"clip_threshold": 0.8}) for n in SIGNS] +
                         [("dorefa", {"bits": 3, "mode": "activations"}),
                          ("dorefa", {"bits": 3, "mode": "weights"}), ("identity", {})])
def test_symbolic_equals_imperative(name, options):
    """Every quantizer gives the same values and gradients through mx.sym (hybridized)."""
    x = _x(n=64)
    y_nd, g_nd, r = _forward_backward(name, x, **options)
    data = mx.sym.var("data")
    sym = quantizers.get(name)(mx.sym, data, **options)
    exe = sym.simple_bind(mx.cpu(), data=x.shape)
    exe.arg_dict["data"][:] = x
    exe.forward(is_train=True)
    exe.backward(mx.nd.array(r))
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), y_nd)
    np.testing.assert_allclose(exe.grad_dict["data"].asnumpy(), g_nd, rtol=1e-5, atol=1e-7)

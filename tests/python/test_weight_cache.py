"""The process-wide cache of repacked weights (src/operator/weight_cache.h): imperative calls
and graphs run without static_alloc get a new op state per call, and still pack a weight
tensor once per contents; results stay exact, in-place writes are seen, the bytes are bounded."""
import ctypes

import mxnet as mx
import numpy as np
import pytest

import bmxnet

rng = np.random.RandomState(11)


def sign(x):
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


@pytest.fixture
def lib():
    handle = ctypes.CDLL(bmxnet.library_path())
    for name in ("bmxnet_weight_repacks", "bmxnet_weight_cache_bytes",
                 "bmxnet_weight_cache_entries", "bmxnet_weight_cache_capacity"):
        getattr(handle, name).restype = ctypes.c_int64
    handle.bmxnet_set_weight_cache_capacity.argtypes = [ctypes.c_int64]
    capacity = handle.bmxnet_weight_cache_capacity()
    handle.bmxnet_clear_weight_cache()
    yield handle
    handle.bmxnet_set_weight_cache_capacity(capacity)
    handle.bmxnet_clear_weight_cache()


def _dense(x, packed, n):
    return mx.nd.bmx_binary_dense(x, packed, num_hidden=n, no_bias=True).asnumpy()


def test_imperative_calls_pack_once_and_stay_exact(lib):
    x = rng.randn(3, 300).astype(np.float32)
    w = rng.randn(40, 300).astype(np.float32)
    packed = mx.nd.bmx_bitpack(mx.nd.array(w))
    expected = sign(x) @ sign(w).T
    before = lib.bmxnet_weight_repacks()
    for _ in range(5):
        np.testing.assert_array_equal(_dense(mx.nd.array(x), packed, 40), expected)
    assert lib.bmxnet_weight_repacks() - before == 1
    assert lib.bmxnet_weight_cache_entries() == 1 and lib.bmxnet_weight_cache_bytes() > 0
    # conv too, and the same words packed as a conv are another entry
    xc = rng.randn(2, 70, 6, 5).astype(np.float32)
    wc = rng.randn(16, 70, 3, 3).astype(np.float32)
    packed_c = mx.nd.bmx_bitpack(mx.nd.array(wc).transpose((0, 2, 3, 1)))
    ref = mx.nd.Convolution(mx.nd.pad(mx.nd.array(sign(xc)), mode="constant", constant_value=-1,
                                      pad_width=(0, 0, 0, 0, 1, 1, 1, 1)),
                            mx.nd.array(sign(wc)), kernel=(3, 3), num_filter=16,
                            no_bias=True).asnumpy()
    before = lib.bmxnet_weight_repacks()
    for _ in range(3):
        got = mx.nd.bmx_binary_conv2d(mx.nd.array(xc), packed_c, kernel=(3, 3), pad=(1, 1),
                                      num_filter=16, no_bias=True).asnumpy()
        np.testing.assert_array_equal(got, ref)
    assert lib.bmxnet_weight_repacks() - before == 1


def test_in_place_writes_and_new_arrays_are_repacked(lib):
    x = mx.nd.array(rng.randn(2, 96))
    w1, w2 = rng.randn(8, 96).astype(np.float32), rng.randn(8, 96).astype(np.float32)
    packed = mx.nd.bmx_bitpack(mx.nd.array(w1))
    np.testing.assert_array_equal(_dense(x, packed, 8), sign(x.asnumpy()) @ sign(w1).T)
    packed[:] = mx.nd.bmx_bitpack(mx.nd.array(w2))  # same array, new contents
    before = lib.bmxnet_weight_repacks()
    np.testing.assert_array_equal(_dense(x, packed, 8), sign(x.asnumpy()) @ sign(w2).T)
    assert lib.bmxnet_weight_repacks() - before == 1
    # many short-lived arrays (addresses get reused): every result exact
    for _ in range(20):
        w = rng.randn(8, 96).astype(np.float32)
        got = _dense(x, mx.nd.bmx_bitpack(mx.nd.array(w)), 8)
        np.testing.assert_array_equal(got, sign(x.asnumpy()) @ sign(w).T)


def test_cache_is_bounded_in_bytes(lib):
    x = mx.nd.array(rng.randn(1, 512))
    weights = [rng.randn(64, 512).astype(np.float32) for _ in range(6)]
    packed = [mx.nd.bmx_bitpack(mx.nd.array(w)) for w in weights]
    _dense(x, packed[0], 64)
    one = lib.bmxnet_weight_cache_bytes()
    lib.bmxnet_set_weight_cache_capacity(2 * one + one // 2)  # room for two packings
    for p, w in zip(packed, weights):
        np.testing.assert_array_equal(_dense(x, p, 64), sign(x.asnumpy()) @ sign(w).T)
        assert lib.bmxnet_weight_cache_bytes() <= 2 * one + one // 2
    assert lib.bmxnet_weight_cache_entries() == 2
    before = lib.bmxnet_weight_repacks()
    _dense(x, packed[-1], 64)           # recently used: kept
    assert lib.bmxnet_weight_repacks() == before
    _dense(x, packed[0], 64)            # evicted: packed again
    assert lib.bmxnet_weight_repacks() == before + 1
    lib.bmxnet_set_weight_cache_capacity(0)  # off: correct, packed per call
    assert lib.bmxnet_weight_cache_entries() == 0
    before = lib.bmxnet_weight_repacks()
    for _ in range(2):
        np.testing.assert_array_equal(_dense(x, packed[1], 64),
                                      sign(x.asnumpy()) @ sign(weights[1]).T)
    assert lib.bmxnet_weight_repacks() - before == 2 and lib.bmxnet_weight_cache_bytes() == 0


def test_converted_model_without_static_alloc_packs_once(lib, tmp_path):
    import warnings

    from bmxnet import converter

    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize(mx.init.Xavier())
    prefix = str(tmp_path / "lenet")
    bmxnet.export(net, prefix, input_shape=(1, 1, 28, 28))
    converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        loaded = mx.gluon.SymbolBlock.imports(str(tmp_path / "binarized_lenet-symbol.json"),
                                              ["data"],
                                              str(tmp_path / "binarized_lenet-0000.params"))
    x = mx.nd.array(rng.uniform(0, 1, (2, 1, 28, 28)))
    first = loaded(x).asnumpy()
    before = lib.bmxnet_weight_repacks()
    for _ in range(3):
        np.testing.assert_array_equal(loaded(x).asnumpy(), first)
    assert lib.bmxnet_weight_repacks() == before
    np.testing.assert_allclose(first, net(x).asnumpy(), rtol=1e-4, atol=1e-3)

"""The fast kernels behind bmx_binary_conv2d / bmx_binary_dense.

Against MXNet's own float operators on sign(x), sign(w) with the same padding semantics, at
shapes near the kernels' tile edges (pixels not a multiple of the 4-row tile, output channels
not a multiple of the 8-channel panel, channels around 32/64-bit words), with 1 and 2 threads
(OMP_NUM_THREADS, in subprocesses because it is read at start-up), on every instruction set
(BMXNET_KERNEL_ISA), and the stateful ops' weight cache: same op object, new weights, new result.
"""
import ctypes
import json
import os
import subprocess
import sys
import textwrap

import mxnet as mx
import numpy as np
import pytest

import bmxnet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = np.random.RandomState(7)


def sign(x):
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


def lib():
    handle = ctypes.CDLL(bmxnet.library_path())
    handle.bmxnet_weight_repacks.restype = ctypes.c_int64
    handle.bmxnet_kernel_isa.restype = ctypes.c_char_p
    handle.bmxnet_bgemm.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 3
    return handle


def float_conv(x, w, stride, pad, pad_value, groups, dilate=1):
    xs = mx.nd.array(sign(x))
    conv_pad = (pad, pad)
    if pad_value != 0 and pad:
        xs = mx.nd.pad(xs, mode="constant", constant_value=pad_value,
                       pad_width=(0, 0, 0, 0, pad, pad, pad, pad))
        conv_pad = (0, 0)
    k = w.shape[2]
    return mx.nd.Convolution(xs, mx.nd.array(sign(w)), kernel=(k, k), stride=(stride, stride),
                             dilate=(dilate, dilate), pad=conv_pad, num_filter=w.shape[0],
                             num_group=groups, no_bias=True).asnumpy()


def binary_conv(x, w, stride, pad, pad_value, groups, dilate=1, scale=None, bias=None):
    packed = mx.nd.bmx_bitpack(mx.nd.array(w).transpose((0, 2, 3, 1)))
    args = [mx.nd.array(x), packed]
    args += [mx.nd.array(scale)] if scale is not None else []
    args += [mx.nd.array(bias)] if bias is not None else []
    k = w.shape[2]
    return mx.nd.bmx_binary_conv2d(*args, kernel=(k, k), stride=(stride, stride),
                                   dilate=(dilate, dilate), pad=(pad, pad), pad_value=pad_value,
                                   num_filter=w.shape[0], num_group=groups,
                                   use_scale=scale is not None,
                                   no_bias=bias is None).asnumpy()


def transform(dots, scale, bias):
    """scale * dot + bias per channel in float32, the same two roundings as the kernels."""
    s = scale.reshape((1, -1) + (1,) * (dots.ndim - 2))
    b = bias.reshape((1, -1) + (1,) * (dots.ndim - 2))
    return (dots * s).astype(np.float32) + b


@pytest.mark.parametrize("c", [1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257])
@pytest.mark.parametrize("o", [1, 7, 9, 17])
def test_conv_tile_edges(c, o):
    # 5x7 = 35 and 3x4 = 12 output pixels: partial and full 4-pixel tiles; o: partial panels.
    for batch, hw, stride in ((1, (5, 7), 1), (3, (6, 8), 2)):
        for pad_value in (-1, 0, 1):
            x = rng.randn(batch, c, *hw).astype(np.float32)
            w = rng.randn(o, c, 3, 3).astype(np.float32)
            expected = float_conv(x, w, stride, 1, pad_value, 1)
            got = binary_conv(x, w, stride, 1, pad_value, 1)
            np.testing.assert_array_equal(got, expected, err_msg=f"{batch} {hw} s{stride} pv{pad_value}")


@pytest.mark.parametrize("pad_value", [-1, 0, 1])
def test_conv_scale_bias_groups_dilation_exact(pad_value):
    for c, o, groups, dilate, stride, pad in ((64, 16, 2, 1, 1, 1), (130, 18, 2, 2, 1, 2),
                                              (96, 24, 1, 1, 2, 1), (200, 9, 1, 3, 1, 3)):
        x = rng.randn(2, c, 9, 11).astype(np.float32)
        w = rng.randn(o, c // groups, 3, 3).astype(np.float32)
        scale = rng.randn(o).astype(np.float32)
        bias = rng.randn(o).astype(np.float32)
        dots = float_conv(x, w, stride, pad, pad_value, groups, dilate)
        got = binary_conv(x, w, stride, pad, pad_value, groups, dilate, scale=scale, bias=bias)
        np.testing.assert_array_equal(got, transform(dots, scale, bias))


@pytest.mark.parametrize("k", [1, 63, 64, 65, 1984, 1985, 4096])
@pytest.mark.parametrize("m", [1, 3, 8, 9])
def test_dense_tile_edges(k, m):
    n = 13
    x = rng.randn(m, k).astype(np.float32)
    w = rng.randn(n, k).astype(np.float32)
    scale = rng.rand(n).astype(np.float32)
    bias = rng.randn(n).astype(np.float32)
    dots = mx.nd.FullyConnected(mx.nd.array(sign(x)), mx.nd.array(sign(w)), num_hidden=n,
                                no_bias=True).asnumpy()
    got = mx.nd.bmx_binary_dense(mx.nd.array(x), mx.nd.bmx_bitpack(mx.nd.array(w)),
                                 mx.nd.array(scale), mx.nd.array(bias), num_hidden=n,
                                 use_scale=True).asnumpy()
    np.testing.assert_array_equal(got, transform(dots, scale, bias))


def test_bgemm_entry_point_matches_numpy():
    handle = lib()
    for m, n, k in ((1, 1, 1), (5, 9, 33), (17, 23, 257), (64, 40, 2000)):
        a = rng.randn(m, k).astype(np.float32)
        b = rng.randn(n, k).astype(np.float32)
        pa = mx.nd.bmx_bitpack(mx.nd.array(a)).asnumpy()
        pb = mx.nd.bmx_bitpack(mx.nd.array(b)).asnumpy()
        c = np.zeros((m, n), dtype=np.int32)
        assert handle.bmxnet_bgemm(m, n, k, pa.ctypes.data, pb.ctypes.data, c.ctypes.data) == 0
        np.testing.assert_array_equal(c, (sign(a) @ sign(b).T).astype(np.int32))
    assert handle.bmxnet_bgemm(1, 0, 5, None, None, None) == -1


class _Conv(mx.gluon.HybridBlock):
    def __init__(self, words, **kwargs):
        super().__init__(**kwargs)
        self.weight = self.params.get("weight", shape=(16, 3, 3, words), dtype="int32",
                                      init=mx.init.Zero())

    def hybrid_forward(self, F, x, weight):
        return F.bmx_binary_conv2d(x, weight, kernel=(3, 3), pad=(1, 1), num_filter=16,
                                   no_bias=True)


@pytest.mark.parametrize("static_alloc", [False, True])
def test_weight_cache_follows_weight_changes(static_alloc):
    handle = lib()
    c = 70
    x = mx.nd.array(rng.randn(2, c, 6, 5))
    net = _Conv(3)
    net.initialize()
    net.hybridize(static_alloc=static_alloc, static_shape=static_alloc)
    results = []
    for trial in range(3):
        wf = rng.randn(16, c, 3, 3).astype(np.float32)
        if trial < 2:
            net.weight.set_data(mx.nd.bmx_bitpack(mx.nd.array(wf).transpose((0, 2, 3, 1))))
        else:  # write into the same array in place
            net.weight.data()[:] = mx.nd.bmx_bitpack(mx.nd.array(wf).transpose((0, 2, 3, 1)))
        before = handle.bmxnet_weight_repacks()
        outs = [net(x).asnumpy() for _ in range(3)]
        repacks = handle.bmxnet_weight_repacks() - before
        expected = float_conv(x.asnumpy(), wf, 1, 1, -1, 1)
        for out in outs:
            np.testing.assert_array_equal(out, expected)
        if static_alloc:  # one op object for all calls: packed once per weight change
            assert repacks == 1, repacks
        results.append(outs[0])
    assert not np.array_equal(results[0], results[1])
    assert not np.array_equal(results[1], results[2])


CHILD = textwrap.dedent("""
    import ctypes, json, sys
    import mxnet as mx, numpy as np
    import bmxnet
    lib = ctypes.CDLL(bmxnet.library_path())
    lib.bmxnet_kernel_isa.restype = ctypes.c_char_p
    rng = np.random.RandomState(3)
    sign = lambda a: np.where(a >= 0, 1.0, -1.0).astype(np.float32)
    bad = []
    for (n, c, h, o, s, pv) in [(1, 64, 13, 24, 1, -1), (2, 128, 9, 40, 2, 0), (8, 96, 7, 17, 1, 1),
                                 (3, 512, 5, 33, 1, 0)]:
        x = rng.randn(n, c, h, h).astype(np.float32)
        w = rng.randn(o, c, 3, 3).astype(np.float32)
        xs = mx.nd.array(sign(x)); pad = (1, 1)
        if pv != 0:
            xs = mx.nd.pad(xs, mode="constant", constant_value=pv, pad_width=(0, 0, 0, 0, 1, 1, 1, 1))
            pad = (0, 0)
        ref = mx.nd.Convolution(xs, mx.nd.array(sign(w)), kernel=(3, 3), stride=(s, s), pad=pad,
                                num_filter=o, no_bias=True).asnumpy()
        got = mx.nd.bmx_binary_conv2d(mx.nd.array(x), mx.nd.bmx_bitpack(mx.nd.array(w).transpose((0, 2, 3, 1))),
                                      kernel=(3, 3), stride=(s, s), pad=(1, 1), pad_value=pv,
                                      num_filter=o, no_bias=True).asnumpy()
        if not np.array_equal(ref, got):
            bad.append(("conv", n, c, h, o, s, pv))
    for (m, k, n) in [(1, 4096, 40), (8, 1000, 33), (5, 2049, 9)]:
        x = rng.randn(m, k).astype(np.float32); w = rng.randn(n, k).astype(np.float32)
        ref = sign(x) @ sign(w).T
        got = mx.nd.bmx_binary_dense(mx.nd.array(x), mx.nd.bmx_bitpack(mx.nd.array(w)),
                                     num_hidden=n, no_bias=True).asnumpy()
        if not np.array_equal(ref, got):
            bad.append(("dense", m, k, n))
    print(json.dumps({"isa": lib.bmxnet_kernel_isa().decode(), "threads": lib.bmxnet_kernel_threads(),
                      "bad": bad}))
""")


def run_child(threads, isa=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=os.path.join(ROOT, "python"))
    env["BMXNET_LIBRARY"] = bmxnet.library_path()
    if isa:
        env["BMXNET_KERNEL_ISA"] = isa
    else:
        env.pop("BMXNET_KERNEL_ISA", None)
    proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_counts_from_omp_num_threads(threads):
    result = run_child(threads)
    assert result["threads"] == threads
    assert result["bad"] == [], result


@pytest.mark.parametrize("isa", ["ref", "portable", "avx2", "avx512", "neon"])
def test_every_instruction_set_path(isa):
    result = run_child(2, isa)
    assert result["bad"] == [], result
    # An unavailable path falls back to the best one (with a warning), never crashes.
    if result["isa"] != isa:
        pytest.skip(f"{isa} is not available on this machine (ran {result['isa']})")

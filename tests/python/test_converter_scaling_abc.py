"""model-converter on the export patterns of XNOR scaling, ABC-Net bases, QConv1D and k-bit
layers (bmxnet.converter.patterns), checked against MXNet itself.

- The converter's constant folder (weights and scales computed from parameters) gives the
  bits of MXNet's own float32 forward pass, op by op and for whole ABC-Net bases, ties
  (sign(0) = +1) included.
- Converted models compute what their training graphs compute: to 1e-5 relative with the same
  argmax, exactly where no float folding is involved (ABC-Net's float combination is kept).
"""
import json
import re

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet
from bmxnet import converter, model_zoo, params_io
from bmxnet import nn as qnn
from bmxnet.converter import convert
from bmxnet.converter.errors import NotConvertible
from bmxnet.converter.float32_ops import kahan_rows
from bmxnet.converter.folding import Folder
from bmxnet.converter.params import Params
from bmxnet.converter.symbol import parse_symbol
from bmxnet.ste_sign import find_signs


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _randomize(net, seed):
    """Random weights (some exactly 0), ABC-Net coefficients and shifts, and BatchNorm
    statistics away from 0/1, so that binary layers' integer outputs do not sit on the next
    layer's sign thresholds."""
    rng = np.random.RandomState(seed)
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith("running_var"):
            value = rng.uniform(0.5, 9.0, shape)
        elif name.endswith("running_mean"):
            value = rng.uniform(-3.0, 3.0, shape)
        elif name.endswith("gamma"):
            value = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
        elif name.endswith(("beta", "bias")):
            value = rng.uniform(-1.0, 1.0, shape)
        elif name.endswith("_coef"):
            value = rng.uniform(0.2, 1.5, shape)
        elif name.endswith("act_shift"):
            value = rng.uniform(-0.8, 0.8, shape)
        else:
            value = rng.uniform(-1.0, 1.0, shape)
            value.flat[::7] = 0.0
        p.set_data(mx.nd.array(value, dtype="float32"))


def _export(net, x, directory, seed=0, randomize=True):
    net.initialize(mx.init.Uniform(1.0))
    net(x)  # finish deferred initialization
    if randomize:
        _randomize(net, seed)
    net.hybridize()
    expected = net(x).asnumpy()
    prefix = str(directory / "model")
    net.export(prefix)
    return prefix, expected


def _convert(prefix):
    return convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)


def _imports(report, x):
    """What a user does: SymbolBlock.imports after `import bmxnet`."""
    block = mx.gluon.SymbolBlock.imports(report.symbol_out, ["data"], report.params_out)
    return block(x).asnumpy()


def _assert_close(actual, expected, exact=False):
    assert actual.shape == expected.shape
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        scale = max(np.abs(expected).max(), 1.0)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale)
    if expected.ndim >= 2:
        np.testing.assert_array_equal(actual.argmax(axis=1), expected.argmax(axis=1))


def _nodes(report):
    return json.load(open(report.symbol_out))["nodes"]


def _ops(report):
    return [n["op"] for n in _nodes(report) if n["op"] != "null"]


def _packed_weights(report):
    """{binary op name: its packed weight array}, checking they are int32 in the file."""
    nodes = _nodes(report)
    saved = params_io.load(report.params_out)
    out = {}
    for n in nodes:
        if n["op"].startswith("bmx_binary"):
            name = nodes[n["inputs"][1][0]]["name"]
            assert saved["arg:" + name].dtype == np.int32
            out[n["name"]] = saved["arg:" + name]
    return out


def _bits(a):
    """float32 bit patterns, so that -0.0 != 0.0 and NaNs compare."""
    return np.ascontiguousarray(a, dtype=np.float32).view(np.int32)


# ---------------------------------------------------------------------------------------------
# The constant folder against MXNet, op by op
# ---------------------------------------------------------------------------------------------

def _fold(sym, arrays, tmp_path):
    """(converter's value, MXNet's value) of the single-output symbol `sym` of parameters."""
    path = tmp_path / "expr-symbol.json"
    path.write_text(sym.tojson())
    params_file = str(tmp_path / "expr-0000.params")
    mx.nd.save(params_file, {f"arg:{k}": mx.nd.array(v, dtype="float32")
                             for k, v in arrays.items()})
    graph = parse_symbol(json.loads(path.read_text()), str(path))
    params = Params(params_io.load(params_file), params_file)
    folded = Folder(params, str(path)).eval(graph.heads[0])
    args = {k: mx.nd.array(v, dtype="float32") for k, v in arrays.items()}
    expected = sym.bind(mx.cpu(), args, grad_req="null").forward()[0].asnumpy()
    return folded, expected


def _array(rng, shape, scale=1.0, offset=0.0):
    a = (rng.randn(*shape) * scale + offset).astype(np.float32)
    a.flat[::11] = 0.0
    return a


A, B, C = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
S = mx.sym
EXPRESSIONS = {
    # reductions: Kahan summation per output, in row-major order; mean divides in float32
    "mean_all": lambda: S.mean(A),
    "mean_rows": lambda: S.mean(S.abs(A), axis=(1, 2, 3)),
    "mean_axis0": lambda: S.mean(A, axis=0),
    "mean_keepdims": lambda: S.mean(A, axis=(0, 2), keepdims=True),
    "mean_exclude": lambda: S.mean(A, axis=1, exclude=True),
    "sum_all": lambda: S.sum(A),
    "sum_last": lambda: S.sum(A, axis=-1),
    "max_min": lambda: S.broadcast_add(S.max(A, axis=1), S.min(A)),
    "std": lambda: S.sqrt(S.mean(S.square(S.broadcast_sub(A, S.mean(A))))),
    # elementwise ops with scalars that float32 cannot hold exactly
    "scalars": lambda: ((A * (1 / 3) + 0.7 - 0.3) / 3.0),
    "rscalars": lambda: (0.1 - A) + (1.7 / (S.abs(A) + 1)),
    "min_max_scalar": lambda: S.maximum(S.minimum(A, 0.25), -0.3),
    "reciprocal_negative": lambda: S.reciprocal(S.negative(S.abs(A) + 0.5)),
    "elemwise": lambda: ((A + B) * (A - B)) / (S.abs(B) + 1),
    "broadcast": lambda: S.broadcast_div(S.broadcast_mul(S.broadcast_add(A, C), C),
                                         S.broadcast_maximum(C, C * 0.0 + 0.5)),
    "shapes": lambda: S.transpose(S.slice_axis(S.expand_dims(S.Reshape(A, shape=(0, -1)),
                                                              axis=1), axis=2, begin=1,
                                               end=None)),
    "blockgrad": lambda: S.elemwise_add(A, S.BlockGrad(B)) * S.stop_gradient(A * 0.1),
    "where": lambda: S.where(S.abs(A) <= 0.5, A, S.BlockGrad(A)),
    # ABC-Net's base offset c_m = u * std(w) - mean(w), then w + c_m
    "abc_base": lambda: S.broadcast_add(A, S.BlockGrad(
        S.sqrt(S.mean(S.square(S.broadcast_sub(A, S.mean(A))))) * (1 / 3) - S.mean(A))),
}


@pytest.mark.parametrize("shape, scale, offset", [
    ((4, 64, 3, 3), 1.0, 0.0),          # few rows: the scalar Kahan loop
    ((64, 32, 3, 3), 0.05, 0.01),       # many rows: the vectorised Kahan loop
    ((128, 256, 3, 3), 3.0, 2.0),       # 295k values: plain float32 sums would be off
])
@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_folder_is_bit_exact_against_mxnet(tmp_path, name, shape, scale, offset):
    rng = np.random.RandomState(hash(name) % 1000)
    arrays = {"a": _array(rng, shape, scale, offset)}
    sym = EXPRESSIONS[name]()
    if "b" in sym.list_arguments():
        arrays["b"] = _array(rng, shape, scale)
    if "c" in sym.list_arguments():
        arrays["c"] = _array(rng, (1, shape[1], 1, 1)) + 0.75
    folded, expected = _fold(sym, arrays, tmp_path)
    assert folded.shape == expected.shape and folded.dtype == np.float32
    np.testing.assert_array_equal(_bits(folded), _bits(expected))


def test_kahan_summation_is_what_makes_it_exact():
    """The test above can fail: naive float32 and float64 sums differ from MXNet's."""
    rng = np.random.RandomState(0)
    naive = wide = 0
    for _ in range(30):
        a = (rng.randn(rng.randint(1000, 20000)) * rng.uniform(0.01, 10)
             + rng.uniform(-1, 1)).astype(np.float32)
        a[rng.randint(a.size, size=5)] = rng.uniform(-1e4, 1e4, 5)  # a few large values
        mxnet = mx.nd.mean(mx.nd.array(a)).asnumpy()[0]
        ours = kahan_rows(a.reshape(1, -1))[0] / np.float32(a.size)
        assert _bits(ours) == _bits(mxnet)
        naive += np.cumsum(a, dtype=np.float32)[-1] / np.float32(a.size) != mxnet
        wide += np.float32(a.astype(np.float64).sum()) / np.float32(a.size) != mxnet
    assert naive > 0 and wide > 0


def test_kahan_overflow_and_non_finite_values_follow_mshadow():
    big = np.float32(3e38)
    for row in ([big, big, -big, 1.0], [1.0, np.inf, 2.0], [np.nan, 1.0], [-np.inf, np.inf]):
        a = np.array(row, np.float32)
        mxnet = mx.nd.sum(mx.nd.array(a)).asnumpy()
        scalar = kahan_rows(a.reshape(1, -1))
        vector = kahan_rows(np.tile(a, (16, 1)))[:1]
        np.testing.assert_array_equal(_bits(scalar), _bits(mxnet))
        np.testing.assert_array_equal(_bits(vector), _bits(mxnet))


@pytest.mark.parametrize("sym, reason", [
    (lambda: S.tanh(A), "tanh"),
    (lambda: S.broadcast_add(A, S.var("data")), "depends on the input data"),
    (lambda: S.Reshape(A, shape=(-2,)), "shape=(-2,)"),
    # MXNet's add_n does not add in one fixed order (3 inputs: a + (b + c), 5: left to right)
    (lambda: S.add_n(A, A, A), "add_n"),
])
def test_folder_refuses_what_it_cannot_reproduce(tmp_path, sym, reason):
    with pytest.raises(NotConvertible, match=re.escape(reason)):
        path = tmp_path / "s.json"
        path.write_text(sym().tojson())
        graph = parse_symbol(json.loads(path.read_text()), str(path))
        params = Params({"arg:a": np.ones((2, 3), np.float32)}, "p")
        Folder(params, str(path)).eval(graph.heads[0])


# ---------------------------------------------------------------------------------------------
# ABC-Net: the packed bases are MXNet's sign bits
# ---------------------------------------------------------------------------------------------

def _mxnet_weight_bits(prefix, report):
    """{conv name: MXNet's sign(weight input) of that Convolution, bit-packed by the op}."""
    sym = mx.sym.load(f"{prefix}-symbol.json")
    params = {k[4:]: v for k, v in mx.nd.load(f"{prefix}-0000.params").items()}
    nodes = json.load(open(f"{prefix}-symbol.json"))["nodes"]
    internals = sym.get_internals()
    out, pre_sign = {}, {}
    signs = find_signs(nodes)
    for n in nodes:
        if n["op"] != "Convolution":
            continue
        sign = signs[n["inputs"][1][0]]
        for key, name in (("bits", nodes[sign.index]["name"]),
                          ("pre", nodes[sign.source[0]]["name"])):
            s = internals[name + "_output"]
            value = s.bind(mx.cpu(), {k: params[k] for k in s.list_arguments()},
                           grad_req="null").forward()[0]
            if key == "bits":
                out[n["name"]] = mx.nd.bmx_bitpack(value.transpose((0, 2, 3, 1))).asnumpy()
            else:
                pre_sign[n["name"]] = value.asnumpy()
    return out, pre_sign


def _abc_weights(kind, shape, rng):
    if kind == "random":
        return rng.uniform(-1, 1, shape).astype(np.float32) * 0.03 + 0.002
    if kind == "ties_pm1":    # mean 0, std 1: w + u * std - mean == 0 for u = +-1
        w = np.ones(int(np.prod(shape)), np.float32)
        w[::2] = -1
        return rng.permutation(w).reshape(shape)
    w = np.zeros(int(np.prod(shape)), np.float32)  # "ties_02": {0, 2}, mean 1, std 1
    w[::2] = 2
    return rng.permutation(w).reshape(shape)


@pytest.mark.parametrize("weights", ["random", "ties_pm1", "ties_02"])
@pytest.mark.parametrize("bases, act_bases, channels, in_channels", [
    (2, 1, 8, 5), (3, 2, 16, 33), (4, 2, 64, 96), (5, 1, 256, 256)])
def test_abc_bases_are_mxnets_sign_bits(tmp_path, weights, bases, act_bases, channels,
                                        in_channels):
    net = qnn.QConv2D(channels, 3, padding=1, in_channels=in_channels, weight_bases=bases,
                      act_bases=act_bases, use_bias=False)
    x = mx.nd.array(np.random.RandomState(0).randn(1, in_channels, 4, 4))
    net.initialize()
    net(x)
    rng = np.random.RandomState(bases)
    net.weight.set_data(mx.nd.array(_abc_weights(weights, net.weight.shape, rng)))
    net.hybridize()
    expected = net(x).asnumpy()
    prefix = str(tmp_path / "abc")
    net.export(prefix)
    report = _convert(prefix)
    assert len(report.converted) == bases * act_bases and not report.skipped
    want, pre_sign = _mxnet_weight_bits(prefix, report)
    got = _packed_weights(report)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    if weights != "random":  # the ties really are there, and sign(0) = +1 decided them
        assert sum((v == 0).sum() for v in pre_sign.values()) > 0
    saved = params_io.load(report.params_out)
    weight_name = net.weight.name
    assert f"arg:{weight_name}" not in saved  # the float weights are gone ...
    assert {f"arg:{weight_name}_base{m}" for m in range(bases)} <= set(saved)  # ... bases stay
    _assert_close(_imports(report, x), expected, exact=True)


# ---------------------------------------------------------------------------------------------
# Equivalence of converted models
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("pad_value, padding, stride, groups", [
    (-1, 1, 1, 1), (0, 1, 2, 1), (1, 1, 1, 2), (-1, 0, 1, 1), (1, 2, 2, 1), (0, 1, 1, 2)])
def test_xnor_qconv2d(tmp_path, pad_value, padding, stride, groups, bias, batchnorm):
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(34, 3, strides=stride, padding=padding, groups=groups, use_bias=bias,
                        in_channels=66, pad_value=pad_value, scaling="xnor"))
    if batchnorm:
        net.add(nn.BatchNorm(in_channels=34))
    x = mx.nd.array(np.random.RandomState(1).randn(2, 66, 7, 7), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    (layer,) = report.converted
    assert "xnor scale mean(|w|) folded" in layer.notes
    assert (layer.folded_batchnorm is not None) == batchnorm
    assert _ops(report) == ["bmx_binary_conv2d"]  # sign, mul, add, BatchNorm all folded
    (binary,) = [n for n in _nodes(report) if n["op"] == "bmx_binary_conv2d"]
    assert binary["attrs"]["use_scale"] == "True"
    assert binary["attrs"]["no_bias"] == str(not (bias or batchnorm))
    saved = params_io.load(report.params_out)
    assert _packed_weights(report)
    assert saved[f"arg:{net[0].weight.name}"].dtype == np.int32
    assert not any(v.dtype == np.float32 and v.ndim == 4 for v in saved.values())
    # a bias after scaling stays the layer's own variable unless a BatchNorm is folded in
    if bias:
        assert (f"arg:{net[0].bias.name}" in saved) == (not batchnorm)
    _assert_close(_imports(report, x), expected)


def test_xnor_scale_values(tmp_path):
    """scale = mean(|w[o]|) of the float weights, bias unchanged, weights packed."""
    net = qnn.QConv2D(8, 3, in_channels=40, scaling="xnor")
    x = mx.nd.array(np.random.RandomState(2).randn(1, 40, 5, 5))
    prefix, _ = _export(net, x, tmp_path)
    w = net.weight.data().asnumpy()
    report = _convert(prefix)
    nodes = _nodes(report)
    (binary,) = [n for n in nodes if n["op"] == "bmx_binary_conv2d"]
    names = [nodes[i]["name"] for i, _, _ in binary["inputs"]]
    saved = params_io.load(report.params_out)
    scale = saved["arg:" + names[2]]
    np.testing.assert_array_equal(
        _bits(scale), _bits(mx.nd.mean(mx.nd.abs(mx.nd.array(w)), axis=(1, 2, 3)).asnumpy()))
    np.testing.assert_array_equal(saved["arg:" + names[3]], net.bias.data().asnumpy())
    np.testing.assert_array_equal(saved["arg:" + names[1]],
                                  converter.pack_conv_weight(w))


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("in_units, units, four_d", [(33, 10, False), (64, 65, False),
                                                     (3 * 5 * 5, 20, True)])
def test_xnor_qdense(tmp_path, in_units, units, four_d, bias, batchnorm):
    net = nn.HybridSequential()
    net.add(qnn.QDense(units, use_bias=bias, in_units=in_units, scaling="xnor"))
    if batchnorm:
        net.add(nn.BatchNorm(in_channels=units))
    shape = (3, 3, 5, 5) if four_d else (3, in_units)
    x = mx.nd.array(np.random.RandomState(3).randn(*shape), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    (layer,) = report.converted
    assert layer.kind == "dense" and "xnor scale mean(|w|) folded" in layer.notes
    assert _ops(report) == ["bmx_binary_dense"]
    _packed_weights(report)
    _assert_close(_imports(report, x), expected)


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("bases, act_bases, pad_value, padding, stride", [
    (3, 2, -1, 1, 1), (2, 1, 0, 1, 2), (1, 3, 1, 1, 1), (4, 2, 1, 0, 1), (3, 3, 0, 2, 2)])
def test_abc_qconv2d(tmp_path, bases, act_bases, pad_value, padding, stride, bias, batchnorm):
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(20, 3, strides=stride, padding=padding, use_bias=bias, in_channels=35,
                        pad_value=pad_value, weight_bases=bases, act_bases=act_bases))
    if batchnorm:
        net.add(nn.BatchNorm(in_channels=20))
    x = mx.nd.array(np.random.RandomState(4).randn(2, 35, 8, 8), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    assert len(report.converted) == bases * act_bases and not report.skipped
    assert all(l.kind == "conv" and l.pad_value == (pad_value if padding else -1)
               for l in report.converted)
    ops = _ops(report)
    assert ops.count("bmx_binary_conv2d") == bases * act_bases
    assert "Convolution" not in ops and "bmx_det_sign" not in ops
    assert len(_packed_weights(report)) == bases * act_bases
    if bases * act_bases > 1:
        assert ops.count("broadcast_mul") >= bases * act_bases and "add_n" in ops
    # The float combination is MXNet's own ops on the same integer dot products: exact.
    _assert_close(_imports(report, x), expected, exact=True)


@pytest.mark.parametrize("pad_value", [-1, 0, 1])
def test_qconv1d_plain_xnor_and_abc(tmp_path, pad_value):
    net = nn.HybridSequential()
    net.add(qnn.QConv1D(16, 3, padding=1, in_channels=40, pad_value=pad_value, scaling="xnor"),
            nn.BatchNorm(in_channels=16),
            qnn.QConv1D(12, 3, padding=2, dilation=2, strides=2, in_channels=16,
                        weight_bases=2, act_bases=3, pad_value=pad_value),
            nn.BatchNorm(in_channels=12),
            qnn.QConv1D(33, 5, padding=2, in_channels=12, pad_value=pad_value),
            qnn.QConv1D(9, 1, in_channels=33, use_bias=False, groups=3),
            nn.BatchNorm(in_channels=9),
            nn.Flatten(), nn.Dense(5))
    x = mx.nd.array(np.random.RandomState(5).randn(2, 40, 13), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    assert len(report.converted) == 1 + 6 + 1 + 1
    assert [s.kind for s in report.skipped] == ["dense"]
    assert all("1-D, run as (1, k) 2-D" in l.notes for l in report.converted)
    assert [l.folded_batchnorm is not None for l in report.converted] == \
        [True] + [False] * 6 + [False, True]
    assert "Convolution" not in _ops(report)
    for packed in _packed_weights(report).values():
        assert packed.shape[1] == 1  # (O, 1, k, words)
    _assert_close(_imports(report, x), expected)


@pytest.mark.parametrize("activation", ["det_sign", "approx_sign", "swish_sign"])
def test_xnor_mixed_network_with_head(tmp_path, activation):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(16, 3, padding=1, in_channels=3), nn.BatchNorm(in_channels=16),
            qnn.QConv2D(40, 3, padding=1, in_channels=16, scaling="xnor", pad_value=1,
                        input_quantizer=activation, kernel_quantizer=activation,
                        clip_threshold=0.5),
            nn.BatchNorm(in_channels=40),
            qnn.QConv2D(33, 3, strides=2, padding=1, in_channels=40, weight_bases=3,
                        act_bases=2, pad_value=0),
            nn.BatchNorm(in_channels=33),
            qnn.QConv2D(64, 3, padding=1, in_channels=33, scaling="xnor", use_bias=False),
            nn.BatchNorm(in_channels=64),
            nn.MaxPool2D(2),
            qnn.QDense(50, in_units=64 * 2 * 2, scaling="xnor"),
            nn.BatchNorm(in_channels=50),
            nn.Dense(10, in_units=50))
    x = mx.nd.array(np.random.RandomState(6).randn(4, 3, 8, 8), dtype="float32")
    prefix, expected = _export(net, x, tmp_path, seed=7)
    report = _convert(prefix)
    assert [l.kind for l in report.converted] == ["conv"] * 8 + ["dense"]
    xnor = ["xnor scale mean(|w|) folded" in l.notes for l in report.converted]
    assert xnor == [True] + [False] * 6 + [True, True]
    assert [s.kind for s in report.skipped] == ["conv", "dense"]  # float stem and head
    _assert_close(_imports(report, x), expected)


@pytest.mark.parametrize("layer, reason", [
    (lambda: qnn.QConv2D(8, 3, padding=1, in_channels=6, bits=2, bits_a=2),
     "k-bit weights are simulated in float (2-bit weights, 2-bit activations); left float"),
    (lambda: qnn.QConv2D(8, 3, padding=1, in_channels=6, bits=1, bits_a=4),
     "k-bit activations are simulated in float (4-bit activations, 1-bit weights); left float"),
    (lambda: qnn.QConv2D(8, 3, padding=1, in_channels=6, bits=3),
     "k-bit weights are simulated in float (3-bit weights, 1-bit activations); left float"),
    (lambda: qnn.QConv2D(8, 3, padding=1, in_channels=6, bits=31, bits_a=8, scaling="xnor"),
     "k-bit weights are simulated in float (31-bit weights, 8-bit activations); left float"),
])
def test_kbit_layers_are_left_float_and_reported(tmp_path, layer, reason):
    net = nn.HybridSequential()
    net.add(layer(), nn.BatchNorm(in_channels=8), qnn.QConv2D(8, 3, in_channels=8))
    x = mx.nd.array(np.random.RandomState(8).rand(2, 6, 6, 6), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    assert len(report.converted) == 1  # the binary layer after it
    (skipped,) = report.skipped
    assert skipped.reason == reason
    assert reason in report.format()
    _assert_close(_imports(report, x), expected)


def test_kbit_dense(tmp_path):
    net = nn.HybridSequential()
    net.add(qnn.QDense(6, in_units=10, bits=2, bits_a=2))
    x = mx.nd.array(np.random.RandomState(9).rand(3, 10), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    assert not report.converted
    assert report.skipped[0].reason.startswith("k-bit weights are simulated in float (2-bit")
    _assert_close(_imports(report, x), expected, exact=True)


# ---------------------------------------------------------------------------------------------
# Matching by structure
# ---------------------------------------------------------------------------------------------

class _Custom(mx.gluon.HybridBlock):
    """A binary conv followed by a hand-written scale, or with a hand-written weight."""

    def __init__(self, variant, **kwargs):
        super().__init__(**kwargs)
        self.variant = variant
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(8, 4, 3, 3))
            self.other = self.params.get("other", shape=(8, 4, 3, 3))

    def hybrid_forward(self, F, x, weight, other):
        d = F.bmx_det_sign(x)
        if self.variant == "tanh_weight":
            return F.Convolution(d, F.bmx_det_sign(F.tanh(weight)), kernel=(3, 3),
                                 num_filter=8, no_bias=True)
        if self.variant == "data_weight":
            w = F.broadcast_add(weight, F.reshape(F.mean(x), shape=(1, 1, 1, 1)))
            return F.Convolution(d, F.bmx_det_sign(w), kernel=(3, 3), num_filter=8,
                                 no_bias=True)
        y = F.Convolution(d, F.bmx_det_sign(weight), kernel=(3, 3), num_filter=8, no_bias=True)
        source = other if self.variant == "other_var" else weight
        axis = (1, 2) if self.variant == "wrong_axes" else (1, 2, 3)
        s = F.mean(F.abs(source), axis=axis)
        if self.variant == "wrong_axes":
            s = F.mean(s, axis=1)  # still per channel, but not XNOR-Net's mean(|w|)
        return F.broadcast_mul(y, F.reshape(F.BlockGrad(s), shape=(1, -1, 1, 1)))


@pytest.mark.parametrize("variant", ["xnor", "other_var", "wrong_axes"])
def test_scale_is_folded_only_when_it_is_mean_abs_of_the_layer_weight(tmp_path, variant):
    net = _Custom(variant)
    x = mx.nd.array(np.random.RandomState(10).randn(2, 4, 6, 6), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    (layer,) = report.converted
    folded = "xnor scale mean(|w|) folded" in layer.notes
    assert folded == (variant == "xnor")
    assert ("broadcast_mul" in _ops(report)) == (variant != "xnor")
    _assert_close(_imports(report, x), expected)


@pytest.mark.parametrize("variant, reason", [
    ("tanh_weight", "it is computed by tanh"),
    ("data_weight", "it depends on the input data"),
])
def test_weights_that_cannot_be_evaluated_stay_float(tmp_path, variant, reason):
    net = _Custom(variant)
    x = mx.nd.array(np.random.RandomState(11).randn(2, 4, 6, 6), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    assert not report.converted
    (skipped,) = report.skipped
    assert "its binarized weight cannot be evaluated from the parameters" in skipped.reason
    assert reason in skipped.reason
    _assert_close(_imports(report, x), expected, exact=True)


def test_quantizer_gradient_tricks_on_weights_are_seen_through(tmp_path):
    """swish_sign / approx_sign(clip < 1) shape the weight's gradient with ops whose forward
    value is the weight itself: packed like a plain weight, XNOR scale still recognised."""
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(8, 3, in_channels=5, weight_quantization="swish_sign", scaling="xnor"),
            qnn.QDense(4, weight_quantization="approx_sign", clip_threshold=0.25,
                       scaling="xnor", in_units=8 * 4 * 4))
    x = mx.nd.array(np.random.RandomState(12).randn(2, 5, 6, 6), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report = _convert(prefix)
    assert [l.kind for l in report.converted] == ["conv", "dense"]
    assert all("xnor scale mean(|w|) folded" in l.notes for l in report.converted)
    saved = params_io.load(report.params_out)
    assert saved[f"arg:{net[0].weight.name}"].dtype == np.int32
    assert saved[f"arg:{net[1].weight.name}"].dtype == np.int32
    _assert_close(_imports(report, x), expected)


# ---------------------------------------------------------------------------------------------
# The model zoo with XNOR scaling and ABC-Net bases
# ---------------------------------------------------------------------------------------------

def _zoo(tmp_path, name, **options):
    mx.random.seed(0)
    rng = np.random.RandomState(0)
    shape = {"binary_lenet": (2, 1, 28, 28), "binary_resnet18_cifar": (2, 3, 32, 32)}.get(
        name, (2, 3, 64, 64))
    net = model_zoo.get_model(name, classes=7, **options)
    net.initialize(mx.init.Xavier(magnitude=2))
    x = mx.nd.array(rng.uniform(-1, 1, shape))
    net(x)
    for p in net.collect_params().values():
        if p.name.endswith(("gamma", "running_var")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))
        elif p.name.endswith(("beta", "running_mean")):
            p.set_data(mx.nd.array(rng.uniform(-0.3, 0.3, p.shape)))
    net.hybridize()
    expected = net(x).asnumpy()
    prefix = str(tmp_path / name)
    net.export(prefix)
    nodes = json.load(open(prefix + "-symbol.json"))["nodes"]
    signs = find_signs(nodes)
    n_binary = sum(n["op"] in ("Convolution", "FullyConnected")
                   and n["inputs"][1][0] in signs for n in nodes)
    report = _convert(prefix)
    assert len(report.converted) == n_binary >= 2, report.format()
    assert "bmx_det_sign" not in _ops(report)
    np.testing.assert_allclose(_imports(report, x), expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())
    np.testing.assert_array_equal(_imports(report, x).argmax(1), expected.argmax(1))
    return report


@pytest.mark.parametrize("name", model_zoo.get_model_list())
def test_model_zoo_with_xnor_scaling(tmp_path, name):
    report = _zoo(tmp_path, name, scaling="xnor")
    assert all("xnor scale mean(|w|) folded" in l.notes for l in report.converted)
    assert "broadcast_mul" not in _ops(report)


@pytest.mark.parametrize("name", ["binary_lenet", "binary_resnet18_cifar", "meliusnet22"])
def test_model_zoo_with_abc_bases(tmp_path, name):
    report = _zoo(tmp_path, name, weight_bases=2, act_bases=2)
    assert all(s.reason.startswith("float layer") for s in report.skipped)  # stem and head
    assert sum("weight sign(f(" in " ".join(l.notes)
               for l in report.converted) >= 4


# ---------------------------------------------------------------------------------------------
# Through the C predict API
# ---------------------------------------------------------------------------------------------

def test_c_predict_api_runs_xnor_abc_and_1d(tmp_path):
    from bmxnet import deploy
    try:
        deploy.predict_exe()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(16, 3, padding=1, in_channels=3, scaling="xnor"),
            nn.BatchNorm(in_channels=16),
            qnn.QConv2D(16, 3, padding=1, in_channels=16, weight_bases=2, act_bases=2,
                        pad_value=0),
            nn.BatchNorm(in_channels=16),
            nn.HybridLambda(lambda F, x: F.reshape(x, shape=(0, 0, -1))),
            qnn.QConv1D(8, 3, padding=1, in_channels=16, scaling="xnor", pad_value=1),
            nn.BatchNorm(in_channels=8),
            qnn.QDense(10, in_units=8 * 64, scaling="xnor"))
    x = mx.nd.array(np.random.RandomState(13).randn(3, 3, 8, 8), dtype="float32")
    prefix, expected = _export(net, x, tmp_path, seed=14)
    report = _convert(prefix)
    assert len(report.converted) == 1 + 4 + 1 + 1 and not report.skipped
    from_c = deploy.run_c_predict(report.symbol_out, report.params_out, x.asnumpy())
    _assert_close(from_c.reshape(expected.shape), expected)

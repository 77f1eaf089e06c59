"""Converted models compute what their training graphs compute (DESIGN.md "Equivalence").

Small nets of bmxnet.nn layers are exported, converted and run again through MXNet with the
bmx_ ops: binary layers without bias must match exactly; a bias (MXNet's oneDNN convolution
adds it in a different order, so the last bit may differ) or a folded BatchNorm to 1e-5
relative.
"""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet  # noqa: F401  (loads the bmx_ ops)
from bmxnet import nn as qnn
from bmxnet import params_io
from bmxnet.converter import convert


def _randomize(net, seed):
    """Random weights, some exactly 0 (sign(0) = +1), and random BatchNorm statistics."""
    rng = np.random.RandomState(seed)
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith(("running_var", "gamma")):
            value = rng.uniform(0.5, 2.0, shape)
        elif name.endswith(("running_mean", "beta", "bias")):
            value = rng.uniform(-1.0, 1.0, shape)
        else:
            value = rng.uniform(-1.0, 1.0, shape)
            value.flat[::7] = 0.0
        p.set_data(mx.nd.array(value, dtype="float32"))


def _export(net, x, tmp_path, seed=0):
    net.initialize(mx.init.Uniform(1.0))
    net(x)  # finish deferred initialization
    _randomize(net, seed)
    net.hybridize()
    expected = net(x).asnumpy()
    prefix = str(tmp_path / "model")
    net.export(prefix)
    return prefix, expected


def _run_converted(symbol_file, params_file, x):
    """Inference through mx.sym.load + an executor (no gradients needed)."""
    sym = mx.sym.load(symbol_file)
    loaded = mx.nd.load(params_file)
    args = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
    assert set(args) | {"data"} == set(sym.list_arguments())
    assert set(aux) == set(sym.list_auxiliary_states())
    args["data"] = x
    exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    return exe.forward(is_train=False)[0].asnumpy()


def _convert_and_run(prefix, x, fold=True):
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False,
                     fold_batchnorm=fold)
    return report, _run_converted(report.symbol_out, report.params_out, x)


def _assert_close(actual, expected, exact):
    if exact:
        np.testing.assert_array_equal(actual, expected)
    else:
        scale = max(np.abs(expected).max(), 1.0)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 * scale)


CONV_CASES = [
    # in, out, kernel, stride, padding, dilation, groups, bias, pad_value
    (3, 8, 3, 1, 1, 1, 1, True, -1),
    (31, 33, 3, 1, 1, 1, 1, False, 1),
    (32, 32, 3, 2, 1, 1, 1, True, 0),
    (33, 64, 3, 1, 0, 1, 1, False, -1),
    (64, 16, 1, 1, 0, 1, 1, True, 1),
    (65, 31, 3, 2, 1, 1, 1, False, 1),
    (70, 66, 3, 1, 1, 1, 2, True, -1),
    (70, 66, 3, 2, 1, 1, 2, False, 0),
    (128, 34, 3, 1, 2, 2, 2, True, 1),
    (40, 40, 5, 1, 2, 1, 1, False, 0),
]


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "-".join(map(str, c)))
def test_qconv2d(tmp_path, case, batchnorm):
    cin, cout, kernel, stride, padding, dilation, groups, bias, pad_value = case
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(cout, kernel, strides=stride, padding=padding, dilation=dilation,
                        groups=groups, use_bias=bias, in_channels=cin, pad_value=pad_value))
    if batchnorm:
        net.add(nn.BatchNorm(in_channels=cout))
    x = mx.nd.array(np.random.RandomState(1).randn(2, cin, 9, 9), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report, actual = _convert_and_run(prefix, x)
    assert [(l.kind, l.pad_value) for l in report.converted] == [
        ("conv", pad_value if padding else -1)]
    assert (report.converted[0].folded_batchnorm is not None) == batchnorm
    _assert_close(actual, expected, exact=not (bias or batchnorm))


@pytest.mark.parametrize("batchnorm", [False, True])
@pytest.mark.parametrize("in_units, units, bias", [
    (1, 5, True), (31, 64, False), (32, 33, True), (33, 10, False), (65, 64, True),
    (257, 7, False)])
def test_qdense(tmp_path, in_units, units, bias, batchnorm):
    net = nn.HybridSequential()
    net.add(qnn.QDense(units, use_bias=bias, in_units=in_units))
    if batchnorm:
        net.add(nn.BatchNorm(in_channels=units))
    x = mx.nd.array(np.random.RandomState(2).randn(3, in_units), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    report, actual = _convert_and_run(prefix, x)
    assert [l.kind for l in report.converted] == ["dense"]
    _assert_close(actual, expected, exact=not (bias or batchnorm))


def test_qdense_flattens_a_4d_input(tmp_path):
    net = nn.HybridSequential()
    net.add(qnn.QDense(20, use_bias=False, in_units=3 * 5 * 5))
    x = mx.nd.array(np.random.RandomState(3).randn(2, 3, 5, 5), dtype="float32")
    prefix, expected = _export(net, x, tmp_path)
    _, actual = _convert_and_run(prefix, x)
    _assert_close(actual, expected, exact=True)


def _mixed_net(activation="det_sign"):
    """Float stem, QActivation, binary convs with and without BatchNorm, float head."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(16, 3, padding=1, in_channels=3),
            nn.BatchNorm(in_channels=16),
            qnn.QActivation(activation),
            qnn.QConv2D(40, 3, padding=1, in_channels=16, pad_value=1, input_quantizer=activation,
                        kernel_quantizer=activation),
            nn.BatchNorm(in_channels=40),
            qnn.QConv2D(33, 3, strides=2, padding=1, in_channels=40, pad_value=0,
                        use_bias=False),
            nn.Activation("relu"),
            nn.BatchNorm(in_channels=33),
            qnn.QConv2D(64, 3, padding=1, in_channels=33, groups=1, use_bias=False),
            nn.BatchNorm(in_channels=64),
            nn.MaxPool2D(2),
            qnn.QDense(50, in_units=64 * 2 * 2),
            nn.BatchNorm(in_channels=50),
            nn.Dense(10, in_units=50))
    return net


@pytest.mark.parametrize("activation", ["det_sign", "approx_sign"])
@pytest.mark.parametrize("fold", [True, False])
def test_mixed_network(tmp_path, activation, fold):
    net = _mixed_net(activation)
    x = mx.nd.array(np.random.RandomState(4).randn(2, 3, 8, 8), dtype="float32")
    prefix, expected = _export(net, x, tmp_path, seed=5)
    report, actual = _convert_and_run(prefix, x, fold=fold)
    assert [l.kind for l in report.converted] == ["conv", "conv", "conv", "dense"]
    folded = [l.folded_batchnorm is not None for l in report.converted]
    assert folded == ([True, False, True, True] if fold else [False] * 4)
    assert [l.kind for l in report.skipped] == ["conv", "dense"]  # the float stem and head
    assert [l.folded_batchnorm is not None for l in report.skipped] == [fold, False]
    sym = mx.sym.load(report.symbol_out).tojson()
    assert "bmx_det_sign" in sym or "bmx_approx_sign" in sym  # QActivation's sign stays
    _assert_close(actual, expected, exact=not fold)


@pytest.mark.parametrize("layer", ["conv", "conv_no_bias_groups", "conv1d", "dense",
                                   "dense_no_flatten"])
def test_batchnorm_after_a_float_layer_is_folded_into_its_weights(tmp_path, layer):
    x = np.random.RandomState(8).randn(2, 6, 7, 7)
    if layer == "conv":
        first = nn.Conv2D(10, 3, padding=1, in_channels=6)
    elif layer == "conv_no_bias_groups":
        first = nn.Conv2D(10, 3, strides=2, groups=2, use_bias=False, in_channels=6)
    elif layer == "conv1d":
        first, x = nn.Conv1D(10, 3, padding=1, in_channels=6), x[:, :, 0]
    elif layer == "dense":
        first = nn.Dense(10, in_units=6 * 7 * 7)
    else:
        first, x = nn.Dense(10, flatten=False, in_units=7), x[:, 0]
    net = nn.HybridSequential()
    axis = -1 if layer == "dense_no_flatten" else 1
    net.add(first, nn.BatchNorm(axis=axis, in_channels=10), nn.Activation("relu"))
    x = mx.nd.array(x, dtype="float32")
    prefix, expected = _export(net, x, tmp_path, seed=9)
    report, actual = _convert_and_run(prefix, x)
    assert [l.folded_batchnorm is not None for l in report.skipped] == [True]
    ops = [n["op"] for n in json.loads(mx.sym.load(report.symbol_out).tojson())["nodes"]]
    assert "BatchNorm" not in ops
    _assert_close(actual, expected, exact=False)
    unfolded_report, unfolded = _convert_and_run(prefix, x, fold=False)
    assert unfolded_report.skipped[0].folded_batchnorm is None
    assert "BatchNorm" in mx.sym.load(unfolded_report.symbol_out).tojson()
    _assert_close(unfolded, expected, exact=False)


class _ResidualNet(mx.gluon.HybridBlock):
    """Binary convs with shortcuts: conv(+BN) + identity, and conv + float 1x1 conv."""

    def __init__(self, bn, **kwargs):
        super().__init__(**kwargs)
        self.stem = nn.Conv2D(16, 3, padding=1, in_channels=3)
        self.q1 = qnn.QConv2D(16, 3, padding=1, in_channels=16, use_bias=False)
        self.bn = nn.BatchNorm(in_channels=16) if bn else None
        self.q2 = qnn.QConv2D(24, 3, strides=2, padding=1, in_channels=16, use_bias=False)
        self.down = nn.Conv2D(24, 1, strides=2, in_channels=16, use_bias=False)
        self.head = nn.Dense(5, in_units=24 * 4 * 4)

    def hybrid_forward(self, F, x):
        x = self.stem(x)
        y = self.q1(x)
        x = (self.bn(y) if self.bn is not None else y) + x
        x = self.q2(x) + self.down(x)
        return self.head(x)


@pytest.mark.parametrize("bn", [False, True])
def test_residual_adds_are_fused_into_binary_convs(tmp_path, bn):
    from bmxnet.deploy import run_c_predict

    x = mx.nd.array(np.random.RandomState(13).randn(2, 3, 8, 8), dtype="float32")
    prefix, expected = _export(_ResidualNet(bn), x, tmp_path, seed=14)
    report, actual = _convert_and_run(prefix, x)
    ops = [n["op"] for n in json.loads(mx.sym.load(report.symbol_out).tojson())["nodes"]]
    assert "elemwise_add" not in ops and ops.count("bmx_binary_conv2d") == 2
    assert all(any("residual add) fused" in note for note in l.notes) for l in report.converted)
    # (The float stem and head run in another MXNet executor than Gluon's: 1e-5 relative.)
    _assert_close(actual, expected, exact=False)
    from_c = run_c_predict(report.symbol_out, report.params_out, x.asnumpy())
    np.testing.assert_array_equal(from_c, actual)


class _TwoBinaryBranches(mx.gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = qnn.QConv2D(12, 3, padding=1, in_channels=5, use_bias=False)
        self.b = qnn.QConv2D(12, 1, in_channels=5, use_bias=False)

    def hybrid_forward(self, F, x):
        return self.a(x) + self.b(x)


def test_an_add_of_two_binary_convs_is_fused_into_one_of_them(tmp_path):
    x = mx.nd.array(np.random.RandomState(15).randn(2, 5, 6, 6), dtype="float32")
    prefix, expected = _export(_TwoBinaryBranches(), x, tmp_path, seed=16)
    report, actual = _convert_and_run(prefix, x)
    nodes = json.loads(mx.sym.load(report.symbol_out).tojson())["nodes"]
    convs = [n for n in nodes if n["op"] == "bmx_binary_conv2d"]
    assert len(convs) == 2 and "elemwise_add" not in [n["op"] for n in nodes]
    assert sorted(n["attrs"].get("add_residual", "False") for n in convs) == ["False", "True"]
    _assert_close(actual, expected, exact=True)  # no bias, no BatchNorm: exact


def test_model_zoo_lenet(tmp_path):
    for pad_value in (-1, 0, 1):
        net = bmxnet.model_zoo.get_model("binary_lenet", classes=10, pad_value=pad_value)
        x = mx.nd.array(np.random.RandomState(6).rand(4, 1, 28, 28), dtype="float32")
        directory = tmp_path / f"pad{pad_value}"
        directory.mkdir()
        prefix, expected = _export(net, x, directory, seed=7)
        report, actual = _convert_and_run(prefix, x)
        assert [l.kind for l in report.converted] == ["conv", "dense"]
        assert all(l.folded_batchnorm for l in report.converted)
        _assert_close(actual, expected, exact=False)


def test_packed_params_are_int32_and_exactly_the_bitpack_op(tmp_path):
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(34, 3, padding=1, in_channels=66, groups=2, use_bias=False),
            qnn.QConv2D(8, 3, in_channels=34), nn.Flatten(),
            qnn.QDense(9, in_units=8 * 5 * 5))
    x = mx.nd.array(np.random.RandomState(8).randn(1, 66, 7, 7), dtype="float32")
    prefix, _ = _export(net, x, tmp_path)
    float_params = mx.nd.load(f"{prefix}-0000.params")
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    packed = mx.nd.load(report.params_out)
    raw = params_io.load(report.params_out)
    conv_names = [n for n in float_params if n.endswith("weight") and "conv" in n]
    dense_names = [n for n in float_params if n.endswith("weight") and "dense" in n]
    assert len(conv_names) == 2 and len(dense_names) == 1
    for name in conv_names + dense_names:
        w = float_params[name]
        assert (w == 0).sum().asscalar() > 0  # sign(0) is exercised
        want = mx.nd.bmx_bitpack(w.transpose((0, 2, 3, 1)) if w.ndim == 4 else w)
        assert packed[name].dtype == np.int32 and raw[name].dtype == np.int32
        np.testing.assert_array_equal(packed[name].asnumpy(), want.asnumpy())
    assert packed[conv_names[0]].shape == (34, 3, 3, 2)  # 33 channels per group -> 2 words
    assert packed[dense_names[0]].shape == (9, 7)


def test_symbolblock_imports_the_converted_model(tmp_path):
    """What a user does: SymbolBlock.imports after `import bmxnet`."""
    net = _mixed_net()
    x = mx.nd.array(np.random.RandomState(9).randn(2, 3, 8, 8), dtype="float32")
    prefix, expected = _export(net, x, tmp_path, seed=10)
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    block = mx.gluon.SymbolBlock.imports(report.symbol_out, ["data"], report.params_out)
    saved = params_io.load(report.params_out)
    assert sum(v.dtype == np.int32 for v in saved.values()) == 4
    for name, p in block.collect_params().items():
        assert p.data().dtype == saved[("aux:" if "running" in name else "arg:") + name].dtype
    _assert_close(block(x).asnumpy(), expected, exact=False)


def test_c_predict_api_gives_the_same_outputs(tmp_path):
    """Through MXNet's C predict API (MXLoadLib + MXPred*, examples/deploy/predict.c)."""
    from bmxnet.deploy import run_c_predict

    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10, pad_value=0)
    x = mx.nd.array(np.random.RandomState(11).rand(3, 1, 28, 28), dtype="float32")
    prefix, expected = _export(net, x, tmp_path, seed=12)
    report, actual = _convert_and_run(prefix, x)
    from_c = run_c_predict(report.symbol_out, report.params_out, x.asnumpy())
    np.testing.assert_allclose(from_c, actual, rtol=1e-5, atol=1e-5 * np.abs(actual).max())
    _assert_close(from_c, expected, exact=False)

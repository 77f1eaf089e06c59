"""model-converter on BMXNet v2 models: graphs exported from bmxnet.v2 layers by stock MXNet,
and graphs written with the fork's op names, convert, and the converted model gives the
unconverted graph's outputs (Python, C predict API, and libbmx_runtime from Python and C).

The first test replays BMXNet v2's tests/binary/test_converter.py (same LeNet, data, training
and cases). Its third case (no_offset=True) asserted there that the fork's converter gets the
model wrong; bmxnet converts it correctly, so it asserts equality like the others.
"""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon
from numpy.testing import assert_almost_equal, assert_raises

import bmxnet  # noqa: F401  (registers the ops, fork names included)
from bmxnet import converter, deploy
from bmxnet.v2 import nn
from bmxnet.ste_sign import find_signs

IN_SHAPE = (3, 8, 8)
CLASSES = 10


# ------------------------------------------------------------------------------------------
# v2's test_converter.py
# ------------------------------------------------------------------------------------------

def dummy_data(ctx, batch_size=10):
    return [mx.nd.random.uniform(shape=(batch_size, 1, 28, 28), ctx=ctx),
            mx.nd.array([1] + [0] * 9)]


def binary_lenet(**qconv_kwargs):
    net = nn.HybridSequential(prefix="")
    with net.name_scope():
        net.add(nn.Conv2D(channels=64, kernel_size=5))
        net.add(nn.Activation(activation="tanh"))
        net.add(nn.MaxPool2D(pool_size=2, strides=2))
        net.add(nn.BatchNorm(axis=1, center=True, scale=True))

        net.add(nn.QActivation())
        net.add(nn.QConv2D(**qconv_kwargs))
        net.add(nn.BatchNorm(axis=1, center=True, scale=True))
        net.add(nn.MaxPool2D(pool_size=2, strides=2))

        net.add(nn.Flatten())

        net.add(nn.QActivation())
        net.add(nn.QDense(1000))
        net.add(nn.BatchNorm(axis=1, center=True, scale=True))
        net.add(nn.Activation(activation="tanh"))

        net.add(nn.Dense(10))
    return net


@pytest.mark.parametrize("qconv_kwargs", [
    {"channels": 64, "kernel_size": 5},
    {"channels": 64, "kernel_size": 3, "padding": 1},
    {"channels": 64, "kernel_size": 5, "no_offset": True},
])
def test_save(tmp_path, qconv_kwargs):
    ctx = mx.cpu()
    mx.random.seed(7)
    orig_net = binary_lenet(**qconv_kwargs)
    orig_net.initialize(mx.init.Xavier(magnitude=2.24), ctx=ctx)
    orig_net(dummy_data(ctx)[0])

    # a few training iterations, so that the BatchNorms have statistics
    trainer = gluon.Trainer(orig_net.collect_params(), "adam",
                            {"learning_rate": 0.001, "wd": 0.0, "multi_precision": True},
                            kvstore=mx.kv.create())
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(100):
        with autograd.record():
            x, y = dummy_data(ctx)
            L = loss(orig_net(x), y)
            autograd.backward(L)
        trainer.step(10)

    # results differ for different input data
    result_1 = orig_net(dummy_data(ctx)[0])
    result_2 = orig_net(dummy_data(ctx)[0])
    assert_raises(AssertionError, assert_almost_equal, result_1.asnumpy(), result_2.asnumpy())

    test_data, _ = dummy_data(ctx)
    expected = orig_net(test_data)

    orig_net.hybridize()
    orig_net(dummy_data(ctx)[0])
    prefix = str(tmp_path / "test")
    orig_net.export(prefix, epoch=0)

    # the exported model, unconverted
    net1 = gluon.nn.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"],
                                        param_file=f"{prefix}-0000.params", ctx=ctx)
    out1 = net1(test_data)

    assert converter.main([f"{prefix}-0000.params"]) == 0
    binarized = str(tmp_path / "binarized_test")
    net2 = gluon.nn.SymbolBlock.imports(f"{binarized}-symbol.json", ["data"],
                                        param_file=f"{binarized}-0000.params", ctx=ctx)
    out2 = net2(test_data)

    ops = [n["op"] for n in json.load(open(f"{binarized}-symbol.json"))["nodes"]]
    assert ops.count("bmx_binary_conv2d") == 1 and ops.count("bmx_binary_dense") == 1
    assert "_plus_scalar" not in ops and "Convolution" in ops  # only the float first layer
    assert_almost_equal(expected.asnumpy(), out1.asnumpy(), decimal=5)
    assert_almost_equal(expected.asnumpy(), out2.asnumpy(), decimal=5)


# ------------------------------------------------------------------------------------------
# A v2-style model: offset, -1 pre-padding, BatchNorm, scaled binary convolutions
# ------------------------------------------------------------------------------------------

def _v2_model():
    """QActivation + QConv2D (offset, -1 padding) + BatchNorm, v2's convolution blocks (the
    binet block scales its weights), XNOR-Net's block (its input scaling, a box filter over
    mean(|x|), stays float: abs, mean, _full, Convolution), a QDense."""
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(16, 3, padding=1), nn.BatchNorm())
        net.add(nn.QActivation(), nn.QConv2D(16, 3, padding=1), nn.BatchNorm())
        net.add(nn.BinaryConvolution(33, kernel_size=3, stride=2, padding=1), nn.BatchNorm())
        with nn.set_binary_layer_config(approximation="xnor"):
            net.add(nn.activated_conv(24, kernel_size=3, padding=1), nn.BatchNorm())
        with nn.set_binary_layer_config(approximation="binet"):
            net.add(nn.activated_conv(24, kernel_size=3, padding=1), nn.BatchNorm())
        net.add(nn.QActivation(), nn.QDense(40), nn.BatchNorm())
        net.add(nn.Dense(CLASSES))
    return net


def _randomize_batchnorm(net, rng):
    """Statistics as after training: the binary layers' counts are centred, so that the next
    signs do not sit on their thresholds."""
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith("running_var"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 4, shape)))
        elif name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)))
        elif name.endswith("beta"):
            p.set_data(mx.nd.array(rng.uniform(-0.5, 0.5, shape)))


def _centre_batchnorms(net, x):
    """running_mean of every BatchNorm := the mean of its input on x (imperative pass)."""
    net.hybridize(active=False)
    hidden = x
    for block in net:
        if isinstance(block, nn.BatchNorm):
            block.running_mean.set_data(hidden.mean(axis=1, exclude=True))
        hidden = block(hidden)


def _batch(n, seed):
    return np.random.RandomState(seed).uniform(-1, 1, (n,) + IN_SHAPE).astype(np.float32)


def _prepare(net, directory):
    mx.random.seed(3)
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(_batch(16, seed=100))
    net(x)
    _randomize_batchnorm(net, np.random.RandomState(0))
    _centre_batchnorms(net, x)
    net.hybridize()
    net(x)
    prefix = str(directory / "model")
    net.export(prefix)
    return prefix, net


@pytest.fixture(scope="module")
def v2_model(tmp_path_factory):
    """(prefix, net) of the v2-style model exported from bmxnet.v2 layers."""
    return _prepare(_v2_model(), tmp_path_factory.mktemp("v2"))


def _outputs(symbol_file, params_file, batch):
    block = gluon.SymbolBlock.imports(symbol_file, ["data"], params_file)
    return block(mx.nd.array(batch)).asnumpy()


def _assert_close(actual, expected, rtol=1e-5):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol,
                               atol=rtol * float(np.abs(expected).max()))


def _convert(prefix, out_prefix):
    return converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", out_prefix,
                             verbose=False)


def test_v2_export_has_v2s_patterns(v2_model):
    prefix, _ = v2_model
    nodes = json.load(open(f"{prefix}-symbol.json"))["nodes"]
    signs = find_signs(nodes)  # each straight-through sign (several stock ops) read as one
    inside = {m for s in signs.values() for m in s.members if m != s.index}
    ops = [signs[i].kind if i in signs else n["op"] for i, n in enumerate(nodes) if i not in inside]
    assert ops.count("_plus_scalar") == 3 and ops.count("_div_scalar") == 3  # 2 convs, dense
    assert ops.count("Pad") == 4
    assert ops.count("transpose") == 2                   # the two weight scalings
    assert ops.count("BlockGrad") == 5 + 2               # 5 gradcancels, xnor scale and K
    assert ops.count("_full") == 1


def test_v2_export_converts_and_equals_the_unconverted_graph(v2_model, tmp_path):
    prefix, net = v2_model
    report = _convert(prefix, str(tmp_path / "bin"))
    # float: the first convolution, ScaledBinaryConv's input scaling, the classifier
    assert len(report.skipped) == 3 and len(report.converted) == 5
    notes = " ".join(" ".join(layer.notes) for layer in report.converted)
    assert notes.count("offset") == 3 and notes.count("scale") >= 2
    ops = [n["op"] for n in json.load(open(report.symbol_out))["nodes"]]
    assert "_plus_scalar" not in ops and "_div_scalar" not in ops and "Pad" not in ops
    assert ops.count("BatchNorm") == 1  # after ScaledBinaryConv's input scaling
    for seed, n in ((1, 1), (2, 7)):
        batch = _batch(n, seed)
        expected = _outputs(f"{prefix}-symbol.json", f"{prefix}-0000.params", batch)
        _assert_close(net(mx.nd.array(batch)).asnumpy(), expected)
        _assert_close(_outputs(report.symbol_out, report.params_out, batch), expected)


@pytest.mark.parametrize("source", ["bmxnet.v2 export", "fork op names"])
def test_v2_models_through_the_c_predict_api(v2_model, tmp_path, source):
    try:
        exe = deploy.predict_exe()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    prefix, net = v2_model
    if source == "fork op names":
        prefix = _write_fork_model(net, prefix, str(tmp_path / "fork"))
    report = _convert(prefix, str(tmp_path / "bin"))
    assert len(report.converted) == 5
    batch = _batch(3, seed=5)
    expected = _outputs(f"{prefix}-symbol.json", f"{prefix}-0000.params", batch)
    out = deploy.run_c_predict(report.symbol_out, report.params_out, batch, exe=exe)
    _assert_close(out, expected)


@pytest.mark.parametrize("source", ["bmxnet.v2 export", "fork op names"])
def test_v2_models_through_the_runtime(v2_model, runtime_library, tmp_path, source):
    """libbmx_runtime (no MXNet), from Python and from C: the converted model, XNOR-Net's
    input scaling included, equals the unconverted graph in MXNet (within 1e-4 of the largest
    output, same top-1)."""
    from bmxnet import runtime
    prefix, net = v2_model
    if source == "fork op names":
        prefix = _write_fork_model(net, prefix, str(tmp_path / "fork"))
    report = _convert(prefix, str(tmp_path / "bin"))
    assert len(report.converted) == 5 and len(report.skipped) == 3
    batch = _batch(3, seed=6)
    expected = _outputs(f"{prefix}-symbol.json", f"{prefix}-0000.params", batch)
    _assert_close(net(mx.nd.array(batch)).asnumpy(), expected)
    with runtime.Predictor((report.symbol_out, report.params_out), batch.shape,
                           threads=1) as pred:
        out = pred.predict(batch)
        ops = [node["op"] for node in pred.plan["nodes"]]
    assert {"abs", "mean", "broadcast_mul", "bmx_binary_conv2d"} <= set(ops)
    _assert_close(out, expected, rtol=1e-4)
    np.testing.assert_array_equal(out.argmax(axis=1), expected.argmax(axis=1))
    try:
        from_c = deploy.c_predict(report.symbol_out, report.params_out, batch, runtime=True,
                                  env=dict(os.environ, OMP_NUM_THREADS="1")).outputs
    except FileNotFoundError as e:
        pytest.skip(str(e))
    np.testing.assert_array_equal(from_c, out)


def test_v2_binary_layers_through_the_runtime_are_exact(runtime_library, tmp_path):
    """v2's offset layers without bias or BatchNorm give integers: the runtime's are MXNet's."""
    from bmxnet import runtime
    mx.random.seed(4)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.QActivation(), nn.QConv2D(16, 3, padding=1),
                nn.QActivation(), nn.QConv2D(33, 3, strides=2, padding=1),
                nn.QActivation(), nn.QDense(7))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    batch = _batch(3, seed=12)
    batch.flat[::11] = 0.0  # sign(0) = +1
    net(mx.nd.array(batch))
    prefix = str(tmp_path / "offset")
    net.export(prefix)
    report = _convert(prefix, str(tmp_path / "offset_bin"))
    assert len(report.converted) == 3 and not report.skipped
    expected = _outputs(f"{prefix}-symbol.json", f"{prefix}-0000.params", batch)
    assert np.all(expected == np.round(expected)) and np.ptp(expected) > 0
    with runtime.Predictor((report.symbol_out, report.params_out), batch.shape) as pred:
        np.testing.assert_array_equal(pred.predict(batch), expected)


# ------------------------------------------------------------------------------------------
# Graphs written with the fork's op names
# ------------------------------------------------------------------------------------------

def _fork_qact(x, name, threshold=1.0):
    return mx.sym.det_sign(mx.sym.contrib.gradcancel(x, threshold=threshold, name=f"{name}_gc"),
                           name=f"{name}_sign")


def _fork_qconv(x, weight, channels, kernel, pad, stride=1, offset=None, scale=None):
    """The graph BMXNet v2's _QConv.hybrid_forward writes, with its op names."""
    if pad:
        x = mx.sym.pad(x, mode="constant", constant_value=-1,
                       pad_width=(0, 0, 0, 0, pad, pad, pad, pad))
    h = mx.sym.Convolution(x, mx.sym.det_sign(weight), kernel=(kernel, kernel),
                           stride=(stride, stride), num_filter=channels, no_bias=True)
    if scale is not None:
        s = mx.sym.transpose(mx.sym.mean(mx.sym.abs(weight), axis=0, exclude=True,
                                         keepdims=True), axes=(1, 0, 2, 3))
        h = mx.sym.broadcast_mul(h, mx.sym.stop_gradient(s) if scale == "xnor" else s)
    if offset is not None:
        h = (h + offset) / 2
    return h


def _fork_graph(net):
    """The net as BMXNet v2 exports it (its ops and op names), sharing the net's parameters."""
    params = {name: mx.sym.var(name) for name in net.collect_params()}

    def qconv(x, conv, scale=None):
        w = conv.weight
        offset = None if scale or conv.no_offset else int(np.prod(w.shape[1:]))
        return _fork_qconv(x, params[w.name], w.shape[0], w.shape[2], conv._pre_padding[0],
                           conv._kwargs["stride"][0], offset=offset, scale=scale)

    x = mx.sym.var("data")
    for i, block in enumerate(net):
        name = f"b{i}"
        if isinstance(block, nn.BatchNorm):
            p = block.prefix
            x = mx.sym.BatchNorm(x, params[p + "gamma"], params[p + "beta"],
                                 params[p + "running_mean"], params[p + "running_var"],
                                 eps=1e-5, momentum=0.9, fix_gamma=False)
        elif isinstance(block, nn.QActivation):
            x = _fork_qact(x, name)
        elif isinstance(block, nn.QConv2D):
            x = qconv(x, block)
        elif isinstance(block, nn.ScaledBinaryConv):
            y = qconv(_fork_qact(x, name), block.qconv, scale="xnor")
            a = mx.sym.mean(mx.sym.abs(x), axis=1, keepdims=True)
            k = mx.sym.Convolution(a, mx.sym.full((1, 1, 3, 3), 1 / 9), kernel=(3, 3),
                                   num_filter=1, no_bias=True, pad=(1, 1),
                                   name=f"{name}_scaling_conv")
            x = mx.sym.broadcast_mul(mx.sym.stop_gradient(k), y)
        elif isinstance(block, nn.ScaledWeightsBinaryConv):
            x = qconv(_fork_qact(x, name), block.qconv, scale="binet")
        elif isinstance(block, nn.BinaryConvolution):
            x = qconv(_fork_qact(x, name), block.qconv)
        elif isinstance(block, nn.QDense):
            w = block.weight
            h = mx.sym.FullyConnected(x, mx.sym.det_sign(params[w.name]), num_hidden=w.shape[0],
                                      no_bias=True)
            x = (h + w.shape[1]) / 2
        elif isinstance(block, nn.Conv2D):
            x = mx.sym.Convolution(x, params[block.weight.name], params[block.bias.name],
                                   kernel=block._kwargs["kernel"], pad=block._kwargs["pad"],
                                   num_filter=block._channels)
        elif isinstance(block, nn.Dense):
            x = mx.sym.FullyConnected(x, params[block.weight.name], params[block.bias.name],
                                      num_hidden=block._units)
        else:
            raise AssertionError(f"no fork graph for {block}")
    return x


def _write_fork_model(net, prefix, fork_prefix):
    """The fork's graph of `net` with the parameters exported at `prefix`; returns its prefix."""
    _fork_graph(net).save(f"{fork_prefix}-symbol.json")
    mx.nd.save(f"{fork_prefix}-0000.params", mx.nd.load(f"{prefix}-0000.params"))
    return fork_prefix


def test_fork_graph_converts_and_equals_the_unconverted_graph(v2_model, tmp_path):
    prefix, net = v2_model
    fork_prefix = _write_fork_model(net, prefix, str(tmp_path / "fork"))
    ops = [n["op"] for n in json.load(open(f"{fork_prefix}-symbol.json"))["nodes"]]
    assert {"det_sign", "_contrib_gradcancel"} <= set(ops) and "bmx_det_sign" not in ops

    batch = _batch(4, seed=11)
    expected = _outputs(f"{fork_prefix}-symbol.json", f"{fork_prefix}-0000.params", batch)
    # the hand-written fork graph is the model (guards the comparison itself)
    _assert_close(net(mx.nd.array(batch)).asnumpy(), expected)

    report = _convert(fork_prefix, str(tmp_path / "fork_bin"))
    assert len(report.converted) == 5
    ops = [n["op"] for n in json.load(open(report.symbol_out))["nodes"]]
    assert not {"det_sign", "approx_sign", "_contrib_gradcancel", "_plus_scalar"} & set(ops)
    _assert_close(_outputs(report.symbol_out, report.params_out, batch), expected)


def test_fork_round_ste_is_renamed_to_mxnets(tmp_path):
    """A 2-bit activation of the fork (round_ste, an op stock MXNet lacks) before a float conv:
    the converted graph loads in stock MXNet and equals bmxnet.v2's layer."""
    mx.random.seed(5)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.QActivation(bits=2, method="round", gradient_cancel_threshold=0.8),
                nn.Conv2D(4, 3))
    net.initialize(mx.init.Xavier())
    batch = _batch(2, seed=4)
    expected = net(mx.nd.array(batch)).asnumpy()
    conv = net[1]

    x = mx.sym.contrib.gradcancel(mx.sym.var("data"), threshold=0.8)
    x = mx.sym.contrib.round_ste(mx.sym.clip(x, 0, 1) * 3) / 3
    sym = mx.sym.Convolution(x, mx.sym.var(conv.weight.name), mx.sym.var(conv.bias.name),
                             kernel=(3, 3), num_filter=4)
    graph = json.loads(sym.tojson())
    for node in graph["nodes"]:
        if node["op"] == "_contrib_round_ste":
            node["op"] = "round_ste"  # the fork's name
    prefix = str(tmp_path / "kbit")
    with open(f"{prefix}-symbol.json", "w") as f:
        json.dump(graph, f)
    mx.nd.save(f"{prefix}-0000.params",
               {f"arg:{p.name}": p.data() for p in net.collect_params().values()})
    with pytest.raises(mx.MXNetError):
        mx.sym.load(f"{prefix}-symbol.json")  # stock MXNet has no round_ste

    report = _convert(prefix, str(tmp_path / "kbit_bin"))
    ops = [n["op"] for n in json.load(open(report.symbol_out))["nodes"]]
    assert "_contrib_round_ste" in ops and "round_ste" not in ops
    _assert_close(_outputs(report.symbol_out, report.params_out, batch), expected)


def test_bmxnet_nn_layers_with_offset_convert_exactly(tmp_path):
    """bmxnet.nn's offset=True exports v2's offset; without bias or BatchNorm (whose float
    rounding may differ) the fold is exact."""
    from bmxnet import nn as qnn
    mx.random.seed(9)
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(qnn.QConv2D(8, 3, padding=1, offset=True, use_bias=False),
                qnn.QConv2D(40, 3, padding=1, pad_value=1, strides=2, offset=True,
                            use_bias=False),
                qnn.QDense(7, offset=True, use_bias=False))
    net.initialize(mx.init.Uniform(1.0))
    net.hybridize()
    batch = _batch(3, seed=8)
    net(mx.nd.array(batch))
    prefix = str(tmp_path / "offset")
    net.export(prefix)
    report = _convert(prefix, str(tmp_path / "offset_bin"))
    assert len(report.converted) == 3 and not report.skipped
    ops = [n["op"] for n in json.load(open(report.symbol_out))["nodes"]]
    assert "_plus_scalar" not in ops and "_div_scalar" not in ops
    expected = _outputs(f"{prefix}-symbol.json", f"{prefix}-0000.params", batch)
    np.testing.assert_array_equal(_outputs(report.symbol_out, report.params_out, batch),
                                  expected)

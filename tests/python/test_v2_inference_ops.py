"""BMXNet v2's packed inference ops, BinaryInferenceConvolution and BinaryInferenceFullyConnected,
on weights packed as the fork's model-converter packs them (v2_packed.py), against the float
computation they stand for: sign(x) (zero padding as +1), an ordinary convolution or dense layer
with sign(w), and the count (h + K) / 2. Sizes put the word edges of v2's 32- and 64-bit words
and of bmxnet's layout in different places (channels 96 and 160: not multiples of 64).

Then a small v2 model written with those ops: (a) in MXNet with the op library, (b) after
model-converter, (c) in libbmx_runtime, all against the float reference.
"""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import bmxnet  # noqa: F401  (registers the ops, v2's names included)
from bmxnet import converter

import v2_packed
from v2_packed import signs


def _floats(shape, seed):
    x = np.random.RandomState(seed).normal(size=shape).astype(np.float32)
    x.flat[::7] = 0.0  # sign(0) = +1
    return x


def conv_reference(x, w, kernel, stride=(1, 1), pad=(0, 0), dilate=(1, 1)):
    xs = np.pad(signs(x), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])),
                constant_values=1)
    h = mx.nd.Convolution(mx.nd.array(xs), mx.nd.array(signs(w)), kernel=kernel, stride=stride,
                          dilate=dilate, num_filter=w.shape[0], no_bias=True).asnumpy()
    return (h + w[0].size) / 2


def dense_reference(x, w):
    h = signs(x.reshape(len(x), -1)).astype(np.float64) @ signs(w).T.astype(np.float64)
    return ((h + w.shape[1]) / 2).astype(np.float32)


# word_bits, in_channels, num_filter, geometry
CONV_CASES = [
    (32, 32, 1, dict(kernel=(1, 1))),
    (32, 32, 5, dict(kernel=(3, 3), pad=(1, 1))),
    (32, 96, 33, dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
    (32, 160, 7, dict(kernel=(2, 3), dilate=(2, 1), pad=(1, 2))),
    (64, 64, 3, dict(kernel=(3, 3), pad=(1, 1))),
    (64, 192, 65, dict(kernel=(1, 1), stride=(2, 2))),
]


@pytest.mark.parametrize("word_bits,channels,filters,geometry", CONV_CASES)
def test_conv_matches_the_float_reference(word_bits, channels, filters, geometry):
    x = _floats((2, channels, 7, 6), seed=channels)
    w = _floats((filters, channels) + geometry["kernel"], seed=filters)
    packed = v2_packed.pack_conv(w, word_bits)
    out = mx.nd.BinaryInferenceConvolution(mx.nd.array(x), mx.nd.array(packed, dtype=packed.dtype),
                                           num_filter=filters, **geometry).asnumpy()
    expected = conv_reference(x, w, **geometry)
    assert np.ptp(expected) > 0
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("word_bits,k,hidden,data_shape", [
    (32, 32, 1, None), (32, 96, 10, None), (32, 1056, 13, None),
    (32, 1024, 10, (3, 64, 4, 4)), (64, 64, 7, None), (64, 192, 13, (2, 3, 64)),
])
def test_dense_matches_the_float_reference(word_bits, k, hidden, data_shape):
    x = _floats(data_shape or (3, k), seed=k)
    w = _floats((hidden, k), seed=hidden)
    packed = v2_packed.pack_dense(w, word_bits)
    out = mx.nd.BinaryInferenceFullyConnected(mx.nd.array(x),
                                              mx.nd.array(packed, dtype=packed.dtype),
                                              num_hidden=hidden).asnumpy()
    np.testing.assert_array_equal(out, dense_reference(x, w))


def test_integer_words_equal_float_words():
    """v2's words held in int32 / int64 arrays (as its GPU tests pass them) run the same."""
    x = _floats((2, 64, 5, 5), seed=1)
    w = _floats((9, 64, 3, 3), seed=2)
    for word_bits in (32, 64):
        outs = [mx.nd.BinaryInferenceConvolution(
            mx.nd.array(x), mx.nd.array(p, dtype=p.dtype), kernel=(3, 3), num_filter=9).asnumpy()
            for p in (v2_packed.pack_conv(w, word_bits),
                      v2_packed.pack_conv(w, word_bits, as_float=False))]
        np.testing.assert_array_equal(outs[0], outs[1])
        np.testing.assert_array_equal(outs[0], conv_reference(x, w, (3, 3)))


def test_repeated_calls_and_new_weights():
    """v2's own check (two calls agree), and a weight written in place is packed again."""
    x = mx.nd.array(_floats((4, 32, 3, 3), seed=3))
    w = _floats((6, 32, 3, 3), seed=4)
    weight = mx.nd.array(v2_packed.pack_conv(w))
    first = mx.nd.BinaryInferenceConvolution(x, weight, kernel=(3, 3), num_filter=6).asnumpy()
    again = mx.nd.BinaryInferenceConvolution(x, weight, kernel=(3, 3), num_filter=6).asnumpy()
    np.testing.assert_array_equal(first, again)
    weight[:] = mx.nd.array(v2_packed.pack_conv(-w - 1e-3))
    flipped = mx.nd.BinaryInferenceConvolution(x, weight, kernel=(3, 3), num_filter=6).asnumpy()
    np.testing.assert_array_equal(flipped, conv_reference(x.asnumpy(), -w - 1e-3, (3, 3)))


def test_symbols_with_keyword_inputs_infer_v2_weight_shapes():
    """mx.sym with v2's keyword inputs; a weight of unknown shape gets v2's 32-bit shape."""
    conv = mx.sym.BinaryInferenceConvolution(data=mx.sym.var("data"), weight=mx.sym.var("w"),
                                             kernel=(3, 3), num_filter=16, name="conv")
    net = mx.sym.BinaryInferenceFullyConnected(data=conv, weight=mx.sym.var("v"),
                                               num_hidden=4, name="fc")
    assert net.list_arguments() == ["data", "w", "v"]
    args, outs, _ = net.infer_shape(data=(2, 96, 4, 4))
    assert args == [(2, 96, 4, 4), (16, 3, 3, 3), (4, 2)]  # K = 16 * 2 * 2 = 64
    assert outs == [(2, 4)]


@pytest.mark.parametrize("call,message", [
    (lambda: mx.nd.BinaryInferenceConvolution(
        mx.nd.ones((1, 48, 4, 4)), mx.nd.ones((2, 1, 1, 1)), kernel=(1, 1), num_filter=2),
     "has 48 channels"),
    (lambda: mx.nd.BinaryInferenceConvolution(
        mx.nd.ones((1, 96, 4, 4)), mx.nd.ones((2, 3, 1, 1), dtype="float64"), kernel=(1, 1),
        num_filter=2), "multiple of 64"),
    (lambda: mx.nd.BinaryInferenceConvolution(
        mx.nd.ones((1, 32, 4, 4)), mx.nd.ones((2, 2, 1, 1)), kernel=(1, 1), num_filter=2),
     "input 'weight' has shape (2, 2, 1, 1), expected (2, 1, 1, 1)"),
    (lambda: mx.nd.BinaryInferenceConvolution(
        mx.nd.ones((1, 32, 4, 4)), mx.nd.ones((2, 1, 1, 1)), mx.nd.ones((2,)), kernel=(1, 1),
        num_filter=2, no_bias=False), "never adds it"),
    (lambda: mx.nd.BinaryInferenceConvolution(
        mx.nd.ones((1, 64, 4, 4)), mx.nd.ones((2, 1, 1, 1)), kernel=(1, 1), num_filter=2,
        num_group=2), "no groups"),
    (lambda: mx.nd.BinaryInferenceFullyConnected(
        mx.nd.ones((1, 40)), mx.nd.ones((3, 1)), num_hidden=3), "has 40 inputs per row"),
    (lambda: mx.nd.BinaryInferenceFullyConnected(
        mx.nd.ones((1, 64)), mx.nd.ones((3, 2), dtype="float16"), num_hidden=3),
     "float32 or int32 for 32-bit words"),
    (lambda: mx.nd.BinaryInferenceFullyConnected(
        mx.nd.ones((2, 3, 64)), mx.nd.ones((3, 6)), num_hidden=3, flatten=False),
     "flattens it anyway"),
])
def test_refusals_name_the_problem(call, message):
    with pytest.raises(mx.MXNetError) as e:
        call().wait_to_read()
    assert message in str(e.value)


# ------------------------------------------------------------------------------------------
# A model written with v2's names: conv -> BatchNorm -> conv -> BatchNorm -> dense
# ------------------------------------------------------------------------------------------

IN_SHAPE = (2, 64, 7, 7)


def _v2_model(prefix, word_bits):
    """Writes PREFIX-symbol.json / PREFIX-0000.params as the fork's converter would, and
    returns (float weights by name, the reference function of the input)."""
    c1 = 96 if word_bits == 32 else 128  # a multiple of the word size; 96: not of 64
    rng = np.random.RandomState(word_bits)
    w0 = rng.normal(size=(c1, 64, 3, 3)).astype(np.float32)
    w1 = rng.normal(size=(40, c1, 3, 3)).astype(np.float32)
    w2 = rng.normal(size=(13, 40 * 4 * 4)).astype(np.float32)

    def batchnorm(name, channels, k):
        """Statistics that centre the counts (mean K/2, variance about K/4), so that the
        next layer's input signs are mixed."""
        stats = {"gamma": rng.uniform(0.5, 2, channels), "beta": rng.normal(size=channels),
                 "moving_mean": k / 2 + rng.normal(size=channels) * np.sqrt(k) / 4,
                 "moving_var": k / 4 * rng.uniform(0.5, 2, channels)}
        return {f"{name}_{key}": v.astype(np.float32) for key, v in stats.items()}

    bn0, bn1 = batchnorm("bn0", c1, 64 * 9), batchnorm("bn1", 40, c1 * 9)

    arrays = {"conv0_weight": v2_packed.pack_conv(w0, word_bits),
              "conv1_weight": v2_packed.pack_conv(w1, word_bits),
              "dense0_weight": v2_packed.pack_dense(w2, word_bits)}
    # v2's files declare the packed shapes (its converter divides the second axis)
    weight = {k: mx.sym.var(k, shape=v.shape) for k, v in arrays.items()}
    data = mx.sym.var("data")
    h = mx.sym.BinaryInferenceConvolution(data, weight["conv0_weight"], kernel=(3, 3),
                                          pad=(1, 1), num_filter=c1, name="conv0")
    h = mx.sym.BatchNorm(h, *[mx.sym.var(n) for n in bn0], fix_gamma=False, name="bn0")
    h = mx.sym.BinaryInferenceConvolution(h, weight["conv1_weight"], kernel=(3, 3),
                                          stride=(2, 2), pad=(1, 1), num_filter=40, name="conv1")
    h = mx.sym.BatchNorm(h, *[mx.sym.var(n) for n in bn1], fix_gamma=False, name="bn1")
    h = mx.sym.BinaryInferenceFullyConnected(h, weight["dense0_weight"], num_hidden=13,
                                             name="dense0")
    h.save(f"{prefix}-symbol.json")
    arrays = {f"arg:{k}": mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()}
    for name, value in {**bn0, **bn1}.items():
        kind = "aux" if "moving" in name else "arg"
        arrays[f"{kind}:{name}"] = mx.nd.array(value)
    mx.nd.save(f"{prefix}-0000.params", arrays)

    def batchnorm_reference(h, stats):
        out = mx.nd.BatchNorm(mx.nd.array(h), *[mx.nd.array(v) for v in stats.values()],
                              fix_gamma=False, use_global_stats=True).asnumpy()
        assert 0.2 < (out >= 0).mean() < 0.8  # the next layer sees both signs
        return out

    def reference(x):
        h = batchnorm_reference(conv_reference(x, w0, (3, 3), pad=(1, 1)), bn0)
        h = conv_reference(h, w1, (3, 3), stride=(2, 2), pad=(1, 1))
        return dense_reference(batchnorm_reference(h, bn1), w2)

    return reference


@pytest.fixture(params=[32, 64], ids=["32-bit words", "64-bit words"])
def v2_model(request, tmp_path):
    prefix = str(tmp_path / "v2model")
    reference = _v2_model(prefix, request.param)
    x = _floats(IN_SHAPE, seed=request.param + 1)
    expected = reference(x)
    assert np.ptp(expected) > 0
    return prefix, x, expected


def _mxnet_outputs(prefix, x):
    net = gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"], f"{prefix}-0000.params")
    return net(mx.nd.array(x)).asnumpy()


def _close(out, expected):
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


def test_model_in_mxnet(v2_model):
    """(a) the graph as the fork's converter writes it, in stock MXNet with the op library."""
    prefix, x, expected = v2_model
    np.testing.assert_array_equal(_mxnet_outputs(prefix, x), expected)


def test_model_after_model_converter(v2_model, tmp_path):
    """(b) model-converter keeps the layers binary in bmxnet's packed layout, the BatchNorm
    folded into the first, and the converted model gives the same outputs."""
    prefix, x, expected = v2_model
    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                               str(tmp_path / "bin" / "model"), verbose=False)
    assert [layer.name for layer in report.converted] == ["conv0", "conv1", "dense0"]
    assert [layer.folded_batchnorm for layer in report.converted] == ["bn0", "bn1", None]
    with open(report.symbol_out) as f:
        ops = [n["op"] for n in json.load(f)["nodes"]]
    assert ops.count("bmx_binary_conv2d") == 2 and ops.count("bmx_binary_dense") == 1
    assert not {"BinaryInferenceConvolution", "BinaryInferenceFullyConnected",
                "BatchNorm"} & set(ops)
    saved = mx.nd.load(report.params_out)
    assert saved["arg:conv0_weight"].dtype == np.int32
    _close(_mxnet_outputs(report.symbol_out[:-len("-symbol.json")], x), expected)


def test_model_in_the_runtime(v2_model, runtime_library, tmp_path):
    """(c) libbmx_runtime runs the converted model: the same outputs as MXNet + op library."""
    from bmxnet import runtime
    prefix, x, expected = v2_model
    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                               str(tmp_path / "bin" / "model"), verbose=False)
    with runtime.Predictor((report.symbol_out, report.params_out), x.shape) as pred:
        out = pred.predict(x)
    _close(out, expected)
    np.testing.assert_array_equal(
        out, _mxnet_outputs(report.symbol_out[:-len("-symbol.json")], x))


def test_model_in_the_runtime_without_the_converter(v2_model, runtime_library):
    """libbmx_runtime also runs the files as the fork's converter writes them (its factories
    under v2's names), with the outputs of MXNet + op library on the same files."""
    from bmxnet import runtime
    prefix, x, expected = v2_model
    with runtime.Predictor(prefix, x.shape) as pred:
        out = pred.predict(x)
        ops = [node["op"] for node in pred.plan["nodes"]]
    assert ops.count("BinaryInferenceConvolution") == 2
    _close(out, expected)
    _close(out, _mxnet_outputs(prefix, x))


@pytest.mark.parametrize("runtime", [False, True], ids=["MXNet C predict API", "libbmx_runtime"])
def test_model_from_c(v2_model, runtime):
    """From C: MXNet's C predict API with MXLoadLib(libbmxnet_ops.so), and libbmx_runtime's
    C API, on the files as the fork's converter writes them."""
    from bmxnet import deploy
    prefix, x, expected = v2_model
    try:
        out = deploy.c_predict(f"{prefix}-symbol.json", f"{prefix}-0000.params", x,
                               runtime=runtime).outputs
    except FileNotFoundError as e:
        pytest.skip(str(e))
    _close(out, expected)


def test_binary_layers_in_the_runtime_are_exact(runtime_library, tmp_path):
    """Without a float layer between them the counts are integers: the runtime's equal the
    float reference bit for bit, read directly and after model-converter."""
    from bmxnet import runtime
    x = _floats((3, 32, 5, 5), seed=9)
    w0 = _floats((64, 32, 3, 3), seed=10)
    w1 = _floats((7, 64 * 3 * 3), seed=11)
    counts = conv_reference(x, w0, (3, 3), stride=(2, 2), pad=(1, 1))
    centre = float(np.median(counts)) + 0.5  # the dense layer sees both signs
    expected = dense_reference(counts - centre, w1)
    h = mx.sym.BinaryInferenceConvolution(mx.sym.var("data"), mx.sym.var("c_weight"),
                                          kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                          num_filter=64, name="c")
    h = mx.sym.broadcast_sub(h, mx.sym.full((1,), centre), name="centre")
    h = mx.sym.BinaryInferenceFullyConnected(h, mx.sym.var("d_weight"), num_hidden=7, name="d")
    prefix = str(tmp_path / "exact")
    h.save(f"{prefix}-symbol.json")
    mx.nd.save(f"{prefix}-0000.params", {
        "arg:c_weight": mx.nd.array(v2_packed.pack_conv(w0)),
        "arg:d_weight": mx.nd.array(v2_packed.pack_dense(w1))})
    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                               str(tmp_path / "bin"), verbose=False)
    for files in (prefix, (report.symbol_out, report.params_out)):
        with runtime.Predictor(files, x.shape) as pred:
            np.testing.assert_array_equal(pred.predict(x), expected)


def test_runtime_refusal_names_the_node(tmp_path, runtime_library):
    from bmxnet import runtime
    prefix = str(tmp_path / "bad")
    mx.sym.BinaryInferenceConvolution(mx.sym.var("data"), mx.sym.var("c_weight"), kernel=(1, 1),
                                      num_filter=2, name="c").save(f"{prefix}-symbol.json")
    mx.nd.save(f"{prefix}-0000.params", {"arg:c_weight": mx.nd.ones((2, 1, 1, 1))})
    with pytest.raises(runtime.BMXRuntimeError) as e:
        runtime.Predictor(prefix, (1, 48, 4, 4))
    assert "node 'c' (BinaryInferenceConvolution)" in str(e.value)
    assert "48 channels" in str(e.value)


@pytest.mark.parametrize("edit,message", [
    (lambda node: node["attrs"].update(no_bias="False"), "never adds that bias"),
    (lambda node: node["attrs"].update(num_group="2"), "num_group or layout"),
    (lambda node: node["attrs"].update(kernel="(3, 3, 3)"), "2 values"),
    (lambda node: node["attrs"].update(num_filter="95"), "has shape (96, 2, 3, 3)"),
])
def test_converter_refusals(tmp_path, edit, message):
    prefix = str(tmp_path / "v2model")
    _v2_model(prefix, 32)
    with open(f"{prefix}-symbol.json") as f:
        sym = json.load(f)
    edit(next(n for n in sym["nodes"] if n["name"] == "conv0"))
    with open(f"{prefix}-symbol.json", "w") as f:
        json.dump(sym, f)
    with pytest.raises(converter.ConversionError) as e:
        converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                          str(tmp_path / "out"), verbose=False)
    assert message in str(e.value)

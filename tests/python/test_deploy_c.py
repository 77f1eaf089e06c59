"""The C predict API example (bmx_predict) against Python on models that use our ops.

The C program loads libbmxnet_ops.so with MXLoadLib next to a linked libmxnet.so, which only
works when the library is linked with -Wl,-Bsymbolic (DESIGN.md section 4): these tests are
what checks that.
"""
import json
import os
import subprocess

import mxnet as mx
import numpy as np
import pytest

import bmxnet
from bmxnet import deploy
from bmxnet import nn as qnn
from mxnet.gluon import nn

IN_SHAPE = (3, 8, 8)
CLASSES = 10


@pytest.fixture(scope="module")
def exe():
    try:
        return deploy.predict_exe()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def _randomize_batchnorm(net, rng):
    """Running statistics and affine terms as after training, so that they matter.

    Fresh statistics (mean 0, var 1) put binary layers' integer outputs exactly on the sign
    threshold, where float rounding decides the next sign.
    """
    for name, p in net.collect_params().items():
        shape = p.shape
        if name.endswith("running_mean"):
            p.set_data(mx.nd.array(rng.uniform(-4, 4, shape)))
        elif name.endswith("running_var"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 9, shape)))
        elif name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)))
        elif name.endswith("beta"):
            p.set_data(mx.nd.array(rng.uniform(-1, 1, shape)))


def _build_net(seed=0):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(qnn.QConv2D(16, 3, padding=1, pad_value=-1), nn.BatchNorm(),
                qnn.QConv2D(16, 3, padding=1, pad_value=0, strides=2), nn.BatchNorm(),
                qnn.QConv2D(32, 3, padding=1, pad_value=1, use_bias=False), nn.BatchNorm(),
                qnn.QConv2D(40, 3, padding=0), nn.BatchNorm(),   # C = 40 > 32: two bit words
                qnn.QDense(48), nn.BatchNorm(),
                nn.Dense(CLASSES))
    mx.random.seed(seed)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros((1,) + IN_SHAPE))  # completes the deferred shapes
    _randomize_batchnorm(net, np.random.RandomState(seed))
    return net


def _batch(n, seed):
    return np.random.RandomState(seed).uniform(-1, 1, (n,) + IN_SHAPE).astype(np.float32)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """(prefix, net): the net exported as <prefix>-symbol.json / <prefix>-0000.params."""
    net = _build_net()
    prefix = str(tmp_path_factory.mktemp("deploy") / "model")
    net.export(prefix)
    return prefix, net


def _python_outputs(prefix, batch):
    block = mx.gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"],
                                         f"{prefix}-0000.params")
    return block(mx.nd.array(batch)).asnumpy()


def _executor_outputs(prefix, batch):
    """The model's output from MXNet's executor, the engine behind the C predict API."""
    sym = mx.sym.load(f"{prefix}-symbol.json")
    saved = mx.nd.load(f"{prefix}-0000.params")
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    args["data"] = mx.nd.array(batch)
    exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    return exe.forward(is_train=False)[0].asnumpy()


def _assert_close(actual, expected, rtol=1e-5):
    """Equal to `rtol` relative to the outputs' scale (elementwise rtol fails near 0)."""
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol,
                               atol=rtol * float(np.abs(expected).max()))


def _stderr_lines(proc):
    return [line for line in proc.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("n", [1, 5])
def test_c_matches_python(exe, model, n):
    prefix, net = model
    batch = _batch(n, seed=n)
    expected = _python_outputs(prefix, batch)
    assert expected.shape == (n, CLASSES)
    # The imported graph is the trained net (guards the comparison itself).
    _assert_close(net(mx.nd.array(batch)).asnumpy(), expected)

    result = deploy.c_predict(prefix, None, batch, top=3, exe=exe)
    _assert_close(result.outputs, expected)
    np.testing.assert_array_equal(result.outputs.argmax(axis=1), expected.argmax(axis=1))

    # The printed lines: one per sample, best first, the scores of the output.
    assert len(result.top) == n
    for i, classes in enumerate(result.top):
        assert len(classes) == 3
        assert classes[0][0] == expected[i].argmax()
        idx = [c for c, _ in classes]
        assert idx == list(np.argsort(-result.outputs[i], kind="stable")[:3])
        np.testing.assert_allclose([s for _, s in classes], result.outputs[i][idx], rtol=1e-5)


def test_run_c_predict_accepts_symbol_path_and_top_larger_than_classes(exe, model):
    prefix, _ = model
    batch = _batch(2, seed=7)
    out = deploy.run_c_predict(f"{prefix}-symbol.json", f"{prefix}-0000.params", batch,
                               top=CLASSES + 5, exe=exe)
    _assert_close(out, _python_outputs(prefix, batch))


def _run(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def test_missing_params_file_is_one_line_and_exit_1(exe, model, tmp_path):
    prefix, _ = model
    inp = tmp_path / "in.bin"
    _batch(1, 0).tofile(inp)
    missing = str(tmp_path / "no-such-0000.params")
    proc = _run(exe, "--lib", bmxnet.library_path(), "--symbol", f"{prefix}-symbol.json",
                "--params", missing, "--input", str(inp), "--shape", "1,3,8,8")
    assert proc.returncode == 1
    lines = _stderr_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert missing in lines[0] and "params" in lines[0]
    assert proc.stdout == ""

    with pytest.raises(RuntimeError, match="no-such-0000.params"):
        deploy.run_c_predict(prefix, missing, _batch(1, 0), exe=exe)


@pytest.mark.parametrize("case", ["input_size", "bad_shape", "wrong_channels", "no_lib",
                                  "lib_not_bsymbolic", "bad_top"])
def test_failures_are_one_line_and_exit_1_or_2_for_usage(exe, model, tmp_path, case):
    prefix, _ = model
    inp = tmp_path / "in.bin"
    _batch(2, 0).tofile(inp)
    lib = ["--lib", bmxnet.library_path()]
    shape, top = "2,3,8,8", "3"
    expect = None
    if case == "input_size":
        shape, expect = "1,3,8,8", "bytes"
    elif case == "bad_shape":
        shape, expect = "2,3,x,8", "--shape"
    elif case == "wrong_channels":
        inp.write_bytes(np.zeros((3, 2, 8, 8), np.float32).tobytes())
        shape, expect = "3,2,8,8", "MXNetError"     # an error from inside MXNet
    elif case == "no_lib":  # a converted model: its packed ops are unknown without MXLoadLib
        from bmxnet import converter
        converted = str(tmp_path / "packed")
        converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", converted,
                          verbose=False)
        prefix, lib, expect = converted, [], "pass --lib with the path of libbmxnet_ops.so"
    elif case == "lib_not_bsymbolic":
        # Any shared library linked without -Bsymbolic: refused before MXLoadLib would crash.
        other = os.path.join(os.path.dirname(mx.__file__), "libgfortran.so.3")
        lib, expect = ["--lib", other], "-Bsymbolic"
    elif case == "bad_top":
        top, expect = "0", "--top"
    proc = _run(exe, *lib, "--symbol", f"{prefix}-symbol.json", "--params",
                f"{prefix}-0000.params", "--input", str(inp), "--shape", shape, "--top", top)
    usage = case in ("bad_shape", "bad_top", "no_lib")
    assert proc.returncode == (2 if usage else 1)
    lines = _stderr_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("bmx_predict: error:") and expect in lines[0], lines[0]
    assert ("see bmx_predict --help" in lines[0]) == usage, lines[0]


@pytest.mark.parametrize("args, expect", [
    (["--symbol"], "--symbol needs a value"),
    (["--frobnicate", "1"], "unknown argument '--frobnicate'"),
    (["--symbol", "s.json"], "--symbol, --params and --input are required"),
])
def test_usage_errors_exit_2_and_point_to_help(exe, args, expect):
    proc = _run(exe, *args)
    assert proc.returncode == 2, proc.stderr
    lines = _stderr_lines(proc)
    assert len(lines) == 1 and expect in lines[0] and "(see bmx_predict --help)" in lines[0], lines


def test_converted_model_from_c_matches_trained_net(exe, model):
    try:
        from bmxnet import converter
    except ImportError as e:
        pytest.skip(f"bmxnet.converter is not available: {e}")
    prefix, net = model
    converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    out_prefix = os.path.join(os.path.dirname(prefix), "binarized_" + os.path.basename(prefix))
    with open(f"{out_prefix}-symbol.json") as f:
        ops = {node["op"] for node in json.load(f)["nodes"]}
    assert {"bmx_binary_conv2d", "bmx_binary_dense"} <= ops
    assert "bmx_det_sign" not in ops

    batch = _batch(4, seed=11)
    expected = net(mx.nd.array(batch)).asnumpy()
    out = deploy.run_c_predict(out_prefix, None, batch, exe=exe)
    _assert_close(out, expected)
    np.testing.assert_array_equal(out.argmax(axis=1), expected.argmax(axis=1))
    _assert_close(out, _executor_outputs(out_prefix, batch))


# ------------------------------------------------------------------------------------------
# The recorded input shape, and params of another model
# ------------------------------------------------------------------------------------------

def _lenet_files(directory):
    """A converted binary LeNet (a different model from `model`), input shape recorded."""
    from bmxnet import converter

    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize(mx.init.Xavier())
    prefix = os.path.join(str(directory), "lenet")
    bmxnet.export(net, prefix, input_shape=(1, 1, 28, 28))
    converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    return os.path.join(str(directory), "binarized_lenet"), net


def test_c_reads_the_recorded_input_shape(exe, tmp_path):
    prefix, net = _lenet_files(tmp_path)
    batch = np.random.RandomState(0).uniform(0, 1, (3, 1, 28, 28)).astype(np.float32)
    inp = tmp_path / "in.bin"
    batch.tofile(inp)
    out = tmp_path / "out.bin"
    proc = _run(exe, "--lib", bmxnet.library_path(), "--symbol", f"{prefix}-symbol.json",
                "--params", f"{prefix}-0000.params", "--input", str(inp), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "output shape: 3,10" in proc.stdout
    _assert_close(np.fromfile(out, "<f4").reshape(3, 10), net(mx.nd.array(batch)).asnumpy(),
                  rtol=1e-4)
    # an input that is not whole samples of the recorded shape
    (tmp_path / "odd.bin").write_bytes(batch.tobytes()[:-4])
    proc = _run(exe, "--lib", bmxnet.library_path(), "--symbol", f"{prefix}-symbol.json",
                "--params", f"{prefix}-0000.params", "--input", str(tmp_path / "odd.bin"))
    assert proc.returncode == 1 and "(1, 1, 28, 28)" in proc.stderr, proc.stderr
    assert len(_stderr_lines(proc)) == 1


def test_c_without_a_recorded_shape_asks_for_shape(exe, model, tmp_path):
    prefix, _ = model  # exported with net.export: no shape recorded
    inp = tmp_path / "in.bin"
    _batch(1, 0).tofile(inp)
    proc = _run(exe, "--lib", bmxnet.library_path(), "--symbol", f"{prefix}-symbol.json",
                "--params", f"{prefix}-0000.params", "--input", str(inp))
    assert proc.returncode == 1
    lines = _stderr_lines(proc)
    assert len(lines) == 1 and "--shape" in lines[0] and "does not record" in lines[0]


def test_params_of_another_model_get_the_converters_sentence(exe, model, tmp_path):
    from bmxnet import converter

    prefix, _ = model
    converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                      out_prefix=str(tmp_path / "conv"), verbose=False)
    lenet, _ = _lenet_files(tmp_path)
    symbol, params = str(tmp_path / "conv-symbol.json"), f"{lenet}-0000.params"
    inp = tmp_path / "in.bin"
    _batch(1, 0).tofile(inp)
    proc = _run(exe, "--lib", bmxnet.library_path(), "--symbol", symbol, "--params", params,
                "--input", str(inp), "--shape", "1,3,8,8")
    assert proc.returncode == 1
    lines = _stderr_lines(proc)
    assert len(lines) == 1, proc.stderr
    with pytest.raises(converter.ConversionError) as info:
        converter.convert(symbol, params, out_prefix=str(tmp_path / "x"), verbose=False)
    assert lines[0] == f"bmx_predict: error: {info.value}"
    assert "of its" in lines[0] and "parameters are not in the symbol" in lines[0]

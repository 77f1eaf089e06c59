"""First mistakes, as a newcomer makes them, each answered by one sentence that says what to
do: bmx_run's misspelt option and raw input, bmx_predict without --lib, `bmxnet summary` of a
model that does not record its input shape, `bmxnet predict --input-shape 28,28`, and
`bmxnet --help`."""
import os
import sys

import numpy as np
import pytest

from bmxnet import cli

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)
from tool_files import built_program, run_tool  # noqa: E402

sys.path.pop(0)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """The converted zoo LeNet and a raw float32 input for it."""
    work = tmp_path_factory.mktemp("lenet")
    case = runtime_golden.prepare("binary_lenet", str(work))
    case.x.astype("<f4").tofile(work / "x.f32")
    return case, case.symbol_file[:-len("-symbol.json")], str(work / "x.f32")


def _one_line(proc):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_bmx_run_misspelt_last_option_is_unknown(lenet):
    _, prefix, raw = lenet
    proc = run_tool(built_program("bmx_run"), prefix, raw, "--shape", "1,1,28,28", "--bogus")
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "unknown option '--bogus'" in line and "needs a value" not in line


def test_bmx_run_raw_input_error_names_every_image_format(lenet):
    _, prefix, raw = lenet
    exe = built_program("bmx_run")
    proc = run_tool(exe, prefix, raw)
    assert proc.returncode == 2
    line = _one_line(proc)
    assert "--shape" in line
    if "PNG" in run_tool(exe, "--help").stdout:  # built with libpng
        assert "PGM/PPM/PNG" in line


def test_bmx_predict_without_lib_says_pass_lib(lenet):
    case, _, raw = lenet
    exe = built_program("bmx_predict")
    proc = run_tool(exe, "--symbol", case.symbol_file, "--params", case.params_file, "--input", raw,
                "--shape", "1,1,28,28")
    assert proc.returncode == 2  # a usage error: the option is missing
    line = _one_line(proc)
    assert "--lib" in line and "libbmxnet_ops.so" in line


@pytest.fixture(scope="module")
def unrecorded(tmp_path_factory):
    """A LeNet for 3x32x32 inputs, exported by Gluon's own export: no input shape recorded,
    and the summary's guess (3 channels: 224x224) does not fit its dense layer."""
    import mxnet as mx
    import bmxnet

    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize()
    net.hybridize()
    net(mx.nd.zeros((1, 3, 32, 32)))
    prefix = str(tmp_path_factory.mktemp("unrecorded") / "model")
    net.export(prefix)
    return prefix


def test_summary_without_a_recorded_shape_asks_for_it(unrecorded, capsys):
    assert cli.main(["summary", unrecorded]) == 1
    out, err = capsys.readouterr()
    assert "infer_shape error" not in out + err and ".cc:" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bmxnet summary: error:"), err
    assert "not recorded" in lines[0] and "--input-shape" in lines[0]
    assert cli.main(["summary", unrecorded, "--input-shape", "1,3,32,32"]) == 0


def test_predict_input_shape_without_batch_and_channels(lenet, capsys):
    _, prefix, _ = lenet
    np.save(os.path.join(os.path.dirname(prefix), "x.npy"), np.zeros((1, 28, 28), np.float32))
    with pytest.raises(SystemExit) as info:
        cli.main(["predict", prefix, os.path.join(os.path.dirname(prefix), "x.npy"),
                  "--input-shape", "28,28"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--input-shape 28,28 is not N,C,H,W" in err and "1,1,28,28" in err
    assert "the model's input shape" not in err


def test_help_shows_no_restructuredtext(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and "`bmxnet` command" in out


def test_predictor_advice_for_an_image_without_batch_and_channel_axes(lenet):
    """A 28 x 28 image for a (1, 1, 28, 28) model: reshape it (input_shape=(28, 28) would not
    plan); another batch size: create a predictor for it."""
    from bmxnet import runtime

    case, prefix, _ = lenet
    with runtime.Predictor(prefix, (1, 1, 28, 28)) as pred:
        with pytest.raises(ValueError) as info:
            pred.predict(case.x.reshape(28, 28))
        assert "x.reshape((1, 1, 28, 28))" in str(info.value)
        assert "input_shape=(28, 28)" not in str(info.value)
        with pytest.raises(ValueError, match=r"input_shape=\(2, 1, 28, 28\)"):
            pred.predict(np.zeros((2, 1, 28, 28), np.float32))
        with pytest.raises(ValueError, match="4 axes, batch first"):
            pred.predict(np.zeros((14, 14), np.float32))

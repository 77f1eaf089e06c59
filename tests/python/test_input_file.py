"""One input file -> the model's input tensor, the same in bmx_run and `bmxnet predict`
(through MXNet and with --runtime): the files a new user gave bmx_run (a 64x64 PNG of the digit,
an RGB PNG, a (28, 28) .npy, a raw float32 file without --shape) on a converted LeNet that
records its input shape, and a file whose data cannot fit, refused by both with the shape the
model expects (libbmx_runtime's BMXInputFromFile / BMXInputFromPixels, bmxnet.input_file)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from bmxnet import cli, input_file, runtime
from bmxnet.export import record_input_shape_file

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)
from tool_files import built_program, write_png  # noqa: E402

sys.path.pop(0)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPE = (1, 1, 28, 28)




@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """The converted zoo LeNet with its input shape recorded (as bmxnet.export records it),
    and the user's files: the digit as a 64x64 PNG, an RGB PNG, a (28, 28) .npy, raw float32."""
    work = tmp_path_factory.mktemp("inputs")
    case = runtime_golden.prepare("binary_lenet", str(work))
    record_input_shape_file(case.symbol_file, SHAPE)
    Image = pytest.importorskip("PIL.Image")
    digit = np.asarray(Image.open(os.path.join(ROOT, "examples", "mnist", "digit.png")))
    assert digit.shape == (28, 28)
    rows = np.arange(64) * 28 // 64                             # nearest neighbour, 28 -> 64
    write_png(work / "digit64.png", digit[rows][:, rows])
    rgb = np.stack([digit, digit // 2, 255 - digit], axis=2).astype(np.uint8)
    write_png(work / "rgb.png", rgb)
    x = digit.astype(np.float32) / np.float32(255)
    np.save(work / "digit.npy", x)                              # (28, 28): no batch or channel
    x.astype("<f4").tofile(work / "digit.f32")                  # 784 floats, no shape
    np.save(work / "small.npy", np.zeros((5, 5), np.float32))   # cannot fit (1, 1, 28, 28)
    np.zeros(100, "<f4").tofile(work / "short.f32")             # 100 floats: not a sample
    files = {name: str(work / name) for name in
             ("digit64.png", "rgb.png", "digit.npy", "digit.f32", "small.npy", "short.f32")}
    return case.symbol_file[:-len("-symbol.json")], files, x, rgb


@pytest.fixture(scope="module")
def bmx_run():
    exe = built_program("bmx_run")
    if "PNG" not in subprocess.run([exe, "--help"], capture_output=True, text=True).stdout:
        pytest.skip("bmx_run is built without libpng (apt-get install libpng-dev)")
    return exe


def _bmx_run_scores(exe, prefix, path, tmp_path):
    """bmx_run's outputs for one file, with no --shape (the model's recorded shape)."""
    out = tmp_path / "out.f32"
    proc = subprocess.run([exe, prefix, path, "--threads", "1", "--output", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (path, proc.stderr)
    assert proc.stdout.splitlines()[0] == "output shape: 1,10", proc.stdout
    return np.fromfile(out, "<f4")


def _predict_scores(capsys, prefix, path, runtime_flags):
    """`bmxnet predict`'s ten printed scores for one file, by class."""
    assert cli.main(["predict", prefix, path, "--top", "10"] + runtime_flags) == 0
    line = capsys.readouterr().out.strip()
    assert len(line.splitlines()) == 1, line
    scores = np.zeros(10)
    for item in line.split(": ", 1)[1].split(", "):  # "8 (4955.775)"
        label, score = item.split()
        scores[int(label)] = float(score.strip("()"))
    return scores


@pytest.mark.parametrize("name", ["digit64.png", "rgb.png", "digit.npy", "digit.f32"])
def test_both_tools_make_the_same_input_of_the_same_file(lenet, bmx_run, name, tmp_path,
                                                         capsys):
    prefix, files, _, _ = lenet
    from_c = _bmx_run_scores(bmx_run, prefix, files[name], tmp_path)
    printed = np.round(from_c.astype(np.float64), 3)
    # --runtime: the same library, the same tensor: the same scores, as printed
    with_runtime = _predict_scores(capsys, prefix, files[name], ["--runtime", "--threads", "1"])
    np.testing.assert_array_equal(with_runtime, printed)
    # through MXNet: the same tensor; the model's outputs within the runtime's tolerance
    with_mxnet = _predict_scores(capsys, prefix, files[name], [])
    np.testing.assert_allclose(with_mxnet, printed, rtol=0,
                               atol=1e-4 * np.abs(printed).max() + 1e-3)


def test_the_tensors_follow_the_rules(lenet, bmx_run, tmp_path):
    """What each file becomes: the .npy and raw values as they are; the 64x64 PNG resized to
    28x28 (bilinear); the RGB PNG made gray by BT.601 luma. bmx_run's outputs equal the
    runtime's for those tensors."""
    prefix, files, x, rgb = lenet
    for name in ("digit.npy", "digit.f32"):
        np.testing.assert_array_equal(input_file.load_input(files[name], SHAPE), x[None, None])
    resized = input_file.load_input(files["digit64.png"], SHAPE)
    assert resized.shape == SHAPE and resized.dtype == np.float32
    assert np.abs(resized[0, 0] - x).mean() < 0.05  # the digit, not its corner
    c = (rgb.astype(np.float32) / np.float32(255)).astype(np.float64)
    luma = ((299 * c[..., 0] + 587 * c[..., 1] + 114 * c[..., 2]) / 1000).astype(np.float32)
    np.testing.assert_array_equal(input_file.load_input(files["rgb.png"], SHAPE),
                                  luma[None, None])
    with runtime.Predictor(prefix, SHAPE, threads=1) as pred:
        for name, tensor in (("digit.npy", x[None, None]), ("rgb.png", luma[None, None])):
            np.testing.assert_array_equal(_bmx_run_scores(bmx_run, prefix, files[name], tmp_path),
                                          pred.predict(tensor)[0])


@pytest.mark.parametrize("name, holds", [
    ("small.npy", "holds an array of shape (5, 5)"),
    ("short.f32", "holds 400 bytes of raw float32 values"),
])
def test_data_that_cannot_fit_names_the_expected_shape(lenet, bmx_run, name, holds, capsys):
    prefix, files, _, _ = lenet
    proc = subprocess.run([bmx_run, prefix, files[name]], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    messages = [proc.stderr.strip()]
    for flags in (["--runtime"], []):
        assert cli.main(["predict", prefix, files[name]] + flags) == 2
        messages.append(capsys.readouterr().err.strip())
    for message, tool in zip(messages, ("bmx_run", "bmxnet predict", "bmxnet predict")):
        assert len(message.splitlines()) == 1 and "Traceback" not in message, message
        assert message.startswith(f"{tool}: error: {files[name]} {holds}"), message
        assert "(1, 1, 28, 28)" in message, message
    assert messages[1] == messages[2]  # the same sentence with and without --runtime
    assert messages[0].split("error: ", 1)[1] == messages[1].split("error: ", 1)[1]


def test_an_image_for_a_model_that_takes_no_image(lenet, tmp_path):
    _, files, _, _ = lenet
    with pytest.raises(input_file.InputFileError,
                       match=r"64x64 gray image, but the model's input is \(1, 784\)"):
        input_file.load_input(files["digit64.png"], (1, 784))
    # a flat model takes the raw values as they are
    flat = input_file.load_input(files["digit.f32"], (1, 784))
    assert flat.shape == (1, 784)

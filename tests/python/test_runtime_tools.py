"""What users touch around libbmx_runtime: bmxnet.runtime.Predictor, `bmxnet predict/summary
--runtime`, and the bmx_run program: their answers, and one clear message for bad input."""
import json
import os
import sys

import numpy as np
import pytest

import bmxnet
from bmxnet import cli, deploy, runtime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)
from tool_files import built_program, run_tool, write_png  # noqa: E402

sys.path.pop(0)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """The converted zoo LeNet (random weights): its Case, and its prefix."""
    case = runtime_golden.prepare("binary_lenet", str(tmp_path_factory.mktemp("lenet")))
    return case, case.symbol_file[:-len("-symbol.json")]


@pytest.fixture(scope="module")
def bmx_run():
    return built_program("bmx_run")


def _one_error_line(proc, *words):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "error:" in lines[0] and "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ---- paths ---------------------------------------------------------------------------------

def test_library_paths_are_absolute_and_exist():
    lib, include = bmxnet.runtime_library_path(), bmxnet.runtime_include_dir()
    assert os.path.isabs(lib) and os.path.isfile(lib)
    assert os.path.isabs(include) and os.path.isfile(os.path.join(include, "bmx_predict.h"))


def test_runtime_library_env_override(tmp_path, monkeypatch):
    fake = tmp_path / "libbmx_runtime.so"
    fake.write_bytes(b"")
    monkeypatch.setenv("BMXNET_RUNTIME_LIBRARY", str(fake))
    assert bmxnet.runtime_library_path() == os.path.realpath(fake)


# ---- Predictor -----------------------------------------------------------------------------

def test_predictor_from_a_prefix(lenet):
    case, prefix = lenet
    with runtime.Predictor(prefix, threads=1) as pred:  # input shape guessed: 1,1,28,28
        assert pred.input_shape == case.x.shape
        assert pred.output_shape == case.expected.shape
        assert pred.output_shapes == [case.expected.shape]
        out = pred.predict(case.x)
        assert np.array_equal(pred(case.x), out)
        plan = pred.plan
        assert "Predictor(" in repr(pred)
    assert out.dtype == np.float32
    scale = np.abs(case.expected).max()
    np.testing.assert_allclose(out, case.expected, rtol=0, atol=1e-4 * scale)
    assert {"nodes", "arena_bytes", "weight_bytes", "isa", "float_backend"} <= set(plan)
    assert plan["nodes"][-1]["output_shape"] == list(case.expected.shape)
    assert {"name", "op", "kernel", "output_shape"} <= set(plan["nodes"][0])


def test_predictor_finds_the_highest_epoch(lenet, tmp_path):
    case, _ = lenet
    prefix = str(tmp_path / "m")
    with open(case.symbol_file, "rb") as f:
        (tmp_path / "m-symbol.json").write_bytes(f.read())
    (tmp_path / "m-0001.params").write_bytes(b"not a params file")
    with open(case.params_file, "rb") as f:
        (tmp_path / "m-0012.params").write_bytes(f.read())
    with runtime.Predictor(prefix, case.x.shape) as pred:
        assert pred.params_file.endswith("m-0012.params")
    with pytest.raises(runtime.BMXRuntimeError, match=r"m-0001\.params"):
        runtime.Predictor(prefix, case.x.shape, epoch=1)


def test_predictor_rejects_bad_arguments(lenet, tmp_path):
    case, prefix = lenet
    with runtime.Predictor(prefix, case.x.shape) as pred:
        with pytest.raises(ValueError, match=r"created for \(1, 1, 28, 28\)"):
            pred.predict(np.zeros((2, 1, 28, 28), np.float32))
        with pytest.raises(ValueError, match="positive integer"):
            pred.set_threads(0)
    with pytest.raises(ValueError, match="closed"):
        pred.predict(case.x)
    pred.close()  # twice is fine
    with pytest.raises(ValueError, match="threads"):
        runtime.Predictor(prefix, case.x.shape, threads=0)
    with pytest.raises(ValueError, match="input_shape"):
        runtime.Predictor(prefix, (1, -1, 28, 28))
    with pytest.raises(FileNotFoundError, match="symbol.json"):
        runtime.Predictor(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"\(symbol file, params file\)"):
        runtime.Predictor([case.symbol_file])


def test_runtime_errors_carry_the_runtimes_message(lenet, tmp_path):
    case, _ = lenet
    bad = tmp_path / "bad-symbol.json"
    bad.write_text('{"not": "a symbol"}')
    with pytest.raises(runtime.BMXRuntimeError) as info:
        runtime.Predictor((str(bad), case.params_file), case.x.shape)
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "bad-symbol.json" in message and len(message.split(": ", 1)[1]) > 10
    with pytest.raises(runtime.BMXRuntimeError):  # 3 channels: the weights do not fit
        runtime.Predictor((case.symbol_file, case.params_file), (1, 3, 28, 28))


def test_runtime_imports_without_mxnet(lenet):
    """A user with numpy alone: `from bmxnet import runtime` works and never loads MXNet."""
    case, prefix = lenet
    code = (
        "import sys\n"
        "sys.modules['mxnet'] = None  # as if not installed: importing it fails\n"
        "import numpy as np\n"
        "from bmxnet import runtime\n"
        f"x = np.fromfile({json.dumps(case.symbol_file[:-12] + '.x')}, '<f4')\n"
        f"with runtime.Predictor({json.dumps(prefix)}, (1, 1, 28, 28)) as p:\n"
        "    y = p.predict(x.reshape(1, 1, 28, 28))\n"
        "print(int(y.argmax()))\n"
        "assert not [m for m in sys.modules if m.startswith('mxnet') and sys.modules[m]]\n")
    case.x.astype("<f4").tofile(case.symbol_file[:-12] + ".x")
    proc = run_tool(sys.executable, "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == int(case.expected.argmax())


# ---- bmxnet predict / summary --runtime ----------------------------------------------------

def test_cli_predict_runtime_equals_mxnet(lenet, tmp_path, capsys):
    case, prefix = lenet
    np.save(tmp_path / "x.npy", case.x[0])
    assert cli.main(["predict", prefix, str(tmp_path / "x.npy"), "--top", "3"]) == 0
    with_mxnet = capsys.readouterr().out
    assert cli.main(["predict", "--runtime", prefix, str(tmp_path / "x.npy"), "--top", "3",
                     "--threads", "1"]) == 0
    with_runtime = capsys.readouterr().out

    def classes(out):  # "path: 8 (6773.670), 5 (5124.170), ..." -> [8, 5, ...]
        return [int(item.split()[0]) for item in out.split(": ", 1)[1].split(", ")]
    assert classes(with_runtime) == classes(with_mxnet)
    assert classes(with_runtime)[0] == int(case.expected.argmax())


def test_cli_summary_runtime(lenet, capsys):
    case, prefix = lenet
    assert cli.main(["summary", "--runtime", prefix, "--input-shape", "1,1,28,28"]) == 0
    out = capsys.readouterr().out
    for word in ("bmx_binary_conv2d", "bmx_binary_dense", "Arena:", "weights:", "Kernels:",
                 "(1, 10)"):
        assert word in out
    assert cli.main(["summary", "--runtime", prefix, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["input_shape"] == [1, 1, 28, 28] and plan["arena_bytes"] > 0


def test_cli_runtime_errors_are_messages(lenet, tmp_path, capsys):
    case, prefix = lenet
    np.save(tmp_path / "x.npy", case.x[0])
    assert cli.main(["predict", "--runtime", prefix, str(tmp_path / "x.npy"),
                     "--input-shape", "1,3,28,28"]) == 2  # the data cannot fit: a usage error
    assert "model's input is (1, 3, 28, 28)" in capsys.readouterr().err
    assert cli.main(["summary", "--runtime", prefix, "--input-shape", "1,3,28,28"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bmxnet summary: error:") and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", prefix, str(tmp_path / "x.npy"), "--threads", "2"])
    assert exit_info.value.code == 2


# ---- bmx_run -------------------------------------------------------------------------------



def _top(stdout):
    line = [l for l in stdout.splitlines() if l.startswith("sample 0:")][0]
    return [int(item.split("(")[0]) for item in line.split("classes")[1].split()]


def test_bmx_run_inputs(lenet, bmx_run, tmp_path):
    case, prefix = lenet
    with runtime.Predictor(prefix, (1, 1, 28, 28), threads=1) as pred:
        pixels = np.random.RandomState(3).randint(0, 256, (28, 28)).astype(np.uint8)
        from_pixels = pred.predict((pixels / 255.0).astype(np.float32).reshape(1, 1, 28, 28))
        from_x = pred.predict(case.x)
    want_pixels = list(np.argsort(-from_pixels[0], kind="stable")[:5])
    want_x = list(np.argsort(-from_x[0], kind="stable")[:5])

    case.x.astype("<f4").tofile(tmp_path / "x.f32")
    np.save(tmp_path / "x.npy", case.x[0])                      # (C, H, W): batch added
    np.save(tmp_path / "x64.npy", case.x.astype(np.float64))
    (tmp_path / "x.pgm").write_bytes(b"P5\n# a comment\n28 28\n255\n" + pixels.tobytes())
    rgb = np.repeat(pixels[:, :, None], 3, axis=2)
    (tmp_path / "x.ppm").write_bytes(b"P6 28 28 255\n" + rgb.tobytes())
    big = np.kron(pixels, np.ones((2, 2), np.uint8))             # 56x56: resized to 28x28
    (tmp_path / "big.pgm").write_bytes(b"P5 56 56 255\n" + big.tobytes())

    runs = [(["x.f32", "--shape", "1,1,28,28"], want_x), (["x.npy"], want_x),
            (["x64.npy"], want_x), (["x.pgm"], want_pixels),
            (["x.ppm", "--shape", "1,1,28,28"], want_pixels),
            (["big.pgm", "--shape", "1,1,28,28"], None)]
    if "PNG" in run_tool(bmx_run, "--help").stdout:
        write_png(tmp_path / "x.png", pixels)
        runs.append((["x.png"], want_pixels))
    for args, want in runs:
        out = tmp_path / "out.f32"
        proc = run_tool(bmx_run, prefix, tmp_path / args[0], *args[1:], "--threads", "1",
                    "--output", out)
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout.splitlines()[0] == "output shape: 1,10"
        if want is not None:
            assert _top(proc.stdout) == want, args
        assert np.fromfile(out, "<f4").shape == (10,)


@pytest.mark.parametrize("args, status, words", [
    ([], 2, ["MODEL and INPUT"]),
    (["{prefix}"], 2, ["MODEL and INPUT"]),
    (["{prefix}", "{raw}"], 2, ["--shape"]),
    (["{prefix}", "{raw}", "--shape", "1,x,28"], 2, ["--shape"]),
    (["{prefix}", "{raw}", "--shape", "1,1,28,28", "--threads", "0"], 2, ["--threads"]),
    (["{prefix}", "{raw}", "--bogus", "1"], 2, ["--bogus"]),
    (["{prefix}", "{raw}", "--shape"], 2, ["needs a value"]),
    (["{prefix}", "{raw}", "--shape", "1,1,28,28", "--mean", "0.5"], 2, ["images only"]),
    (["{missing}", "{raw}", "--shape", "1,1,28,28"], 1, ["missing-symbol.json"]),
    (["{prefix}", "{missing}", "--shape", "1,1,28,28"], 1, ["missing"]),
    (["{prefix}", "{raw}", "--shape", "1,1,28,27"], 2, ["bytes", "(1, 1, 28, 27)"]),
    (["{prefix}", "{raw}", "--shape", "1,4,14,14"], 1, ["1,4,14,14"]),
    (["{prefix}", "{npy_complex}"], 2, ["float32"]),
    (["{prefix}", "{pgm_short}"], 2, ["PGM/PPM"]),
])
def test_bmx_run_errors(lenet, bmx_run, tmp_path, args, status, words):
    case, prefix = lenet
    raw = tmp_path / "x.f32"
    case.x.astype("<f4").tofile(raw)
    np.save(tmp_path / "complex.npy", np.zeros((1, 1, 28, 28), np.complex64))
    (tmp_path / "short.pgm").write_bytes(b"P5 28 28 255\n" + b"\0" * 100)
    names = {"prefix": prefix, "raw": raw, "missing": tmp_path / "missing",
             "npy_complex": tmp_path / "complex.npy", "pgm_short": tmp_path / "short.pgm"}
    proc = run_tool(bmx_run, *[a.format(**names) for a in args])
    assert proc.returncode == status, proc.stderr
    _one_error_line(proc, "bmx_run: error:", *words)
    assert proc.stdout == ""


def test_bmx_predict_runtime_refuses_lib(lenet, tmp_path):
    case, prefix = lenet
    try:
        exe = deploy.find_exe("bmx_predict_runtime")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    case.x.astype("<f4").tofile(tmp_path / "x.f32")
    proc = run_tool(exe, "--lib", "libbmxnet_ops.so", "--symbol", case.symbol_file, "--params",
                case.params_file, "--input", tmp_path / "x.f32", "--shape", "1,1,28,28")
    assert proc.returncode == 2  # a usage error
    _one_error_line(proc, "--lib")
    result = deploy.c_predict(case.symbol_file, case.params_file, case.x, top=2, runtime=True)
    assert result.top[0][0][0] == int(case.expected.argmax())

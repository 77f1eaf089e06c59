"""bmx_benchmark on the converted zoo LeNet and ResNet-18: its per-layer times add up to the
measured forward, its trace is a valid Chrome trace-event file, --json parses, an input file
(.npy, PGM, PNG, raw float32) becomes the tensor bmx_run makes of it (the same output), and bad
input (a missing model, --runs 0, a wrong shape, a wrong input file, an unconverted model) gets
one line and exit status 2."""
import json
import os
import shutil
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)
from tool_files import built_program, run_tool  # noqa: E402

sys.path.pop(0)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]

SHAPES = {"binary_lenet": (1, 1, 28, 28), "binary_resnet18_v1": (1, 3, 64, 64)}


@pytest.fixture(scope="module")
def exe():
    return built_program("bmx_benchmark")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Per model: (trained prefix, converted prefix with its input shape recorded)."""
    from bmxnet.converter import convert

    out = {}
    for name, shape in SHAPES.items():
        work = str(tmp_path_factory.mktemp(name))
        trained = runtime_golden._export_zoo_model(name, work, 0)
        report = convert(f"{trained}-symbol.json", f"{trained}-0000.params", verbose=False,
                         input_shape=shape)
        out[name] = (trained, report.symbol_out[:-len("-symbol.json")])
    return out


def _report(exe, prefix, *args):
    proc = run_tool(exe, prefix, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_layer_times_add_up_to_the_forward(exe, models, name):
    """The per-layer medians sum to the median unprofiled forward within 5% (the issue's bar);
    on a shared machine a burst of load can skew one measurement, so the best of three."""
    errors = []
    for _ in range(3):
        report = _report(exe, models[name][1], "--profile", "--threads", "1", "--warmup", "20",
                         "--runs", "200")
        median = report["latency_seconds"]["median"]
        total = sum(row["seconds"] for row in report["profile"]["steps"])
        errors.append(abs(total - median) / median)
        if errors[-1] <= 0.05:
            break
    assert min(errors) <= 0.05, errors


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_json_report(exe, models, name):
    report = _report(exe, models[name][1], "--profile", "--runs", "3", "--warmup", "1",
                     "--threads", "1")
    assert report["input_shape"] == list(SHAPES[name])  # the recorded shape
    assert report["input"] == "random" and report["runs"] == 3 and report["threads"] == 1
    lat = report["latency_seconds"]
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["max"]
    assert report["load_seconds"] > 0 and report["peak_rss_bytes"] > report["arena_bytes"] > 0
    profile = report["profile"]
    assert profile["runs"] == 3
    steps = profile["steps"]
    assert {row["kind"] for row in steps} == {"binary", "float", "data"} or name == "binary_lenet"
    for row in steps:
        assert set(row) == {"node", "op", "kernel", "kind", "output_shape", "binary_macs",
                            "float_macs", "seconds", "share"}
        if row["kind"] == "binary":
            assert row["kernel"].startswith("binary-") and row["binary_macs"] > 0
            assert row["op"].startswith("bmx_binary_") and row["float_macs"] == 0
        else:
            assert row["binary_macs"] == 0
    assert abs(sum(row["share"] for row in steps) - 1) < 1e-6
    totals = profile["totals"]
    assert sum(t["layers"] for t in totals.values()) == len(steps)
    for kind, t in totals.items():
        of_kind = [row for row in steps if row["kind"] == kind]
        assert t["binary_macs"] == sum(row["binary_macs"] for row in of_kind)
        assert t["float_macs"] == sum(row["float_macs"] for row in of_kind)
        macs = t["binary_macs"] + t["float_macs"]
        assert t["macs_per_second"] == (pytest.approx(macs / t["seconds"]) if macs else 0)
    # The zoo models' first convolution and last dense layer stay float (DESIGN.md).
    assert totals["binary"]["binary_macs"] > 0 and totals["float"]["float_macs"] > 0


def _check_trace_events(trace):
    """The trace-event format (Chrome's "Trace Event Format" document): a traceEvents list;
    complete events ("X") with a name, a category, ts and dur in microseconds, pid and tid;
    metadata events ("M") naming the process and thread; and, per thread, complete events
    that nest without overlapping (what the viewers draw as a stack)."""
    assert isinstance(trace, dict) and isinstance(trace["traceEvents"], list)
    complete = []
    for e in trace["traceEvents"]:
        assert e["ph"] in ("X", "M"), e
        assert isinstance(e["name"], str) and isinstance(e["pid"], int)
        assert isinstance(e["tid"], int)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and "name" in e["args"]
            continue
        assert isinstance(e["cat"], str) and isinstance(e.get("args", {}), dict)
        assert isinstance(e["ts"], (int, float)) and isinstance(e["dur"], (int, float))
        assert e["ts"] >= 0 and e["dur"] >= 0
        complete.append(e)
    eps = 1e-3  # the file's microseconds carry nanoseconds; rounding may shift an end by less
    by_thread = {}
    for e in complete:
        by_thread.setdefault((e["pid"], e["tid"]), []).append(e)
    for events in by_thread.values():
        events.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in events:
            while stack and e["ts"] >= stack[-1]["ts"] + stack[-1]["dur"] - eps:
                stack.pop()
            if stack:  # inside its parent, whole
                parent = stack[-1]
                assert e["ts"] + e["dur"] <= parent["ts"] + parent["dur"] + eps, (parent, e)
            stack.append(e)
    return complete


def test_trace_file(exe, models, tmp_path):
    path = tmp_path / "trace.json"
    proc = run_tool(exe, models["binary_resnet18_v1"][1], "--trace", path, "--runs", "4",
                "--warmup", "1", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert f"trace:        {path}" in proc.stdout and "per layer" not in proc.stdout
    with open(path) as f:
        trace = json.load(f)
    complete = _check_trace_events(trace)
    forwards = [e for e in complete if e["cat"] == "forward"]
    steps = [e for e in complete if e["cat"] != "forward"]
    assert len(forwards) == 4 and len(steps) % 4 == 0 and steps
    assert {e["cat"] for e in steps} <= {"binary", "float", "data"}
    for e in steps:  # each step lies inside one forward
        assert any(f["ts"] - 1e-3 <= e["ts"] and e["ts"] + e["dur"] <= f["ts"] + f["dur"] + 1e-3
                   for f in forwards)
        assert {"op", "kernel", "output_shape", "binary_macs", "float_macs"} <= set(e["args"])


def test_trace_checker_catches_overlap():
    """The nesting check above fails on two events of a thread that overlap partly."""
    events = {"traceEvents": [
        {"name": "a", "cat": "c", "ph": "X", "ts": 0, "dur": 10, "pid": 1, "tid": 1},
        {"name": "b", "cat": "c", "ph": "X", "ts": 5, "dur": 10, "pid": 1, "tid": 1}]}
    with pytest.raises(AssertionError):
        _check_trace_events(events)


def test_text_report_and_input_file(exe, models, tmp_path):
    x = np.random.RandomState(0).uniform(-1, 1, SHAPES["binary_lenet"]).astype("<f4")
    raw = tmp_path / "x.f32"
    x.tofile(raw)
    proc = run_tool(exe, models["binary_lenet"][1], raw, "--profile", "--runs", "2", "--warmup", "0")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for words in ("input:        data 1,1,28,28 (" + str(raw) + ")", "load:", "latency:",
                  "median", "p90", "peak memory:", "per layer", "totals per kind:",
                  "binary layers", "float layers", "data movement", "layers sum"):
        assert words in out, out


@pytest.fixture(scope="module")
def bmx_run():
    return built_program("bmx_run")


def _digit_files(tmp_path):
    """The MNIST digit of examples/mnist as the files a user gives bmx_run: the 28 x 28 PNG, a
    (28, 28) .npy of it, a binary PGM and raw float32 (no shape: the model's recorded one)."""
    Image = pytest.importorskip("PIL.Image")
    png = os.path.join(ROOT, "examples", "mnist", "digit.png")
    digit = np.asarray(Image.open(png).convert("L"))
    x = digit.astype(np.float32) / np.float32(255)
    np.save(tmp_path / "digit.npy", x)
    (tmp_path / "digit.pgm").write_bytes(b"P5\n28 28\n255\n" + digit.tobytes())
    x.astype("<f4").tofile(tmp_path / "digit.f32")
    return {"digit.png": png, "digit.npy": str(tmp_path / "digit.npy"),
            "digit.pgm": str(tmp_path / "digit.pgm"), "digit.f32": str(tmp_path / "digit.f32")}


@pytest.mark.parametrize("name", ["digit.png", "digit.npy", "digit.pgm", "digit.f32"])
def test_input_files_are_read_as_bmx_run_reads_them(exe, bmx_run, models, tmp_path, name):
    """One file, given to bmx_run and to bmx_benchmark: the same input tensor, so the same
    output: bmx_benchmark's top-10 (--json) is bmx_run's output file, class by class, bit for
    bit, and its text report prints bmx_run's top-5 line."""
    path = _digit_files(tmp_path)[name]
    if name.endswith(".png") and "PNG" not in run_tool(exe, "--help").stdout:
        pytest.skip("bmx_benchmark is built without libpng (apt-get install libpng-dev)")
    prefix = models["binary_lenet"][1]
    out = tmp_path / "out.f32"
    ran = run_tool(bmx_run, prefix, path, "--threads", "1", "--output", out)
    assert ran.returncode == 0, ran.stderr
    expected = np.fromfile(out, "<f4")
    assert expected.shape == (10,) and np.abs(expected).max() > 0

    report = _report(exe, prefix, path, "--top", "10", "--runs", "2", "--warmup", "0",
                     "--threads", "1")
    assert report["input"] == path and report["input_shape"] == [1, 1, 28, 28]
    assert report["output"]["shape"] == [1, 10]
    (top,) = report["output"]["top"]
    assert sorted(c["class"] for c in top) == list(range(10))
    for c in top:
        assert np.float32(c["score"]) == expected[c["class"]], (c, expected)
    assert [c["class"] for c in top] == sorted(range(10), key=lambda k: -expected[k])

    text = run_tool(exe, prefix, path, "--runs", "1", "--warmup", "0", "--threads", "1")
    assert text.returncode == 0, text.stderr
    top5 = [line for line in ran.stdout.splitlines() if line.startswith("sample 0:")]
    assert top5 and "  " + top5[0] in text.stdout.splitlines(), (ran.stdout, text.stdout)
    assert "output:       1,10" in text.stdout


def test_an_image_follows_mean_std_and_resizing_as_in_bmx_run(exe, bmx_run, models, tmp_path):
    """A PGM of another size with --mean and --std: resized and normalized by the same rules."""
    rng = np.random.RandomState(1)
    pgm = tmp_path / "noise.pgm"
    pgm.write_bytes(b"P5\n40 33\n255\n" + rng.randint(0, 256, (33, 40), np.uint8).tobytes())
    prefix = models["binary_lenet"][1]
    out = tmp_path / "out.f32"
    flags = ["--mean", "0.1307", "--std", "0.3081", "--threads", "1"]
    ran = run_tool(bmx_run, prefix, pgm, "--output", out, *flags)
    assert ran.returncode == 0, ran.stderr
    expected = np.fromfile(out, "<f4")
    report = _report(exe, prefix, pgm, "--top", "10", "--runs", "1", "--warmup", "0", *flags)
    for c in report["output"]["top"][0]:
        assert np.float32(c["score"]) == expected[c["class"]], (c, expected)


def test_help(exe):
    proc = run_tool(exe, "--help")
    assert proc.returncode == 0
    for option in ("--threads", "--warmup", "--runs", "--min-seconds", "--profile", "--trace",
                   "--json", "--shape"):
        assert option in proc.stdout


@pytest.mark.parametrize("case, words", [
    (["{missing}"], ["cannot open", "-symbol.json"]),
    (["{lenet}", "--runs", "0"], ["--runs", "at least 1"]),
    (["{lenet}", "--shape", "1,3,32,32"], ["input shape 1,3,32,32", "failed"]),
    (["{lenet}", "--shape", "1,x"], ["bad --shape"]),
    (["{lenet}", "{short}"], ["short.f32 holds 12 bytes", "3136 bytes each"]),
    (["{lenet}", "{small_npy}"], ["small.npy", "(5, 5)", "(1, 1, 28, 28)"]),
    (["{lenet}", "{jpeg}"], ["jpeg.jpg is a jpeg image", "does not decode", ".npy"]),
    (["{trained}", "{short}"], ["read as raw float32", "records no input shape", "--shape"]),
    (["{lenet}", "--top", "0"], ["--top", "at least 1"]),
    (["{lenet}", "--mean", "x"], ["bad --mean"]),
    (["{trained}", "--shape", "1,1,28,28"], ["has not been converted", "model-converter"]),
    (["{trained}"], ["records no input shape", "--shape"]),
    (["{lenet}", "--bogus"], ["unknown option '--bogus'"]),
    (["{lenet}", "--min-seconds", "-1"], ["bad --min-seconds"]),
    (["{not_json}"], ["bad-symbol.json", "not valid JSON"]),
    (["{bad_shape}"], ["badshape-symbol.json", "bmx_input_shape '(1, x, 28)'", "not a shape"]),
])
def test_bad_input_gets_one_line_and_status_2(exe, models, tmp_path, case, words):
    short = tmp_path / "short.f32"
    short.write_bytes(b"\0" * 12)
    np.save(tmp_path / "small.npy", np.zeros((5, 5), np.float32))
    (tmp_path / "jpeg.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 60)
    lenet = models["binary_lenet"][1]
    shutil.copy(lenet + "-0000.params", tmp_path / "bad-0000.params")
    (tmp_path / "bad-symbol.json").write_text("not json")
    graph = json.loads(open(lenet + "-symbol.json").read())
    for node in graph["nodes"]:
        if node["name"] == "data":
            node["attrs"]["bmx_input_shape"] = "(1, x, 28)"
    (tmp_path / "badshape-symbol.json").write_text(json.dumps(graph))
    shutil.copy(lenet + "-0000.params", tmp_path / "badshape-0000.params")
    names = {"missing": tmp_path / "nothing", "lenet": lenet,
             "trained": models["binary_lenet"][0], "short": short,
             "small_npy": tmp_path / "small.npy", "jpeg": tmp_path / "jpeg.jpg",
             "not_json": tmp_path / "bad", "bad_shape": tmp_path / "badshape"}
    proc = run_tool(exe, *[a.format(**names) for a in case])
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bmx_benchmark: error:"), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert proc.stdout == ""

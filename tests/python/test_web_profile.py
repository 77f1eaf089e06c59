"""model.profile(input) of the WebAssembly runtime's JS API (build/web/bmxnet.mjs) under Node:
one row per planned step with the native runtime's node, op, kind, shape and MACs, times that
add up to the forward, the same output as predict(), and the runtime's sentence for a wrong
input; and bmx_benchmark built for Node (build/web/bmx_benchmark.js)."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from bmxnet import runtime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)

sys.path.pop(0)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(ROOT, "build", "web", "bmxnet.mjs")


@pytest.fixture(scope="module", autouse=True)
def web_module():
    if shutil.which("node") is None:
        pytest.skip("node is not installed (apt-get install -y nodejs): skipped")
    if not os.path.exists(MODULE):
        if shutil.which("em++") is None:
            pytest.skip("emscripten is not installed: build/web/bmxnet.mjs is not built")
        pytest.fail("build/web/bmxnet.mjs is missing: run `make web` (make test does)")


def test_profile_rows(tmp_path):
    case = runtime_golden.prepare("binary_lenet", str(tmp_path))
    proc = subprocess.run(["node", "--no-experimental-fetch",
                           os.path.join(ROOT, "tests", "web", "profile_model.mjs"), MODULE,
                           case.symbol_file, case.params_file, ",".join(map(str, case.x.shape)),
                           "20"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["sameOutput"]
    assert "floats" in r["wrongInput"] and r["wrongInput"].startswith("bmxnet: ")
    rows = r["rows"]
    assert [row["node"] for row in rows] == r["planNodes"]
    with runtime.Predictor((case.symbol_file, case.params_file), case.x.shape,
                           threads=1) as pred:
        native, _ = pred.profile(case.x)
    for js, cc in zip(rows, native):
        assert (js["node"], js["op"], js["kind"], js["outputShape"], js["binaryMacs"],
                js["floatMacs"]) == (cc["node"], cc["op"], cc["kind"], cc["output_shape"],
                                      cc["binary_macs"], cc["float_macs"])
        if js["kind"] == "binary":  # the SIMD128 kernels here, the CPU's natively
            assert js["kernel"].startswith("binary-wasm"), js
        assert js["seconds"] >= 0
    assert {"binary", "float"} <= {row["kind"] for row in rows}
    # Each forward's rows lie inside it; the best run's rows are within 5 % of it.
    for forward, total in zip(r["forwards"], r["sums"]):
        assert 0 < total <= forward
    assert max(total / forward for forward, total in zip(r["forwards"], r["sums"])) >= 0.95


def test_bmx_benchmark_under_node(tmp_path):
    exe = os.path.join(ROOT, "build", "web", "bmx_benchmark.js")
    if not os.path.exists(exe):
        pytest.fail("build/web/bmx_benchmark.js is missing: run `make web` (make test does)")
    case = runtime_golden.prepare("binary_lenet", str(tmp_path))
    prefix = case.symbol_file[:-len("-symbol.json")]
    shape = ",".join(map(str, case.x.shape))
    trace = tmp_path / "trace.json"
    node = ["node", "--no-experimental-fetch", exe, prefix, "--shape", shape]
    proc = subprocess.run(node + ["--profile", "--json", "--runs", "5", "--warmup", "2",
                                  "--trace", str(trace)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["isa"] == "wasm_simd128" and report["runs"] == 5
    assert report["peak_rss_bytes"] > report["arena_bytes"] > 0  # the WebAssembly memory
    steps = report["profile"]["steps"]
    assert {"binary", "float"} <= {row["kind"] for row in steps}
    events = json.loads(trace.read_text())["traceEvents"]
    assert sum(e.get("cat") == "forward" for e in events) == 5
    proc = subprocess.run(node + ["--runs", "0"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("bmx_benchmark: error: bad --runs"), lines

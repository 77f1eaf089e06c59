"""`bmxnet benchmark`: the runtime's report without importing MXNet, the runtime beside MXNet
and beside the float model with the ratios, a model that is not converted through MXNet alone,
and one line with status 2 for bad input."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)

sys.path.pop(0)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]

SHAPE = (1, 1, 28, 28)
# Prints, as the interpreter exits, whether mxnet was ever imported (as test_lazy_mxnet.py).
_REPORT = ("import atexit, sys\n"
           "atexit.register(lambda: print('MXNET_IMPORTED=%s' % ('mxnet' in sys.modules),"
           " file=sys.stderr))\n")


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """The zoo LeNet: (trained export, converted with its input shape recorded)."""
    from bmxnet.converter import convert

    work = str(tmp_path_factory.mktemp("lenet"))
    trained = runtime_golden._export_zoo_model("binary_lenet", work, 0)
    report = convert(f"{trained}-symbol.json", f"{trained}-0000.params", verbose=False,
                     input_shape=SHAPE)
    return trained, report.symbol_out[:-len("-symbol.json")]


def _bmxnet(*args):
    """`bmxnet ARGS` in a fresh interpreter: (process, whether it imported mxnet)."""
    code = _REPORT + f"from bmxnet.cli import main\nsys.exit(main({json.dumps(list(args))}))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert "MXNET_IMPORTED=" in proc.stderr, proc.stderr
    return proc, "MXNET_IMPORTED=True" in proc.stderr


def test_runtime_report_without_mxnet(lenet):
    proc, imported = _bmxnet("benchmark", str(lenet[1]), "--threads", "1", "--runs", "20",
                             "--min-seconds", "0", "--profile", "--json")
    assert proc.returncode == 0, proc.stderr
    assert not imported
    report = json.loads(proc.stdout)
    assert report["converted"] and report["input_shape"] == list(SHAPE)
    assert list(report["sides"]) == ["runtime"] and report["ratios"] == {}
    lat = report["sides"]["runtime"]["latency_seconds"]
    assert lat["runs"] >= 20 and 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["max"]
    prof = report["profile"]
    assert prof["runs"] == lat["runs"]
    kinds = {row["kind"] for row in prof["steps"]}
    assert {"binary", "float"} <= kinds
    assert sum(t["layers"] for t in prof["totals"].values()) == len(prof["steps"])
    binary = prof["totals"]["binary"]
    assert binary["macs_per_second"] == pytest.approx(binary["binary_macs"] / binary["seconds"])
    # The steps lie inside one predict call (input and output copies besides).
    assert 0 < prof["steps_seconds_sum"] <= lat["median"] * 1.05


def test_text_report(lenet):
    proc, imported = _bmxnet("benchmark", str(lenet[1]), "--runs", "5", "--min-seconds", "0",
                             "--profile")
    assert proc.returncode == 0, proc.stderr
    assert not imported
    for words in ("libbmx_runtime", "median ms", "p90 ms", "load ms", "peak memory:",
                  "per layer", "totals per kind:", "binary layers", "float layers",
                  "data movement", "layers sum"):
        assert words in proc.stdout, proc.stdout


def test_side_by_side_with_mxnet_and_the_float_model(lenet):
    trained, converted = lenet
    proc, imported = _bmxnet("benchmark", converted, "--mxnet", "--float", trained,
                             "--threads", "1", "--runs", "10", "--min-seconds", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    assert imported
    report = json.loads(proc.stdout)
    assert list(report["sides"]) == ["runtime", "mxnet", "float"]
    assert report["float_model"] == f"{trained}-symbol.json"
    for name in ("mxnet", "float"):
        ratio = report["ratios"][f"{name}/runtime"]
        side = report["sides"][name]["latency_seconds"]["median"]
        assert ratio == pytest.approx(side / report["sides"]["runtime"]["latency_seconds"]
                                      ["median"])
        assert ratio > 0
    proc, _ = _bmxnet("benchmark", converted, "--mxnet", "--runs", "5", "--min-seconds", "0")
    assert proc.returncode == 0, proc.stderr
    assert "MXNet + bmx_ ops" in proc.stdout
    assert "x slower" in proc.stdout or "x faster" in proc.stdout


def test_ratio_words():
    from bmxnet.benchmark import _ratio_words

    assert _ratio_words(2.1) == "2.10x slower" and _ratio_words(0.4) == "2.50x faster"


def test_a_model_that_is_not_converted_runs_through_mxnet(lenet):
    trained, _ = lenet
    proc, imported = _bmxnet("benchmark", trained, "--input-shape", "1,1,28,28", "--runs", "5",
                             "--min-seconds", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert not report["converted"] and list(report["sides"]) == ["mxnet"]
    assert imported


@pytest.mark.parametrize("case, words", [
    (["{missing}"], ["nothing", "benchmark: error"]),
    (["{converted}", "--runs", "0"], ["--runs", "expected"]),
    (["{converted}", "--input-shape", "1,3,32,32"], ["1, 3, 32, 32"]),
    (["{trained}"], ["does not record its input shape", "--input-shape"]),
    (["{converted}", "--min-seconds", "soon"], ["--min-seconds"]),
])
def test_bad_input_gets_one_line_and_status_2(lenet, tmp_path, case, words):
    names = {"missing": tmp_path / "nothing", "trained": lenet[0], "converted": lenet[1]}
    proc, _ = _bmxnet("benchmark", *[a.format(**names) for a in case])
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines()
             if line.strip() and not line.startswith("MXNET_IMPORTED=")]
    assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in proc.stderr, lines
    for word in words:
        assert word in lines[0], lines[0]

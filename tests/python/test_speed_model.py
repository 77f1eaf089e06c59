"""bmxnet.speed_model: the cost arithmetic on a hand-made plan, the float twin it derives
against the real twin's plan (LeNet), the calibration's graphs in the runtime, the predicted
and measured speed-up in `bmxnet benchmark --float-twin`, and `model-converter
--expect-speedup` (with the user's mistake: a model without its input shape)."""
import json
import math
import os
import subprocess
import sys

import pytest

from bmxnet import speed_model as sm

SHAPE = (1, 1, 28, 28)
TP = sm.Throughputs(macs_per_second={("binary", "conv"): 1e12, ("binary", "dense"): 5e11,
                                     ("float", "conv"): 1e11, ("float", "dense"): 1e10},
                    seconds_per_element=1e-9, seconds_per_step=1e-6, source="test table")


def _tiny():
    """A plan and graph: float conv, fused relu, pooling, binary conv with a residual add,
    binary dense."""
    graph = {"nodes": [{"op": "null", "name": "data"},
                       {"op": "Convolution", "name": "c0", "attrs": {"kernel": "(3, 3)"}},
                       {"op": "Activation", "name": "r0"},
                       {"op": "Pooling", "name": "p0"},
                       {"op": "bmx_binary_conv2d", "name": "b1",
                        "attrs": {"kernel": "(3, 3)", "add_residual": "True"}},
                       {"op": "bmx_binary_dense", "name": "d1"}]}
    plan = {"nodes": [
        dict(name="c0", op="Convolution", kernel="float-xnnpack", output_shape=[1, 8, 4, 4],
             macs=2_000_000),
        dict(name="r0", op="Activation", kernel="fused", output_shape=[1, 8, 4, 4], macs=0),
        dict(name="p0", op="Pooling", kernel="float-xnnpack", output_shape=[1, 8, 2, 2],
             macs=500),
        dict(name="b1", op="bmx_binary_conv2d", kernel="binary-avx2",
             output_shape=[1, 8, 2, 2], macs=30_000_000),
        dict(name="d1", op="bmx_binary_dense", kernel="binary-avx2", output_shape=[1, 10],
             macs=5_000_000)]}
    return plan, graph


def test_steps_and_twin_of_a_tiny_plan():
    steps = sm.plan_steps(*_tiny())
    assert [(s.kind, s.cls, s.fused, s.residual) for s in steps] == [
        ("float", "conv", False, False), ("other", "", True, False), ("other", "", False, False),
        ("binary", "conv", False, True), ("binary", "dense", False, False)]
    assert [s.elements for s in steps] == [128, 128, 32, 32, 10]
    twin = sm.float_twin_steps(steps)
    assert [(s.name, s.kind, s.cls, s.macs) for s in twin] == [
        ("c0", "float", "conv", 2_000_000), ("r0", "other", "", 0), ("p0", "other", "", 500),
        ("b1", "float", "conv", 30_000_000), ("b1/add", "other", "", 0),
        ("d1", "float", "dense", 5_000_000)]


def test_cost_arithmetic_of_a_tiny_plan():
    e = sm.expect(sm.plan_steps(*_tiny()), TP)
    step = 1e-6
    c0 = step + 2e6 / 1e11
    p0 = step + 500 * 1e-9  # pooling: its MACs (500) exceed its output elements (32)
    binary = c0 + p0 + (step + 30e6 / 1e12) + (step + 5e6 / 5e11)
    twin = c0 + p0 + (step + 30e6 / 1e11) + (step + 32e-9) + (step + 5e6 / 1e10)
    assert math.isclose(e.binary_seconds, binary) and math.isclose(e.twin_seconds, twin)
    assert math.isclose(e.speedup, twin / binary)
    assert e.binary_macs == 35_000_000 and e.float_macs == 2_000_000
    assert math.isclose(e.binary_mac_share, 35 / 37)
    assert [name for name, _, _ in e.layers] == ["c0", "r0", "p0", "b1", "d1"]
    assert e.layers[1][1:] == (0.0, 0.0)  # fused: free on both sides
    text = e.format()
    assert "Binary MACs: 94.6%" in text and f"{e.speedup:.1f}x" in text and "test table" in text


@pytest.fixture(scope="module")
def lenet_pair(tmp_path_factory, runtime_library):
    """The zoo LeNet and its float twin (bits=32, bits_a=32), exported and converted."""
    import mxnet as mx

    from bmxnet import model_zoo
    from bmxnet.converter import convert

    work = str(tmp_path_factory.mktemp("lenet_pair"))
    out = []
    for suffix, options in (("", {}), ("_float_twin", dict(bits=32, bits_a=32))):
        mx.random.seed(0)
        net = model_zoo.get_model("binary_lenet", **options)
        net.initialize(mx.init.Xavier())
        x = mx.nd.random.uniform(-1, 1, SHAPE)
        net(x)
        net.hybridize()
        net(x)
        prefix = os.path.join(work, "lenet" + suffix)
        net.export(prefix)
        report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False,
                         input_shape=SHAPE)
        out.append(report.symbol_out[:-len("-symbol.json")])
    return tuple(out) + (work,)


def _steps(prefix):
    from bmxnet import runtime

    with runtime.Predictor(prefix, SHAPE, threads=1) as pred, open(pred.symbol_file) as f:
        return sm.plan_steps(pred.plan, json.load(f))


def test_derived_twin_is_the_real_twin(lenet_pair):
    """The twin the model derives from the converted LeNet has the real twin's layers: the
    same float MACs per layer, and no binary layer."""
    binary, twin, _ = lenet_pair
    derived = sm.float_twin_steps(_steps(binary))
    real = _steps(twin)
    assert [(s.name, s.kind, s.cls, s.macs, s.elements) for s in derived] == [
        (s.name, s.kind, s.cls, s.macs, s.elements) for s in real]
    assert not any(s.kind == "binary" for s in real)
    # the converted model's binary MACs are the twin's float MACs of the same layers
    e = sm.expect(_steps(binary), sm.STATED)
    assert e.binary_macs == sum(s.macs for s in real if s.kind == "float") - e.float_macs
    assert e.binary_mac_share > 0.9


def test_calibration_measures_each_class(runtime_library):
    tp = sm.calibrate(seconds=0.05)
    assert set(tp.macs_per_second) == set(sm.STATED.macs_per_second)
    assert all(v > 0 and math.isfinite(v) for v in tp.macs_per_second.values())
    assert "calibrated on this machine" in tp.source


def test_benchmark_sets_predicted_beside_measured(lenet_pair):
    """The 30% check's figures for LeNet: both sides through the runtime, the prediction from
    the stated table, `off` the prediction's relative error (no bound on timings here)."""
    from bmxnet import benchmark

    binary, twin, _ = lenet_pair
    report = benchmark.benchmark(binary, threads=1, runs=10, min_seconds=0, float_twin=twin,
                                 calibrate=False)
    assert list(report["sides"]) == ["runtime", "float_twin"]
    s = report["speedup"]
    assert s["measured"] == report["ratios"]["float_twin/runtime"] > 0
    assert math.isclose(s["predicted"], sm.expect_model(binary, SHAPE).speedup)
    assert math.isclose(s["off"], s["predicted"] / s["measured"] - 1)
    assert s["throughputs"] == sm.STATED.source
    text = benchmark.format_report(report)
    assert f"predicted {s['predicted']:.1f}, measured {s['measured']:.1f}" in text


def test_benchmark_twin_of_an_unconverted_model_is_one_line(lenet_pair):
    _, twin, work = lenet_pair
    proc = subprocess.run(
        [sys.executable, "-m", "bmxnet.cli", "benchmark", os.path.join(work, "lenet"),
         "--float-twin", twin], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not converted" in proc.stderr


def test_benchmark_twin_with_binary_layers_is_one_line(lenet_pair):
    """The user's mistake: the converted model given as its own float twin."""
    binary, _, _ = lenet_pair
    proc = subprocess.run(
        [sys.executable, "-m", "bmxnet.cli", "benchmark", binary, "--float-twin", binary],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no float twin" in proc.stderr


def _converter(*args):
    return subprocess.run([sys.executable, "-m", "bmxnet.converter", *args],
                          capture_output=True, text=True, timeout=300)


def test_converter_expect_speedup(lenet_pair, tmp_path):
    *_, work = lenet_pair
    proc = _converter(os.path.join(work, "lenet-0000.params"), "-o", str(tmp_path / "out"),
                      "--input-shape", "1,1,28,28", "--expect-speedup")
    assert proc.returncode == 0, proc.stderr
    assert "Binary MACs: 9" in proc.stdout
    assert "Expected speed-up over the float twin" in proc.stdout
    assert sm.STATED.source in proc.stdout


def test_converter_expect_speedup_without_input_shape(tmp_path):
    """The user's mistake: --expect-speedup on a model exported without its input shape."""
    import mxnet as mx

    from bmxnet import model_zoo

    net = model_zoo.get_model("binary_lenet")
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.zeros(SHAPE))
    net.export(str(tmp_path / "plain"))
    proc = _converter(str(tmp_path / "plain-0000.params"), "--expect-speedup", "-q")
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "--input-shape" in proc.stderr

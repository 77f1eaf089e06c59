"""The WebAssembly runtime (build/web/bmxnet.mjs, `make web`) under Node against the x86-64
runtime (bmxnet.runtime.Predictor) on the same converted files, through the JS API.

Binary layers alone (integer outputs): exactly equal. Whole models (float stem, BatchNorm,
dense head): every value within 1e-4 of the largest |output| and the same top-1 class, as the
native runtime is held to against MXNet. Plus the JS API's contract: errors carry the
runtime's message, and load/predict/dispose cycles do not leak WebAssembly heap.
"""
import json
import os
import shutil
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet
from bmxnet import nn as qnn
from bmxnet import runtime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)

sys.path.pop(0)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(ROOT, "build", "web", "bmxnet.mjs")
NODE = ["node", "--no-experimental-fetch"]


@pytest.fixture(scope="module", autouse=True)
def web_module():
    if shutil.which("node") is None:
        pytest.skip("node is not installed (apt-get install -y nodejs): the WebAssembly "
                    "runtime's Node tests are skipped")
    if not os.path.exists(MODULE):
        if shutil.which("em++") is None:
            pytest.skip("emscripten is not installed (apt-get install -y emscripten node-acorn): "
                        "build/web/bmxnet.mjs is not built and its tests are skipped")
        pytest.fail("build/web/bmxnet.mjs is missing: run `make web` (make test does)")
    try:
        bmxnet.runtime_library_path()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    return MODULE


def run_wasm(symbol, params, x, tmp_path):
    """The WebAssembly runtime's output for x, and the plan facts it printed."""
    inp, out = tmp_path / "in.f32", tmp_path / "out.f32"
    np.ascontiguousarray(x, dtype="<f4").tofile(inp)
    proc = subprocess.run(NODE + [os.path.join(ROOT, "tests", "web", "run_model.mjs"), MODULE,
                                  symbol, params, ",".join(map(str, x.shape)), str(inp), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    y = np.fromfile(out, dtype="<f4").reshape(info["outputShape"])
    return y, info


def run_native(symbol, params, x):
    with runtime.Predictor((symbol, params), x.shape, threads=1) as pred:
        return pred.predict(x)



# in, out, kernel, stride, padding, groups, pad_value, size: edge channel counts and padding
BINARY_CONVS = [
    (3, 8, 3, 1, 1, 1, -1, 9),
    (31, 33, 3, 1, 1, 1, 1, 8),
    (65, 64, 3, 2, 1, 1, 0, 9),
    (70, 66, 3, 1, 1, 2, 1, 7),
    (256, 256, 3, 1, 1, 1, -1, 4),
]


@pytest.mark.parametrize("case", BINARY_CONVS, ids=lambda c: "-".join(map(str, c)))
def test_binary_conv_alone_is_exact(tmp_path, case):
    cin, cout, kernel, stride, padding, groups, pad_value, size = case
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(cout, kernel, strides=stride, padding=padding, groups=groups,
                        use_bias=False, in_channels=cin, pad_value=pad_value))
    x = np.random.RandomState(1).randn(2, cin, size, size).astype(np.float32)
    x.flat[::11] = 0.0  # sign(0) = +1
    symbol, params = runtime_golden.export_converted(net, mx.nd.array(x), str(tmp_path), seed=3)
    actual, info = run_wasm(symbol, params, x, tmp_path)
    assert info["isa"] == "wasm_simd128"
    np.testing.assert_array_equal(actual, run_native(symbol, params, x))


def test_binary_dense_alone_is_exact(tmp_path):
    net = nn.HybridSequential()
    net.add(qnn.QDense(33, use_bias=False, in_units=257))
    x = np.random.RandomState(2).randn(3, 257).astype(np.float32)
    symbol, params = runtime_golden.export_converted(net, mx.nd.array(x), str(tmp_path), seed=4)
    actual, _ = run_wasm(symbol, params, x, tmp_path)
    np.testing.assert_array_equal(actual, run_native(symbol, params, x))


@pytest.mark.parametrize("name", ["mnist_lenet", "binary_lenet", "binary_resnet18_v1"])
def test_model_matches_native_runtime(tmp_path, name):
    case = runtime_golden.prepare(name, str(tmp_path))
    expected = run_native(case.symbol_file, case.params_file, case.x)
    actual, info = run_wasm(case.symbol_file, case.params_file, case.x, tmp_path)
    assert info["floatBackend"] == "portable"
    runtime_golden.assert_equivalent(actual, expected)


def test_js_api_contract(tmp_path):
    case = runtime_golden.prepare("binary_lenet", str(tmp_path))
    proc = subprocess.run(NODE + [os.path.join(ROOT, "tests", "web", "api_contract.mjs"), MODULE,
                                  case.symbol_file, case.params_file,
                                  ",".join(map(str, case.x.shape))],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ["badJson", "badParams", "unsupportedOp", "badShape", "notBytes", "wrongLength",
                "notFloat32", "afterDispose"]:
        assert r[key] is not None, f"{key}: no error was raised"
        assert r[key]["isError"], f"{key}: not an Error: {r[key]}"
        assert r[key]["message"].startswith("bmxnet: "), r[key]
    assert "NoSuchOperator" in r["unsupportedOp"]["message"]
    assert "json" in r["badJson"]["message"].lower()
    assert "params" in r["badParams"]["message"].lower()
    assert f"{int(np.prod(case.x.shape)) + 1} floats" in r["wrongLength"]["message"]
    assert r["repeatable"]
    heap = r["heapInUse"]
    assert len(heap) == 50 and len(set(heap)) == 1, f"heap in use changed across cycles: {heap}"


def test_refused_and_padded_loads_do_not_grow_memory(tmp_path):
    """WebAssembly memory never shrinks: LeNet refused for a 20000x20000 input (planned before
    anything is allocated) and a symbol padded with 50 MB of spaces (collapsed before it is
    copied into the heap) leave it within a few MB of where it was."""
    case = runtime_golden.prepare("binary_lenet", str(tmp_path))
    proc = subprocess.run(NODE + [os.path.join(ROOT, "tests", "web", "memory_growth.mjs"), MODULE,
                                  case.symbol_file, case.params_file,
                                  ",".join(map(str, case.x.shape)), "1,1,20000,20000"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["hugeError"] is not None and r["hugeError"].startswith("bmxnet: "), r
    assert "(1, 64, 20000, 20000)" in r["hugeError"], r["hugeError"]
    grown = 16 * 1024 * 1024
    assert r["afterHuge"] - r["start"] <= grown, r
    assert r["afterPadded"] - r["start"] <= grown, r

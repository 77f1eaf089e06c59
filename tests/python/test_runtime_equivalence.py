"""libbmx_runtime against MXNet + the bmx_ ops on the same converted files (DESIGN.md).

Every zoo model (random weights, non-trivial BatchNorm) and the MNIST example's LeNet are
converted (tests/runtime_golden.py) and run through MXNet and through the runtime: from Python
(bmxnet.runtime.Predictor) and once from C (bmx_run, bmx_predict_runtime). Float layers: every
value within 1e-4 of the largest |output|, and the same top-1 class. Binary layers alone (no
bias, no BatchNorm: integer outputs): exactly equal.
"""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet
from bmxnet import deploy, runtime
from bmxnet import nn as qnn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)

sys.path.pop(0)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """name -> runtime_golden.Case, each model prepared once for the module."""
    prepared = {}

    def get(name):
        if name not in prepared:
            directory = tmp_path_factory.mktemp(name)
            prepared[name] = runtime_golden.prepare(name, str(directory))
        return prepared[name]
    return get



@pytest.mark.parametrize("name", runtime_golden.model_names())
def test_runtime_matches_mxnet(cases, name):
    case = cases(name)
    with runtime.Predictor((case.symbol_file, case.params_file), case.x.shape,
                           threads=1) as pred:
        assert pred.output_shape == case.expected.shape
        actual = pred.predict(case.x)
        plan = pred.plan
    runtime_golden.assert_equivalent(actual, case.expected)
    ops = [node["op"] for node in plan["nodes"]]
    assert "bmx_binary_conv2d" in ops
    assert plan["arena_bytes"] > 0 and plan["weight_bytes"] > 0


@pytest.mark.parametrize("name", ["mnist_lenet", "binary_resnete18"])
def test_c_programs_match_python(cases, name, tmp_path):
    """bmx_run and bmx_predict_runtime give the Python wrapper's outputs bit for bit."""
    case = cases(name)
    with runtime.Predictor((case.symbol_file, case.params_file), case.x.shape,
                           threads=1) as pred:
        from_python = pred.predict(case.x)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    try:
        from_predict = deploy.c_predict(case.symbol_file, case.params_file, case.x, top=3,
                                        runtime=True, env=env).outputs
        exe = deploy.find_exe("bmx_run")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    np.testing.assert_array_equal(from_predict, from_python)

    inp, out = tmp_path / "x.f32", tmp_path / "y.f32"
    case.x.astype("<f4").tofile(inp)
    proc = subprocess.run([exe, case.symbol_file, str(inp), "--shape",
                           ",".join(map(str, case.x.shape)), "--threads", "1",
                           "--output", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    from_run = np.fromfile(out, "<f4").reshape(from_python.shape)
    np.testing.assert_array_equal(from_run, from_python)
    top1 = int(from_python.reshape(-1).argmax())
    assert f"sample 0: top-5 classes {top1}(" in proc.stdout
    runtime_golden.assert_equivalent(from_run, case.expected)


# ---- binary layers alone: integer outputs, exactly equal -----------------------------------

BINARY_CONVS = [
    # in, out, kernel, stride, padding, dilation, groups, pad_value, size
    (3, 8, 3, 1, 1, 1, 1, -1, 9),
    (31, 33, 3, 1, 1, 1, 1, 1, 8),
    (32, 32, 3, 2, 1, 1, 1, 0, 9),
    (65, 64, 3, 1, 0, 1, 1, -1, 7),
    (64, 16, 1, 1, 0, 1, 1, 1, 6),
    (70, 66, 3, 2, 1, 1, 2, 0, 9),
    (128, 34, 3, 1, 2, 2, 2, 1, 10),
    (40, 40, 5, 1, 2, 1, 1, 0, 5),
    (256, 256, 3, 1, 1, 1, 1, -1, 4),
]



@pytest.mark.parametrize("case", BINARY_CONVS, ids=lambda c: "-".join(map(str, c)))
def test_binary_conv_alone_is_exact(tmp_path, case):
    cin, cout, kernel, stride, padding, dilation, groups, pad_value, size = case
    net = nn.HybridSequential()
    net.add(qnn.QConv2D(cout, kernel, strides=stride, padding=padding, dilation=dilation,
                        groups=groups, use_bias=False, in_channels=cin, pad_value=pad_value))
    x = np.random.RandomState(1).randn(2, cin, size, size).astype(np.float32)
    x.flat[::11] = 0.0  # sign(0) = +1
    symbol, params = runtime_golden.export_converted(net, mx.nd.array(x), str(tmp_path), seed=3)
    expected = runtime_golden.mxnet_output(symbol, params, x)
    with runtime.Predictor((symbol, params), x.shape) as pred:
        assert "bmx_binary_conv2d" in [n["op"] for n in pred.plan["nodes"]]
        actual = pred.predict(x)
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("in_units, units", [(1, 5), (31, 64), (32, 33), (257, 7)])
def test_binary_dense_alone_is_exact(tmp_path, in_units, units):
    net = nn.HybridSequential()
    net.add(qnn.QDense(units, use_bias=False, in_units=in_units))
    x = np.random.RandomState(2).randn(3, in_units).astype(np.float32)
    symbol, params = runtime_golden.export_converted(net, mx.nd.array(x), str(tmp_path), seed=4)
    expected = runtime_golden.mxnet_output(symbol, params, x)
    with runtime.Predictor((symbol, params), x.shape) as pred:
        actual = pred.predict(x)
    np.testing.assert_array_equal(actual, expected)


def test_batches_above_one_and_threads(cases):
    """A predictor planned for batch 4 gives each sample what batch 1 gives; 2 threads too."""
    case = cases("binary_resnet18_cifar")
    batch = np.random.RandomState(5).uniform(-1, 1, (4,) + case.x.shape[1:]).astype(np.float32)
    expected = runtime_golden.mxnet_output(case.symbol_file, case.params_file, batch)
    with runtime.Predictor((case.symbol_file, case.params_file), batch.shape, threads=2) as p4:
        runtime_golden.assert_equivalent(p4.predict(batch), expected)
    with runtime.Predictor((case.symbol_file, case.params_file), case.x.shape) as p1:
        p1.set_threads(1)
        for i in range(len(batch)):
            runtime_golden.assert_equivalent(p1.predict(batch[i:i + 1]), expected[i:i + 1])

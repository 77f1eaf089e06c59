"""Doubtful input bmxnet.runtime refuses with one sentence instead of guessing: non-integral
input dimensions, inputs that do not convert to float32 without loss, a 0-d input, a forward or
an output read out of order (C API), NaN or infinite weights, a negative batch norm variance or
eps."""
import ctypes
import re

import numpy as np
import pytest

from bmxnet import runtime
from tool_files import symbol_node as _node, write_model

pytestmark = pytest.mark.usefixtures("runtime_library")

SHAPE = (1, 1, 6, 6)


def _params():
    rng = np.random.RandomState(5)
    return {
        "arg:c_weight": rng.uniform(-1, 1, (2, 1, 3, 3)).astype(np.float32),
        "arg:c_bias": rng.uniform(-1, 1, (2,)).astype(np.float32),
        "arg:bn_gamma": rng.uniform(0.5, 1.5, (2,)).astype(np.float32),
        "arg:bn_beta": rng.uniform(-1, 1, (2,)).astype(np.float32),
        "aux:bn_moving_mean": rng.uniform(-1, 1, (2,)).astype(np.float32),
        "aux:bn_moving_var": rng.uniform(0.5, 1.5, (2,)).astype(np.float32),
        "arg:fc_weight": rng.uniform(-0.5, 0.5, (3, 2 * 4 * 4)).astype(np.float32),
        "arg:fc_bias": rng.uniform(-1, 1, (3,)).astype(np.float32),
    }


def _write(directory, params, eps="0.001"):
    """Convolution 3x3 -> BatchNorm -> FullyConnected 3; returns (symbol file, params file)."""
    nodes = [_node("null", "data"), _node("null", "c_weight"), _node("null", "c_bias"),
             _node("Convolution", "c", [0, 1, 2], {"kernel": "(3, 3)", "num_filter": "2"}),
             _node("null", "bn_gamma"), _node("null", "bn_beta"),
             _node("null", "bn_moving_mean"), _node("null", "bn_moving_var"),
             _node("BatchNorm", "bn", [3, 4, 5, 6, 7], {"eps": eps, "fix_gamma": "False"}),
             _node("null", "fc_weight"), _node("null", "fc_bias"),
             _node("FullyConnected", "fc", [8, 9, 10], {"num_hidden": "3"})]
    return write_model(directory, nodes, params)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _write(str(tmp_path_factory.mktemp("refusals")), _params())


@pytest.mark.parametrize("shape", [(1, 1, 6.5, 6), (1, 1, 6, "6"), (1, True, 6, 6)])
def test_non_integral_dimensions_are_refused(model, shape):
    with pytest.raises(ValueError, match=r"^input_shape must be a sequence of positive integers"):
        runtime.Predictor(model, input_shape=shape)


def test_integral_dimensions_of_any_type_are_taken(model):
    with runtime.Predictor(model, input_shape=(1, np.int64(1), 6.0, 6)) as pred:
        assert pred.input_shape == SHAPE


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_, np.float16, np.float64])
def test_real_dtypes_are_converted(model, dtype):
    x = (np.arange(np.prod(SHAPE)).reshape(SHAPE) % 2).astype(dtype)
    with runtime.Predictor(model, input_shape=SHAPE) as pred:
        np.testing.assert_array_equal(pred.predict(x), pred.predict(x.astype(np.float32)))


@pytest.mark.parametrize("x", [np.zeros(SHAPE, np.complex64), np.zeros(SHAPE, object),
                               np.full(SHAPE, "1"), np.zeros(SHAPE, "datetime64[s]")],
                         ids=["complex", "object", "str", "datetime"])
def test_lossy_dtypes_are_refused(model, x):
    with runtime.Predictor(model, input_shape=SHAPE) as pred:
        with pytest.raises(TypeError, match=r"^the input has dtype .*, which does not convert to "
                                            r"float32 without loss; give real numbers"):
            pred.predict(x)


def test_a_0d_input_is_reported_as_0d(model):
    with runtime.Predictor(model, input_shape=SHAPE) as pred:
        with pytest.raises(ValueError, match=r"^input has shape \(\), but this Predictor was "
                                             r"created for \(1, 1, 6, 6\)"):
            pred.predict(np.float32(1.0))


def test_call_order_is_enforced_by_the_c_api(model):
    lib = runtime.library()
    with runtime.Predictor(model, input_shape=SHAPE) as pred:
        handle = pred.clone()  # fresh buffers: nothing set, nothing computed
        h = handle._handle
        y = np.full(3, 7.0, np.float32)
        assert lib.BMXPredGetOutput(h, 0, y.ctypes.data, 3) == -1
        assert lib.BMXGetLastError() == (b"output 0 has not been computed: call BMXPredForward "
                                         b"before BMXPredGetOutput.")
        assert (y == 7.0).all()
        assert lib.BMXPredForward(h) == -1
        assert lib.BMXGetLastError() == (b"input 'data' has not been set: call BMXPredSetInput "
                                         b"for every input before BMXPredForward.")
        x = np.ones(SHAPE, np.float32)
        assert lib.BMXPredSetInput(h, b"data", x.ctypes.data, x.size) == 0
        assert lib.BMXPredForward(h) == 0
        assert lib.BMXPredGetOutput(h, 0, y.ctypes.data, 3) == 0
        np.testing.assert_array_equal(y, pred.predict(x)[0])
        handle.close()


@pytest.mark.parametrize("key, value, message", [
    ("arg:c_weight", np.nan, "node 'c' (Convolution): its weight 'c_weight' holds NaN"),
    ("arg:fc_bias", np.inf, "node 'fc' (FullyConnected): its bias 'fc_bias' holds an infinity"),
    ("arg:bn_gamma", -np.inf, "its gamma 'bn_gamma' holds an infinity"),
    ("aux:bn_moving_var", -0.5, "its moving_var 'bn_moving_var' is negative"),
])
def test_bad_weights_are_refused_at_load(tmp_path, key, value, message):
    params = _params()
    params[key].flat[1] = value
    files = _write(str(tmp_path), params)
    with pytest.raises(runtime.BMXRuntimeError, match=re.escape(message)):
        runtime.Predictor(files, input_shape=SHAPE)


def test_negative_eps_is_refused_at_load(tmp_path):
    files = _write(str(tmp_path), _params(), eps="-1e-3")
    with pytest.raises(runtime.BMXRuntimeError,
                       match=r"attribute 'eps' of node 'bn' \(BatchNorm\) is -0.001000, which "
                             r"must not be negative\.$"):
        runtime.Predictor(files, input_shape=SHAPE)


def test_memory_limit_is_settable(model):
    lib = runtime.library()
    lib.BMXSetMemoryLimit.restype, lib.BMXSetMemoryLimit.argtypes = ctypes.c_int, [ctypes.c_uint64]
    assert lib.BMXSetMemoryLimit(100) == 0
    try:
        with pytest.raises(runtime.BMXRuntimeError,
                           match=r"the plan for input 'data' of shape \(1, 1, 6, 6\) needs \d+ "
                                 r"bytes, more than the memory limit of 100 bytes"):
            runtime.Predictor(model, input_shape=SHAPE)
    finally:
        lib.BMXSetMemoryLimit(0)
    runtime.Predictor(model, input_shape=SHAPE).close()

"""The BMXNet v2 fork's op names registered by libbmxnet_ops.so (det_sign, approx_sign,
_contrib_gradcancel): forward values and gradients against their definitions, in NDArray and
in a symbol loaded from JSON written with those names."""
import json

import mxnet as mx
import numpy as np
import pytest

import bmxnet  # noqa: F401  (registers the ops)
from bmxnet import v2


def _x(n=301, seed=0):
    x = np.random.RandomState(seed).uniform(-2.5, 2.5, n).astype(np.float32)
    x[:5] = [0.0, -0.0, 1.0, -1.0, 0.5]
    return x


def _value_and_grad(fn, x):
    xs = mx.nd.array(x)
    xs.attach_grad()
    r = np.random.RandomState(1).uniform(0.5, 1.5, x.shape).astype(np.float32)
    with mx.autograd.record():
        y = fn(xs)
        loss = (y * mx.nd.array(r)).sum()
    loss.backward()
    return y.asnumpy(), xs.grad.asnumpy(), r


def _sign(x):
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


def test_det_sign():
    x = _x()
    y, g, r = _value_and_grad(mx.nd.det_sign, x)
    np.testing.assert_array_equal(y, _sign(x))
    np.testing.assert_array_equal(g, r)  # straight through, never cancelled


def test_approx_sign():
    x = _x()
    y, g, r = _value_and_grad(mx.nd.approx_sign, x)
    np.testing.assert_array_equal(y, _sign(x))
    inside = np.abs(x) <= 1
    np.testing.assert_allclose(g, r * (2 - 2 * np.abs(x)) * inside, rtol=1e-6, atol=1e-6)
    # bmxnet.v2.approx_sign has the fork's gradient; inside [-1, 1] the two agree
    _, g_v2, _ = _value_and_grad(v2.approx_sign, x)
    np.testing.assert_allclose(g_v2[inside], g[inside], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(g_v2, r * (2 - 2 * np.abs(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threshold", [0.01, 0.5, 1.0, 2.0])
def test_contrib_gradcancel(threshold):
    x = _x()
    y, g, r = _value_and_grad(lambda v: mx.nd.contrib.gradcancel(v, threshold=threshold), x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(g, r * (np.abs(x) <= threshold))
    # the same as bmxnet.v2.gradcancel
    y2, g2, _ = _value_and_grad(lambda v: v2.gradcancel(v, threshold=threshold), x)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(g2, g)


def test_contrib_gradcancel_refuses_a_threshold_that_is_not_positive():
    with pytest.raises(mx.MXNetError, match="threshold' must be > 0"):
        mx.nd.contrib.gradcancel(mx.nd.ones(3), threshold=0).asnumpy()


def test_a_graph_written_with_the_fork_op_names_loads_and_runs():
    nodes = [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "_contrib_gradcancel", "name": "gc", "attrs": {"threshold": "0.5"},
         "inputs": [[0, 0, 0]]},
        {"op": "det_sign", "name": "ds", "inputs": [[1, 0, 0]]},
        {"op": "approx_sign", "name": "as", "inputs": [[1, 0, 0]]},
        {"op": "elemwise_add", "name": "add", "inputs": [[2, 0, 0], [3, 0, 0]]},
    ]
    graph = {"nodes": nodes, "arg_nodes": [0], "node_row_ptr": list(range(len(nodes) + 1)),
             "heads": [[4, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}}
    sym = mx.sym.load_json(json.dumps(graph))
    x = _x(20)
    out = sym.eval(data=mx.nd.array(x))[0].asnumpy()
    np.testing.assert_array_equal(out, 2 * _sign(x))

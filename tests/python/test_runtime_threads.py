"""bmxnet.runtime.Predictor shared by threads: calls on one Predictor are serialized, so every
thread gets the output of its own input; clone() gives a Predictor that runs in parallel with
the same outputs; thread counts above the runtime's limit are clamped without starting threads
without bound; predictors with their own settings (isa, float_backend, threads) share a
process."""
import os
import threading

import numpy as np
import pytest

from bmxnet import runtime
from tool_files import symbol_node as _node, write_model

pytestmark = pytest.mark.usefixtures("runtime_library")

THREADS = 4
SHAPE = (1, 3, 12, 12)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small binary net: float convolution, binary convolution, float dense layer."""
    rng = np.random.RandomState(7)
    nodes = [_node("null", "data"), _node("null", "c0_weight"), _node("null", "c0_bias"),
             _node("Convolution", "c0", [0, 1, 2],
                   {"kernel": "(3, 3)", "pad": "(1, 1)", "num_filter": "32"}),
             _node("null", "bc_weight"),
             _node("bmx_binary_conv2d", "bc", [3, 4],
                   {"kernel": "(3, 3)", "pad": "(1, 1)", "num_filter": "32", "no_bias": "True"}),
             _node("null", "fc_weight"), _node("null", "fc_bias"),
             _node("FullyConnected", "fc", [5, 6, 7], {"num_hidden": "10"})]
    params = {
        "arg:c0_weight": rng.uniform(-1, 1, (32, 3, 3, 3)).astype(np.float32),
        "arg:c0_bias": rng.uniform(-1, 1, (32,)).astype(np.float32),
        "arg:bc_weight": rng.randint(-2 ** 31, 2 ** 31, (32, 3, 3, 1)).astype(np.int32),
        "arg:fc_weight": rng.uniform(-0.1, 0.1, (10, 32 * 12 * 12)).astype(np.float32),
        "arg:fc_bias": rng.uniform(-1, 1, (10,)).astype(np.float32),
    }
    return write_model(str(tmp_path_factory.mktemp("threads")), nodes, params)


def _inputs(count):
    rng = np.random.RandomState(11)
    return [rng.uniform(-1, 1, SHAPE).astype(np.float32) for _ in range(count)]


def _run_threads(target, count=THREADS):
    errors = []

    def guarded(t):
        try:
            target(t)
        except Exception as e:  # reported on the main thread
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in range(count)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]


def test_one_predictor_shared_by_threads(model):
    inputs = _inputs(THREADS)
    with runtime.Predictor(model, input_shape=SHAPE) as pred:
        expected = [pred.predict(x) for x in inputs]
        wrong = []

        def work(t):
            for i in range(100):
                which = (t + i) % THREADS  # every thread runs every input, in its own order
                y = pred.predict(inputs[which])
                if not np.array_equal(y, expected[which]):
                    wrong.append((t, i))

        _run_threads(work)
        assert not wrong, f"{len(wrong)} outputs differ from the single-thread run"


def test_clones_run_in_parallel(model):
    inputs = _inputs(THREADS)
    pred = runtime.Predictor(model, input_shape=SHAPE, threads=1)
    expected = [pred.predict(x) for x in inputs]
    clones = [pred.clone() for _ in range(THREADS)]
    pred.close()  # the clones outlive the predictor they came from
    wrong = []

    def work(t):
        for i in range(50):
            which = (t + i) % THREADS
            if not np.array_equal(clones[t].predict(inputs[which]), expected[which]):
                wrong.append((t, i))

    _run_threads(work)
    assert not wrong, f"{len(wrong)} outputs of clones differ from the single-thread run"
    assert clones[0].input_shape == SHAPE and clones[0].output_shape == (1, 10)
    assert clones[0].plan["nodes"]
    for c in clones:
        c.close()
    with pytest.raises(ValueError, match="closed"):
        pred.clone()


def _process_threads():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_huge_thread_counts_are_clamped(model):
    x = _inputs(1)[0]
    limit = max(64, os.cpu_count() or 1)
    with runtime.Predictor(model, input_shape=SHAPE) as pred:
        expected = pred.predict(x)
        for n in (2 ** 31 - 1, 100000, 10 ** 12):
            pred.set_threads(n)
            np.testing.assert_array_equal(pred.predict(x), expected)
            threads = _process_threads()
            assert threads is not None and threads <= 3 * limit + 64, (n, threads)
        with pytest.raises(ValueError, match="positive integer"):
            pred.set_threads(0)


def test_predictors_with_their_own_settings(model):
    """Two predictors with different instruction sets, float backends and thread counts in one
    process: each reports and runs its own, together on two threads; closing them gives their
    threads back."""
    x = _inputs(1)[0]
    before = _process_threads()
    a = runtime.Predictor(model, input_shape=SHAPE, threads=2, isa="portable",
                          float_backend="portable")
    b = runtime.Predictor(model, input_shape=SHAPE, threads=1, isa="best",
                          float_backend="reference")
    try:
        assert (a.plan["isa"], a.plan["float_backend"]) == ("portable", "portable")
        assert b.plan["float_backend"] == "reference"
        assert {n["kernel"] for n in a.plan["nodes"] if n["op"] == "Convolution"} == \
            {"float-portable"}
        ya, yb = a.predict(x), b.predict(x)
        np.testing.assert_allclose(ya, yb, rtol=1e-4, atol=1e-4 * float(np.abs(ya).max()))
        outs = {}

        def run(name, pred):
            outs[name] = [pred.predict(x) for _ in range(50)]

        threads = [threading.Thread(target=run, args=("a", a)),
                   threading.Thread(target=run, args=("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for y in outs["a"]:
            np.testing.assert_array_equal(y, ya)
        for y in outs["b"]:
            np.testing.assert_array_equal(y, yb)
        with a.clone() as twin:
            assert twin.plan["isa"] == "portable"
    finally:
        a.close()
        b.close()
    if before is not None:
        assert _process_threads() == before


def test_a_bad_setting_is_one_sentence(model):
    with pytest.raises(runtime.BMXRuntimeError, match="option isa=foo is unknown"):
        runtime.Predictor(model, input_shape=SHAPE, isa="foo")
    with pytest.raises(runtime.BMXRuntimeError, match="option float_backend=fast is unknown"):
        runtime.Predictor(model, input_shape=SHAPE, float_backend="fast")
    with pytest.raises(ValueError, match="must be a name"):
        runtime.Predictor(model, input_shape=SHAPE, isa="portable;threads=2")

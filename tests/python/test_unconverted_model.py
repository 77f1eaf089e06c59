"""A trained model given to the runtime before model-converter: bmx_run, `bmxnet predict
--runtime` and runtime.Predictor all say, in the runtime's one sentence, that the model has not
been converted and that model-converter comes first (the web page shows the same sentence: it
comes from the same C++ planner)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from bmxnet import deploy, runtime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)

sys.path.pop(0)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.usefixtures("runtime_library")]

SENTENCE = ("node 'binary_lenet_conv1_fwd' (Convolution): its weight is computed by the graph "
            "(a binary layer's sign), so this is a trained model that has not been converted; "
            "run model-converter on it first")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The zoo LeNet as training exports it (not converted), and one input sample (.npy)."""
    work = tmp_path_factory.mktemp("trained")
    prefix = runtime_golden._export_zoo_model("binary_lenet", str(work), 0)
    np.save(work / "x.npy", np.zeros((1, 28, 28), np.float32))
    return prefix, str(work / "x.npy")


def test_predictor_says_convert_first(trained):
    prefix, _ = trained
    with pytest.raises(runtime.BMXRuntimeError) as info:
        runtime.Predictor(prefix, (1, 1, 28, 28))
    assert SENTENCE in str(info.value)
    assert "not a computed value" not in str(info.value)


def test_cli_predict_runtime_says_convert_first(trained):
    prefix, x = trained
    proc = subprocess.run([sys.executable, "-m", "bmxnet.cli", "predict", "--runtime", prefix, x,
                           "--input-shape", "1,1,28,28"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bmxnet predict: error:"), proc.stderr
    assert SENTENCE in lines[0]


def test_bmx_run_says_convert_first(trained):
    prefix, x = trained
    try:
        exe = deploy.find_exe("bmx_run")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    proc = subprocess.run([exe, prefix, x], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bmx_run: error:"), proc.stderr
    assert SENTENCE in lines[0]

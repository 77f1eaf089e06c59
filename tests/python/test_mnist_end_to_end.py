"""The end-to-end bar on real data: a binary LeNet trained on the first 4,000 images of the bundled
MNIST sample reaches >= 95% on the last 1,000, and after conversion gives identical predictions
in the trained Gluon net, the converted model in Python, and the converted model from C."""
import os
import warnings

import mxnet as mx
import numpy as np
import pytest

import bmxnet
from bmxnet import converter, deploy
import example_scripts


@pytest.fixture(scope="module")
def trained(tmp_path_factory, root, mnist_dir):
    mnist = example_scripts.load("mnist")
    prefix = str(tmp_path_factory.mktemp("mnist") / "binary_lenet")
    args = mnist.parse_args(["--data-dir", mnist_dir, "--epochs", "3", "--prefix", prefix, "--val-count", "1000"])
    net, val_x, val_y, val_acc = mnist.train(args)
    return prefix, net, val_x, val_y, val_acc


def test_accuracy_at_least_95_percent(trained):
    _, _, val_x, _, val_acc = trained
    assert len(val_x) == 1000
    assert val_acc >= 0.95


def test_converted_model_predicts_identically_in_python_and_c(trained):
    prefix, net, val_x, _, _ = trained
    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    assert [layer.kind for layer in report.converted] == ["conv", "dense"]
    for layer in report.converted:
        assert layer.float_bytes == 32 * layer.packed_bytes
    out_prefix = os.path.join(os.path.dirname(prefix), "binarized_binary_lenet")
    params = mx.nd.load(f"{out_prefix}-0000.params")
    packed = [k for k, v in params.items() if v.dtype == np.int32]
    assert len(packed) == 2

    x = val_x[:500]
    expected = net(mx.nd.array(x)).asnumpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        converted = mx.gluon.SymbolBlock.imports(f"{out_prefix}-symbol.json", ["data"], f"{out_prefix}-0000.params")
    in_python = converted(mx.nd.array(x)).asnumpy()
    from_c = deploy.run_c_predict(out_prefix, batch=x)
    scale = np.maximum(np.abs(expected), 1.0)
    for got in (in_python, from_c):
        np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
        assert np.max(np.abs(got - expected) / scale) <= 1e-5

"""Data-parallel training on several devices (--ctx / --gpus): two CPU contexts stand in for
two GPUs; MXNet runs them as two devices with their own parameter copies and a kvstore that
combines the gradients, as it does for GPUs."""
import argparse
import json
import os
import subprocess
import sys
import warnings

import mxnet as mx
import numpy as np
import pytest

from bmxnet import converter, training
from bmxnet.nn import QConv2D, QDense
import example_scripts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TWO = [mx.cpu(0), mx.cpu(1)]


def _mnist():
    return example_scripts.load("mnist")


def _per_sample_binary_net():
    """A small binary network whose normalization is per sample (LayerNorm), not per batch."""
    from mxnet.gluon import nn

    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(8, kernel_size=3, padding=1), nn.LayerNorm(axis=1),
                nn.MaxPool2D(2, 2),
                QConv2D(16, kernel_size=3, padding=1), nn.LayerNorm(axis=1),
                nn.MaxPool2D(2, 2), nn.Flatten(),
                QDense(32), nn.LayerNorm(), nn.Dense(10))
    return net


def _fit(ctxs, save_dir, x, y, init_params):
    args = training.parse_args(training.add_arguments(argparse.ArgumentParser()),
                               ["--epochs", "4", "--batch-size", "32", "--lr", "2e-3",
                                "--save-dir", save_dir])
    net = _per_sample_binary_net()
    net.load_parameters(init_params, ctx=ctxs)
    train = training.ArrayBatches(x[:65], y[:65], 32, shuffle=True, seed=0)
    val = training.ArrayBatches(x[65:], y[65:], 32)
    history = training.fit(net, train, val, args, name="net", ctx=ctxs,
                           kvstore=training.create_kvstore("device"))
    return history, net


def test_two_devices_follow_the_loss_curve_of_one(tmp_path):
    """The same global batches on cpu:0,cpu:1 and on cpu:0 give the same loss curve.

    Each device computes the forward and backward pass of its half of the batch and the
    kvstore sums the gradients, so the update equals the one-device update up to the order of
    float additions, provided every sample's output does not depend on the other samples of
    its batch. BatchNorm in training mode breaks that on purpose (its batch statistics are
    per device, as in gluon-cv: two half batches normalize differently from the whole), so the
    network here normalizes per sample (LayerNorm) and the comparison is exact up to float
    rounding. 65 training samples in batches of 32 make the last batch one sample, fewer than
    the devices: the second device then gets a weight-0 copy and must change nothing."""
    x, y = training.dummy_arrays(130, (1, 28, 28), 10, seed=0)
    mx.random.seed(0)
    net = _per_sample_binary_net()
    net.initialize(mx.init.Xavier(magnitude=2.0))
    net(mx.nd.array(x[:2]))
    init = str(tmp_path / "init.params")
    net.save_parameters(init)

    one, net1 = _fit([mx.cpu(0)], str(tmp_path / "one"), x, y, init)
    two, net2 = _fit(TWO, str(tmp_path / "two"), x, y, init)
    assert len(one.rows) == len(two.rows) == 4
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        np.testing.assert_allclose([r[key] for r in two.rows], [r[key] for r in one.rows],
                                   rtol=1e-5, err_msg=key)
    assert one.rows[-1]["train_loss"] < one.rows[0]["train_loss"]  # it did learn
    for name, param in net2.collect_params().items():
        first, second = [d.asnumpy() for d in param.list_data()]
        np.testing.assert_array_equal(first, second, err_msg=name)  # one update, both copies
        np.testing.assert_allclose(first, net1.collect_params()[name].data().asnumpy(),
                                   rtol=1e-4, atol=1e-6, err_msg=name)


def test_two_devices_checkpoint_resume_and_export(tmp_path, mnist_dir):
    """binary_lenet (with BatchNorm) on cpu:0,cpu:1 through the MNIST script: checkpoints,
    --resume onto both devices, and an export that converts and predicts as the trained net
    does on either device (the running statistics are averaged over the devices every epoch,
    so both devices hold the network that was saved)."""
    mnist = _mnist()
    out = tmp_path / "out"
    argv = ["--data-dir", mnist_dir, "--train-count", "200", "--val-count", "100",
            "--batch-size", "48", "--ctx", "cpu:0,cpu:1", "--prefix", str(out / "lenet")]
    net, val_x, _, _ = mnist.train(mnist.parse_args(argv + ["--epochs", "1"]))
    assert (out / "lenet-epoch0001.params").is_file()
    net, val_x, val_y, val_acc = mnist.train(mnist.parse_args(argv + ["--epochs", "2",
                                                                      "--resume", str(out)]))
    assert [r["epoch"] for r in json.load(open(out / "lenet-epoch0002.json"))["history"]] == [1, 2]

    saved = mx.nd.load(str(out / "lenet-epoch0002.params"))
    params = net._collect_params_with_prefix()
    assert set(saved) == set(params)
    for name, param in params.items():
        assert param.list_ctx() == TWO, name
        first, second = [d.asnumpy() for d in param.list_data()]
        np.testing.assert_array_equal(first, second, err_msg=name)
        np.testing.assert_array_equal(saved[name].asnumpy(), first, err_msg=name)

    prefix = str(out / "lenet")
    report = converter.convert(prefix + "-symbol.json", prefix + "-0000.params", verbose=False)
    assert [layer.kind for layer in report.converted] == ["conv", "dense"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        converted = mx.gluon.SymbolBlock.imports(report.symbol_out, ["data"], report.params_out)
    got = converted(mx.nd.array(val_x)).asnumpy()
    for ctx in TWO:
        expected = net(mx.nd.array(val_x, ctx=ctx)).asnumpy()
        np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
        assert np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)) <= 1e-5
    assert (got.argmax(axis=1) == val_y).mean() == pytest.approx(val_acc)


# ------------------------------------------------------------------------------------------
# Flags
# ------------------------------------------------------------------------------------------

def _parse(argv):
    return training.parse_args(training.add_arguments(argparse.ArgumentParser(prog="train.py")),
                               argv)


def test_device_flags():
    assert training.contexts(_parse([])) == [mx.cpu(0)]
    assert training.contexts(_parse(["--ctx", "cpu:0,cpu:1"])) == TWO
    assert training.contexts(_parse(["--ctx", "cpu"])) == [mx.cpu(0)]
    assert training.contexts(["gpu:1", "cpu:0"]) == [mx.gpu(1), mx.cpu(0)]


def test_gpus_that_mxnet_has(monkeypatch):
    monkeypatch.setattr(training, "visible_gpus", lambda: 2)
    args = _parse(["--gpus", "0,1"])
    assert args.ctx == ["gpu:0", "gpu:1"]
    assert training.contexts(args) == [mx.gpu(0), mx.gpu(1)]
    assert training.contexts(_parse(["--ctx", "gpu:1"])) == [mx.gpu(1)]


@pytest.mark.parametrize("argv,gpus,expected", [
    (["--gpus", "0,2"], 2, "argument --gpus: no GPU 2: MXNet sees 2 GPUs (0..1)"),
    (["--ctx", "gpu:0,gpu:1"], 1, "argument --ctx: no GPU 1: MXNet sees 1 GPU (0..0)"),
    (["--ctx", "cpu:0,cpu:0"], 0, "argument --ctx: cpu:0 is listed twice"),
    (["--gpus", "1,1"], 2, "argument --gpus: gpu:1 is listed twice"),
    (["--ctx", "tpu:0"], 0, "argument --ctx: expected devices such as gpu:0,gpu:1"),
    (["--gpus", "x"], 0, "argument --gpus: expected comma-separated integers >= 0"),
    (["--gpus", ","], 0, "argument --gpus: expected at least one device"),
    (["--gpus", "0", "--ctx", "cpu:0"], 0, "argument --ctx: not allowed with argument --gpus"),
])
def test_bad_device_flags_are_one_line_and_exit_2(argv, gpus, expected, monkeypatch, capsys):
    monkeypatch.setattr(training, "visible_gpus", lambda: gpus)
    with pytest.raises(SystemExit) as exit_info:
        _parse(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err


@pytest.mark.skipif(training.visible_gpus() > 0, reason="this machine has a GPU")
def test_gpus_without_a_gpu_say_which_mxnet_to_install(tmp_path, capsys):
    """On a machine without a GPU, or with the CPU build of MXNet, --gpus 0 stops before
    training with one line that says what to install."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "mnist", "train.py"),
                           "--gpus", "0"], capture_output=True, text=True, cwd=str(tmp_path),
                          env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "train.py: error: argument --gpus: no GPU is visible to MXNet" in lines[0]
    if not training._built_with_cuda():
        assert f"pip install {training.CUDA_WHEEL} (in place of mxnet)" in lines[0]
        assert training.CUDA_WHEEL == "mxnet-cu112==" + mx.__version__
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written
    # --ctx gpu:0 alike
    with pytest.raises(SystemExit) as exit_info:
        _parse(["--ctx", "cpu:0,gpu:0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "argument --ctx: no GPU is visible to MXNet" in err

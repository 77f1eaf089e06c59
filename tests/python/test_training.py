"""bmxnet.training and the example scripts (examples/*/train.py) on tiny data."""
import csv
import json
import os
import pickle

import mxnet as mx
import numpy as np
import pytest

import bmxnet  # noqa: F401
from bmxnet import training
from example_scripts import load as _script

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))




def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------------------------------
# Pieces
# ------------------------------------------------------------------------------------------

def test_cosine_schedule_with_warmup():
    s = training.make_scheduler("cosine", 0.1, epochs=10, steps_per_epoch=10, warmup_epochs=2)
    assert s(0) == pytest.approx(0.0)
    assert s(10) == pytest.approx(0.05)       # half way through the warmup
    assert s(20) == pytest.approx(0.1)        # end of warmup: the base rate
    assert s(60) == pytest.approx(0.05, abs=1e-6)  # cosine half way: (1 + cos(pi/2)) / 2
    assert s(100) == pytest.approx(0.0, abs=1e-9)


def test_step_schedule():
    s = training.make_scheduler("step", 1.0, epochs=10, steps_per_epoch=5, lr_steps=[4, 8],
                                lr_factor=0.5)
    lrs = [s(i) for i in range(1, 51)]
    assert lrs[19] == 1.0 and lrs[20] == 0.5 and lrs[39] == 0.5 and lrs[40] == 0.25
    default = training.make_scheduler("step", 1.0, epochs=8, steps_per_epoch=1)
    assert [default(i) for i in (4, 5, 6, 7)] == pytest.approx([1.0, 0.1, 0.1, 0.01])
    with pytest.raises(ValueError, match="lr mode"):
        training.make_scheduler("poly", 1.0, 1, 1)


def test_radam_matches_its_definition():
    rng = np.random.RandomState(0)
    w0 = rng.randn(5).astype(np.float32)
    opt = mx.optimizer.create("radam", learning_rate=0.1, wd=0.01)
    weight, state = mx.nd.array(w0), None
    state = opt.create_state(0, weight)
    w, m, v = w0.astype(np.float64), np.zeros(5), np.zeros(5)
    b1, b2 = 0.9, 0.999
    rho_inf = 2 / (1 - b2) - 1
    for t in range(1, 9):
        g = rng.randn(5).astype(np.float32)
        opt.update(0, weight, mx.nd.array(g), state)
        g = g + 0.01 * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho > 4:
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            w = w - 0.1 * r * m_hat / (np.sqrt(v / (1 - b2 ** t)) + 1e-8)
        else:
            w = w - 0.1 * m_hat
        np.testing.assert_allclose(weight.asnumpy(), w, rtol=1e-4, atol=1e-6)


def test_array_batches_shards_and_augments():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.arange(10)
    calls = []

    def augment(batch, rng):
        calls.append(len(batch))
        return batch + 100

    parts = [training.ArrayBatches(x, y, 2, shuffle=True, augment=augment, part_index=i,
                                   num_parts=3) for i in range(3)]
    seen = [sorted(int(v) for xb, _ in p for v in xb.asnumpy().ravel()) for p in parts]
    assert [len(s) for s in seen] == [3, 3, 3] and [len(p) for p in parts] == [2, 2, 2]
    assert sorted(sum(seen, [])) == [100 + i for i in range(9)]  # disjoint, equal shards
    assert calls == [2, 1] * 3
    xb, yb = next(iter(training.ArrayBatches(x, y, 4)))
    np.testing.assert_array_equal(xb.asnumpy().ravel(), yb.asnumpy())


def test_quant_options_from_flags():
    import argparse
    p = training.add_arguments(argparse.ArgumentParser(), model="binary_lenet")
    args = p.parse_args(["--bits", "2", "--scaling", "xnor", "--pad-value", "1"])
    assert training.quant_options(args) == {"bits": 2, "scaling": "xnor", "pad_value": 1}
    assert training.quant_options(p.parse_args([])) == {}
    net = training.build_model(p.parse_args(["--bits-a", "4"]), classes=3)
    q = [b for b in net._children.values() if isinstance(b, bmxnet.nn.QConv2D)][0]
    assert q._bits_a == 4


# ------------------------------------------------------------------------------------------
# Scripts
# ------------------------------------------------------------------------------------------

def test_mnist_trains_checkpoints_exports_and_resumes(tmp_path, mnist_dir):
    mnist = _script("mnist")
    prefix = str(tmp_path / "out" / "lenet")
    argv = ["--data-dir", mnist_dir, "--train-count", "640", "--val-count", "200",
            "--batch-size", "32", "--prefix", prefix, "--keep-checkpoints", "1",
            "--save-dir", str(tmp_path / "out")]
    net, val_x, val_y, val_acc = mnist.train(mnist.parse_args(argv + ["--epochs", "2"]))
    assert val_x.shape == (200, 1, 28, 28) and val_x.dtype == np.float32 and len(val_y) == 200
    assert 0.3 < val_acc <= 1.0  # learns something from 640 images in 2 epochs
    assert mnist.evaluate(net, val_x, val_y) == pytest.approx(val_acc)
    out = tmp_path / "out"
    for name in ("lenet-symbol.json", "lenet-0000.params", "lenet-metrics.csv",
                 "lenet-curves.png", "lenet-epoch0002.params", "lenet-epoch0002.states",
                 "lenet-epoch0002.json"):
        assert (out / name).is_file(), name
    assert not (out / "lenet-epoch0001.params").exists()  # --keep-checkpoints 1
    assert (out / "lenet-curves.png").read_bytes()[:4] == b"\x89PNG"
    rows = _rows(out / "lenet-metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert float(rows[1]["val_acc"]) == pytest.approx(val_acc)

    # --resume continues at epoch 3 with the saved history
    _, _, _, acc3 = mnist.train(mnist.parse_args(argv + ["--epochs", "3", "--resume",
                                                         str(out)]))
    rows = _rows(out / "lenet-metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert json.load(open(out / "lenet-epoch0003.json"))["epoch"] == 3
    loaded = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"],
                                          prefix + "-0000.params")
    predictions = loaded(mx.nd.array(val_x)).argmax(axis=1).asnumpy()
    assert (predictions == val_y).mean() == pytest.approx(acc3)

    with pytest.raises(SystemExit) as exit_info:
        mnist.parse_args(argv + ["--resume", str(tmp_path / "nothing")])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("flags", [["--optimizer", "sgd", "--lr-mode", "step", "--lr", "0.05"],
                                   ["--optimizer", "radam", "--warmup-epochs", "0.5"],
                                   ["--bits", "2", "--bits-a", "2", "--scaling", "xnor"]])
def test_mnist_options_on_dummy_data(tmp_path, flags):
    mnist = _script("mnist")
    args = mnist.parse_args(["--dataset", "dummy", "--dummy-size", "64", "--epochs", "2",
                             "--batch-size", "32", "--prefix", str(tmp_path / "m")] + flags)
    net, _, _, acc = mnist.train(args)
    assert (tmp_path / "m-symbol.json").is_file()
    assert len(_rows(tmp_path / "m-metrics.csv")) == 2


def test_cifar10_reads_both_formats_and_trains(tmp_path, capsys):
    cifar = _script("cifar10")
    rng = np.random.RandomState(0)
    binary = tmp_path / "bin" / "cifar-10-batches-bin"
    python = tmp_path / "py" / "cifar-10-batches-py"
    binary.mkdir(parents=True)
    python.mkdir(parents=True)
    expected = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.randint(0, 10, 4).astype(np.uint8)
        pixels = rng.randint(0, 256, (4, 3072)).astype(np.uint8)
        np.concatenate([labels[:, None], pixels], axis=1).tofile(binary / (name + ".bin"))
        with open(python / name, "wb") as f:
            pickle.dump({b"data": pixels, b"labels": labels.tolist()}, f)
        expected[name] = (pixels, labels)
    for root in (tmp_path / "bin", tmp_path / "py"):
        data = cifar.load_cifar10(str(root))
        x, y = data["train"]
        assert x.shape == (20, 3, 32, 32) and x.dtype == np.float32
        np.testing.assert_array_equal(y[:4], expected["data_batch_1"][1])
        raw = expected["test_batch"][0].reshape(4, 3, 32, 32) / 255.0
        np.testing.assert_allclose(data["test"][0], (raw - cifar.MEAN) / cifar.STD, rtol=1e-5)
    with pytest.raises(FileNotFoundError, match="--dataset dummy"):
        cifar.load_cifar10(str(tmp_path))
    # Through the script's main: one line on stderr and exit status 2 (a usage error).
    assert cifar.main(["--data-dir", str(tmp_path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and "--dataset dummy" in err[0], err
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    out = cifar.crop_and_flip(x, np.random.RandomState(1), pad=1)
    assert out.shape == x.shape

    args = cifar.parse_args(["--data-dir", str(tmp_path / "bin"), "--model", "binary_lenet",
                             "--epochs", "1", "--batch-size", "8",
                             "--save-dir", str(tmp_path / "run")])
    cifar.train(args)
    assert (tmp_path / "run" / "binary_lenet-symbol.json").is_file()


def test_imagenet_from_recordio(tmp_path):
    cv2 = pytest.importorskip("cv2")  # noqa: F841  (mx.recordio.pack_img encodes with it)
    imagenet = _script("imagenet")
    rng = np.random.RandomState(0)
    for split in ("train", "val"):
        rec = mx.recordio.MXIndexedRecordIO(str(tmp_path / f"{split}.idx"),
                                            str(tmp_path / f"{split}.rec"), "w")
        for i in range(8):
            img = rng.randint(0, 256, (40, 48, 3)).astype(np.uint8)
            header = mx.recordio.IRHeader(0, float(i % 3), i, 0)
            rec.write_idx(i, mx.recordio.pack_img(header, img, quality=90, img_fmt=".jpg"))
        rec.close()
    args = imagenet.parse_args(["--data-dir", str(tmp_path), "--model", "binary_resnete18",
                                "--classes", "3", "--input-size", "32", "--batch-size", "4",
                                "--epochs", "1", "--num-data-workers", "0",
                                "--save-dir", str(tmp_path / "run")])
    history = imagenet.train(args)
    assert len(history.rows) == 1 and history.rows[0]["val_acc"] is not None
    assert (tmp_path / "run" / "binary_resnete18-0000.params").is_file()
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="im2rec"):
        imagenet.train(imagenet.parse_args(["--data-dir", str(tmp_path / "empty")]))


def test_imagenet_dummy_smoke(tmp_path):
    imagenet = _script("imagenet")
    args = imagenet.parse_args(["--dataset", "dummy", "--dummy-size", "8", "--input-size", "32",
                                "--classes", "4", "--batch-size", "4", "--epochs", "1",
                                "--save-dir", str(tmp_path)])
    imagenet.train(args)
    assert (tmp_path / "binary_resnet18_v1-symbol.json").is_file()


# ------------------------------------------------------------------------------------------
# What a newcomer runs: outputs where told, resume, bad flags, logs, help
# ------------------------------------------------------------------------------------------

DUMMY = ["--dataset", "dummy", "--dummy-size", "64", "--batch-size", "32"]


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_mnist_save_dir_gets_the_export_and_the_default_folder_is_untouched(tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    mnist = _script("mnist")
    assert mnist.main(DUMMY + ["--epochs", "1"]) == 0  # the README's first run: out/mnist
    first = _files(tmp_path / "out" / "mnist")
    assert "binary_lenet-symbol.json" in first and "binary_lenet-0000.params" in first
    # the distributed line's flag, run in the same folder: everything goes to out/mnist-dist
    assert mnist.main(DUMMY + ["--epochs", "1", "--seed", "1", "--save-dir",
                               "out/mnist-dist"]) == 0
    assert _files(tmp_path / "out" / "mnist") == first
    dist = _files(tmp_path / "out" / "mnist-dist")
    for name in ("binary_lenet-symbol.json", "binary_lenet-0000.params",
                 "binary_lenet-metrics.csv", "binary_lenet-epoch0001.params"):
        assert name in dist, name
    assert dist["binary_lenet-0000.params"] != first["binary_lenet-0000.params"]
    # --prefix alone: the export and the checkpoints go to its folder
    assert mnist.main(DUMMY + ["--epochs", "1", "--prefix", "elsewhere/net"]) == 0
    assert {"net-symbol.json", "net-0000.params", "net-epoch0001.params"} <= \
        set(_files(tmp_path / "elsewhere"))
    assert _files(tmp_path / "out" / "mnist") == first


def _symbol_ops(path):
    return [n["op"] for n in json.load(open(path))["nodes"]]


def test_resume_restores_the_recorded_architecture_or_names_the_flags_that_differ(
        tmp_path, capsys):
    mnist = _script("mnist")
    run = tmp_path / "run"
    base = DUMMY + ["--save-dir", str(run), "--prefix", str(run / "lenet")]
    mnist.train(mnist.parse_args(base + ["--epochs", "1", "--scaling", "xnor",
                                         "--pad-value", "0"]))
    trained_ops = _symbol_ops(run / "lenet-symbol.json")
    assert "abs" in trained_ops  # xnor scaling: mean(abs(w))
    # resumed without the flags: the checkpoint's are used, and said so
    args = mnist.parse_args(base + ["--epochs", "2", "--resume", str(run)])
    assert args.scaling == "xnor" and args.pad_value == 0
    assert "--scaling xnor" in capsys.readouterr().out
    mnist.train(args)
    assert _symbol_ops(run / "lenet-symbol.json") == trained_ops
    assert [r["epoch"] for r in _rows(run / "lenet-metrics.csv")] == ["1", "2"]
    # resumed with a different value: refused, the flag named, nothing trained
    for flags, named in ((["--pad-value", "1"], "--pad-value 1 (checkpoint: 0)"),
                         (["--scaling", "none", "--bits", "2"], "--scaling none (checkpoint: xnor)")):
        with pytest.raises(SystemExit) as exit_info:
            mnist.parse_args(base + ["--epochs", "3", "--resume", str(run)] + flags)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and named in err, err
    assert not (run / "lenet-epoch0003.params").exists()


BAD_FLAGS = [
    (["--epochs", "0"], "--epochs", ">= 1"),
    (["--epochs", "-1"], "--epochs", ">= 1"),
    (["--batch-size", "0"], "--batch-size", ">= 1"),
    (["--batch-size", "-5"], "--batch-size", ">= 1"),
    (["--bits", "0"], "--bits", "from 1 to 32"),
    (["--bits", "33"], "--bits", "from 1 to 32"),
    (["--bits-a", "-3"], "--bits-a", "from 1 to 32"),
    (["--lr", "-1"], "--lr", "> 0"),
    (["--clip-threshold", "-1"], "--clip-threshold", "> 0"),
    (["--kvstore", "foo"], "--kvstore", "dist_sync"),
    (["--model", "lenet"], "--model", "binary_lenet"),
    (["--data-dir", "no/such/folder"], "--data-dir", "--dataset dummy"),
    (["--momentum", "1.5"], "--momentum", "[0, 1)"),
    (["--lr-steps", "3,x"], "--lr-steps", "integers"),
]


@pytest.mark.parametrize("script", ["mnist", "cifar10", "imagenet"])
@pytest.mark.parametrize("flags,flag,allowed", BAD_FLAGS)
def test_bad_flag_values_are_one_line_and_exit_2(script, flags, flag, allowed, capsys):
    module = _script(script)
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"argument {flag}" in err and allowed in err, err


def test_bad_flag_from_the_command_line_has_no_traceback(tmp_path):
    import subprocess
    import sys

    script = os.path.join(ROOT, "examples", "mnist", "train.py")
    for flags in (["--batch-size", "0"], ["--bits", "33"]):
        proc = subprocess.run([sys.executable, script] + flags, capture_output=True, text=True,
                              cwd=str(tmp_path), timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert f"argument {flags[0]}" in proc.stderr
    # a data folder without the dataset: one sentence, exit 2
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "cifar10", "train.py"),
                           "--data-dir", str(tmp_path / "empty")], capture_output=True,
                          text=True, cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "--dataset dummy" in proc.stderr


def test_last_epoch_logs_the_rate_it_trained_with(tmp_path, capsys):
    mnist = _script("mnist")
    mnist.train(mnist.parse_args(DUMMY + ["--epochs", "2", "--prefix", str(tmp_path / "m")]))
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch ")]
    assert len(lines) == 2 and "lr 0.00e+00" not in lines[-1], lines
    rates = [float(r["lr"]) for r in _rows(tmp_path / "m-metrics.csv")]
    # cosine from 2e-3 over 4 updates: the epochs' means, the second smaller and not 0
    schedule = training.make_scheduler("cosine", 2e-3, 2, 2)
    assert rates == pytest.approx([(schedule(1) + schedule(2)) / 2,
                                   (schedule(3) + schedule(4)) / 2])
    assert 0 < rates[1] < rates[0]


@pytest.mark.parametrize("script", ["mnist", "cifar10", "imagenet"])
def test_help_keeps_the_usage_examples_on_their_own_lines(script, capsys):
    module = _script(script)
    with pytest.raises(SystemExit):
        module.parse_args(["--help"])
    out = capsys.readouterr().out
    example = f"    python examples/{script}/train.py"
    assert example in out and f"\n{example}" in out, out[:2000]


@pytest.mark.parametrize("script,expected", [("mnist", "(1, 1, 28, 28)"),
                                             ("cifar10", "(1, 3, 32, 32)")])
def test_export_records_the_input_shape(tmp_path, script, expected):
    from bmxnet.export import INPUT_SHAPE_ATTR

    module = _script(script)
    argv = DUMMY + ["--epochs", "1", "--model", "binary_lenet", "--save-dir", str(tmp_path)]
    if script == "mnist":
        argv += ["--prefix", str(tmp_path / "binary_lenet")]
    module.train(module.parse_args(argv))
    graph = json.load(open(tmp_path / "binary_lenet-symbol.json"))
    data = [n for n in graph["nodes"] if n["name"] == "data"][0]
    assert data["attrs"][INPUT_SHAPE_ATTR] == expected
    # MXNet still loads it, in both ways
    sym = mx.sym.load(str(tmp_path / "binary_lenet-symbol.json"))
    assert sym.list_inputs()[0] == "data"
    net = mx.gluon.SymbolBlock.imports(str(tmp_path / "binary_lenet-symbol.json"), ["data"],
                                       str(tmp_path / "binary_lenet-0000.params"))
    shape = tuple(int(d) for d in expected[1:-1].split(","))
    assert net(mx.nd.zeros((3,) + shape[1:])).shape == (3, 10)


# ------------------------------------------------------------------------------------------
# Interrupting and resuming
# ------------------------------------------------------------------------------------------

def _mnist_argv(folder, *extra):
    return ["--data-dir", os.path.join(ROOT, "examples", "mnist", "data"), "--train-count",
            "320", "--val-count", "200", "--batch-size", "32", "--prefix",
            os.path.join(folder, "lenet"), "--save-dir", folder] + list(extra)


def test_ctrl_c_prints_where_to_resume_and_the_command_that_does(tmp_path):
    import shlex
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    script = os.path.join(ROOT, "examples", "mnist", "train.py")
    proc = subprocess.Popen([sys.executable, script] + _mnist_argv(str(out), "--epochs", "3"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(tmp_path))
    first = out / "lenet-epoch0001.params"
    deadline = time.time() + 120
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert first.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr + stdout and "KeyboardInterrupt" not in stderr + stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    checkpoint = str(out / "lenet-epoch0001.params")
    assert f"the last checkpoint is {checkpoint}" in lines[0], lines[0]
    # the command it prints continues the run
    command = shlex.split(lines[0].split("continue with: ", 1)[1])
    assert command[-2:] == ["--resume", checkpoint]
    done = subprocess.run(command, capture_output=True, text=True, cwd=str(tmp_path),
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed from" in done.stdout
    assert [r["epoch"] for r in _rows(out / "lenet-metrics.csv")] == ["1", "2", "3"]


def _interrupt_after_first_checkpoint(monkeypatch):
    """Ctrl-C right after the first checkpoint is written."""
    save = training._save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_save_checkpoint", save_then_interrupt)


def test_resumed_run_equals_the_uninterrupted_one(tmp_path, monkeypatch):
    mnist = _script("mnist")
    whole, parts = str(tmp_path / "whole"), str(tmp_path / "parts")
    _, _, _, acc_whole = mnist.train(mnist.parse_args(_mnist_argv(whole, "--epochs", "2")))

    with monkeypatch.context() as patch:
        _interrupt_after_first_checkpoint(patch)
        with pytest.raises(training.TrainingInterrupted) as info:
            mnist.train(mnist.parse_args(_mnist_argv(parts, "--epochs", "2")))
    assert info.value.checkpoint == os.path.join(parts, "lenet-epoch0001.params")
    assert not os.path.exists(os.path.join(parts, "lenet-epoch0002.params"))
    _, _, _, acc_parts = mnist.train(mnist.parse_args(_mnist_argv(parts, "--epochs", "2",
                                                                  "--resume", parts)))

    # The same data order, random states and optimizer state: bit for bit the same network.
    a = mx.nd.load(os.path.join(whole, "lenet-epoch0002.params"))
    b = mx.nd.load(os.path.join(parts, "lenet-epoch0002.params"))
    assert sorted(a) == sorted(b)
    for key in a:
        assert np.array_equal(a[key].asnumpy(), b[key].asnumpy()), key
    assert acc_parts == acc_whole
    rows_whole = _rows(os.path.join(whole, "lenet-metrics.csv"))
    rows_parts = _rows(os.path.join(parts, "lenet-metrics.csv"))
    for field in ("lr", "train_loss", "train_acc", "val_loss", "val_acc"):
        assert [r[field] for r in rows_parts] == [r[field] for r in rows_whole], field
    # elapsed seconds go on from the checkpoint's
    first = json.load(open(os.path.join(parts, "lenet-epoch0001.json")))["history"][0]
    assert float(rows_parts[0]["seconds"]) == first["seconds"]
    assert float(rows_parts[1]["seconds"]) > first["seconds"]


def test_array_batches_state_replays_the_batches():
    x, y = np.arange(40, dtype=np.float32).reshape(20, 2), np.arange(20)
    batches = training.ArrayBatches(x, y, 5, shuffle=True, seed=3)
    list(batches)
    state = batches.get_state()
    expected = [b[0].asnumpy() for b in batches]
    batches.set_state(state)
    assert all(np.array_equal(e, b[0].asnumpy()) for e, b in zip(expected, batches))


def test_resume_from_the_export_warm_starts_from_its_weights(tmp_path, capsys):
    mnist = _script("mnist")
    out = str(tmp_path / "out")
    argv = ["--dataset", "dummy", "--dummy-size", "64", "--batch-size", "32", "--epochs", "1",
            "--prefix", os.path.join(out, "lenet")]
    mnist.train(mnist.parse_args(argv))
    export = os.path.join(out, "lenet-0000.params")
    trained = {k.split(":", 1)[1]: v.asnumpy() for k, v in mx.nd.load(export).items()}

    # the weights the export holds, under the model's parameter names
    args = mnist.parse_args(argv + ["--resume", export])
    net = training.build_model(args, classes=10)
    net.initialize()
    training._warm_start(net, export, [mx.cpu()])
    for name, param in net.collect_params().items():
        assert np.array_equal(param.data().asnumpy(), trained[name]), name

    # as the user ran it: --resume with the export trains from its weights
    capsys.readouterr()
    assert mnist.main(argv + ["--resume", export]) == 0
    log = capsys.readouterr().out
    assert f"warm start from the export {export}" in log
    assert os.path.join(out, "lenet-epoch0001.params") in log  # the checkpoint to continue from

    # an export of another network: one sentence, exit 2
    other = str(tmp_path / "other-0000.params")
    mx.nd.save(other, {"arg:dense0_weight": mx.nd.zeros((2, 2))})
    assert mnist.main(argv + ["--resume", other]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "does not fit the model" in err, err

"""bmxnet.training and the example scripts (examples/*/train.py) on tiny data."""
import csv
import importlib.util
import json
import os
import pickle

import mxnet as mx
import numpy as np
import pytest

import bmxnet  # noqa: F401
from bmxnet import training

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _script(name):
    path = os.path.join(ROOT, "examples", name, "train.py")
    spec = importlib.util.spec_from_file_location(f"train_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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

    with pytest.raises(FileNotFoundError, match="--resume"):
        mnist.train(mnist.parse_args(argv + ["--resume", str(tmp_path / "nothing")]))


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


def test_cifar10_reads_both_formats_and_trains(tmp_path):
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
    with pytest.raises(FileNotFoundError, match="im2rec"):
        imagenet.train(imagenet.parse_args(["--data-dir", str(tmp_path / "none")]))


def test_imagenet_dummy_smoke(tmp_path):
    imagenet = _script("imagenet")
    args = imagenet.parse_args(["--dataset", "dummy", "--dummy-size", "8", "--input-size", "32",
                                "--classes", "4", "--batch-size", "4", "--epochs", "1",
                                "--save-dir", str(tmp_path)])
    imagenet.train(args)
    assert (tmp_path / "binary_resnet18_v1-symbol.json").is_file()

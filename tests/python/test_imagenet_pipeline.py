"""examples/imagenet/train.py's two RecordIO readers (--data-backend rec-iter | dataloader) on a
tiny .rec packed by MXNet's own im2rec from JPEGs made here."""
import csv
import subprocess
import sys

import numpy as np
import pytest

import bmxnet  # noqa: F401
import example_scripts

BACKENDS = ("rec-iter", "dataloader")
SIZE, BATCH = 32, 3
TRAIN_RECORDS, VAL_RECORDS = 12, 13  # 13: two ImageRecordIter parts of unequal size (7 + 6)


def _script():
    return example_scripts.load("imagenet")


def _image(rng, height, width):
    """A smooth color gradient with a few soft blobs: compresses and decodes like a photo
    more than noise does, and every image differs."""
    from PIL import Image

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        a, b, base = rng.uniform(-1.5, 1.5, 2).tolist() + [rng.uniform(40, 200)]
        img[..., c] = base + a * yy + b * xx
    for _ in range(3):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(4, 12)
        img += (rng.uniform(-80, 80, 3) *
                np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None])
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _im2rec(folder, name, count, rng):
    """folder/NAME.rec + .idx from `count` JPEGs, record i labelled i, packed by im2rec in
    list order."""
    images = folder / f"{name}-images"
    images.mkdir()
    with open(folder / f"{name}.lst", "w") as lst:
        for i in range(count):
            height, width = (60, 44) if i % 4 == 3 else (40 + i, 48 + 2 * i)  # some portrait
            _image(rng, height, width).save(images / f"{i}.jpg", quality=90)
            lst.write(f"{i}\t{i}\t{i}.jpg\n")
    proc = subprocess.run([sys.executable, "-m", "mxnet.tools.im2rec", str(folder / name),
                           str(images)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with open(folder / f"{name}.idx") as f:
        assert sum(1 for line in f if line.strip()) == count, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    pytest.importorskip("cv2")  # im2rec reads and encodes with OpenCV
    folder = tmp_path_factory.mktemp("imagenet_rec")
    rng = np.random.RandomState(0)
    _im2rec(folder, "train", TRAIN_RECORDS, rng)
    _im2rec(folder, "val", VAL_RECORDS, rng)
    return folder


def _args(module, data_dir, backend, *extra):
    return module.parse_args(["--data-dir", str(data_dir), "--data-backend", backend,
                              "--input-size", str(SIZE), "--batch-size", str(BATCH),
                              "--num-data-workers", "0", "--classes", str(VAL_RECORDS),
                              *extra])


def _labels(batches):
    labels = []
    for x, y in batches:
        labels += y.asnumpy().astype(int).tolist()
    return labels


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_training_step_with_each_backend(data_dir, tmp_path, backend, monkeypatch):
    monkeypatch.setenv("BMXNET_STEPS_PER_EPOCH", "1")
    module = _script()
    assert module.main(["--data-dir", str(data_dir), "--data-backend", backend,
                        "--model", "binary_lenet", "--classes", str(VAL_RECORDS),
                        "--input-size", str(SIZE), "--batch-size", "4", "--epochs", "1",
                        "--num-data-workers", "1", "--save-dir", str(tmp_path)]) == 0
    assert (tmp_path / "binary_lenet-symbol.json").is_file()
    with open(tmp_path / "binary_lenet-metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]["val_acc"] != ""  # one epoch, validated


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_batches_shapes_labels_and_two_shards(data_dir, backend):
    module = _script()
    args = _args(module, data_dir, backend)
    seen = []
    for rank in range(2):
        train, _ = module.record_loaders(args, rank, 2)
        assert len(train) == TRAIN_RECORDS // 2 // BATCH
        passes = []
        for _ in range(2):
            labels = []
            for x, y in train:
                assert x.shape == (BATCH, 3, SIZE, SIZE) and y.shape == (BATCH,)
                assert x.dtype == np.float32
                values = x.asnumpy()
                # normalized: about zero mean and unit spread, not 0..255 pixels
                assert np.isfinite(values).all() and np.abs(values).max() < 5
                labels += y.asnumpy().astype(int).tolist()
            assert len(labels) == len(set(labels)) == TRAIN_RECORDS // 2  # each once a pass
            passes.append(labels)
        assert sorted(passes[0]) == sorted(passes[1])  # the same shard, pass after pass
        seen.append(set(passes[0]))
    assert not seen[0] & seen[1] and seen[0] | seen[1] == set(range(TRAIN_RECORDS))


def test_validation_is_the_same_with_both_backends(data_dir):
    """Resize + center crop + normalization without randomness: both readers give the same
    images, every record once, in file order, the last batch cut to the records left."""
    module = _script()
    batches = {}
    for backend in BACKENDS:
        _, val = module.record_loaders(_args(module, data_dir, backend), 0, 1)
        assert len(val) == -(-VAL_RECORDS // BATCH)
        for _ in range(2):  # a second pass reads the same
            xs, ys = zip(*[(x.asnumpy(), y.asnumpy()) for x, y in val])
            assert [x.shape[0] for x in xs] == [3, 3, 3, 3, 1]
            batches[backend] = np.concatenate(xs), np.concatenate(ys).astype(int)
            assert batches[backend][1].tolist() == list(range(VAL_RECORDS))
    np.testing.assert_allclose(batches["rec-iter"][0], batches["dataloader"][0], atol=1e-4)


def test_rec_iter_parts_of_unequal_size_cover_every_record_once(data_dir):
    module = _script()
    args = _args(module, data_dir, "rec-iter")
    val_rec = str(data_dir / "val.rec")
    assert module.shard_sizes(val_rec, 2) == [7, 6]
    assert module.shard_sizes(val_rec, 4) == [4, 4, 4, 1]
    parts = [_labels(module.RecordIterBatches(val_rec, args, train=False, part_index=rank,
                                              num_parts=2)) for rank in range(2)]
    assert parts == [list(range(7)), list(range(7, 13))]
    # training: full batches only, as many as the smaller part holds, on every worker
    train = [module.RecordIterBatches(val_rec, args, train=True, part_index=rank, num_parts=2)
             for rank in range(2)]
    assert [len(t) for t in train] == [6 // BATCH] * 2
    labels = [_labels(t) for t in train]
    assert set(labels[0]) <= set(range(7)) and set(labels[1]) <= set(range(7, 13))
    assert all(len(set(part)) == len(part) == 6 for part in labels)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_batch_larger_than_the_shard_is_one_line_and_exit_2(data_dir, backend, capsys):
    module = _script()
    args = _args(module, data_dir, backend)
    args.batch_size = TRAIN_RECORDS // 2 + 1
    with pytest.raises(SystemExit) as exit_info:
        module.record_loaders(args, 0, 2)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--batch-size" in err and "2 workers" in err, err


def test_unknown_backend_is_one_line_and_exit_2(capsys):
    module = _script()
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(["--data-backend", "opencv"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data-backend" in err and "rec-iter" in err, err

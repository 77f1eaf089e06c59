#!/usr/bin/env python
"""Trains a binary network on ImageNet (default: binary_resnet18_v1) from RecordIO files.

Data: ``train.rec``/``train.idx`` and ``val.rec``/``val.idx`` in --data-dir, as written by
MXNet's ``tools/im2rec.py`` (gluon-cv's ImageNet preparation), with the gluon-cv training
augmentations (random resized crop, flip, color jitter, lighting noise; resize + center crop
for validation), normalized with the ImageNet mean and std. Two readers (--data-backend):
``rec-iter``, MXNet's C++ ``ImageRecordIter`` (decoding and augmenting in threads, as
gluon-cv's ``--use-rec``), and ``dataloader``, ``ImageRecordDataset`` + Gluon's ``DataLoader``
(decoding in Python worker processes). Nothing is downloaded.

    python examples/imagenet/train.py --data-dir ~/data/imagenet-rec --epochs 60 \\
        --batch-size 256 --lr 2e-3 --warmup-epochs 2 --save-dir out/imagenet
    bmxnet launch -n 4 -s 2 -H hosts --launcher ssh \\
        python examples/imagenet/train.py --kvstore dist_sync ...
    python examples/imagenet/train.py --dataset dummy --input-size 64 --epochs 1   # smoke test
"""
import argparse
import os
import sys

import numpy as np

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# gluon-cv's ImageNet augmentations, shared by both --data-backend readers: the random resized
# crop's area fraction and aspect ratio (width / height), the color jitter, the lighting
# noise, and the validation center crop's share of the resized shorter side.
CROP_AREA = (0.08, 1.0)
CROP_RATIO = (3.0 / 4.0, 4.0 / 3.0)
JITTER = 0.4
LIGHTING = 0.1
VAL_CROP = 0.875


def parse_args(argv=None):
    from bmxnet import training
    from bmxnet.argtypes import int_range

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    training.add_arguments(p, model="binary_resnet18_v1", epochs=60, batch_size=256, lr=2e-3,
                           optimizer="adam", lr_mode="cosine", save_dir="out/imagenet",
                           data_dir="data/imagenet")
    p.add_argument("--classes", type=int_range(2), default=1000)
    p.add_argument("--input-size", type=int_range(8), default=224, help="training crop size")
    p.add_argument("--data-backend", choices=("rec-iter", "dataloader"), default="rec-iter",
                   help="how the RecordIO files are read: 'rec-iter' (default), MXNet's C++ "
                        "ImageRecordIter, decoding and augmenting in native threads: what "
                        "gluon-cv's ImageNet script reads .rec files with (--use-rec), and "
                        "about twice as fast per thread as 'dataloader' "
                        "(smd_hpi/input_pipeline_bench.py); 'dataloader': ImageRecordDataset + "
                        "Gluon DataLoader, decoding in Python worker processes and running "
                        "gluon-cv's transforms (mx.gluon.data.vision.transforms) as they are")
    p.add_argument("--num-data-workers", type=int_range(0), default=4,
                   help="dataloader: processes decoding images (0: in the training process); "
                        "rec-iter: decoding threads (ImageRecordIter's preprocess_threads; "
                        "0 counts as 1)")
    p.add_argument("--rec-train", default=None, help="default: DATA_DIR/train.rec")
    p.add_argument("--rec-val", default=None, help="default: DATA_DIR/val.rec")
    return training.parse_args(p, argv)


class ShardSampler:
    """Indices of one worker's shard (equal sizes across workers), shuffled each epoch."""

    def __init__(self, length, part_index=0, num_parts=1, shuffle=True, seed=0):
        per_part = length // num_parts
        self._indices = np.arange(part_index * per_part, (part_index + 1) * per_part)
        self._shuffle, self._rng = shuffle, np.random.RandomState(seed + part_index)

    def __iter__(self):
        order = self._rng.permutation(self._indices) if self._shuffle else self._indices
        return iter(order.tolist())

    def __len__(self):
        return len(self._indices)


def transforms(input_size, train):
    """gluon-cv's ImageNet training / validation transforms."""
    from mxnet.gluon.data.vision import transforms as T

    normalize = T.Normalize(MEAN, STD)
    if train:
        return T.Compose([T.RandomResizedCrop(input_size, scale=CROP_AREA, ratio=CROP_RATIO),
                          T.RandomFlipLeftRight(),
                          T.RandomColorJitter(brightness=JITTER, contrast=JITTER,
                                              saturation=JITTER),
                          T.RandomLighting(LIGHTING), T.ToTensor(), normalize])
    return T.Compose([T.Resize(val_resize(input_size), keep_ratio=True),
                      T.CenterCrop(input_size), T.ToTensor(), normalize])


def val_resize(input_size):
    """The shorter side validation images are resized to before the center crop."""
    return int(np.ceil(input_size / VAL_CROP))


def index_path(rec_path):
    return os.path.splitext(rec_path)[0] + ".idx"


def record_paths(args):
    """The training and validation .rec files, each checked to be there with its .idx."""
    def checked(path, what):
        if not os.path.isfile(path) or not os.path.isfile(index_path(path)):
            raise FileNotFoundError(f"{what} RecordIO {path} (+ .idx) not found; create it "
                                    f"with mxnet/tools/im2rec.py, or use --dataset dummy")
        return path

    return (checked(args.rec_train or os.path.join(args.data_dir, "train.rec"), "training"),
            checked(args.rec_val or os.path.join(args.data_dir, "val.rec"), "validation"))


def record_loaders(args, rank, workers):
    """(this worker's training batches, the validation batches) as --data-backend reads them:
    re-iterables of (data, label) NDArray batches with a length, as training.fit takes. Every
    worker validates on the whole validation set."""
    train_rec, val_rec = record_paths(args)
    if args.data_backend == "rec-iter":
        train_loader = RecordIterBatches(train_rec, args, train=True, part_index=rank,
                                         num_parts=workers)
        val_loader = RecordIterBatches(val_rec, args, train=False)
    else:
        train_loader, val_loader = dataloader_loaders(train_rec, val_rec, args, rank, workers)
    if len(train_loader) == 0:  # a usage error: one line and exit status 2, as argparse's
        shard = f" (its part for each of {workers} workers)" if workers > 1 else ""
        print(f"{os.path.basename(sys.argv[0])}: error: argument --batch-size: "
              f"{args.batch_size} is more than the training images of {train_rec}{shard}",
              file=sys.stderr)
        raise SystemExit(2)
    return train_loader, val_loader


def dataloader_loaders(train_rec, val_rec, args, rank, workers):
    """--data-backend dataloader: ImageRecordDataset + gluon.data.DataLoader, JPEGs decoded and
    transformed in --num-data-workers Python processes."""
    from mxnet import gluon

    train_set = gluon.data.vision.ImageRecordDataset(train_rec)
    val_set = gluon.data.vision.ImageRecordDataset(val_rec)
    train_set = train_set.transform_first(transforms(args.input_size, True))
    val_set = val_set.transform_first(transforms(args.input_size, False))
    train_loader = gluon.data.DataLoader(
        train_set, batch_size=args.batch_size, last_batch="discard",
        sampler=ShardSampler(len(train_set), rank, workers, True, args.seed),
        num_workers=args.num_data_workers)
    val_loader = gluon.data.DataLoader(val_set, batch_size=args.batch_size,
                                       num_workers=args.num_data_workers)
    return train_loader, val_loader


def shard_sizes(rec_path, num_parts):
    """How many records each of ImageRecordIter's `num_parts` parts of `rec_path` holds: its
    index split in file order into runs of ceil(records / num_parts) (dmlc's
    IndexedRecordIOSplitter), so the last parts can be shorter or empty."""
    with open(index_path(rec_path)) as f:
        records = sum(1 for line in f if line.strip())
    step = -(-records // num_parts)
    return [max(0, min(records, (i + 1) * step) - i * step) for i in range(num_parts)]


class RecordIterBatches:
    """--data-backend rec-iter: MXNet's C++ ``mx.io.ImageRecordIter`` over part `part_index` of
    `num_parts` of `rec_path`, as training.fit iterates data: ``len()`` batches of (data,
    label) NDArrays per pass, each pass from the start of the part (training: reshuffled and
    newly augmented).

    The batches are counted here, not by the iterator: ImageRecordIter fills the last batch of
    a pass with stale images and reports no padding (round_batch=False), or starts the next
    pass inside the file (round_batch=True). So training yields only full batches, as many as
    the smallest part holds (every worker takes the same number of steps, as dist_sync needs);
    validation yields every record once, its last batch cut to the records left. The arrays
    are the iterator's buffers, refilled a few batches later: copy one to keep it."""

    def __init__(self, rec_path, args, train, part_index=0, num_parts=1):
        import mxnet as mx

        self.batch_size, self.train = args.batch_size, train
        sizes = shard_sizes(rec_path, num_parts)
        self.records = min(sizes) if train else sizes[part_index]
        self._length = self.records // self.batch_size if train else \
            -(-self.records // self.batch_size)
        options = dict(
            path_imgrec=rec_path, path_imgidx=index_path(rec_path),
            part_index=part_index, num_parts=num_parts, batch_size=self.batch_size,
            data_shape=(3, args.input_size, args.input_size), round_batch=False,
            preprocess_threads=max(1, args.num_data_workers), verbose=False,
            # ImageRecordIter reads RGB: mean and std per channel on the 0..255 scale
            mean_r=255 * MEAN[0], mean_g=255 * MEAN[1], mean_b=255 * MEAN[2],
            std_r=255 * STD[0], std_g=255 * STD[1], std_b=255 * STD[2],
            # ctx "gpu" picks the iterator that decodes in preprocess_threads threads (the
            # "cpu" one ignores them for OpenMP's thread count, which the training's own
            # operators use); its batches are in pinned memory when there is a GPU to copy
            # them to (device_id 0), else in plain memory (device_id -1).
            ctx="gpu", device_id=0 if mx.context.num_gpus() > 0 else -1)
        if train:
            options.update(
                shuffle=True, seed=args.seed + part_index, seed_aug=args.seed + part_index,
                random_resized_crop=True, min_random_area=CROP_AREA[0],
                max_random_area=CROP_AREA[1], min_aspect_ratio=CROP_RATIO[0],
                max_aspect_ratio=CROP_RATIO[1], rand_mirror=True, brightness=JITTER,
                contrast=JITTER, saturation=JITTER, pca_noise=LIGHTING)
        else:
            options.update(shuffle=False, resize=val_resize(args.input_size))
        self._path = rec_path
        self._iter = mx.io.ImageRecordIter(**options)
        self._fresh = True  # the new iterator is already reading its first batches

    def __len__(self):
        return self._length

    def __iter__(self):
        if not self._fresh:
            self._iter.reset()
        self._fresh = False
        left = self.records
        for _ in range(self._length):
            try:
                batch = self._iter.next()
            except StopIteration:
                raise RuntimeError(f"{self._path} holds fewer records than its .idx "
                                   f"lists") from None
            data, label = batch.data[0], batch.label[0]
            if left < self.batch_size:  # validation's last batch
                data, label = data[:left], label[:left]
            left -= data.shape[0]
            yield data, label


def train(args):
    import mxnet as mx
    from bmxnet import training

    kv, rank, workers = training.start(args.seed, args.kvstore)
    if args.dataset == "dummy":
        shape = (3, args.input_size, args.input_size)
        x, y = training.dummy_arrays(2 * args.dummy_size, shape, args.classes, seed=args.seed)
        train_loader = training.ArrayBatches(x[:args.dummy_size], y[:args.dummy_size],
                                             args.batch_size, shuffle=True, part_index=rank,
                                             num_parts=workers, seed=args.seed)
        val_loader = training.ArrayBatches(x[args.dummy_size:], y[args.dummy_size:],
                                           args.batch_size)
    else:
        train_loader, val_loader = record_loaders(args, rank, workers)
    print(f"training {args.model} ({args.classes} classes, {args.input_size}px) on "
          f"{len(train_loader)} batches of {args.batch_size} per epoch ({args.dataset})",
          flush=True)
    net = training.build_model(args, classes=args.classes)
    ctxs = training.contexts(args)
    net.initialize(mx.init.Xavier(magnitude=2.0), ctx=ctxs)
    return training.fit(net, train_loader, val_loader, args, name=args.model, ctx=ctxs,
                        kvstore=kv)


def main(argv=None):
    from bmxnet import training

    return training.run_script(parse_args, train, argv)


if __name__ == "__main__":
    sys.exit(main())

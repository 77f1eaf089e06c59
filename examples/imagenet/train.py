#!/usr/bin/env python
"""Trains a binary network on ImageNet (default: binary_resnet18_v1) from RecordIO files.

Data: ``train.rec``/``train.idx`` and ``val.rec``/``val.idx`` in --data-dir, as written by
MXNet's ``tools/im2rec.py`` (gluon-cv's ImageNet preparation); read with MXNet's
``ImageRecordDataset`` and the gluon-cv training transforms (random resized crop, flip, color
jitter, lighting noise; resize + center crop for validation), normalized with the ImageNet
mean and std. Nothing is downloaded.

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
    p.add_argument("--num-data-workers", type=int_range(0), default=4,
                   help="processes decoding images (0: in the training process)")
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
        return T.Compose([T.RandomResizedCrop(input_size), T.RandomFlipLeftRight(),
                          T.RandomColorJitter(brightness=0.4, contrast=0.4, saturation=0.4),
                          T.RandomLighting(0.1), T.ToTensor(), normalize])
    resize = int(np.ceil(input_size / 0.875))
    return T.Compose([T.Resize(resize, keep_ratio=True), T.CenterCrop(input_size),
                      T.ToTensor(), normalize])


def record_loaders(args, rank, workers):
    from mxnet import gluon

    def dataset(path, what):
        if not os.path.isfile(path) or not os.path.isfile(os.path.splitext(path)[0] + ".idx"):
            raise FileNotFoundError(f"{what} RecordIO {path} (+ .idx) not found; create it "
                                    f"with mxnet/tools/im2rec.py, or use --dataset dummy")
        return gluon.data.vision.ImageRecordDataset(path)

    train_set = dataset(args.rec_train or os.path.join(args.data_dir, "train.rec"), "training")
    val_set = dataset(args.rec_val or os.path.join(args.data_dir, "val.rec"), "validation")
    train_set = train_set.transform_first(transforms(args.input_size, True))
    val_set = val_set.transform_first(transforms(args.input_size, False))
    train_loader = gluon.data.DataLoader(
        train_set, batch_size=args.batch_size, last_batch="discard",
        sampler=ShardSampler(len(train_set), rank, workers, True, args.seed),
        num_workers=args.num_data_workers)
    val_loader = gluon.data.DataLoader(val_set, batch_size=args.batch_size,
                                       num_workers=args.num_data_workers)
    return train_loader, val_loader


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
    net.initialize(mx.init.Xavier(magnitude=2.0))
    return training.fit(net, train_loader, val_loader, args, name=args.model, kvstore=kv)


def main(argv=None):
    from bmxnet import training

    return training.run_script(parse_args, train, argv)


if __name__ == "__main__":
    sys.exit(main())

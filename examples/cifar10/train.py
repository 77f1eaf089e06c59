#!/usr/bin/env python
"""Trains a binary network on CIFAR-10 (default: binary_resnet18_cifar) and exports it.

Data: the CIFAR-10 binary or Python version, unpacked in --data-dir (nothing is downloaded):
``cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin`` or
``cifar-10-batches-py/{data_batch_1..5,test_batch}`` (or those files directly in --data-dir).
Inputs are pixels / 255 normalized with the CIFAR-10 mean and std; training augments with
random 32x32 crops of the 4-pixel padded image and horizontal flips.

    python examples/cifar10/train.py --data-dir ~/data/cifar10 --epochs 100 --save-dir out/cifar
    python examples/cifar10/train.py --dataset dummy --epochs 1      # smoke test
"""
import argparse
import os
import pickle
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.2470, 0.2435, 0.2616], np.float32).reshape(1, 3, 1, 1)


def parse_args(argv=None):
    from bmxnet import training

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    training.add_arguments(p, model="binary_resnet18_cifar", epochs=100, batch_size=128,
                           lr=1e-3, optimizer="adam", lr_mode="cosine",
                           save_dir="out/cifar10", data_dir=os.path.join(HERE, "data"))
    p.add_argument("--no-augment", action="store_true", help="no random crops and flips")
    return training.parse_args(p, argv)


def _find(data_dir, names):
    for sub in ("cifar-10-batches-bin", "cifar-10-batches-py", ""):
        for name in names:
            path = os.path.join(data_dir, sub, name)
            if os.path.isfile(path):
                return path
    return None


def _read_batch(path):
    """(x uint8 (N, 3, 32, 32), y int64) from one CIFAR-10 batch file (binary or pickle)."""
    if path.endswith(".bin"):
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size % 3073:
            raise ValueError(f"{path}: size {raw.size} is not a multiple of 3073-byte records")
        raw = raw.reshape(-1, 3073)
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    return (np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32),
            np.asarray(batch[b"labels"], np.int64))


def load_cifar10(data_dir):
    """{"train": (x, y), "test": (x, y)}, x float32 normalized NCHW."""
    out = {}
    for split, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]),
                         ("test", ["test_batch"])):
        xs, ys = [], []
        for name in names:
            path = _find(data_dir, [name + ".bin", name])
            if path is None:
                raise FileNotFoundError(
                    f"CIFAR-10 file {name}(.bin) not found in {data_dir} (or its "
                    f"cifar-10-batches-bin / cifar-10-batches-py folder); unpack the dataset "
                    f"there, or use --dataset dummy")
            x, y = _read_batch(path)
            xs.append(x)
            ys.append(y)
        x = (np.concatenate(xs).astype(np.float32) / 255.0 - MEAN) / STD
        out[split] = (x, np.concatenate(ys))
    return out


def crop_and_flip(x, rng, pad=4):
    """Random crops of the zero-padded images and random horizontal flips."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dy, dx = rng.randint(0, 2 * pad + 1, size=(2, n))
    flip = rng.rand(n) < 0.5
    out = np.empty_like(x)
    for i in range(n):
        img = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = img[:, :, ::-1] if flip[i] else img
    return out


def train(args):
    import mxnet as mx
    from bmxnet import training

    kv, rank, workers = training.start(args.seed, args.kvstore)
    if args.dataset == "dummy":
        x, y = training.dummy_arrays(2 * args.dummy_size, (3, 32, 32), 10, seed=args.seed)
        data = {"train": (x[:args.dummy_size], y[:args.dummy_size]),
                "test": (x[args.dummy_size:], y[args.dummy_size:])}
    else:
        data = load_cifar10(args.data_dir)
    (train_x, train_y), (val_x, val_y) = data["train"], data["test"]
    print(f"training {args.model} on {len(train_x)} CIFAR-10 images "
          f"({args.dataset}), validating on {len(val_x)}", flush=True)
    net = training.build_model(args, classes=10)
    ctxs = training.contexts(args)
    net.initialize(mx.init.Xavier(magnitude=2.0), ctx=ctxs)
    train_data = training.ArrayBatches(train_x, train_y, args.batch_size, shuffle=True,
                                       augment=None if args.no_augment else crop_and_flip,
                                       part_index=rank, num_parts=workers, seed=args.seed)
    val_data = training.ArrayBatches(val_x, val_y, 256)
    return training.fit(net, train_data, val_data, args, name=args.model, ctx=ctxs, kvstore=kv)


def main(argv=None):
    from bmxnet import training

    return training.run_script(parse_args, train, argv)


if __name__ == "__main__":
    sys.exit(main())

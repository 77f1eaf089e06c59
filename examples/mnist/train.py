#!/usr/bin/env python
"""Trains a binary LeNet on MNIST IDX files and exports it for model-converter.

Input convention: pixels / 255 as float32 NCHW (1, 28, 28), no other normalization.
Without t10k-* test files, the last --val-count training images are held out for validation.
Training augments with random shifts of up to --shift pixels (0 disables).

Output: --prefix (default: SAVE_DIR/binary_lenet, SAVE_DIR default out/mnist) names the
export; --save-dir (default: the folder of --prefix) gets the checkpoints and metrics.

    python examples/mnist/train.py --epochs 20 --prefix out/mnist/binary_lenet
    bmxnet launch -n 2 -s 1 --launcher local \\
        python examples/mnist/train.py --kvstore dist_sync --save-dir out/mnist-dist
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    from bmxnet import training
    from bmxnet.argtypes import int_range

    p = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    training.add_arguments(p, model="binary_lenet", epochs=8, batch_size=64, lr=2e-3,
                           optimizer="adam", lr_mode="cosine", save_dir=None,
                           data_dir=os.path.join(HERE, "data"))
    p.add_argument("--prefix", default=None,
                   help="export to PREFIX-symbol.json / PREFIX-0000.params "
                        "(default: SAVE_DIR/binary_lenet, SAVE_DIR default out/mnist)")
    p.add_argument("--val-count", type=int_range(1), default=1000,
                   help="held-out images when there is no t10k split")
    p.add_argument("--train-count", type=int_range(0), default=0,
                   help="use only the first N training images (0: all)")
    p.add_argument("--shift", type=int_range(0), default=2,
                   help="augmentation: random shifts of up to this many pixels")
    args = training.parse_args(p, argv, name_of=_name)
    if args.prefix is None:
        args.prefix = os.path.join(args.save_dir or DEFAULT_SAVE_DIR, DEFAULT_NAME)
    if args.save_dir is None:
        args.save_dir = os.path.dirname(os.path.abspath(args.prefix))
    return args


DEFAULT_SAVE_DIR, DEFAULT_NAME = "out/mnist", "binary_lenet"


def _name(args):
    """The checkpoint and export name: the basename of --prefix."""
    return os.path.basename(args.prefix) if args.prefix else DEFAULT_NAME


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                     argparse.RawDescriptionHelpFormatter):
    """Defaults in the help, the description's examples kept as written."""


def evaluate(net, x, y, batch_size=500, ctx=None):
    """Accuracy of `net` on arrays x (N, 1, 28, 28) and labels y, run on `ctx` (default cpu)."""
    import mxnet as mx
    correct = 0
    for i in range(0, len(x), batch_size):
        out = net(mx.nd.array(x[i:i + batch_size], ctx=ctx or mx.cpu()))
        correct += int((out.argmax(axis=1).asnumpy().astype(np.int64) == y[i:i + batch_size]).sum())
    return correct / len(x)


def random_shift(max_shift):
    """Augmentation: shifts each image by up to max_shift pixels (zero fill)."""
    def augment(x, rng):
        if max_shift <= 0:
            return x
        n, _, h, w = x.shape
        padded = np.pad(x, ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift)))
        dy, dx = rng.randint(0, 2 * max_shift + 1, size=(2, n))
        out = np.empty_like(x)
        for i in range(n):
            out[i] = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        return out
    return augment


def load_data(args):
    """(train_x, train_y, val_x, val_y, description) from --dataset / --data-dir."""
    from bmxnet import training
    if args.dataset == "dummy":
        x, y = training.dummy_arrays(2 * args.dummy_size, (1, 28, 28), 10, seed=args.seed)
        return x[:args.dummy_size], y[:args.dummy_size], x[args.dummy_size:], \
            y[args.dummy_size:], "synthetic data"
    from bmxnet.data import load_mnist
    data = load_mnist(args.data_dir)
    train_x, train_y = data["train"]
    if data["test"] is not None:
        val_x, val_y = data["test"]
        val_name = "t10k test set"
    else:
        train_x, val_x = train_x[:-args.val_count], train_x[-args.val_count:]
        train_y, val_y = train_y[:-args.val_count], train_y[-args.val_count:]
        val_name = f"last {args.val_count} training images"
    if args.train_count:
        train_x, train_y = train_x[:args.train_count], train_y[:args.train_count]
    return train_x, train_y, val_x, val_y, val_name


def train(args):
    """Trains and exports; returns (net, val_x, val_y, val_acc)."""
    import mxnet as mx
    from bmxnet import training

    kv, rank, workers = training.start(args.seed, args.kvstore)
    train_x, train_y, val_x, val_y, val_name = load_data(args)
    print(f"training {args.model} on {len(train_x)} images"
          f"{f' (worker {rank} of {workers} takes 1/{workers})' if workers > 1 else ''}, "
          f"validating on {len(val_x)} ({val_name})", flush=True)

    net = training.build_model(args, classes=10)
    ctxs = training.contexts(args)
    net.initialize(mx.init.Xavier(magnitude=2.0), ctx=ctxs)
    train_data = training.ArrayBatches(train_x, train_y, args.batch_size, shuffle=True,
                                       augment=random_shift(args.shift), part_index=rank,
                                       num_parts=workers, seed=args.seed)
    val_data = training.ArrayBatches(val_x, val_y, 500)
    name = os.path.basename(args.prefix)
    history = training.fit(net, train_data, val_data, args, name=name, ctx=ctxs, kvstore=kv,
                           export_prefix=args.prefix)
    val_acc = history.rows[-1]["val_acc"] if history.rows else \
        evaluate(net, val_x, val_y, ctx=ctxs[0])
    if rank == 0:
        print(f"validation accuracy {val_acc:.4f} on {len(val_x)} images")
        print(f"exported {args.prefix}-symbol.json and {args.prefix}-0000.params")
    return net, val_x, val_y, val_acc


def main(argv=None):
    from bmxnet import training

    return training.run_script(parse_args, train, argv)


if __name__ == "__main__":
    sys.exit(main())

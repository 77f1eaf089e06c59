#!/usr/bin/env python
"""Trains a binary LeNet on MNIST IDX files and exports it for model-converter.

Input convention: pixels / 255 as float32 NCHW (1, 28, 28), no other normalization.
Without t10k-* test files, the last --val-count training images are held out for validation.
"""
import argparse
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=os.path.join(HERE, "data"), help="folder with MNIST IDX files (.gz or not)")
    p.add_argument("--epochs", type=int, default=8, help="training epochs")
    p.add_argument("--prefix", default="out/mnist/binary_lenet", help="export to PREFIX-symbol.json / PREFIX-0000.params")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine decay to 0)")
    p.add_argument("--val-count", type=int, default=1000, help="held-out images when there is no t10k split")
    p.add_argument("--train-count", type=int, default=0, help="use only the first N training images (0: all)")
    p.add_argument("--pad-value", type=int, default=-1, choices=(-1, 0, 1), help="padding value of the binary conv")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def evaluate(net, x, y, batch_size=500):
    import mxnet as mx
    correct = 0
    for i in range(0, len(x), batch_size):
        out = net(mx.nd.array(x[i:i + batch_size]))
        correct += int((out.argmax(axis=1).asnumpy().astype(np.int64) == y[i:i + batch_size]).sum())
    return correct / len(x)


def train(args):
    """Trains and exports; returns (net, val_x, val_y, val_acc)."""
    import mxnet as mx
    from tqdm import tqdm
    import bmxnet
    from bmxnet.data import load_mnist

    mx.random.seed(args.seed)
    np.random.seed(args.seed)
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
    print(f"training on {len(train_x)} images, validating on {len(val_x)} ({val_name})")

    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10, pad_value=args.pad_value)
    net.initialize(mx.init.Xavier(magnitude=2.0))
    net.hybridize()
    steps_per_epoch = (len(train_x) + args.batch_size - 1) // args.batch_size
    schedule = mx.lr_scheduler.CosineScheduler(max_update=args.epochs * steps_per_epoch,
                                               base_lr=args.lr, final_lr=0)
    trainer = mx.gluon.Trainer(net.collect_params(), "adam",
                               {"learning_rate": args.lr, "lr_scheduler": schedule})
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()

    start = time.time()
    for epoch in range(args.epochs):
        order = np.random.permutation(len(train_x))
        total_loss, correct = 0.0, 0
        # A progress bar on a terminal; only the per-epoch lines in logs.
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=None)
        for step in bar:
            idx = order[step * args.batch_size:(step + 1) * args.batch_size]
            x, y = mx.nd.array(train_x[idx]), mx.nd.array(train_y[idx])
            with mx.autograd.record():
                out = net(x)
                loss = loss_fn(out, y)
            loss.backward()
            trainer.step(len(idx))
            total_loss += float(loss.sum().asscalar())
            correct += int((out.argmax(axis=1) == y).sum().asscalar())
            bar.set_postfix(loss=f"{total_loss / ((step + 1) * args.batch_size):.3f}")
        val_acc = evaluate(net, val_x, val_y)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total_loss / len(train_x):.4f}  "
              f"train acc {correct / len(train_x):.4f}  val acc {val_acc:.4f}  "
              f"({time.time() - start:.0f} s)")

    out_dir = os.path.dirname(os.path.abspath(args.prefix))
    os.makedirs(out_dir, exist_ok=True)
    net.export(args.prefix)
    print(f"validation accuracy {val_acc:.4f} on {len(val_x)} images")
    print(f"exported {args.prefix}-symbol.json and {args.prefix}-0000.params")
    return net, val_x, val_y, val_acc


def main(argv=None):
    train(parse_args(argv))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""bmxnet end to end: train a binary LeNet on the bundled MNIST sample, export it, convert it,
predict with it from Python and from C (MXNet's C predict API); one line per step says what it
did, and a last line whether every check passed.

Run with `make demo`. Exits non-zero if any check fails.
"""
import argparse
import contextlib
import importlib.util
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load_mnist_example():
    spec = importlib.util.spec_from_file_location("mnist_train", os.path.join(HERE, "mnist", "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predict_python(prefix, x, batch_size=500):
    import warnings
    import mxnet as mx
    with warnings.catch_warnings():  # Gluon warns that 'data' has no type yet; it gets float32
        warnings.simplefilter("ignore", UserWarning)
        net = mx.gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"], f"{prefix}-0000.params")
    return np.concatenate([net(mx.nd.array(x[i:i + batch_size])).asnumpy()
                           for i in range(0, len(x), batch_size)])


STEPS = 4


def step(number, text):
    """Prints the one line that says what step `number` of STEPS did."""
    print(f"{number}/{STEPS} {text}", flush=True)


def mib(size):
    return f"{size / 2**20:.2f} MiB"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out/demo", help="folder for the exported and converted models")
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args(argv)

    import mxnet as mx
    from bmxnet import converter, deploy

    mnist = load_mnist_example()
    prefix = os.path.join(args.out, "binary_lenet")
    os.makedirs(args.out, exist_ok=True)
    # The training's own lines (one per epoch) go to a log; its progress bar shows on a terminal.
    train_log = os.path.join(args.out, "train.log")
    t0 = time.time()
    train_args = mnist.parse_args(["--epochs", str(args.epochs), "--prefix", prefix, "--val-count", "1000"])
    with open(train_log, "w") as log, contextlib.redirect_stdout(log):
        net, val_x, val_y, val_acc = mnist.train(train_args)
    trained = np.concatenate([net(mx.nd.array(val_x[i:i + 500])).asnumpy() for i in range(0, len(val_x), 500)])
    train_s = time.time() - t0
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    step(1, f"trained a binary LeNet on the bundled MNIST sample ({epochs}, {train_s:.0f} s): "
            f"accuracy {val_acc:.4f} on the last {len(val_x):,} images; log {train_log}")

    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    converted_prefix = os.path.join(args.out, "binarized_binary_lenet")
    float_bytes = sum(layer.float_bytes for layer in report.converted)
    packed_bytes = sum(layer.packed_bytes for layer in report.converted)
    ratio = float_bytes / max(packed_bytes, 1)
    step(2, f"converted it: {len(report.converted)} binary layers packed {ratio:.0f}x "
            f"({float_bytes:,} -> {packed_bytes:,} weight bytes); files {mib(report.size_before)} -> "
            f"{mib(report.size_after)} as {converted_prefix}-*")

    def accuracy(out):
        return float((out.argmax(axis=1) == val_y).mean())

    def max_rel(a, b):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))

    checks = [("accuracy >= 0.95", val_acc >= 0.95),
              ("binary layers packed 32x", len(report.converted) > 0 and float_bytes >= 31 * packed_bytes)]

    def compare(number, where, out):
        same = int((out.argmax(axis=1) == trained.argmax(axis=1)).sum())
        step(number, f"predicted {len(out):,} images {where}: accuracy {accuracy(out):.4f}, "
                     f"top-1 as trained {same}/{len(out)}, max rel. diff {max_rel(out, trained):.1e}")
        checks.append((f"{where}: identical predictions", same == len(out)))
        checks.append((f"{where}: outputs within 1e-5", max_rel(out, trained) <= 1e-5))

    compare(3, "in Python (SymbolBlock.imports of the converted model)",
            predict_python(converted_prefix, val_x))
    compare(4, "from C (bmx_predict: MXLoadLib + MXPredCreate)",
            deploy.run_c_predict(converted_prefix, batch=val_x, top=3))

    failed = [name for name, ok in checks if not ok]
    print("all checks passed" if not failed else "FAILED: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

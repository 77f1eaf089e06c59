#!/usr/bin/env python
"""bmxnet end to end: train a binary LeNet on the bundled MNIST sample, export it, convert it,
predict with it from Python and from C (MXNet's C predict API), and print a short report.

Run with `make demo`. Exits non-zero if any check fails.
"""
import argparse
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out/demo", help="folder for the exported and converted models")
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args(argv)

    import mxnet as mx
    import bmxnet
    from bmxnet import converter, deploy

    mnist = load_mnist_example()
    prefix = os.path.join(args.out, "binary_lenet")
    t0 = time.time()
    print("== 1. train (first 4,000 images of the bundled MNIST sample) ==")
    train_args = mnist.parse_args(["--epochs", str(args.epochs), "--prefix", prefix, "--val-count", "1000"])
    net, val_x, val_y, val_acc = mnist.train(train_args)
    trained = np.concatenate([net(mx.nd.array(val_x[i:i + 500])).asnumpy() for i in range(0, len(val_x), 500)])
    train_s = time.time() - t0

    print("\n== 2. convert ==")
    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=True)
    converted_prefix = os.path.join(args.out, "binarized_binary_lenet")

    print("\n== 3. predict: converted model in Python (SymbolBlock.imports) ==")
    python_out = predict_python(converted_prefix, val_x)

    print("== 4. predict: converted model from C (MXLoadLib + MXPredCreate) ==")
    c_out = deploy.run_c_predict(converted_prefix, batch=val_x, top=3)

    def accuracy(out):
        return float((out.argmax(axis=1) == val_y).mean())

    def max_rel(a, b):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))

    checks = []
    rows = [("trained Gluon net", trained), ("converted, Python", python_out), ("converted, C", c_out)]
    print("\n== report ==")
    print(f"{'where':<20} {'accuracy':>9} {'same top-1 as trained':>22} {'max rel. diff':>14}")
    for name, out in rows:
        same = int((out.argmax(axis=1) == trained.argmax(axis=1)).sum())
        print(f"{name:<20} {accuracy(out):>9.4f} {same:>15}/{len(out):<6} {max_rel(out, trained):>14.2e}")
        checks.append((f"{name}: identical predictions", same == len(out)))
        checks.append((f"{name}: outputs within 1e-5", max_rel(out, trained) <= 1e-5))
    float_bytes = sum(layer.float_bytes for layer in report.converted)
    packed_bytes = sum(layer.packed_bytes for layer in report.converted)
    print(f"\nbinary layers: {len(report.converted)}; weights {float_bytes:,} bytes as float32 -> "
          f"{packed_bytes:,} bytes packed int32 ({float_bytes / max(packed_bytes, 1):.1f}x smaller)")
    print(f"model files: {report.size_before:,} -> {report.size_after:,} bytes")
    print(f"validation accuracy (last 1,000 images): {val_acc:.4f}; training took {train_s:.0f} s")
    checks.append(("accuracy >= 0.95", val_acc >= 0.95))
    checks.append(("binary layers packed 32x", len(report.converted) > 0 and float_bytes >= 31 * packed_bytes))
    failed = [name for name, ok in checks if not ok]
    print("\n" + ("all checks passed" if not failed else "FAILED: " + "; ".join(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

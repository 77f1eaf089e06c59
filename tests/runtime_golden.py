#!/usr/bin/env python
"""Converted models with their MXNet outputs: what the runtime must reproduce.

For every zoo model (random weights, BatchNorm statistics made non-trivial) and the MNIST
example's LeNet (trained briefly on the real MNIST files), this exports the model, converts it
with model-converter and runs the converted files through MXNet + the bmx_ op library as a
user does (``SymbolBlock.imports``). tests/python/test_runtime_equivalence.py compares the
runtime with these outputs on x86-64; ``--out DIR`` writes them as golden files for the
aarch64 build under qemu:

    DIR/<name>-symbol.json    the converted graph (model-converter's output, renamed)
    DIR/<name>-0000.params    its converted parameters
    DIR/<name>.shape          the input shape, one text line, batch first: "1,3,32,32"
    DIR/<name>.input.f32      the input: raw little-endian float32, NCHW, C order
    DIR/<name>.output.f32     MXNet's first output for it: raw little-endian float32
    DIR/<name>.output_shape   that output's shape, one text line: "1,10"
    DIR/models.txt            the names, one per line

    python tests/runtime_golden.py --out build/golden [--models binary_lenet,mnist_lenet]

Tolerance for a comparison (DESIGN.md): every value within 1e-4 of the largest |output|,
and the same top-1 class.
"""
import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MNIST_NAME = "mnist_lenet"
CLASSES = 10
# Small inputs keep MXNet quick. ImageNet-stem models get 64x64 so that their last feature maps
# stay 2x2 (see tests/python/test_model_zoo.py on MXNet's oneDNN BatchNorm over 1x1 maps).
INPUT_SHAPES = {"binary_lenet": (1, 1, 28, 28), "binary_resnet18_cifar": (1, 3, 32, 32)}
DEFAULT_SHAPE = (1, 3, 64, 64)
RELATIVE_TOLERANCE = 1e-4


@dataclass
class Case:
    """A converted model, an input for it and MXNet's output."""
    name: str
    symbol_file: str
    params_file: str
    x: np.ndarray
    expected: np.ndarray


def model_names():
    """Every zoo model and the MNIST example's LeNet."""
    from bmxnet import model_zoo

    return model_zoo.get_model_list() + [MNIST_NAME]


def input_shape(name):
    return (1, 1, 28, 28) if name == MNIST_NAME else INPUT_SHAPES.get(name, DEFAULT_SHAPE)


def randomize(net, seed):
    """Random weights (some exactly 0: sign(0) = +1) and BatchNorm statistics and affine terms
    as after training, so that folding them and the thresholds they set are exercised."""
    import mxnet as mx

    rng = np.random.RandomState(seed)
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith("running_var"):
            value = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("gamma"):
            value = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
        elif name.endswith(("running_mean", "beta", "bias")):
            value = rng.uniform(-1.0, 1.0, shape)
        else:
            value = rng.uniform(-1.0, 1.0, shape)
            value.flat[::7] = 0.0
        p.set_data(mx.nd.array(value, dtype="float32"))


def export_converted(net, x, directory, seed):
    """Initializes `net` on input `x` (an NDArray), randomizes its weights, exports it to
    `directory`/model and converts it; returns the converted (symbol file, params file)."""
    import mxnet as mx

    from bmxnet.converter import convert

    net.initialize(mx.init.Xavier())
    net(x)
    randomize(net, seed)
    net.hybridize()
    net(x)
    prefix = os.path.join(directory, "model")
    net.export(prefix)
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    return report.symbol_out, report.params_out


def assert_equivalent(actual, expected):
    """The runtime's contract with the MXNet path: the same shape, every value within
    RELATIVE_TOLERANCE of the largest |expected| value, and the same top-1 class per sample."""
    assert actual.shape == expected.shape
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(actual, expected, rtol=0,
                               atol=RELATIVE_TOLERANCE * max(scale, 1e-30))
    np.testing.assert_array_equal(actual.reshape(len(actual), -1).argmax(axis=1),
                                  expected.reshape(len(expected), -1).argmax(axis=1))


def _export_zoo_model(name, directory, seed):
    import mxnet as mx

    from bmxnet import model_zoo

    net = model_zoo.get_model(name, classes=CLASSES)
    net.initialize(mx.init.Xavier())
    x = mx.nd.zeros(input_shape(name))
    net(x)  # completes the deferred shapes
    randomize(net, seed)
    net.hybridize()
    net(x)
    prefix = os.path.join(directory, name)
    net.export(prefix)
    return prefix


def _export_mnist_lenet(directory):
    """The MNIST example's LeNet, as examples/mnist/train.py builds and exports it, trained for
    a moment on the real images; returns (prefix, one validation image)."""
    sys.path.insert(0, os.path.join(ROOT, "examples", "mnist"))
    try:
        import train as mnist_train
    finally:
        sys.path.pop(0)
    prefix = os.path.join(directory, MNIST_NAME)
    args = mnist_train.parse_args(["--epochs", "1", "--train-count", "2000", "--val-count",
                                   "200", "--prefix", prefix])
    with contextlib.redirect_stdout(io.StringIO()):
        _, val_x, _, _ = mnist_train.train(args)
    return prefix, np.ascontiguousarray(val_x[:1], dtype=np.float32)


def mxnet_output(symbol_file, params_file, x):
    """The converted model's first output through MXNet + the bmx_ ops, as a user runs it."""
    import warnings

    import mxnet as mx

    import bmxnet  # noqa: F401  (registers the bmx_ ops)

    with warnings.catch_warnings():  # "Cannot decide type for ... data": it is float32
        warnings.simplefilter("ignore", UserWarning)
        block = mx.gluon.SymbolBlock.imports(symbol_file, ["data"], params_file)
    out = block(mx.nd.array(x))
    if isinstance(out, (list, tuple)):
        out = out[0]
    return out.asnumpy()


def prepare(name, directory, seed=0):
    """Exports, converts and runs model `name` in `directory`; returns its Case."""
    from bmxnet.converter import convert

    if name == MNIST_NAME:
        prefix, x = _export_mnist_lenet(directory)
    else:
        prefix = _export_zoo_model(name, directory, seed)
        x = np.random.RandomState(seed + 1).uniform(-1, 1, input_shape(name)).astype(np.float32)
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    expected = mxnet_output(report.symbol_out, report.params_out, x)
    return Case(name, report.symbol_out, report.params_out, x, expected)


def write_golden(case, out_dir):
    """The golden files of `case` in out_dir (see the module docstring)."""
    base = os.path.join(out_dir, case.name)
    shutil.copyfile(case.symbol_file, f"{base}-symbol.json")
    shutil.copyfile(case.params_file, f"{base}-0000.params")
    with open(f"{base}.shape", "w") as f:
        f.write(",".join(str(d) for d in case.x.shape) + "\n")
    with open(f"{base}.output_shape", "w") as f:
        f.write(",".join(str(d) for d in case.expected.shape) + "\n")
    case.x.astype("<f4").tofile(f"{base}.input.f32")
    case.expected.astype("<f4").tofile(f"{base}.output.f32")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the golden files")
    parser.add_argument("--models", default=None,
                        help="comma-separated names (default: every zoo model and mnist_lenet)")
    args = parser.parse_args(argv)
    names = model_names()
    if args.models:
        wanted = [n.strip() for n in args.models.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown model(s) {', '.join(unknown)}; valid: {', '.join(names)}")
        names = wanted
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bmx_golden_") as tmp:
        for name in names:
            directory = os.path.join(tmp, name)
            os.makedirs(directory)
            case = prepare(name, directory)
            write_golden(case, args.out)
            print(f"{name}: input {case.x.shape} -> output {case.expected.shape}, "
                  f"top-1 {int(case.expected.reshape(case.expected.shape[0], -1)[0].argmax())}",
                  flush=True)
    with open(os.path.join(args.out, "models.txt"), "w") as f:
        f.write("".join(f"{n}\n" for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())

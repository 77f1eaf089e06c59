"""Golden files for the runtime's equivalence tests, for when tests/runtime_golden.py (every
zoo model and the MNIST example) is not in the tree: the binary LeNet of the MNIST example only,
random weights and BatchNorm statistics, converted, run once through MXNet + the bmx_ ops.

Writes, per model, into --out: NAME-symbol.json and NAME-0000.params (the converter's output),
NAME.input.f32 and NAME.output.f32 (raw little-endian float32, NCHW) and NAME.shape
(text "1,1,28,28"), the format tests/aarch64/run_golden.c reads.
"""
import argparse
import os
import shutil
import sys
import tempfile

import mxnet as mx
import numpy as np

import bmxnet  # noqa: F401  (loads the bmx_ ops)
from bmxnet.converter import convert


def _randomize(net, rng):
    for name, p in sorted(net.collect_params().items()):
        if name.endswith(("running_var", "gamma")):
            value = rng.uniform(0.5, 2.0, p.shape)
        else:
            value = rng.uniform(-1.0, 1.0, p.shape)
        p.set_data(mx.nd.array(value, dtype="float32"))


def _run_converted(symbol_file, params_file, x):
    sym = mx.sym.load(symbol_file)
    loaded = mx.nd.load(params_file)
    args = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
    args["data"] = mx.nd.array(x)
    exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    return exe.forward(is_train=False)[0].asnumpy()


def write_model(name, net, shape, out_dir, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    net.initialize(mx.init.Uniform(1.0))
    net(mx.nd.array(x))
    _randomize(net, rng)
    net.hybridize()
    net(mx.nd.array(x))
    with tempfile.TemporaryDirectory() as tmp:
        net.export(os.path.join(tmp, "float"))
        prefix = os.path.join(out_dir, name)
        convert(os.path.join(tmp, "float-symbol.json"), os.path.join(tmp, "float-0000.params"),
                out_prefix=prefix, verbose=False)
    y = _run_converted(prefix + "-symbol.json", prefix + "-0000.params", x)
    x.astype("<f4").tofile(prefix + ".input.f32")
    y.astype("<f4").tofile(prefix + ".output.f32")
    with open(prefix + ".shape", "w") as f:
        f.write(",".join(str(d) for d in shape) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write the golden files into")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    write_model("binary_lenet", bmxnet.model_zoo.get_model("binary_lenet", classes=10),
                (1, 1, 28, 28), args.out, seed=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

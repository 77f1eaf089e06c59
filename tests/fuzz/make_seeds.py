"""Writes the fuzz seeds (tests/fuzz/seeds): tiny converted models in the fuzz target's input
layout (tests/fuzz/model_input.h): 4 bytes symbol JSON length (little-endian), 4 shape bytes
(N, C, H, W as 1 + b4 % 2, 1 + b5 % 16, 1 + b6 % 32, 1 + b7 % 32), the JSON, the .params bytes.

  .venv/bin/python tests/fuzz/make_seeds.py [--out tests/fuzz/seeds]

Seeds: a binary LeNet (float conv, BatchNorm, relu, max pool, binary conv and dense, float dense)
and a binary ResNet (two basic blocks with a downsampling shortcut, global average pool), both a
few channels wide at 8x8 so that each seed stays a few KB and runs in microseconds. Regression
inputs (files that once crashed the runtime) live beside them and are never rewritten here.
"""
import argparse
import os
import struct
import sys
import tempfile

import mxnet as mx
import numpy as np

import bmxnet
from bmxnet.converter import convert
from bmxnet.model_zoo.resnet import BinaryResNetV1


def _randomize(net, rng):
    for name, p in sorted(net.collect_params().items()):
        if name.endswith(("running_var", "gamma")):
            value = rng.uniform(0.5, 2.0, p.shape)
        else:
            value = rng.uniform(-1.0, 1.0, p.shape)
        p.set_data(mx.nd.array(value, dtype="float32"))


def seed_bytes(net, shape, seed):
    """The converted `net` at input `shape` (N, C, H, W) in the fuzz input layout."""
    rng = np.random.RandomState(seed)
    x = mx.nd.array(rng.uniform(-1.0, 1.0, shape))
    net.initialize(mx.init.Uniform(1.0))
    net(x)
    _randomize(net, rng)
    net.hybridize()
    net(x)
    with tempfile.TemporaryDirectory() as tmp:
        net.export(os.path.join(tmp, "float"))
        convert(os.path.join(tmp, "float-symbol.json"), os.path.join(tmp, "float-0000.params"),
                out_prefix=os.path.join(tmp, "model"), verbose=False)
        with open(os.path.join(tmp, "model-symbol.json"), "rb") as f:
            symbol = f.read()
        with open(os.path.join(tmp, "model-0000.params"), "rb") as f:
            params = f.read()
    n, c, h, w = shape
    header = struct.pack("<I", len(symbol)) + bytes([n - 1, c - 1, h - 1, w - 1])
    return header + symbol + params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "seeds"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    seeds = {
        "tiny_binary_lenet": (bmxnet.model_zoo.get_model(
            "binary_lenet", classes=10, channels=(4, 8), hidden=16), (1, 1, 8, 8)),
        "tiny_binary_resnet": (BinaryResNetV1([1, 1], [8, 8, 16], classes=4, thumbnail=True,
                                              prefix="tiny_resnet_"), (1, 3, 8, 8)),
    }
    for i, (name, (net, shape)) in enumerate(sorted(seeds.items())):
        data = seed_bytes(net, shape, seed=i)
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

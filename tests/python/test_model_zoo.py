"""Every model of bmxnet.model_zoo: forward pass, export, conversion, and the converted
model's output equals the trained one's."""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet
from bmxnet import model_zoo
from bmxnet.ste_sign import find_signs

try:
    from bmxnet import converter
except ImportError:  # pragma: no cover - the converter is part of the package
    converter = None

# Small inputs keep the test fast. ImageNet-stem models get 64x64 so that their last feature
# maps stay 2x2: MXNet 1.9.1's oneDNN BatchNorm can crash the process when a BatchNorm on
# (N, C, 1, 1) is followed, later in the same process, by one on (N, C) (e.g. binary_lenet's).
INPUT_SHAPES = {"binary_lenet": (2, 1, 28, 28), "binary_resnet18_cifar": (2, 3, 32, 32)}
DEFAULT_SHAPE = (2, 3, 64, 64)
EXPECTED = {"binary_lenet", "binary_resnet18_v1", "binary_resnet34_v1", "binary_resnet18_cifar",
            "binary_resnete18", "binary_densenet28", "binary_densenet37", "meliusnet22",
            "meliusnet29"}


def test_model_list_and_unknown_names():
    names = model_zoo.get_model_list()
    assert EXPECTED <= set(names) and names == sorted(names)
    with pytest.raises(ValueError, match="unknown model 'resnet9000'.*binary_resnet18_v1"):
        model_zoo.get_model("resnet9000")
    with pytest.raises(ValueError, match="no pretrained weights"):
        model_zoo.get_model("binary_resnet18_v1", pretrained=True)


# Quantized layers of each zoo model, as its architecture gives them: ResNet-N has N - 2
# binary 3x3 convolutions (all but the float stem and classifier; the 1x1 shortcuts are float
# and not counted in N), BinaryDenseNet-N has N - 5 (N counts the float stem, the three float
# transitions and the classifier), MeliusNet has two per block (dense + improvement), blocks
# (4, 5, 4, 4) for MeliusNet-22 and (4, 6, 8, 6) for MeliusNet-29; LeNet quantizes its second
# convolution and its hidden dense layer.
QUANTIZED_LAYERS = {
    "binary_lenet": 2, "binary_resnet18_v1": 16, "binary_resnet34_v1": 32,
    "binary_resnet18_cifar": 16, "binary_resnete18": 16, "binary_resnete34": 32,
    "binary_densenet28": 23, "binary_densenet37": 32, "meliusnet22": 34, "meliusnet29": 48,
}


@pytest.mark.parametrize("name", sorted(QUANTIZED_LAYERS))
def test_model_structure(name):
    """The structure the zoo documents, counted by bmxnet.summary: the first and the last
    layer with weights stay float (model_zoo's docstring), and the model has as many binary
    layers as its architecture."""
    from bmxnet.summary import summary

    assert sorted(model_zoo.get_model_list()) == sorted(QUANTIZED_LAYERS)
    net = model_zoo.get_model(name, classes=10)
    net.initialize()
    shape = (1, 1, 28, 28) if "lenet" in name else (1, 3, 32, 32) if "cifar" in name \
        else (1, 3, 64, 64)
    layers = [r for r in summary(net, shape).rows
              if r.kind != "BatchNorm" and (r.binary_params or r.float_params)]
    assert layers[0].kind == "float conv" and layers[0].binary_params == 0, layers[0].kind
    assert layers[-1].kind == "float dense" and layers[-1].binary_params == 0, layers[-1].kind
    binary = [r for r in layers if r.binary_params]
    assert all(r.float_params == 0 or r.kind.startswith("binary") for r in binary)
    assert len(binary) == QUANTIZED_LAYERS[name], [r.kind for r in layers]


def _run_inference(prefix, x):
    """Forward pass of an exported or converted model (the bmx_binary_* ops have no gradient)."""
    sym = mx.sym.load(prefix + "-symbol.json")
    loaded = mx.nd.load(prefix + "-0000.params")
    args = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
    args["data"] = x
    exe = sym.bind(mx.cpu(), args, aux_states=aux, grad_req="null")
    return exe.forward(is_train=False)[0].asnumpy()


def _randomize_batchnorms(net, rng):
    for p in net.collect_params().values():
        if p.name.endswith(("gamma", "running_var")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))
        elif p.name.endswith(("beta", "running_mean")):
            p.set_data(mx.nd.array(rng.uniform(-0.3, 0.3, p.shape)))


@pytest.mark.parametrize("name", model_zoo.get_model_list())
def test_model_forward_export_convert(tmp_path, name):
    mx.random.seed(0)
    rng = np.random.RandomState(0)
    shape = INPUT_SHAPES.get(name, DEFAULT_SHAPE)
    net = model_zoo.get_model(name, classes=7)
    net.initialize(mx.init.Xavier(magnitude=2))
    x = mx.nd.array(rng.uniform(-1, 1, shape))
    y = net(x)
    assert y.shape == (shape[0], 7)
    _randomize_batchnorms(net, rng)
    net.hybridize()
    y = net(x).asnumpy()
    assert np.isfinite(y).all()
    prefix = str(tmp_path / name)
    net.export(prefix)
    nodes = json.load(open(prefix + "-symbol.json"))["nodes"]
    signs = find_signs(nodes)
    n_binary = sum(n["op"] in ("Convolution", "FullyConnected") and n["inputs"][1][0] in signs
                   for n in nodes)
    assert n_binary >= 2, f"{name} has {n_binary} binary layers"
    loaded = nn.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
    np.testing.assert_allclose(loaded(x).asnumpy(), y, rtol=1e-5, atol=1e-5)

    if converter is None:
        pytest.skip("bmxnet.converter is not importable: conversion not checked")
    report = converter.convert(prefix + "-symbol.json", prefix + "-0000.params", verbose=False)
    assert len(report.converted) == n_binary, report.format()
    out = str(tmp_path / f"binarized_{name}")
    ops = {n["op"] for n in json.load(open(out + "-symbol.json"))["nodes"]}
    assert "bmx_binary_conv2d" in ops and "bmx_det_sign" not in ops
    yc = _run_inference(out, x)
    np.testing.assert_allclose(yc, y, rtol=1e-4, atol=1e-4 * np.abs(y).max())


def test_quantization_options_reach_every_binary_layer():
    net = model_zoo.get_model("binary_resnet18_cifar", bits=2, bits_a=2, pad_value=1)
    layers = []
    net.apply(lambda b: layers.append(b) if isinstance(b, bmxnet.nn.QConv2D) else None)
    assert len(layers) == 16
    assert all(l._bits == 2 and l._bits_a == 2 and l._pad_value == 1 for l in layers)
    assert bmxnet.model_zoo.get_model("binary_resnete18")._children  # builds
    lenet = model_zoo.get_model("binary_lenet", scaling="xnor")
    q = [b for b in lenet._children.values() if isinstance(b, bmxnet.nn.QDense)]
    assert q and q[0]._scaling == "xnor"

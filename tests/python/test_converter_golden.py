"""The converter's files stay the same, byte for byte: the SHA-256 of what it writes for
hand-written graphs that take every pass (no MXNet needed), and, where `make golden` has run,
the zoo models' converted files against build/golden (tests/runtime_golden.py).

A change that is meant to change the converted files updates the digests below (and build/golden
with ``rm build/golden/.complete && make golden``) and says why in its commit."""
import hashlib
import json
import os
import sys

import numpy as np
import pytest
from converter_graphs import Sym

from bmxnet.converter import convert

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
GOLDEN = os.path.join(ROOT, "build", "golden")


def _weight_entry(s, name):
    return next((i, 0) for i, n in enumerate(s.nodes) if n["name"] == name)


def _float_bn_and_binary_bn():
    """float conv -> BN, binary conv (-1 Pad) -> BN -> relu, binary dense -> BN, float dense."""
    s = Sym()
    x = s.batchnorm(s.conv(s.data(), "conv0", 8, 3, pad=(1, 1), binary=False), "bn0", 8)
    x = s.conv(x, "qconv0", 40, 8, pad_node=(-1, (0, 0, 0, 0, 1, 1, 1, 1)))
    x = s.op("Activation", "relu0", [s.batchnorm(x, "bn1", 40)], act_type="relu")
    x = s.batchnorm(s.dense(x, "qdense0", 70, 40 * 6 * 6), "bn2", 70)
    return s, s.dense(x, "dense0", 10, 70, binary=False)


def _xnor_offset_residual():
    """XNOR scaling with its bias add and a BatchNorm; BMXNet v2's offset; a shortcut add."""
    s = Sym()
    x = s.data()
    y = s.conv(x, "q0", 8, 8, pad=(1, 1), bias=False)
    m = s.op("mean", "q0_mean", [s.op("abs", "q0_abs", [_weight_entry(s, "q0_weight")])],
             axis="(1, 2, 3)")
    m = s.op("Reshape", "q0_scale", [s.op("BlockGrad", "q0_stop", [m])], shape="(1, -1, 1, 1)")
    y = s.op("broadcast_mul", "q0_mul", [y, m])
    b = s.op("Reshape", "q0_bias_r", [s.param("q0_bias", s.rng.randn(8).astype(np.float32))],
             shape="(1, -1, 1, 1)")
    y = s.batchnorm(s.op("broadcast_add", "q0_add", [y, b]), "bn0", 8)
    z = s.conv(y, "q1", 8, 8, pad=(1, 1), bias=True)
    s.nodes[_weight_entry(s, "q1_bias")[0]]["attrs"]["__wd_mult__"] = "0.0"  # kept as it was
    z = s.op("_div_scalar", "q1_div", [s.op("_plus_scalar", "q1_plus", [z], scalar=72)],
             scalar=2)
    return s, s.op("elemwise_add", "add0", [z, y])


def _conv1d_and_shared_weight():
    """A 1-D binary convolution, and a 2-D weight that two layers binarize."""
    s = Sym()
    x = s.sign(s.data(), "c1_data_sign")
    w = s.sign(s.weight("c1_weight", (8, 4, 3)), "c1_weight_sign")
    y = s.op("Convolution", "c1_fwd", [x, w], kernel="(3,)", num_filter=8, no_bias=True,
             layout="NCW")
    y = s.op("Reshape", "to2d", [y], shape="(0, 0, 1, -1)")
    y = s.conv(y, "q", 8, 8, bias=False)
    w2 = _weight_entry(s, "q_weight")
    y = s.op("Convolution", "q2_fwd", [s.sign(y, "q2_data_sign"), s.sign(w2, "q2_weight_sign")],
             kernel="(3, 3)", num_filter=8, no_bias=True)
    return s, y


# sha256 of the converted symbol file and of the params file, as the converter writes them.
DIGESTS = {
    "float_bn_and_binary_bn": (
        "6ba9a247da0a069024bb0cb248db35bb7fff24fd4ea22e0b460d6db87d538e4a",
        "ea15ea2425a40b56c709c378d7f9964b6fd819d5d1fff333c943bd41260ef3e6"),
    "xnor_offset_residual": (
        "2f3778781158e9e7a4a7408630d7d745ddb3fd376db0cc8130a5a1565ba80a70",
        "0aa73cf1f808577606b07eb6a72b2bfc9c3d2c8655050842ba000ca3dfceed9d"),
    "conv1d_and_shared_weight": (
        "57273801b76e5a3a5c4abfc64f1b5c4e8f53202cdd0ef811575aa606529e057f",
        "03ca6382856f16e3084889aca580c35205644db9f60dbad9c194235589318233"),
}
GRAPHS = {"float_bn_and_binary_bn": _float_bn_and_binary_bn,
          "xnor_offset_residual": _xnor_offset_residual,
          "conv1d_and_shared_weight": _conv1d_and_shared_weight}


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_converted_files_of_hand_written_graphs_are_unchanged(tmp_path, name):
    s, head = GRAPHS[name]()
    sym_path, params_path = s.save(tmp_path, [head])
    report = convert(sym_path, params_path, verbose=False)
    assert (_sha256(report.symbol_out), _sha256(report.params_out)) == DIGESTS[name]


def _without_params_id(symbol_bytes):
    """The symbol JSON without the params id, which golden files made before it lack."""
    sym = json.loads(symbol_bytes)
    sym.get("attrs", {}).pop("bmx_params_sha256", None)
    return sym


@pytest.mark.parametrize("name", ["binary_lenet", "binary_resnete18", "binary_resnet18_v1",
                                  "meliusnet22", "binary_densenet28"])
def test_zoo_models_convert_to_the_golden_files(tmp_path, name):
    """The zoo model exported as tests/runtime_golden.py exports it converts to the same
    params bytes and the same symbol as build/golden holds."""
    golden = os.path.join(GOLDEN, name)
    if not os.path.exists(f"{golden}-0000.params"):
        pytest.skip(f"{GOLDEN} has no {name}: run `make golden` to compare with it")
    pytest.importorskip("mxnet")
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        import runtime_golden
    finally:
        sys.path.pop(0)
    import mxnet as mx

    from bmxnet import model_zoo

    # Gluon names a model's parameters after how many models of its class the process made
    # before it: make those that `make golden` made first, in a fresh name scope.
    with mx.name.NameManager():
        for other in runtime_golden.model_names()[:runtime_golden.model_names().index(name)]:
            if other != runtime_golden.MNIST_NAME:
                model_zoo.get_model(other, classes=runtime_golden.CLASSES)
        prefix = runtime_golden._export_zoo_model(name, str(tmp_path), 0)
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    with open(report.params_out, "rb") as f, open(f"{golden}-0000.params", "rb") as g:
        assert f.read() == g.read(), f"{name}: the params differ from {golden}-0000.params"
    with open(report.symbol_out, "rb") as f, open(f"{golden}-symbol.json", "rb") as g:
        assert _without_params_id(f.read()) == _without_params_id(g.read())

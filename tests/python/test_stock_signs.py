"""The straight-through signs built from stock MXNet ops (bmxnet.ste_sign) against the op
library's bmx_det_sign / bmx_approx_sign, which the quantizers used before: forward values and
gradients equal bit for bit (sign of zero included) for every finite input, every quantizer
option, every zoo model and bmxnet.v2, and the converted models are the same files.

The reference is the same network with ste_sign's two functions swapped for the library ops."""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import bmxnet
from bmxnet import model_zoo, quantizers, ste_sign
from bmxnet import nn as qnn
from bmxnet.converter import convert


def _library_det_sign(F, x, clip_threshold=0.0):
    return F.bmx_det_sign(x, clip_threshold=float(clip_threshold or 0.0))


def _library_approx_sign(F, x, clip_threshold=1.0):
    if clip_threshold and 0 < clip_threshold < 1:
        x = F.where(F.abs(x) <= clip_threshold, x, F.BlockGrad(x))
    return F.bmx_approx_sign(x)


@pytest.fixture
def library_signs(monkeypatch):
    """A context in which the quantizers build graphs with the op library's signs."""
    class Swap:
        def __enter__(self):
            monkeypatch.setattr(ste_sign, "det_sign", _library_det_sign)
            monkeypatch.setattr(ste_sign, "approx_sign", _library_approx_sign)

        def __exit__(self, *exc):
            monkeypatch.undo()
    return Swap()


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def _assert_same_bits(actual, expected, what):
    actual, expected = np.asarray(actual, np.float32), np.asarray(expected, np.float32)
    assert actual.shape == expected.shape, what
    differ = np.flatnonzero(_bits(actual) != _bits(expected))
    assert differ.size == 0, (f"{what}: {differ.size} of {actual.size} values differ, e.g. at "
                              f"{differ[:5]}: {actual.ravel()[differ[:5]]} vs "
                              f"{expected.ravel()[differ[:5]]}")


# ------------------------------------------------------------------------------------------
# The two signs on their own, over the values where they could differ
# ------------------------------------------------------------------------------------------

def _edge_inputs(rng, n=4096):
    x = (rng.randn(n) * 1.5).astype(np.float32)
    special = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, np.nextafter(1, 2), -np.nextafter(1, 2),
               np.nextafter(1, 0), -np.nextafter(1, 0), 1e30, -1e30, 1e-45, -1e-45, 2.0,
               -2.0, 3e38, -3e38, 0.25, 1e-8, np.nextafter(0.5, 1), np.nextafter(0.5, 0)]
    x[:len(special)] = special
    dy = rng.randn(n).astype(np.float32)
    dy[100:110] = 0.0
    dy[110:120] = -0.0
    return x, dy


class _Fn(gluon.HybridBlock):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def hybrid_forward(self, F, x):
        return self.fn(F, x)


def _run(fn, x, dy, hybridize):
    block = _Fn(fn)
    if hybridize:
        block.hybridize()
    a = mx.nd.array(x)
    a.attach_grad()
    with autograd.record():
        y = block(a)
    y.backward(mx.nd.array(dy))
    return y.asnumpy(), a.grad.asnumpy()


@pytest.mark.parametrize("hybridize", [False, True])
@pytest.mark.parametrize("kind, clip", [("det_sign", None), ("det_sign", 0.0),
                                        ("det_sign", 0.5), ("det_sign", 1.0),
                                        ("det_sign", 2.5), ("approx_sign", None),
                                        ("approx_sign", 1.0), ("approx_sign", 0.5),
                                        ("approx_sign", 3.0)])
def test_sign_equals_the_library_op_bit_for_bit(kind, clip, hybridize):
    x, dy = _edge_inputs(np.random.RandomState(0))
    stock = getattr(ste_sign, kind)
    library = _library_det_sign if kind == "det_sign" else _library_approx_sign
    args = {} if clip is None else {"clip_threshold": clip}
    y, g = _run(lambda F, v: stock(F, v, **args), x, dy, hybridize)
    y_ref, g_ref = _run(lambda F, v: library(F, v, **args), x, dy, hybridize)
    _assert_same_bits(y, y_ref, f"{kind} forward")
    _assert_same_bits(g, g_ref, f"{kind} gradient")
    assert set(np.unique(y)) <= {-1.0, 1.0}


@pytest.mark.parametrize("kind", ["det_sign", "approx_sign"])
def test_infinite_and_nan_inputs_give_nan(kind):
    """The documented difference: the gradient carrier m - BlockGrad(x) is NaN there (the
    library op gave +-1), so a diverged activation shows as NaN."""
    x = np.array([np.inf, -np.inf, np.nan, 1.0], np.float32)
    y, _ = _run(lambda F, v: getattr(ste_sign, kind)(F, v), x, np.ones(4, np.float32), False)
    assert np.isnan(y[:3]).all() and y[3] == 1.0


def test_training_graph_has_no_library_op():
    x = mx.sym.var("data")
    for q in quantizers.names():
        ops = {n["op"] for n in json.loads(quantizers.get(q)(mx.sym, x).tojson())["nodes"]}
        assert not ops & set(ste_sign.LIBRARY_SIGN_OPS), (q, ops)


# ------------------------------------------------------------------------------------------
# Layers with every quantizer option, zoo models, bmxnet.v2: the same network twice
# ------------------------------------------------------------------------------------------

def _forward_backward(make, shape, params_file, library_signs, use_library, seed=3):
    """(output, input gradient, {parameter: gradient}) of make()'s network in training mode;
    both runs load the same parameters from `params_file` (written by the first)."""
    mx.random.seed(seed)
    if use_library:
        with library_signs:
            net = make()
            return _train_step(net, shape, params_file, seed)
    return _train_step(make(), shape, params_file, seed)


def _train_step(net, shape, params_file, seed):
    rng = np.random.RandomState(seed)
    net.initialize(mx.init.Xavier(magnitude=2.5))
    x = mx.nd.array(rng.uniform(-1.5, 1.5, shape).astype(np.float32))
    x[0, 0] = 0  # exact zeros, where MXNet's sign alone would give 0
    net(x)  # deferred shapes
    if os.path.exists(params_file):
        net.load_parameters(params_file)
    else:
        net.save_parameters(params_file)
    net.hybridize()
    x.attach_grad()
    with autograd.record():
        y = net(x)
        loss = (y * mx.nd.array(rng.randn(*y.shape).astype(np.float32))).sum()
    loss.backward()
    grads = {name: p.grad().asnumpy() for name, p in net.collect_params().items()
             if p.grad_req != "null"}
    return y.asnumpy(), x.grad.asnumpy(), grads


def _assert_same_training_step(make, shape, tmp_path, library_signs):
    params = str(tmp_path / "init.params")
    y_ref, gx_ref, g_ref = _forward_backward(make, shape, params, library_signs, True)
    y, gx, g = _forward_backward(make, shape, params, library_signs, False)
    _assert_same_bits(y, y_ref, "forward")
    _assert_same_bits(gx, gx_ref, "input gradient")
    ref = dict(zip(sorted(g_ref), (g_ref[k] for k in sorted(g_ref))))
    assert len(g) == len(ref)
    for (name, grad), (ref_name, ref_grad) in zip(sorted(g.items()), sorted(ref.items())):
        _assert_same_bits(grad, ref_grad, f"gradient of {name}")


def _wrap(*layers):
    net = gluon.nn.HybridSequential()
    net.add(*layers)
    return net


LAYER_CASES = {
    **{f"QActivation-{q}-clip{c}": (lambda q=q, c=c: _wrap(qnn.QActivation(q, clip_threshold=c)),
                                    (2, 3, 5, 5))
       for q in quantizers.names() if quantizers.is_sign(q) for c in (None, 0, 0.5, 1.0, 2.0)},
    **{f"QActivation-bits{b}": (lambda b=b: _wrap(qnn.QActivation(bits=b)), (2, 3, 5, 5))
       for b in (2, 8)},
    **{f"QConv2D-in-{qi}-w-{qw}": (
        lambda qi=qi, qw=qw: _wrap(qnn.QConv2D(6, 3, padding=1, input_quantizer=qi,
                                               kernel_quantizer=qw)), (2, 3, 6, 6))
       for qi in quantizers.names() if quantizers.is_sign(qi) or qi == "identity"
       for qw in ("det_sign", "approx_sign", "swish_sign")},
    **{f"QConv2D-pad{p}-{s}": (
        lambda p=p, s=s: _wrap(qnn.QConv2D(6, 3, padding=1, pad_value=p, scaling=s,
                                           use_bias=s is None)), (2, 3, 6, 6))
       for p in (-1, 0, 1) for s in (None, "xnor")},
    **{f"QConv2D-bits{b}-{a}": (
        lambda b=b, a=a: _wrap(qnn.QConv2D(4, 3, bits=b, bits_a=a, clip_threshold=0.5)),
        (2, 3, 6, 6)) for b in (1, 2, 32) for a in (1, 2, 32)},
    "QConv2D-abc": (lambda: _wrap(qnn.QConv2D(4, 3, weight_bases=2, act_bases=3,
                                              use_bias=False, padding=1)), (2, 3, 6, 6)),
    "QConv2D-offset": (lambda: _wrap(qnn.QConv2D(4, 3, offset=True, use_bias=False)),
                       (2, 3, 6, 6)),
    "QConv1D": (lambda: _wrap(qnn.QConv1D(4, 3, padding=1, pad_value=1)), (2, 3, 9)),
    **{f"QDense-{q}-{s}": (lambda q=q, s=s: _wrap(qnn.QDense(5, input_quantizer=q, scaling=s)),
                           (3, 7)) for q in ("det_sign", "approx_sign") for s in (None, "xnor")},
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_training_step_is_unchanged(case, tmp_path, library_signs):
    make, shape = LAYER_CASES[case]
    _assert_same_training_step(make, shape, tmp_path, library_signs)


# The ImageNet-stem models at 64x64: at 32x32 their last stage is 1x1, and a LeNet trained after
# that in the same process crashes inside MXNet (seen with stock ops alone, too).
ZOO_SHAPES = {"binary_lenet": (2, 1, 28, 28), "binary_resnet18_v1": (2, 3, 64, 64),
              "binary_resnet34_v1": (2, 3, 64, 64), "binary_resnete18": (2, 3, 64, 64),
              "binary_resnete34": (2, 3, 64, 64), "binary_densenet28": (2, 3, 32, 32),
              "binary_densenet37": (2, 3, 32, 32), "meliusnet22": (2, 3, 32, 32),
              "meliusnet29": (2, 3, 32, 32)}


# LeNet first: MXNet 1.9.1's oneDNN BatchNorm crashes on LeNet's 2-D BatchNorm once another
# zoo model has run in the process (a forward pass alone shows it, with stock ops only too).
@pytest.mark.parametrize("name", sorted(model_zoo.get_model_list(),
                                        key=lambda n: (n != "binary_lenet", n)))
def test_zoo_training_step_is_unchanged(name, tmp_path, library_signs):
    shape = ZOO_SHAPES.get(name, (2, 3, 32, 32))
    _assert_same_training_step(lambda: model_zoo.get_model(name, classes=10), shape, tmp_path,
                               library_signs)


def test_v2_training_step_is_unchanged(tmp_path, library_signs):
    from bmxnet.v2 import nn as v2nn

    def make():
        return _wrap(v2nn.QActivation(), v2nn.QConv2D(6, 3, padding=1),
                     v2nn.BatchNorm(), v2nn.QActivation(method="sign_approx_sign"),
                     v2nn.QConv2D(4, 3, apply_scaling=True), v2nn.QDense(5),
                     v2nn.QDense(3, no_offset=True))
    _assert_same_training_step(make, (2, 3, 6, 6), tmp_path, library_signs)


@pytest.mark.parametrize("op", ["det_sign", "approx_sign", "round_ste", "gradcancel"])
def test_v2_ops_are_unchanged(op, library_signs):
    from bmxnet import v2
    x, dy = _edge_inputs(np.random.RandomState(1))
    # v2's approx_sign shapes its gradient with 2x - x|x|, NaN once x|x| overflows
    x = x[np.abs(x) < 1e18]
    dy = dy[:x.size]
    fn = getattr(v2, op)
    y, g = _run(lambda F, v: fn(v), x, dy, True)
    with library_signs:
        y_ref, g_ref = _run(lambda F, v: fn(v), x, dy, True)
    _assert_same_bits(y, y_ref, f"v2.{op} forward")
    _assert_same_bits(g, g_ref, f"v2.{op} gradient")


# ------------------------------------------------------------------------------------------
# The converter and summary: the same packed model from either export
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, shape", [("binary_lenet", (1, 1, 28, 28)),
                                         ("binary_resnete18", (1, 3, 32, 32)),
                                         ("meliusnet22", (1, 3, 32, 32))])
def test_converted_model_is_the_same_file(name, shape, tmp_path, library_signs):
    params = str(tmp_path / "init.params")
    prefixes = {}
    for use_library in (True, False):
        mx.random.seed(0)
        if use_library:
            with library_signs:
                net = model_zoo.get_model(name, classes=10, prefix="net_")
        else:
            net = model_zoo.get_model(name, classes=10, prefix="net_")
        net.initialize(mx.init.Xavier())
        x = mx.nd.array(np.random.RandomState(2).uniform(size=shape))
        net(x)
        if use_library:
            net.save_parameters(params)
        else:
            net.load_parameters(params)
        net.hybridize()
        tag = "library" if use_library else "stock"
        prefix = str(tmp_path / tag / name)
        os.makedirs(os.path.dirname(prefix))
        bmxnet.export(net, prefix, input_shape=shape)
        prefixes[tag] = prefix
    ops = {n["op"] for n in json.load(open(prefixes["stock"] + "-symbol.json"))["nodes"]}
    assert ste_sign.find_signs(json.load(open(prefixes["stock"] + "-symbol.json"))["nodes"])
    assert not ops & set(ste_sign.LIBRARY_SIGN_OPS)
    reports = {tag: convert(p + "-symbol.json", p + "-0000.params", verbose=False)
               for tag, p in prefixes.items()}
    assert [layer.name for layer in reports["stock"].converted] == \
        [layer.name for layer in reports["library"].converted]
    with open(reports["stock"].params_out, "rb") as a, \
            open(reports["library"].params_out, "rb") as b:
        assert a.read() == b.read()
    outputs = []
    for report in reports.values():
        block = gluon.SymbolBlock.imports(report.symbol_out, ["data"], report.params_out)
        outputs.append(block(mx.nd.array(np.random.RandomState(4).uniform(size=shape)))
                       .asnumpy())
    _assert_same_bits(outputs[0], outputs[1], "converted model output")
    summaries = [str(bmxnet.summary(p)) for p in prefixes.values()]
    assert summaries[0].replace("library", "stock") == summaries[1].replace("library", "stock")


# ------------------------------------------------------------------------------------------
# Which signs a model gets: stock ops by default, the library's on CPU-only training
# ------------------------------------------------------------------------------------------

def _graph_ops(net, shape):
    net.initialize()
    net.hybridize()
    net(mx.nd.ones(shape))
    sym = net._cached_graph[1]
    return {n["op"] for n in json.loads(sym.tojson())["nodes"]}


def test_layers_keep_the_sign_ops_they_were_built_with():
    with ste_sign.library_ops():
        library = qnn.QConv2D(4, 3, padding=1)
    stock = qnn.QConv2D(4, 3, padding=1)
    assert not ste_sign.library_ops_enabled()  # the block restored the default
    assert "bmx_det_sign" in _graph_ops(library, (1, 2, 5, 5))
    assert not _graph_ops(stock, (1, 2, 5, 5)) & set(ste_sign.LIBRARY_SIGN_OPS)


@pytest.mark.parametrize("ctx, library", [(["cpu:0"], True), (["cpu:0", "cpu:1"], True),
                                          (["gpu:0"], False), (["cpu:0", "gpu:1"], False)])
def test_training_builds_library_signs_only_for_cpu_devices(ctx, library):
    import argparse
    from bmxnet import training

    args = argparse.Namespace(model="binary_lenet", ctx=ctx, bits=None, bits_a=None,
                              clip_threshold=None, pad_value=None, scaling="none")
    ops = _graph_ops(training.build_model(args, classes=10), (1, 1, 28, 28))
    assert bool(ops & set(ste_sign.LIBRARY_SIGN_OPS)) == library, ops
    assert not ste_sign.library_ops_enabled()

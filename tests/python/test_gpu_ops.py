"""Every bmxnet training graph runs on a GPU with the stock CUDA wheel: each op of its forward
and backward graph has a GPU implementation in MXNet 1.9.1 (bmxnet.gpu_ops and the list
tools/gpu_ops/extract_mxnet_gpu_ops.py reads from MXNet's sources). No GPU is needed.

The graphs: every model of the zoo, bmxnet.nn's layers with each of their options, and all of
bmxnet.v2 (layers, blocks and ops). Plus the extractor on a small fake MXNet source tree."""
import importlib.util
import os
import shutil
import subprocess

import mxnet as mx
import pytest

import bmxnet  # noqa: F401  (loads the op library)
from bmxnet import gpu_ops, model_zoo, nn, quantizers, v2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXTRACTOR = os.path.join(ROOT, "tools", "gpu_ops", "extract_mxnet_gpu_ops.py")


def _assert_trains_on_gpu(graph, net, shape):
    ops = gpu_ops.training_graph_ops(net, shape)
    assert ops, f"{graph}: no ops found in its training graph"
    missing = gpu_ops.missing_gpu_ops(ops)
    assert not missing, (f"{graph}: its training graph holds ops with no GPU implementation in "
                         f"stock MXNet 1.9.1: {', '.join(missing)}")


# ------------------------------------------------------------------------------------------
# The graphs
# ------------------------------------------------------------------------------------------

WIDTHS = (1, 2, 32)
CLIPS = (None, 0.5, 1.0)
ACT_SHAPE = (2, 3, 6, 6)
# name: (layer constructor, input shape)
NN_LAYERS = {
    "QConv1D": (lambda **kw: nn.QConv1D(4, 3, **kw), (2, 3, 8)),
    "QConv2D": (lambda **kw: nn.QConv2D(4, 3, **kw), (2, 3, 6, 6)),
    "QDense": (lambda **kw: nn.QDense(4, **kw), (2, 8)),
}
CONVS = ("QConv1D", "QConv2D")
# Small inputs keep the test fast; ImageNet-stem models get 64x64, as in test_model_zoo (whose
# comment says why not smaller).
MODEL_SHAPES = {"binary_lenet": (2, 1, 28, 28), "binary_resnet18_cifar": (2, 3, 32, 32)}
MODEL_DEFAULT_SHAPE = (2, 3, 64, 64)


def _args(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items())


def _sign_width(quantizer):
    """The width a quantizer is used at: DoReFa is 2..31-bit by definition, the others 1."""
    return 2 if quantizer == "dorefa" else 1


def _nn_cases():
    cases = []
    for q in quantizers.names():
        for bits in WIDTHS:
            if q == "dorefa" and bits == 1:
                continue  # refused by design (DoReFa needs 2..31 bits)
            for clip in CLIPS:
                kw = dict(quantizer=q, bits=bits, clip_threshold=clip)
                cases.append((f"nn.QActivation({_args(kw)})",
                               lambda kw=kw: nn.QActivation(**kw), ACT_SHAPE))
    for layer, (make, shape) in NN_LAYERS.items():
        pad = dict(padding=1) if layer in CONVS else {}
        options = []
        # Every pair of input and kernel quantizers.
        for iq in quantizers.names():
            for kq in quantizers.names():
                options.append(dict(input_quantizer=iq, kernel_quantizer=kq,
                                    bits_a=_sign_width(iq), bits=_sign_width(kq), **pad))
        # Every pair of widths, with each gradient cancelling.
        for bits in WIDTHS:
            for bits_a in WIDTHS:
                for clip in CLIPS:
                    options.append(dict(bits=bits, bits_a=bits_a, clip_threshold=clip, **pad))
        # Scaling, the offset, the bias, Gluon's output activation and (convolutions) the pad
        # value of binarized inputs.
        for scaling in (None, "xnor"):
            for offset in (False, True):
                if scaling and offset:
                    continue  # refused by design (scaled outputs have no offset)
                for use_bias in (True, False):
                    for pad_value in ((-1, 0, 1) if layer in CONVS else (None,)):
                        kw = dict(scaling=scaling, offset=offset, use_bias=use_bias, **pad)
                        if pad_value is not None:
                            kw["pad_value"] = pad_value
                        options.append(kw)
        options.append(dict(activation="relu", **pad))
        # ABC-Net bases (convolutions).
        if layer in CONVS:
            for bases in ((2, 1), (1, 2), (3, 3)):
                for pad_value in (-1, 0, 1):
                    options.append(dict(weight_bases=bases[0], act_bases=bases[1],
                                        pad_value=pad_value, padding=1))
            options.append(dict(weight_bases=2, act_bases=2, use_bias=False, padding=1))
            options.append(dict(weight_bases=2, act_bases=2, input_quantizer="approx_sign",
                                kernel_quantizer="approx_sign", clip_threshold=0.5, padding=1))
        for kw in options:
            cases.append((f"nn.{layer}({_args(kw)})", lambda make=make, kw=kw: make(**kw), shape))
    return cases


def _model_cases():
    cases = []
    for name in model_zoo.get_model_list():
        shape = MODEL_SHAPES.get(name, MODEL_DEFAULT_SHAPE)
        cases.append((f"model_zoo.{name}",
                      lambda name=name: model_zoo.get_model(name, classes=7), shape))
    # Quantization options reach every quantized layer of a model.
    for kw in (dict(bits=2, bits_a=2), dict(input_quantizer="approx_sign", scaling="xnor"),
               dict(pad_value=0, clip_threshold=0.5)):
        cases.append((f"model_zoo.binary_resnet18_cifar({_args(kw)})",
                      lambda kw=kw: model_zoo.get_model("binary_resnet18_cifar", classes=7, **kw),
                      MODEL_SHAPES["binary_resnet18_cifar"]))
    return cases


class _InConfig:
    """Builds `make()` inside ``v2.set_binary_layer_config(**config)``: v2 layers read the
    config when they are built, and a width needs its methods there (the config switches a
    method that does not fit its width to that width's default)."""

    def __init__(self, make, **config):
        self.make, self.config = make, config

    def __call__(self):
        with v2.set_binary_layer_config(**self.config):
            return self.make()


def _v2_cases():
    cases = []
    x = mx.sym.var("data")
    for name, op in (("det_sign", v2.det_sign), ("approx_sign", v2.approx_sign),
                     ("round_ste", v2.round_ste),
                     ("gradcancel", lambda s: v2.gradcancel(s, 0.5))):
        cases.append((f"v2.{name}", lambda op=op: op(x), ACT_SHAPE))
    methods = {1: ("det_sign", "sign_approx_sign", "round"), 2: ("round", "dorefa"),
               32: ("identity", "approx_sign", "relu", "clip", "leaky_clip")}
    for bits, names in methods.items():
        for method in names:
            for threshold in (None, 0.5):
                kw = dict(bits=bits, method=method, gradient_cancel_threshold=threshold)
                cases.append((f"v2.QActivation({_args(kw)})",
                              lambda kw=kw: v2.QActivation(**kw), ACT_SHAPE))
    # Weight quantization methods of each width (1-bit: both signs).
    weight_methods = [(1, "det_sign"), (1, "sign_approx_sign"), (2, "dorefa"), (32, "identity")]
    layers = {"QDense": (lambda **kw: v2.QDense(4, **kw), (2, 8)),
              "QConv1D": (lambda **kw: v2.QConv1D(4, 3, **kw), (2, 3, 8)),
              "QConv2D": (lambda **kw: v2.QConv2D(4, 3, **kw), (2, 3, 6, 6)),
              "QConv3D": (lambda **kw: v2.QConv3D(4, 3, **kw), (2, 2, 5, 5, 5))}
    for layer, (make, shape) in layers.items():
        paddings = (0,) if layer == "QDense" else (0, 1)
        for bits, method in weight_methods:
            for padding in paddings:
                for no_offset in (False, True):
                    kw = dict(bits=bits, no_offset=no_offset)
                    if layer != "QDense":
                        kw["padding"] = padding
                    cases.append((f"v2.{layer}({_args(kw)}) [weight_quantization={method}]",
                                  _InConfig(lambda make=make, kw=kw: make(**kw), bits=bits,
                                            weight_quantization=method), shape))
    for approximation in ("", "xnor"):
        kw = dict(bits=1, padding=1, apply_scaling=True)
        cases.append((f"v2.QConv2D({_args(kw)}) [approximation={approximation!r}]",
                      _InConfig(lambda kw=kw: v2.QConv2D(4, 3, **kw),
                                approximation=approximation), (2, 3, 6, 6)))
    blocks = {"BinaryConvolution": v2.BinaryConvolution,
              "ScaledWeightsBinaryConv": v2.ScaledWeightsBinaryConv,
              "ScaledBinaryConv": v2.ScaledBinaryConv}
    for name, block in blocks.items():
        for approximation in ("", "xnor"):
            for bits, bits_a in ((1, 1), (2, 2)):
                kw = dict(bits=bits, bits_a=bits_a, padding=1)
                cases.append((f"v2.{name}(4, {_args(kw)}) [approximation={approximation!r}]",
                              _InConfig(lambda block=block, kw=kw: block(4, **kw), bits=bits,
                                        bits_a=bits_a, approximation=approximation),
                              (2, 3, 6, 6)))
    for approximation in ("", "binet", "xnor"):
        cases.append((f"v2.activated_conv(4, padding=1) [approximation={approximation!r}]",
                      _InConfig(lambda: v2.activated_conv(4, padding=1),
                                approximation=approximation), (2, 3, 6, 6)))
    # A v2 network as v2's examples build one.
    def v2_net():
        net = v2.nn.HybridSequential()
        with net.name_scope():
            net.add(v2.nn.Conv2D(8, 3, padding=1), v2.nn.BatchNorm(),
                    v2.activated_conv(8, padding=1), v2.nn.BatchNorm(),
                    v2.nn.QActivation(), v2.nn.QDense(5))
        return net
    cases.append(("v2 network (Conv2D, BatchNorm, activated_conv, QActivation, QDense)", v2_net,
                  (2, 3, 6, 6)))
    return cases


def _params(cases):
    return [pytest.param(make, shape, id=graph) for graph, make, shape in cases]


@pytest.mark.parametrize("make,shape", _params(_model_cases()))
def test_model_zoo_trains_on_gpu(request, make, shape):
    _assert_trains_on_gpu(request.node.callspec.id, make(), shape)


@pytest.mark.parametrize("make,shape", _params(_nn_cases()))
def test_nn_layer_trains_on_gpu(request, make, shape):
    _assert_trains_on_gpu(request.node.callspec.id, make(), shape)


@pytest.mark.parametrize("make,shape", _params(_v2_cases()))
def test_v2_trains_on_gpu(request, make, shape):
    _assert_trains_on_gpu(request.node.callspec.id, make(), shape)


# ------------------------------------------------------------------------------------------
# The GPU op list and the graph reader
# ------------------------------------------------------------------------------------------

def test_data_file_lists_known_gpu_ops_and_not_bmxnets_own():
    ops, aliases = gpu_ops.gpu_ops()
    for op in ("Convolution", "BatchNorm", "_backward_Convolution", "_contrib_sign_ste",
               "BlockGrad", "where", "Pad", "_backward_Pad", "FullyConnected", "clip", "_copy",
               "_zeros", "ones_like", "_CachedOp", "_backward_CachedOp"):
        assert op in ops, op
    assert not {op for op in ops if op.startswith("bmx_")}
    assert aliases["pad"] == "Pad" and aliases["stop_gradient"] == "BlockGrad"
    with open(gpu_ops.GPU_OPS_FILE) as f:
        header = f.readline()
    assert header.startswith("# made by: python tools/gpu_ops/extract_mxnet_gpu_ops.py ")


def test_missing_gpu_ops_accepts_aliases():
    assert gpu_ops.missing_gpu_ops({"Pad", "pad", "stop_gradient", "bmx_det_sign"}) == \
        ["bmx_det_sign"]
    assert gpu_ops.missing_gpu_ops(set()) == []


def test_training_graph_holds_the_backward_nodes():
    x = mx.sym.var("data")
    y = mx.sym.Activation(mx.sym.Convolution(x, num_filter=2, kernel=(3, 3), name="c"),
                          act_type="relu")
    ops = gpu_ops.training_graph_ops(y, (1, 1, 5, 5))
    assert {"Convolution", "_backward_Convolution", "Activation",
            "_backward_Activation"} <= ops
    assert "null" not in ops


def test_a_cpu_only_op_is_reported():
    x = mx.sym.var("data")
    ops = gpu_ops.training_graph_ops(mx.sym.bmx_det_sign(x) * 2, (2, 3))
    assert "bmx_det_sign" in gpu_ops.missing_gpu_ops(ops)


# ------------------------------------------------------------------------------------------
# The extractor
# ------------------------------------------------------------------------------------------

def _extractor():
    spec = importlib.util.spec_from_file_location("extract_mxnet_gpu_ops", EXTRACTOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A tiny MXNet-like source tree: what must be found and what must not.
FAKE_TREE = {
    "src/operator/reg.h": r"""
#define MY_REGISTER_BINARY(name) \
  NNVM_REGISTER_OP(name)         \
  .set_num_inputs(2)
#define MY_SPARSE_ALIAS(__name$) .add_alias("_sparse_" #__name$)
""",
    "src/operator/foo.cc": r"""
// NNVM_REGISTER_OP(commented_out).set_attr<FCompute>("FCompute<gpu>", X);
NNVM_REGISTER_OP(foo)
.describe(R"code(A description with ; and ) and "FCompute<gpu>" in it.)code" ADD_FILELINE)
.add_alias("_foo_alias")
.set_attr<FCompute>("FCompute<cpu>", FooCompute<cpu>);

NNVM_REGISTER_OP(cpu_only)
.set_attr<FCompute>("FCompute<cpu>", CpuOnly<cpu>);

MY_REGISTER_BINARY(baz)
MY_SPARSE_ALIAS(baz)
.set_attr<FCompute>("FCompute<cpu>", Baz<cpu>);

NNVM_REGISTER_OP(stateful)
.set_attr<FStatefulComputeEx>("FStatefulComputeEx<gpu>", StatefulForward);
""",
    "src/operator/foo.cu": r"""
#define REG_GPU(name)            \
  NNVM_REGISTER_OP(_npi_##name)  \
  .set_attr<FCompute>("FCompute<gpu>", K<gpu>)

NNVM_REGISTER_OP(foo)
.set_attr<FCompute>("FCompute<gpu>", FooCompute<gpu>);

REG_GPU(bar);

NNVM_REGISTER_OP(_sparse_baz)
.set_attr<FComputeEx>("FComputeEx<gpu>", BazEx<gpu>);

#if MXNET_USE_TVM_OP
NNVM_REGISTER_OP(tvm_only)
.set_attr<FCompute>("FCompute<gpu>", Tvm<gpu>);
#endif

NNVM_REGISTER_OP(cpu_only)
.set_attr<FResourceRequest>("FResourceRequest", Resources);
""",
    "src/operator/legacy.cc": r"""
MXNET_REGISTER_OP_PROPERTY(LegacyOp, LegacyProp)
.describe("x; y)")
.add_argument("data", "NDArray-or-Symbol", "Input");
NNVM_REGISTER_OP(LegacyOp).add_alias("legacy_op");
""",
    "src/operator/legacy.cu": r"""
namespace mxnet {
template<>
Operator* CreateOp<gpu>(LegacyParam param, int dtype) {
  return new LegacyOperator<gpu>(param);
}
}
""",
    "src/operator/cpu_legacy.cc": r"""
MXNET_REGISTER_OP_PROPERTY(CpuLegacy, CpuLegacyProp);
""",
}


def _write_tree(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)


def _read_list(path):
    with open(path) as f:
        lines = [line.strip() for line in f if not line.startswith("#")]
    return ({line for line in lines if "->" not in line},
            dict(tuple(s.strip() for s in line.split("->")) for line in lines if "->" in line))


EXPECTED_OPS = {"foo", "_npi_bar", "baz", "stateful", "LegacyOp", "_backward_LegacyOp"}
EXPECTED_ALIASES = {"_foo_alias": "foo", "_sparse_baz": "baz", "legacy_op": "LegacyOp"}


def test_extractor_on_a_fake_source_folder(tmp_path):
    _write_tree(tmp_path / "mxnet", FAKE_TREE)
    out = tmp_path / "ops.txt"
    _extractor().main(["--src", str(tmp_path / "mxnet"), "--out", str(out)])
    ops, aliases = _read_list(out)
    assert ops == EXPECTED_OPS
    assert aliases == EXPECTED_ALIASES


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_extractor_on_a_git_tag_names_the_commit(tmp_path):
    repo = tmp_path / "mxnet"
    _write_tree(repo, FAKE_TREE)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fake"],
                 ["tag", "v0"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env)
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    # A later commit must not leak into the tag's list.
    _write_tree(repo, {"src/operator/late.cu": 'NNVM_REGISTER_OP(late)\n'
                                               '.set_attr<FCompute>("FCompute<gpu>", L);\n'})
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", "late"], check=True, env=env)
    out = tmp_path / "ops.txt"
    _extractor().main(["--repo", str(repo / ".git"), "--tag", "v0", "--out", str(out)])
    ops, aliases = _read_list(out)
    assert ops == EXPECTED_OPS and aliases == EXPECTED_ALIASES
    header = out.read_text().splitlines()[:2]
    assert header[0].startswith("# made by: python tools/gpu_ops/extract_mxnet_gpu_ops.py "
                                f"--repo {repo / '.git'} --tag v0")
    assert commit in header[1]


def test_extractor_refuses_a_registration_under_an_unknown_condition(tmp_path):
    _write_tree(tmp_path / "mxnet", {
        "src/operator/x.cu": "#if SOME_NEW_FLAG\nNNVM_REGISTER_OP(x)\n"
                             ".set_attr<FCompute>(\"FCompute<gpu>\", X);\n#endif\n"})
    with pytest.raises(SystemExit, match="SOME_NEW_FLAG"):
        _extractor().main(["--src", str(tmp_path / "mxnet"), "--out", str(tmp_path / "o")])

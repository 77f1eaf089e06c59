"""bmxnet.converter on hand-written symbol JSON: packing, graph rewriting, BatchNorm folding,
the report, the command line and bad input. Needs neither mxnet nor the op library (one test
proves it); test_converter_equivalence.py checks the results against MXNet itself."""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bmxnet import converter, params_io
from bmxnet.converter import ConversionError, convert, main
from converter_graphs import Sym

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
TOOL = os.path.join(ROOT, "tools", "model_converter", "model_converter.py")


def lenet_like(bias=True, pad_value=-1, bn=True, channels=40):
    """float conv -> BN -> QConv2D -> BN -> relu -> QDense -> BN -> float Dense."""
    s = Sym()
    x = s.data()
    x = s.conv(x, "conv0", 8, 3, pad=(1, 1), binary=False)
    x = s.batchnorm(x, "bn0", 8)
    if pad_value == 0:
        x = s.conv(x, "qconv0", channels, 8, pad=(1, 1), bias=bias)
    else:
        x = s.conv(x, "qconv0", channels, 8, bias=bias,
                   pad_node=(pad_value, (0, 0, 0, 0, 1, 1, 1, 1)))
    if bn:
        x = s.batchnorm(x, "bn1", channels)
    x = s.op("Activation", "relu0_fwd", [x], act_type="relu")
    x = s.dense(x, "qdense0", 70, channels * 6 * 6, bias=bias)
    if bn:
        x = s.batchnorm(x, "bn2", 70)
    x = s.dense(x, "dense0", 10, 70, binary=False)
    return s, x


def _load_output(sym_path, params_path):
    with open(sym_path) as f:
        return json.load(f), params_io.load(params_path)


def _nodes_by_name(sym):
    return {n["name"]: n for n in sym["nodes"]}


def _ref_pack(w):
    """Bit-by-bit reference packing of the last axis (independent of converter.pack_bits)."""
    flat = w.reshape(-1, w.shape[-1])
    words = (w.shape[-1] + 31) // 32
    out = np.zeros((flat.shape[0], words), dtype=np.int64)
    for r in range(flat.shape[0]):
        for c in range(flat.shape[1]):
            if not flat[r, c] >= 0:
                out[r, c // 32] |= 1 << (c % 32)
    out[out >= 2 ** 31] -= 2 ** 32
    return out.astype(np.int32).reshape(w.shape[:-1] + (words,))


def _digest(*paths):
    return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]


def _check_symbol_invariants(sym):
    nodes = sym["nodes"]
    for i, n in enumerate(nodes):
        assert all(e[0] < i for e in n["inputs"]), "nodes must be topologically ordered"
    assert sym["arg_nodes"] == [i for i, n in enumerate(nodes) if n["op"] == "null"]
    assert len(sym["node_row_ptr"]) == len(nodes) + 1
    assert all(0 <= h[0] < len(nodes) for h in sym["heads"])
    names = [n["name"] for n in nodes if n["op"] == "null"]
    assert len(names) == len(set(names))
    # MXNet's version, kept, and the id of the params file (bmxnet.pairing).
    assert sym["attrs"].keys() == {"mxnet_version", "bmx_params_sha256"}
    assert sym["attrs"]["mxnet_version"] == ["int", 10901]


# ---------------------------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 31, 32, 33, 63, 64, 65, 255, 256, 257])
def test_pack_bits_matches_reference(k):
    rng = np.random.RandomState(k)
    w = rng.randn(5, k).astype(np.float32)
    w[0, :] = 0.0
    w[1, ::3] = -0.0
    packed = converter.pack_bits(w)
    assert packed.dtype == np.int32 and packed.shape == (5, (k + 31) // 32)
    np.testing.assert_array_equal(packed, _ref_pack(w))


def test_pack_bits_conventions():
    # bit 1 means -1; channel c is bit c % 32 of word c // 32; sign(0) = +1; tail bits 0.
    w = np.ones(40, np.float32)
    w[[0, 3, 31, 33]] = -1
    w[5] = 0.0
    words = converter.pack_bits(w).view(np.uint32).tolist()
    assert words == [(1 << 0) | (1 << 3) | (1 << 31), 1 << 1]
    assert converter.pack_bits(np.array([np.nan, 1.0])).tolist() == [1]  # NaN is not >= 0


def test_pack_conv_weight_is_ohwi():
    rng = np.random.RandomState(1)
    w = rng.randn(4, 35, 3, 2).astype(np.float32)
    packed = converter.pack_conv_weight(w)
    assert packed.shape == (4, 3, 2, 2) and packed.dtype == np.int32
    np.testing.assert_array_equal(packed, _ref_pack(w.transpose(0, 2, 3, 1)))
    dense = rng.randn(3, 70).astype(np.float32)
    np.testing.assert_array_equal(converter.pack_dense_weight(dense), _ref_pack(dense))


# ---------------------------------------------------------------------------------------------
# Graph rewriting
# ---------------------------------------------------------------------------------------------

def test_lenet_like_is_rewritten(tmp_path):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    before = _digest(sym_path, params_path)
    report = convert(sym_path, params_path, verbose=False)
    assert _digest(sym_path, params_path) == before

    out_sym = str(tmp_path / "binarized_model-symbol.json")
    out_params = str(tmp_path / "binarized_model-0000.params")
    assert (report.symbol_out, report.params_out) == (out_sym, out_params)
    sym, params = _load_output(out_sym, out_params)
    _check_symbol_invariants(sym)
    ops = [n["op"] for n in sym["nodes"] if n["op"] != "null"]
    assert ops == ["Convolution", "bmx_binary_conv2d", "Activation", "bmx_binary_dense",
                   "FullyConnected"]  # bn0 is folded into the float conv0
    nodes = _nodes_by_name(sym)

    conv = nodes["qconv0_fwd"]
    assert conv["attrs"] == {"kernel": "(3, 3)", "stride": "(1, 1)", "dilate": "(1, 1)",
                             "pad": "(1, 1)", "pad_value": "-1", "num_filter": "40",
                             "num_group": "1", "use_scale": "True", "no_bias": "False"}
    in_names = [sym["nodes"][e[0]]["name"] for e in conv["inputs"]]
    assert in_names == ["conv0_fwd", "qconv0_weight", "qconv0_fwd_scale", "qconv0_fwd_bias"]
    dense = nodes["qdense0_fwd"]
    assert dense["attrs"] == {"num_hidden": "70", "flatten": "True", "use_scale": "True",
                              "no_bias": "False"}
    assert [sym["nodes"][e[0]]["name"] for e in dense["inputs"]] == \
        ["relu0_fwd", "qdense0_weight", "qdense0_fwd_scale", "qdense0_fwd_bias"]
    assert sym["nodes"][sym["heads"][0][0]]["name"] == "dense0_fwd"
    # The packed weight variable says what it holds.
    assert nodes["qconv0_weight"]["attrs"]["__shape__"] == "(40, 3, 3, 1)"
    assert nodes["qconv0_weight"]["attrs"]["__dtype__"] == "4"

    # Exactly the referenced parameters, with their arg:/aux: prefixes.
    var_names = {n["name"] for n in sym["nodes"] if n["op"] == "null"} - {"data"}
    assert {k[4:] for k in params} == var_names
    assert not any(k.startswith(("aux:bn", "arg:bn")) for k in params)
    assert params["arg:conv0_weight"].dtype == np.float32  # bn0 folded in
    assert params["arg:qconv0_weight"].dtype == np.int32
    np.testing.assert_array_equal(
        params["arg:qconv0_weight"],
        _ref_pack(s.params["arg:qconv0_weight"].transpose(0, 2, 3, 1)))
    np.testing.assert_array_equal(params["arg:qdense0_weight"],
                                  _ref_pack(s.params["arg:qdense0_weight"]))
    np.testing.assert_array_equal(params["arg:dense0_weight"], s.params["arg:dense0_weight"])

    assert [(l.name, l.kind, l.folded_batchnorm) for l in report.converted] == [
        ("qconv0_fwd", "conv", "bn1_fwd"), ("qdense0_fwd", "dense", "bn2_fwd")]
    assert report.converted[0].float_bytes == 40 * 8 * 9 * 4
    assert report.converted[0].packed_bytes == 40 * 9 * 4
    assert report.converted[1].packed_bytes == 70 * 45 * 4
    assert [(l.name, l.kind) for l in report.skipped] == [("conv0_fwd", "conv"),
                                                          ("dense0_fwd", "dense")]
    assert all("float layer" in l.reason for l in report.skipped)
    assert [l.folded_batchnorm for l in report.skipped] == ["bn0_fwd", None]
    assert "folded bn0_fwd into its weights" in report.format()
    assert report.size_before == os.path.getsize(sym_path) + os.path.getsize(params_path)
    assert report.size_after == os.path.getsize(out_sym) + os.path.getsize(out_params)
    assert report.params_after < report.params_before / 3


@pytest.mark.parametrize("fix_gamma", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_batchnorm_folding_math(tmp_path, fix_gamma, bias):
    s = Sym()
    x = s.conv(s.data(), "q", 33, 16, bias=bias)
    x = s.batchnorm(x, "bn", 33, fix_gamma=fix_gamma, eps=1e-3)
    sym_path, params_path = s.save(tmp_path, [x])
    convert(sym_path, params_path, verbose=False)
    sym, params = _load_output(str(tmp_path / "binarized_model-symbol.json"),
                               str(tmp_path / "binarized_model-0000.params"))
    p = {k[4:]: v.astype(np.float64) for k, v in s.params.items()}
    gamma = np.ones(33) if fix_gamma else p["bn_gamma"]
    k = gamma / np.sqrt(p["bn_running_var"] + 1e-3)
    b = p["q_bias"] if bias else 0.0
    assert params["arg:q_fwd_scale"].dtype == np.float32
    np.testing.assert_allclose(params["arg:q_fwd_scale"], k, rtol=1e-6)
    np.testing.assert_allclose(params["arg:q_fwd_bias"],
                               (b - p["bn_running_mean"]) * k + p["bn_beta"], rtol=1e-6, atol=1e-6)
    assert [n["op"] for n in sym["nodes"] if n["op"] != "null"] == ["bmx_binary_conv2d"]
    assert set(params) == {"arg:q_weight", "arg:q_fwd_scale", "arg:q_fwd_bias"}


def test_no_fold_keeps_batchnorm_and_bias(tmp_path):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    report = convert(sym_path, params_path, verbose=False, fold_batchnorm=False)
    sym, params = _load_output(report.symbol_out, report.params_out)
    ops = [n["op"] for n in sym["nodes"] if n["op"] != "null"]
    assert ops.count("BatchNorm") == 3
    conv = _nodes_by_name(sym)["qconv0_fwd"]
    assert conv["attrs"]["use_scale"] == "False" and conv["attrs"]["no_bias"] == "False"
    assert sym["nodes"][conv["inputs"][2][0]]["name"] == "qconv0_bias"  # the original variable
    np.testing.assert_array_equal(params["arg:qconv0_bias"], s.params["arg:qconv0_bias"])
    assert all(l.folded_batchnorm is None for l in report.converted)


def test_cli_no_fold_bn_flag(tmp_path, capsys):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    assert main([params_path, "--no-fold-bn", "-q"]) == 0
    assert capsys.readouterr().out == ""
    sym = json.load(open(str(tmp_path / "binarized_model-symbol.json")))
    assert [n["op"] for n in sym["nodes"]].count("BatchNorm") == 3


@pytest.mark.parametrize("pad_value", [-1, 0, 1])
def test_pad_values(tmp_path, pad_value):
    s, head = lenet_like(pad_value=pad_value, bias=False)
    sym_path, params_path = s.save(tmp_path, [head])
    report = convert(sym_path, params_path, verbose=False)
    sym, _ = _load_output(report.symbol_out, report.params_out)
    attrs = _nodes_by_name(sym)["qconv0_fwd"]["attrs"]
    assert (attrs["pad"], attrs["pad_value"]) == ("(1, 1)", str(pad_value))
    assert "Pad" not in [n["op"] for n in sym["nodes"]]
    assert report.converted[0].pad_value == pad_value


def test_unpadded_conv_gets_pad_value_minus_one_and_stride_groups_dilate_are_copied(tmp_path):
    s = Sym()
    x = s.conv(s.data(), "q", 64, 70, kernel=(3, 1), stride=(2, 1), dilate=(1, 2), groups=2,
               bias=False)
    sym_path, params_path = s.save(tmp_path, [x])
    report = convert(sym_path, params_path, verbose=False)
    sym, params = _load_output(report.symbol_out, report.params_out)
    assert _nodes_by_name(sym)["q_fwd"]["attrs"] == {
        "kernel": "(3, 1)", "stride": "(2, 1)", "dilate": "(1, 2)", "pad": "(0, 0)",
        "pad_value": "-1", "num_filter": "64", "num_group": "2", "use_scale": "False",
        "no_bias": "True"}
    assert params["arg:q_weight"].shape == (64, 3, 1, 2)  # C/g = 35 -> 2 words
    assert list(params) == ["arg:q_weight"]


def test_approx_sign_and_dense_without_flatten(tmp_path):
    s = Sym()
    x = s.sign(s.data(), "a", "bmx_approx_sign")
    w = s.sign(s.weight("d_weight", (5, 33)), "ws", "bmx_approx_sign")
    x = s.op("FullyConnected", "d_fwd", [x, w], num_hidden=5, no_bias=True, flatten=False)
    x = s.batchnorm(x, "bn", 5, axis=-1)
    sym_path, params_path = s.save(tmp_path, [x])
    report = convert(sym_path, params_path, verbose=False)
    sym, params = _load_output(report.symbol_out, report.params_out)
    node = _nodes_by_name(sym)["d_fwd"]
    assert node["op"] == "bmx_binary_dense" and node["attrs"]["flatten"] == "False"
    assert report.converted[0].folded_batchnorm == "bn_fwd"
    assert params["arg:d_weight"].shape == (5, 2)


def test_shared_sign_stays_and_shared_weight_keeps_float_copy(tmp_path):
    s = Sym()
    data = s.data()
    sign = s.sign(data, "shared_sign")
    w = s.weight("w", (4, 8, 3, 3))
    wsign = s.sign(w, "w_sign")
    conv = s.op("Convolution", "q_fwd", [sign, wsign], kernel="(3, 3)", num_filter=4,
                no_bias=True)
    other = s.op("Convolution", "f_fwd", [data, w], kernel="(3, 3)", num_filter=4, no_bias=True)
    plus = s.op("elemwise_add", "add", [conv, other])
    sym_path, params_path = s.save(tmp_path, [plus, sign])
    report = convert(sym_path, params_path, verbose=False)
    sym, params = _load_output(report.symbol_out, report.params_out)
    _check_symbol_invariants(sym)
    nodes = _nodes_by_name(sym)
    assert "shared_sign" in nodes and "w_sign" not in nodes
    q = nodes["q_fwd"]
    assert sym["nodes"][q["inputs"][0][0]]["name"] == "data"
    packed_name = sym["nodes"][q["inputs"][1][0]]["name"]
    assert packed_name == "w_1"  # "w" is still the float weight of f_fwd
    assert params["arg:w"].dtype == np.float32 and params["arg:w_1"].dtype == np.int32
    assert sym["nodes"][sym["heads"][1][0]]["name"] == "shared_sign"
    assert [l.name for l in report.skipped] == ["f_fwd"]


def test_batchnorm_is_not_folded_when_the_layer_output_is_used_elsewhere(tmp_path):
    s = Sym()
    x = s.conv(s.data(), "q", 8, 8, bias=False)
    bn = s.batchnorm(x, "bn", 8)
    y = s.op("elemwise_add", "add", [bn, x])
    sym_path, params_path = s.save(tmp_path, [y])
    report = convert(sym_path, params_path, verbose=False)
    sym, params = _load_output(report.symbol_out, report.params_out)
    assert [n["op"] for n in sym["nodes"] if n["op"] != "null"] == [
        "bmx_binary_conv2d", "BatchNorm", "elemwise_add"]
    assert report.converted[0].folded_batchnorm is None
    assert "aux:bn_running_var" in params


@pytest.mark.parametrize("axis", [0, 2, -1])
def test_batchnorm_on_another_axis_is_not_folded(tmp_path, axis):
    s = Sym()
    x = s.batchnorm(s.conv(s.data(), "q", 8, 8, bias=False), "bn", 8, axis=axis)
    sym_path, params_path = s.save(tmp_path, [x])
    report = convert(sym_path, params_path, verbose=False)
    assert report.converted[0].folded_batchnorm is None
    assert any("axis" in note for note in report.converted[0].notes)


def _skip_reason(tmp_path, build):
    s = Sym()
    head = build(s, s.data())
    sym_path, params_path = s.save(tmp_path, [head])
    report = convert(sym_path, params_path, verbose=False)
    sym, _ = _load_output(report.symbol_out, report.params_out)
    assert not report.converted
    assert not any(n["op"].startswith("bmx_binary") for n in sym["nodes"])
    (skipped,) = report.skipped
    return skipped.reason


@pytest.mark.parametrize("build, reason", [
    (lambda s, x: s.conv(x, "c", 4, 3, binary=False), "float layer"),
    (lambda s, x: s.conv(x, "c", 4, 3, sign_data=False), "activations are not binarized"),
    (lambda s, x: s.op("Convolution", "c_fwd", [s.sign(x, "sx"), s.weight("w", (4, 3, 3, 3))],
                       kernel="(3, 3)", num_filter=4, no_bias=True), "weights are not binarized"),
    (lambda s, x: s.op("Convolution", "c_fwd",
                       [s.op("round", "qa", [x]),
                        s.op("_div_scalar", "qw", [s.op("round", "r", [s.weight("w", (4, 3, 3, 3))])],
                             scalar=3)],
                       kernel="(3, 3)", num_filter=4, no_bias=True),
     "k-bit weights are simulated in float"),
    (lambda s, x: s.conv(x, "c", 4, 3, pad_node=(-1, (0, 0, 0, 0, 1, 0, 1, 1))),
     "asymmetric padding"),
    (lambda s, x: s.conv(x, "c", 4, 3, pad=(1, 1), pad_node=(1, (0, 0, 0, 0, 1, 1, 1, 1))),
     "both a Pad node and its own padding"),
    (lambda s, x: s.conv(x, "c", 4, 3, pad_node=(0.5, (0, 0, 0, 0, 1, 1, 1, 1))),
     "pad value 0.5"),
    (lambda s, x: s.conv(x, "c", 4, 3, pad_node=(1, (0, 0, 1, 1, 1, 1, 1, 1))),
     "batch or channel axis"),
    (lambda s, x: s.op("Convolution", "c_fwd", [s.sign(x, "sx"),
                                                 s.sign(s.weight("w", (4, 3, 3)), "sw")],
                       kernel="(3,)", num_filter=4, no_bias=True), "not 2-D"),
    (lambda s, x: s.op("Convolution", "c_fwd", [s.sign(x, "sx"),
                                                 s.sign(s.weight("w", (4, 3, 3, 3)), "sw")],
                       kernel="(3, 3)", num_filter=4, no_bias=True, layout="NHWC"), "layout NHWC"),
    (lambda s, x: s.dense(x, "d", 4, 10, binary=False), "float layer"),
])
def test_layers_left_float_are_reported_with_the_reason(tmp_path, build, reason):
    assert reason in _skip_reason(tmp_path, build)


def test_already_converted_model_is_refused(tmp_path):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    first = convert(sym_path, params_path, verbose=False)
    before = sorted(os.listdir(str(tmp_path)))
    with pytest.raises(ConversionError, match="is already converted"):
        convert(first.symbol_out, first.params_out, out_prefix=str(tmp_path / "again"),
                verbose=False)
    assert sorted(os.listdir(str(tmp_path))) == before


def test_output_names_epoch_and_out_prefix(tmp_path):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head], prefix="net", epoch=7)
    report = convert(sym_path, params_path, verbose=False)
    assert report.symbol_out == str(tmp_path / "binarized_net-symbol.json")
    assert report.params_out == str(tmp_path / "binarized_net-0007.params")
    out_dir = tmp_path / "deploy"
    out_dir.mkdir()
    report = convert(sym_path, params_path, out_prefix=str(out_dir / "bin"), verbose=False)
    assert sorted(os.listdir(str(out_dir))) == ["bin-0007.params", "bin-symbol.json"]


def test_cli_finds_the_symbol_beside_the_params_and_prints_a_report(tmp_path, capsys):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head], prefix="net", epoch=3)
    assert main([params_path]) == 0
    out = capsys.readouterr().out
    for text in ("qconv0_fwd", "qdense0_fwd", "conv0_fwd", "float layer", "folded bn1_fwd",
                 "Params file:", "Total"):
        assert text in out
    assert os.path.exists(str(tmp_path / "binarized_net-0003.params"))
    assert main([sym_path, params_path, "-o", str(tmp_path / "x"), "-q"]) == 0
    assert os.path.exists(str(tmp_path / "x-0003.params"))


def test_verbose_prints_and_quiet_does_not(tmp_path, capsys):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    report = convert(sym_path, params_path)
    assert capsys.readouterr().out.strip() == report.format().strip()
    convert(sym_path, params_path, verbose=False)
    assert capsys.readouterr().out == ""


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "model-converter" in out and "--no-fold-bn" in out and "-o OUT_PREFIX" in out


def test_converter_does_not_need_mxnet(tmp_path):
    """The converter package and params_io.py import neither mxnet nor the op library."""
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    code = f"""
import sys, types
sys.modules["mxnet"] = None  # any `import mxnet` now raises ImportError
pkg = types.ModuleType("bmxnet")  # the package without its __init__ (which loads the ops)
pkg.__path__ = [{os.path.join(ROOT, "python", "bmxnet")!r}]
sys.modules["bmxnet"] = pkg
from bmxnet.converter import main
sys.exit(main([{params_path!r}, "-q"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert os.path.exists(str(tmp_path / "binarized_model-0000.params"))


# ---------------------------------------------------------------------------------------------
# Bad input: exit status 1, one line on stderr, no output files, inputs untouched
# ---------------------------------------------------------------------------------------------

def _snapshot(directory):
    """Every file under `directory` (relative path -> bytes)."""
    files = {}
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            files[os.path.relpath(path, directory)] = open(path, "rb").read()
    return files


def _assert_fails_cleanly(capsys, directory, argv, match):
    before = _snapshot(directory)
    assert main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("model-converter: error: ")
    assert match in lines[0]
    assert captured.out == ""
    assert _snapshot(directory) == before  # nothing created, nothing modified
    # The library call raises the same error.
    if len(argv) == 2 and not argv[0].startswith("-"):
        with pytest.raises(ConversionError):
            convert(argv[0], argv[1], verbose=False)
        assert _snapshot(directory) == before
    return lines[0]


@pytest.fixture
def model(tmp_path):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    return str(tmp_path), sym_path, params_path


def test_missing_files(model, capsys):
    directory, sym_path, params_path = model
    missing = os.path.join(directory, "nope-0000.params")
    line = _assert_fails_cleanly(capsys, directory, [missing], "does not exist")
    assert "nope-symbol.json" in line  # the symbol is looked for beside the params
    _assert_fails_cleanly(capsys, directory, [sym_path, missing], missing)
    os.rename(sym_path, sym_path + ".bak")
    _assert_fails_cleanly(capsys, directory, [params_path], sym_path)


def test_empty_files(model, capsys):
    directory, sym_path, params_path = model
    empty = os.path.join(directory, "empty-0000.params")
    open(empty, "wb").close()
    _assert_fails_cleanly(capsys, directory, [sym_path, empty], "is empty")
    empty_sym = os.path.join(directory, "empty-symbol.json")
    open(empty_sym, "wb").close()
    _assert_fails_cleanly(capsys, directory, [empty_sym, params_path], "is empty")


def test_truncated_params(model, capsys):
    directory, sym_path, params_path = model
    data = open(params_path, "rb").read()
    for n in (10, 30, len(data) // 2, len(data) - 1):
        bad = os.path.join(directory, "trunc-0000.params")
        with open(bad, "wb") as f:
            f.write(data[:n])
        _assert_fails_cleanly(capsys, directory, [sym_path, bad], "not a valid MXNet .params")


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_params(model, capsys, seed):
    directory, sym_path, params_path = model
    bad = os.path.join(directory, "random-0000.params")
    with open(bad, "wb") as f:
        f.write(np.random.RandomState(seed).bytes(5000))
    _assert_fails_cleanly(capsys, directory, [sym_path, bad], "not a valid MXNet .params")


def test_foreign_params(model, capsys):
    directory, sym_path, params_path = model
    # A symbol file passed as the params file, and a params file written as a plain list.
    _assert_fails_cleanly(capsys, directory, [sym_path, sym_path], "not a valid MXNet .params")
    unnamed = os.path.join(directory, "list-0000.params")
    params_io.save(unnamed, [np.zeros(3, np.float32)])
    _assert_fails_cleanly(capsys, directory, [sym_path, unnamed], "without names")


@pytest.mark.parametrize("text, match", [
    ('{"nodes": [', "not valid JSON"),
    ("\x00\x01\x02garbage", "not valid JSON"),
    ('{"foo": 1}', "not an MXNet symbol"),
    ("[1, 2, 3]", "not an MXNet symbol"),
    ('{"nodes": [], "heads": []}', "not an MXNet symbol"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "heads": [[5, 0, 0]]}',
     "not an MXNet symbol"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": []},'
     ' {"op": "relu", "name": "y", "inputs": [[1, 0, 0]]}], "heads": [[1, 0, 0]]}',
     "does not come before it"),
])
def test_invalid_or_foreign_json(model, capsys, text, match):
    directory, sym_path, params_path = model
    bad = os.path.join(directory, "bad-symbol.json")
    with open(bad, "w") as f:
        f.write(text)
    _assert_fails_cleanly(capsys, directory, [bad, params_path], match)


def test_symbol_and_params_from_different_models(model, capsys, tmp_path):
    directory, sym_path, params_path = model
    # Different names: another model's params.
    other = Sym()
    other_head = other.conv(other.data(), "resnet_conv0", 4, 3)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    _, other_params = other.save(other_dir, [other_head])
    _assert_fails_cleanly(capsys, directory, [sym_path, other_params], "different models")
    # Same names, different shapes: the same architecture with more channels.
    wide, wide_head = lenet_like(channels=48)
    wide_dir = tmp_path / "wide"
    wide_dir.mkdir()
    _, wide_params = wide.save(wide_dir, [wide_head])
    line = _assert_fails_cleanly(capsys, directory, [sym_path, wide_params], "different models")
    assert "qconv0_weight has shape (48, 8, 3, 3)" in line
    # The same again, with a symbol that does not declare shapes (older exports).
    sym = json.load(open(sym_path))
    for n in sym["nodes"]:
        n.get("attrs", {}).pop("__shape__", None)
    bare = os.path.join(directory, "bare-symbol.json")
    json.dump(sym, open(bare, "w"))
    line = _assert_fails_cleanly(capsys, directory, [bare, wide_params], "different models")
    assert "qconv0_fwd" in line


def test_params_missing_an_argument(model, capsys):
    directory, sym_path, params_path = model
    params = params_io.load(params_path)
    del params["arg:qconv0_bias"]
    partial = os.path.join(directory, "partial-0000.params")
    params_io.save(partial, params)
    _assert_fails_cleanly(capsys, directory, [sym_path, partial], "qconv0_bias")


def test_shapes_that_do_not_match_the_layer(model, capsys):
    directory, sym_path, params_path = model
    params = params_io.load(params_path)
    params["arg:qconv0_weight"] = np.zeros((40, 8, 5, 5), np.float32)
    bad = os.path.join(directory, "bad-0000.params")
    params_io.save(bad, params)
    _assert_fails_cleanly(capsys, directory, [sym_path, bad], "shape")


def test_unknown_bmx_op(model, capsys):
    directory, sym_path, params_path = model
    sym = json.load(open(sym_path))
    for n in sym["nodes"]:
        if n["op"] == "Activation":
            n["op"] = "bmx_future_op"
    bad = os.path.join(directory, "future-symbol.json")
    json.dump(sym, open(bad, "w"))
    _assert_fails_cleanly(capsys, directory, [bad, params_path], "bmx_future_op")


def test_unwritable_output(model, capsys):
    directory, sym_path, params_path = model
    a_file = os.path.join(directory, "somefile.txt")
    with open(a_file, "w") as f:
        f.write("x")
    _assert_fails_cleanly(capsys, directory, [params_path, "-o", a_file + "/out"], "cannot write")
    with pytest.raises(ConversionError):
        convert(sym_path, params_path, out_prefix=a_file + "/out", verbose=False)


def test_output_that_would_overwrite_the_input(model, capsys):
    directory, sym_path, params_path = model
    _assert_fails_cleanly(capsys, directory,
                          [params_path, "-o", os.path.join(directory, "model")], "overwrite")


def test_params_file_not_named_with_an_epoch(model, capsys):
    directory, sym_path, params_path = model
    renamed = os.path.join(directory, "weights.params")
    os.rename(params_path, renamed)
    _assert_fails_cleanly(capsys, directory, [renamed], "PREFIX-NNNN.params")
    # With both files given it works, and the epoch defaults to 0000.
    assert main([sym_path, renamed, "-q"]) == 0
    assert os.path.exists(os.path.join(directory, "binarized_model-0000.params"))


def test_command_line_tool_end_to_end(model):
    """The real executable: success, then a bad input with one stderr line and status 1."""
    directory, sym_path, params_path = model
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    ok = subprocess.run([sys.executable, TOOL, params_path, "-q"], capture_output=True,
                        text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert os.path.exists(os.path.join(directory, "binarized_model-symbol.json"))
    before = _snapshot(directory)
    bad = subprocess.run([sys.executable, TOOL, sym_path, os.path.join(directory, "x-0000.params")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1
    assert len(bad.stderr.splitlines()) == 1 and bad.stderr.startswith("model-converter: error:")
    assert _snapshot(directory) == before


@pytest.mark.parametrize("seed", range(150))
def test_damaged_symbols_fail_with_a_conversion_error_or_convert(model, seed):
    """Random structural damage to a valid symbol never raises anything but ConversionError."""
    directory, sym_path, params_path = model
    rng = np.random.RandomState(seed)
    sym = json.load(open(sym_path))
    junk = [None, -1, 10 ** 6, "x", "(1, x)", [], {}, [[0]], [["a", 0, 0]], True, 2.5]
    for _ in range(rng.randint(1, 4)):
        nodes = sym.get("nodes")
        target = rng.choice(["node", "attr", "input", "top"])
        if not isinstance(nodes, list) or not nodes or not isinstance(nodes[0], dict):
            target = "top"
        node = nodes[rng.randint(len(nodes))] if target != "top" else None
        if not isinstance(node, dict):
            target = "top"
        if target == "node":
            key = ["op", "name", "inputs", "attrs"][rng.randint(4)]
            node[key] = junk[rng.randint(len(junk))]
        elif target == "attr" and isinstance(node.get("attrs"), dict) and node["attrs"]:
            key = sorted(node["attrs"])[rng.randint(len(node["attrs"]))]
            node["attrs"][key] = ["x", "(1, x)", "-5", "(0, 0)", "()", "True", "7"][rng.randint(7)]
        elif target == "input" and isinstance(node.get("inputs"), list) and node["inputs"]:
            e = node["inputs"][rng.randint(len(node["inputs"]))]
            if isinstance(e, list) and e:
                e[rng.randint(len(e))] = int(rng.randint(-2, 60))
        elif target == "top":
            sym[["heads", "nodes", "arg_nodes"][rng.randint(3)]] = junk[rng.randint(len(junk))]
    bad = os.path.join(directory, "damaged-symbol.json")
    json.dump(sym, open(bad, "w"))
    before = _snapshot(directory)
    try:
        convert(bad, params_path, out_prefix=os.path.join(directory, "out"), verbose=False)
    except ConversionError as e:
        assert "\n" not in str(e)
        assert _snapshot(directory) == before


def test_outputs_get_the_usual_file_permissions(tmp_path):
    s, head = lenet_like()
    sym_path, params_path = s.save(tmp_path, [head])
    old = os.umask(0o022)
    try:
        report = convert(sym_path, params_path, verbose=False)
    finally:
        os.umask(old)
    for path in (report.symbol_out, report.params_out):
        assert os.stat(path).st_mode & 0o777 == 0o644
    assert sorted(os.listdir(str(tmp_path))) == sorted(  # no temp files left behind
        ["model-symbol.json", "model-0000.params", "binarized_model-symbol.json",
         "binarized_model-0000.params"])


# ------------------------------------------------------------------------------------------
# A newcomer's commands: the README's -o deploy/model, converting twice, the input shape
# ------------------------------------------------------------------------------------------

def test_output_folder_is_created(model, capsys, monkeypatch):
    directory, sym_path, params_path = model
    monkeypatch.chdir(directory)
    # the README's line, run where deploy/ does not exist yet
    assert main(["model-symbol.json", "model-0000.params", "-o", "deploy/model"]) == 0
    assert sorted(os.listdir("deploy")) == ["model-0000.params", "model-symbol.json"]
    assert main([params_path, "-o", os.path.join("a", "b", "c", "m"), "-q"]) == 0
    assert os.path.isfile(os.path.join("a", "b", "c", "m-symbol.json"))
    capsys.readouterr()


def test_converting_a_converted_model_says_so_and_writes_nothing(model, capsys):
    directory, sym_path, params_path = model
    assert main([params_path, "-q"]) == 0
    converted = os.path.join(directory, "binarized_model-0000.params")
    line = _assert_fails_cleanly(capsys, directory, [converted], "is already converted")
    assert "nothing written" in line
    assert not any(name.startswith("binarized_binarized") for name in os.listdir(directory))


def _data_attrs(path):
    graph = json.load(open(path))
    return [n for n in graph["nodes"] if n["name"] == "data"][0].get("attrs", {})


def test_conversion_keeps_or_records_the_input_shape(model, capsys):
    from bmxnet.export import INPUT_SHAPE_ATTR, record_input_shape_file

    directory, sym_path, params_path = model
    out = os.path.join(directory, "plain")
    assert main([params_path, "-o", out]) == 0  # exported without a shape: said, not invented
    assert "Input shape: not recorded" in capsys.readouterr().out
    assert INPUT_SHAPE_ATTR not in _data_attrs(out + "-symbol.json")
    record_input_shape_file(sym_path, (1, 1, 12, 12))
    assert main([params_path, "-o", out]) == 0  # recorded at export: kept
    assert "Input shape: (1, 1, 12, 12)" in capsys.readouterr().out
    assert _data_attrs(out + "-symbol.json")[INPUT_SHAPE_ATTR] == "(1, 1, 12, 12)"
    assert main([params_path, "-o", out, "-q", "--input-shape", "4,1,12,12"]) == 0
    assert _data_attrs(out + "-symbol.json")[INPUT_SHAPE_ATTR] == "(1, 1, 12, 12)"
    with pytest.raises(SystemExit) as exit_info:
        main([params_path, "--input-shape", "1,0,12"])
    assert exit_info.value.code == 2

"""bmxnet.summary and the `bmxnet` command (summary, predict): counts checked by hand."""
import json
import math

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import nn

import bmxnet
from bmxnet import cli
from bmxnet.nn import QConv2D, QDense
from bmxnet.model_files import model_files
from bmxnet.summary import summary

try:
    from bmxnet import converter
except ImportError:  # pragma: no cover
    converter = None


def _net():
    net = nn.HybridSequential(prefix="tiny_")
    with net.name_scope():
        net.add(nn.Conv2D(8, 3, padding=1, use_bias=False),   # float: 8*3*9 = 216
                nn.BatchNorm(),                              # 4 * 8 = 32
                QConv2D(40, 3, padding=1, use_bias=False),    # binary: 40*8*9 = 2880
                nn.BatchNorm(),                              # 4 * 40 = 160
                nn.Flatten(),
                QDense(10))                                  # binary 10*40*36, bias 10
    return net


INPUT = (1, 3, 6, 6)
BINARY = 40 * 8 * 9 + 10 * 40 * 36
FLOAT = 216 + 32 + 160 + 10
# packed: conv 40 * 3 * 3 * ceil(8/32) words, dense 10 * ceil(1440/32) words, 4 bytes each
PACKED_BYTES = 4 * (40 * 9 * 1 + 10 * math.ceil(1440 / 32))
BINARY_MACS = 40 * 36 * (8 * 9) + 10 * 1440
FLOAT_MACS = 8 * 36 * (3 * 9)


def _check(s, converted=False):
    assert s.binary_params == BINARY
    assert s.total("binary_macs") == BINARY_MACS
    assert s.total("float_macs") == FLOAT_MACS
    assert s.total("binary_bytes") == PACKED_BYTES
    if converted:  # the BatchNorm after the binary conv is folded into scale + bias, the one
        # after the float conv into its weights and a new bias
        assert s.float_params == FLOAT - 160 + 2 * 40 - 32 + 8
    else:
        assert s.float_params == FLOAT
        assert s.memory == PACKED_BYTES + 4 * FLOAT
        assert s.float32_memory == 4 * (BINARY + FLOAT)
        assert s.compression == pytest.approx(4 * (BINARY + FLOAT) / (PACKED_BYTES + 4 * FLOAT))


def test_summary_of_a_gluon_net_uninitialized_and_trained():
    net = _net()
    s = summary(net, INPUT)  # deferred shapes are completed, nothing is initialized
    _check(s)
    kinds = [r.kind for r in s.rows]
    assert kinds == ["float conv", "BatchNorm", "binary conv", "BatchNorm", "binary dense"]
    assert s.rows[2].output_shape == (1, 40, 6, 6)
    text = s.format()
    assert "binary conv" in text and "Total" in text and "smaller" in text
    assert "{:,}".format(BINARY) in text
    net.initialize()
    net.hybridize()
    net(mx.nd.ones(INPUT))
    _check(summary(net, INPUT))


def test_summary_of_exported_and_converted_models(tmp_path):
    net = _net()
    net.initialize()
    net.hybridize()
    net(mx.nd.ones(INPUT))
    prefix = str(tmp_path / "tiny")
    net.export(prefix)
    _check(summary(prefix, input_shape=INPUT))
    _check(summary(prefix + "-symbol.json", input_shape=INPUT))
    _check(summary(prefix + "-0000.params", input_shape=INPUT))
    # 3 input channels -> guesses 224x224, which Flatten + QDense refuse: ask for the shape
    with pytest.raises(ValueError, match="input shape is not recorded .* pass the input shape"):
        summary(prefix)
    if converter is None:
        pytest.skip("bmxnet.converter is not importable")
    converter.convert(prefix + "-symbol.json", prefix + "-0000.params", verbose=False)
    s = summary(str(tmp_path / "binarized_tiny"), input_shape=INPUT)
    _check(s, converted=True)
    assert any(r.kind == "binary conv (packed)" for r in s.rows)


def test_scaled_and_kbit_layers_are_classified():
    net = nn.HybridSequential()
    net.add(QConv2D(4, 3, scaling="xnor", in_channels=2),
            QConv2D(4, 3, bits=2, bits_a=2, in_channels=4))
    s = summary(net, (1, 2, 7, 7))
    assert [r.kind for r in s.rows] == ["binary conv", "k-bit conv"]
    assert s.rows[0].binary_params == 4 * 2 * 9 and s.rows[1].float_params == 4 * 4 * 9 + 4
    assert s.rows[0].float_params == 4  # its bias


def test_model_files_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="symbol.json not found"):
        model_files(str(tmp_path / "none"))
    (tmp_path / "m-symbol.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="NNNN.params"):
        model_files(str(tmp_path / "m"))
    (tmp_path / "m-0003.params").write_bytes(b"")
    (tmp_path / "m-0010.params").write_bytes(b"")
    assert model_files(str(tmp_path / "m"))[1].endswith("m-0010.params")
    assert model_files(str(tmp_path / "m"), epoch=3)[1].endswith("m-0003.params")


def test_cli_summary_and_predict(tmp_path, capsys):
    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    rng = np.random.RandomState(0)
    images = rng.uniform(0, 1, (2, 1, 28, 28)).astype(np.float32)
    expected = net(mx.nd.array(images)).asnumpy()
    prefix = str(tmp_path / "lenet")
    net.export(prefix)

    assert cli.main(["summary", prefix]) == 0
    out = capsys.readouterr().out
    assert "binary conv" in out and "binary dense" in out and "(1, 1, 28, 28)" in out
    assert cli.main(["summary", prefix, "--json", "--input-shape", "1,1,28,28"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["binary_params"] == 128 * 64 * 25 + 512 * 128 * 7 * 7

    for i in range(2):
        np.save(tmp_path / f"x{i}.npy", images[i])
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"digit{i}" for i in range(10)))
    assert cli.main(["predict", prefix, str(tmp_path / "x0.npy"), str(tmp_path / "x1.npy"),
                     "--top", "1", "--labels", str(labels)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    for line, scores in zip(lines, expected):
        assert f"digit{scores.argmax()} ({scores.max():.3f})" in line

    cv2 = pytest.importorskip("cv2")
    png = str(tmp_path / "digit.png")
    cv2.imwrite(png, (images[0, 0] * 255).round().astype(np.uint8))
    assert cli.main(["predict", prefix, png, "--top", "1", "--input-shape", "1,1,28,28"]) == 0
    top = int(capsys.readouterr().out.split(":")[1].split()[0])
    assert top == expected[0].argmax()


def test_cli_errors_are_messages(tmp_path, capsys):
    assert cli.main(["summary", str(tmp_path / "missing")]) == 1
    assert "error: " in capsys.readouterr().err
    assert cli.main([]) == 2
    with pytest.raises(SystemExit):
        cli.main(["summary", "x", "--input-shape", "a,b"])


# ------------------------------------------------------------------------------------------
# What a newcomer runs: the recorded input shape, bad flags, batches, clean output
# ------------------------------------------------------------------------------------------

def _exported_cifar_model(tmp_path, name="cifar"):
    """A CIFAR-shaped (3x32x32) model exported with bmxnet.export, which records its shape."""
    net = bmxnet.model_zoo.get_model("binary_resnet18_cifar", classes=10)
    net.initialize(mx.init.Xavier())
    prefix = str(tmp_path / name)
    bmxnet.export(net, prefix, input_shape=(1, 3, 32, 32))
    return net, prefix


def test_summary_and_predict_use_the_recorded_input_shape(tmp_path, capsys):
    net, prefix = _exported_cifar_model(tmp_path)
    s = summary(prefix)
    assert s.input_shape == (1, 3, 32, 32) and not s.assumed_input
    assert s.total("binary_macs") == summary(prefix, input_shape=(1, 3, 32, 32)).total(
        "binary_macs")
    assert s.total("binary_macs") < 1e9  # 0.55 G at 32x32, not the 26.8 G of a 224x224 guess
    assert cli.main(["summary", prefix]) == 0
    captured = capsys.readouterr()
    assert "input (1, 3, 32, 32)" in captured.out and "guessed" not in captured.out
    # predict: the image is resized to 32x32, and nothing says "assumed"
    cv2 = pytest.importorskip("cv2")
    png = str(tmp_path / "img.png")
    rng = np.random.RandomState(0)
    cv2.imwrite(png, rng.randint(0, 256, (32, 32, 3)).astype(np.uint8))
    assert cli.main(["predict", prefix, png, "--top", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.startswith(png + ": ")
    # a model exported before shapes were recorded: the guess is said to be one
    plain = str(tmp_path / "plain")
    net.export(plain)
    assert summary(plain).assumed_input
    assert cli.main(["summary", plain]) == 0
    assert "guessed" in capsys.readouterr().out


@pytest.mark.parametrize("flags,named,allowed", [
    (["--top", "0"], "--top", ">= 1"), (["--top", "-2"], "--top", ">= 1"),
    (["--input-shape", "1,0,28,28"], "--input-shape", "positive integers"),
    (["--epoch", "-1"], "--epoch", "from 0 to 9999"),
    (["--mean", "a,b"], "--mean", "numbers")])
def test_predict_bad_flags_are_one_line_and_exit_2(tmp_path, capsys, flags, named, allowed):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["predict", str(tmp_path / "m"), "x.png"] + flags)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"argument {named}" in err and allowed in err, err


def test_predict_classifies_every_sample_of_a_npy_batch(tmp_path, capsys):
    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize(mx.init.Xavier())
    prefix = str(tmp_path / "lenet")
    bmxnet.export(net, prefix, input_shape=(1, 1, 28, 28))
    images = np.random.RandomState(0).uniform(0, 1, (2, 1, 28, 28)).astype(np.float32)
    expected = net(mx.nd.array(images)).asnumpy()
    np.save(tmp_path / "two.npy", images)
    assert cli.main(["predict", prefix, str(tmp_path / "two.npy"), "--top", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for i, (line, scores) in enumerate(zip(lines, expected)):
        assert line.startswith(f"{tmp_path / 'two.npy'}[{i}]: {scores.argmax()} ")
    np.save(tmp_path / "bad.npy", images[:, :, :20])
    assert cli.main(["predict", prefix, str(tmp_path / "bad.npy")]) == 2
    assert "(1, 28, 28)" in capsys.readouterr().err


def test_commands_print_no_mxnet_notices(tmp_path):
    """`bmxnet predict` runs the graph as trained without MXNet's subgraph notice, and the
    scripts' own loads show no 'Cannot decide type' warning."""
    import subprocess
    import sys

    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize(mx.init.Xavier())
    prefix = str(tmp_path / "lenet")
    bmxnet.export(net, prefix, input_shape=(1, 1, 28, 28))
    np.save(tmp_path / "x.npy", np.zeros((1, 28, 28), np.float32))
    proc = subprocess.run([sys.executable, "-m", "bmxnet.cli", "predict", prefix,
                           str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    assert "MXNET_SUBGRAPH_BACKEND" not in proc.stdout


def test_summary_shows_its_table_in_a_repl():
    net = _net()
    net.initialize()
    s = summary(net, input_shape=INPUT)
    assert repr(s) == s.format() and "Total" in repr(s)


def test_params_of_another_model_are_named_by_predict(tmp_path, capsys):
    _, prefix = _exported_cifar_model(tmp_path)
    net = bmxnet.model_zoo.get_model("binary_lenet", classes=10)
    net.initialize(mx.init.Xavier())
    other = str(tmp_path / "lenet")
    bmxnet.export(net, other, input_shape=(1, 1, 28, 28))
    assert cli.main(["predict", prefix + "-symbol.json", "--epoch", "0", "x.npy"]) == 1
    capsys.readouterr()
    import shutil
    shutil.copy(other + "-0000.params", prefix + "-0001.params")
    assert cli.main(["predict", prefix, str(tmp_path / "x.npy"), "--epoch", "1"]) == 1
    err = capsys.readouterr().err
    n = len(mx.nd.load(other + "-0000.params"))
    assert f"{n} of its {n} parameters are not in the symbol" in err, err

"""MXNet takes seconds and 200 MB to import: what needs only numpy never imports it
(``bmxnet.runtime``, ``bmxnet.converter``, ``model-converter``, every ``--help`` and the
``--runtime`` commands), while ``import bmxnet`` still registers the bmx_* ops for whoever
uses MXNet. Each check runs in a fresh interpreter and reads its sys.modules at exit."""
import json
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import runtime_golden  # noqa: E402  (tests/runtime_golden.py)

sys.path.pop(0)

# Prints, as the interpreter exits, whether mxnet was ever imported.
_REPORT = ("import atexit, sys\n"
           "atexit.register(lambda: print('MXNET_IMPORTED=%s' % ('mxnet' in sys.modules),"
           " file=sys.stderr))\n")


def _python(code):
    proc = subprocess.run([sys.executable, "-c", _REPORT + code], capture_output=True,
                          text=True, timeout=300)
    assert "MXNET_IMPORTED=" in proc.stderr, proc.stderr
    return proc, "MXNET_IMPORTED=True" in proc.stderr


def _command(module, argv):
    """`module`'s main(argv) as its console script runs it."""
    return _python(f"from {module} import main\nsys.exit(main({json.dumps(argv)}))\n")


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    """The converted zoo LeNet (random weights), a .npy sample and a PNG digit for it."""
    work = tmp_path_factory.mktemp("lenet")
    case = runtime_golden.prepare("binary_lenet", str(work))
    np.save(work / "x.npy", case.x[0])
    pixels = np.random.RandomState(0).randint(0, 256, (28, 28)).astype(np.uint8)
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(28))

    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = (28).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    (work / "digit.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return case.symbol_file[:-len("-symbol.json")], str(work)


def test_numpy_only_modules_do_not_import_mxnet():
    proc, imported = _python("import bmxnet\nfrom bmxnet import runtime, converter, params_io\n"
                             "import bmxnet.converter.cli\nprint(bmxnet.HAVE_MXNET)\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"  # MXNet is installed here, and still not imported
    assert not imported


@pytest.mark.parametrize("module, argv", [
    ("bmxnet.cli", ["--help"]),
    ("bmxnet.cli", []),
    ("bmxnet.cli", ["summary", "--help"]),
    ("bmxnet.cli", ["predict", "--help"]),
    ("bmxnet.cli", ["launch", "--help"]),
    ("bmxnet.converter", ["--help"]),
])
def test_help_does_not_import_mxnet(module, argv):
    proc, imported = _command(module, argv)
    assert proc.returncode in (0, 2), proc.stderr
    assert "usage:" in proc.stdout + proc.stderr
    assert not imported


def test_runtime_commands_do_not_import_mxnet(lenet):
    prefix, work = lenet
    for argv in (["predict", "--runtime", prefix, os.path.join(work, "x.npy")],
                 ["predict", "--runtime", prefix, os.path.join(work, "digit.png")],
                 ["summary", "--runtime", prefix, "--input-shape", "1,1,28,28"]):
        proc, imported = _command("bmxnet.cli", argv)
        assert proc.returncode == 0, (argv, proc.stderr)
        assert not imported, argv


def test_model_converter_does_not_import_mxnet(tmp_path):
    work = tmp_path / "made"
    work.mkdir()
    prefix = runtime_golden._export_zoo_model("binary_lenet", str(work), 0)
    proc, imported = _command("bmxnet.converter", [f"{prefix}-0000.params",
                                                   "-o", str(tmp_path / "converted")])
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(tmp_path / "converted-symbol.json")
    assert not imported


@pytest.mark.parametrize("code", [
    "import mxnet as mx\nimport bmxnet\n",                 # MXNet first
    "import bmxnet\nimport mxnet as mx\n",                 # bmxnet first
    "import bmxnet.nn\nimport mxnet as mx\n",              # a part that needs MXNet
    "from bmxnet import model_zoo\nimport mxnet as mx\nmodel_zoo.binary_lenet()\n",
])
def test_import_bmxnet_still_registers_the_ops(code):
    proc, imported = _python(code + "print(mx.nd.bmx_det_sign(mx.nd.array([-2, 3])).asnumpy())\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[-1.  1.]"
    assert imported

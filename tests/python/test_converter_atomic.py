"""model-converter replaces its two output files so that readers see the old pair or the new
one, never a mix: the converter is killed (SIGKILL) at every step of writing, with and without
an older output in place, and every loader refuses a symbol and params of two conversions."""
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from bmxnet import pairing, params_io
from bmxnet.converter import convert, files
from test_converter import ROOT, lenet_like

# The steps of files.write_atomically in order (the symbol file is written and renamed first).
STEPS = ["write-symbol", "fsync-symbol", "write-params", "fsync-params",
         "rename-symbol", "rename-params", "fsync-dir"]
SENTENCE = "do not belong together (converted at different times); convert again"
INPUT_SHAPE = (1, 3, 6, 6)

# The converter in a fresh interpreter without the package's __init__ (which loads the op
# library and MXNet): the conversion itself needs neither, and each run starts in a moment.
_RUN = f"""
import sys, types
pkg = types.ModuleType("bmxnet")
pkg.__path__ = [{os.path.join(ROOT, "python", "bmxnet")!r}]
sys.modules["bmxnet"] = pkg
from bmxnet.converter import main
sys.exit(main(sys.argv[1:]))
"""


def _run_converter(params_path, out_prefix, kill_at=None):
    env = dict(os.environ)
    env.pop(files.KILL_AT_ENV, None)
    if kill_at is not None:
        env[files.KILL_AT_ENV] = kill_at
    return subprocess.run([sys.executable, "-c", _RUN, params_path, "-o", out_prefix, "-q"],
                          env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The exported inputs of two different models, and the bytes each converts to."""
    base = tmp_path_factory.mktemp("models")
    out = {}
    for name, (s, head) in {"old": lenet_like(), "new": lenet_like(channels=48, bn=False)}.items():
        directory = base / name
        directory.mkdir()
        _sym, params_path = s.save(directory, [head])
        convert(_sym, params_path, str(directory / "ref"), verbose=False)
        out[name] = {"params_path": params_path,
                     "pair": (open(directory / "ref-symbol.json", "rb").read(),
                              open(directory / "ref-0000.params", "rb").read())}
    assert out["old"]["pair"] != out["new"]["pair"]
    return out


def _files(directory):
    return sorted(os.listdir(directory))


def _read(prefix, models, predictor):
    """What a reader gets at `prefix`: "old" or "new" (the whole pair loaded), else the
    exception it raised."""
    sym_path, params_path = f"{prefix}-symbol.json", f"{prefix}-0000.params"
    try:
        if predictor is not None:
            with predictor((sym_path, params_path), INPUT_SHAPE) as pred:
                pred.predict(np.zeros(INPUT_SHAPE, np.float32))
        else:
            for path in (sym_path, params_path):
                if not os.path.exists(path):
                    raise FileNotFoundError(f"{path} not found")
            pairing.check_files(sym_path, params_path)
    except (ValueError, FileNotFoundError) as e:
        return e
    pair = (open(sym_path, "rb").read(), open(params_path, "rb").read())
    for name in ("old", "new"):
        if pair == models[name]["pair"]:
            return name
    raise AssertionError(f"a reader loaded a pair that is neither the old nor the new one: "
                         f"{_files(os.path.dirname(prefix))}")


@pytest.fixture(scope="module")
def predictor():
    """bmxnet.runtime.Predictor when libbmx_runtime is built, else None (the id check alone)."""
    import bmxnet
    from bmxnet import runtime

    try:
        bmxnet.runtime_library_path()
    except FileNotFoundError:
        return None
    return runtime.Predictor


@pytest.mark.parametrize("with_old", [False, True], ids=["fresh", "over-old"])
def test_killed_at_every_step_leaves_the_old_pair_or_the_new_one(models, tmp_path, with_old,
                                                                  predictor):
    for step in STEPS:
        out_dir = tmp_path / step
        out_dir.mkdir()
        prefix = str(out_dir / "model")
        if with_old:
            convert(models["old"]["params_path"].replace("-0000.params", "-symbol.json"),
                    models["old"]["params_path"], prefix, verbose=False)
        proc = _run_converter(models["new"]["params_path"], prefix, kill_at=step)
        assert proc.returncode == -signal.SIGKILL, (step, proc.returncode, proc.stderr)
        seen = _read(prefix, models, predictor)
        before_renames = STEPS.index(step) < STEPS.index("rename-symbol")
        if step == "rename-symbol":
            # Between the renames: the new symbol beside the old params (refused), or alone.
            if with_old:
                assert isinstance(seen, ValueError) and SENTENCE in str(seen), (step, seen)
                assert f"{prefix}-symbol.json and {prefix}-0000.params" in str(seen)
            else:
                assert isinstance(seen, FileNotFoundError), (step, seen)
        elif before_renames:
            if with_old:
                assert seen == "old", (step, seen)
            else:
                assert isinstance(seen, FileNotFoundError), (step, seen)
            assert any(name.startswith(".tmp-") for name in _files(out_dir)), step
        else:
            assert seen == "new", (step, seen)
        # The next run replaces the pair and clears what the killed one left behind.
        proc = _run_converter(models["new"]["params_path"], prefix)
        assert proc.returncode == 0, proc.stderr
        assert _files(out_dir) == ["model-0000.params", "model-symbol.json"], step
        assert _read(prefix, models, predictor) == "new", step


def test_temporaries_of_a_live_writer_are_kept_unless_old(tmp_path, models):
    """A temporary whose writer still runs may be another conversion's: left alone unless it
    is older than any write takes; a dead writer's is removed at once."""
    out = tmp_path / "model-symbol.json"
    live = tmp_path / f".tmp-{os.getppid()}-abcd1234-model-symbol.json"
    other = tmp_path / f".tmp-{os.getppid()}-abcd1234-other-symbol.json"
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    dead = tmp_path / f".tmp-{int(proc.stdout)}-abcd1234-model-0000.params"
    legacy = tmp_path / ".tmp-abcd1234-model-0000.params"  # earlier converters' names
    for path in (live, other, dead, legacy):
        path.write_bytes(b"x")
    files.remove_stale_temporaries([str(out), str(tmp_path / "model-0000.params")])
    assert not dead.exists()
    assert live.exists() and other.exists() and legacy.exists()
    old = live.stat().st_mtime + files.STALE_TEMP_SECONDS + 1
    files.remove_stale_temporaries([str(out), str(tmp_path / "model-0000.params")], now=old)
    assert not live.exists() and not legacy.exists()
    assert other.exists()  # another output's


@pytest.fixture
def mismatched(models, tmp_path):
    """A converted pair whose params file another conversion replaced."""
    prefix = str(tmp_path / "model")
    for name in ("old", "new"):
        p = models[name]["params_path"]
        convert(p.replace("-0000.params", "-symbol.json"), p, prefix if name == "old"
                else str(tmp_path / "other"), verbose=False)
    os.replace(str(tmp_path / "other-0000.params"), f"{prefix}-0000.params")
    return prefix


def test_the_symbol_records_the_id_of_its_params(models):
    sym, params = models["new"]["pair"]
    graph = json.loads(sym)
    assert graph["attrs"][pairing.PARAMS_ID_ATTR] == ["str", pairing.params_id(params)]
    assert graph["attrs"]["mxnet_version"]  # MXNet's own attribute is kept beside it


def test_a_mismatched_pair_is_refused_by_the_python_loaders(mismatched, tmp_path, capsys):
    sym, params = f"{mismatched}-symbol.json", f"{mismatched}-0000.params"
    expected = f"{sym} and {params} {SENTENCE}"
    with pytest.raises(ValueError) as e:
        pairing.check_files(sym, params)
    assert str(e.value) == expected
    from bmxnet import deploy

    with pytest.raises(ValueError) as e:
        deploy.c_predict(sym, params, np.zeros(INPUT_SHAPE, np.float32), exe=sys.executable)
    assert str(e.value) == expected
    from bmxnet import cli

    np.save(str(tmp_path / "x.npy"), np.zeros(INPUT_SHAPE[1:], np.float32))
    argv = ["predict", mismatched, str(tmp_path / "x.npy"), "--input-shape", "1,3,6,6",
            "--runtime"]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.strip() == f"bmxnet predict: error: {expected}"


def test_a_mismatched_pair_is_refused_by_bmxnet_summary(mismatched):
    pytest.importorskip("mxnet")
    from bmxnet.summary import summary

    with pytest.raises(ValueError, match=re.escape(SENTENCE)):
        summary(mismatched, INPUT_SHAPE)


def test_a_mismatched_pair_is_refused_by_the_runtime(mismatched, runtime_library):
    from bmxnet import runtime

    sym, params = f"{mismatched}-symbol.json", f"{mismatched}-0000.params"
    with pytest.raises(ValueError) as e:
        runtime.Predictor((sym, params), INPUT_SHAPE)
    assert str(e.value) == f"{sym} and {params} {SENTENCE}"
    # libbmx_runtime itself (the C API, bmx_predict_runtime, the WebAssembly build).
    import ctypes

    lib = runtime.library()
    sym_bytes, params_bytes = open(sym, "rb").read(), open(params, "rb").read()
    keys = (ctypes.c_char_p * 1)(b"data")
    indptr = (ctypes.c_uint32 * 2)(0, 4)
    dims = (ctypes.c_uint32 * 4)(*INPUT_SHAPE)
    handle = ctypes.c_void_p()
    assert lib.BMXPredCreate(sym_bytes, params_bytes, len(params_bytes), 1, 0, 1, keys, indptr,
                             dims, ctypes.byref(handle)) != 0
    assert lib.BMXGetLastError().decode() == (
        "the symbol and the params do not belong together (converted at different times); "
        "convert again.")


def test_models_without_an_id_still_load(models, tmp_path, runtime_library):
    """Models converted before the id was recorded are not checked."""
    from bmxnet import runtime

    sym, params = models["new"]["pair"]
    graph = json.loads(sym)
    del graph["attrs"][pairing.PARAMS_ID_ATTR]
    (tmp_path / "m-symbol.json").write_text(json.dumps(graph))
    (tmp_path / "m-0000.params").write_bytes(params)
    pairing.check_files(str(tmp_path / "m-symbol.json"), str(tmp_path / "m-0000.params"))
    with runtime.Predictor(str(tmp_path / "m"), INPUT_SHAPE) as pred:
        assert pred.predict(np.zeros(INPUT_SHAPE, np.float32)).shape == (1, 10)


def test_mxnet_loads_a_symbol_with_the_id(models, tmp_path):
    """mx.sym.load and SymbolBlock.imports ignore the id (nnvm keeps graph attributes)."""
    mx = pytest.importorskip("mxnet")
    import bmxnet  # noqa: F401  (registers the bmx_ ops)

    sym, params = models["new"]["pair"]
    (tmp_path / "m-symbol.json").write_bytes(sym)
    (tmp_path / "m-0000.params").write_bytes(params)
    assert "data" in mx.sym.load(str(tmp_path / "m-symbol.json")).list_inputs()
    net = mx.gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"],
                                       str(tmp_path / "m-0000.params"))
    assert net(mx.nd.zeros(INPUT_SHAPE)).shape == (1, 10)


def test_sha256_of_the_runtime_matches_hashlib(runtime_library):
    """libbmx_runtime's SHA-256 agrees with hashlib's for every length modulo 64 (the padding
    takes one block or two), seen through the id check: a recorded id is refused exactly when
    it is wrong. The params are valid files whose size grows a byte at a time with a name."""
    import ctypes

    from bmxnet import runtime

    lib = runtime.library()
    graph = {"nodes": [{"op": "null", "name": "data", "inputs": []}], "arg_nodes": [0],
             "heads": [[0, 0, 0]]}
    sizes = set()
    for k in range(1, 66):
        data = params_io.dumps({"arg:" + "w" * k: np.arange(3, dtype=np.float32)})
        sizes.add(len(data) % 64)
        for good in (True, False):
            graph["attrs"] = {pairing.PARAMS_ID_ATTR: [
                "str", pairing.params_id(data if good else data + b"x")]}
            handle = ctypes.c_void_p()
            rc = lib.BMXPredCreate(json.dumps(graph).encode(), data, len(data), 1, 0, 1,
                                   (ctypes.c_char_p * 1)(b"data"), (ctypes.c_uint32 * 2)(0, 1),
                                   (ctypes.c_uint32 * 1)(1), ctypes.byref(handle))
            if rc == 0:
                lib.BMXPredFree(handle)
            refused = rc != 0 and SENTENCE in lib.BMXGetLastError().decode()
            assert refused != good, (len(data), good, lib.BMXGetLastError())
    assert len(sizes) == 64

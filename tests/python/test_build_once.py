"""The C++ is compiled once: `make install` hands setup.py the CMake tree `make build` built
($BMXNET_BUILT_TREE), and setup.py copies the libraries from it without running CMake or a
compiler. A plain `pip install .` (no variable) still compiles them itself."""
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest
import setuptools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join("src", "runtime", "include", "bmx_predict.h")
BUILD_TOOLS = ("cmake", "make", "gmake", "ninja", "cc", "c++", "gcc", "g++", "clang", "clang++")


def built_tree(folder, runtime=True):
    """A stand-in for build/cmake after `make build`: the two libraries and CMake's record."""
    folder.mkdir()
    (folder / "libbmxnet_ops.so").write_bytes(b"op library from the built tree")
    if runtime:
        (folder / "libbmx_runtime.so").write_bytes(b"runtime from the built tree")
        (folder / "bmx_runtime_file.txt").write_text(f"{folder / 'libbmx_runtime.so'}\n")
    return folder


def load_setup(monkeypatch):
    """setup.py as a module, its setup() call left out."""
    monkeypatch.setattr(setuptools, "setup", lambda **kwargs: None)
    namespace = {"__file__": os.path.join(ROOT, "setup.py"), "__name__": "bmxnet_setup"}
    with open(os.path.join(ROOT, "setup.py")) as f:
        exec(compile(f.read(), "setup.py", "exec"), namespace)
    return namespace


def test_pip_given_the_built_tree_compiles_nothing(tmp_path):
    """pip wheel of the package with BMXNET_BUILT_TREE: every build tool on PATH is a stub that
    notes its call and fails; the wheel holds the built tree's libraries, and no stub ran."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source)
    shutil.copytree(os.path.join(ROOT, "python"), source / "python",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so", "lib"))
    os.makedirs(source / os.path.dirname(HEADER))
    shutil.copy(os.path.join(ROOT, HEADER), source / HEADER)
    tree = built_tree(tmp_path / "cmake")
    stubs, calls = tmp_path / "stubs", tmp_path / "calls.txt"
    stubs.mkdir()
    for tool in BUILD_TOOLS:
        stub = stubs / tool
        stub.write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {calls}\nexit 1\n")
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, BMXNET_BUILT_TREE=str(tree),
               PATH=f"{stubs}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
                           "--no-build-isolation", "-w", str(tmp_path / "wheel"), str(source)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not calls.exists(), calls.read_text()
    (wheel,) = (tmp_path / "wheel").iterdir()
    with zipfile.ZipFile(wheel) as z:
        assert z.read("bmxnet/libbmxnet_ops.so") == b"op library from the built tree"
        assert z.read("bmxnet/lib/libbmx_runtime.so") == b"runtime from the built tree"
        assert z.read("bmxnet/include/bmx_predict.h")


def test_without_the_built_tree_setup_compiles_in_build_pip(monkeypatch, tmp_path):
    setup = load_setup(monkeypatch)
    monkeypatch.setitem(setup, "HERE", str(tmp_path))
    monkeypatch.delenv("BMXNET_BUILT_TREE", raising=False)
    calls = []
    monkeypatch.setattr(setup["subprocess"], "check_call", calls.append)
    ops, runtime = setup["native_libraries"]()
    build_pip = os.path.join(str(tmp_path), "build", "pip")
    assert [call[:5] for call in calls] == [["cmake", "-S", str(tmp_path), "-B", build_pip],
                                            ["cmake", "--build", build_pip, "--target", "bmxnet_ops"]]
    assert ops == os.path.join(build_pip, "libbmxnet_ops.so") and runtime is None


@pytest.mark.parametrize("runtime", [True, False])
def test_a_built_tree_missing_a_library_stops_with_one_sentence(monkeypatch, tmp_path, runtime):
    """The user's mistake: BMXNET_BUILT_TREE names a tree that CMake configured but did not build
    (or built only in part); setup.py says so and runs nothing."""
    setup = load_setup(monkeypatch)
    tree = built_tree(tmp_path / "cmake", runtime=runtime)
    missing = tree / ("libbmx_runtime.so" if runtime else "libbmxnet_ops.so")
    missing.unlink()
    monkeypatch.setenv("BMXNET_BUILT_TREE", str(tree))
    monkeypatch.setattr(setup["subprocess"], "check_call", pytest.fail)
    with pytest.raises(SystemExit) as stop:
        setup["native_libraries"]()
    message = str(stop.value.code)
    assert f"{missing} is not built" in message and "make build" in message
    assert "\n" not in message and "Traceback" not in message

"""Finds bmxnet's native libraries: the MXNet op library (loaded into MXNet once) and the
runtime without MXNet (libbmx_runtime.so, loaded by bmxnet.runtime through ctypes)."""
import os

from . import keyword_inputs

_LIB_NAME = "libbmxnet_ops.so"
_RUNTIME_NAME = "libbmx_runtime.so"
_RUNTIME_HEADER = "bmx_predict.h"
_HERE = os.path.dirname(os.path.abspath(__file__))
# A source checkout: python/bmxnet -> the repository root.
_CHECKOUT = os.path.normpath(os.path.join(_HERE, os.pardir, os.pardir))
_loaded_path = None


def _first_file(candidates, name, env_var):
    for path in candidates:
        if os.path.isfile(path):
            return os.path.realpath(path)
    raise FileNotFoundError(
        f"{name} not found (looked in: {', '.join(candidates)}); "
        f"install bmxnet with `pip install .` (or `make install`), or set {env_var}")


def library_path():
    """Absolute path of the op library: $BMXNET_LIBRARY, else the copy installed with the package."""
    candidates = []
    if os.environ.get("BMXNET_LIBRARY"):
        candidates.append(os.environ["BMXNET_LIBRARY"])
    candidates.append(os.path.join(_HERE, _LIB_NAME))
    # A source checkout built with `make build`.
    candidates.append(os.path.join(_CHECKOUT, "build", "cmake", _LIB_NAME))
    return _first_file(candidates, _LIB_NAME, "BMXNET_LIBRARY")


def runtime_library_path():
    """Absolute path of libbmx_runtime.so: $BMXNET_RUNTIME_LIBRARY, else the copy installed with
    the package (bmxnet/lib/), else build/cmake/ of the source checkout."""
    candidates = []
    if os.environ.get("BMXNET_RUNTIME_LIBRARY"):
        candidates.append(os.environ["BMXNET_RUNTIME_LIBRARY"])
    candidates.append(os.path.join(_HERE, "lib", _RUNTIME_NAME))
    candidates.append(os.path.join(_CHECKOUT, "build", "cmake", _RUNTIME_NAME))
    return _first_file(candidates, _RUNTIME_NAME, "BMXNET_RUNTIME_LIBRARY")


def runtime_include_dir():
    """Absolute path of the folder holding bmx_predict.h, the runtime's C API (for -I)."""
    candidates = [os.path.join(_HERE, "include"),
                  os.path.join(_CHECKOUT, "src", "runtime", "include")]
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, _RUNTIME_HEADER)):
            return os.path.realpath(folder)
    raise FileNotFoundError(
        f"{_RUNTIME_HEADER} not found (looked in: {', '.join(candidates)}); "
        "install bmxnet with `pip install .` (or `make install`)")


def load():
    """Loads the op library into MXNet (idempotent); returns its path."""
    global _loaded_path
    if _loaded_path is None:
        import mxnet as mx

        path = library_path()
        mx.library.load(path, verbose=False)
        keyword_inputs.install()
        _loaded_path = path
    return _loaded_path

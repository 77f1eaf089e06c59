"""Finds libbmxnet_ops.so and loads it into MXNet once."""
import os

_LIB_NAME = "libbmxnet_ops.so"
_loaded_path = None


def library_path():
    """Absolute path of the op library: $BMXNET_LIBRARY, else the copy installed with the package."""
    candidates = []
    if os.environ.get("BMXNET_LIBRARY"):
        candidates.append(os.environ["BMXNET_LIBRARY"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, _LIB_NAME))
    # A source checkout built with `make build` (python/bmxnet -> ../../build/cmake).
    candidates.append(os.path.join(here, os.pardir, os.pardir, "build", "cmake", _LIB_NAME))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.realpath(path)
    raise FileNotFoundError(
        f"{_LIB_NAME} not found (looked in: {', '.join(candidates)}); "
        "install bmxnet with `pip install .` (or `make test`), or set BMXNET_LIBRARY")


def load():
    """Loads the op library into MXNet (idempotent); returns its path."""
    global _loaded_path
    if _loaded_path is None:
        import mxnet as mx

        path = library_path()
        mx.library.load(path, verbose=False)
        _loaded_path = path
    return _loaded_path

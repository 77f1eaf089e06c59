"""bmxnet: binary neural networks for Apache MXNet.

``import bmxnet`` registers the ``bmx_*`` operators (``mx.nd.bmx_*``, ``mx.sym.bmx_*``,
``F.bmx_*``) by loading libbmxnet_ops.so into MXNet: at once when MXNet is already imported,
else as soon as MXNet is (or a part of bmxnet that needs it, such as ``bmxnet.nn``, is used).
The parts that need only numpy, ``bmxnet.runtime`` (converted models through libbmx_runtime),
``bmxnet.converter``, ``bmxnet.params_io``, the library paths and the ``bmxnet`` /
``model-converter`` commands' argument parsing, never import MXNet: it takes seconds and
hundreds of MB to load, which a process that only runs converted models does not need.

Without MXNet installed, ``import bmxnet`` still works and gives those numpy-only parts.
"""
import importlib as _importlib
import importlib.util as _importlib_util
import sys as _sys

from ._lib import library_path, runtime_library_path, runtime_include_dir  # noqa: E402
from .export import export  # noqa: E402  (imports mxnet only when called)
from .summary import summary  # noqa: E402  (imports mxnet only when called)

__version__ = "0.1.0"
__all__ = ["library_path", "runtime_library_path", "runtime_include_dir", "__version__",
           "summary", "export"]

# find_spec does not import mxnet; it is None when mxnet is not installed (or is blocked).
HAVE_MXNET = _importlib_util.find_spec("mxnet") is not None

# The parts that import mxnet (and use the bmx_ ops), imported on first use.
_MXNET_SUBMODULES = ("quantizers", "nn", "model_zoo", "training")


def _register_ops():
    from ._lib import load

    load()


class _RegisterOpsWhenMXNetLoads:
    """A meta path finder that loads the op library right after ``import mxnet`` finishes, so
    that ``import bmxnet; import mxnet as mx; mx.nd.bmx_det_sign(...)`` works as it did when
    ``import bmxnet`` imported mxnet itself. (importlib.abc.MetaPathFinder's protocol, not the
    class: importing importlib.abc would add 30 ms to every start.)"""

    def find_spec(self, name, path=None, target=None):
        if name != "mxnet":
            return None
        _sys.meta_path.remove(self)  # one look-up: the finders after this one give the spec
        spec = _importlib_util.find_spec("mxnet")
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            _register_ops()
        loader.exec_module = exec_then_register
        return spec


if HAVE_MXNET:
    if "mxnet" in _sys.modules:
        _register_ops()
    else:
        _sys.meta_path.insert(0, _RegisterOpsWhenMXNetLoads())
    __all__ += list(_MXNET_SUBMODULES)


def __getattr__(name):
    # PEP 562: bmxnet.nn, bmxnet.model_zoo, ... import mxnet (and register the ops) on first use.
    if name in _MXNET_SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MXNET_SUBMODULES))

"""bmxnet: binary neural networks for Apache MXNet.

Importing bmxnet loads libbmxnet_ops.so, which registers the ``bmx_*`` operators
(``mx.nd.bmx_*``, ``mx.sym.bmx_*``, ``F.bmx_*``).

Without MXNet installed, ``import bmxnet`` still works and gives the parts that need only
numpy: ``bmxnet.runtime`` (converted models through libbmx_runtime), ``bmxnet.converter``,
``bmxnet.params_io`` and the library paths.
"""
import importlib.util as _importlib_util

from ._lib import library_path, runtime_library_path, runtime_include_dir  # noqa: E402

__version__ = "0.1.0"
__all__ = ["library_path", "runtime_library_path", "runtime_include_dir", "__version__"]

# find_spec does not import mxnet; it is None when mxnet is not installed (or is blocked).
HAVE_MXNET = _importlib_util.find_spec("mxnet") is not None

if HAVE_MXNET:
    from ._lib import load as _load

    _load()

    from . import quantizers, nn, model_zoo, training  # noqa: E402  (need the ops registered)
    from .summary import summary  # noqa: E402
    from .export import export  # noqa: E402

    __all__ += ["quantizers", "nn", "model_zoo", "training", "summary", "export"]

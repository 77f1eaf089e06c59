"""bmxnet: binary neural networks for Apache MXNet.

Importing bmxnet loads libbmxnet_ops.so, which registers the ``bmx_*`` operators
(``mx.nd.bmx_*``, ``mx.sym.bmx_*``, ``F.bmx_*``).
"""
from ._lib import library_path, load as _load

_load()

from . import quantizers, nn, model_zoo, training  # noqa: E402  (need the ops registered)
from .summary import summary  # noqa: E402
from .export import export  # noqa: E402

__version__ = "0.1.0"
__all__ = ["library_path", "quantizers", "nn", "model_zoo", "training", "summary", "export",
           "__version__"]

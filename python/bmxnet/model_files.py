"""Which files make a model: its symbol file (PREFIX-symbol.json) and its params file
(PREFIX-NNNN.params), named by a prefix, by the path of either file, or given as a pair.

Every reader of saved models (summary, runtime.Predictor, bmxnet predict / summary,
deploy.c_predict, model-converter) names them here, so each accepts the same forms and
says the same sentence when a file is missing."""

import glob
import os
import re
from typing import Optional, Sequence, Tuple, Union

__all__ = ["model_files", "require_file", "ModelFilesError", "EPOCH_RE"]

SYMBOL_SUFFIX = "-symbol.json"
# The ops the converter writes for binary layers: a symbol holding one of them is converted.
PACKED_OPS = ("bmx_binary_conv2d", "bmx_binary_dense")
# PREFIX-NNNN.params: the epoch is the digits after the last dash.
EPOCH_RE = re.compile(r"^(?P<prefix>.*)-(?P<epoch>\d+)\.params$")
_FORMS = ("give a model prefix, its -symbol.json or its -NNNN.params (HybridBlock.export "
          "writes PREFIX-symbol.json and PREFIX-0000.params)")


class ModelFilesError(FileNotFoundError):
    """A model's file is missing, or a path names no model file."""


def require_file(path: str) -> str:
    """`path` when it is a file; ModelFilesError saying why not otherwise."""
    if not os.path.exists(path):
        raise ModelFilesError(f"{path} not found: it does not exist; check the path ({_FORMS})")
    if not os.path.isfile(path):
        raise ModelFilesError(f"{path} not found: it is not a file; {_FORMS}")
    return path


def _pair(paths: Sequence) -> Tuple[str, str]:
    if len(paths) != 2:
        raise ValueError(f"expected a model prefix or (symbol file, params file), "
                         f"got {len(paths)} paths")
    symbol, params = (os.fspath(p) for p in paths)
    if symbol.endswith(".params") and params.endswith(".json"):
        symbol, params = params, symbol
    return require_file(symbol), require_file(params)


def model_files(model: Union[str, os.PathLike, Sequence], epoch: Optional[int] = None,
                params: Union[str, os.PathLike, None] = None) -> Tuple[str, str]:
    """(symbol file, params file) of a model, both checked to be files.

    `model` is a prefix (``out/binarized_model``), its ``-symbol.json`` (any ``.json``
    symbol file), its ``-NNNN.params``, or a (symbol, params) pair in either order. The
    params file is `params` when given, else epoch `epoch` of the prefix, else the epoch of
    a ``-NNNN.params`` path, else the prefix's highest epoch."""
    if isinstance(model, (tuple, list)):
        return _pair(model)
    path = os.fspath(model)
    match = EPOCH_RE.match(path)
    if match:
        prefix = match.group("prefix")
        symbol = prefix + SYMBOL_SUFFIX
        if params is None and epoch is None:
            params = path
    elif path.endswith(".params"):
        raise ModelFilesError(f"{path} is not named PREFIX-NNNN.params, so its symbol file "
                              "cannot be found; pass both files: PREFIX-symbol.json "
                              "PREFIX-NNNN.params")
    elif path.endswith(".json"):
        symbol = path
        prefix = re.sub(r"(-symbol)?\.json$", "", path)
    else:
        prefix, symbol = path, path + SYMBOL_SUFFIX
    require_file(symbol)
    if params is not None:
        return symbol, require_file(os.fspath(params))
    if epoch is not None:
        return symbol, require_file(f"{prefix}-{int(epoch):04d}.params")
    found = sorted(glob.glob(glob.escape(prefix) + "-[0-9][0-9][0-9][0-9].params"))
    if not found:
        raise ModelFilesError(f"no {prefix}-NNNN.params next to {symbol}; {_FORMS}")
    return symbol, found[-1]

"""The id that ties a converted symbol file to its params file.

`model-converter` records the SHA-256 of the params file's bytes in the symbol JSON's top-level
``attrs`` as ``"bmx_params_sha256": ["str", "<64 hex digits>"]`` (the form nnvm gives every
graph attribute; MXNet loads the file as before and ignores it). A reader that finds a
symbol file beside a params file written by another conversion (the converter was killed
between its two renames, or one file was copied over) refuses the pair. Files without the
attribute (converted before it was recorded, or exported by MXNet) are not checked.

The params file itself is unchanged: every MXNet loader treats each of its entries as a
parameter (``SymbolBlock.imports`` refuses an unknown one), so it has no place for an id.
Nothing here imports mxnet.
"""
import hashlib
import os
from typing import Optional

__all__ = ["PARAMS_ID_ATTR", "params_id", "record_params_id", "recorded_params_id",
           "check_pair", "check_files", "mismatch_message"]

PARAMS_ID_ATTR = "bmx_params_sha256"


def params_id(params_bytes: bytes) -> str:
    """The id of a params file: the SHA-256 of its bytes, 64 lowercase hex digits."""
    return hashlib.sha256(params_bytes).hexdigest()


def record_params_id(graph: dict, params_bytes: bytes) -> None:
    """Records the id of `params_bytes` in the symbol JSON object `graph` (in place)."""
    attrs = graph.get("attrs")
    if not isinstance(attrs, dict):
        attrs = graph["attrs"] = {}
    attrs[PARAMS_ID_ATTR] = ["str", params_id(params_bytes)]


def recorded_params_id(graph) -> Optional[str]:
    """The params id recorded in the symbol JSON object `graph`, or None when it has none."""
    attrs = graph.get("attrs") if isinstance(graph, dict) else None
    value = attrs.get(PARAMS_ID_ATTR) if isinstance(attrs, dict) else None
    if (isinstance(value, list) and len(value) == 2 and value[0] == "str"
            and isinstance(value[1], str)):
        return value[1]
    return None


def mismatch_message(symbol_file, params_file) -> str:
    return (f"{os.fspath(symbol_file)} and {os.fspath(params_file)} do not belong together "
            "(converted at different times); convert again")


def check_pair(graph, symbol_file, params_file, params_bytes: Optional[bytes] = None) -> None:
    """Raises ValueError with one sentence when the symbol JSON object `graph` (read from
    `symbol_file`) records a params id that the params file's bytes (`params_bytes`, read from
    `params_file` when None) do not have. Bytes that are not a params file at all pass here,
    so that the loader reports them as damaged."""
    recorded = recorded_params_id(graph)
    if recorded is None:
        return
    if params_bytes is None:
        with open(params_file, "rb") as f:
            params_bytes = f.read()
    if params_id(params_bytes) != recorded.lower():
        from . import params_io

        try:
            params_io.loads(params_bytes, source=os.fspath(params_file))
        except params_io.ParamsFormatError:
            return  # damaged rather than another conversion's: the loader says what is wrong
        raise ValueError(mismatch_message(symbol_file, params_file))


def check_files(symbol_file, params_file) -> None:
    """check_pair for two files on disk; a file that is missing or not JSON passes here and is
    left to the loader that reads it, which says what is wrong with it."""
    import json

    try:
        with open(symbol_file, "rb") as f:
            graph = json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return
    try:
        check_pair(graph, symbol_file, params_file)
    except OSError:
        return

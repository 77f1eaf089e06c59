"""Read and write MXNet 1.x ``.params`` files with numpy alone (no mxnet import).

The format is the NDArray list that ``mx.nd.save`` writes (all integers little-endian)::

    uint64 0x112 (list magic), uint64 reserved, uint64 count, count x NDArray,
    uint64 count, count x (uint64 length, utf-8 bytes)           # names, may be empty

    NDArray (V2 0xF993FAC9 / V3 0xF993FACA, V3 = "numpy shape" semantics):
        uint32 magic, int32 storage type (0 = dense),
        int32 ndim, ndim x int64 dims,                 # V2: ndim 0 = empty handle
        int32 dev_type, int32 dev_id, int32 dtype flag, raw data (C order)

Older files are read too: V1 (0xF993FAC8, no storage type) and the pre-V1 layout whose first
word is ndim followed by uint32 dims.  Sparse arrays are refused.

Every count read from a file is checked against the bytes that remain before anything is
allocated, so a truncated, random or foreign file raises :class:`ParamsFormatError` (a
``ValueError``) with one sentence saying what is wrong, never a crash or a huge allocation.
"""

from __future__ import annotations

import os
import struct
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

__all__ = ["ParamsFormatError", "load", "loads", "save", "dumps", "DTYPE_FLAGS",
           "mismatch_message"]

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA

# mshadow type flags (mshadow/base.h in MXNet 1.9.1) that have a numpy twin.
DTYPE_FLAGS = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
    7: np.dtype("?"),
    8: np.dtype("<i2"),
    9: np.dtype("<u2"),
    10: np.dtype("<u4"),
    11: np.dtype("<u8"),
}
_FLAG_OF = {dt: flag for flag, dt in DTYPE_FLAGS.items()}
_DEV_TYPES = {1, 2, 3, 5}  # cpu, gpu, cpu_pinned, cpu_shared
_MAX_NDIM = 32  # MXNet itself caps tensors far lower; anything above is not a .params file

Params = Union[Dict[str, Optional[np.ndarray]], List[Optional[np.ndarray]]]


class ParamsFormatError(ValueError):
    """The bytes are not a readable MXNet NDArray list."""


class _Reader:
    def __init__(self, data: bytes, source: str):
        self.data = memoryview(data)
        self.pos = 0
        self.source = source

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def fail(self, what: str) -> ParamsFormatError:
        return ParamsFormatError(f"{self.source} is not a valid MXNet .params file: {what}.")

    def take(self, nbytes: int, what: str) -> memoryview:
        if nbytes < 0 or nbytes > self.remaining():
            raise self.fail(f"the file ends inside {what} (truncated?)")
        chunk = self.data[self.pos:self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def unpack(self, fmt: str, what: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))

    def count(self, item_min_bytes: int, what: str) -> int:
        """A uint64 count, bounded by how many items could still fit in the file."""
        (n,) = self.unpack("<Q", f"the {what} count")
        if n * item_min_bytes > self.remaining():
            raise self.fail(f"it claims {n} {what} but only {self.remaining()} bytes remain")
        return n


def _read_shape_v1(r: _Reader, what: str, signed_ndim: bool):
    (ndim,) = r.unpack("<i" if signed_ndim else "<I", f"the shape of {what}")
    if ndim == -1 and signed_ndim:
        return None  # unknown shape (numpy semantics): an empty handle
    if not 0 <= ndim <= _MAX_NDIM:
        raise r.fail(f"{what} has an impossible number of dimensions ({ndim})")
    dims = r.unpack(f"<{ndim}q", f"the shape of {what}")
    if any(d < 0 for d in dims):
        raise r.fail(f"{what} has a negative dimension {dims}")
    return tuple(dims)


def _read_body(r: _Reader, shape, what: str) -> np.ndarray:
    dev_type, _dev_id, flag = r.unpack("<iii", f"the header of {what}")
    if dev_type not in _DEV_TYPES:
        raise r.fail(f"{what} has an unknown device type {dev_type}")
    if flag not in DTYPE_FLAGS:
        if flag == 12:
            raise r.fail(f"{what} is bfloat16, which numpy cannot hold")
        raise r.fail(f"{what} has an unknown dtype flag {flag}")
    dtype = DTYPE_FLAGS[flag]
    size = 1
    for d in shape:
        size *= d
    raw = r.take(size * dtype.itemsize, f"the data of {what}")
    # Copy so the array owns its memory and is writeable.
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def _read_ndarray(r: _Reader, index: int) -> Optional[np.ndarray]:
    what = f"array #{index}"
    (magic,) = r.unpack("<I", f"the header of {what}")
    if magic in (V2_MAGIC, V3_MAGIC):
        (stype,) = r.unpack("<i", f"the storage type of {what}")
        if stype != 0:
            raise r.fail(f"{what} uses sparse storage (type {stype}), which is not supported")
        shape = _read_shape_v1(r, what, signed_ndim=True)
        if shape is None or (magic == V2_MAGIC and len(shape) == 0):
            return None  # an empty handle: MXNet stores nothing after the shape
    elif magic == V1_MAGIC:
        shape = _read_shape_v1(r, what, signed_ndim=False)
        if len(shape) == 0:
            return None
    else:
        # Pre-V1 files: the first word is ndim, followed by uint32 dims.
        ndim = magic
        if ndim > _MAX_NDIM:
            raise r.fail(f"{what} does not start with an NDArray header (found 0x{magic:08X})")
        shape = r.unpack(f"<{ndim}I", f"the shape of {what}")
        if ndim == 0:
            return None
    return _read_body(r, shape, what)


def loads(data: bytes, source: str = "the data") -> Params:
    """Parse the bytes of a ``.params`` file.

    Returns an ordered ``dict`` name -> array when the file has names (``Block.export`` and
    ``mx.nd.save(dict)`` write them, e.g. ``"arg:conv0_weight"``), otherwise a ``list``.
    Empty NDArray handles come back as ``None``.
    """
    r = _Reader(bytes(data), source)
    if len(r.data) == 0:
        raise r.fail("the file is empty")
    if len(r.data) < 24:
        raise r.fail(f"the file is only {len(r.data)} bytes long, too short for a header")
    magic, _reserved = r.unpack("<QQ", "the header")
    if magic != LIST_MAGIC:
        raise r.fail(f"it does not start with the NDArray list magic 0x112 (found 0x{magic:X})")
    n_arrays = r.count(8, "arrays")  # each array has at least 8 header bytes
    arrays = [_read_ndarray(r, i) for i in range(n_arrays)]
    n_names = r.count(8, "names")
    names = []
    for i in range(n_names):
        (length,) = r.unpack("<Q", f"the length of name #{i}")
        raw = r.take(length, f"name #{i}")
        try:
            names.append(bytes(raw).decode("utf-8"))
        except UnicodeDecodeError:
            raise r.fail(f"name #{i} is not UTF-8 text") from None
    if r.remaining():
        raise r.fail(f"{r.remaining()} unexpected bytes follow the names list")
    if not names:
        return arrays
    if len(names) != len(arrays):
        raise r.fail(f"it holds {len(arrays)} arrays but {len(names)} names")
    if len(set(names)) != len(names):
        raise r.fail("a parameter name appears twice")
    return OrderedDict(zip(names, arrays))


def load(path: Union[str, os.PathLike]) -> Params:
    """Read a ``.params`` file; see :func:`loads`. OSError is passed through unchanged."""
    with open(path, "rb") as f:
        data = f.read()
    return loads(data, source=os.fspath(path))


def _ndarray_bytes(arr: Optional[np.ndarray], magic: int) -> bytes:
    if arr is None:  # an empty handle: "unknown shape" in either semantics
        return struct.pack("<Iii", magic, 0, -1 if magic == V3_MAGIC else 0)
    dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder not in "|" else arr.dtype
    flag = _FLAG_OF.get(dtype)
    if flag is None:
        raise TypeError(f"cannot save dtype {arr.dtype} in a .params file")
    head = struct.pack(f"<Iii{arr.ndim}q", magic, 0, arr.ndim, *arr.shape)
    body = struct.pack("<iii", 1, 0, flag)  # context cpu(0)
    return head + body + np.ascontiguousarray(arr, dtype=dtype).tobytes()


def dumps(params: Union[Mapping[str, Optional[np.ndarray]], Sequence[Optional[np.ndarray]]]) -> bytes:
    """Serialise a dict name -> array (or a list of arrays) in ``mx.nd.save``'s format.

    Arrays are written with the V2 header that ``mx.nd.load`` reads by default. A 0-d array
    needs MXNet's numpy shape semantics, so if there is one every array is written as V3 and
    the file must be loaded under ``mx.util.np_shape(True)``, exactly as MXNet does itself.
    """
    if isinstance(params, Mapping):
        names = [str(k) for k in params.keys()]
        arrays = list(params.values())
    else:
        names, arrays = [], list(params)
    arrays = [None if a is None else np.asarray(a) for a in arrays]
    np_shape = any(a is not None and a.ndim == 0 for a in arrays)
    magic = V3_MAGIC if np_shape else V2_MAGIC
    out = [struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))]
    out += [_ndarray_bytes(a, magic) for a in arrays]
    out.append(struct.pack("<Q", len(names)))
    for name in names:
        raw = name.encode("utf-8")
        out.append(struct.pack("<Q", len(raw)) + raw)
    return b"".join(out)


def save(path: Union[str, os.PathLike], params) -> None:
    """Write a ``.params`` file; see :func:`dumps`."""
    data = dumps(params)
    with open(path, "wb") as f:
        f.write(data)


def mismatch_message(params_path, symbol_path, param_keys, symbol_variables,
                     inputs=("data",), check_missing=True) -> Optional[str]:
    """The sentence saying that a params file does not belong to a symbol, or None.

    `param_keys` are the params file's names (``arg:``/``aux:`` prefixes allowed),
    `symbol_variables` the names of the symbol's variable nodes, `inputs` the variables the
    caller feeds; `check_missing` False checks only for parameters the symbol lacks. The
    converter, ``bmxnet predict`` and examples/deploy/predict.c say the same.
    """
    param_keys = list(param_keys)
    names = [k[4:] if k.startswith(("arg:", "aux:")) else k for k in param_keys]
    variables = set(symbol_variables)
    extra = [k for k, name in zip(param_keys, names) if name not in variables]
    if extra:
        shown = ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")
        what = (f"{len(extra)} of its {len(param_keys)} parameters are not in the symbol "
                f"({shown})")
    elif check_missing:
        missing = sorted(variables - set(names) - set(inputs))
        if not missing:
            return None
        what = f"parameter {missing[0]} is missing"
    else:
        return None
    return (f"{params_path} does not match {symbol_path}: {what}; the two files seem to come "
            f"from different models, pass the .params file exported together with this symbol")

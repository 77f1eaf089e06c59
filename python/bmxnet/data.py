"""Readers for the datasets the examples use (no downloads: files must be on disk)."""
import gzip
import os
import struct

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Reads an IDX file (MNIST's format), gzipped or not, into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    body = data[4 + 4 * ndim:]
    if len(body) != int(np.prod(dims)) * dtype.itemsize:
        raise ValueError(f"{path} is truncated: header says {dims}, found {len(body)} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _find(data_dir, stem):
    for name in (stem, stem + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    return None


def load_mnist(data_dir):
    """Returns {"train": (x, y), "test": (x, y) or None}; x is float32 (N, 1, 28, 28) in [0, 1]."""
    result = {"train": None, "test": None}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _find(data_dir, f"{prefix}-images-idx3-ubyte")
        labels = _find(data_dir, f"{prefix}-labels-idx1-ubyte")
        if images and labels:
            x = read_idx(images).astype(np.float32)[:, None, :, :] / 255.0
            y = read_idx(labels).astype(np.int64)
            if len(x) != len(y):
                raise ValueError(f"{images} has {len(x)} images but {labels} has {len(y)} labels")
            result[split] = (x, y)
    if result["train"] is None:
        raise FileNotFoundError(
            f"no MNIST training files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) "
            f"in {data_dir}")
    return result

"""One input file -> a model's input tensor, by libbmx_runtime's rules (BMXInputFromFile and
BMXInputFromPixels in ``bmx_predict.h``): the rules bmx_run uses, so that ``bmxnet predict``
(through MXNet or with --runtime) and bmx_run make the same tensor from the same file.

    x = load_input("digit64.png", (1, 1, 28, 28))     # -> float32 (1, 1, 28, 28)

What a file holds is told by its first bytes: a .npy array, a PGM/PPM image or raw float32
values are read by the runtime; a compressed image (PNG, JPEG, ...) is decoded here to 8-bit
pixels (Pillow, else MXNet's decoder) and the runtime does the rest: scaling to [0, 1], the
model's channels (gray <-> RGB), a bilinear resize to its H x W, mean / std. A .npy array is one
sample of the model's input without the batch axis (leading axes of size 1 optional) or a batch
of them; raw float32 values are whole samples. Nothing here imports mxnet unless an image needs
decoding and Pillow is missing.
"""
import ctypes
import io
from typing import Optional, Sequence

import numpy as np

__all__ = ["InputFileError", "load_input"]


class InputFileError(ValueError):
    """An input file that cannot be read, or whose data cannot fit the model: one sentence
    naming the file, what it holds and the shape the model takes."""


# Pillow modes without colour: decoded to gray (with alpha: gray + alpha), the rest to RGB(A).
_GRAY_MODES = ("1", "L", "I", "I;16", "I;16L", "I;16B", "F")


def _pixels(path: str, data: bytes, fmt: str) -> np.ndarray:
    """The (H, W, C) uint8 pixels of a compressed image, in its own channels (C: 1 gray, 2 gray
    and alpha, 3 RGB, 4 RGB and alpha), as libpng gives them to bmx_run."""
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        try:
            img = Image.open(io.BytesIO(data))
            if img.mode in _GRAY_MODES:
                img = img.convert("L")
            elif img.mode in ("LA", "La"):
                img = img.convert("LA")
            elif img.mode in ("RGBA", "RGBa", "PA") or "transparency" in img.info:
                img = img.convert("RGBA")
            else:
                img = img.convert("RGB")
            pixels = np.asarray(img, dtype=np.uint8)
        except Exception as e:
            raise InputFileError(f"{path} is not a {fmt.upper()} image Pillow can decode "
                                 f"({e}).") from None
        return pixels.reshape(pixels.shape[0], pixels.shape[1], -1)
    from . import HAVE_MXNET

    if not HAVE_MXNET:
        raise InputFileError(f"{path} is a {fmt.upper()} image, and decoding it needs Pillow "
                             f"(pip install pillow); or give a .npy array.")
    import mxnet as mx

    try:
        return mx.image.imdecode(data, flag=1).asnumpy()  # RGB
    except Exception:
        raise InputFileError(f"{path} is not a {fmt.upper()} image MXNet can decode.") from None


def _floats(values: Optional[Sequence[float]]):
    if not values:
        return None, 0
    return (ctypes.c_float * len(values))(*values), len(values)


def load_input(path: str, model_shape: Optional[Sequence[int]],
               mean: Optional[Sequence[float]] = None,
               std: Optional[Sequence[float]] = None) -> np.ndarray:
    """The model's input tensor (float32, batch first) from the file `path`, for a model whose
    input shape is `model_shape` (its batch size is free; None: not known, so an image keeps
    its size and an array its shape). `mean` / `std`: per-channel values (one for every channel,
    or one each) applied to image pixels scaled to [0, 1]. InputFileError when the file's data
    is malformed or cannot fit the model; OSError when it cannot be opened."""
    from .runtime import library

    lib = library()
    with open(path, "rb") as f:  # a missing file is an OSError, as in bmx_run a failure (1)
        data = f.read()
    shape = tuple(int(d) for d in model_shape) if model_shape else ()
    dims = (ctypes.c_uint32 * max(len(shape), 1))(*shape)
    mean_p, n_mean = _floats(mean)
    std_p, n_std = _floats(std)
    name = str(path).encode("utf-8", "replace")
    buf = ctypes.create_string_buffer(data, len(data))  # a stable address for the C calls

    fmt, needs_decoding = ctypes.c_char_p(), ctypes.c_int()
    if lib.BMXInputFormat(buf, len(data), ctypes.byref(fmt), ctypes.byref(needs_decoding)):
        raise InputFileError(lib.BMXGetLastError().decode("utf-8", "replace"))
    handle = ctypes.c_void_p()
    if needs_decoding.value:
        pixels = np.ascontiguousarray(_pixels(path, data, fmt.value.decode()))
        h, w, c = pixels.shape
        rc = lib.BMXInputFromPixels(name, pixels.ctypes.data, h, w, c, dims, len(shape),
                                    mean_p, n_mean, std_p, n_std, ctypes.byref(handle))
    else:
        rc = lib.BMXInputFromFile(name, buf, len(data), dims, len(shape), mean_p, n_mean,
                                  std_p, n_std, ctypes.byref(handle))
    if rc != 0:
        raise InputFileError(lib.BMXGetLastError().decode("utf-8", "replace"))
    try:
        out_dims, ndim = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_uint32()
        values, size = ctypes.POINTER(ctypes.c_float)(), ctypes.c_uint32()
        if (lib.BMXInputGetShape(handle, ctypes.byref(out_dims), ctypes.byref(ndim))
                or lib.BMXInputGetData(handle, ctypes.byref(values), ctypes.byref(size))):
            raise InputFileError(lib.BMXGetLastError().decode("utf-8", "replace"))
        out_shape = tuple(int(out_dims[i]) for i in range(ndim.value))
        return np.ctypeslib.as_array(values, (size.value,)).reshape(out_shape).copy()
    finally:
        lib.BMXInputFree(handle)

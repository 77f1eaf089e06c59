"""Converted models through libbmx_runtime, bmxnet's runtime without MXNet (numpy only).

    from bmxnet import runtime
    with runtime.Predictor("out/binarized_model", input_shape=(1, 3, 224, 224)) as pred:
        scores = pred.predict(image)          # numpy array of pred.output_shape
        print(pred.plan["arena_bytes"])       # the plan the runtime made at load

A thin ctypes layer over the C API in ``bmx_predict.h`` (``bmxnet.runtime_include_dir()``),
loaded from ``bmxnet.runtime_library_path()``. Nothing here imports mxnet.
"""
import ctypes
import json
import operator
import os
import threading
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ._lib import runtime_library_path
from .input_shape import model_input_shape
from .model_files import model_files

__all__ = ["Predictor", "BMXRuntimeError", "resolve_model", "library"]

_DEV_CPU = 1
_INPUT_KEY = b"data"
_lib = None
_lib_lock = threading.Lock()


class _StepProfile(ctypes.Structure):
    """BMXStepProfile (bmx_predict.h): one step of a profiled forward."""
    _fields_ = [("node", ctypes.c_char_p), ("op", ctypes.c_char_p), ("kernel", ctypes.c_char_p),
                ("kind", ctypes.c_char_p), ("output_shape", ctypes.POINTER(ctypes.c_uint32)),
                ("output_ndim", ctypes.c_uint32), ("binary_macs", ctypes.c_int64),
                ("float_macs", ctypes.c_int64), ("start_seconds", ctypes.c_double),
                ("seconds", ctypes.c_double)]


class BMXRuntimeError(RuntimeError):
    """A call into libbmx_runtime failed; the message is the runtime's (BMXGetLastError)."""


def library() -> ctypes.CDLL:
    """libbmx_runtime.so, loaded once, with the C API's argument and result types declared."""
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.CDLL(runtime_library_path())
            u32p = ctypes.POINTER(ctypes.c_uint32)
            floatp = ctypes.POINTER(ctypes.c_float)
            handle = ctypes.c_void_p
            signatures = {
                "BMXGetLastError": (ctypes.c_char_p, []),
                "BMXPredCreate": (ctypes.c_int, [
                    ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                    ctypes.c_uint32, ctypes.POINTER(ctypes.c_char_p), u32p, u32p,
                    ctypes.POINTER(handle)]),
                "BMXPredCreateEx": (ctypes.c_int, [
                    ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                    ctypes.c_uint32, ctypes.POINTER(ctypes.c_char_p), u32p, u32p,
                    ctypes.c_uint32, ctypes.POINTER(ctypes.c_char_p), ctypes.c_char_p,
                    ctypes.POINTER(handle)]),
                "BMXPredGetOutputShape": (ctypes.c_int, [
                    handle, ctypes.c_uint32, ctypes.POINTER(u32p), u32p]),
                # Float buffers as plain addresses (numpy's .ctypes.data): building a ctypes
                # pointer object per call cost more than a small model's forward pass.
                "BMXPredSetInput": (ctypes.c_int, [
                    handle, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint32]),
                "BMXPredForward": (ctypes.c_int, [handle]),
                "BMXPredGetOutput": (ctypes.c_int, [
                    handle, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32]),
                "BMXPredFree": (ctypes.c_int, [handle]),
                "BMXPredSetNumThreads": (ctypes.c_int, [handle, ctypes.c_int]),
                "BMXPredClone": (ctypes.c_int, [handle, ctypes.POINTER(handle)]),
                "BMXPredGetPlan": (ctypes.c_int, [handle, ctypes.POINTER(ctypes.c_char_p)]),
                # Input files (bmxnet.input_file): bytes and pixels as plain addresses.
                "BMXSymbolInputShape": (ctypes.c_int, [
                    ctypes.c_char_p, u32p, ctypes.c_uint32, u32p]),
                "BMXInputFormat": (ctypes.c_int, [
                    ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(ctypes.c_char_p),
                    ctypes.POINTER(ctypes.c_int)]),
                "BMXInputFromFile": (ctypes.c_int, [
                    ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint64, u32p, ctypes.c_uint32,
                    floatp, ctypes.c_uint32, floatp, ctypes.c_uint32, ctypes.POINTER(handle)]),
                "BMXInputFromPixels": (ctypes.c_int, [
                    ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                    ctypes.c_uint32, u32p, ctypes.c_uint32, floatp, ctypes.c_uint32, floatp,
                    ctypes.c_uint32, ctypes.POINTER(handle)]),
                "BMXInputGetShape": (ctypes.c_int, [
                    handle, ctypes.POINTER(u32p), u32p]),
                "BMXInputGetData": (ctypes.c_int, [
                    handle, ctypes.POINTER(floatp), u32p]),
                "BMXInputFree": (ctypes.c_int, [handle]),
                "BMXPredForwardProfiled": (ctypes.c_int, [
                    handle, ctypes.POINTER(ctypes.POINTER(_StepProfile)), u32p,
                    ctypes.POINTER(ctypes.c_double)]),
            }
            for name, (restype, argtypes) in signatures.items():
                fn = getattr(lib, name)
                fn.restype, fn.argtypes = restype, argtypes
            _lib = lib
    return _lib


def _check(rc: int, what: str) -> None:
    if rc != 0:
        message = library().BMXGetLastError()
        text = message.decode("utf-8", "replace") if message else ""
        raise BMXRuntimeError(f"{what}: {text or 'libbmx_runtime gave no message'}")


# The runtime's name for bmxnet.model_files.model_files: (symbol file, params file) of a
# prefix, of either file's path, or of a (symbol, params) pair.
resolve_model = model_files


def _dimension(d) -> int:
    """d as an int when it is an integer (an integral float such as 28.0 included), else
    ValueError: int() would turn 28.5 into 28."""
    if isinstance(d, (bool, np.bool_)):
        raise ValueError
    if isinstance(d, (float, np.floating)):
        if not float(d).is_integer():
            raise ValueError
        return int(d)
    return operator.index(d)


# How libbmx_runtime refuses a symbol whose recorded params id (bmxnet.pairing) is not that of
# the params it is given; the Predictor says it with the two files' names.
_PAIR_REFUSAL = "the symbol and the params do not belong together"


def _positive_shape(shape, what: str) -> Tuple[int, ...]:
    try:
        dims = tuple(_dimension(d) for d in shape)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} must be a sequence of positive integers, got {shape!r}") from None
    if not dims or any(d <= 0 or d >= 2 ** 32 for d in dims):
        raise ValueError(f"{what} must be positive integers below 2^32, got {shape!r}")
    return dims


def _float32_input(x) -> np.ndarray:
    """x as a C-contiguous float32 array of its own shape. Floats, integers and booleans are
    converted (as MXNet's NDArray would); complex numbers, objects and strings are refused, since
    no conversion to float32 keeps what they hold."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"the input is not an array of numbers ({e})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"the input has dtype {array.dtype}, which does not convert to float32 "
                        f"without loss; give real numbers (float, integer or bool)")
    # ascontiguousarray would make a 0-d array 1-d: the shape is checked on `array` itself.
    return array.astype(np.float32, order="C", copy=False)


class Predictor:
    """A converted model loaded into libbmx_runtime, planned for one input shape.

    model: a prefix (``out/binarized_model``), the path of its ``-symbol.json`` or
    ``-NNNN.params``, or a (symbol, params) pair. input_shape: NCHW (batch first) as the
    predictor will take it; None guesses it from the first layer as ``bmxnet summary`` does
    (28x28 for one channel, 224x224 otherwise) and is kept in ``.input_shape``.
    threads: the kernels' threads (default: OMP_NUM_THREADS, else all hardware threads);
    counts above the runtime's limit (the larger of 64 and the hardware thread count) are
    clamped to it. isa (ref, portable, avx2, avx512, neon, wasm_simd128 or best) and
    float_backend (auto, xnnpack, portable or reference): this predictor's binary kernels and
    float layers (default: BMXNET_KERNEL_ISA and BMXNET_FLOAT_BACKEND, else the best here);
    ``.plan`` reports them. Each predictor has its own settings and its own threads
    (BMXPredCreateEx in bmx_predict.h).

    A Predictor is safe to share between threads: its calls are serialized (a lock around
    setting the input, running and reading the outputs), so threads sharing one wait for each
    other. For parallel calls use one Predictor per thread, or ``clone()``, which shares the
    weights with this one.
    """

    def __init__(self, model, input_shape: Optional[Sequence[int]] = None,
                 threads: Optional[int] = None, epoch: Optional[int] = None,
                 isa: Optional[str] = None, float_backend: Optional[str] = None):
        self._handle = None
        # One C call sequence at a time: a handle is for one thread at a time (bmx_predict.h).
        self._lock = threading.Lock()
        lib = library()
        self.symbol_file, self.params_file = resolve_model(model, epoch)
        if input_shape is None:
            input_shape, _ = model_input_shape(self.symbol_file, self.params_file)
        self.input_shape = _positive_shape(input_shape, "input_shape")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        with open(self.symbol_file, "rb") as f:
            symbol = f.read()
        with open(self.params_file, "rb") as f:
            params = f.read()
        if len(params) > 2 ** 31 - 1:
            raise ValueError(f"{self.params_file} is over 2 GiB, more than the C API takes")
        keys = (ctypes.c_char_p * 1)(_INPUT_KEY)
        indptr = (ctypes.c_uint32 * 2)(0, len(self.input_shape))
        dims = (ctypes.c_uint32 * len(self.input_shape))(*self.input_shape)
        options = []
        for key, value in (("isa", isa), ("float_backend", float_backend)):
            if value is not None:
                if not isinstance(value, str) or not value or any(c in value for c in "=;,"):
                    raise ValueError(f"{key} must be a name such as 'portable', got {value!r}")
                options.append(f"{key}={value}")
        if threads is not None:
            options.append(f"threads={min(threads, 2 ** 31 - 1)}")
        handle = ctypes.c_void_p()
        rc = lib.BMXPredCreateEx(symbol, params, len(params), _DEV_CPU, 0, 1, keys, indptr, dims,
                                 0, None, ";".join(options).encode(), ctypes.byref(handle))
        if rc != 0 and (lib.BMXGetLastError() or b"").decode("utf-8", "replace").startswith(
                _PAIR_REFUSAL):
            from .pairing import mismatch_message

            raise ValueError(mismatch_message(self.symbol_file, self.params_file))
        _check(rc, f"loading {self.symbol_file} and {self.params_file}")
        self._handle = handle
        self.output_shapes = self._output_shapes()
        self._input_size = int(np.prod(self.input_shape))
        self._plan = None

    def _live_handle(self):
        if self._handle is None:
            raise ValueError("this Predictor is closed")
        return self._handle

    def _output_shapes(self) -> List[Tuple[int, ...]]:
        """Shapes of every output: the C API answers an index past the last with an error."""
        lib, shapes = library(), []
        while True:
            data, ndim = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_uint32()
            if lib.BMXPredGetOutputShape(self._handle, len(shapes), ctypes.byref(data),
                                         ctypes.byref(ndim)) != 0:
                break
            shapes.append(tuple(int(data[i]) for i in range(ndim.value)))
        if not shapes:
            _check(-1, "reading the output shape")
        return shapes

    @property
    def output_shape(self) -> Tuple[int, ...]:
        """Shape of the (first) output, batch first."""
        return self.output_shapes[0]

    @property
    def plan(self) -> dict:
        """The runtime's plan (BMXPredGetPlan): nodes (name, op, kernel, output_shape, macs),
        arena_bytes, weight_bytes, isa, float_backend, and isa_note when BMXNET_KERNEL_ISA names
        a path that is unknown or unavailable here."""
        if self._plan is None:
            text = ctypes.c_char_p()
            with self._lock:
                _check(library().BMXPredGetPlan(self._live_handle(), ctypes.byref(text)),
                       "reading the plan")
                self._plan = json.loads(text.value.decode("utf-8"))
        return self._plan

    def set_threads(self, n: int) -> None:
        """Threads the kernels use from now on (n >= 1; above the runtime's limit, the limit)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"threads must be a positive integer, got {n!r}")
        n = min(n, 2 ** 31 - 1)  # a C int; the runtime clamps it to its limit
        with self._lock:
            _check(library().BMXPredSetNumThreads(self._live_handle(), n), "setting the threads")

    def clone(self) -> "Predictor":
        """A new Predictor of the same model, input shape and threads for another thread: it
        shares this one's binary weights and has its own buffers (BMXPredClone), so the two
        run in parallel. Close it on its own; it stays usable after this one is closed."""
        out = ctypes.c_void_p()
        with self._lock:
            _check(library().BMXPredClone(self._live_handle(), ctypes.byref(out)),
                   "cloning the predictor")
        twin = object.__new__(Predictor)
        twin.__dict__.update(self.__dict__)
        twin._handle, twin._lock, twin._plan = out, threading.Lock(), None
        return twin

    def _input(self, x) -> np.ndarray:
        """`x` as float32, checked against .input_shape."""
        self._live_handle()
        x = _float32_input(x)
        if x.shape != self.input_shape:
            if x.size == self._input_size:  # the right values without the batch or channel axes
                fix = f"reshape it: x.reshape({self.input_shape})"
            elif x.ndim == len(self.input_shape):  # another batch or image size
                fix = f"create one with input_shape={x.shape}"
            else:
                fix = f"give it {len(self.input_shape)} axes, batch first"
            raise ValueError(f"input has shape {x.shape}, but this Predictor was created for "
                             f"{self.input_shape}; {fix}")
        return x

    def forward(self, x) -> List[np.ndarray]:
        """Every output of the model for input `x` (float32-convertible, exactly .input_shape)."""
        x = self._input(x)
        lib = library()
        outputs = [np.empty(shape, dtype=np.float32) for shape in self.output_shapes]
        with self._lock:
            handle = self._live_handle()  # again under the lock: close() may have run
            _check(lib.BMXPredSetInput(handle, _INPUT_KEY, x.ctypes.data, x.size),
                   "setting the input")
            _check(lib.BMXPredForward(handle), "running the model")
            for index, out in enumerate(outputs):
                _check(lib.BMXPredGetOutput(handle, index, out.ctypes.data, out.size),
                       f"reading output {index}")
        return outputs

    def profile(self, x) -> Tuple[List[dict], float]:
        """One forward on `x` with every step timed (BMXPredForwardProfiled): the steps in run
        order, each a dict of node, op, kernel, kind ("binary", "float" or "data"),
        output_shape, binary_macs, float_macs, start_seconds and seconds; and the forward's
        seconds. Forwards through forward() and predict() time nothing."""
        x = self._input(x)
        lib = library()
        rows, count, total = ctypes.POINTER(_StepProfile)(), ctypes.c_uint32(), ctypes.c_double()
        with self._lock:
            handle = self._live_handle()
            _check(lib.BMXPredSetInput(handle, _INPUT_KEY, x.ctypes.data, x.size),
                   "setting the input")
            _check(lib.BMXPredForwardProfiled(handle, ctypes.byref(rows), ctypes.byref(count),
                                              ctypes.byref(total)), "running the model")
            steps = []
            for i in range(count.value):
                r = rows[i]
                steps.append(dict(
                    node=r.node.decode(), op=r.op.decode(), kernel=r.kernel.decode(),
                    kind=r.kind.decode(),
                    output_shape=[int(r.output_shape[d]) for d in range(r.output_ndim)],
                    binary_macs=int(r.binary_macs), float_macs=int(r.float_macs),
                    start_seconds=float(r.start_seconds), seconds=float(r.seconds)))
        return steps, float(total.value)

    def predict(self, x) -> np.ndarray:
        """The model's (first) output for input `x`, a numpy array of .output_shape."""
        return self.forward(x)[0]

    __call__ = predict

    def close(self) -> None:
        """Frees the predictor (idempotent)."""
        lock = getattr(self, "_lock", None)  # absent when __init__ failed early
        if lock is None:
            return
        with lock:  # waits for a call running on another thread
            if self._handle is not None:
                handle, self._handle = self._handle, None
                library().BMXPredFree(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __repr__(self):
        state = "closed" if self._handle is None else f"output {self.output_shape}"
        return f"Predictor({self.symbol_file!r}, input_shape={self.input_shape}, {state})"

"""Run models through the C predict example (examples/deploy/predict.c): `bmx_predict` over
MXNet's C predict API, or `bmx_predict_runtime`, the same program over libbmx_runtime.

Used by the demo and the tests to check that a model gives the same outputs from C as from
Python. Nothing here imports mxnet; the executables link their libraries themselves.
"""
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from ._lib import library_path
from .model_files import ModelFilesError, model_files
from .pairing import check_files

__all__ = ["predict_exe", "find_exe", "run_c_predict", "c_predict", "CPrediction"]

_EXE_NAME = "bmx_predict"
_RUNTIME_EXE_NAME = "bmx_predict_runtime"
_REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           os.pardir, os.pardir))
_TOP_RE = re.compile(r"^sample (\d+): top-\d+ classes(.*)$")
_CLASS_RE = re.compile(r"(\d+)\(([^)]*)\)")


def find_exe(name: str) -> str:
    """Path of the example program `name` (bmx_predict, bmx_predict_runtime, bmx_run,
    bmx_benchmark).

    $<NAME>_EXE if set (BMX_PREDICT_EXE, BMX_PREDICT_RUNTIME_EXE, BMX_RUN_EXE,
    BMX_BENCHMARK_EXE), else ``build/cmake/<name>`` of the source checkout this package lives in
    (or, for an installed package, of the current directory).
    """
    variable = f"{name.upper()}_EXE"
    env = os.environ.get(variable)
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise FileNotFoundError(f"{variable}={env} is not an executable file; "
                                    f"run `make build` or unset {variable}")
        return os.path.abspath(env)
    candidates = [os.path.join(_REPO_ROOT, "build", "cmake", name),
                  os.path.abspath(os.path.join("build", "cmake", name))]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        f"{name} not found (looked in: {', '.join(dict.fromkeys(candidates))}); "
        f"run `make build` to build it, or set {variable}")


def predict_exe() -> str:
    """Path of the `bmx_predict` executable (see :func:`find_exe`)."""
    return find_exe(_EXE_NAME)


@dataclass
class CPrediction:
    """What one run of `bmx_predict` produced."""
    outputs: np.ndarray                     # the model's first output, float32
    top: List[List[Tuple[int, float]]]      # per sample: [(class, score), ...] best first
    stdout: str
    stderr: str


def c_predict(prefix_or_symbol, params=None, batch=None, top: int = 3, lib: Optional[str] = None,
              exe: Optional[str] = None, env: Optional[dict] = None,
              timeout: float = 600, runtime: bool = False) -> CPrediction:
    """Runs `batch` through the model with `bmx_predict`; see :func:`run_c_predict`.

    Also returns the printed top-`top` classes and the program's stdout/stderr. `lib`
    defaults to :func:`bmxnet.library_path`; `env` replaces the environment of the run.
    runtime=True runs `bmx_predict_runtime` (libbmx_runtime, no MXNet, no --lib) instead.
    """
    if batch is None:
        raise ValueError("c_predict: batch is required")
    try:
        symbol, params = model_files(prefix_or_symbol, params=params)
    except ModelFilesError as e:  # the error bmx_predict gives for a missing file
        raise RuntimeError(str(e)) from None
    check_files(symbol, params)  # MXNet's predict API does not check that the two belong together
    batch = np.ascontiguousarray(batch, dtype="<f4")
    if batch.ndim == 0 or batch.size == 0:
        raise ValueError(f"c_predict: batch must have a batch dimension and data, "
                         f"got shape {batch.shape}")
    exe = exe or find_exe(_RUNTIME_EXE_NAME if runtime else _EXE_NAME)
    lib_args = [] if runtime else ["--lib", lib or library_path()]
    with tempfile.TemporaryDirectory(prefix="bmx_predict_") as tmp:
        in_path, out_path = os.path.join(tmp, "input.bin"), os.path.join(tmp, "output.bin")
        batch.tofile(in_path)
        cmd = [exe, *lib_args, "--symbol", symbol, "--params", params, "--input", in_path,
               "--shape", ",".join(str(d) for d in batch.shape), "--output", out_path,
               "--top", str(top)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{os.path.basename(exe)} failed (exit {proc.returncode}): "
                               f"{proc.stderr.strip() or '(no message)'}")
        values = np.fromfile(out_path, dtype="<f4")
    shape, tops = None, []
    for line in proc.stdout.splitlines():
        if line.startswith("output shape:"):
            shape = tuple(int(d) for d in line.split(":", 1)[1].split(","))
        elif _TOP_RE.match(line):
            tops.append([(int(c), float(s)) for c, s in _CLASS_RE.findall(line)])
    if shape is None or int(np.prod(shape)) != values.size:
        raise RuntimeError(f"{os.path.basename(exe)}: unexpected output (shape line {shape}, "
                           f"{values.size} values): {proc.stdout.strip()!r}")
    return CPrediction(values.reshape(shape), tops, proc.stdout, proc.stderr)


def run_c_predict(prefix_or_symbol, params=None, batch: np.ndarray = None, top: int = 3,
                  **kwargs) -> np.ndarray:
    """The model's output for `batch`, computed from C through MXNet's C predict API.

    `prefix_or_symbol` is a model prefix (``<prefix>-symbol.json``) or a symbol file;
    `params` the ``.params`` file (default ``<prefix>-0000.params``). `batch` is any array of
    the model's input shape, batch first; it is passed as float32. Loads our op library with
    ``--lib bmxnet.library_path()`` (runtime=True: through libbmx_runtime instead, no MXNet).
    Raises RuntimeError with the program's message if it
    fails, FileNotFoundError if it is not built, ValueError when the symbol records the id of
    another params file (bmxnet.pairing).
    """
    return c_predict(prefix_or_symbol, params, batch, top=top, **kwargs).outputs

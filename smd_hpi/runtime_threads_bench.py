#!/usr/bin/env python
"""Many predictors in one process (a server): does each keep its speed? (a benchmark, not a test)

For every P in --predictors and T in --threads: P predictors of one converted LeNet, each with
T kernel threads (BMXPredSetNumThreads), run --forwards forwards in all (each predictor
forwards/P of them):

* alone: one predictor after the other, each by itself (the others idle);
* together: every predictor at once, each on its own Python thread (ctypes lets go of the GIL
  inside each call).

ratio = together / alone, the same work either way: 1.0 means the predictors cost each other
nothing; below 1 they use cores that one predictor alone leaves idle; the target is at most
1.5 (run together, many predictors scale like one predictor per core). vs 1x1 = together / the
same forwards on one predictor with one thread, measured first: what the row costs against the
plainest way to run that work (on a machine whose cores other processes also use, a predictor
with several threads alone can be the slow case, which the ratio alone would hide). When P x T exceeds the
cores, every setting is oversubscribed; the runtime then runs a forward on its caller's thread
alone while other forwards are in flight, so the ratio stays near the P x 1 row's.

The model: --model PREFIX (PREFIX-symbol.json and PREFIX-0000.params, e.g. what
tests/runtime_golden.py writes as build/golden/binary_lenet, 1x1x28x28), default that file
when it exists, else the checked-in fuzz seed tests/fuzz/seeds/tiny_binary_lenet (a small
binary LeNet; its input shape is in its header). The library: --library, else
$BMXNET_RUNTIME_LIBRARY, else what bmxnet.runtime_library_path() finds. Only calls that every
version of bmx_predict.h has are used, so older builds can be measured the same way.

    python smd_hpi/runtime_threads_bench.py --predictors 1 2 4 8 --threads 1 2 3 \\
        --forwards 4000 --json out/bench/runtime_threads.json
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import struct
import sys
import threading
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
GOLDEN_LENET = os.path.join(_ROOT, "build", "golden", "binary_lenet")
SEED_LENET = os.path.join(_ROOT, "tests", "fuzz", "seeds", "tiny_binary_lenet")
TARGET = 1.5


def load_model(prefix):
    """(symbol bytes, params bytes, input shape, description)."""
    if prefix is None:
        prefix = GOLDEN_LENET if os.path.isfile(GOLDEN_LENET + "-symbol.json") else SEED_LENET
    if os.path.isfile(prefix + "-symbol.json"):
        with open(prefix + "-symbol.json", "rb") as f:
            symbol = f.read()
        with open(prefix + "-0000.params", "rb") as f:
            params = f.read()
        shape = (1, 1, 28, 28)
        if os.path.isfile(prefix + ".shape"):
            with open(prefix + ".shape") as f:
                shape = tuple(int(v) for v in f.read().split(","))
        return symbol, params, shape, os.path.relpath(prefix, _ROOT)
    # A fuzz seed (tests/fuzz/fuzz_model_loader.cc): JSON length, the shape bytes, JSON, params.
    with open(prefix, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<I", data[:4])
    b = data[4:8]
    shape = (1 + b[0] % 2, 1 + b[1] % 16, 1 + b[2] % 32, 1 + b[3] % 32)
    return data[8:8 + length], data[8 + length:], shape, os.path.relpath(prefix, _ROOT)


def load_library(path):
    if path is None:
        path = os.environ.get("BMXNET_RUNTIME_LIBRARY")
    if path is None:
        sys.path.insert(0, os.path.join(_ROOT, "python"))
        from bmxnet import runtime_library_path
        path = runtime_library_path()
    lib = ctypes.CDLL(path)
    h, vp, u32 = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32
    u32p = ctypes.POINTER(u32)
    for name, res, args in [
            ("BMXGetLastError", ctypes.c_char_p, []),
            ("BMXPredCreate", ctypes.c_int, [ctypes.c_char_p, vp, ctypes.c_int, ctypes.c_int,
                                             ctypes.c_int, u32, ctypes.POINTER(ctypes.c_char_p),
                                             u32p, u32p, ctypes.POINTER(h)]),
            ("BMXPredSetNumThreads", ctypes.c_int, [h, ctypes.c_int]),
            ("BMXPredSetInput", ctypes.c_int, [h, ctypes.c_char_p, vp, u32]),
            ("BMXPredForward", ctypes.c_int, [h]),
            ("BMXPredGetOutputShape", ctypes.c_int, [h, u32, ctypes.POINTER(u32p), u32p]),
            ("BMXPredGetOutput", ctypes.c_int, [h, u32, vp, u32]),
            ("BMXPredFree", ctypes.c_int, [h])]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib, path


class Model:
    def __init__(self, lib, symbol, params, shape):
        self.lib, self.symbol, self.params, self.shape = lib, symbol, params, shape
        n = 1
        for d in shape:
            n *= d
        self.x = (ctypes.c_float * n)(*[((i * 7919) % 13 - 6) / 6.0 for i in range(n)])

    def check(self, rc, what):
        if rc != 0:
            raise RuntimeError(f"{what}: {self.lib.BMXGetLastError().decode()}")

    def create(self, threads):
        keys = (ctypes.c_char_p * 1)(b"data")
        indptr = (ctypes.c_uint32 * 2)(0, len(self.shape))
        dims = (ctypes.c_uint32 * len(self.shape))(*self.shape)
        h = ctypes.c_void_p()
        self.check(self.lib.BMXPredCreate(self.symbol, self.params, len(self.params), 1, 0, 1,
                                          keys, indptr, dims, ctypes.byref(h)), "create")
        self.check(self.lib.BMXPredSetNumThreads(h, threads), "threads")
        data, ndim = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_uint32()
        self.check(self.lib.BMXPredGetOutputShape(h, 0, ctypes.byref(data), ctypes.byref(ndim)),
                   "output shape")
        size = 1
        for i in range(ndim.value):
            size *= data[i]
        return h, (ctypes.c_float * size)()

    def run(self, pred, count):
        h, y = pred
        lib, x = self.lib, self.x
        for _ in range(count):
            if (lib.BMXPredSetInput(h, b"data", x, len(x)) or lib.BMXPredForward(h)
                    or lib.BMXPredGetOutput(h, 0, y, len(y))):
                self.check(-1, "forward")


def measure(model, predictors, threads, forwards):
    preds = [model.create(threads) for _ in range(predictors)]
    each = forwards // predictors
    try:
        for p in preds:
            model.run(p, 20)  # warm: buffers touched, pools started
        start = time.perf_counter()
        for p in preds:
            model.run(p, each)
        alone = time.perf_counter() - start
        barrier = threading.Barrier(predictors + 1)
        errors = []

        def work(p):
            barrier.wait()
            try:
                model.run(p, each)
            except Exception as e:  # reported below
                errors.append(e)

        workers = [threading.Thread(target=work, args=(p,)) for p in preds]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
        together = time.perf_counter() - start
        if errors:
            raise errors[0]
    finally:
        for h, _ in preds:
            model.lib.BMXPredFree(h)
    return alone, together


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="PREFIX of -symbol.json/-0000.params, or a fuzz seed file")
    ap.add_argument("--library", help="libbmx_runtime.so to measure")
    ap.add_argument("--predictors", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--forwards", type=int, default=4000, help="forwards in all, per row")
    ap.add_argument("--runs", type=int, default=1, help="runs per row (the median is reported)")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    lib, path = load_library(args.library)
    symbol, params, shape, name = load_model(args.model)
    model = Model(lib, symbol, params, shape)
    print(f"model {name} {shape}, {args.forwards} forwards per row, library {path}, "
          f"{os.cpu_count()} CPUs ({platform.machine()})")
    one = statistics.median(measure(model, 1, 1, args.forwards)[0] for _ in range(args.runs))
    print(f"1 predictor, 1 thread: {one:.3f} s")
    print(f"{'predictors':>10} {'threads':>7} {'alone s':>9} {'together s':>10} {'ratio':>6} "
          f"{'vs 1x1':>7}  target: ratio <= {TARGET}")
    rows = []
    for t in args.threads:
        for p in args.predictors:
            runs = [measure(model, p, t, args.forwards) for _ in range(args.runs)]
            alone = statistics.median(r[0] for r in runs)
            together = statistics.median(r[1] for r in runs)
            ratio = together / alone
            verdict = "ok" if ratio <= TARGET else "OVER"
            print(f"{p:>10} {t:>7} {alone:>9.3f} {together:>10.3f} {ratio:>6.2f} "
                  f"{together / one:>7.2f}  {verdict}", flush=True)
            rows.append({"predictors": p, "threads": t, "alone_s": alone, "together_s": together,
                         "ratio": ratio, "vs_1x1": together / one, "forwards": args.forwards})
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"model": name, "shape": shape, "library": path, "cpus": os.cpu_count(),
                       "target": TARGET, "one_predictor_one_thread_s": one, "rows": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Binary kernels against MXNet's own fp32 operators (DESIGN.md section 5; `make bench`).

    python smd_hpi/benchmark.py [--threads 1 2] [--repeat N] [--runs N] [--quick]
                                [--json out.json] [--png out.png] [--isa avx2]
                                [--mxnet-isa AVX2] [--only conv ...]

Every row is measured in one process, ours and MXNet's alternately (so that other load on the
machine hits both sides alike), after warm-up, as the median of `repeat` samples, with the same
OMP_NUM_THREADS for both: each thread count runs in its own subprocess because MXNet reads
OMP_NUM_THREADS at start-up. These workers run side by side and take turns row by row, and
within a batch-8 conv row sample by sample, so that the 1- and 2-thread samples that the
thread-scaling rows divide are measured tens of milliseconds apart on a machine whose speed
drifts (a scaling figure is the median ratio of such sample pairs, not of medians taken at
different times). With --runs N the whole measurement is repeated and
every row shows the median over runs of its ratio (each ratio measured within one run). Rows:

* ``bmx_binary_conv2d`` vs ``Convolution`` (oneDNN): the ResNet-18 3x3 layers, pad 1, batch 1
  and 8 (target >= 5x);
* ``bmx_binary_dense`` vs ``FullyConnected``: K = N = 4096, batch 1 and 8 (>= 8x);
* bgemm (``bmxnet_bgemm`` on packed operands) vs ``mx.nd.dot`` on ±1 data: M = N = K = 1024
  and 4096 (>= 6x);
* the converted binary ResNet-18 (``bmxnet.model_zoo`` ``binary_resnet18_v1``, random
  weights, converted by ``bmxnet.converter``) vs gluon-cv's ``resnet18_v1``, 224x224, batch 1
  (>= 3.5x);
* thread scaling: ours at 2 threads vs 1 thread on the batch-8 conv rows (>= 1.7x).

The ratio targets are judged on the 1-thread rows, as the project's targets state them; rows at other thread
counts are printed without a verdict.

Operators run inside hybridized blocks (static_alloc), as in a deployed model, so that the
stateful ops keep their repacked weights; times include MXNet's per-call dispatch on both sides.
Both sides run under the same MXNet engine, by default NaiveEngine (--engine): operators then
run in the calling thread, while the threaded engine adds two thread hand-offs per call, which on
a shared machine can cost more than one of our layers (kernel-only figures: smd_hpi/).
GMAC/s counts multiply-accumulates (binary ones for ours, fp32 ones for MXNet's).
"""
import argparse
import ctypes
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

TARGETS = {"conv": 5.0, "dense": 8.0, "bgemm": 6.0, "model": 3.5, "threads": 1.7}

# name, in channels, out channels, input size, stride (ResNet-18's 3x3 layers, pad 1)
CONV_SHAPES = [
    ("C=64 56x56", 64, 64, 56, 1),
    ("C=128 28x28", 128, 128, 28, 1),
    ("C=256 14x14", 256, 256, 14, 1),
    ("C=512 7x7", 512, 512, 7, 1),
    ("C=64->128 56x56 /2", 64, 128, 56, 2),
    ("C=128->256 28x28 /2", 128, 256, 28, 2),
    ("C=256->512 14x14 /2", 256, 512, 14, 2),
]


# ------------------------------------------------------------------------------------------
# timing


def _sample(fn, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def time_pair(ours, theirs, repeat, min_sample=0.02, warmup=3, handover=None, samples=None):
    """Median seconds per call of `ours` and `theirs` (each returns once its result is ready),
    sampled alternately after warm-up; calls shorter than `min_sample` are repeated within a
    sample (at most 100 times). handover(), when given, is called between sample pairs (the
    workers of a run interleave their samples, _Turn); each pair then starts with one untimed
    call of `ours` (caches and threads warm again after the other worker's turn; `theirs`
    follows `ours` in every pair, as without handovers). `samples`, a dict, gets
    the samples themselves ("ours", "mxnet")."""
    # As timeit does: no garbage collection pauses inside the samples (both sides create a
    # few Python objects per call, and a collection over the benchmark's many live blocks costs
    # as much as a small layer).
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        a, b = _time_pair(ours, theirs, repeat, min_sample, warmup, handover)
    finally:
        if gc_was_enabled:
            gc.enable()
    if samples is not None:
        samples.update(ours=a, mxnet=b)
    return statistics.median(a), statistics.median(b)


def _time_pair(ours, theirs, repeat, min_sample, warmup, handover):
    inner = []
    for fn in (ours, theirs):
        for _ in range(warmup):
            fn()
        first = _sample(fn, 1)
        if first < min_sample:  # fast enough to repeat within a sample: calibrate on the best of 3
            first = min(first, _sample(fn, 1), _sample(fn, 1))
        inner.append(max(1, min(100, int(min_sample / max(first, 1e-9)))))
    a, b = [], []
    for i in range(repeat):
        if handover and i:
            handover()
            ours()
        a.append(_sample(ours, inner[0]))
        b.append(_sample(theirs, inner[1]))
    return a, b


# ------------------------------------------------------------------------------------------
# rows (run inside a worker process)


def _sign(x):
    import numpy as np
    return np.where(x >= 0, 1.0, -1.0).astype(np.float32)


def _block(fn, params):
    """A hybridized (static_alloc) block computing fn(F, x, *params) with constant params."""
    import mxnet as mx

    class _Op(mx.gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self._names = []
            for i, value in enumerate(params):
                p = self.params.get(f"p{i}", shape=value.shape, dtype=value.dtype,
                                    init=mx.init.Zero(), grad_req="null")
                setattr(self, f"p{i}", p)  # registered, so hybrid_forward receives it
                self._names.append(p)
            self._fn = fn

        def hybrid_forward(self, F, x, **kwargs):
            return self._fn(F, x, *[kwargs[f"p{i}"] for i in range(len(params))])

    blk = _Op()
    blk.initialize()
    for p, value in zip(blk._names, params):
        p.set_data(value)
    blk.hybridize(static_alloc=True, static_shape=True)
    return blk


def _call(blk, x):
    return lambda: blk(x).wait_to_read()


def _kernel_lib():
    from bmxnet import _lib
    lib = ctypes.CDLL(_lib.library_path())
    lib.bmxnet_set_kernel_threads.argtypes = [ctypes.c_int]
    return lib


def conv_rows(batches, repeat, threads, handover=None):
    import mxnet as mx
    import numpy as np
    rng = np.random.RandomState(0)
    for name, c, o, h, stride in CONV_SHAPES:
        for n in batches:
            x = mx.nd.array(rng.randn(n, c, h, h).astype(np.float32))
            wf = rng.randn(o, c, 3, 3).astype(np.float32)
            packed = mx.nd.bmx_bitpack(mx.nd.array(wf).transpose((0, 2, 3, 1)))
            kw = dict(kernel=(3, 3), stride=(stride, stride), pad=(1, 1), num_filter=o, no_bias=True)
            ours = _block(lambda F, x, w: F.bmx_binary_conv2d(x, w, pad_value=-1, **kw), [packed])
            theirs = _block(lambda F, x, w: F.Convolution(x, w, **kw), [mx.nd.array(_sign(wf))])
            oh = (h + 2 - 3) // stride + 1
            macs = n * o * oh * oh * c * 9
            # The batch-8 rows are the ones the thread-scaling rows divide: their samples
            # interleave with the other workers' (handover) and are kept; batch-1 rows keep
            # whole turns.
            scaled = n == 8
            samples = {}
            t_ours, t_theirs = time_pair(_call(ours, x), _call(theirs, x), repeat,
                                         handover=handover if scaled else None,
                                         samples=samples if scaled else None)
            row = dict(kind="conv", name=f"conv {name}", batch=n, macs=macs, ours=t_ours,
                       mxnet=t_theirs, threads=threads)
            if scaled:
                row["samples_ours"], row["samples_mxnet"] = samples["ours"], samples["mxnet"]
            if threads > 1 and scaled:
                # Our kernels at 1 and at `threads` threads, alternately in this process
                # (bmxnet_set_kernel_threads), so that both see the same machine load.
                lib = _kernel_lib()
                call = _call(ours, x)

                def at(t):
                    def run():
                        lib.bmxnet_set_kernel_threads(t)
                        call()
                    return run
                t1, tn = time_pair(at(1), at(threads), repeat)
                lib.bmxnet_set_kernel_threads(0)
                row["ours_1thread_same_process"] = t1
                row["ours_same_process"] = tn
            yield row


def dense_rows(batches, repeat, threads, k=4096, n_out=4096):
    import mxnet as mx
    import numpy as np
    rng = np.random.RandomState(1)
    wf = rng.randn(n_out, k).astype(np.float32)
    packed = mx.nd.bmx_bitpack(mx.nd.array(wf))
    ours = _block(lambda F, x, w: F.bmx_binary_dense(x, w, num_hidden=n_out, no_bias=True), [packed])
    theirs = _block(lambda F, x, w: F.FullyConnected(x, w, num_hidden=n_out, no_bias=True),
                    [mx.nd.array(_sign(wf))])
    for m in batches:
        x = mx.nd.array(rng.randn(m, k).astype(np.float32))
        t_ours, t_theirs = time_pair(_call(ours, x), _call(theirs, x), repeat)
        yield dict(kind="dense", name=f"dense K=N={k}", batch=m, macs=m * k * n_out, ours=t_ours,
                   mxnet=t_theirs, threads=threads)


def bgemm_rows(sizes, repeat, threads):
    import mxnet as mx
    import numpy as np
    from bmxnet import _lib
    lib = ctypes.CDLL(_lib.library_path())
    lib.bmxnet_bgemm.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 3
    rng = np.random.RandomState(2)
    for size in sizes:
        a = _sign(rng.randn(size, size))
        b = _sign(rng.randn(size, size))
        pa = mx.nd.bmx_bitpack(mx.nd.array(a)).asnumpy()
        pb = mx.nd.bmx_bitpack(mx.nd.array(b)).asnumpy()
        c = np.empty((size, size), dtype=np.int32)
        fa, fb = mx.nd.array(a), mx.nd.array(b)

        def ours():
            if lib.bmxnet_bgemm(size, size, size, pa.ctypes.data, pb.ctypes.data, c.ctypes.data):
                raise RuntimeError("bmxnet_bgemm failed")

        def theirs():
            mx.nd.dot(fa, fb, transpose_b=True).wait_to_read()

        if size <= 1024:
            t_ours, t_theirs = time_pair(ours, theirs, repeat)
        else:  # MXNet's dot takes seconds here
            t_ours, t_theirs = time_pair(ours, theirs, min(repeat, 3), warmup=1)
        expected = mx.nd.dot(fa, fb, transpose_b=True).asnumpy()
        if not np.array_equal(c, expected.astype(np.int32)):
            raise AssertionError(f"bgemm {size}: result differs from mx.nd.dot")
        yield dict(kind="bgemm", name=f"bgemm M=N=K={size}", batch=size, macs=size ** 3,
                   ours=t_ours, mxnet=t_theirs, threads=threads)


def binary_resnet18(tmpdir, batch=1):
    """binary_resnet18_v1 from the model zoo with random weights, exported and converted."""
    import mxnet as mx
    from bmxnet import converter, model_zoo
    net = model_zoo.get_model("binary_resnet18_v1")
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(-1, 1, (batch, 3, 224, 224))
    net(x)
    net.hybridize()
    net(x)
    prefix = os.path.join(tmpdir, "binary_resnet18_v1")
    net.export(prefix)
    report = converter.convert(f"{prefix}-symbol.json", f"{prefix}-0000.params",
                               out_prefix=os.path.join(tmpdir, "binarized"), verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = mx.gluon.SymbolBlock.imports(os.path.join(tmpdir, "binarized-symbol.json"),
                                                 ["data"],
                                                 os.path.join(tmpdir, "binarized-0000.params"))
    return net, converted, len(report.converted)


def model_rows(repeat, threads, batch=1):
    import mxnet as mx
    import numpy as np
    import gluoncv
    with tempfile.TemporaryDirectory() as tmpdir:
        trained, ours, n_binary = binary_resnet18(tmpdir, batch)
    x = mx.nd.random.uniform(-1, 1, (batch, 3, 224, 224))
    ours.hybridize(static_alloc=True, static_shape=True)
    np.testing.assert_allclose(ours(x).asnumpy(), trained(x).asnumpy(), rtol=1e-4, atol=1e-4)
    theirs = gluoncv.model_zoo.get_model("resnet18_v1", pretrained=False)
    theirs.initialize(mx.init.Xavier())
    theirs.hybridize(static_alloc=True, static_shape=True)
    t_ours, t_theirs = time_pair(_call(ours, x), _call(theirs, x), repeat)
    yield dict(kind="model", name=f"ResNet-18 224x224 ({n_binary} binary layers)", batch=batch,
               macs=1_814_083_072 * batch, ours=t_ours, mxnet=t_theirs, threads=threads)


class _Turn:
    """Turn-taking between the workers of one run (one per thread count), which run side by
    side: a worker measures one row while holding the token, then passes it on, so that every
    row is measured at each thread count within seconds rather than minutes apart (the machine's
    speed drifts). Within a batch-8 conv row the workers also hand the token over after every
    sample pair (handover), so that the samples the thread-scaling rows divide are tens of
    milliseconds apart. fds: "index,token_in,token_out,ready" from the parent; None: a lone
    worker."""

    def __init__(self, fds):
        self.index = 0
        self._fds = None
        if fds:
            self.index, token_in, token_out, ready = (int(v) for v in fds.split(","))
            self._fds = token_in, token_out
            os.write(ready, b"r")  # set up (imports done): the parent starts the first turn
            os.close(ready)

    def _take(self):
        if os.read(self._fds[0], 1) != b"t":
            raise RuntimeError("benchmark worker: the turn token was lost")

    def _give(self):
        try:
            os.write(self._fds[1], b"t")
        except BrokenPipeError:  # the next worker has measured all its rows and exited
            pass

    def __enter__(self):
        if self._fds:
            self._take()
            time.sleep(0.05)  # the previous worker's OpenMP threads stop spinning
        return self

    def __exit__(self, *exc):
        if self._fds:
            self._give()
        return False

    def handover(self):
        """While holding the token: pass it on and wait until it comes back. Every worker
        measures the same rows with the same number of samples, so the handovers pair up."""
        if self._fds:
            self._give()
            self._take()

    def finish(self):
        if self._fds:
            for fd in self._fds:
                os.close(fd)


def worker(args):
    """Measures every row at this process's OMP_NUM_THREADS; writes JSON to args.worker_out."""
    from tqdm import tqdm
    import mxnet as mx  # noqa: F401
    import bmxnet
    from bmxnet import _lib
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    lib = ctypes.CDLL(_lib.library_path())
    lib.bmxnet_kernel_isa.restype = ctypes.c_char_p
    repeat = args.repeat
    batches = [1, 8]
    turn = _Turn(args.turn_fds)
    groups = [("conv", lambda: conv_rows(batches, repeat, threads, turn.handover),
               len(CONV_SHAPES) * 2),
              ("dense", lambda: dense_rows(batches, repeat, threads), 2),
              ("bgemm", lambda: bgemm_rows([1024] if args.quick else [1024, 4096], repeat, threads),
               1 if args.quick else 2),
              ("model", lambda: model_rows(repeat, threads), 1)]
    rows = []
    with tqdm(total=sum(g[2] for g in groups), desc=f"{threads} thread(s)", unit="row",
              file=sys.stderr, leave=False, position=turn.index) as bar:
        for kind, make, _ in groups:
            if args.only and kind not in args.only:
                bar.update(_)
                continue
            rows_of_group = make()
            while True:
                with turn:  # one row (or the end of the group) per turn
                    row = next(rows_of_group, None)
                if row is None:
                    break
                rows.append(row)
                bar.set_postfix_str(f"{row['name']} b{row['batch']}: {row['mxnet'] / row['ours']:.1f}x")
                bar.update(1)
    turn.finish()
    info = dict(isa=lib.bmxnet_kernel_isa().decode(), kernel_threads=lib.bmxnet_kernel_threads(),
                omp_num_threads=threads, bmxnet=bmxnet.__version__, library=_lib.library_path())
    with open(args.worker_out, "w") as f:
        json.dump(dict(info=info, rows=rows), f)


# ------------------------------------------------------------------------------------------
# parent: one worker per thread count, then the table, JSON and chart


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        name = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), "")
        flags = next((l.split(":", 1)[1].split() for l in lines if l.startswith("flags")), [])
        simd = [f for f in ("avx2", "bmi2", "popcnt", "fma", "avx512f", "avx512_vpopcntdq")
                if f in flags]
        return f"{name} ({os.cpu_count()} cpus; {' '.join(simd)})"
    except OSError:
        return platform.processor() or platform.machine()


def scheduling_gaps(seconds=0.5, threshold=20e-6):
    """How much of each CPU's time a spinning thread loses to gaps over `threshold` (the
    thread descheduled: other processes, interrupts, or on a VM the host running other
    guests), per CPU: lost fraction, gaps per second, longest gap (s). Such a gap stalls a
    2-thread call at its join while the stalled thread's job waits, so this figure says how
    far to trust thread-scaling rows. None where CPU affinity cannot be set."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    old = os.sched_getaffinity(0)
    was_enabled = gc.isenabled()
    gc.disable()
    result = []
    try:
        for cpu in sorted(old):
            os.sched_setaffinity(0, {cpu})
            clock = time.perf_counter
            start = prev = clock()
            lost, gaps, worst = 0.0, 0, 0.0
            while prev - start < seconds:
                now = clock()
                if now - prev > threshold:
                    lost, gaps, worst = lost + now - prev, gaps + 1, max(worst, now - prev)
                prev = now
            span = prev - start
            result.append(dict(cpu=cpu, lost=lost / span, gaps_per_s=gaps / span, longest=worst))
    finally:
        os.sched_setaffinity(0, old)
        if was_enabled:
            gc.enable()
    return result


def format_gaps(gaps):
    if not gaps:
        return ""
    parts = []
    for when in ("before", "after"):
        if gaps.get(when):
            cpus = ", ".join(f"cpu{g['cpu']} {100 * g['lost']:.1f}% ({g['gaps_per_s']:.0f}/s, "
                             f"longest {1e3 * g['longest']:.1f} ms)" for g in gaps[when])
            parts.append(f"{when}: {cpus}")
    return ("time a spinning thread lost to scheduling gaps > 20 us, " + "; ".join(parts))


def _worker_cmd(threads, args, out):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MXNET_ENGINE_TYPE=args.engine)
    if args.isa:
        env["BMXNET_KERNEL_ISA"] = args.isa
    if args.mxnet_isa:
        env["DNNL_MAX_CPU_ISA"] = args.mxnet_isa
    cmd = [sys.executable, os.path.abspath(__file__), "--worker-out", out, "--repeat",
           str(args.repeat)] + (["--quick"] if args.quick else [])
    if args.only:
        cmd += ["--only"] + args.only
    return cmd, env


def run_workers(args):
    """One run: a worker per thread count, side by side, taking turns (_Turn);
    returns their results in the order of args.threads."""
    outs = []
    for _ in args.threads:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            outs.append(tmp.name)
    n = len(args.threads)
    procs, parent_fds = [], []
    try:
        if n == 1:
            cmd, env = _worker_cmd(args.threads[0], args, outs[0])
            procs.append(subprocess.Popen(cmd, env=env))
        else:
            tokens = [os.pipe() for _ in range(n)]  # tokens[i]: into worker i
            ready_r, ready_w = os.pipe()
            for i, t in enumerate(args.threads):
                cmd, env = _worker_cmd(t, args, outs[i])
                token_in, token_out = tokens[i][0], tokens[(i + 1) % n][1]
                cmd += ["--turn-fds", f"{i},{token_in},{token_out},{ready_w}"]
                procs.append(subprocess.Popen(cmd, env=env, pass_fds=(token_in, token_out, ready_w)))
            # The parent keeps only the way into worker 0, and closes it after the first token:
            # when a worker dies, the next one reads end-of-file and stops too.
            os.close(ready_w)
            for i, (r, w) in enumerate(tokens):
                os.close(r)
                if i:
                    os.close(w)
            first, parent_fds = tokens[0][1], [ready_r]
            try:
                for _ in range(n):  # every worker has imported MXNet and measured nothing yet
                    if not os.read(ready_r, 1):
                        break  # a worker died before it was ready; its exit status says why
                else:
                    os.write(first, b"t")
            finally:
                os.close(first)
        for proc in procs:
            if proc.wait() != 0:
                raise subprocess.CalledProcessError(proc.returncode, proc.args)
        results = []
        for out in outs:
            with open(out) as f:
                results.append(json.load(f))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for fd in parent_fds:
            os.close(fd)
        for out in outs:
            os.unlink(out)


def _median_runs(runs):
    """One result per row from several runs: median times, and the median of the per-run
    ratios (each measured within one run), with every run's ratio kept."""
    merged = {}
    for run in runs:
        for res in run:
            for r in res["rows"]:
                key = (r["name"], r["batch"], r["threads"])
                merged.setdefault(key, []).append(r)
    rows = []
    for per_run in merged.values():
        r = dict(per_run[0])
        for field in ("ours", "mxnet", "ours_1thread_same_process", "ours_same_process"):
            if field in r:
                r[field] = statistics.median(x[field] for x in per_run)
        r["run_ratios"] = [x["mxnet"] / x["ours"] for x in per_run]
        r["run_ours"] = [x["ours"] for x in per_run]
        r["run_mxnet"] = [x["mxnet"] for x in per_run]
        for side in ("ours", "mxnet"):
            r.pop(f"samples_{side}", None)
            if all(f"samples_{side}" in x for x in per_run):
                r[f"run_samples_{side}"] = [x[f"samples_{side}"] for x in per_run]
        rows.append(r)
    return rows


def _has_samples(one, other, side):
    return f"run_samples_{side}" in one and f"run_samples_{side}" in other


def _paired_speedup(one, other, side):
    """Median over runs of one run's speedup: the median ratio of its interleaved sample
    pairs (1-thread sample i / t-thread sample i), or, for results without samples (saved
    by an earlier version), the ratio of the run's medians."""
    key = f"run_samples_{side}"
    if _has_samples(one, other, side):
        per_run = [statistics.median(a / b for a, b in zip(s1, st))
                   for s1, st in zip(one[key], other[key])]
    else:
        per_run = [a / b for a, b in zip(one[f"run_{side}"], other[f"run_{side}"])]
    return statistics.median(per_run)


def summarize(runs):
    """Rows with ratios and targets, and the thread-scaling rows, from one or more runs (each
    run: one worker result per thread count)."""
    rows = []
    for r in _median_runs(runs):
        r["ratio"] = statistics.median(r["run_ratios"])
        r["ours_gmacs"] = r["macs"] / r["ours"] / 1e9
        r["mxnet_gmacs"] = r["macs"] / r["mxnet"] / 1e9
        # The ratio targets are 1-thread figures; rows at more threads are shown, not judged.
        r["target"] = TARGETS[r["kind"]] if r["threads"] == 1 else None
        r["met"] = r["ratio"] >= r["target"] if r["target"] else None
        rows.append(r)
    scaling = []
    by_key = {(r["name"], r["batch"], r["threads"]): r for r in rows}
    thread_counts = sorted({r["threads"] for r in rows})
    if 1 in thread_counts:
        for t in [t for t in thread_counts if t > 1]:
            for r in rows:
                if r["kind"] != "conv" or r["threads"] != 1 or r["batch"] != 8:
                    continue
                other = by_key.get((r["name"], r["batch"], t))
                if other:
                    # Checked: across the 1-thread and t-thread worker processes (each with
                    # OMP_NUM_THREADS set, as MXNet's side), whose samples of this row
                    # interleave: per run, the median of the ratios of sample pairs measured
                    # one after the other; then the median over runs. Shown beside it: 1 and
                    # t threads sampled alternately in the t-thread process.
                    speedup = _paired_speedup(r, other, "ours")
                    mx_speedup = _paired_speedup(r, other, "mxnet")
                    same = other.get("ours_1thread_same_process")
                    same = same / other["ours_same_process"] if same else None
                    scaling.append(dict(kind="threads", name=r["name"], batch=r["batch"],
                                        threads=t, speedup=speedup, speedup_same_process=same,
                                        paired=_has_samples(r, other, "ours"),
                                        mxnet_speedup=mx_speedup,
                                        target=TARGETS["threads"] if t == 2 else None,
                                        met=speedup >= TARGETS["threads"] if t == 2 else None))
    return rows, scaling


def format_table(rows, scaling):
    head = (f"{'row':<42} {'batch':>5} {'thr':>3} {'ours ms':>9} {'MXNet ms':>10} {'ratio':>7} "
            f"{'ours GMAC/s':>12} {'MXNet GMAC/s':>13} {'target':>7}  ok")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['name']:<42} {r['batch']:>5} {r['threads']:>3} {r['ours'] * 1e3:>9.3f} "
                     f"{r['mxnet'] * 1e3:>10.3f} {r['ratio']:>6.1f}x {r['ours_gmacs']:>12.1f} "
                     f"{r['mxnet_gmacs']:>13.1f} " +
                     (f"{r['target']:>6.1f}x  {'yes' if r['met'] else 'NO'}" if r["target"]
                      else f"{'-':>7}  -"))
    if scaling:
        lines.append("")
        lines.append(f"{'thread scaling, ours: t threads vs 1':<42} {'batch':>5} {'thr':>3} "
                     f"{'speedup':>9} {'(1 proc)':>9} {'MXNet':>7} {'target':>7}  ok")
        for s in scaling:
            target = f"{s['target']:>6.1f}x" if s["target"] else f"{'-':>7}"
            ok = ("yes" if s["met"] else "NO") if s["met"] is not None else "-"
            same = f"{s['speedup_same_process']:>8.2f}x" if s["speedup_same_process"] else f"{'-':>9}"
            lines.append(f"{s['name']:<42} {s['batch']:>5} {s['threads']:>3} "
                         f"{s['speedup']:>8.2f}x {same} {s['mxnet_speedup']:>6.2f}x {target}  {ok}")
        how = ("median ratio of interleaved sample pairs" if all(s.get("paired") for s in scaling)
               else "ratio of the workers' medians")
        lines.append(f"(speedup: ours in the t-thread vs the 1-thread worker process, {how}, as "
                     "MXNet's column; 1 proc: 1 and t threads sampled alternately within the "
                     "t-thread process)")
    return "\n".join(lines)


def _label(r):
    return r["name"] if r["kind"] == "bgemm" else f"{r['name']}, batch {r['batch']}"


def plot(rows, scaling, path, title):
    import textwrap
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    thread_counts = sorted({r["threads"] for r in rows})
    labels = []
    for r in rows:
        label = _label(r)
        if label not in labels:
            labels.append(label)
    fig, ax = plt.subplots(figsize=(10, 0.38 * len(labels) + 1.8))
    height = 0.8 / max(1, len(thread_counts))
    for k, t in enumerate(thread_counts):
        values = []
        for label in labels:
            match = [r for r in rows if _label(r) == label and r["threads"] == t]
            values.append(match[0]["ratio"] if match else 0.0)
        ax.barh([i + k * height for i in range(len(labels))], values, height=height,
                label=f"{t} thread{'s' if t > 1 else ''}")
    for i, label in enumerate(labels):
        target = next((r["target"] for r in rows if _label(r) == label and r["target"]), None)
        if target:
            ax.plot([target, target], [i - 0.1, i + 0.8 - 0.1 + 0.1], color="black", linewidth=1.5)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(labels))])
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up over MXNet fp32 (black bars: targets)")
    ax.set_title("\n".join(textwrap.wrap(title, 110)), fontsize=8)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python smd_hpi/benchmark.py",
                                     description="bmxnet binary kernels vs MXNet fp32 operators")
    parser.add_argument("--threads", type=_positive_int, nargs="+", default=[1, 2],
                        help="thread counts (OMP_NUM_THREADS for both sides; default: 1 2)")
    parser.add_argument("--repeat", type=_positive_int, default=None,
                        help="samples per row (median; default 21, 7 with --quick)")
    parser.add_argument("--runs", type=_positive_int, default=1,
                        help="repeat the whole measurement; rows report the median over runs "
                             "of ratios each measured within one run (default 1)")
    parser.add_argument("--quick", action="store_true", help="fewer samples, no 4096 bgemm")
    parser.add_argument("--json", help="write the results as JSON here")
    parser.add_argument("--png", help="write a bar chart of the ratios here")
    parser.add_argument("--isa", help="pin the kernels' instruction set (BMXNET_KERNEL_ISA)")
    parser.add_argument("--mxnet-isa", metavar="ISA", type=str.upper,
                        choices=["SSE41", "AVX", "AVX2", "AVX512_CORE",
                                 "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "ALL"],
                        help="cap oneDNN, behind MXNet's Convolution and FullyConnected, at this "
                             "instruction set (DNNL_MAX_CPU_ISA, e.g. AVX2); with --isa avx2 this "
                             "compares both sides as on an AVX2-only CPU (mx.nd.dot's BLAS is "
                             "not capped)")
    parser.add_argument("--engine", default="NaiveEngine",
                        choices=["NaiveEngine", "ThreadedEnginePerDevice", "ThreadedEngine"],
                        help="MXNet engine for both sides (MXNET_ENGINE_TYPE; default NaiveEngine: "
                             "operators run in the calling thread, so a call does not pay two "
                             "thread hand-offs, which on a busy machine cost more than a fast op)")
    parser.add_argument("--only", nargs="+", choices=["conv", "dense", "bgemm", "model"],
                        help="measure only these row groups")
    parser.add_argument("--from-json", metavar="JSON",
                        help="print (and with --png, plot) a saved --json result; no measuring")
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--turn-fds", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 7 if args.quick else 21
    if args.worker_out:
        return worker(args)
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        meta = saved["meta"]
        title = (f"bmxnet ({meta['isa']}) vs MXNet {meta['mxnet']} fp32 ({meta.get('engine', '?')}) "
                 f"on {meta['cpu']}; median of {meta['repeat']} samples"
                 + (f", median of {meta['runs']} runs" if meta.get("runs", 1) > 1 else "")
                 + f"; {meta['date']}")
        print(f"{title}\n{meta['command']}")
        if meta.get("sched_gaps"):
            print(format_gaps(meta["sched_gaps"]))
        print()
        print(format_table(saved["rows"], saved["scaling"]))
        print(f"\n{saved['targets_met']} of {saved['targets_checked']} targets met")
        if args.png:
            plot(saved["rows"], saved["scaling"], args.png, title)
            print(f"wrote {args.png}")
        return 0

    started = time.time()
    gaps = dict(before=scheduling_gaps())
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}: measuring with OMP_NUM_THREADS="
              f"{' and '.join(str(t) for t in args.threads)}, taking turns ...",
              file=sys.stderr, flush=True)
        runs.append(run_workers(args))
    gaps["after"] = scheduling_gaps()
    rows, scaling = summarize(runs)
    import mxnet
    info = runs[0][0]["info"]
    meta = dict(cpu=cpu_model(), isa=info["isa"], mxnet_isa=args.mxnet_isa, engine=args.engine,
                threads=args.threads,
                repeat=args.repeat,
                runs=args.runs, quick=args.quick, mxnet=mxnet.__version__, bmxnet=info["bmxnet"],
                python=platform.python_version(), sched_gaps=gaps,
                date=datetime.datetime.now().isoformat(timespec="seconds"),
                command=" ".join(["python smd_hpi/benchmark.py"] + (argv if argv is not None else sys.argv[1:])))
    checked = [r for r in rows + scaling if r["met"] is not None]
    met = sum(1 for r in checked if r["met"])
    capped = f", oneDNN capped at {args.mxnet_isa}" if args.mxnet_isa else ""
    title = (f"bmxnet ({meta['isa']}) vs MXNet {meta['mxnet']} fp32 ({args.engine}{capped}) on {meta['cpu']}; "
             f"median of {args.repeat} samples" + (f", median of {args.runs} runs" if args.runs > 1 else ""))
    print(f"\n{title}")
    if gaps["before"]:
        print(format_gaps(gaps))
    print()
    print(format_table(rows, scaling))
    print(f"\n{met} of {len(checked)} targets met; {time.time() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, rows=rows, scaling=scaling,
                           targets_met=met, targets_checked=len(checked)), f, indent=1)
        print(f"wrote {args.json}")
    if args.png:
        plot(rows, scaling, args.png, title)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

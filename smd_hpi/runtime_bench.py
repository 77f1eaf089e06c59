#!/usr/bin/env python
"""libbmx_runtime against MXNet, batch 1, as users run each (a benchmark, not a test).

Rows, each at every --threads count (one child process per count, OMP_NUM_THREADS set, both
sides measured in the same child, in alternating runs of 5 warm calls so that drift hits both
alike while each side runs with its own data in the caches, as a program calling one model does):

* model: converted ``binary_resnet18_v1`` and ``binary_resnete18`` (224x224, random weights)
  through the runtime (bmxnet.runtime.Predictor) vs the same files through MXNet + the bmx_ op
  library (default engine, ``SymbolBlock.imports`` + ``hybridize(static_alloc=True)``);
  target 1.3x.
* float: the same converted models through the runtime vs gluon-cv's float ``resnet18_v1`` on
  MXNet (``pretrained=False``, hybridized the same way); target 5x.
* lenet: the MNIST example's converted LeNet (1x28x28), runtime vs MXNet + plugin; target 3x.
* conv: every distinct 3x3 binary layer of ResNet-18 alone (a one-layer converted graph)
  through the runtime vs MXNet's float ``Convolution`` of the same shape (a one-op block,
  hybridized with static_alloc); target 5x.

Times are medians over --samples calls; ratio = MXNet / runtime. Then size and memory: the
stripped libbmx_runtime.so (and its float library's shared objects), and the peak RSS of a
process that loads and runs the converted LeNet and ResNet-18 once through ``bmx_run`` vs
through MXNet's C predict API (``bmx_predict``), from ``/usr/bin/time``.

    python smd_hpi/runtime_bench.py --threads 1 2 --json out/bench/runtime_bench.json \\
        --png out/bench/runtime_bench.png
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from benchmark import CONV_SHAPES  # ResNet-18's 3x3 binary layers, as the kernel benchmark's

from bmxnet.argtypes import int_range

TARGETS = {"model": 1.3, "float": 5.0, "lenet": 3.0, "conv": 5.0}
MODELS = [("binary_resnet18_v1", (1, 3, 224, 224)), ("binary_resnete18", (1, 3, 224, 224)),
          ("binary_lenet", (1, 1, 28, 28))]


# ---- preparing the models (parent) ---------------------------------------------------------

def _export_and_convert(net, shape, directory, name):
    import mxnet as mx

    from bmxnet.converter import convert

    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(-1, 1, shape)
    net(x)
    net.hybridize()
    net(x)
    prefix = os.path.join(directory, name)
    net.export(prefix)
    report = convert(f"{prefix}-symbol.json", f"{prefix}-0000.params", verbose=False)
    return report.symbol_out[:-len("-symbol.json")]


def prepare(directory):
    """Converted models and one-layer graphs in `directory`; returns {name: prefix}."""
    import mxnet as mx

    from bmxnet import model_zoo
    from bmxnet import nn as qnn

    mx.random.seed(0)
    prefixes = {}
    for name, shape in MODELS:
        prefixes[name] = _export_and_convert(model_zoo.get_model(name), shape, directory, name)
    for label, cin, cout, size, stride in CONV_SHAPES:
        net = mx.gluon.nn.HybridSequential()
        net.add(qnn.QConv2D(cout, 3, strides=stride, padding=1, use_bias=False,
                            in_channels=cin))
        name = f"conv_{cin}_{cout}_{size}_{stride}"
        prefixes[name] = _export_and_convert(net, (1, cin, size, size), directory, name)
    return prefixes


# ---- timing (child) ------------------------------------------------------------------------

def _interleaved(fn_a, fn_b, samples, warmup=3, run=5):
    """Median seconds of fn_a and fn_b, called in alternating runs of `run` timed calls, each
    run after one untimed call. Alternating runs let drift in the machine's speed hit both
    sides alike; the untimed call lets each side find its weights and code in the caches, as a
    program that calls its one model again and again does (calls alternating one by one time
    each side with its caches emptied by the other: the runtime's LeNet took 0.21 ms alone and
    0.30 ms alternating with MXNet's)."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    a, b = [], []
    while len(a) < samples:
        for fn, times in ((fn_a, a), (fn_b, b)):
            fn()
            for _ in range(min(run, samples - len(times))):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
    return statistics.median(a), statistics.median(b)


def _mxnet_block(prefix):
    import mxnet as mx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block = mx.gluon.SymbolBlock.imports(f"{prefix}-symbol.json", ["data"],
                                             f"{prefix}-0000.params")
    block.hybridize(static_alloc=True)
    return block


def _mxnet_call(block, x):
    def call():
        block(x).wait_to_read()
    return call


def child(args):
    """Measures every row at args.child_threads threads; prints one JSON list."""
    import mxnet as mx
    import numpy as np

    import bmxnet  # noqa: F401  (registers the bmx_ ops)
    from bmxnet import runtime

    threads = args.child_threads
    with open(args.prefixes) as f:
        prefixes = json.load(f)
    rng = np.random.RandomState(0)
    rows = []

    def predictor(prefix, shape):
        return runtime.Predictor(prefix, shape, threads=threads)

    gluoncv_net = None
    for name, shape in MODELS:
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        pred = predictor(prefixes[name], shape)
        block = _mxnet_block(prefixes[name])
        xm = mx.nd.array(x)
        ours, theirs = _interleaved(lambda: pred.predict(x), _mxnet_call(block, xm),
                                    args.samples)
        kind = "lenet" if name == "binary_lenet" else "model"
        rows.append(dict(kind=kind, name=f"{name} converted", shape=list(shape),
                         runtime=ours, mxnet=theirs, threads=threads,
                         mxnet_side="same files, MXNet + bmx_ ops"))
        if kind == "model":
            if gluoncv_net is None:
                from gluoncv.model_zoo import get_model

                gluoncv_net = get_model("resnet18_v1", pretrained=False)
                gluoncv_net.initialize(mx.init.Xavier())
                gluoncv_net.hybridize(static_alloc=True)
            ours, theirs = _interleaved(lambda: pred.predict(x),
                                        _mxnet_call(gluoncv_net, xm), args.samples)
            rows.append(dict(kind="float", name=f"{name} converted", shape=list(shape),
                             runtime=ours, mxnet=theirs, threads=threads,
                             mxnet_side="gluon-cv float resnet18_v1"))
        pred.close()
    for label, cin, cout, size, stride in CONV_SHAPES:
        shape = (1, cin, size, size)
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        pred = predictor(prefixes[f"conv_{cin}_{cout}_{size}_{stride}"], shape)
        conv = mx.gluon.nn.Conv2D(cout, 3, strides=stride, padding=1, use_bias=False,
                                  in_channels=cin)
        conv.initialize(mx.init.Xavier())
        conv.hybridize(static_alloc=True)
        ours, theirs = _interleaved(lambda: pred.predict(x), _mxnet_call(conv, mx.nd.array(x)),
                                    args.samples)
        rows.append(dict(kind="conv", name=label, shape=list(shape), runtime=ours, mxnet=theirs,
                         threads=threads, mxnet_side="MXNet Convolution (float)"))
        pred.close()
    print(json.dumps(rows))
    return 0


# ---- size and memory (parent) --------------------------------------------------------------

def _peak_rss_kib(cmd, env=None):
    """Peak resident memory of the process `cmd` (KiB), as /usr/bin/time -v reports it.

    (Not this process's wait4 rusage: a forked child starts with this Python's pages as its
    high-water mark, which exec does not reset.)"""
    if not os.access("/usr/bin/time", os.X_OK):
        raise RuntimeError("/usr/bin/time is missing (apt-get install time); "
                           "or pass --no-memory")
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *map(str, cmd)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {proc.stderr.strip()}")
        return int(out.read().split()[-1])


def _stripped_size(path, tmp):
    out = os.path.join(tmp, os.path.basename(path) + ".stripped")
    subprocess.run(["strip", "-o", out, path], check=True)
    return os.path.getsize(out)


def _dependencies(path):
    """The shared objects `path` needs beyond the C/C++/OpenMP runtimes (ldd)."""
    base = ("libc.so", "libm.so", "libstdc++", "libgcc_s", "libgomp", "ld-linux", "linux-vdso",
            "libpthread.so", "libdl.so", "librt.so")
    found = {}
    for line in subprocess.run(["ldd", path], capture_output=True, text=True).stdout.splitlines():
        parts = line.split("=>")
        if len(parts) == 2 and parts[1].strip().startswith("/"):
            name, target = parts[0].strip(), parts[1].split()[0]
            if not name.startswith(base):
                found[name] = os.path.realpath(target)
    return found


def size_and_memory(prefixes, tmp):
    import numpy as np

    import bmxnet
    from bmxnet import deploy

    lib = bmxnet.runtime_library_path()
    result = {"runtime_library": lib, "stripped_bytes": _stripped_size(lib, tmp),
              "dependencies": {}}
    for name, path in _dependencies(lib).items():
        result["dependencies"][name] = _stripped_size(path, tmp)
    result["stripped_total_bytes"] = result["stripped_bytes"] + sum(
        result["dependencies"].values())
    import mxnet

    result["libmxnet_bytes"] = os.path.getsize(os.path.join(os.path.dirname(mxnet.__file__),
                                                            "libmxnet.so"))
    run_exe, predict_exe = deploy.find_exe("bmx_run"), deploy.find_exe("bmx_predict")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result["peak_rss_kib"] = {}
    for name, shape in (("binary_lenet", (1, 1, 28, 28)),
                        ("binary_resnet18_v1", (1, 3, 224, 224))):
        prefix = prefixes[name]
        raw = os.path.join(tmp, f"{name}.f32")
        np.random.RandomState(0).uniform(-1, 1, shape).astype("<f4").tofile(raw)
        text = ",".join(map(str, shape))
        ours = _peak_rss_kib([run_exe, prefix, raw, "--shape", text], env)
        theirs = _peak_rss_kib([predict_exe, "--lib", bmxnet.library_path(), "--symbol",
                                f"{prefix}-symbol.json", "--params", f"{prefix}-0000.params",
                                "--input", raw, "--shape", text], env)
        result["peak_rss_kib"][name] = {"bmx_run": ours, "bmx_predict (MXNet)": theirs}
    return result


# ---- report --------------------------------------------------------------------------------

def table(rows):
    head = ("kind", "row", "threads", "runtime ms", "MXNet ms", "MXNet side", "ratio", "target")
    body = []
    for r in rows:
        ratio = r["mxnet"] / r["runtime"]
        target = TARGETS[r["kind"]]
        body.append((r["kind"], r["name"], str(r["threads"]), f"{1e3 * r['runtime']:.3f}",
                     f"{1e3 * r['mxnet']:.3f}", r["mxnet_side"], f"{ratio:.2f}x",
                     f">= {target}x {'met' if ratio >= target else 'MISSED'}"))
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def memory_table(info):
    mib = 1024.0 * 1024.0
    lines = [f"libbmx_runtime.so stripped: {info['stripped_bytes'] / mib:.2f} MiB; with its float "
             f"library ({', '.join(info['dependencies']) or 'none'}): "
             f"{info['stripped_total_bytes'] / mib:.2f} MiB (libmxnet.so: "
             f"{info['libmxnet_bytes'] / mib:.0f} MiB)"]
    for name, sides in info["peak_rss_kib"].items():
        lines.append(f"peak RSS, load + run {name} once: " + ", ".join(
            f"{side} {kib / 1024.0:.1f} MiB" for side, kib in sides.items()))
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    labels = [f"{r['kind']}: {r['name']} ({r['threads']}t)" for r in rows]
    ratios = [r["mxnet"] / r["runtime"] for r in rows]
    targets = [TARGETS[r["kind"]] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(rows) + 1.5))
    ax.barh(range(len(rows)), ratios, color=["tab:green" if r >= t else "tab:red"
                                             for r, t in zip(ratios, targets)])
    ax.scatter(targets, range(len(rows)), marker="|", s=200, color="black", label="target")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    # Log scale from parity (1x, or below it if a row is slower), with the ratios written out.
    ax.set_xscale("log")
    left = min(1.0, 0.9 * min(ratios))
    right = 1.1 * max(ratios + targets)
    ax.set_xlim(left, right)
    ax.axvline(1.0, color="gray", linewidth=0.8)
    ax.set_xticks([t for t in (0.5, 1, 1.3, 2, 3, 5, 10, 20, 50) if left <= t <= right])
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("speed-up of libbmx_runtime over MXNet (MXNet time / runtime time), batch 1")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int_range(1), nargs="+", default=[1, 2])
    parser.add_argument("--samples", type=int_range(1), default=30,
                        help="timed calls per side per row (median taken)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--png", default=None, help="plot the ratios here")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the size and peak-memory measurements")
    parser.add_argument("--child-threads", type=int_range(1), help=argparse.SUPPRESS)
    parser.add_argument("--prefixes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_threads:
        return child(args)

    with tempfile.TemporaryDirectory(prefix="bmx_runtime_bench_") as tmp:
        prefixes = prepare(tmp)
        prefix_file = os.path.join(tmp, "prefixes.json")
        with open(prefix_file, "w") as f:
            json.dump(prefixes, f)
        rows = []
        for threads in args.threads:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-threads",
                                   str(threads), "--prefixes", prefix_file, "--samples",
                                   str(args.samples)], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                print(f"runtime_bench: the {threads}-thread run failed", file=sys.stderr)
                return 1
            rows += json.loads(proc.stdout.strip().splitlines()[-1])
        memory = None if args.no_memory else size_and_memory(prefixes, tmp)
    print(table(rows))
    if memory:
        print()
        print(memory_table(memory))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "targets": TARGETS, "memory": memory,
                       "machine": platform.processor() or platform.machine(),
                       "samples": args.samples}, f, indent=1)
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        plot(rows, args.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reproduces the BMXNet paper's kernel comparison (Yang et al., ACM MM 2017, section 4.1) with
today's kernels: xnor GEMM vs BLAS sgemm at growing matrix sizes, and a binary convolution layer
vs the float one at growing filter counts and kernel sizes.

    python smd_hpi/gemm_vs_blas.py [--threads 1] [--sizes 64 128 ... 4096] [--isas ref portable avx2 avx512]
                                   [--out smd_hpi/results] [--quick]

GEMM: C = A B^T of ±1 matrices, M = N = K = size. "xnor <isa>" is bmxnet's bgemm on bit-packed
operands (bmxnet_bgemm, B repacked on every call as a BLAS packs its operands; BMXNET_KERNEL_ISA
pins the path, "ref" is the plain reference twin, the paper's "xnor_64" without blocking);
"sgemm (MXNet/OpenBLAS)" is mx.nd.dot on float32, "sgemm (numpy)" numpy's BLAS. Each ISA runs in
its own process (the path is chosen at start-up); every timing is the median of repeats after
warm-up, all with the same OMP_NUM_THREADS, MXNet under its NaiveEngine. Writes gemm.json, gemm.png, conv.json, conv.png and a
markdown table (tables.md) to --out.
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def median_time(fn, repeat, budget=2.0):
    fn()
    first = time.perf_counter()
    fn()
    once = time.perf_counter() - first
    inner = max(1, min(100, int(0.02 / max(once, 1e-9))))
    repeat = max(3, min(repeat, int(budget / max(once * inner, 1e-9))))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def child(args):
    """Times this process's kernel path (BMXNET_KERNEL_ISA) or the BLAS baselines; prints JSON."""
    import mxnet as mx
    import numpy as np
    import bmxnet
    lib = ctypes.CDLL(bmxnet.library_path())
    lib.bmxnet_bgemm.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 3
    lib.bmxnet_kernel_isa.restype = ctypes.c_char_p
    rng = np.random.RandomState(0)
    out = {"isa": lib.bmxnet_kernel_isa().decode(), "gemm": {}, "conv": {}}
    for size in args.sizes:
        if args.mode == "xnor" and out["isa"] in ("ref", "portable") and size > args.slow_limit:
            continue
        a = np.where(rng.randn(size, size) >= 0, 1.0, -1.0).astype(np.float32)
        b = np.where(rng.randn(size, size) >= 0, 1.0, -1.0).astype(np.float32)
        if args.mode == "xnor":
            pa = mx.nd.bmx_bitpack(mx.nd.array(a)).asnumpy()
            pb = mx.nd.bmx_bitpack(mx.nd.array(b)).asnumpy()
            c = np.empty((size, size), dtype=np.int32)
            fn = lambda: lib.bmxnet_bgemm(size, size, size, pa.ctypes.data, pb.ctypes.data, c.ctypes.data)
            t = median_time(fn, args.repeat)
            assert np.array_equal(c, (a @ b.T).astype(np.int32)), "xnor GEMM result differs"
        elif args.mode == "mxnet":
            fa, fb = mx.nd.array(a), mx.nd.array(b)
            t = median_time(lambda: mx.nd.dot(fa, fb, transpose_b=True).wait_to_read(), args.repeat)
        else:
            t = median_time(lambda: a @ b.T, args.repeat)
        out["gemm"][str(size)] = t
    if args.mode in ("xnor", "mxnet") and not (args.mode == "xnor" and out["isa"] in ("ref", "portable")):
        # The paper's second experiment: one conv layer, 64 input channels, 28x28, batch 1,
        # growing filter count (kernel 3) and kernel size (256 filters).
        x = mx.nd.array(rng.randn(1, 64, 28, 28).astype(np.float32))
        for filters, k in [(f, 3) for f in (32, 64, 128, 256, 512)] + [(256, k) for k in (1, 5, 7)]:
            w = rng.randn(filters, 64, k, k).astype(np.float32)
            kw = dict(kernel=(k, k), pad=(k // 2, k // 2), num_filter=filters, no_bias=True)
            if args.mode == "xnor":
                wp = mx.nd.bmx_bitpack(mx.nd.array(w).transpose((0, 2, 3, 1)))
                blk = _block(lambda F, x, w: F.bmx_binary_conv2d(x, w, **kw), wp)
            else:
                blk = _block(lambda F, x, w: F.Convolution(x, w, **kw), mx.nd.array(np.sign(w)))
            out["conv"][f"{filters}x{k}"] = median_time(lambda: blk(x).wait_to_read(), args.repeat)
    print(json.dumps(out))


def _block(fn, weight):
    import mxnet as mx

    class Op(mx.gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.w = self.params.get("w", shape=weight.shape, dtype=weight.dtype, init=mx.init.Zero(),
                                     grad_req="null")

        def hybrid_forward(self, F, x, w):
            return fn(F, x, w)

    blk = Op()
    blk.initialize()
    blk.w.set_data(weight)
    blk.hybridize(static_alloc=True, static_shape=True)
    return blk


def run(mode, isa, args):
    # NaiveEngine: MXNet's operators run in the calling thread (no engine hand-off per call).
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MXNET_ENGINE_TYPE="NaiveEngine")
    if isa:
        env["BMXNET_KERNEL_ISA"] = isa
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--repeat", str(args.repeat),
           "--slow-limit", str(args.slow_limit), "--sizes"] + [str(s) for s in args.sizes]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} {isa}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048, 4096])
    parser.add_argument("--isas", nargs="+", default=["ref", "portable", "avx2", "avx512"])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--slow-limit", type=int, default=1024,
                        help="largest size for the ref and portable paths")
    parser.add_argument("--quick", action="store_true", help="sizes up to 1024, 5 repeats")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--child", choices=["xnor", "mxnet", "numpy"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.sizes = [s for s in args.sizes if s <= 1024]
        args.repeat = 5
    if args.child:
        args.mode = args.child
        return child(args)

    from tqdm import tqdm
    os.makedirs(args.out, exist_ok=True)
    jobs = [("mxnet", None), ("numpy", None)] + [("xnor", isa) for isa in args.isas]
    results = {}
    for mode, isa in tqdm(jobs, desc="kernels", unit="path"):
        res = run(mode, isa, args)
        label = f"xnor {res['isa']}" if mode == "xnor" else {"mxnet": "sgemm (MXNet/OpenBLAS)",
                                                               "numpy": "sgemm (numpy)"}[mode]
        if mode == "xnor" and res["isa"] != isa:
            tqdm.write(f"{isa} is not available here (ran {res['isa']}); skipped")
            continue
        results[label] = res
    import platform
    from benchmark import cpu_model  # smd_hpi/benchmark.py, beside this script
    meta = dict(cpu=cpu_model(), threads=args.threads, repeat=args.repeat,
                python=platform.python_version(), date=time.strftime("%Y-%m-%d %H:%M"))
    base = "sgemm (MXNet/OpenBLAS)"
    lines = [f"GEMM C = A B^T, M = N = K = size, ±1 data; {meta['cpu']}; {args.threads} thread(s); "
             f"median ms (speed-up over {base})", ""]
    labels = list(results)
    lines.append("| size | " + " | ".join(labels) + " |")
    lines.append("|---:|" + "---:|" * len(labels))
    for size in args.sizes:
        cells = []
        for label in labels:
            t = results[label]["gemm"].get(str(size))
            ref = results[base]["gemm"].get(str(size))
            if t is None:
                cells.append("-")
            elif label == base:
                cells.append(f"{t * 1e3:.3f}")
            else:
                cells.append(f"{t * 1e3:.3f} ({ref / t:.1f}x)")
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    conv_labels = [l for l in labels if results[l]["conv"]]
    if conv_labels:
        lines += ["", "Convolution, 64 input channels, 28x28, batch 1, pad k//2 (filters x kernel); "
                  "median ms (speed-up over MXNet Convolution)", ""]
        float_label = base
        lines.append("| filters x kernel | MXNet Convolution | " + " | ".join(
            l for l in conv_labels if l != float_label) + " |")
        lines.append("|---:|---:|" + "---:|" * (len(conv_labels) - 1))
        for key, t_float in results[float_label]["conv"].items():
            cells = [f"{results[l]['conv'][key] * 1e3:.3f} ({t_float / results[l]['conv'][key]:.1f}x)"
                     for l in conv_labels if l != float_label]
            lines.append(f"| {key} | {t_float * 1e3:.3f} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print("\n" + table)
    with open(os.path.join(args.out, "tables.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(args.out, "gemm.json"), "w") as f:
        json.dump(dict(meta=meta, results=results), f, indent=1)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in labels:
        sizes = [s for s in args.sizes if str(s) in results[label]["gemm"]]
        gmacs = [s ** 3 / results[label]["gemm"][str(s)] / 1e9 for s in sizes]
        ax.plot(sizes, gmacs, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("M = N = K")
    ax.set_ylabel("GMAC/s (binary MACs for xnor)")
    ax.set_title(f"xnor GEMM vs BLAS sgemm, {args.threads} thread(s)\n{meta['cpu']}", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "gemm.png"), dpi=120)
    print(f"\nwrote {args.out}/tables.md, gemm.json, gemm.png")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Start-up cost of the commands users run (a benchmark, not a test): wall time and peak RSS
of one process per command, medians over --runs runs.

Commands: ``bmxnet --help``, ``model-converter --help``, ``bmxnet predict --runtime`` and
``bmxnet predict`` (MXNet) on the converted zoo LeNet (random weights, made once in a temporary
folder), ``from bmxnet import runtime`` with a prediction, and ``bmx_run`` when it is built.
Each command is its own child process; its peak RSS comes from /usr/bin/time -f %M
(else os.wait4).
Targets: ``--help`` and ``predict --runtime`` under 0.5 s, ``predict --runtime`` under 60 MB.

    PYTHONPATH=python .venv/bin/python smd_hpi/cli_startup_bench.py --runs 5
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(cmd, env):
    """(wall seconds, peak RSS in MB) of one run of `cmd`; raises when it fails. The peak RSS
    comes from /usr/bin/time when it is installed (its child starts small), else from os.wait4
    (this process's pages before the child's exec count too: about 13 MB more)."""
    timer = ["/usr/bin/time", "-f", "BENCH_MAXRSS_KB=%M"] if os.path.isfile("/usr/bin/time") else []
    start = time.perf_counter()
    proc = subprocess.Popen(timer + cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err[-500:]}")
    kib = usage.ru_maxrss  # KiB on Linux
    for line in err.splitlines():
        if line.startswith("BENCH_MAXRSS_KB="):
            kib = int(line.split("=", 1)[1])
    return wall, kib / 1024.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median shown)")
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="cli_startup_bench-")
    try:
        # The model is made in a child: this process stays small (no numpy, no MXNet), since a
        # child's peak RSS counts the memory it had from this process before its exec.
        prefix = os.path.join(work, "lenet")
        os.mkdir(os.path.join(work, "made"))
        x = os.path.join(work, "x.npy")
        raw = os.path.join(work, "x.f32")
        subprocess.run([sys.executable, "-c", f"""
import os, shutil, sys
import numpy as np
sys.path.insert(0, {os.path.join(ROOT, "tests")!r})
import runtime_golden
case = runtime_golden.prepare("binary_lenet", {os.path.join(work, "made")!r})
shutil.copyfile(case.symbol_file, {prefix + "-symbol.json"!r})
shutil.copyfile(case.params_file, {prefix + "-0000.params"!r})
np.save({x!r}, case.x[0])
case.x.astype("<f4").tofile({raw!r})
"""], check=True, stdout=subprocess.DEVNULL)
        py = sys.executable
        bmxnet = [py, "-m", "bmxnet.cli"]
        commands = [
            ("bmxnet --help", bmxnet + ["--help"]),
            ("model-converter --help", [py, "-m", "bmxnet.converter", "--help"]),
            ("bmxnet predict --runtime (LeNet)", bmxnet + ["predict", "--runtime", prefix, x]),
            ("runtime.Predictor (LeNet)",
             [py, "-c", "import numpy as np\nfrom bmxnet import runtime\n"
                        f"with runtime.Predictor({prefix!r}) as p:\n"
                        f"    p.predict(np.load({x!r})[None])\n"]),
            ("bmxnet predict, MXNet (LeNet)", bmxnet + ["predict", prefix, x]),
        ]
        bmx_run = os.path.join(ROOT, "build", "cmake", "bmx_run")
        if os.path.isfile(bmx_run):
            commands.append(("bmx_run (LeNet)", [bmx_run, prefix, raw, "--shape", "1,1,28,28"]))
        env = dict(os.environ)
        print(f"{'command':36s} {'wall s':>8s} {'peak RSS MB':>12s}   (median of {args.runs})")
        for name, cmd in commands:
            runs = [measure(cmd, env) for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            print(f"{name:36s} {wall:8.3f} {rss:12.1f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Reproduces every figure in smd_hpi/REPORT.md into smd_hpi/results/ (about 12 minutes on
# 2 cores). Needs .venv (make install); builds the op library and the benches
# (BMX_BUILD_BENCHES=ON) into BUILD_DIR first.
# Usage: smd_hpi/run_all.sh [BUILD_DIR]   (run it on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build/cmake}
PY=${PY:-.venv/bin/python}
R=smd_hpi/results
mkdir -p "$R"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBMX_BUILD_BENCHES=ON \
  -DPython3_EXECUTABLE="$(realpath "$PY")" > /dev/null
cmake --build "$BUILD" -j2
export BMXNET_LIBRARY=${BMXNET_LIBRARY:-$PWD/$BUILD/libbmxnet_ops.so} PYTHONPATH=python
# 1. raw kernel speed without MXNet, per instruction set and thread count
: > "$R/kernel_bench.txt"
for isa in avx512 avx2 portable; do
  for t in 1 2; do
    BMXNET_KERNEL_ISA=$isa "$BUILD/bmx_kernel_bench" "$t" >> "$R/kernel_bench.txt" 2>&1 || true
    echo >> "$R/kernel_bench.txt"
  done
done
# 1b. thread scaling of the kernels alone: 1 and 2 threads in alternating pairs
"$BUILD/bmx_kernel_bench" --scaling 2 | tee "$R/kernel_scaling.txt"
# 1c. whether the VM's two CPUs share a physical core at times (SMT siblings on the host)
[ -x "$BUILD/bmx_smt_probe" ] && "$BUILD/bmx_smt_probe" 60 | tee "$R/smt_probe.txt"
# 2. the targets' table against MXNet's own fp32 operators (default path, then AVX2 only)
"$PY" smd_hpi/benchmark.py --runs 3 --threads 1 2 --json "$R/bench.json" --png "$R/bench.png" | tee "$R/bench.txt"
"$PY" smd_hpi/benchmark.py --runs 3 --threads 1 2 --isa avx2 --json "$R/bench_avx2.json" \
  --png "$R/bench_avx2.png" | tee "$R/bench_avx2.txt"
"$PY" smd_hpi/benchmark.py --threads 1 --isa avx2 --mxnet-isa AVX2 --only conv dense model \
  --json "$R/bench_avx2_both.json" | tee "$R/bench_avx2_both.txt"
"$PY" smd_hpi/benchmark.py --threads 1 2 --engine ThreadedEnginePerDevice \
  --json "$R/bench_threaded_engine.json" | tee "$R/bench_threaded_engine.txt"
# 2b. what an MXNet call costs besides its kernel, warm and right after one of our convs
"$PY" smd_hpi/dispatch_cost.py | tee "$R/dispatch_cost.txt"
"$PY" smd_hpi/dispatch_cost.py --threads 2 | tee -a "$R/dispatch_cost.txt"
# 3. the BMXNet paper's comparison: xnor GEMM vs BLAS at growing sizes, conv layer sweep
"$PY" smd_hpi/gemm_vs_blas.py --threads 1 --out "$R" | tee "$R/gemm_vs_blas.txt"

#!/usr/bin/env bash
# The aarch64 runtime under qemu-aarch64 on the golden files that the x86-64 MXNet path wrote
# (make golden: every zoo model and the MNIST example): builds build/aarch64 (make
# runtime-aarch64), compiles tests/aarch64/run_golden.c against that folder as a user's program
# would (no rpath: LD_LIBRARY_PATH=build/aarch64 is all it gets) and runs it on every model.
# Passes when every output matches (max |diff| <= 1e-4 * max |expected|, same argmax) with the
# float layers on XNNPACK and again on the portable GEMM, the binary layers ran the NEON kernels,
# and bmx_run and bmx_benchmark from the folder run without LD_LIBRARY_PATH (their RPATH finds the
# libraries beside them). Says plainly and exits 0 (or $AARCH64_SKIP_STATUS) when
# the cross compiler or qemu-aarch64 is missing.
# Usage: tests/aarch64/qemu_golden.sh [GOLDEN_DIR]   (default build/golden)
set -euo pipefail
cd "$(dirname "$0")/../.."
GOLDEN=${1:-build/golden}
OUT=build/aarch64
CROSS_ROOT=/usr/aarch64-linux-gnu
missing=()
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" > /dev/null || missing+=("$tool")
done
if (( ${#missing[@]} )); then
  echo "aarch64 runtime test SKIPPED: ${missing[*]} not found" \
       "(apt-get install -y g++-aarch64-linux-gnu qemu-user to run it)"
  exit "${AARCH64_SKIP_STATUS:-0}"  # CTest sets 77, which it reports as "Skipped"
fi
shopt -s nullglob
models=("$GOLDEN"/*.shape)
if (( ${#models[@]} == 0 )); then
  echo "aarch64 runtime test FAILED: no golden files in $GOLDEN; write them with make golden" \
       "(tests/runtime_golden.py --out $GOLDEN)"
  exit 1
fi

tools/build_aarch64.sh "$OUT" > build/aarch64-build.log 2>&1 \
  || { tail -40 build/aarch64-build.log; echo "aarch64 runtime test FAILED: build"; exit 1; }
mkdir -p build/aarch64-test
aarch64-linux-gnu-gcc -O2 -std=c11 -Wall -Wextra -I"$OUT/include" tests/aarch64/run_golden.c \
  -L"$OUT" -lbmx_runtime -lm -Wl,-rpath-link,"$OUT" -o build/aarch64-test/run_golden

status=0
# Float layers as chosen by default (XNNPACK on aarch64), then pinned to the portable NEON GEMM
# (what runs where XNNPACK declines a layer) with BMXNET_FLOAT_BACKEND.
for pin in "" portable; do
  float=${pin:-xnnpack}
  for shape in "${models[@]}"; do
    prefix=${shape%.shape}
    if ! line=$(env LD_LIBRARY_PATH="$OUT" QEMU_LD_PREFIX="$CROSS_ROOT" OMP_NUM_THREADS=2 \
                 BMXNET_FLOAT_BACKEND="$pin" qemu-aarch64 build/aarch64-test/run_golden "$prefix" 2>&1); then
      status=1
    fi
    echo "$line"
    if [[ "$line" == *": ok:"* && "$line" != *"isa neon, float $float"* ]]; then
      echo "$(basename "$prefix"): FAIL: expected the NEON kernels and float $float"
      status=1
    fi
  done
done
# bmx_run finds its libraries beside it (RPATH $ORIGIN): no LD_LIBRARY_PATH here.
if [[ -x "$OUT/bmx_run" ]]; then
  prefix=${models[0]%.shape}
  if out=$(env QEMU_LD_PREFIX="$CROSS_ROOT" qemu-aarch64 "$OUT/bmx_run" "$prefix" \
             "$prefix.input.f32" --shape "$(tr -d ' \n' < "${models[0]}")" 2>&1) \
     && grep -q "top-5" <<< "$out"; then
    echo "bmx_run (aarch64, no LD_LIBRARY_PATH): ok: $(grep -m1 top-5 <<< "$out")"
  else
    echo "$out"
    echo "bmx_run (aarch64, no LD_LIBRARY_PATH): FAIL"
    status=1
  fi
fi
if [[ -x "$OUT/bmx_benchmark" ]]; then
  prefix=${models[0]%.shape}
  if out=$(env QEMU_LD_PREFIX="$CROSS_ROOT" qemu-aarch64 "$OUT/bmx_benchmark" "$prefix" \
             --shape "$(tr -d ' \n' < "${models[0]}")" --profile --runs 3 --warmup 1 2>&1) \
     && grep -q "binary neon" <<< "$out" && grep -q "layers sum" <<< "$out"; then
    echo "bmx_benchmark (aarch64, no LD_LIBRARY_PATH): ok: $(grep -m1 latency <<< "$out")"
  else
    echo "$out"
    echo "bmx_benchmark (aarch64, no LD_LIBRARY_PATH): FAIL"
    status=1
  fi
fi
if (( status )); then echo "aarch64 runtime test FAILED"; else
  echo "aarch64 runtime test passed: ${#models[@]} models under qemu-aarch64, float layers on XNNPACK and on the portable GEMM"; fi
exit $status

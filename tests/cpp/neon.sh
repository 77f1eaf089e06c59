#!/usr/bin/env bash
# Cross-compiles the kernel tests for aarch64 (the NEON fast path) and runs them under qemu.
# Needs aarch64-linux-gnu-g++ and qemu-aarch64 (Debian: apt-get install g++-aarch64-linux-gnu
# qemu-user); says plainly and exits 0 when either is missing. Usage: tests/cpp/neon.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
QEMU=${QEMU_AARCH64:-qemu-aarch64}
SYSROOT=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
OUT=${1:-build/neon}
missing=()
command -v "$CXX" > /dev/null || missing+=("$CXX")
command -v "$QEMU" > /dev/null || missing+=("$QEMU")
if (( ${#missing[@]} )); then
  echo "NEON kernel tests SKIPPED: ${missing[*]} not found" \
       "(apt-get install -y g++-aarch64-linux-gnu qemu-user to run them)"
  exit "${NEON_SKIP_STATUS:-0}"  # CTest sets 77, which it reports as "Skipped"
fi
mkdir -p "$OUT"
FLAGS=(-O2 -std=c++17 -Wall -Wextra -ffp-contract=off -fopenmp -Isrc/kernels)
objs=()
for src in src/kernels/*.cc; do
  obj="$OUT/$(basename "${src%.cc}").o"
  if [[ ! -f "$obj" || "$src" -nt "$obj" || -n "$(find src/kernels -name '*.h' -newer "$obj")" ]]; then
    "$CXX" "${FLAGS[@]}" -c "$src" -o "$obj"
  fi
  objs+=("$obj")
done
status=0
# The kernel tests only: the runtime's and the float layers' tests need more than src/kernels
# (their aarch64 build is make runtime-aarch64's, checked on golden models under qemu).
for test_src in tests/cpp/test_bgemm.cc tests/cpp/test_bconv2d.cc tests/cpp/test_reference_kernels.cc; do
  name=$(basename "${test_src%.cc}")
  "$CXX" "${FLAGS[@]}" -Itests/cpp "$test_src" "${objs[@]}" -o "$OUT/$name" -lpthread
  echo "== $name (aarch64, qemu)"
  if ! output=$(OMP_NUM_THREADS=2 "$QEMU" -L "$SYSROOT" "$OUT/$name" 2>&1); then
    status=1
  fi
  echo "$output" | grep -E "FAIL|passed|fast paths" || true
  if [[ "$name" != test_reference_kernels ]] && ! grep -q "fast paths tested:.* neon" <<< "$output"; then
    echo "FAIL: $name did not run the NEON path"
    status=1
  fi
done
if (( status )); then echo "NEON kernel tests FAILED"; else echo "NEON kernel tests passed"; fi
exit $status

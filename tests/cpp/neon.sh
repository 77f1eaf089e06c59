#!/usr/bin/env bash
# The kernel tests on aarch64 (the NEON fast path): an aarch64 tree of this project's CMake build
# (cmake/toolchains/aarch64-linux-gnu.cmake; kernels only, so no sysroot is needed) whose CTest
# runs them under qemu-aarch64, and each fast-path test must say it ran the NEON path.
# Needs aarch64-linux-gnu-g++ and qemu-aarch64 (Debian: apt-get install g++-aarch64-linux-gnu
# qemu-user); says plainly and exits 0 (or $NEON_SKIP_STATUS) when either is missing.
# Usage: tests/cpp/neon.sh [BUILD_DIR]   (default build/neon)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build/neon}
TESTS=(test_bgemm test_bconv2d test_reference_kernels)
missing=()
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" > /dev/null || missing+=("$tool")
done
if (( ${#missing[@]} )); then
  echo "NEON kernel tests SKIPPED: ${missing[*]} not found" \
       "(apt-get install -y g++-aarch64-linux-gnu qemu-user to run them)"
  exit "${NEON_SKIP_STATUS:-0}"  # CTest sets 77, which it reports as "Skipped"
fi
# A tree configured with another toolchain file (CMake keeps its path) is made afresh.
toolchain=$PWD/cmake/toolchains/aarch64-linux-gnu.cmake
if [[ -e "$OUT" ]] && ! grep -qs "^CMAKE_TOOLCHAIN_FILE:.*=$toolchain$" "$OUT/CMakeCache.txt"; then
  rm -rf "$OUT"
fi
cmake -S . -B "$OUT" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
  -DBMX_BUILD_OPS=OFF -DBMX_BUILD_EXAMPLES=OFF -DBMX_BUILD_RUNTIME=OFF -DBMX_RUNTIME_XNNPACK=OFF \
  > "$OUT.configure.log" 2>&1 || { cat "$OUT.configure.log"; exit 1; }
cmake --build "$OUT" --target "${TESTS[@]}" -j "${JOBS:-2}"
status=0
for name in "${TESTS[@]}"; do
  echo "== $name (aarch64, qemu)"
  if ! output=$(OMP_NUM_THREADS=2 ctest --test-dir "$OUT" -V --no-tests=error -R "^$name\$" 2>&1); then
    status=1
  fi
  grep -E "^[0-9]+: .*(FAIL|passed|fast paths)" <<< "$output" || true
  if [[ "$name" != test_reference_kernels ]] && ! grep -q "fast paths tested:.* neon" <<< "$output"; then
    echo "FAIL: $name did not run the NEON path"
    status=1
  fi
done
if (( status )); then echo "NEON kernel tests FAILED"; else echo "NEON kernel tests passed"; fi
exit $status

#!/usr/bin/env bash
# The kernel and float-layer tests on aarch64 (the NEON paths): an aarch64 tree of this project's
# CMake build (cmake/toolchains/aarch64-linux-gnu.cmake; without the runtime, whose own aarch64
# check is tests/aarch64/qemu_golden.sh, so no sysroot is needed) whose CTest runs every test it
# has under qemu-aarch64; the binary kernels' fast-path tests must say they ran NEON.
# Needs aarch64-linux-gnu-g++ and qemu-aarch64 (Debian: apt-get install g++-aarch64-linux-gnu
# qemu-user); says plainly and exits 0 (or $NEON_SKIP_STATUS) when either is missing.
# Usage: tests/cpp/neon.sh [BUILD_DIR]   (default build/neon)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build/neon}
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
cmake --build "$OUT" -j "${JOBS:-2}"
status=0
mapfile -t TESTS < <(ctest --test-dir "$OUT" -N | sed -n 's/^ *Test *#[0-9]*: *//p')
if [[ " ${TESTS[*]} " != *" test_bgemm "* || " ${TESTS[*]} " != *" test_bconv2d "* ]]; then
  echo "FAIL: the aarch64 tree has no test_bgemm or test_bconv2d (tests: ${TESTS[*]})"
  status=1
fi
for name in "${TESTS[@]}"; do
  echo "== $name (aarch64, qemu)"
  if ! output=$(OMP_NUM_THREADS=2 ctest --test-dir "$OUT" -V --no-tests=error -R "^$name\$" 2>&1); then
    status=1
  fi
  grep -E "^[0-9]+: .*(FAIL|passed|fast paths)" <<< "$output" || true
  if [[ $name == test_bgemm || $name == test_bconv2d ]] \
     && ! grep -q "fast paths tested:.* neon" <<< "$output"; then
    echo "FAIL: $name did not run the NEON path"
    status=1
  fi
done
if (( status )); then echo "NEON kernel tests FAILED"; else echo "NEON kernel tests passed"; fi
exit $status

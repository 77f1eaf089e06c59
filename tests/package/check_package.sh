#!/usr/bin/env bash
# The runtime as a package for a program of one's own (cmake/runtime_package.cmake): installs it,
# builds tests/package/app.c against the installed folder with find_package(bmx_runtime) and with
# pkg-config, runs both on a converted golden model and compares the output with the golden one
# (max |diff| <= 1e-4 * max |expected|); then copies the folder elsewhere, removes the original
# and does it all again from the copy (nothing in the package may point back to where it was made);
# bmx_run from the folder must run without LD_LIBRARY_PATH.
#   native:  the folder is `cmake --install BUILD_DIR --component runtime` (x86-64, run natively)
#   aarch64: the folder is made as build/aarch64 is (tools/build_aarch64.sh), the program is built
#            with aarch64-linux-gnu-gcc (find_package: cmake/toolchains/aarch64-linux-gnu.cmake
#            with an empty sysroot, so only the package tells the linker where XNNPACK's own
#            dependencies are) and run under qemu-aarch64; skipped (exit $PACKAGE_SKIP_STATUS,
#            default 0) without the cross compiler or qemu.
# Usage: tests/package/check_package.sh native BUILD_DIR GOLDEN_DIR WORK_DIR
#        tests/package/check_package.sh aarch64 GOLDEN_DIR WORK_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET=${1:?usage: check_package.sh native BUILD_DIR GOLDEN_DIR WORK_DIR | aarch64 GOLDEN_DIR WORK_DIR}
if [[ $TARGET == native ]]; then
  BUILD=${2:?BUILD_DIR missing}; shift
fi
GOLDEN=${2:?GOLDEN_DIR missing}
WORK=${3:?WORK_DIR missing}
MODEL=binary_lenet
CROSS_ROOT=/usr/aarch64-linux-gnu

if [[ $TARGET == aarch64 ]]; then
  missing=()
  for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-g++ qemu-aarch64 pkg-config; do
    command -v "$tool" > /dev/null || missing+=("$tool")
  done
  if (( ${#missing[@]} )); then
    echo "aarch64 package test SKIPPED: ${missing[*]} not found" \
         "(apt-get install -y g++-aarch64-linux-gnu qemu-user pkg-config to run it)"
    exit "${PACKAGE_SKIP_STATUS:-0}"
  fi
  CC=aarch64-linux-gnu-gcc
  RUN=(env QEMU_LD_PREFIX="$CROSS_ROOT" qemu-aarch64)
else
  command -v pkg-config > /dev/null || { echo "package test FAILED: pkg-config not found" \
    "(apt-get install -y pkg-config)"; exit 1; }
  CC=${CC:-cc}
  RUN=()
fi
if [[ ! -f "$GOLDEN/$MODEL.shape" ]]; then
  echo "package test FAILED: no $GOLDEN/$MODEL.shape; write the golden files with make golden"
  exit 1
fi
read -r -a SHAPE <<< "$(tr ',' ' ' < "$GOLDEN/$MODEL.shape")"

rm -rf "$WORK" && mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
if [[ $TARGET == native ]]; then
  cmake --install "$BUILD" --component runtime --prefix "$WORK/installed" > "$WORK/install.log"
else
  tools/build_aarch64.sh "$WORK/installed" > "$WORK/install.log" 2>&1 \
    || { tail -40 "$WORK/install.log"; echo "aarch64 package test FAILED: build"; exit 1; }
fi

# app's output against the golden output: max |diff| <= 1e-4 * max |expected|, as many values.
compare() {
  paste "$1" <(od -An -v -f -w4 "$GOLDEN/$MODEL.output.f32") | awk '
    NF != 2 { bad = 1 } { d = $1 - $2; if (d < 0) d = -d; if (d > md) md = d
                          e = $2 < 0 ? -$2 : $2; if (e > me) me = e; n++ }
    END { if (bad || n == 0 || md > 1e-4 * me) { printf "max |diff| %g of max %g over %d values\n", md, me, n; exit 1 }
          printf "%d values, max |diff| %g\n", n, md }'
}

status=0
check() {  # check WHERE DIR: both ways of building app against the package in DIR
  local where=$1 dir=$2 libdir pcdir out
  libdir=$(dirname "$(find "$dir" -name libbmx_runtime.so | head -1)")
  pcdir=$(dirname "$(find "$dir" -name bmx_runtime.pc | head -1)")
  # find_package(bmx_runtime)
  local args=(-DCMAKE_PREFIX_PATH="$dir" -DCMAKE_BUILD_TYPE=Release)
  local envs=()
  if [[ $TARGET == aarch64 ]]; then
    mkdir -p "$WORK/empty-sysroot"
    args+=(-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchains/aarch64-linux-gnu.cmake")
    envs=(BMX_AARCH64_SYSROOT="$WORK/empty-sysroot")
  fi
  local app="$WORK/$where-cmake"
  if env "${envs[@]}" cmake -S tests/package -B "$app" "${args[@]}" > "$app.log" 2>&1 \
     && cmake --build "$app" >> "$app.log" 2>&1 \
     && env LD_LIBRARY_PATH="$libdir" "${RUN[@]}" "$app/app" "$GOLDEN/$MODEL" "${SHAPE[@]}" \
          > "$app.out" 2>> "$app.log" \
     && out=$(compare "$app.out"); then
    echo "$TARGET package, $where, find_package: ok: $out"
  else
    tail -30 "$app.log"; [[ -f "$app.out" ]] && compare "$app.out" || true
    echo "$TARGET package, $where, find_package: FAIL"; status=1
  fi
  # pkg-config --cflags --libs bmx_runtime (only the package's folder on its path)
  app="$WORK/$where-pkgconfig"
  local flags
  if flags=$(PKG_CONFIG_LIBDIR="$pcdir" PKG_CONFIG_PATH= pkg-config --cflags --libs bmx_runtime) \
     && "$CC" -std=c11 -O2 tests/package/app.c $flags -o "$app" > "$app.log" 2>&1 \
     && env LD_LIBRARY_PATH="$libdir" "${RUN[@]}" "$app" "$GOLDEN/$MODEL" "${SHAPE[@]}" \
          > "$app.out" 2>> "$app.log" \
     && out=$(compare "$app.out"); then
    echo "$TARGET package, $where, pkg-config ($flags): ok: $out"
  else
    cat "$app.log"; [[ -f "$app.out" ]] && compare "$app.out" || true
    echo "$TARGET package, $where, pkg-config: FAIL"; status=1
  fi
  # bmx_run from the folder finds the library through its RPATH (no LD_LIBRARY_PATH).
  local run
  run=$(find "$dir" -name bmx_run -type f | head -1)
  if [[ -n "$run" ]]; then
    if out=$("${RUN[@]}" "$run" "$GOLDEN/$MODEL" "$GOLDEN/$MODEL.input.f32" \
               --shape "$(tr -d ' \n' < "$GOLDEN/$MODEL.shape")" 2>&1) && grep -q "top-5" <<< "$out"; then
      echo "$TARGET package, $where, bmx_run without LD_LIBRARY_PATH: ok"
    else
      echo "$out"; echo "$TARGET package, $where, bmx_run without LD_LIBRARY_PATH: FAIL"; status=1
    fi
  fi
}

check installed "$WORK/installed"
mkdir -p "$WORK/elsewhere"
cp -a "$WORK/installed" "$WORK/elsewhere/copied"
rm -rf "$WORK/installed"
check copied "$WORK/elsewhere/copied"
if (( status )); then echo "$TARGET package test FAILED"; else echo "$TARGET package test passed"; fi
exit $status

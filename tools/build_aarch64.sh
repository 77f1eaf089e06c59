#!/usr/bin/env bash
# make runtime-aarch64: cross-compiles the runtime for aarch64 (NEON kernels, XNNPACK float
# layers) with Debian's aarch64-linux-gnu-g++ (cmake/toolchains/aarch64-linux-gnu.cmake) and
# installs it (cmake --install, cmake/runtime_package.cmake) as a self-contained, flat folder:
#   OUT/libbmx_runtime.so  OUT/libbmx_runtime.a  OUT/bmx_run  OUT/bmx_benchmark (the programs,
#                          when the examples are in the tree)
#   OUT/include/bmx_predict.h
#   OUT/lib/cmake/bmx_runtime/  find_package(bmx_runtime) with CMAKE_PREFIX_PATH=OUT
#   OUT/lib/pkgconfig/bmx_runtime.pc
#   OUT/lib*.so.*          every shared library they need beyond the C and C++ standard
#                          libraries (XNNPACK, pthreadpool, cpuinfo)
# The programs and libraries carry RPATH $ORIGIN, so copying OUT to a board is the whole install;
# a program of one's own needs LD_LIBRARY_PATH=OUT (or its own rpath). The shared objects in OUT
# are stripped; the unstripped ones stay in the CMake tree (build/aarch64-cmake).
# Usage: tools/build_aarch64.sh [OUT]   (default build/aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/aarch64}
TREE=${BMX_AARCH64_TREE:-build/aarch64-cmake}
SYSROOT=${BMX_AARCH64_SYSROOT:-build/aarch64-sysroot}
CROSS_ROOT=/usr/aarch64-linux-gnu
for tool in aarch64-linux-gnu-g++ aarch64-linux-gnu-readelf aarch64-linux-gnu-strip; do
  if ! command -v "$tool" > /dev/null; then
    echo "$tool not found: install the aarch64 cross compiler with" \
         "sudo apt-get install -y g++-aarch64-linux-gnu" >&2
    exit 1
  fi
done
tools/aarch64_sysroot.sh "$SYSROOT"
export BMX_AARCH64_SYSROOT=$(cd "$SYSROOT" && pwd)

# A tree configured with another toolchain file (CMake keeps its path) is made afresh.
if [[ -f "$TREE/CMakeCache.txt" ]] \
   && ! grep -q "^CMAKE_TOOLCHAIN_FILE:.*=$PWD/cmake/toolchains/aarch64-linux-gnu.cmake$" "$TREE/CMakeCache.txt"; then
  rm -rf "$TREE"
fi
# (These replace the toolchain's *_LINKER_FLAGS_INIT, so the sysroot's -rpath-link is repeated:
# linking bmx_run against libbmx_runtime.so needs libXNNPACK.so.0's dependencies resolved.)
link_flags="-Wl,--disable-new-dtags -Wl,-rpath-link,$BMX_AARCH64_SYSROOT/usr/lib/aarch64-linux-gnu"
cmake -S . -B "$TREE" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DBMX_BUILD_RUNTIME=ON -DBMX_RUNTIME_XNNPACK=ON \
  -DBMX_BUILD_OPS=OFF -DBMX_BUILD_EXAMPLES=OFF -DBMX_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON '-DCMAKE_INSTALL_RPATH=$ORIGIN' \
  -DCMAKE_INSTALL_LIBDIR=. -DCMAKE_INSTALL_BINDIR=. -DCMAKE_INSTALL_INCLUDEDIR=include \
  -DBMX_INSTALL_CMAKEDIR=lib/cmake/bmx_runtime -DBMX_INSTALL_PKGCONFIGDIR=lib/pkgconfig \
  "-DCMAKE_EXE_LINKER_FLAGS=$link_flags" "-DCMAKE_SHARED_LINKER_FLAGS=$link_flags" \
  > "$TREE.configure.log" 2>&1 \
  || { cat "$TREE.configure.log"; exit 1; }
# (--disable-new-dtags: DT_RPATH, unlike DT_RUNPATH, also serves the libraries' own
# dependencies, e.g. libXNNPACK.so.0 -> libpthreadpool.so.0 beside it.)
targets=(bmx_runtime bmx_runtime_static)
# (grep reads all of it: with -q it could stop early and fail the pipe under pipefail)
for program in bmx_run bmx_benchmark; do
  if cmake --build "$TREE" --target help | grep -w "$program" > /dev/null; then targets+=("$program"); fi
done
cmake --build "$TREE" --target "${targets[@]}" -j "${JOBS:-2}"

rm -rf "$OUT"
cmake --install "$TREE" --component runtime --prefix "$OUT" > /dev/null

# The shared libraries they need, minus the C and C++ standard libraries (on every board).
standard='^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux-aarch64)\.so'
programs=()
for program in bmx_run bmx_benchmark; do
  [[ -f "$OUT/$program" ]] && programs+=("$OUT/$program")
done
todo=("$OUT/libbmx_runtime.so" "${programs[@]}")
while (( ${#todo[@]} )); do
  obj=${todo[0]}; todo=("${todo[@]:1}")
  for lib in $(aarch64-linux-gnu-readelf -d "$obj" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ "$lib" =~ $standard || -f "$OUT/$lib" ]] && continue
    src=""
    for dir in "$BMX_AARCH64_SYSROOT/usr/lib/aarch64-linux-gnu" "$CROSS_ROOT/lib"; do
      if [[ -e "$dir/$lib" ]]; then src="$dir/$lib"; break; fi
    done
    if [[ -z "$src" ]]; then
      echo "build_aarch64: $obj needs $lib, found neither in $BMX_AARCH64_SYSROOT nor $CROSS_ROOT" >&2
      exit 1
    fi
    cp -L "$src" "$OUT/$lib"
    todo+=("$OUT/$lib")
  done
done
aarch64-linux-gnu-strip --strip-unneeded "$OUT"/*.so*
(( ${#programs[@]} )) && aarch64-linux-gnu-strip "${programs[@]}"
echo "runtime for aarch64 in $OUT:"
ls -l "$OUT" | sed 1d

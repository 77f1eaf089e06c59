#!/usr/bin/env bash
# Sizes of libbmx_runtime.so, stripped, for x86-64 and aarch64, with the float layers on XNNPACK
# and on the portable path alone (no float library); beside each, the shared libraries it needs
# beyond the C and C++ standard libraries (XNNPACK and its two; libgomp without XNNPACK), stripped,
# and the total.
# Builds the runtime in build/size/<arch>-<float> (Release, the flags of cmake/runtime_release.cmake)
# and strips a copy with strip --strip-unneeded, as cmake --install --strip does.
# Usage: tools/runtime_size.sh   (aarch64 rows need g++-aarch64-linux-gnu; skipped without it)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=build/size
mkdir -p "$ROOT"
kib() { echo "$(( ($1 + 512) / 1024 ))"; }

build() {  # arch float -> path of the stripped libbmx_runtime.so
  local arch=$1 float=$2 tree="$ROOT/$1-$2" args=()
  if [[ $arch == aarch64 ]]; then
    args+=(-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/aarch64-linux-gnu.cmake")
    # A tree configured with another toolchain file (CMake keeps its path) is made afresh.
    grep -qs "^CMAKE_TOOLCHAIN_FILE:.*=$PWD/cmake/toolchains/aarch64-linux-gnu.cmake$" \
      "$tree/CMakeCache.txt" || rm -rf "$tree"
  fi
  cmake -S . -B "$tree" -DCMAKE_BUILD_TYPE=Release -DBMX_BUILD_RUNTIME=ON \
    -DBMX_RUNTIME_XNNPACK=$([[ $float == xnnpack ]] && echo ON || echo OFF) \
    -DBMX_BUILD_OPS=OFF -DBMX_BUILD_EXAMPLES=OFF -DBMX_BUILD_TESTS=OFF "${args[@]}" \
    > "$tree.configure.log" 2>&1 || { cat "$tree.configure.log" >&2; exit 1; }
  cmake --build "$tree" --target bmx_runtime -j "${JOBS:-2}" > "$tree.build.log" 2>&1 \
    || { tail -30 "$tree.build.log" >&2; exit 1; }
  local strip=strip
  [[ $arch == aarch64 ]] && strip=aarch64-linux-gnu-strip
  "$strip" --strip-unneeded "$tree/libbmx_runtime.so" -o "$tree/libbmx_runtime.stripped.so"
  echo "$tree/libbmx_runtime.stripped.so"
}

standard='^(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux[-a-z0-9_]*)\.so'
printf '%-8s %-9s %10s  %s\n' arch float "KiB" "libraries it needs beyond libc/libm/libstdc++ (stripped KiB)"
for arch in x86_64 aarch64; do
  if [[ $arch == aarch64 ]]; then
    if ! command -v aarch64-linux-gnu-g++ > /dev/null; then
      echo "aarch64: skipped (apt-get install -y g++-aarch64-linux-gnu)"; continue
    fi
    tools/aarch64_sysroot.sh > /dev/null
    libdirs=(build/aarch64-sysroot/usr/lib/aarch64-linux-gnu /usr/aarch64-linux-gnu/lib)
    strip=aarch64-linux-gnu-strip readelf=aarch64-linux-gnu-readelf
  else
    libdirs=(/usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu)
    strip=strip readelf=readelf
  fi
  for float in portable xnnpack; do
    so=$(build "$arch" "$float")
    total=$(stat -c %s "$so") extra=""
    todo=("$so") seen=" "
    while (( ${#todo[@]} )); do
      obj=${todo[0]}; todo=("${todo[@]:1}")
      for lib in $("$readelf" -d "$obj" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [[ "$lib" =~ $standard || "$seen" == *" $lib "* ]] && continue
        seen+="$lib "
        for dir in "${libdirs[@]}"; do
          if [[ -e "$dir/$lib" ]]; then
            "$strip" --strip-unneeded "$(readlink -f "$dir/$lib")" -o "$ROOT/$arch.$lib"
            size=$(stat -c %s "$ROOT/$arch.$lib")
            total=$(( total + size )) extra+="$lib $(kib "$size"), "
            todo+=("$ROOT/$arch.$lib")
            break
          fi
        done
      done
    done
    printf '%-8s %-9s %10s  %s\n' "$arch" "$float" "$(kib "$(stat -c %s "$so")")" \
      "${extra}total $(kib "$total")"
  done
done

#!/usr/bin/env bash
# Builds a private arm64 sysroot with the runtime's libraries (XNNPACK, pthreadpool, cpuinfo and
# nlohmann-json's headers) for cross-compiling with aarch64-linux-gnu-g++.
#
# Debian's arm64 XNNPACK packages cannot be installed beside the amd64 ones (apt would remove
# the amd64 XNNPACK), so this downloads them with apt-get, using a private apt state under the
# sysroot (its own package lists for arm64, nothing changed on the system, no root needed),
# and unpacks them with dpkg-deb -x. Needs the network to the Debian mirror the first time only.
# Usage: tools/aarch64_sysroot.sh [SYSROOT]   (default build/aarch64-sysroot)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-build/aarch64-sysroot}
PACKAGES=(libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev libcpuinfo0 libcpuinfo-dev
          nlohmann-json3-dev)
if [[ -f "$ROOT/.complete" ]] && cmp -s "$ROOT/.complete" <(printf '%s\n' "${PACKAGES[@]}"); then
  exit 0
fi
if ! command -v apt-get > /dev/null || ! command -v dpkg-deb > /dev/null; then
  echo "aarch64 sysroot: needs apt-get and dpkg-deb (a Debian or Ubuntu host)" >&2
  exit 1
fi
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd)
APT="$ROOT/.apt"
rm -rf "$APT" && mkdir -p "$APT/state/lists/partial" "$APT/cache/archives/partial" "$APT/debs"
apt_opts=(-q -o "Dir::State=$APT/state" -o "Dir::Cache=$APT/cache" -o "Dir::State::status=/dev/null"
          -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1
          -o APT::Sandbox::User="$(id -un)")
echo "aarch64 sysroot: downloading ${PACKAGES[*]} (arm64) into $ROOT"
if ! apt-get "${apt_opts[@]}" update > "$APT/update.log" 2>&1; then
  cat "$APT/update.log" >&2
  echo "aarch64 sysroot: apt-get update for arm64 failed (no network to the Debian mirror?)" >&2
  exit 1
fi
arm64=()
for p in "${PACKAGES[@]}"; do arm64+=("$p:arm64"); done
(cd "$APT/debs" && apt-get "${apt_opts[@]}" download "${arm64[@]}" > "$APT/download.log" 2>&1) || {
  cat "$APT/download.log" >&2
  echo "aarch64 sysroot: apt-get download of the arm64 packages failed" >&2
  exit 1
}
for deb in "$APT"/debs/*.deb; do
  dpkg-deb -x "$deb" "$ROOT"
done
rm -rf "$APT/state" "$APT/cache"
# The -dev packages' libFOO.so links are absolute (/usr/lib/...): point them into the sysroot.
for link in "$ROOT"/usr/lib/aarch64-linux-gnu/*.so; do
  if [[ -L "$link" ]]; then
    ln -sfn "$(basename "$(readlink "$link")")" "$link"
  fi
done
test -f "$ROOT/usr/include/xnnpack.h" && test -e "$ROOT/usr/lib/aarch64-linux-gnu/libXNNPACK.so"
printf '%s\n' "${PACKAGES[@]}" > "$ROOT/.complete"
echo "aarch64 sysroot: ready"

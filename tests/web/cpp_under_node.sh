#!/usr/bin/env bash
# The kernel and runtime C++ tests compiled to WebAssembly (em++) and run under Node, so the
# WebAssembly SIMD128 path is checked against the reference bit for bit (make web-test-cpp).
# Exits 77 (CTest: skipped) with a message when emscripten or node is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in em++ node; do
  if ! command -v "$tool" > /dev/null; then
    echo "skipped: $tool is not installed (apt-get install -y emscripten node-acorn nodejs)"
    exit "${WEB_SKIP_STATUS:-77}"
  fi
done
exec make --no-print-directory web-test-cpp

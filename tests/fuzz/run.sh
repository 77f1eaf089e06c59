#!/usr/bin/env bash
# Builds the model-loader fuzz target with clang (libFuzzer, ASan, UBSan) and runs it for
# SECONDS on the committed seeds (tests/fuzz/seeds: a tiny converted model, variants of it and
# every input that once crashed). Exits non-zero on any finding; the input that triggered it is
# left in BUILD_DIR/artifacts. Says plainly and exits 0 (or $FUZZ_SKIP_STATUS) when clang or
# its libFuzzer runtime is missing.
# Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]   (defaults 300, build/fuzz)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-300}
OUT=${2:-build/fuzz}
CC=${FUZZ_CC:-clang}
CXX=${FUZZ_CXX:-clang++}
skip() {
  echo "fuzz test SKIPPED: $1 (apt-get install -y clang libclang-rt-14-dev to run it)"
  exit "${FUZZ_SKIP_STATUS:-0}"  # CTest sets 77, which it reports as "Skipped"
}
command -v "$CXX" > /dev/null || skip "$CXX not found"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  > "$probe/p.cc"
"$CXX" -fsanitize=fuzzer,address,undefined "$probe/p.cc" -o "$probe/p" 2> /dev/null \
  || skip "$CXX cannot link -fsanitize=fuzzer,address,undefined (no libFuzzer runtime)"

SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
mkdir -p "$(dirname "$OUT")"
cmake -S . -B "$OUT" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DBMX_BUILD_FUZZ=ON -DBMX_BUILD_RUNTIME=ON -DBMX_RUNTIME_XNNPACK=OFF \
  -DBMX_BUILD_OPS=OFF -DBMX_BUILD_EXAMPLES=OFF -DBMX_BUILD_TESTS=OFF > "$OUT.configure.log" 2>&1 \
  || { cat "$OUT.configure.log"; exit 1; }
cmake --build "$OUT" --target fuzz_model_loader -j "${JOBS:-2}" > "$OUT.build.log" 2>&1 \
  || { tail -50 "$OUT.build.log"; exit 1; }

# New inputs go to the first corpus folder (under the build tree); the seeds are only read.
mkdir -p "$OUT/corpus" "$OUT/artifacts"
echo "fuzzing the model loader for ${SECONDS_TO_RUN} s (corpus $OUT/corpus, seeds tests/fuzz/seeds)"
set +e
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:allocator_may_return_null=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
OMP_NUM_THREADS=1 \
  "$OUT/tests/fuzz/fuzz_model_loader" -max_total_time="$SECONDS_TO_RUN" -timeout=20 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=262144 -print_final_stats=1 \
    -dict=tests/fuzz/symbol.dict -artifact_prefix="$OUT/artifacts/" \
    "$OUT/corpus" tests/fuzz/seeds > "$OUT/fuzz.log" 2>&1
status=$?
set -e
if (( status )); then
  tail -80 "$OUT/fuzz.log"
  echo "fuzz test FAILED (exit $status): the input is in $OUT/artifacts/; reproduce with" \
       "$OUT/tests/fuzz/fuzz_model_loader $OUT/artifacts/<file>"
  exit 1
fi
grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^Done" "$OUT/fuzz.log" || true
echo "fuzz test passed: no finding in ${SECONDS_TO_RUN} s"

# make demo / make test / make bench: everything from a fresh clone with Python 3.11,
# a C/C++ compiler and CMake. Creates .venv, installs pinned dependencies, builds, runs.
SHELL := /bin/bash
# No "make[N]: Entering directory" lines, from this make's sub-makes or from CMake's.
MAKEFLAGS += --no-print-directory
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build/cmake
JOBS ?= 2
# ON: also build the benchmarks and diagnostics of smd_hpi/ (make bench turns it on).
BENCHES ?= OFF
SOURCES := $(shell find src python -name '*.cc' -o -name '*.h' -o -name '*.py' 2>/dev/null) \
           CMakeLists.txt setup.py pyproject.toml

.PHONY: all demo test test-cpp test-python test-neon test-sanitize bench bench-runtime bench-threads \
        test-tsan bench-input \
        bench-train build install clean \
        sysdeps golden runtime-aarch64 fuzz web-if-available

all: install build

# make web, web-test-cpp, web-demo, bench-web: the WebAssembly build and its tests (web/web.mk).
include web/web.mk

$(VENV)/.deps: requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 8), "need Python >= 3.8 (3.11 recommended)"'
	@echo "deps: $(VENV) with the packages of requirements.txt, versions from constraints.txt (PyPI)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade "pip<25"
	@$(PY) -m pip install -q -c constraints.txt -r requirements.txt
	@touch $@

# The package, with the op library and libbmx_runtime that `make build` compiled in $(BUILD)
# (setup.py copies them from BMXNET_BUILT_TREE): the C++ is compiled once, for both.
$(VENV)/.bmxnet: $(VENV)/.deps $(SOURCES) | build
	@echo "install: bmxnet into $(VENV), with the libraries of $(BUILD)"
	@BMXNET_BUILT_TREE=$(abspath $(BUILD)) $(PY) -m pip install -q --no-build-isolation --no-deps \
	  --force-reinstall .
	@touch $@

install: build $(VENV)/.bmxnet

# System packages (tools/system-packages.txt): installed when run as root; otherwise one line
# says what to install.
sysdeps:
	@tools/sysdeps.sh

# Kernel tests, the op library, the runtime and the C programs, in one CMake tree (the package
# ships its libraries: make install). CMake's percent lines show the compile; its "Built target"
# lines, one per target even when nothing is compiled, are left out.
build: sysdeps $(VENV)/.deps
	@echo "build: C++ in $(BUILD) (op library, runtime, C programs, tests), $(JOBS) jobs"
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBMX_BUILD_BENCHES=$(BENCHES) \
	  -DPython3_EXECUTABLE=$(abspath $(PY)) > /dev/null
	@set -o pipefail; cmake --build $(BUILD) -j $(JOBS) | { grep --line-buffered -v '] Built target' || true; }

# Golden inputs and outputs of the x86-64 MXNet path (every zoo model and the MNIST example,
# converted) for the runtime's equivalence tests, here and under qemu on aarch64.
GOLDEN := build/golden
$(GOLDEN)/.complete: $(VENV)/.bmxnet tests/runtime_golden.py
	$(PY) tests/runtime_golden.py --out $(GOLDEN)
	touch $@
golden: $(GOLDEN)/.complete

# CTest includes test_runtime_aarch64_qemu (on the golden files) and a 30 s fuzz run.
test-cpp: build golden
	ctest --test-dir $(BUILD) --output-on-failure

test-python: install build web-if-available
	BMX_PREDICT_EXE=$(abspath $(BUILD))/bmx_predict $(PY) -m pytest -q tests/python

test: sysdeps test-cpp test-python

# Kernels vs MXNet's own fp32 operators, same shapes, same threads, one run (DESIGN.md 5).
bench: install
	$(MAKE) build BENCHES=ON
	mkdir -p out/bench
	$(PY) smd_hpi/benchmark.py --runs 3 --threads 1 2 --json out/bench/bench.json --png out/bench/bench.png
	$(MAKE) bench-runtime

# libbmx_runtime vs MXNet as users run each (batch 1, 1 and 2 threads), its size and peak memory.
bench-runtime: install build
	mkdir -p out/bench
	$(PY) smd_hpi/runtime_bench.py --threads 1 2 --json out/bench/runtime_bench.json \
	  --png out/bench/runtime_bench.png

# Many predictors in one process: 1, 2, 4, 8 predictors (each on its own thread) at 1, 2, 3
# kernel threads each, run together vs one after the other, 4000 LeNet forwards per row.
bench-threads: install build
	mkdir -p out/bench
	$(PY) smd_hpi/runtime_threads_bench.py --predictors 1 2 4 8 --threads 1 2 3 \
	  --forwards 4000 --json out/bench/runtime_threads.json

# The ImageNet example's input pipelines: ImageRecordIter vs ImageRecordDataset + DataLoader,
# images/s of 224x224 training batches from an im2rec .rec made of 512 JPEGs, 1 and 2 threads.
bench-input: install
	mkdir -p out/bench
	$(PY) smd_hpi/input_pipeline_bench.py --threads 1 2 --json out/bench/input_pipeline.json \
	  --png out/bench/input_pipeline.png

# One CPU training step (forward, backward, Adam), binary vs the same model in float
# (bits=32 bits_a=32), binary_lenet and binary_resnet18_v1, 1 thread, with each side's time
# per operator from MXNet's profiler.
bench-train: install
	mkdir -p out/bench
	$(PY) smd_hpi/train_step_bench.py --threads 1 --profile --json out/bench/train_step.json \
	  --png out/bench/train_step.png

test-neon:
	tests/cpp/neon.sh build/neon

# The runtime for aarch64 (NEON kernels, XNNPACK), self-contained in build/aarch64 (DESIGN.md 4).
runtime-aarch64: sysdeps
	tools/build_aarch64.sh build/aarch64

# libFuzzer over the runtime's model loader (clang, ASan, UBSan), FUZZ_SECONDS long.
FUZZ_SECONDS ?= 300
fuzz: sysdeps
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)/fuzz

# The C++ tests (kernels, runtime, float layers) under AddressSanitizer + UndefinedBehaviorSanitizer,
# leak checking on, stopping at the first report; no MXNet in this tree. Left out: the tests that
# build and run other targets' code (qemu, WebAssembly under node), which no sanitizer sees, and
# the SMT probe; the fuzz test stays (its own clang ASan + UBSan build). Then test-tsan.
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
test-sanitize: sysdeps
	cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBMX_BUILD_OPS=OFF \
	  -DBMX_BUILD_EXAMPLES=OFF -DCMAKE_C_FLAGS="$(SANITIZE_FLAGS)" -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(SANITIZE_FLAGS)" -DCMAKE_SHARED_LINKER_FLAGS="$(SANITIZE_FLAGS)" > /dev/null
	cmake --build build/sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir build/sanitize --output-on-failure -E 'qemu|smt_probe|wasm'
	$(MAKE) test-tsan

# The multi-threaded C++ tests (parallel_for, the binary GEMM and convolution at 2 and 3 threads,
# predictor clones and the in-use guard, per-predictor pools, settings across threads) under
# ThreadSanitizer, stopping at the first report; test_runtime_no_allocation stays out (it
# replaces malloc, which TSan's runtime owns, and counts the allocations of starting threads,
# which this tree's std::thread regions make). The tree uses the portable float layers
# (BMX_RUNTIME_XNNPACK=OFF) and std::thread instead of OpenMP: Debian's XNNPACK, pthreadpool
# and libgomp are not instrumented, so TSan would not see their synchronization and would
# report their workers' writes as races. No suppressions are needed.
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
TSAN_TESTS := test_parallel test_bgemm test_bconv2d test_runtime_threads test_runtime_pools \
              test_runtime_settings
test-tsan: sysdeps
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBMX_BUILD_OPS=OFF \
	  -DBMX_BUILD_EXAMPLES=OFF -DBMX_RUNTIME_XNNPACK=OFF -DCMAKE_DISABLE_FIND_PACKAGE_OpenMP=ON \
	  -DCMAKE_C_FLAGS="$(TSAN_FLAGS)" -DCMAKE_CXX_FLAGS="$(TSAN_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$(TSAN_FLAGS)" -DCMAKE_SHARED_LINKER_FLAGS="$(TSAN_FLAGS)" > /dev/null
	cmake --build build/tsan -j $(JOBS) --target $(TSAN_TESTS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4 \
	  ctest --test-dir build/tsan --output-on-failure -R '^($(subst $() ,|,$(TSAN_TESTS)))$$'

demo: sysdeps install build
	@echo "demo: examples/demo.py --out out/demo"
	@BMX_PREDICT_EXE=$(abspath $(BUILD))/bmx_predict $(PY) examples/demo.py --out out/demo

clean:
	rm -rf build out $(VENV)

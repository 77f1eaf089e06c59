# make demo / make test / make bench: everything from a fresh clone with Python 3.11,
# a C/C++ compiler and CMake. Creates .venv, installs pinned dependencies, builds, runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build/cmake
JOBS ?= 2
# ON: also build the benchmarks and diagnostics of smd_hpi/ (make bench turns it on).
BENCHES ?= OFF
SOURCES := $(shell find src python -name '*.cc' -o -name '*.h' -o -name '*.py' 2>/dev/null) \
           CMakeLists.txt setup.py pyproject.toml

.PHONY: web-if-available all demo test test-cpp test-python test-neon bench bench-runtime build install clean

all: install build

# make web, web-test-cpp, web-demo, bench-web: the WebAssembly build and its tests (web/web.mk).
include web/web.mk

$(VENV)/.deps: requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 8), "need Python >= 3.8 (3.11 recommended)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<25"
	$(PY) -m pip install -q -c constraints.txt -r requirements.txt
	touch $@

# The package and its op library, built by CMake through pip.
$(VENV)/.bmxnet: $(VENV)/.deps $(SOURCES)
	$(PY) -m pip install -q --no-build-isolation --no-deps --force-reinstall .
	touch $@

install: $(VENV)/.bmxnet

# Kernel tests, the op library and the C predict example, in one CMake tree.
build: $(VENV)/.deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBMX_BUILD_BENCHES=$(BENCHES) \
	  -DPython3_EXECUTABLE=$(abspath $(PY)) > /dev/null
	cmake --build $(BUILD) -j $(JOBS)

test-cpp: build
	ctest --test-dir $(BUILD) --output-on-failure

test-python: install build web-if-available
	BMX_PREDICT_EXE=$(abspath $(BUILD))/bmx_predict $(PY) -m pytest -q tests/python

test: test-cpp test-python

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

test-neon:
	tests/cpp/neon.sh build/neon

demo: install build
	BMX_PREDICT_EXE=$(abspath $(BUILD))/bmx_predict $(PY) examples/demo.py --out out/demo

clean:
	rm -rf build out $(VENV)

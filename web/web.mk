# The runtime compiled to WebAssembly with emscripten (make web), and its C++ tests run under
# Node (make web-test-cpp). Included by the top-level Makefile. Both are the project's CMake
# build in an emscripten tree (emcmake cmake; cmake/web.cmake has its flags and the module):
#
#   build/web/bmxnet.mjs + bmxnet.wasm   ES module (browsers, Node 18+): `import { load }`
#   build/web/test_*.js                  the kernel and runtime C++ tests, run by CTest under node
#
# No XNNPACK (the portable float path, vectorized by -msimd128), one thread (no pthreads),
# the WebAssembly SIMD128 xnor tile (xnor_tile_wasm_simd128.cc) picked by isa.cc.

WEB := build/web
EMXX ?= em++
# Debian's emscripten finds acorn (its JS optimizer's parser) only through NODE_PATH.
EMENV := NODE_PATH=$${NODE_PATH:-/usr/share/nodejs}

.PHONY: web web-check web-test-cpp

web-check:
	@command -v $(EMXX) > /dev/null || { echo "make web needs emscripten: apt-get install -y" \
	  "emscripten node-acorn nodejs"; exit 2; }
	@test -f /usr/include/nlohmann/json.hpp || { echo "make web needs nlohmann-json:" \
	  "apt-get install -y nlohmann-json3-dev"; exit 2; }

# The emscripten tree, configured once; cmake --build configures it again when a CMake file changes.
$(WEB)/CMakeCache.txt: | web-check
	$(EMENV) emcmake cmake -S . -B $(WEB) -DCMAKE_BUILD_TYPE=Release -DBMX_BUILD_OPS=OFF \
	  -DBMX_BUILD_EXAMPLES=OFF > /dev/null

web: $(WEB)/CMakeCache.txt
	$(EMENV) cmake --build $(WEB) --target bmxnet_web bmx_benchmark_web -j $(JOBS)
	@echo "built $(WEB)/bmxnet.mjs, $(WEB)/bmxnet.wasm and $(WEB)/bmx_benchmark.js"

web-test-cpp: $(WEB)/CMakeCache.txt
	$(EMENV) cmake --build $(WEB) -j $(JOBS)
	ctest --test-dir $(WEB) --output-on-failure

# make test: the WebAssembly module and the demo's models when emscripten and node are there;
# otherwise the web tests report themselves as skipped.
web-if-available:
	@if command -v $(EMXX) > /dev/null && command -v node > /dev/null; then \
	  $(MAKE) --no-print-directory web web-models; \
	else echo "web: emscripten or node is missing (apt-get install -y emscripten node-acorn" \
	  "nodejs npm chromium chromium-driver): the browser tests are skipped"; fi

# ---- the demo page (examples/web), its models and onnxruntime-web --------------------------

ORT_VERSION := 1.20.1
WEB_MODELS := out/web/models

# onnxruntime-web from npm into build/web/node_modules: the float ResNet-18 of the demo and
# of make bench-web.
$(WEB)/node_modules/onnxruntime-web/package.json:
	@command -v npm > /dev/null || { echo "onnxruntime-web needs npm: apt-get install -y npm"; exit 2; }
	mkdir -p $(WEB)
	npm install --prefix $(WEB) --no-save --no-audit --no-fund --ignore-scripts \
	  onnxruntime-web@$(ORT_VERSION)

# The demo's models: make demo's binary LeNet (or one trained here, no download), a converted
# binary ResNet-18 and gluon-cv's float one as ONNX (examples/web/prepare_models.py).
$(WEB_MODELS)/models.json: examples/web/prepare_models.py $(wildcard out/demo/binary_lenet-0000.params) \
                           | $(VENV)/.bmxnet
	$(PY) examples/web/prepare_models.py --out $(WEB_MODELS)

.PHONY: web-models web-demo test-web bench-web
web-models: $(WEB_MODELS)/models.json $(WEB)/node_modules/onnxruntime-web/package.json

web-demo: web web-models
	$(PY) examples/web/serve.py --port $${PORT:-8000}

# The browser tests (Node and headless Chromium; pytest skips them when the tools are missing).
test-web: web web-models
	$(PY) -m pytest -q tests/python/test_web_node.py tests/python/test_web_page.py

# Binary ResNet-18 in WebAssembly vs float ResNet-18 in onnxruntime-web, in headless Chromium
# (a benchmark, not a test).
bench-web: web web-models
	mkdir -p out/bench
	$(PY) smd_hpi/web_bench.py --runs 10 --json out/bench/web_bench.json

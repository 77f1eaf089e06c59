# The runtime compiled to WebAssembly with emscripten (make web), and its C++ tests run under
# Node (make web-test-cpp). Included by the top-level Makefile.
#
#   build/web/bmxnet.mjs + bmxnet.wasm   ES module (browsers, Node 18+): `import { load }`
#   build/web/tests/test_*.js            the kernel and runtime C++ tests, run by node
#   build/web/bmx_benchmark.js + .wasm   bmx_benchmark (examples/deploy) for Node
#
# No XNNPACK (the portable float path, vectorized by -msimd128), one thread (no pthreads),
# the WebAssembly SIMD128 xnor tile (xnor_tile_wasm_simd128.cc) picked by isa.cc.

WEB := build/web
EMXX ?= em++
# Debian's emscripten finds acorn (its JS optimizer's parser) only through NODE_PATH.
EMENV := NODE_PATH=$${NODE_PATH:-/usr/share/nodejs}
# Node 20's built-in fetch cannot load emscripten 3.1.6's file paths; browsers are unaffected.
NODE := node --no-experimental-fetch

WEB_SOURCES := $(sort $(wildcard src/kernels/*.cc src/runtime/*.cc src/runtime/ops/*.cc \
                                 src/runtime/float/*.cc))
WEB_OBJECTS := $(patsubst %.cc,$(WEB)/obj/%.o,$(WEB_SOURCES))
WEB_API_OBJECT := $(WEB)/obj/web/heap_in_use.o
WEB_HEADERS := $(wildcard src/kernels/*.h src/common/*.h src/runtime/*.h src/runtime/*/*.h \
                          src/runtime/include/*.h)
# -ffp-contract=off as in the native build: every path rounds as the reference does.
WEB_CXXFLAGS := -std=c++17 -O3 -DNDEBUG -msimd128 -fwasm-exceptions -ffp-contract=off \
                -Wall -Wextra -Isrc/kernels -Isrc/common -Isrc/runtime -Isrc/runtime/float \
                -Isrc/runtime/include -isystem $(WEB)/include
WEB_LDFLAGS := -O3 -msimd128 -fwasm-exceptions -sALLOW_MEMORY_GROWTH=1 -sTOTAL_STACK=1048576
WEB_EXPORTED := BMXGetLastError BMXPredCreate BMXPredGetOutputShape BMXPredSetInput \
                BMXPredForward BMXPredForwardProfiled BMXPredGetOutput BMXPredFree \
                BMXPredSetNumThreads BMXPredGetPlan \
                bmx_web_heap_in_use malloc free
WEB_COMMA := ,
WEB_EXPORTS := $(subst $(eval) ,$(WEB_COMMA),$(strip $(patsubst %,_%,$(WEB_EXPORTED))))
WEB_TESTS := test_bgemm test_bconv2d test_reference_kernels test_float_kernels \
             test_runtime_ops_layout test_runtime_ops_conv test_runtime_ops_dense \
             test_runtime_ops_pooling test_runtime_ops_normalization \
             test_runtime_ops_elementwise test_runtime_ops_shape test_runtime_ops_reduce \
             test_runtime_ops_constants test_runtime_ops_graph \
             test_runtime_binary test_runtime_loader

.PHONY: web web-check web-test-cpp

web-check:
	@command -v $(EMXX) > /dev/null || { echo "make web needs emscripten: apt-get install -y" \
	  "emscripten node-acorn nodejs"; exit 2; }
	@test -f /usr/include/nlohmann/json.hpp || { echo "make web needs nlohmann-json:" \
	  "apt-get install -y nlohmann-json3-dev"; exit 2; }

# nlohmann/json is header-only; only its directory is put on em++'s include path (not all
# of /usr/include, whose glibc headers are not emscripten's).
$(WEB)/include/nlohmann: | web-check
	mkdir -p $(WEB)/include
	ln -sfn /usr/include/nlohmann $@

$(WEB)/obj/%.o: %.cc $(WEB_HEADERS) | $(WEB)/include/nlohmann
	@mkdir -p $(dir $@)
	$(EMENV) $(EMXX) $(WEB_CXXFLAGS) -c $< -o $@

$(WEB_API_OBJECT): web/heap_in_use.c
	@mkdir -p $(dir $@)
	$(EMENV) $(EMXX:em++=emcc) -O3 -c $< -o $@

$(WEB)/bmxnet.mjs: $(WEB_OBJECTS) $(WEB_API_OBJECT) web/bmxnet_api.js web/node_env.js
	$(EMENV) $(EMXX) $(WEB_LDFLAGS) $(WEB_OBJECTS) $(WEB_API_OBJECT) -o $@ \
	  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createBmxnetModule \
	  -sENVIRONMENT=web,worker,node -sFILESYSTEM=0 \
	  -sEXPORTED_FUNCTIONS=$(WEB_EXPORTS) \
	  -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8 \
	  --extern-pre-js web/node_env.js --extern-post-js web/bmxnet_api.js

# bmx_benchmark for Node: node --no-experimental-fetch build/web/bmx_benchmark.js MODEL ...
# (it reads the model and writes the trace straight from and to the disk: NODERAWFS).
$(WEB)/bmx_benchmark.js: examples/deploy/bmx_benchmark.cc $(WEB_OBJECTS) | $(WEB)/include/nlohmann
	$(EMENV) $(EMXX) $(WEB_CXXFLAGS) $(WEB_LDFLAGS) $< $(WEB_OBJECTS) -o $@ \
	  -sNODERAWFS=1 -sENVIRONMENT=node

web: $(WEB)/bmxnet.mjs $(WEB)/bmx_benchmark.js
	@echo "built $(WEB)/bmxnet.mjs, $(WEB)/bmxnet.wasm and $(WEB)/bmx_benchmark.js"

$(WEB)/tests/%.js: tests/cpp/%.cc $(WEB_OBJECTS) $(wildcard tests/cpp/*.h)
	@mkdir -p $(dir $@)
	$(EMENV) $(EMXX) $(WEB_CXXFLAGS) $(WEB_LDFLAGS) -Itests/cpp $< $(WEB_OBJECTS) -o $@

web-test-cpp: $(patsubst %,$(WEB)/tests/%.js,$(WEB_TESTS))
	@for t in $(WEB_TESTS); do \
	  echo "== $$t (WebAssembly, node)"; $(NODE) $(WEB)/tests/$$t.js || exit 1; done

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

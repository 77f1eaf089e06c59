# The WebAssembly build (emscripten: `emcmake cmake -S . -B build/web`, which web/web.mk runs for
# make web and make web-test-cpp), included from the top-level CMakeLists.txt under EMSCRIPTEN
# before any target is defined:
#   - every file: -msimd128 (the WebAssembly SIMD128 xnor tile, xnor_tile_wasm_simd128.cc, and the
#     portable float GEMM's vector types) and -fwasm-exceptions; one thread (no pthreads, no
#     OpenMP), no XNNPACK (the portable float path)
#   - nlohmann-json: the host's header-only copy, its directory alone on em++'s include path (not
#     all of /usr/include, whose glibc headers are not emscripten's)
#   - the C++ tests run under Node (CMAKE_CROSSCOMPILING_EMULATOR), so CTest in this tree runs
#     them; those that need threads or replace malloc stay out (BMX_WEB_SKIPPED_TESTS)
#   bmx_add_web_module()  the target bmxnet_web: build/web/bmxnet.mjs + bmxnet.wasm, an ES module
#                         (browsers, Node 18+) exporting the C API that bmx_predict.h declares;
#                         and bmx_benchmark_web: build/web/bmx_benchmark.js, bmx_benchmark for
#                         Node (`node --no-experimental-fetch build/web/bmx_benchmark.js MODEL`),
#                         reading the model and writing its trace straight from and to the disk
#                         (NODERAWFS)
add_compile_options(-msimd128 -fwasm-exceptions)
set(CMAKE_POSITION_INDEPENDENT_CODE OFF)  # one module, no dynamic linking
add_link_options(-msimd128 -fwasm-exceptions -sALLOW_MEMORY_GROWTH=1 -sTOTAL_STACK=1048576
                 $<$<NOT:$<CONFIG:Debug>>:-O3>)
set(BMX_RUNTIME_XNNPACK OFF CACHE BOOL "Run the runtime's float layers on XNNPACK")
set(CMAKE_DISABLE_FIND_PACKAGE_OpenMP ON)
# Node 20's built-in fetch cannot load emscripten 3.1.6's file paths; browsers are unaffected.
find_program(BMX_NODE node REQUIRED NO_CMAKE_FIND_ROOT_PATH)
set(CMAKE_CROSSCOMPILING_EMULATOR "${BMX_NODE};--no-experimental-fetch")
set(BMX_WEB_SKIPPED_TESTS test_parallel test_runtime_memory test_runtime_no_allocation
    test_runtime_pools test_runtime_refusals test_runtime_settings test_runtime_silent
    test_runtime_threads)

find_path(BMX_HOST_NLOHMANN_DIR nlohmann/json.hpp PATHS /usr/include /usr/local/include
          NO_CMAKE_FIND_ROOT_PATH NO_DEFAULT_PATH)
if(BMX_HOST_NLOHMANN_DIR)
  file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/include")
  file(CREATE_LINK "${BMX_HOST_NLOHMANN_DIR}/nlohmann" "${CMAKE_BINARY_DIR}/include/nlohmann"
       SYMBOLIC)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  target_include_directories(nlohmann_json::nlohmann_json SYSTEM INTERFACE
                             "${CMAKE_BINARY_DIR}/include")
endif()

function(bmx_add_web_module)
  # The exported functions: every BMX* function that bmx_predict.h declares (the one list of the
  # C API; bmx_runtime.map exports BMX* from the shared library), the heap probe and malloc/free.
  file(STRINGS "${CMAKE_CURRENT_SOURCE_DIR}/src/runtime/include/bmx_predict.h" decls
       REGEX "^BMX_DLL .*BMX[A-Za-z0-9]+\\(")
  set(exports "")
  foreach(decl IN LISTS decls)
    if(decl MATCHES "[ *](BMX[A-Za-z0-9]+)\\(")
      list(APPEND exports "_${CMAKE_MATCH_1}")
    endif()
  endforeach()
  list(APPEND exports _bmx_web_heap_in_use _malloc _free)
  list(JOIN exports "," exports)
  set(web "${CMAKE_CURRENT_SOURCE_DIR}/web")
  add_executable(bmxnet_web "${web}/heap_in_use.c" ${BMX_RUNTIME_OBJECTS})
  set_target_properties(bmxnet_web PROPERTIES OUTPUT_NAME bmxnet SUFFIX .mjs
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}"
    LINK_DEPENDS "${web}/node_env.js;${web}/bmxnet_api.js;${CMAKE_CURRENT_SOURCE_DIR}/src/runtime/include/bmx_predict.h")
  target_link_options(bmxnet_web PRIVATE -sMODULARIZE=1 -sEXPORT_ES6=1
    -sEXPORT_NAME=createBmxnetModule -sENVIRONMENT=web,worker,node -sFILESYSTEM=0
    "-sEXPORTED_FUNCTIONS=${exports}"
    -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8
    "SHELL:--extern-pre-js ${web}/node_env.js" "SHELL:--extern-post-js ${web}/bmxnet_api.js")
  add_executable(bmx_benchmark_web "${CMAKE_CURRENT_SOURCE_DIR}/examples/deploy/bmx_benchmark.cc"
                 ${BMX_RUNTIME_OBJECTS})
  target_link_libraries(bmx_benchmark_web PRIVATE nlohmann_json::nlohmann_json)
  target_include_directories(bmx_benchmark_web PRIVATE
                             "${CMAKE_CURRENT_SOURCE_DIR}/src/runtime/include")
  set_target_properties(bmx_benchmark_web PROPERTIES OUTPUT_NAME bmx_benchmark SUFFIX .js
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}")
  target_link_options(bmx_benchmark_web PRIVATE -sNODERAWFS=1 -sENVIRONMENT=node)
endfunction()

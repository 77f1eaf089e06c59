# The float layers of the runtime (src/runtime/float) and the library they run on: XNNPACK
# (with pthreadpool and cpuinfo) where the target has it, else the portable C++ path alone.
#
#   BMX_RUNTIME_XNNPACK          option; default ON when XNNPACK, pthreadpool and cpuinfo are
#                                found for the target (find_* honour CMAKE_FIND_ROOT_PATH, so a
#                                cross build finds its sysroot's), else OFF with a message
#   bmx_float_backend(<target>)  gives a target that compiles src/runtime/float/*.cc what those
#                                files need: include dir, BMX_HAVE_XNNPACK, the libraries,
#                                WebAssembly SIMD under Emscripten
#   bmx_float_layers             object library of src/runtime/float/*.cc and the thread pool
#                                they run on, with the above: compiled once, its objects go into
#                                libbmx_runtime and into whatever links it (test_float_kernels,
#                                bmx_float_layers_bench, which also link bmx_kernels themselves)
#
# Needs the bmx_kernels target (the float layers use its parallel_for).

find_path(BMX_XNNPACK_INCLUDE_DIR xnnpack.h)
find_library(BMX_XNNPACK_LIBRARY NAMES XNNPACK)
find_library(BMX_PTHREADPOOL_LIBRARY NAMES pthreadpool)
find_library(BMX_CPUINFO_LIBRARY NAMES cpuinfo)
if(BMX_XNNPACK_INCLUDE_DIR AND BMX_XNNPACK_LIBRARY AND BMX_PTHREADPOOL_LIBRARY
   AND BMX_CPUINFO_LIBRARY)
  set(BMX_XNNPACK_FOUND ON)
else()
  set(BMX_XNNPACK_FOUND OFF)
endif()
option(BMX_RUNTIME_XNNPACK "Run the runtime's float layers on XNNPACK" ${BMX_XNNPACK_FOUND})
if(BMX_RUNTIME_XNNPACK AND NOT BMX_XNNPACK_FOUND)
  message(FATAL_ERROR
    "BMX_RUNTIME_XNNPACK=ON but XNNPACK, pthreadpool or cpuinfo was not found for this target "
    "(xnnpack.h: ${BMX_XNNPACK_INCLUDE_DIR}, libXNNPACK: ${BMX_XNNPACK_LIBRARY}, "
    "libpthreadpool: ${BMX_PTHREADPOOL_LIBRARY}, libcpuinfo: ${BMX_CPUINFO_LIBRARY}): "
    "apt-get install libxnnpack-dev libpthreadpool-dev libcpuinfo-dev, "
    "or configure with -DBMX_RUNTIME_XNNPACK=OFF for the portable float path")
elseif(BMX_RUNTIME_XNNPACK)
  message(STATUS "runtime float layers: XNNPACK (${BMX_XNNPACK_LIBRARY})")
else()
  message(STATUS "runtime float layers: portable C++ path (XNNPACK not found for this target or "
                 "BMX_RUNTIME_XNNPACK=OFF; apt-get install libxnnpack-dev libpthreadpool-dev "
                 "libcpuinfo-dev for it)")
endif()

set(BMX_FLOAT_DIR "${CMAKE_CURRENT_LIST_DIR}/../src/runtime/float")
get_filename_component(BMX_FLOAT_DIR "${BMX_FLOAT_DIR}" ABSOLUTE)

function(bmx_float_backend target)
  target_include_directories(${target} PRIVATE "${BMX_FLOAT_DIR}")
  target_link_libraries(${target} PRIVATE bmx_kernels)
  if(BMX_RUNTIME_XNNPACK)
    target_compile_definitions(${target} PRIVATE BMX_HAVE_XNNPACK=1)
    target_include_directories(${target} PRIVATE "${BMX_XNNPACK_INCLUDE_DIR}")
    target_link_libraries(${target} PRIVATE "${BMX_XNNPACK_LIBRARY}"
                          "${BMX_PTHREADPOOL_LIBRARY}" "${BMX_CPUINFO_LIBRARY}")
  endif()
  if(EMSCRIPTEN)
    # The portable GEMM's vector types become WebAssembly SIMD128.
    target_compile_options(${target} PRIVATE -msimd128)
  endif()
endfunction()

# The XNNPACK layers run on the calling predictor's thread pool (src/runtime/thread_pool.h).
file(GLOB BMX_FLOAT_SOURCES CONFIGURE_DEPENDS "${BMX_FLOAT_DIR}/*.cc")
get_filename_component(_bmx_thread_pool "${BMX_FLOAT_DIR}/../thread_pool.cc" ABSOLUTE)
list(APPEND BMX_FLOAT_SOURCES "${_bmx_thread_pool}")
add_library(bmx_float_layers OBJECT ${BMX_FLOAT_SOURCES})
target_include_directories(bmx_float_layers PUBLIC "${BMX_FLOAT_DIR}" "${BMX_FLOAT_DIR}/..")
bmx_float_backend(bmx_float_layers)
target_compile_options(bmx_float_layers PRIVATE -Wall -Wextra)
# The same symbol visibility as the rest of the runtime, whose shared library holds these objects.
set_target_properties(bmx_float_layers PROPERTIES
  CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
# Consumers of the objects need their libraries too.
target_link_libraries(bmx_float_layers INTERFACE bmx_kernels)
if(BMX_RUNTIME_XNNPACK)
  target_link_libraries(bmx_float_layers INTERFACE "${BMX_XNNPACK_LIBRARY}"
                        "${BMX_PTHREADPOOL_LIBRARY}" "${BMX_CPUINFO_LIBRARY}")
endif()

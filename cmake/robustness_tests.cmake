# Robustness checks of the runtime, included from the top-level CMakeLists.txt after the runtime
# targets are defined:
#   BMX_BUILD_FUZZ=ON           the libFuzzer targets (tests/fuzz; a clang tree, tests/fuzz/run.sh)
#   test_fuzz_model_loader      CTest: tests/fuzz/run.sh for 30 s in its own clang tree
#   test_runtime_aarch64_qemu   CTest: the aarch64 runtime under qemu-aarch64 on golden files
#                               that the x86-64 MXNet path wrote (make golden)
# Both CTests report themselves as skipped (exit 77) when their tools are missing.
option(BMX_BUILD_FUZZ "Build the libFuzzer targets (needs clang; tests/fuzz/run.sh configures it)"
       OFF)
if(BMX_BUILD_FUZZ)
  add_subdirectory("${CMAKE_CURRENT_LIST_DIR}/../tests/fuzz" "${CMAKE_BINARY_DIR}/tests/fuzz")
endif()

get_filename_component(_bmx_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(BMX_BUILD_TESTS AND BMX_BUILD_RUNTIME AND NOT BMX_BUILD_FUZZ AND CMAKE_HOST_UNIX)
  add_test(NAME test_fuzz_model_loader
           COMMAND "${_bmx_root}/tests/fuzz/run.sh" 30 "${CMAKE_BINARY_DIR}/fuzz")
  set_tests_properties(test_fuzz_model_loader PROPERTIES ENVIRONMENT "FUZZ_SKIP_STATUS=77"
                       SKIP_RETURN_CODE 77 TIMEOUT 1800)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    add_test(NAME test_runtime_aarch64_qemu
             COMMAND "${_bmx_root}/tests/aarch64/qemu_golden.sh" "${_bmx_root}/build/golden")
    set_tests_properties(test_runtime_aarch64_qemu PROPERTIES ENVIRONMENT "AARCH64_SKIP_STATUS=77"
                         SKIP_RETURN_CODE 77 TIMEOUT 1800 RESOURCE_LOCK bmx_aarch64_tree)
  endif()
endif()

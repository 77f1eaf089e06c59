# libbmx_runtime as a package that programs of one's own build against, included from the
# top-level CMakeLists.txt after the runtime targets are defined.
#
#   cmake --install <build> --component runtime [--strip] --prefix <dir>
#
# puts into <dir>:
#   <libdir>/libbmx_runtime.so, libbmx_runtime.a   <includedir>/bmx_predict.h
#   <bindir>/bmx_run, bmx_benchmark                (their RPATH finds <libdir> from <bindir>)
#   BMX_INSTALL_CMAKEDIR/bmx_runtime-config.cmake  find_package(bmx_runtime): the imported target
#                                                  bmx_runtime::bmx_runtime
#   BMX_INSTALL_PKGCONFIGDIR/bmx_runtime.pc        pkg-config --cflags --libs bmx_runtime
# Both package files locate the folder from where they lie (the config file's directory,
# ${pcfiledir}), so an installed folder works wherever it is copied; tools/build_aarch64.sh makes
# build/aarch64 such an install (a flat one: libdir and bindir are the folder itself). Both link
# with -rpath-link to <libdir>: libbmx_runtime.so's own dependencies may lie beside it
# (build/aarch64: XNNPACK, pthreadpool, cpuinfo), and a linker resolves a library's dependencies
# there only when told so (a cross linker never looks in its RPATH).
set(BMX_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/bmx_runtime" CACHE STRING
    "Where the installed CMake package files of bmx_runtime go (relative to the prefix)")
set(BMX_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where the installed bmx_runtime.pc goes (relative to the prefix)")

install(TARGETS bmx_runtime EXPORT bmx_runtime_targets
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime)
install(TARGETS bmx_runtime_static
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT runtime)
install(FILES "${CMAKE_CURRENT_LIST_DIR}/../src/runtime/include/bmx_predict.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT runtime)
file(RELATIVE_PATH _bmx_bin_to_lib "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
if(_bmx_bin_to_lib)  # "../lib", or "" where both are the same folder (build/aarch64)
  string(PREPEND _bmx_bin_to_lib "/")
endif()
foreach(_bmx_program bmx_run bmx_benchmark)
  if(TARGET ${_bmx_program})
    set_target_properties(${_bmx_program} PROPERTIES INSTALL_RPATH "$ORIGIN${_bmx_bin_to_lib}")
    install(TARGETS ${_bmx_program} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT runtime)
  endif()
endforeach()

include(CMakePackageConfigHelpers)
set(_bmx_pkg "${CMAKE_BINARY_DIR}/package")
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/bmx_runtime-config.cmake.in"
  "${_bmx_pkg}/bmx_runtime-config.cmake" INSTALL_DESTINATION "${BMX_INSTALL_CMAKEDIR}"
  PATH_VARS CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file("${_bmx_pkg}/bmx_runtime-config-version.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(EXPORT bmx_runtime_targets NAMESPACE bmx_runtime:: FILE bmx_runtime-targets.cmake
        DESTINATION "${BMX_INSTALL_CMAKEDIR}" COMPONENT runtime)
install(FILES "${_bmx_pkg}/bmx_runtime-config.cmake" "${_bmx_pkg}/bmx_runtime-config-version.cmake"
        DESTINATION "${BMX_INSTALL_CMAKEDIR}" COMPONENT runtime)

# bmx_runtime.pc: its prefix is the path from its own folder up to the install prefix.
file(RELATIVE_PATH BMX_PC_PREFIX "/${BMX_INSTALL_PKGCONFIGDIR}" "/")
string(REGEX REPLACE "/$" "" BMX_PC_PREFIX "${BMX_PC_PREFIX}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/bmx_runtime.pc.in" "${_bmx_pkg}/bmx_runtime.pc" @ONLY)
install(FILES "${_bmx_pkg}/bmx_runtime.pc" DESTINATION "${BMX_INSTALL_PKGCONFIGDIR}"
        COMPONENT runtime)

# The package's own checks (tests/package/check_package.sh): tests/package/app.c built with
# find_package and with pkg-config against the installed folder and a copy of it, run on the
# golden LeNet (make golden). x86-64 natively; aarch64 through tools/build_aarch64.sh and
# qemu-aarch64, reported as skipped without them. Not in sanitizer trees (a program of one's own
# is not built with the sanitizer's run-time library).
get_filename_component(_bmx_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
if(BMX_BUILD_TESTS AND CMAKE_HOST_UNIX AND NOT CMAKE_CROSSCOMPILING
   AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  add_test(NAME test_package_native
           COMMAND "${_bmx_root}/tests/package/check_package.sh" native "${CMAKE_BINARY_DIR}"
                   "${_bmx_root}/build/golden" "${CMAKE_BINARY_DIR}/package-test/native")
  set_tests_properties(test_package_native PROPERTIES TIMEOUT 600)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    add_test(NAME test_package_aarch64_qemu
             COMMAND "${_bmx_root}/tests/package/check_package.sh" aarch64
                     "${_bmx_root}/build/golden" "${CMAKE_BINARY_DIR}/package-test/aarch64")
    # (It builds in the aarch64 CMake tree that test_runtime_aarch64_qemu builds in.)
    set_tests_properties(test_package_aarch64_qemu PROPERTIES ENVIRONMENT "PACKAGE_SKIP_STATUS=77"
                         SKIP_RETURN_CODE 77 TIMEOUT 1800 RESOURCE_LOCK bmx_aarch64_tree)
  endif()
endif()

# CMake toolchain for aarch64 Linux with Debian's cross compiler (g++-aarch64-linux-gnu).
#   cmake -S . -B build/aarch64-cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# Libraries are found in the cross compiler's root (/usr/aarch64-linux-gnu) and in the private
# sysroot that tools/aarch64_sysroot.sh unpacks Debian's arm64 XNNPACK, pthreadpool, cpuinfo and
# nlohmann-json into (build/aarch64-sysroot, or $BMX_AARCH64_SYSROOT). Test programs run
# under qemu-aarch64 (CMAKE_CROSSCOMPILING_EMULATOR).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

if(DEFINED ENV{BMX_AARCH64_SYSROOT})
  get_filename_component(BMX_AARCH64_SYSROOT "$ENV{BMX_AARCH64_SYSROOT}" ABSOLUTE)
else()
  get_filename_component(BMX_AARCH64_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../../build/aarch64-sysroot"
                         ABSOLUTE)
endif()
set(BMX_AARCH64_CROSS_ROOT /usr/aarch64-linux-gnu)

set(CMAKE_FIND_ROOT_PATH "${BMX_AARCH64_CROSS_ROOT}" "${BMX_AARCH64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages: the roots first, then the host's paths, so that a package installed for aarch64
# outside them (find_package(bmx_runtime) with CMAKE_PREFIX_PATH=build/aarch64) is found too.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Headers of the private sysroot as a fallback after the compiler's own (never the host's
# /usr/include, whose glibc headers are x86-64's); its libraries' own dependencies
# (libXNNPACK.so.0 -> libpthreadpool.so.0, libcpuinfo.so.0) resolved at link time.
set(CMAKE_C_FLAGS_INIT "-idirafter ${BMX_AARCH64_SYSROOT}/usr/include")
set(CMAKE_CXX_FLAGS_INIT "-idirafter ${BMX_AARCH64_SYSROOT}/usr/include")
foreach(kind EXE SHARED MODULE)
  set(CMAKE_${kind}_LINKER_FLAGS_INIT
      "-Wl,-rpath-link,${BMX_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu")
endforeach()

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L "${BMX_AARCH64_CROSS_ROOT}")

# Release flags for libbmx_runtime, included from the top-level CMakeLists.txt after the runtime
# targets are defined (its install rules and package files: cmake/runtime_package.cmake).
#
# Size: kernels stay at the build type's -O2/-O3; every function and datum gets its own section
# and the shared library's link drops the unreferenced ones (only the C API is exported, by the
# version script, so everything unreachable from BMX* goes). The installed copy is stripped:
#   cmake --install <build> --component runtime --strip --prefix <dir>
if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  foreach(lib bmx_kernels bmx_runtime_objects bmx_float_layers bmx_runtime_parallel)
    if(TARGET ${lib})
      target_compile_options(${lib} PRIVATE -ffunction-sections -fdata-sections)
    endif()
  endforeach()
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux" OR CMAKE_SYSTEM_NAME STREQUAL "Android")
    target_link_options(bmx_runtime PRIVATE -Wl,--gc-sections -Wl,-O1)
  endif()
endif()

# The C++ standard library, linked into the shared library (only the C API is exported, so
# that copy stays private to it): a C program (bmx_run, an app's C code) then maps no
# libstdc++.so at all. Measured on the converted LeNet through bmx_run: 1.1 MB less peak memory,
# for about 100 KiB more library. A C++ program that maps libstdc++.so anyway gains nothing from
# it (turn it off there). Off in sanitizer builds, whose run-time library wraps new and delete.
option(BMX_RUNTIME_STATIC_CXX "Link the C++ standard library statically into libbmx_runtime.so" ON)
if(BMX_RUNTIME_STATIC_CXX AND CMAKE_SYSTEM_NAME STREQUAL "Linux" AND NOT ANDROID
   AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  target_link_options(bmx_runtime PRIVATE -static-libstdc++ -static-libgcc)
endif()

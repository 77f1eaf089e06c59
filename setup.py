"""Ships bmxnet's native libraries inside the package:

    bmxnet/libbmxnet_ops.so          the MXNet op library (bmxnet.library_path())
    bmxnet/lib/libbmx_runtime.so     the runtime without MXNet (bmxnet.runtime_library_path())
    bmxnet/include/bmx_predict.h     its C API (bmxnet.runtime_include_dir())

With $BMXNET_BUILT_TREE set to a CMake tree that is already built (`make build`'s build/cmake:
`make install` sets it), the libraries are copied from there and nothing is compiled. Without
it (a plain `pip install .`), CMake builds them in build/pip.

The runtime is left out, with a warning, when CMake cannot build it (nlohmann-json missing).
"""
import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
BUILT_TREE_VARIABLE = "BMXNET_BUILT_TREE"
OPS_NAME = "libbmxnet_ops.so"
# Written by CMake when it configures the runtime: the path of libbmx_runtime.so.
RUNTIME_FILE_RECORD = "bmx_runtime_file.txt"
RUNTIME_HEADER = os.path.join(HERE, "src", "runtime", "include", "bmx_predict.h")
RUNTIME_MISSING = ("warning: libbmx_runtime is not built (see CMake's message above); "
                   "bmxnet.runtime will need BMXNET_RUNTIME_LIBRARY")


def recorded_runtime(build_dir):
    """The path of libbmx_runtime.so that CMake recorded in build_dir, or None."""
    record = os.path.join(build_dir, RUNTIME_FILE_RECORD)
    if not os.path.exists(record):
        return None
    with open(record) as f:
        return f.read().strip()


def compile_libraries(build_dir):
    """Configures and builds the op library and the runtime in build_dir; returns their paths
    (the runtime's None when CMake does not configure it)."""
    record = os.path.join(build_dir, RUNTIME_FILE_RECORD)
    if os.path.exists(record):
        os.remove(record)
    subprocess.check_call([
        "cmake", "-S", HERE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
        f"-DPython3_EXECUTABLE={sys.executable}",
        "-DBMX_BUILD_TESTS=OFF", "-DBMX_BUILD_EXAMPLES=OFF"])
    runtime = recorded_runtime(build_dir)
    targets = ["bmxnet_ops"] + (["bmx_runtime"] if runtime else [])
    subprocess.check_call(["cmake", "--build", build_dir, "--target", *targets,
                           "-j", str(os.cpu_count() or 2)])
    return os.path.join(build_dir, OPS_NAME), runtime


def built_libraries(build_dir):
    """The op library and the runtime (or None) of a CMake tree that is already built; runs
    nothing. Stops with one sentence when the tree lacks a library CMake configured."""
    runtime = recorded_runtime(build_dir)
    for path in (os.path.join(build_dir, OPS_NAME), runtime):
        if path and not os.path.isfile(path):
            sys.exit(f"{BUILT_TREE_VARIABLE}={build_dir}: {path} is not built; run `make build` "
                     f"(or `cmake --build {build_dir}`) first, or unset {BUILT_TREE_VARIABLE} "
                     "to compile in build/pip")
    return os.path.join(build_dir, OPS_NAME), runtime


def native_libraries():
    """(op library, runtime or None): from $BMXNET_BUILT_TREE when set, else compiled."""
    built_tree = os.environ.get(BUILT_TREE_VARIABLE)
    if built_tree:
        return built_libraries(os.path.abspath(built_tree))
    return compile_libraries(os.path.join(HERE, "build", "pip"))


def ship(ops, runtime, package):
    """Copies the libraries (and the runtime's header) into the package folder."""
    os.makedirs(package, exist_ok=True)
    shutil.copy2(ops, package)
    if not runtime:
        print(RUNTIME_MISSING, file=sys.stderr)
        return
    for folder, source in (("lib", runtime), ("include", RUNTIME_HEADER)):
        target = os.path.join(package, folder, os.path.basename(source))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # The real file, not the versioned symlink chain a shared library may have.
        shutil.copyfile(os.path.realpath(source), target)
        shutil.copymode(os.path.realpath(source), target)


class BuildNativeLibraries(build_py):
    def run(self):
        super().run()
        ship(*native_libraries(), os.path.join(self.build_lib, "bmxnet"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildNativeLibraries}, distclass=BinaryDistribution)

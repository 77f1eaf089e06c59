"""Builds the native libraries through CMake and ships them inside the bmxnet package:

    bmxnet/libbmxnet_ops.so          the MXNet op library (bmxnet.library_path())
    bmxnet/lib/libbmx_runtime.so     the runtime without MXNet (bmxnet.runtime_library_path())
    bmxnet/include/bmx_predict.h     its C API (bmxnet.runtime_include_dir())

The runtime is left out, with a warning, when CMake cannot build it (nlohmann-json missing).
"""
import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
# Written by CMake when it configures the runtime: the path of libbmx_runtime.so.
RUNTIME_FILE_RECORD = "bmx_runtime_file.txt"


class BuildNativeLibraries(build_py):
    def run(self):
        super().run()
        build_dir = os.path.join(HERE, "build", "pip")
        record = os.path.join(build_dir, RUNTIME_FILE_RECORD)
        if os.path.exists(record):
            os.remove(record)
        subprocess.check_call([
            "cmake", "-S", HERE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DBMX_BUILD_TESTS=OFF", "-DBMX_BUILD_EXAMPLES=OFF"])
        targets = ["bmxnet_ops"]
        runtime = None
        if os.path.exists(record):
            with open(record) as f:
                runtime = f.read().strip()
            targets.append("bmx_runtime")
        else:
            print("warning: libbmx_runtime is not built (see CMake's message above); "
                  "bmxnet.runtime will need BMXNET_RUNTIME_LIBRARY", file=sys.stderr)
        subprocess.check_call(["cmake", "--build", build_dir, "--target", *targets,
                               "-j", str(os.cpu_count() or 2)])
        package = os.path.join(self.build_lib, "bmxnet")
        os.makedirs(package, exist_ok=True)
        shutil.copy2(os.path.join(build_dir, "libbmxnet_ops.so"), package)
        if runtime:
            for folder, source in (("lib", runtime),
                                   ("include", os.path.join(HERE, "src", "runtime", "include",
                                                            "bmx_predict.h"))):
                os.makedirs(os.path.join(package, folder), exist_ok=True)
                # The real file, not the versioned symlink chain a shared library may have.
                shutil.copyfile(os.path.realpath(source),
                                os.path.join(package, folder, os.path.basename(source)))
                shutil.copymode(os.path.realpath(source),
                                os.path.join(package, folder, os.path.basename(source)))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildNativeLibraries}, distclass=BinaryDistribution)

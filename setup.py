"""Builds libbmxnet_ops.so through CMake and ships it inside the bmxnet package."""
import os
import shutil
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildOpLibrary(build_py):
    def run(self):
        super().run()
        build_dir = os.path.join(HERE, "build", "pip")
        subprocess.check_call([
            "cmake", "-S", HERE, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
            f"-DPython3_EXECUTABLE={sys.executable}",
            "-DBMX_BUILD_TESTS=OFF", "-DBMX_BUILD_EXAMPLES=OFF"])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "bmxnet_ops",
                               "-j", str(os.cpu_count() or 2)])
        target = os.path.join(self.build_lib, "bmxnet")
        os.makedirs(target, exist_ok=True)
        shutil.copy2(os.path.join(build_dir, "libbmxnet_ops.so"), target)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildOpLibrary}, distclass=BinaryDistribution)

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def mnist_dir():
    return os.path.join(ROOT, "examples", "mnist", "data")


@pytest.fixture(scope="session")
def runtime_library():
    """libbmx_runtime's path; tests that use the runtime skip, saying why, when it is not built."""
    import bmxnet

    try:
        return bmxnet.runtime_library_path()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def pytest_configure(config):
    # Examples are scripts, not a package: make them importable by path in tests.
    sys.path.insert(0, ROOT)

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


def pytest_configure(config):
    # Examples are scripts, not a package: make them importable by path in tests.
    sys.path.insert(0, ROOT)

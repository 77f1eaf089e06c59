#!/usr/bin/env python3
"""model-converter: convert an exported bmxnet model into a packed binary model.

Thin wrapper; the logic lives in ``bmxnet.converter`` (also installed as the
``model-converter`` console script). Run ``model_converter.py --help`` for usage.
"""
import os
import sys

# From a source checkout, use the checkout's python/ package rather than an installed copy.
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "python")
if os.path.isfile(os.path.join(_SOURCE, "bmxnet", "converter", "__init__.py")):
    sys.path.insert(0, os.path.abspath(_SOURCE))

from bmxnet.converter import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

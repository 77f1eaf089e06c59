"""``python -m bmxnet.converter``: the ``model-converter`` command."""

import sys

from .cli import main

sys.exit(main())

"""The example training scripts (examples/NAME/train.py) as modules: they are scripts, not a
package, so tests load them by path."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name):
    """examples/<name>/train.py, freshly executed as the module train_<name>."""
    path = os.path.join(ROOT, "examples", name, "train.py")
    spec = importlib.util.spec_from_file_location(f"train_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

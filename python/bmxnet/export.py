"""Exporting a Gluon network with its input shape recorded in the symbol file.

The shape a model was trained on is kept in ``PREFIX-symbol.json`` as an attribute of the
input variable's node (MXNet keeps a variable's attributes and otherwise ignores this one)::

    {"op": "null", "name": "data", "attrs": {"bmx_input_shape": "(1, 1, 28, 28)"}, ...}

The value is the shape of one sample with a batch of 1, written as MXNet writes shapes
(``str`` of a Python tuple: ``(`` integers joined by ``, `` ``)``). ``bmxnet summary``,
``bmxnet predict``, the converter (which keeps it) and the C example (examples/deploy) read it;
tools/model_converter/FORMAT.md documents it for other readers.
"""
import json
import os
import re

__all__ = ["INPUT_SHAPE_ATTR", "export", "format_shape", "parse_shape", "record_input_shape",
           "recorded_input_shape", "record_input_shape_file"]

INPUT_SHAPE_ATTR = "bmx_input_shape"
_SHAPE_RE = re.compile(r"^\(\s*\d+(\s*,\s*\d+)*\s*,?\s*\)$")


def format_shape(shape):
    """``(1, 1, 28, 28)`` for (1, 1, 28, 28): the attribute's value."""
    shape = tuple(int(d) for d in shape)
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"an input shape needs positive dimensions, got {shape}")
    return str(shape)


def parse_shape(text):
    """The tuple an attribute value such as ``(1, 1, 28, 28)`` stands for."""
    if not isinstance(text, str) or not _SHAPE_RE.match(text.strip()):
        raise ValueError(f"{INPUT_SHAPE_ATTR} must look like (1, 3, 224, 224), got {text!r}")
    return tuple(int(v) for v in text.strip()[1:-1].split(",") if v.strip())


def _input_node(graph, data_name):
    for index in graph.get("arg_nodes", range(len(graph["nodes"]))):
        node = graph["nodes"][index]
        if node.get("op") == "null" and node.get("name") == data_name:
            return node
    return None


def recorded_input_shape(graph, data_name="data"):
    """The input shape recorded in a symbol graph (parsed JSON), or None."""
    node = _input_node(graph, data_name)
    text = ((node or {}).get("attrs") or {}).get(INPUT_SHAPE_ATTR)
    return None if text is None else parse_shape(text)


def record_input_shape(graph, shape, data_name="data"):
    """Sets the input shape of `data_name` in a symbol graph (parsed JSON), in place."""
    node = _input_node(graph, data_name)
    if node is None:
        raise ValueError(f"the symbol has no input named {data_name!r}")
    node.setdefault("attrs", {})[INPUT_SHAPE_ATTR] = format_shape(shape)
    return graph


def record_input_shape_file(symbol_file, shape, data_name="data"):
    """Records the input shape in `symbol_file` (rewritten atomically)."""
    with open(symbol_file) as f:
        graph = json.load(f)
    record_input_shape(graph, shape, data_name)
    tmp = f"{symbol_file}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(graph, f, indent=2)
    os.replace(tmp, symbol_file)


def export(net, prefix, input_shape, epoch=0, data_name="data"):
    """``net.export(prefix, epoch)`` with `input_shape` (batch 1, e.g. (1, 1, 28, 28))
    recorded in the symbol file. Runs one forward pass on zeros first when `net` has not run
    yet (Gluon can only export a hybridized network that has run); returns the two paths."""
    import mxnet as mx

    input_shape = tuple(int(d) for d in input_shape)
    if not getattr(net, "_active", False):
        net.hybridize()
    if getattr(net, "_cached_op", None) is None:
        with mx.autograd.predict_mode():
            net(mx.nd.zeros(input_shape))
    # Gluon's export does not make the folder: bmxnet.export(net, "out/model") in a fresh
    # checkout has no out/ yet.
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    net.export(prefix, epoch)
    symbol_file, params_file = f"{prefix}-symbol.json", f"{prefix}-{epoch:04d}.params"
    record_input_shape_file(symbol_file, (1,) + input_shape[1:], data_name)
    return symbol_file, params_file

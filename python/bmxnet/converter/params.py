"""The .params entries by variable name, and the check that they belong to the symbol."""

from collections import OrderedDict
from typing import Dict, Optional, Tuple

import numpy as np

from .. import params_io
from .attrs import Attrs, format_shape
from .errors import ConversionError
from .graph import Graph, Node

# Inputs after the first of these ops are parameters that must be in the .params file.
PARAM_OPS = frozenset(("Convolution", "Deconvolution", "FullyConnected", "BatchNorm",
                       "LayerNorm", "InstanceNorm", "GroupNorm", "Embedding",
                       "bmx_binary_conv2d", "bmx_binary_dense"))


class Params:
    """The .params entries, looked up by variable name ("arg:"/"aux:" prefixes optional)."""

    def __init__(self, entries: "OrderedDict[str, Optional[np.ndarray]]", path: str):
        self.entries = entries
        self.path = path
        self.key_of: Dict[str, str] = {}
        for key in entries:
            name = key[4:] if key.startswith(("arg:", "aux:")) else key
            self.key_of.setdefault(name, key)

    def __contains__(self, name: str) -> bool:
        return name in self.key_of

    def get(self, name: str) -> Optional[np.ndarray]:
        return self.entries[self.key_of[name]]


def _expected_outputs(node: Node, sym_path: str) -> Optional[Tuple[str, int, Tuple[int, ...]]]:
    """(attribute, output size, input slots whose first dim must equal it) of a float layer."""
    a = Attrs(node, sym_path)
    if node.op == "Convolution" and "num_filter" in node.attrs:
        return "num_filter", a.int("num_filter"), (1, 2)
    if node.op == "FullyConnected" and "num_hidden" in node.attrs:
        return "num_hidden", a.int("num_hidden"), (1, 2)
    return None


def check_params(graph: Graph, params: Params, sym_path: str):
    """Fail if the params file was not exported together with this symbol."""
    def mismatch(what):
        return ConversionError(
            f"{params.path} does not match {sym_path}: {what}; the two files seem to come from "
            "different models, pass the .params file exported together with this symbol")

    var_names = {n.name for n in graph.nodes if n.is_var}
    extra = params_io.mismatch_message(params.path, sym_path, params.entries, var_names,
                                       check_missing=False)
    if extra:
        raise ConversionError(extra)
    for node in graph.nodes:
        if node.op not in PARAM_OPS:
            continue
        for src, _idx, _ver in node.inputs[1:]:
            if src.is_var and src.name not in params:
                raise mismatch(f"parameter {src.name} of {node.name} is missing")
    for node in graph.nodes:
        if not node.is_var or node.name not in params:
            continue
        value = params.get(node.name)
        declared = node.attrs.get("__shape__")
        if value is None or not declared:
            continue
        try:
            dims = tuple(int(v) for v in declared.strip("()[] ").split(",") if v.strip())
        except ValueError:
            continue
        if len(dims) != value.ndim or any(d > 0 and d != s for d, s in zip(dims, value.shape)):
            raise mismatch(f"parameter {node.name} has shape {format_shape(value.shape)} but the "
                           f"symbol declares {declared}")
    for node in graph.nodes:  # layer sizes against parameter shapes (symbols without __shape__)
        shapes = {slot: params.get(src.name).shape for slot, (src, _, _) in enumerate(node.inputs)
                  if slot > 0 and src.is_var and src.name in params
                  and params.get(src.name) is not None}
        expected = _expected_outputs(node, sym_path)
        if expected is not None:
            attr, size, slots = expected
            for slot in slots:
                if slot in shapes and shapes[slot][:1] != (size,):
                    raise mismatch(f"{node.name} has {attr}={size} but its parameter "
                                   f"{node.inputs[slot][0].name} has shape "
                                   f"{format_shape(shapes[slot])}")
        if node.op == "BatchNorm" and len(set(shapes.values())) > 1:
            raise mismatch(f"the parameters of {node.name} have different shapes")

"""What the passes of a conversion share: the graph, its parameters, and the binary layers found
in it with what has been folded into each so far (DESIGN.md section 3, "Converter passes")."""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .attrs import format_shape
from .folding import Folder
from .graph import Graph, Node, new_node
from .packing import INT32
from .params import Params
from .patterns import Match
from .report import BinaryLayer, SkippedLayer
from .symbol import serialize

Entry = Tuple[Node, int]


@dataclass
class Layer:
    """A binary layer: its match, and the epilogue the fold passes build on it, ``output =
    scale * (±1 dot product) + bias [+ residual]``, replacing the output of `end`."""
    match: Match
    end: Node                              # the last node folded in; its output is replaced
    scale: Optional[np.ndarray] = None      # float64 (O,)
    bias: Optional[np.ndarray] = None       # float64 (O,)
    bias_var: Optional[Node] = None        # a float32 variable holding exactly `bias`, if any
    batchnorm: Optional[Node] = None       # the BatchNorm folded in
    residual: Optional[Entry] = None       # the other operand of the residual add fused in
    notes: List[str] = field(default_factory=list)
    packed_var: Optional[Node] = None      # set by pack_weights
    op: Optional[Node] = None              # the bmx_binary_* node, set by replace_layers

    @property
    def node(self) -> Node:
        return self.match.node


class Conversion:
    """One conversion's state, passed from pass to pass. The graph's nodes stay as read (after
    the normalizing passes); the replacement of a node's output is recorded in `redirect` and
    applied when the result is serialized."""

    def __init__(self, graph: Graph, params: Params, sym_path: str, fold_batchnorm: bool):
        self.graph, self.params, self.sym_path = graph, params, sym_path
        self.fold_batchnorm = fold_batchnorm
        self.folder = Folder(params, sym_path)
        self.layers: List[Layer] = []                  # binary layers, in graph order
        self.float_layers: List[Tuple[Node, SkippedLayer]] = []  # stay float; graph order
        self.redirect: Dict[Entry, Entry] = {}
        self.new_arrays: Dict[Node, np.ndarray] = {}   # new variable node -> its array

    @property
    def skipped(self) -> List[SkippedLayer]:
        """The report's entry of every layer that stays float, in graph order."""
        return [layer for _, layer in self.float_layers]

    def sole_consumer(self, node: Node):
        """(consumer, slot) when `node` feeds exactly one input of one node and is no head."""
        users = self.graph.consumers[node]
        if len(users) != 1 or self.graph.used_as_head(node):
            return None, None
        user, slot, idx = users[0]
        return (user, slot) if idx == 0 else (None, None)

    def new_var(self, preferred: str, array: np.ndarray, template: Optional[Node] = None) -> Node:
        """A new parameter holding `array` (named `preferred` unless that name is taken), with
        the attributes of `template` (a variable it replaces) but its own shape and dtype."""
        attrs = dict(template.attrs) if template is not None else {}
        attrs.pop("__init__", None)
        attrs["__shape__"] = format_shape(array.shape)
        attrs["__dtype__"] = "4" if array.dtype == INT32 else "0"
        var = new_node("null", preferred, attrs, [])
        var.preferred_name = preferred
        self.new_arrays[var] = array
        return var

    def converted(self) -> List[BinaryLayer]:
        """The report's entry of every binary layer, in graph order."""
        out = []
        for layer in self.layers:
            m, packed = layer.match, self.new_arrays[layer.packed_var]
            out.append(BinaryLayer(m.node.name, m.kind, tuple(m.weight.shape),
                                   tuple(packed.shape), int(m.weight.nbytes), int(packed.nbytes),
                                   m.pad_value, layer.batchnorm.name if layer.batchnorm else None,
                                   list(layer.notes)))
        return out

    def result(self):
        """(symbol JSON dict, params dict) of the rewritten graph; the params hold exactly what
        the new symbol references, in node order."""
        sym, order = serialize(self.graph, self.redirect)
        out_params = OrderedDict()
        for n in order:
            if n in self.new_arrays:
                out_params[f"arg:{n.name}"] = self.new_arrays[n]
            elif n.is_var and n.name in self.params:
                out_params[self.params.key_of[n.name]] = self.params.get(n.name)
        return sym, out_params

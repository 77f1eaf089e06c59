"""The graph rewrite: every binary layer becomes one packed op, everything else stays."""

from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np

from .attrs import format_shape
from .errors import NotConvertible
from .folding import Folder
from .fusion import (batchnorm_factors, fold_batchnorm_into_float_layer, fold_epilogue,
                     foldable_batchnorm, fusable_residual_add)
from .graph import Graph, Node, new_node
from .packing import INT32, pack_conv_weight, pack_dense_weight
from .params import Params
from .patterns import Match, match_layer
from .report import BinaryLayer, SkippedLayer
from .symbol import serialize


LAYER_OPS = ("Convolution", "FullyConnected")


class Rewrite:
    """One conversion's rewrite of `graph`: layers are visited in graph order; each binary one
    is replaced (through `redirect`) by a packed op with what follows it folded in, each float
    one is reported with why (and its BatchNorm folded into its weights)."""

    def __init__(self, graph: Graph, params: Params, sym_path: str, fold_batchnorm: bool):
        self.graph, self.params, self.sym_path = graph, params, sym_path
        self.fold_batchnorm = fold_batchnorm
        self.redirect: Dict[Tuple[Node, int], Tuple[Node, int]] = {}
        self.new_arrays: Dict[Node, np.ndarray] = {}   # new variable node -> its array
        self.packed_vars: Dict[object, Node] = {}       # weight variable / sign node -> packed
        self.converted: List[BinaryLayer] = []
        self.skipped: List[SkippedLayer] = []
        self.folder = Folder(params, sym_path)
        self.bases: Dict[Node, str] = {}                # names of evaluated weights, by sign node

    def new_var(self, preferred: str, array: np.ndarray, template: Optional[Node] = None) -> Node:
        """A new parameter holding `array` (named `preferred` unless that name is taken)."""
        attrs = dict(template.attrs) if template is not None else {}
        attrs.pop("__init__", None)
        attrs["__shape__"] = format_shape(array.shape)
        attrs["__dtype__"] = "4" if array.dtype == INT32 else "0"
        var = new_node("null", preferred, attrs, [])
        var.preferred_name = preferred
        self.new_arrays[var] = array
        return var

    def layers(self):
        """Rewrite every Convolution/FullyConnected in graph order."""
        for node in self.graph.nodes:
            if node.op not in LAYER_OPS:
                continue
            kind = "conv" if node.op == "Convolution" else "dense"
            try:
                m = match_layer(node, self.params, self.sym_path, self.folder, self.bases)
            except NotConvertible as why:
                self.keep_float(node, kind, str(why))
                continue
            self.binarize(m)

    def keep_float(self, node: Node, kind: str, reason: str):
        layer = SkippedLayer(node.name, kind, reason)
        self.skipped.append(layer)
        if self.fold_batchnorm:
            layer.folded_batchnorm = fold_batchnorm_into_float_layer(
                self.graph, node, kind, self.params, self.sym_path, self.new_var, self.redirect)

    def packed_weight(self, m: Match) -> Node:
        """The packed weight variable of a match; weights shared by layers are packed once."""
        if m.weight_key not in self.packed_vars:
            packed = (pack_conv_weight(m.weight) if m.kind == "conv"
                      else pack_dense_weight(m.weight))
            self.packed_vars[m.weight_key] = self.new_var(m.weight_name, packed, m.weight_var)
        return self.packed_vars[m.weight_key]

    def binarize(self, m: Match):
        """Replace the matched layer, and the scaling, BatchNorm and residual add that alone
        follow it, by one bmx_binary_conv2d / bmx_binary_dense."""
        graph, params, sym_path, node, kind = self.graph, self.params, self.sym_path, m.node, m.kind
        weight, packed_var = m.weight, self.packed_weight(m)
        packed = self.new_arrays[packed_var]
        layer = BinaryLayer(node.name, kind, tuple(weight.shape), tuple(packed.shape),
                            int(weight.nbytes), int(packed.nbytes), m.pad_value,
                            notes=list(m.notes))

        ep = fold_epilogue(graph, m, params, self.folder, sym_path)
        layer.notes += ep.notes
        scale, bias = ep.scale, ep.bias
        bias_var = ep.bias_var
        if bias_var is not None and params.get(bias_var.name).dtype != np.float32:
            bias_var = None
        bn = None
        if self.fold_batchnorm:
            bn, note = foldable_batchnorm(graph, ep.end, m.kind, m.conv1d,
                                          m.attrs.get("flatten") == "True", m.out_channels,
                                          params, sym_path)
            if note:
                layer.notes.append(note)
        if bn is not None:
            k, mean, beta = batchnorm_factors(bn, params, sym_path)
            scale = k if scale is None else scale * k
            bias = ((bias if bias is not None else 0.0) - mean) * k + beta
            bias_var = None
            layer.folded_batchnorm = bn.name

        data = m.data_in
        if m.conv1d:  # (N, C, W) -> (N, C, 1, W)
            data = (new_node("expand_dims", f"{node.name}_nchw", {"axis": "2"}, [data]), 0)
        inputs = [data, (packed_var, 0)]
        attrs = {k: v for k, v in node.attrs.items() if k.startswith("__") and k.endswith("__")}
        attrs.update(m.attrs)
        if scale is not None:
            inputs.append((self.new_var(f"{node.name}_scale", scale.astype(np.float32)), 0))
        if bias is not None:
            if bias_var is not None:
                inputs.append((bias_var, 0))  # unchanged: keep the original variable
            else:
                inputs.append((self.new_var(f"{node.name}_bias", bias.astype(np.float32),
                                            m.bias_var if bn is None else None), 0))
        attrs["use_scale"] = str(scale is not None)
        attrs["no_bias"] = str(bias is None)
        end = bn or ep.end
        add = fusable_residual_add(graph, end, self.redirect) \
            if kind == "conv" and not m.conv1d else None
        if add is not None:
            add_node, other = add
            inputs.append(other)
            attrs["add_residual"] = "True"
            layer.notes.append(f"{add_node.name} (residual add) fused")
            end = add_node
        op = "bmx_binary_conv2d" if kind == "conv" else "bmx_binary_dense"
        out = new_node(op, node.name, attrs, inputs)
        if m.conv1d:  # (N, O, 1, W') -> (N, O, W')
            out = new_node("Reshape", f"{node.name}_ncw", {"shape": "(0, 0, -1)"}, [(out, 0)])
        self.redirect[(end, 0)] = (out, 0)
        self.converted.append(layer)

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

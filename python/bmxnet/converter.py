"""Convert an exported bmxnet training graph into a deployable binary model.

Input: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params`` written by ``HybridBlock.export``.
Each binary layer of the training graph (DESIGN.md section 3)::

    x -> sign -> [Pad(+-1)] -> Convolution(weight=sign(w), [bias])     (QConv2D)
    x -> sign -> FullyConnected(weight=sign(w), [bias])                 (QDense)

is found by its ops (``bmx_det_sign`` / ``bmx_approx_sign`` on the data and the weight input),
not by names, and replaced by ONE ``bmx_binary_conv2d`` / ``bmx_binary_dense`` node whose weight
is packed into int32 words (bit 1 = -1, channel c = bit c % 32 of word c / 32, conv OHWI).
A ``BatchNorm`` that is the only consumer of a binary layer is folded into per-channel
``scale``/``bias``. Everything else (float and k-bit layers, activations, pooling, ...) is
left as it is, and every Convolution/FullyConnected that stays float is reported with why.

Pure Python + numpy + json: this module never imports mxnet or the op library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import params_io

__all__ = [
    "ConversionError", "ConversionReport", "BinaryLayer", "SkippedLayer",
    "convert", "pack_bits", "pack_conv_weight", "pack_dense_weight", "main",
]

SIGN_OPS = ("bmx_det_sign", "bmx_approx_sign")
BMX_OPS = frozenset(SIGN_OPS + ("bmx_bitpack", "bmx_binary_conv2d", "bmx_binary_dense"))
# Ops whose presence on a weight/data path means "k-bit quantization simulated in float".
_KBIT_OPS = frozenset(("round", "rint", "floor", "ceil", "fix", "_contrib_round_ste",
                       "_contrib_quantize", "_contrib_quantize_v2"))
# Inputs after the first of these ops are parameters that must be in the .params file.
_PARAM_OPS = frozenset(("Convolution", "Deconvolution", "FullyConnected", "BatchNorm",
                        "LayerNorm", "InstanceNorm", "GroupNorm", "Embedding",
                        "bmx_binary_conv2d", "bmx_binary_dense"))
_EPOCH_RE = re.compile(r"^(?P<prefix>.*)-(?P<epoch>\d+)\.params$")
_INT32 = np.dtype("<i4")


class ConversionError(ValueError):
    """Bad input or an unwritable output: one sentence naming the file and what to do."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always a single line


# --------------------------------------------------------------------------------------------
# Bit packing (DESIGN.md "Bits")
# --------------------------------------------------------------------------------------------

def pack_bits(x: np.ndarray) -> np.ndarray:
    """Pack sign bits of the last axis into int32 words: (..., C) -> (..., ceil(C / 32)).

    Bit 1 means -1 (x < 0, or NaN), bit 0 means +1 (x >= 0, so sign(0) = +1); channel c is bit
    c % 32 of word c // 32; unused tail bits are 0.
    """
    x = np.asarray(x)
    channels = x.shape[-1]
    words = -(-channels // 32)
    bits = np.zeros(x.shape[:-1] + (words * 32,), dtype=bool)
    bits[..., :channels] = ~(x >= 0)
    packed = np.packbits(bits, axis=-1, bitorder="little")  # 4 bytes per word, low byte first
    return np.ascontiguousarray(packed).view("<u4").astype(_INT32, copy=False).view(_INT32)


def pack_conv_weight(weight: np.ndarray) -> np.ndarray:
    """(O, C/g, kh, kw) float -> (O, kh, kw, ceil(C/g / 32)) int32, i.e. OHWI packed on I."""
    return pack_bits(np.transpose(weight, (0, 2, 3, 1)))


def pack_dense_weight(weight: np.ndarray) -> np.ndarray:
    """(N, K) float -> (N, ceil(K / 32)) int32."""
    return pack_bits(weight)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

@dataclass
class BinaryLayer:
    """A layer replaced by a packed binary op."""
    name: str
    kind: str                   # "conv" or "dense"
    weight_shape: Tuple[int, ...]
    packed_shape: Tuple[int, ...]
    float_bytes: int            # float weight bytes before
    packed_bytes: int           # packed int32 weight bytes after
    pad_value: Optional[int] = None
    folded_batchnorm: Optional[str] = None
    notes: List[str] = field(default_factory=list)


@dataclass
class SkippedLayer:
    """A Convolution/FullyConnected that stays float, and why."""
    name: str
    kind: str
    reason: str


@dataclass
class ConversionReport:
    symbol_in: str
    params_in: str
    symbol_out: str
    params_out: str
    converted: List[BinaryLayer]
    skipped: List[SkippedLayer]
    size_before: int            # symbol + params file bytes
    size_after: int
    params_before: int
    params_after: int

    def format(self) -> str:
        lines = [f"model-converter: {self.symbol_in} + {self.params_in}",
                 f"  -> {self.symbol_out} + {self.params_out}", ""]
        if self.converted:
            rows = [("layer", "kind", "float weights", "packed", "bytes before", "bytes after",
                     "ratio", "notes")]
            for layer in self.converted:
                notes = []
                if layer.pad_value is not None:
                    notes.append(f"pad_value={layer.pad_value}")
                if layer.folded_batchnorm:
                    notes.append(f"folded {layer.folded_batchnorm}")
                notes += layer.notes
                rows.append((layer.name, layer.kind, _fmt_shape(layer.weight_shape),
                             _fmt_shape(layer.packed_shape), f"{layer.float_bytes:,}",
                             f"{layer.packed_bytes:,}",
                             f"{layer.float_bytes / max(layer.packed_bytes, 1):.1f}x",
                             ", ".join(notes)))
            lines.append(f"Binary layers ({len(self.converted)}, packed and accelerated):")
            lines += _table(rows)
        else:
            lines.append("No binary layers found (nothing to pack).")
        if self.skipped:
            lines += ["", f"Not accelerated ({len(self.skipped)}, left in float):"]
            lines += _table([("layer", "kind", "reason")] +
                            [(s.name, s.kind, s.reason) for s in self.skipped])
        lines += ["",
                  f"Params file: {_fmt_bytes(self.params_before)} -> "
                  f"{_fmt_bytes(self.params_after)} "
                  f"({self.params_before / max(self.params_after, 1):.1f}x smaller)",
                  f"Total (symbol + params): {_fmt_bytes(self.size_before)} -> "
                  f"{_fmt_bytes(self.size_after)}"]
        return "\n".join(lines)

    __str__ = format


def _table(rows) -> List[str]:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, row in enumerate(rows):
        cells = [str(c).ljust(w) if i in (0, 1) or k == 0 or i == len(row) - 1
                 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0
    return str(n)


def _fmt_shape(shape) -> str:
    """MXNet's tuple spelling: "(3, 3)", "(8,)", "()"."""
    shape = tuple(int(d) for d in shape)
    return "(%s,)" % shape[0] if len(shape) == 1 else str(shape)


# --------------------------------------------------------------------------------------------
# Graph model
# --------------------------------------------------------------------------------------------

class _Node:
    """One node of the symbol JSON; `raw` keeps unknown keys so they pass through unchanged."""

    def __init__(self, raw: dict, num_outputs: int = 1):
        self.raw = raw
        self.op = raw["op"]
        self.name = raw["name"]
        self.inputs: List[Tuple["_Node", int, int]] = []
        self.control_deps: List["_Node"] = []
        self.num_outputs = num_outputs
        self.preferred_name: Optional[str] = None  # new variables get a unique name on output

    @property
    def attrs(self) -> dict:
        # Old MXNet JSON spelled "attrs" as "attr" / "param".
        for key in ("attrs", "attr", "param"):
            if isinstance(self.raw.get(key), dict):
                return self.raw[key]
        return {}

    @property
    def is_var(self) -> bool:
        return self.op == "null"

    def __repr__(self):
        return f"<{self.op} {self.name}>"


def _new_node(op: str, name: str, attrs: dict, inputs) -> _Node:
    node = _Node({"op": op, "name": name, "attrs": attrs, "inputs": []})
    node.inputs = [(n, i, 0) for n, i in inputs]
    return node


class _Graph:
    def __init__(self, nodes: List[_Node], heads, top_attrs: Optional[dict], extra: dict):
        self.nodes = nodes
        self.heads = heads
        self.top_attrs = top_attrs
        self.extra = extra  # other top-level keys, passed through
        self.consumers: Dict[_Node, List[Tuple[_Node, int, int]]] = {n: [] for n in nodes}
        for n in nodes:
            for slot, (src, idx, _ver) in enumerate(n.inputs):
                self.consumers[src].append((n, slot, idx))

    def used_as_head(self, node: _Node, index: Optional[int] = None) -> bool:
        return any(h[0] is node and (index is None or h[1] == index) for h in self.heads)


def _parse_symbol(obj, path: str) -> _Graph:
    def bad(what):
        return ConversionError(
            f"{path} is not an MXNet symbol file ({what}); pass the PREFIX-symbol.json "
            "written by HybridBlock.export")

    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        raise bad('no "nodes" list')
    raw_nodes = obj["nodes"]
    if not raw_nodes:
        raise bad("it has no nodes")
    if not isinstance(obj.get("heads"), list) or not obj["heads"]:
        raise bad('no "heads" list')

    def entry(e, limit, where):
        if (not isinstance(e, list) or len(e) not in (2, 3)
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in e)):
            raise bad(f"{where} has a malformed input entry {e!r}")
        if not 0 <= e[0] < limit or e[1] < 0:
            raise bad(f"{where} refers to node {e[0]}, which does not come before it")
        return e[0], e[1], (e[2] if len(e) == 3 else 0)

    row_ptr = obj.get("node_row_ptr")
    counts = None
    if (isinstance(row_ptr, list) and len(row_ptr) == len(raw_nodes) + 1
            and all(isinstance(v, int) for v in row_ptr)):
        counts = [b - a for a, b in zip(row_ptr, row_ptr[1:])]
        if any(c < 1 for c in counts):
            counts = None

    nodes: List[_Node] = []
    names_seen = set()
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            raise bad(f"node #{i} is not an object")
        op, name = raw.get("op"), raw.get("name")
        if not isinstance(op, str) or not op or not isinstance(name, str):
            raise bad(f'node #{i} has no "op" or "name" string')
        if not isinstance(raw.get("inputs", []), list):
            raise bad(f'node #{i} ({name}) has no "inputs" list')
        for key in ("attrs", "attr", "param"):
            attrs = raw.get(key)
            if attrs is not None and (not isinstance(attrs, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in attrs.items())):
                raise bad(f'node #{i} ({name}) has a malformed "{key}" object')
        if op.startswith("bmx_") and op not in BMX_OPS:
            raise ConversionError(
                f"{path} uses the op {op} (node {name}), which this version of bmxnet does not "
                "know; convert with the bmxnet version that trained the model")
        if op == "null":
            if raw.get("inputs"):
                raise bad(f"variable node #{i} ({name}) has inputs")
            if name in names_seen:
                raise bad(f"the variable {name} appears twice")
            names_seen.add(name)
        node = _Node(raw, counts[i] if counts else 1)
        for src, idx, ver in (entry(e, i, f"node #{i} ({name})") for e in raw.get("inputs", [])):
            node.inputs.append((nodes[src], idx, ver))
        deps = raw.get("control_deps", [])
        if not isinstance(deps, list) or not all(
                isinstance(d, int) and 0 <= d < i for d in deps):
            raise bad(f'node #{i} ({name}) has malformed "control_deps"')
        node.control_deps = [nodes[d] for d in deps]
        nodes.append(node)
    if counts is None:  # no usable node_row_ptr: infer output counts from their uses
        for n in nodes:
            for src, idx, _ in n.inputs:
                src.num_outputs = max(src.num_outputs, idx + 1)
    heads = [entry(h, len(nodes), "the heads list") for h in obj["heads"]]
    heads = [(nodes[h[0]], h[1], h[2]) for h in heads]
    top_attrs = obj.get("attrs") if isinstance(obj.get("attrs"), dict) else None
    extra = {k: v for k, v in obj.items()
             if k not in ("nodes", "arg_nodes", "node_row_ptr", "heads", "attrs")}
    return _Graph(nodes, heads, top_attrs, extra)


def _serialize(graph: _Graph, redirect: Dict[Tuple[_Node, int], Tuple[_Node, int]]):
    """The rewritten graph as MXNet symbol JSON (nodes in nnvm's post-order DFS from the heads),
    and that node order."""

    def resolve(entry):
        node, idx, ver = entry
        hops = 0
        while (node, idx) in redirect:
            node, idx = redirect[(node, idx)]
            ver = 0
            hops += 1
            assert hops <= len(graph.nodes) + 1, "cyclic redirect"
        return node, idx, ver

    heads = [resolve(h) for h in graph.heads]
    order: List[_Node] = []
    visited = set()
    for head in heads:
        if head[0] in visited:
            continue
        visited.add(head[0])
        stack = [(head[0], 0)]
        while stack:
            node, k = stack[-1]
            deps = [resolve(e)[0] for e in node.inputs] + node.control_deps
            if k == len(deps):
                order.append(node)
                stack.pop()
                continue
            stack[-1] = (node, k + 1)
            if deps[k] not in visited:
                visited.add(deps[k])
                stack.append((deps[k], 0))

    # Name new variables: the preferred name unless a surviving variable already holds it.
    taken = {n.name for n in order if n.is_var and n.preferred_name is None}
    for n in order:
        if n.preferred_name is not None:
            name, k = n.preferred_name, 1
            while name in taken:
                name, k = f"{n.preferred_name}_{k}", k + 1
            n.name = n.raw["name"] = name
            taken.add(name)

    index = {n: i for i, n in enumerate(order)}
    nodes_out = []
    for n in order:
        raw = OrderedDict()
        for key, value in n.raw.items():
            if key == "inputs":
                value = [[index[s], i, v] for s, i, v in (resolve(e) for e in n.inputs)]
            elif key == "control_deps":
                value = [index[d] for d in n.control_deps]
            raw[key] = value
        raw["inputs"] = [[index[s], i, v] for s, i, v in (resolve(e) for e in n.inputs)]
        nodes_out.append(raw)
    row_ptr = [0]
    for n in order:
        row_ptr.append(row_ptr[-1] + n.num_outputs)
    out = OrderedDict()
    out["nodes"] = nodes_out
    out["arg_nodes"] = [i for i, n in enumerate(order) if n.is_var]
    out["node_row_ptr"] = row_ptr
    out["heads"] = [[index[n], i, v] for n, i, v in heads]
    if graph.top_attrs is not None:
        out["attrs"] = graph.top_attrs  # keeps mxnet_version, which decides legacy upgrades
    out.update(graph.extra)
    return out, order


# --------------------------------------------------------------------------------------------
# Attribute parsing
# --------------------------------------------------------------------------------------------

class _Attrs:
    """Typed access to a node's string attributes, failing with a ConversionError."""

    def __init__(self, node: _Node, path: str):
        self.node, self.attrs, self.path = node, node.attrs, path

    def _fail(self, key, value, expected):
        return ConversionError(
            f"{self.path}: node {self.node.name} ({self.node.op}) has {key}={value!r}, expected "
            f"{expected}; the symbol file looks damaged, re-export the model")

    def tuple(self, key: str, size: int, default: int) -> Tuple[int, ...]:
        value = self.attrs.get(key)
        if value is None or value.strip() in ("", "()", "[]", "None"):
            return (default,) * size
        text = value.strip().strip("()[]")
        try:
            dims = tuple(int(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise self._fail(key, value, "a tuple of integers") from None
        if len(dims) == 1:
            dims = dims * size
        if len(dims) != size:
            raise _NotConvertible(f"{key}={value} is not {size}-D")
        return dims

    def int(self, key: str, default: Optional[int] = None) -> int:
        value = self.attrs.get(key)
        if value is None:
            if default is None:
                raise self._fail(key, value, "an integer")
            return default
        try:
            return int(value.strip())
        except ValueError:
            raise self._fail(key, value, "an integer") from None

    def float(self, key: str, default: float) -> float:
        value = self.attrs.get(key)
        if value is None:
            return default
        try:
            return float(value.strip())
        except ValueError:
            raise self._fail(key, value, "a number") from None

    def bool(self, key: str, default: bool) -> bool:
        value = self.attrs.get(key)
        if value is None:
            return default
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise self._fail(key, value, "True or False")

    def str(self, key: str, default: str) -> str:
        return self.attrs.get(key, default)


class _NotConvertible(Exception):
    """A layer that stays float; the message is the reason shown in the report."""


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------

class _Params:
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


def _expected_outputs(node: _Node, sym_path: str) -> Optional[Tuple[str, int, Tuple[int, ...]]]:
    """(attribute, output size, input slots whose first dim must equal it) of a float layer."""
    a = _Attrs(node, sym_path)
    if node.op == "Convolution" and "num_filter" in node.attrs:
        return "num_filter", a.int("num_filter"), (1, 2)
    if node.op == "FullyConnected" and "num_hidden" in node.attrs:
        return "num_hidden", a.int("num_hidden"), (1, 2)
    return None


def _check_params(graph: _Graph, params: _Params, sym_path: str):
    """Fail if the params file was not exported together with this symbol."""
    def mismatch(what):
        return ConversionError(
            f"{params.path} does not match {sym_path}: {what}; the two files seem to come from "
            "different models, pass the .params file exported together with this symbol")

    var_names = {n.name for n in graph.nodes if n.is_var}
    extra = [k for k, name in ((k, k[4:] if k.startswith(("arg:", "aux:")) else k)
                               for k in params.entries) if name not in var_names]
    if extra:
        shown = ", ".join(extra[:3]) + (", ..." if len(extra) > 3 else "")
        raise mismatch(f"{len(extra)} of its {len(params.entries)} parameters are not in the "
                       f"symbol ({shown})")
    for node in graph.nodes:
        if node.op not in _PARAM_OPS:
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
            raise mismatch(f"parameter {node.name} has shape {_fmt_shape(value.shape)} but the "
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
                                   f"{_fmt_shape(shapes[slot])}")
        if node.op == "BatchNorm" and len(set(shapes.values())) > 1:
            raise mismatch(f"the parameters of {node.name} have different shapes")


# --------------------------------------------------------------------------------------------
# Pattern matching
# --------------------------------------------------------------------------------------------

def _is_sign(node: _Node) -> bool:
    return node.op in SIGN_OPS


def _mentions_kbit(node: _Node, depth: int = 6) -> bool:
    """Whether a short chain of ops above `node` quantizes to k bits (simulated in float)."""
    frontier = [node]
    for _ in range(depth):
        nxt = []
        for n in frontier:
            if n.op in _KBIT_OPS or "quantiz" in n.op.lower():
                return True
            nxt += [src for src, _, _ in n.inputs]
        frontier = nxt
    return False


@dataclass
class _Match:
    kind: str
    node: _Node
    data_in: Tuple[_Node, int]      # the input of the data sign
    weight_var: _Node
    bias_var: Optional[_Node]
    attrs: Dict[str, str]           # attributes for the binary op
    out_channels: int
    pad_value: Optional[int]


def _float_reason(w_binary: bool, a_binary: bool, weight_src: _Node, data_src: _Node) -> str:
    if w_binary:
        if _mentions_kbit(data_src):
            return "k-bit activations are simulated in float"
        return "activations are not binarized (only the weights are)"
    if _mentions_kbit(weight_src):
        return "k-bit weights are simulated in float"
    if a_binary:
        return "weights are not binarized (only the activations are)"
    return "float layer (neither weights nor activations are binarized)"


def _match_layer(node: _Node, params: _Params, path: str) -> _Match:
    """Match a binary Convolution/FullyConnected, or raise _NotConvertible with the reason."""
    kind = "conv" if node.op == "Convolution" else "dense"
    a = _Attrs(node, path)
    if len(node.inputs) < 2:
        raise _NotConvertible("it has no weight input")
    data_src = node.inputs[0][0]
    weight_src, _, _ = node.inputs[1]
    pad_node = data_src if (kind == "conv" and data_src.op == "Pad") else None
    sign_node = pad_node.inputs[0][0] if pad_node and pad_node.inputs else data_src
    a_binary = _is_sign(sign_node)
    w_binary = _is_sign(weight_src)
    if not (a_binary and w_binary):
        raise _NotConvertible(_float_reason(w_binary, a_binary, weight_src, sign_node))
    if not weight_src.inputs or not weight_src.inputs[0][0].is_var:
        raise _NotConvertible("its binarized weight is computed by other ops, not a parameter")
    weight_var = weight_src.inputs[0][0]
    if not sign_node.inputs:
        raise _NotConvertible("its data sign has no input")
    weight = params.get(weight_var.name) if weight_var.name in params else None
    if weight is None:
        raise _NotConvertible(f"its weight {weight_var.name} is not in the params file")
    if weight.dtype.kind != "f":
        raise _NotConvertible(f"its weight {weight_var.name} is {weight.dtype}, not float")

    no_bias = a.bool("no_bias", False)
    bias_var = None
    if not no_bias:
        if len(node.inputs) < 3:
            raise _NotConvertible("no_bias=False but it has no bias input")
        bias_var = node.inputs[2][0]
        if not bias_var.is_var or bias_var.name not in params:
            raise _NotConvertible("its bias is computed by other ops, not a parameter")

    def mismatch(what):
        return ConversionError(
            f"{params.path} does not match {path}: layer {node.name} {what}; the two files seem "
            "to come from different models, pass the .params file exported with this symbol")

    if kind == "dense":
        num_hidden = a.int("num_hidden")
        if weight.ndim != 2 or weight.shape[0] != num_hidden:
            raise mismatch(f"has num_hidden={num_hidden} but its weight {weight_var.name} has "
                           f"shape {_fmt_shape(weight.shape)}")
        attrs = {"num_hidden": str(num_hidden), "flatten": str(a.bool("flatten", True))}
        out_channels, pad_value = num_hidden, None
    else:
        layout = a.str("layout", "None")
        if layout not in ("None", "NCHW"):
            raise _NotConvertible(f"layout {layout} (only NCHW is accelerated)")
        kernel_text = a.str("kernel", "")
        kernel = tuple(int(v) for v in re.findall(r"-?\d+", kernel_text))
        if len(kernel) != 2:
            raise _NotConvertible(f"kernel={kernel_text} is not 2-D "
                                  "(only 2-D convolutions are accelerated)")
        stride = a.tuple("stride", 2, 1)
        dilate = a.tuple("dilate", 2, 1)
        pad = a.tuple("pad", 2, 0)
        num_filter = a.int("num_filter")
        num_group = a.int("num_group", 1)
        if (weight.ndim != 4 or weight.shape[0] != num_filter or weight.shape[2:] != kernel
                or num_group < 1 or num_filter % num_group):
            raise mismatch(f"has num_filter={num_filter}, kernel={_fmt_shape(kernel)}, "
                           f"num_group={num_group} but its weight {weight_var.name} has shape "
                           f"{_fmt_shape(weight.shape)}")
        if any(v < 0 for v in pad) or any(v < 1 for v in stride + dilate):
            raise mismatch("has a negative pad or a non-positive stride/dilate")
        if pad_node is not None:
            pad, pad_value = _pad_from_node(pad_node, pad, path)
        elif any(pad):
            pad_value = 0  # Convolution's own zero padding after the sign
        else:
            pad_value = -1  # no padding: any value gives the same result
        attrs = {"kernel": _fmt_shape(kernel), "stride": _fmt_shape(stride),
                 "dilate": _fmt_shape(dilate), "pad": _fmt_shape(pad),
                 "pad_value": str(pad_value), "num_filter": str(num_filter),
                 "num_group": str(num_group)}
        out_channels = num_filter
    if bias_var is not None:
        bias = params.get(bias_var.name)
        if bias is None or bias.shape != (out_channels,):
            raise mismatch(f"has {out_channels} outputs but its bias {bias_var.name} has shape "
                           f"{_fmt_shape(() if bias is None else bias.shape)}")
    return _Match(kind, node, sign_node.inputs[0][:2], weight_var, bias_var, attrs,
                  out_channels, pad_value)


def _pad_from_node(pad_node: _Node, conv_pad, path: str):
    """(pad, pad_value) for a Pad node between the data sign and the Convolution."""
    a = _Attrs(pad_node, path)
    if any(conv_pad):
        raise _NotConvertible("it has both a Pad node and its own padding")
    mode = a.str("mode", "constant")
    if mode != "constant":
        raise _NotConvertible(f"Pad mode {mode} (only constant padding is accelerated)")
    text = a.str("pad_width", "")
    try:
        width = tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise a._fail("pad_width", text, "a tuple of integers") from None
    if len(width) != 8:
        raise _NotConvertible(f"Pad pad_width={text} is not 4-D")
    if any(width[:4]):
        raise _NotConvertible("Pad pads the batch or channel axis")
    top, bottom, left, right = width[4:]
    if top != bottom or left != right:
        raise _NotConvertible(f"asymmetric padding {text}")
    value = a.float("constant_value", 0.0)
    if value not in (-1.0, 0.0, 1.0):
        raise _NotConvertible(f"pad value {value:g} (only -1, 0 and +1 are accelerated)")
    if not (top or left):
        return (0, 0), -1
    return (top, left), int(value)


def _foldable_batchnorm(graph: _Graph, m: _Match, params: _Params, path: str):
    """The BatchNorm that alone consumes the layer's output, or (None, reason)."""
    users = graph.consumers[m.node]
    if len(users) != 1 or graph.used_as_head(m.node):
        return None, None
    bn, slot, _idx = users[0]
    if bn.op != "BatchNorm" or slot != 0:
        return None, None
    a = _Attrs(bn, path)
    axis = a.int("axis", 1)
    flatten = m.attrs.get("flatten") == "True"
    ok_axes = (1, -3) if m.kind == "conv" else ((1, -1) if flatten else (-1,))
    if axis not in ok_axes:
        return None, f"{bn.name} not folded: axis={axis} is not the channel axis"
    if len(bn.inputs) != 5 or not all(s.is_var and s.name in params for s, _, _ in bn.inputs[1:]):
        return None, f"{bn.name} not folded: its statistics are not plain parameters"
    if any(idx > 0 for _, _, idx in graph.consumers[bn]) or any(
            h[0] is bn and h[1] > 0 for h in graph.heads):
        return None, f"{bn.name} not folded: its mean/var outputs are used"
    stats = [params.get(s.name) for s, _, _ in bn.inputs[1:]]
    if any(s is None or s.shape != (m.out_channels,) for s in stats):
        raise ConversionError(
            f"{params.path} does not match {path}: the statistics of {bn.name} do not have shape "
            f"({m.out_channels},); pass the .params file exported together with this symbol")
    if not np.all(stats[3].astype(np.float64) + a.float("eps", 1e-3) > 0):
        return None, f"{bn.name} not folded: running_var + eps is not positive"
    return bn, None


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------

def _read_inputs(symbol_path: str, params_path: str):
    for path in (symbol_path, params_path):
        if not os.path.exists(path):
            raise ConversionError(f"{path} does not exist; check the path (HybridBlock.export "
                                  "writes PREFIX-symbol.json and PREFIX-0000.params)")
        if not os.path.isfile(path):
            raise ConversionError(f"{path} is not a file; pass the exported model files")
    try:
        with open(symbol_path, "rb") as f:
            sym_bytes = f.read()
        with open(params_path, "rb") as f:
            params_bytes = f.read()
    except OSError as e:
        raise ConversionError(f"cannot read {e.filename}: {e.strerror}; check its permissions")
    if not sym_bytes.strip():
        raise ConversionError(f"{symbol_path} is empty; re-export the model with "
                              "HybridBlock.export")
    try:
        sym = json.loads(sym_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConversionError(f"{symbol_path} is not text (not UTF-8), so not an MXNet symbol "
                              "file; pass the PREFIX-symbol.json written by HybridBlock.export")
    except (json.JSONDecodeError, RecursionError) as e:
        detail = f"line {e.lineno} column {e.colno}: {e.msg}" if hasattr(e, "lineno") else "too deep"
        raise ConversionError(f"{symbol_path} is not valid JSON ({detail}); pass the "
                              "PREFIX-symbol.json written by HybridBlock.export") from None
    graph = _parse_symbol(sym, symbol_path)
    if not params_bytes:
        raise ConversionError(f"{params_path} is empty; re-export the model with "
                              "HybridBlock.export")
    try:
        loaded = params_io.loads(params_bytes, source=params_path)
    except params_io.ParamsFormatError as e:
        raise ConversionError(f"{str(e).rstrip('.')}; pass the PREFIX-NNNN.params written by "
                              "HybridBlock.export") from None
    if isinstance(loaded, list):
        if loaded:
            raise ConversionError(f"{params_path} holds arrays without names, not the parameters "
                                  "of a model; pass the PREFIX-NNNN.params written by "
                                  "HybridBlock.export")
        loaded = OrderedDict()
    return graph, _Params(loaded, params_path), len(sym_bytes), len(params_bytes)


def _output_paths(symbol_path: str, params_path: str, out_prefix: Optional[str]):
    match = _EPOCH_RE.match(os.path.basename(params_path))
    epoch = match.group("epoch") if match else "0000"
    if out_prefix is None:
        if match:
            prefix = match.group("prefix")
        else:
            prefix = re.sub(r"(-symbol)?\.json$", "", os.path.basename(symbol_path))
        out_prefix = os.path.join(os.path.dirname(params_path), f"binarized_{prefix}")
    return f"{out_prefix}-symbol.json", f"{out_prefix}-{epoch}.params"


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _write_atomically(files: Sequence[Tuple[str, bytes]]):
    """Write every file to a temp file beside it, then os.replace them all; no partial output."""
    temps, done, path = [], [], files[0][0]
    umask = os.umask(0)
    os.umask(umask)
    try:
        for path, data in files:
            directory = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-",
                                       suffix="-" + os.path.basename(path))
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        for (path, _), tmp in zip(files, temps):
            os.replace(tmp, path)
            done.append(path)
    except OSError as e:
        for leftover in temps + done:
            try:
                os.unlink(leftover)
            except OSError:
                pass
        raise ConversionError(f"cannot write {path}: {e.strerror or e}; choose a writable "
                              "output location with -o OUT_PREFIX") from None


def _convert_graph(graph: _Graph, params: _Params, sym_path: str, fold_batchnorm: bool):
    """Rewrite the graph in place; returns (symbol JSON dict, params dict, report rows)."""
    redirect: Dict[Tuple[_Node, int], Tuple[_Node, int]] = {}
    new_arrays: Dict[_Node, np.ndarray] = {}   # new variable node -> its array
    packed_vars: Dict[_Node, _Node] = {}        # float weight variable -> packed variable
    converted: List[BinaryLayer] = []
    skipped: List[SkippedLayer] = []

    def new_var(preferred: str, array: np.ndarray, template: Optional[_Node] = None) -> _Node:
        attrs = dict(template.attrs) if template is not None else {}
        attrs.pop("__init__", None)
        attrs["__shape__"] = _fmt_shape(array.shape)
        attrs["__dtype__"] = "4" if array.dtype == _INT32 else "0"
        var = _new_node("null", preferred, attrs, [])
        var.preferred_name = preferred
        new_arrays[var] = array
        return var

    for node in graph.nodes:
        if node.op not in ("Convolution", "FullyConnected"):
            continue
        kind = "conv" if node.op == "Convolution" else "dense"
        try:
            m = _match_layer(node, params, sym_path)
        except _NotConvertible as why:
            skipped.append(SkippedLayer(node.name, kind, str(why)))
            continue

        weight = params.get(m.weight_var.name)
        if m.weight_var not in packed_vars:  # weights shared by layers are packed once
            packed = pack_conv_weight(weight) if kind == "conv" else pack_dense_weight(weight)
            packed_vars[m.weight_var] = new_var(m.weight_var.name, packed, m.weight_var)
        packed = new_arrays[packed_vars[m.weight_var]]
        scale = bias = None
        if m.bias_var is not None:
            bias = params.get(m.bias_var.name).astype(np.float64)
        layer = BinaryLayer(node.name, kind, tuple(weight.shape), tuple(packed.shape),
                            int(weight.nbytes), int(packed.nbytes), m.pad_value)

        bn = None
        if fold_batchnorm:
            bn, note = _foldable_batchnorm(graph, m, params, sym_path)
            if note:
                layer.notes.append(note)
        if bn is not None:
            b = _Attrs(bn, sym_path)
            gamma, beta, mean, var = (params.get(s.name).astype(np.float64)
                                      for s, _, _ in bn.inputs[1:])
            if b.bool("fix_gamma", True):
                gamma = np.ones_like(gamma)
            k = gamma / np.sqrt(var + b.float("eps", 1e-3))
            scale = k
            bias = ((bias if bias is not None else 0.0) - mean) * k + beta
            layer.folded_batchnorm = bn.name

        inputs = [m.data_in, (packed_vars[m.weight_var], 0)]
        attrs = {k: v for k, v in node.attrs.items() if k.startswith("__") and k.endswith("__")}
        attrs.update(m.attrs)
        if scale is not None:
            inputs.append((new_var(f"{node.name}_scale", scale.astype(np.float32)), 0))
        if bias is not None:
            if bn is None and params.get(m.bias_var.name).dtype == np.float32:
                inputs.append((m.bias_var, 0))  # unchanged: keep the original variable
            else:
                inputs.append((new_var(f"{node.name}_bias", bias.astype(np.float32),
                                       None if bn is not None else m.bias_var), 0))
        attrs["use_scale"] = str(scale is not None)
        attrs["no_bias"] = str(bias is None)
        op = "bmx_binary_conv2d" if kind == "conv" else "bmx_binary_dense"
        binary = _new_node(op, node.name, attrs, inputs)
        redirect[(node, 0)] = (binary, 0)
        if bn is not None:
            redirect[(bn, 0)] = (binary, 0)
        converted.append(layer)

    sym, order = _serialize(graph, redirect)
    # The params file holds exactly what the new symbol references, in node order.
    out_params = OrderedDict()
    for n in order:
        if n in new_arrays:
            out_params[f"arg:{n.name}"] = new_arrays[n]
        elif n.is_var and n.name in params:
            out_params[params.key_of[n.name]] = params.get(n.name)
    return sym, out_params, converted, skipped


def convert(symbol_path, params_path, out_prefix=None, verbose=True,
            fold_batchnorm=True) -> ConversionReport:
    """Convert an exported training graph into a packed binary model.

    Writes ``binarized_<prefix>-symbol.json`` and ``binarized_<prefix>-NNNN.params`` beside
    `params_path` (or ``<out_prefix>-symbol.json`` / ``<out_prefix>-NNNN.params``) and returns
    a :class:`ConversionReport`; `verbose` also prints it. Raises :class:`ConversionError` on
    bad input or an unwritable destination, leaving no output behind. The input is never
    modified.
    """
    symbol_path, params_path = os.fspath(symbol_path), os.fspath(params_path)
    if out_prefix is not None:
        out_prefix = os.fspath(out_prefix)
        if not out_prefix or out_prefix.endswith(os.sep):
            raise ConversionError(f"the output prefix {out_prefix!r} has no file name part; "
                                  "pass -o DIR/NAME")
    graph, params, sym_size, params_size = _read_inputs(symbol_path, params_path)
    _check_params(graph, params, symbol_path)
    sym_out, params_out = _output_paths(symbol_path, params_path, out_prefix)
    for out in (sym_out, params_out):
        if any(_same_file(out, inp) for inp in (symbol_path, params_path)):
            raise ConversionError(f"the output {out} would overwrite the input; choose another "
                                  "output prefix with -o OUT_PREFIX")
    out_dir = os.path.dirname(os.path.abspath(sym_out))
    if not os.path.isdir(out_dir):
        why = "is not a directory" if os.path.exists(out_dir) else "does not exist"
        raise ConversionError(f"cannot write {sym_out}: {out_dir} {why}; choose an existing "
                              "directory with -o DIR/NAME")

    sym, out_params, converted, skipped = _convert_graph(graph, params, symbol_path,
                                                         fold_batchnorm)
    sym_bytes = json.dumps(sym, indent=2).encode("utf-8")
    params_bytes = params_io.dumps(out_params)
    _write_atomically([(params_out, params_bytes), (sym_out, sym_bytes)])
    report = ConversionReport(symbol_path, params_path, sym_out, params_out, converted, skipped,
                              sym_size + params_size, len(sym_bytes) + len(params_bytes),
                              params_size, len(params_bytes))
    if verbose:
        print(report.format())
    return report


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

_DESCRIPTION = """\
Convert a model trained with bmxnet layers (QConv2D, QDense) and exported with
HybridBlock.export into a deployable binary model: every binary layer becomes one
bmx_binary_conv2d / bmx_binary_dense op with bit-packed int32 weights, a BatchNorm that
follows a binary layer is folded into it, and everything else stays as it was."""

_EPILOG = """\
examples:
  model-converter model-0000.params
      reads model-symbol.json + model-0000.params, writes
      binarized_model-symbol.json + binarized_model-0000.params beside them
  model-converter model-symbol.json model-0003.params -o deploy/lenet
      writes deploy/lenet-symbol.json + deploy/lenet-0003.params

Load the result with `import bmxnet` and mx.gluon.SymbolBlock.imports, or from C with
MXLoadLib(libbmxnet_ops.so) and the predict API. Exit status: 0 on success, 1 on bad input."""


def _input_paths(files: List[str]) -> Tuple[str, str]:
    if len(files) == 2:
        symbol_path, params_path = files
        if symbol_path.endswith(".params") and params_path.endswith(".json"):
            symbol_path, params_path = params_path, symbol_path
        return symbol_path, params_path
    (path,) = files
    match = _EPOCH_RE.match(os.path.basename(path))
    if not match:
        raise ConversionError(f"{path} is not named PREFIX-NNNN.params, so its symbol file cannot "
                              "be found; pass both files: PREFIX-symbol.json PREFIX-NNNN.params")
    symbol_path = os.path.join(os.path.dirname(path), f"{match.group('prefix')}-symbol.json")
    return symbol_path, path


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The `model-converter` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="model-converter", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="PREFIX-NNNN.params (PREFIX-symbol.json is found beside it), or "
                             "PREFIX-symbol.json PREFIX-NNNN.params")
    parser.add_argument("-o", "--output", metavar="OUT_PREFIX",
                        help="write OUT_PREFIX-symbol.json and OUT_PREFIX-NNNN.params (same "
                             "epoch) instead of binarized_PREFIX-... beside the input")
    parser.add_argument("--no-fold-bn", dest="fold_bn", action="store_false",
                        help="keep BatchNorm layers after binary layers instead of folding them "
                             "into the binary op's scale and bias")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on success")
    args = parser.parse_args(argv)
    if len(args.files) > 2:
        parser.error("expected PREFIX-NNNN.params, or PREFIX-symbol.json PREFIX-NNNN.params")
    try:
        symbol_path, params_path = _input_paths(args.files)
        convert(symbol_path, params_path, out_prefix=args.output, verbose=not args.quiet,
                fold_batchnorm=args.fold_bn)
    except ConversionError as e:
        print(f"model-converter: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

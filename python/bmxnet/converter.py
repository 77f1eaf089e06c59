"""Convert an exported bmxnet training graph into a deployable binary model.

Input: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params`` written by ``HybridBlock.export``.
Each binary layer of the training graph (DESIGN.md section 3; bmxnet.nn documents the
exported patterns)::

    x -> sign -> [Pad(+-1)] -> Convolution(weight=sign(w), [bias])     (QConv2D)
    x -> sign -> FullyConnected(weight=sign(w), [bias])                 (QDense)
    x -> sign -> [expand_dims -> Pad(+-1) -> Reshape] -> Convolution    (QConv1D, layout NCW)

is found by its ops (``bmx_det_sign`` / ``bmx_approx_sign`` on the data and the weight input),
not by names, and replaced by ONE ``bmx_binary_conv2d`` / ``bmx_binary_dense`` node whose weight
is packed into int32 words (bit 1 = -1, channel c = bit c % 32 of word c / 32, conv OHWI).
1-D convolutions run as (1, k) 2-D ones between ``expand_dims(axis=2)`` and
``Reshape(shape=(0, 0, -1))``.

- A weight computed from parameters, ``sign(f(w, ...))`` (ABC-Net's bases
  ``sign(w - mean(w) + u_m std(w))``), is evaluated in numpy exactly as MXNet's float32 CPU
  ops compute it (see "Constant folding"), so its packed bits are MXNet's; each
  ``Convolution(A_n, B_m)`` becomes one binary op and the float combination of ABC-Net
  (shifts, coefficients, add_n) stays as it is.
- XNOR-Net scaling, ``broadcast_mul(layer, Reshape(BlockGrad(mean(abs(w), axis=all but 0))))``
  of the layer's own weight ``w`` (and the ``broadcast_add(., Reshape(b))`` after it), is
  folded into the binary op's per-channel ``scale`` (and ``bias``).
- A ``BatchNorm`` that is the only consumer of a binary layer (after its scaling) is folded
  into ``scale``/``bias`` too.
- An ``elemwise_add(layer, r)`` that is the only consumer of a binary 2-D convolution (a ResNet
  shortcut) becomes the op's ``residual`` input (``add_residual=True``), added in its epilogue.
- A ``BatchNorm`` that is the only consumer of a float ``Convolution``/``FullyConnected`` with
  plain float32 parameters is folded into its weight and bias (``fold_batchnorm=False`` keeps
  every BatchNorm).

Everything else (float and k-bit layers, activations, pooling, ...) is left as it is, and every
Convolution/FullyConnected that stays float is reported with why.

Pure Python + numpy + json: this module never imports mxnet or the op library.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import array as _array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import converter_v2, params_io

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
    folded_batchnorm: Optional[str] = None  # a BatchNorm folded into its float weights


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
            lines += _table([("layer", "kind", "reason")] + [
                (s.name, s.kind, s.reason + (f"; folded {s.folded_batchnorm} into its weights"
                                             if s.folded_batchnorm else "")) for s in self.skipped])
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
# Constant folding: subgraphs of parameters, evaluated as MXNet 1.9.1 evaluates them on CPU
# --------------------------------------------------------------------------------------------
#
# A binarized weight may be computed from parameters instead of being one (ABC-Net's bases
# sign(w - mean(w) + u * std(w))), and a layer output may be scaled by such an expression
# (XNOR-Net's mean(|w|)). The converter evaluates these in numpy, in float32, in the order
# MXNet's CPU kernels use, so that sign() of the result has exactly the bits MXNet's forward
# pass binarizes (sign(0) = +1 makes ties matter): elementwise ops are single IEEE float32
# operations with scalars cast to float32 first; sum/mean reduce each output sequentially in
# the input's row-major order with mshadow's Kahan summation (mean then divides by the count
# in float32). Ops outside this list are refused with the reason (add_n too: MXNet does not add
# its inputs in one fixed order). This is MXNet's default; a model trained with
# MXNET_SAFE_ACCUMULATION=1 sums in float64, which can move a weight that sits within an ulp
# of its base's threshold.

_F32 = np.float32


def _kahan_rows(x: np.ndarray) -> np.ndarray:
    """(N, M) float32 -> (N,) float32: each row summed like mshadow's red::sum with residual."""
    n, m = x.shape
    if n >= 16:
        s = np.zeros(n, _F32)
        r = np.zeros(n, _F32)
        zero = _F32(0)
        with np.errstate(all="ignore"):
            for k in range(m):
                y = x[:, k] - r
                t = s + y
                r = np.where(np.isinf(t), zero, (t - s) - y)
                s = t
        return s
    # Few rows: one scalar loop per row. Python floats rounded to float32 after every
    # operation (through an array('f') cell) give IEEE float32 results: double has more than
    # 2 * 24 + 2 bits, so rounding a double +/- of two floats to float is correctly rounded.
    cell, inf = _array.array("f", [0.0]), float("inf")
    out = np.zeros(n, _F32)
    for i in range(n):
        s = r = 0.0
        for v in x[i].tolist():
            cell[0] = v - r
            y = cell[0]
            cell[0] = s + y
            t = cell[0]
            if t == inf or t == -inf:  # mshadow: an overflowed sum drops its residual
                r = 0.0
            else:
                cell[0] = t - s
                cell[0] = cell[0] - y
                r = cell[0]
            s = t
        out[i] = s
    return out


def _axes_attr(a: "_Attrs", ndim: int) -> Tuple[int, ...]:
    """The reduced axes of a sum/mean/max/min node on an ndim-D input, ascending."""
    text = a.str("axis", "None").strip()
    if text in ("None", "", "()", "[]"):
        axes = ()
    else:
        try:
            axes = tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
        except ValueError:
            raise a._fail("axis", text, "a tuple of integers") from None
    if any(not -ndim <= v < ndim for v in axes):
        raise _NotConvertible(f"{a.node.op} node {a.node.name} has axis={text} for a "
                              f"{ndim}-D input")
    axes = sorted({v % ndim for v in axes})
    if a.bool("exclude", False):
        return tuple(v for v in range(ndim) if v not in axes)
    return tuple(axes) if axes else tuple(range(ndim))


def _reduce(a: "_Attrs", x: np.ndarray, kind: str) -> np.ndarray:
    axes = _axes_attr(a, x.ndim)
    kept = [v for v in range(x.ndim) if v not in axes]
    rows = int(np.prod([x.shape[v] for v in kept], dtype=np.int64))
    count = int(np.prod([x.shape[v] for v in axes], dtype=np.int64))
    flat = np.transpose(x, kept + list(axes)).reshape(rows, count)
    if kind in ("max", "min"):
        if count == 0:
            raise _NotConvertible(f"{a.node.op} node {a.node.name} reduces an empty array")
        out = flat.max(axis=1) if kind == "max" else flat.min(axis=1)
    else:
        out = _kahan_rows(np.ascontiguousarray(flat))
        if kind == "mean":
            with np.errstate(all="ignore"):
                out = out / _F32(count)
    if a.bool("keepdims", False):
        shape = tuple(1 if v in axes else x.shape[v] for v in range(x.ndim))
    else:
        shape = tuple(x.shape[v] for v in kept) or (1,)
    return out.reshape(shape)


def _reshape(a: "_Attrs", x: np.ndarray) -> np.ndarray:
    if a.bool("reverse", False):
        raise _NotConvertible(f"Reshape node {a.node.name} has reverse=True")
    text = a.str("shape", a.str("target_shape", "()"))
    try:
        spec = [int(v) for v in text.strip("()[] ").split(",") if v.strip()]
    except ValueError:
        raise a._fail("shape", text, "a tuple of integers") from None
    out, infer = [], None
    for i, s in enumerate(spec):
        if s > 0:
            out.append(s)
        elif s == 0 and i < x.ndim:
            out.append(x.shape[i])
        elif s == -1 and infer is None:
            infer = len(out)
            out.append(1)
        else:
            raise _NotConvertible(f"Reshape node {a.node.name} has shape={text} (only "
                                  "positive sizes, 0 and one -1 are folded)")
    if infer is not None:
        rest = int(np.prod(out, dtype=np.int64))
        if rest == 0 or x.size % rest:
            raise _NotConvertible(f"Reshape node {a.node.name}: shape={text} does not fit "
                                  f"{_fmt_shape(x.shape)}")
        out[infer] = x.size // rest
    if int(np.prod(out, dtype=np.int64)) != x.size:
        raise _NotConvertible(f"Reshape node {a.node.name}: shape={text} does not fit "
                              f"{_fmt_shape(x.shape)}")
    return x.reshape(out)


def _slice_axis(a: "_Attrs", x: np.ndarray) -> np.ndarray:
    axis = a.int("axis")
    if not -x.ndim <= axis < x.ndim:
        raise _NotConvertible(f"slice_axis node {a.node.name} has axis={axis}")
    begin = a.int("begin", 0)
    end_text = a.str("end", "None").strip()
    end = None if end_text in ("None", "") else a.int("end")
    index = [slice(None)] * x.ndim
    index[axis] = slice(begin, end)
    out = x[tuple(index)]
    if out.size == 0:
        raise _NotConvertible(f"slice_axis node {a.node.name} selects nothing")
    return out


def _scalar(a: "_Attrs") -> np.float32:
    return _F32(a.float("scalar", 0.0))  # MXNet casts the scalar to the data type first


def _elementwise(fn):
    """Binary op on equal shapes (elemwise_*)."""
    def run(a, args):
        x, y = args
        if x.shape != y.shape:
            raise _NotConvertible(f"{a.node.op} node {a.node.name} has inputs of shapes "
                                  f"{_fmt_shape(x.shape)} and {_fmt_shape(y.shape)}")
        return fn(x, y)
    return run, 2


def _broadcasting(fn):
    def run(a, args):
        x, y = args
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise _NotConvertible(f"{a.node.op} node {a.node.name} cannot broadcast "
                                  f"{_fmt_shape(x.shape)} with {_fmt_shape(y.shape)}") from None
        return fn(x, y)
    return run, 2


def _cast(a, args):
    dtype = a.str("dtype", "float32")
    if dtype != "float32":
        raise _NotConvertible(f"Cast node {a.node.name} casts to {dtype}")
    return args[0]


def _transpose(a, args):
    (x,) = args
    text = a.str("axes", "()")
    try:
        axes = tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise a._fail("axes", text, "a tuple of integers") from None
    if axes and sorted(v % x.ndim for v in axes) != list(range(x.ndim)):
        raise _NotConvertible(f"transpose node {a.node.name} has axes={text}")
    return np.transpose(x, axes or None)


def _expand_dims(a, args):
    (x,) = args
    axis = a.int("axis")
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise _NotConvertible(f"expand_dims node {a.node.name} has axis={axis}")
    return np.expand_dims(x, axis)


def _unary(fn):
    return (lambda a, args: fn(args[0])), 1


def _where(a, args):
    cond, x, y = args
    if not cond.shape == x.shape == y.shape:
        raise _NotConvertible(f"where node {a.node.name} has inputs of different shapes")
    return np.where(cond != 0, x, y)


_ONE = _F32(1)
_IDENTITY = _unary(lambda x: x)
# op -> (function(attrs, input arrays) -> array, number of inputs or None for any)
_FOLD_OPS = {
    **{op: _IDENTITY for op in ("BlockGrad", "stop_gradient", "identity", "_copy")},
    "abs": _unary(np.abs),
    "negative": _unary(np.negative),
    "square": _unary(lambda x: x * x),
    "sqrt": _unary(np.sqrt),
    "reciprocal": _unary(lambda x: _ONE / x),
    "_plus_scalar": ((lambda a, args: args[0] + _scalar(a)), 1),
    "_minus_scalar": ((lambda a, args: args[0] - _scalar(a)), 1),
    "_rminus_scalar": ((lambda a, args: _scalar(a) - args[0]), 1),
    "_mul_scalar": ((lambda a, args: args[0] * _scalar(a)), 1),
    "_div_scalar": ((lambda a, args: args[0] / _scalar(a)), 1),
    "_rdiv_scalar": ((lambda a, args: _scalar(a) / args[0]), 1),
    "_maximum_scalar": ((lambda a, args: np.maximum(args[0], _scalar(a))), 1),
    "_minimum_scalar": ((lambda a, args: np.minimum(args[0], _scalar(a))), 1),
    **{op: _elementwise(np.add) for op in ("elemwise_add", "_plus", "_Plus", "_add")},
    **{op: _elementwise(np.subtract) for op in ("elemwise_sub", "_minus", "_Minus", "_sub")},
    **{op: _elementwise(np.multiply) for op in ("elemwise_mul", "_mul", "_Mul")},
    **{op: _elementwise(np.divide) for op in ("elemwise_div", "_div", "_Div")},
    **{op: _broadcasting(np.add) for op in ("broadcast_add", "broadcast_plus")},
    **{op: _broadcasting(np.subtract) for op in ("broadcast_sub", "broadcast_minus")},
    "broadcast_mul": _broadcasting(np.multiply),
    "broadcast_div": _broadcasting(np.divide),
    **{op: _broadcasting(np.maximum) for op in ("broadcast_maximum", "_maximum")},
    **{op: _broadcasting(np.minimum) for op in ("broadcast_minimum", "_minimum")},
    **{op: ((lambda a, args, k=k: _reduce(a, args[0], k)), 1)
       for op, k in (("sum", "sum"), ("sum_axis", "sum"), ("mean", "mean"), ("max", "max"),
                     ("max_axis", "max"), ("min", "min"), ("min_axis", "min"))},
    **{op: ((lambda a, args: _reshape(a, args[0])), 1) for op in ("Reshape", "reshape")},
    **{op: ((lambda a, args: args[0].reshape(args[0].shape[0], -1) if args[0].ndim else
             args[0].reshape(1, 1)), 1) for op in ("Flatten", "flatten")},
    "slice_axis": ((lambda a, args: _slice_axis(a, args[0])), 1),
    "expand_dims": (_expand_dims, 1),
    "transpose": (_transpose, 1),
    **{op: (_cast, 1) for op in ("Cast", "cast")},
    "where": (_where, 3),
    **{op: ((lambda a, args, f=f: f(args[0], _scalar(a)).astype(_F32)), 1)
       for op, f in (("_lesser_scalar", np.less), ("_lesser_equal_scalar", np.less_equal),
                     ("_greater_scalar", np.greater),
                     ("_greater_equal_scalar", np.greater_equal),
                     ("_equal_scalar", np.equal), ("_not_equal_scalar", np.not_equal))},
}
# Ops that are not correctly rounded (MXNet's libm and numpy's differ in the last bit). They
# are evaluated only where the value cancels, as in a quantizer's straight-through trick
# (f - BlockGrad(f)) + BlockGrad(x), whose forward value is exactly x for any finite f.
_APPROX_OPS = {
    "sigmoid": _unary(lambda x: _ONE / (_ONE + np.exp(-x))),
    "tanh": _unary(np.tanh),
    "exp": _unary(np.exp),
    "log": _unary(np.log),
    "softsign": _unary(lambda x: x / (_ONE + np.abs(x))),
}
_SUBTRACT_OPS = frozenset(("elemwise_sub", "_minus", "_Minus", "_sub", "broadcast_sub",
                           "broadcast_minus"))
_GRADIENT_STOPS = frozenset(("BlockGrad", "stop_gradient"))
_REDUCE_OPS = frozenset(("sum", "sum_axis", "mean", "max", "max_axis", "min", "min_axis"))
_FOLD_MAX_DEPTH = 200


class _Folder:
    """Evaluates subgraphs of parameters and constants; caches every node it evaluates."""

    def __init__(self, params: "_Params", path: str):
        self.params, self.path = params, path
        self.cache: Dict[Tuple[_Node, int], np.ndarray] = {}
        self.approx_cache: Dict[Tuple[_Node, int], np.ndarray] = {}
        sizes = [v.size for v in params.entries.values() if v is not None]
        self.max_size = max([1 << 22] + [8 * s for s in sizes])

    @staticmethod
    def variables(node: _Node):
        """(the variables `node` depends on in first-visit order, the set of ops on the way)."""
        seen, out, ops, stack = set(), [], set(), [node]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            if n.is_var:
                out.append(n)
            else:
                ops.add(n.op)
            stack += [src for src, _, _ in reversed(n.inputs)]
        return out, ops

    def _cancels(self, node: _Node, depth: int) -> Optional[np.ndarray]:
        """zeros for f - BlockGrad(f) with a finite f (f evaluated approximately), else None."""
        if node.op not in _SUBTRACT_OPS or len(node.inputs) != 2:
            return None
        first, second = node.inputs[0][:2], node.inputs[1]
        while second[0].op in _GRADIENT_STOPS and len(second[0].inputs) == 1:
            second = second[0].inputs[0]
        if tuple(second[:2]) != tuple(first):
            return None
        value = self.eval(first, depth + 1, approx=True)
        if not np.all(np.abs(value) < 1e30):
            raise _NotConvertible(f"{node.op} node {node.name} subtracts a value that is not "
                                  "finite")
        return np.zeros_like(value)

    def eval(self, entry, depth: int = 0, approx: bool = False) -> np.ndarray:
        """The float32 value of a graph entry; with `approx`, ops that are not correctly
        rounded are allowed too (only to check that a cancelling value is finite)."""
        node, index = entry[0], entry[1]
        key = (node, index)
        if key in self.cache:
            return self.cache[key]
        if approx and key in self.approx_cache:
            return self.approx_cache[key]
        if depth > _FOLD_MAX_DEPTH:
            raise _NotConvertible("its expression is too deep to evaluate")
        if index != 0:
            raise _NotConvertible(f"it uses output {index} of {node.op} node {node.name}")
        exact = True  # whether `value` is what MXNet computes (else only approximately)
        zeros = None if node.is_var else self._cancels(node, depth)
        if node.is_var:
            if node.name not in self.params or self.params.get(node.name) is None:
                raise _NotConvertible(f"it depends on the input {node.name}, not only on "
                                      "parameters")
            value = self.params.get(node.name)
            if value.dtype != np.float32:
                raise _NotConvertible(f"its parameter {node.name} is {value.dtype}; only "
                                      "float32 expressions are evaluated")
        elif zeros is not None:
            value = zeros
        else:
            rule = _FOLD_OPS.get(node.op) or (_APPROX_OPS.get(node.op) if approx else None)
            if rule is None:
                raise _NotConvertible(f"it is computed by {node.op} (node {node.name}), an op "
                                      "the converter does not evaluate exactly")
            fn, arity = rule
            if (arity is not None and len(node.inputs) != arity) or not node.inputs:
                raise _NotConvertible(f"{node.op} node {node.name} has {len(node.inputs)} "
                                      "inputs")
            args = [self.eval(e, depth + 1, approx) for e in node.inputs]
            exact = node.op in _FOLD_OPS and all((src, idx) in self.cache
                                                 for src, idx, _ in node.inputs)
            if node.op.startswith("broadcast_") and len(args) == 2:
                try:
                    size = int(np.prod(np.broadcast_shapes(args[0].shape, args[1].shape),
                                       dtype=np.int64))
                except ValueError:
                    size = 0
                if size > self.max_size:
                    raise _NotConvertible(f"{node.op} node {node.name} would make "
                                          f"{size:,} values")
            try:
                with np.errstate(all="ignore"):
                    value = fn(_Attrs(node, self.path), args)
            except (_NotConvertible, ConversionError):
                raise
            except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as e:
                raise _NotConvertible(f"{node.op} node {node.name} cannot be evaluated "
                                      f"({e})") from None
            value = np.asarray(value)
            if value.dtype != np.float32:
                raise _NotConvertible(f"{node.op} node {node.name} does not give float32")
            if value.size > self.max_size:
                raise _NotConvertible(f"{node.op} node {node.name} makes {value.size:,} values")
        value = np.array(value, dtype=np.float32)
        value.flags.writeable = False
        (self.cache if exact else self.approx_cache)[key] = value
        return value


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


def _kbit_width(node: _Node, depth: int = 8) -> Optional[int]:
    """The width k of a DoReFa-style quantizer above `node` (round(x * (2^k - 1))), if found."""
    frontier = [node]
    for _ in range(depth):
        nxt = []
        for n in frontier:
            if n.op in _KBIT_OPS and n.inputs:
                src = n.inputs[0][0]
                if src.op == "_mul_scalar":
                    try:
                        levels = float(src.attrs.get("scalar", "nan")) + 1
                    except ValueError:
                        levels = float("nan")
                    bits = round(np.log2(levels)) if np.isfinite(levels) and levels >= 4 else 0
                    if bits and levels == 2.0 ** bits:
                        return int(bits)
            nxt += [src for src, _, _ in n.inputs]
        frontier = nxt
    return None


@dataclass
class _Match:
    kind: str                       # "conv" or "dense"
    node: _Node
    data_in: Tuple[_Node, int]      # the input of the data sign
    weight_key: object              # what its packed weight is cached by (variable or sign node)
    weight: np.ndarray              # float weights to pack: (O, C/g, kh, kw) or (O, K)
    weight_name: str                # preferred name of the packed variable
    weight_var: Optional[_Node]     # the weight variable, when the sign reads one directly
    bias_var: Optional[_Node]
    attrs: Dict[str, str]           # attributes for the binary op
    out_channels: int
    pad_value: Optional[int]
    conv1d: bool = False            # a 1-D convolution run as a (1, k) 2-D one
    notes: List[str] = field(default_factory=list)


def _float_reason(w_binary: bool, a_binary: bool, weight_src: _Node, data_src: _Node) -> str:
    def width(node, what):
        bits = _kbit_width(node)
        return f"{bits}-bit {what}" if bits else f"k-bit {what}"

    if w_binary:
        if _mentions_kbit(data_src):
            return (f"k-bit activations are simulated in float "
                    f"({width(data_src, 'activations')}, 1-bit weights); left float")
        return "activations are not binarized (only the weights are)"
    if _mentions_kbit(weight_src):
        detail = width(weight_src, "weights")
        if _mentions_kbit(data_src):
            detail += ", " + width(data_src, "activations")
        elif a_binary:
            detail += ", 1-bit activations"
        return f"k-bit weights are simulated in float ({detail}); left float"
    if a_binary:
        return "weights are not binarized (only the activations are)"
    return "float layer (neither weights nor activations are binarized)"


def _int_tuple(a: _Attrs, key: str) -> Optional[Tuple[int, ...]]:
    text = a.str(key, "")
    try:
        return tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        return None


def _data_path(node: _Node, kind: str, conv1d: bool, path: str):
    """(sign node or the data source, Pad node or None) of a layer's data input.

    2-D: sign -> [Pad] -> Convolution. 1-D (nn.py pads 1-D through 4-D Pad):
    sign -> [expand_dims(axis=2) -> Pad -> Reshape(shape=(0, 0, -1))] -> Convolution.
    """
    src = node.inputs[0][0]
    if kind != "conv":
        return src, None
    if not conv1d:
        if src.op == "Pad" and src.inputs:
            return src.inputs[0][0], src
        return src, None
    if src.op in ("Reshape", "reshape") and src.inputs:
        pad = src.inputs[0][0]
        if (_int_tuple(_Attrs(src, path), "shape") == (0, 0, -1)
                and not _Attrs(src, path).bool("reverse", False)
                and pad.op == "Pad" and pad.inputs):
            expand = pad.inputs[0][0]
            if expand.op == "expand_dims" and expand.inputs and \
                    _Attrs(expand, path).int("axis") in (2, -2):
                return expand.inputs[0][0], pad
    return src, None


def _weight_source(node: _Node, weight_src: _Node, params: _Params, folder: "_Folder",
                   bases: Dict[_Node, str]):
    """(key, float weights, packed name, weight variable or None, notes) of a sign(w) input."""
    if not weight_src.inputs:
        raise _NotConvertible("its weight sign has no input")
    src, index, _ = weight_src.inputs[0]
    if src.is_var:
        weight = params.get(src.name) if src.name in params else None
        if weight is None:
            raise _NotConvertible(f"its weight {src.name} is not in the params file")
        if weight.dtype.kind != "f":
            raise _NotConvertible(f"its weight {src.name} is {weight.dtype}, not float")
        return src, weight, src.name, src, []
    # sign(<expression of parameters>), e.g. an ABC-Net base sign(w - mean(w) + u * std(w)).
    try:
        weight = folder.eval((src, index))
    except _NotConvertible as why:
        raise _NotConvertible(f"its binarized weight cannot be evaluated from the parameters: "
                              f"{why}") from None
    variables, ops = folder.variables(src)
    if (len(variables) == 1 and not ops & _REDUCE_OPS
            and np.array_equal(weight, params.get(variables[0].name))):
        # sign(w) behind elementwise ops whose forward value is w (a quantizer's gradient
        # shaping, e.g. (f - BlockGrad(f)) + BlockGrad(w)): a plain binary weight
        return variables[0], weight, variables[0].name, variables[0], []
    used = [v.name for v in variables]
    if weight_src not in bases:  # <largest variable>_base<k>, k counting per variable
        root = max(used, key=lambda n: params.get(n).size) if used else node.name
        k = sum(1 for name in bases.values() if name.rsplit("_base", 1)[0] == root)
        bases[weight_src] = f"{root}_base{k}"
    return weight_src, weight, bases[weight_src], None, [
        f"weight sign(f({', '.join(used) or 'constants'})) evaluated as {bases[weight_src]}"]


def _match_layer(node: _Node, params: _Params, path: str, folder: "_Folder",
                 bases: Dict[_Node, str]) -> _Match:
    """Match a binary Convolution/FullyConnected, or raise _NotConvertible with the reason."""
    kind = "conv" if node.op == "Convolution" else "dense"
    a = _Attrs(node, path)
    if len(node.inputs) < 2:
        raise _NotConvertible("it has no weight input")
    kernel_text = a.str("kernel", "") if kind == "conv" else ""
    kernel = tuple(int(v) for v in re.findall(r"-?\d+", kernel_text))
    layout = a.str("layout", "None")
    # 1-D convolutions run as (1, k) 2-D ones; MXNet's symbol for Gluon's Conv1D says NCW.
    conv1d = kind == "conv" and len(kernel) == 1 and layout == "NCW"
    sign_node, pad_node = _data_path(node, kind, conv1d, path)
    weight_src = node.inputs[1][0]
    a_binary = _is_sign(sign_node)
    w_binary = _is_sign(weight_src)
    if not (a_binary and w_binary):
        raise _NotConvertible(_float_reason(w_binary, a_binary, weight_src, sign_node))
    if not sign_node.inputs:
        raise _NotConvertible("its data sign has no input")
    if kind == "conv":
        if layout not in ("None", "NCHW") and not conv1d:
            raise _NotConvertible(f"layout {layout} (only NCHW, and NCW for 1-D, is "
                                  "accelerated)")
        if len(kernel) != 2 and not conv1d:
            raise _NotConvertible(f"kernel={kernel_text} is not 2-D (only 2-D convolutions, "
                                  "and 1-D ones with layout NCW, are accelerated)")
    weight_key, weight, weight_name, weight_var, notes = _weight_source(
        node, weight_src, params, folder, bases)
    where = weight_var.name if weight_var is not None else "(evaluated)"

    no_bias = a.bool("no_bias", False)
    bias_var = None
    if not no_bias:
        if len(node.inputs) < 3:
            raise _NotConvertible("no_bias=False but it has no bias input")
        bias_var = node.inputs[2][0]
        if not bias_var.is_var or bias_var.name not in params:
            raise _NotConvertible("its bias is computed by other ops, not a parameter")

    def mismatch(what):
        if weight_var is None:  # an evaluated weight: the graph itself is inconsistent
            return _NotConvertible(f"it {what}")
        return ConversionError(
            f"{params.path} does not match {path}: layer {node.name} {what}; the two files seem "
            "to come from different models, pass the .params file exported with this symbol")

    if kind == "dense":
        num_hidden = a.int("num_hidden")
        if weight.ndim != 2 or weight.shape[0] != num_hidden:
            raise mismatch(f"has num_hidden={num_hidden} but its weight {where} has "
                           f"shape {_fmt_shape(weight.shape)}")
        attrs = {"num_hidden": str(num_hidden), "flatten": str(a.bool("flatten", True))}
        out_channels, pad_value = num_hidden, None
    else:
        dims = 1 if conv1d else 2
        stride = a.tuple("stride", dims, 1)
        dilate = a.tuple("dilate", dims, 1)
        pad = a.tuple("pad", dims, 0)
        num_filter = a.int("num_filter")
        num_group = a.int("num_group", 1)
        if (weight.ndim != 2 + dims or weight.shape[0] != num_filter
                or weight.shape[2:] != kernel or num_group < 1 or num_filter % num_group):
            raise mismatch(f"has num_filter={num_filter}, kernel={_fmt_shape(kernel)}, "
                           f"num_group={num_group} but its weight {where} has shape "
                           f"{_fmt_shape(weight.shape)}")
        if any(v < 0 for v in pad) or any(v < 1 for v in stride + dilate):
            raise mismatch("has a negative pad or a non-positive stride/dilate")
        if conv1d:  # as a 2-D convolution over (N, C, 1, W)
            kernel, stride, dilate, pad = ((1,) + kernel, (1,) + stride, (1,) + dilate,
                                           (0,) + pad)
            weight = weight.reshape(weight.shape[:2] + (1,) + weight.shape[2:])
            notes.append("1-D, run as (1, k) 2-D")
        if pad_node is not None:
            pad, pad_value = _pad_from_node(pad_node, pad, path, conv1d)
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
            raise ConversionError(
                f"{params.path} does not match {path}: layer {node.name} has {out_channels} "
                f"outputs but its bias {bias_var.name} has shape "
                f"{_fmt_shape(() if bias is None else bias.shape)}; the two files seem to come "
                "from different models, pass the .params file exported with this symbol")
    return _Match(kind, node, sign_node.inputs[0][:2], weight_key, weight, weight_name,
                  weight_var, bias_var, attrs, out_channels, pad_value, conv1d, notes)


def _pad_from_node(pad_node: _Node, conv_pad, path: str, conv1d: bool = False):
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
    if conv1d and (top or bottom):
        raise _NotConvertible(f"Pad pad_width={text} pads the inserted axis of a 1-D "
                              "convolution")
    if top != bottom or left != right:
        raise _NotConvertible(f"asymmetric padding {text}")
    if top < 0 or left < 0:
        raise _NotConvertible(f"negative padding {text}")
    value = a.float("constant_value", 0.0)
    if value not in (-1.0, 0.0, 1.0):
        raise _NotConvertible(f"pad value {value:g} (only -1, 0 and +1 are accelerated)")
    if not (top or left):
        return (0, 0), -1
    return (top, left), int(value)


# Ops with one input whose forward value is their input, possibly reshaped.
_PASS_THROUGH = frozenset(("BlockGrad", "stop_gradient", "identity", "_copy", "Reshape",
                           "reshape"))


def _strip(entry) -> _Node:
    node = entry[0]
    while node.op in _PASS_THROUGH and len(node.inputs) == 1 and node.inputs[0][1] == 0:
        node = node.inputs[0][0]
    return node


def _sole_consumer(graph: _Graph, node: _Node):
    """(consumer, slot) when `node` feeds exactly one input of one node and is no head."""
    users = graph.consumers[node]
    if len(users) != 1 or graph.used_as_head(node):
        return None, None
    user, slot, idx = users[0]
    return (user, slot) if idx == 0 else (None, None)


def _per_channel(value: np.ndarray, m: _Match) -> Optional[np.ndarray]:
    """`value` as an (O,) vector when broadcasting it over the layer output is per channel."""
    shape = value.shape
    out_ndim = (3 if m.conv1d else 4) if m.kind == "conv" else 2
    if len(shape) > out_ndim:
        return None
    channel = out_ndim - 1 if m.kind == "dense" else 1  # axis of the output channels
    aligned = (1,) * (out_ndim - len(shape)) + shape   # numpy/MXNet broadcasting: right-aligned
    if any(d != 1 for i, d in enumerate(aligned) if i != channel):
        return None
    if aligned[channel] not in (1, m.out_channels):
        return None
    return np.broadcast_to(value.reshape(-1), (m.out_channels,)).astype(np.float64)


def _is_weight_magnitude(entry, m: _Match, path: str) -> bool:
    """Whether `entry` is XNOR-Net's mean(|w|) over all but the output axis of the layer's own
    weight variable (behind BlockGrad / Reshape)."""
    mean = converter_v2.strip_transpose(_strip(entry), _strip)  # BMXNet v2: (1, O, 1, 1)
    if m.weight_var is None or mean.op != "mean" or len(mean.inputs) != 1:
        return False
    source = mean.inputs[0][0]
    if source.op != "abs" or len(source.inputs) != 1 or source.inputs[0][0] is not m.weight_var:
        return False
    ndim = (3 if m.conv1d else 4) if m.kind == "conv" else 2
    try:
        return _axes_attr(_Attrs(mean, path), ndim) == tuple(range(1, ndim))
    except _NotConvertible:
        return False


@dataclass
class _Epilogue:
    """What follows a binary layer and folds into it: output = scale * dot + bias."""
    end: _Node                          # the node whose output the binary op replaces
    scale: Optional[np.ndarray]         # float64 (O,)
    bias: Optional[np.ndarray]          # float64 (O,)
    bias_var: Optional[_Node]           # a variable holding exactly `bias`, if any
    notes: List[str]


def _fold_epilogue(graph: _Graph, m: _Match, params: _Params, folder: "_Folder",
                   path: str) -> _Epilogue:
    """XNOR-Net scaling (and the bias added after it) that alone follows the layer:
    broadcast_mul(layer, Reshape(BlockGrad(mean(abs(w), axis=all but 0))))
    [-> broadcast_add(., Reshape(b))]."""
    ep = _Epilogue(m.node, None, None, m.bias_var, [])
    if m.bias_var is not None:
        ep.bias = params.get(m.bias_var.name).astype(np.float64)

    def other_operand(user, slot):
        if user is None or len(user.inputs) != 2:
            return None
        return user.inputs[1 - slot]

    user, slot = _sole_consumer(graph, ep.end)
    other = other_operand(user, slot) if user is not None and user.op in (
        "broadcast_mul", "elemwise_mul") else None
    if other is not None and _is_weight_magnitude(other, m, path):
        try:
            scale = _per_channel(folder.eval(other), m)
        except _NotConvertible as why:
            ep.notes.append(f"scaling not folded: {why}")
            scale = None
        if scale is not None:
            ep.end, ep.scale = user, scale
            if ep.bias is not None:
                ep.bias, ep.bias_var = ep.bias * scale, None
            ep.notes.append("xnor scale mean(|w|) folded")
            user, slot = _sole_consumer(graph, ep.end)
            other = other_operand(user, slot) if user is not None and user.op in (
                "broadcast_add", "elemwise_add") else None
            bias_src = _strip(other) if other is not None else None
            if (bias_src is not None and bias_src.is_var and bias_src.name in params
                    and params.get(bias_src.name) is not None
                    and params.get(bias_src.name).dtype == np.float32
                    and params.get(bias_src.name).shape == (m.out_channels,)):
                try:
                    bias = _per_channel(folder.eval(other), m)
                except _NotConvertible:
                    bias = None
                if bias is not None:
                    ep.end = user
                    ep.bias_var = bias_src if ep.bias is None else None
                    ep.bias = bias if ep.bias is None else ep.bias + bias
    offset = converter_v2.offset_after(ep.end, lambda n: _sole_consumer(graph, n)[0])
    if offset is not None:  # BMXNet v2's (h + K) / 2
        ep.end, c, d = offset
        scale = ep.scale if ep.scale is not None else np.ones(m.out_channels)
        ep.scale = scale / d
        ep.bias = ((ep.bias if ep.bias is not None else np.zeros(m.out_channels)) + c) / d
        ep.bias_var = None
        ep.notes.append(f"offset (h + {c:g}) / {d:g} folded")
    return ep


def _foldable_batchnorm(graph: _Graph, end: _Node, kind: str, conv1d: bool, flatten: bool,
                        out_channels: int, params: _Params, path: str):
    """The BatchNorm that alone consumes the output `end` of a conv/dense layer with
    `out_channels` outputs, or (None, reason)."""
    bn, slot = _sole_consumer(graph, end)
    if bn is None or bn.op != "BatchNorm" or slot != 0:
        return None, None
    a = _Attrs(bn, path)
    axis = a.int("axis", 1)
    if kind == "conv":
        ok_axes = (1, -2) if conv1d else (1, -3)
    else:
        ok_axes = (1, -1) if flatten else (-1,)
    if axis not in ok_axes:
        return None, f"{bn.name} not folded: axis={axis} is not the channel axis"
    if len(bn.inputs) != 5 or not all(s.is_var and s.name in params for s, _, _ in bn.inputs[1:]):
        return None, f"{bn.name} not folded: its statistics are not plain parameters"
    if any(idx > 0 for _, _, idx in graph.consumers[bn]) or any(
            h[0] is bn and h[1] > 0 for h in graph.heads):
        return None, f"{bn.name} not folded: its mean/var outputs are used"
    stats = [params.get(s.name) for s, _, _ in bn.inputs[1:]]
    if any(s is None or s.shape != (out_channels,) for s in stats):
        raise ConversionError(
            f"{params.path} does not match {path}: the statistics of {bn.name} do not have shape "
            f"({out_channels},); pass the .params file exported together with this symbol")
    if not np.all(stats[3].astype(np.float64) + a.float("eps", 1e-3) > 0):
        return None, f"{bn.name} not folded: running_var + eps is not positive"
    return bn, None


def _batchnorm_factors(bn: _Node, params: _Params, path: str):
    """(k, running_mean, beta) in float64 with k = gamma / sqrt(running_var + eps) (gamma = 1
    under fix_gamma): the BatchNorm computes (x - running_mean) * k + beta."""
    b = _Attrs(bn, path)
    gamma, beta, mean, var = (params.get(v.name).astype(np.float64) for v, _, _ in bn.inputs[1:])
    if b.bool("fix_gamma", True):
        gamma = np.ones_like(gamma)
    return gamma / np.sqrt(var + b.float("eps", 1e-3)), mean, beta


def _fold_batchnorm_into_float_layer(graph: _Graph, node: _Node, kind: str, params: _Params,
                                     path: str, new_var, redirect) -> Optional[str]:
    """Folds the BatchNorm that alone follows a float Convolution/FullyConnected with plain
    float32 weight (and bias) parameters into new weights W * k and bias (b - mean) * k + beta,
    k = gamma / sqrt(var + eps), as inference engines do; returns the BatchNorm's name, or None
    when the layer is not of that form (k-bit and computed weights stay as they are)."""
    a = _Attrs(node, path)
    no_bias = a.bool("no_bias", False)
    if len(node.inputs) != (2 if no_bias else 3):
        return None
    w_var = node.inputs[1][0]
    b_var = None if no_bias else node.inputs[2][0]
    for v in (w_var, b_var):
        if v is not None and not (v.is_var and v.name in params
                                  and params.get(v.name) is not None
                                  and params.get(v.name).dtype == np.float32):
            return None
    weight = params.get(w_var.name)
    if kind == "conv":
        dims = len(_int_tuple(a, "kernel") or ())
        if dims not in (1, 2) or a.str("layout", "None") not in ("None", "NCHW", "NCW"):
            return None
        out_channels = a.int("num_filter")
        flatten = False
    else:
        out_channels = a.int("num_hidden")
        flatten = a.bool("flatten", True)
        dims = 0
    if weight.ndim < 2 or weight.shape[0] != out_channels:
        return None  # _check_params reports mismatched files; an odd graph stays as it is
    bn, _ = _foldable_batchnorm(graph, node, kind, dims == 1, flatten, out_channels, params,
                                path)
    if bn is None:
        return None
    k, mean, beta = _batchnorm_factors(bn, params, path)
    bias = params.get(b_var.name).astype(np.float64) if b_var is not None else 0.0
    new_w = (weight.astype(np.float64) * k.reshape((-1,) + (1,) * (weight.ndim - 1)))
    new_b = (bias - mean) * k + beta
    attrs = dict(node.attrs)
    attrs["no_bias"] = "False"
    inputs = [node.inputs[0][:2], (new_var(w_var.name, new_w.astype(np.float32), w_var), 0),
              (new_var(f"{node.name}_bias", new_b.astype(np.float32), b_var), 0)]
    redirect[(bn, 0)] = (_new_node(node.op, node.name, attrs, inputs), 0)
    return bn.name


# Elementwise adds of two same-shaped tensors (Gluon's `a + b` exports elemwise_add).
_ELEMWISE_ADD_OPS = frozenset(("elemwise_add", "_plus", "_Plus", "_add"))


def _fusable_residual_add(graph: _Graph, end: _Node, redirect):
    """(add node, other operand entry) when the layer output `end` feeds only one elementwise
    add (a ResNet shortcut), which bmx_binary_conv2d(add_residual=True) then computes in its
    epilogue; else None. An add already fused into the layer on its other operand (already
    redirected) is not fused again."""
    add, slot = _sole_consumer(graph, end)
    if add is None or add.op not in _ELEMWISE_ADD_OPS or len(add.inputs) != 2:
        return None
    if (add, 0) in redirect:
        return None
    other = add.inputs[1 - slot]
    return add, (other[0], other[1])


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
    packed_vars: Dict[object, _Node] = {}       # weight variable / sign node -> packed variable
    converted: List[BinaryLayer] = []
    skipped: List[SkippedLayer] = []
    folder = _Folder(params, sym_path)
    bases: Dict[_Node, str] = {}                # names of evaluated weights, by sign node
    converter_v2.normalize_fork_ops(graph)      # BMXNet v2's op names, gradient shaping

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
            m = _match_layer(node, params, sym_path, folder, bases)
        except _NotConvertible as why:
            layer = SkippedLayer(node.name, kind, str(why))
            skipped.append(layer)
            if fold_batchnorm:
                layer.folded_batchnorm = _fold_batchnorm_into_float_layer(
                    graph, node, kind, params, sym_path, new_var, redirect)
            continue

        weight = m.weight
        if m.weight_key not in packed_vars:  # weights shared by layers are packed once
            packed = pack_conv_weight(weight) if kind == "conv" else pack_dense_weight(weight)
            packed_vars[m.weight_key] = new_var(m.weight_name, packed, m.weight_var)
        packed = new_arrays[packed_vars[m.weight_key]]
        layer = BinaryLayer(node.name, kind, tuple(weight.shape), tuple(packed.shape),
                            int(weight.nbytes), int(packed.nbytes), m.pad_value,
                            notes=list(m.notes))

        ep = _fold_epilogue(graph, m, params, folder, sym_path)
        layer.notes += ep.notes
        scale, bias = ep.scale, ep.bias
        bias_var = ep.bias_var
        if bias_var is not None and params.get(bias_var.name).dtype != np.float32:
            bias_var = None
        bn = None
        if fold_batchnorm:
            bn, note = _foldable_batchnorm(graph, ep.end, m.kind, m.conv1d,
                                           m.attrs.get("flatten") == "True", m.out_channels,
                                           params, sym_path)
            if note:
                layer.notes.append(note)
        if bn is not None:
            k, mean, beta = _batchnorm_factors(bn, params, sym_path)
            scale = k if scale is None else scale * k
            bias = ((bias if bias is not None else 0.0) - mean) * k + beta
            bias_var = None
            layer.folded_batchnorm = bn.name

        data = m.data_in
        if m.conv1d:  # (N, C, W) -> (N, C, 1, W)
            data = (_new_node("expand_dims", f"{node.name}_nchw", {"axis": "2"}, [data]), 0)
        inputs = [data, (packed_vars[m.weight_key], 0)]
        attrs = {k: v for k, v in node.attrs.items() if k.startswith("__") and k.endswith("__")}
        attrs.update(m.attrs)
        if scale is not None:
            inputs.append((new_var(f"{node.name}_scale", scale.astype(np.float32)), 0))
        if bias is not None:
            if bias_var is not None:
                inputs.append((bias_var, 0))  # unchanged: keep the original variable
            else:
                inputs.append((new_var(f"{node.name}_bias", bias.astype(np.float32),
                                       m.bias_var if bn is None else None), 0))
        attrs["use_scale"] = str(scale is not None)
        attrs["no_bias"] = str(bias is None)
        end = bn or ep.end
        add = _fusable_residual_add(graph, end, redirect) if kind == "conv" and not m.conv1d \
            else None
        if add is not None:
            add_node, other = add
            inputs.append(other)
            attrs["add_residual"] = "True"
            layer.notes.append(f"{add_node.name} (residual add) fused")
            end = add_node
        op = "bmx_binary_conv2d" if kind == "conv" else "bmx_binary_dense"
        out = _new_node(op, node.name, attrs, inputs)
        if m.conv1d:  # (N, O, 1, W') -> (N, O, W')
            out = _new_node("Reshape", f"{node.name}_ncw", {"shape": "(0, 0, -1)"}, [(out, 0)])
        redirect[(end, 0)] = (out, 0)
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
Convert a model trained with bmxnet layers (QConv1D, QConv2D, QDense) and exported with
HybridBlock.export into a deployable binary model: every binary layer (each of the M x N
convolutions of an ABC-Net layer too) becomes one bmx_binary_conv2d / bmx_binary_dense op
with bit-packed int32 weights, XNOR scaling and a BatchNorm that follow a binary layer are
folded into it, and everything else (float and k-bit layers) stays as it was."""

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
                        help="keep every BatchNorm instead of folding it into the binary op's "
                             "scale and bias (binary layers) or into the weights (float layers)")
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

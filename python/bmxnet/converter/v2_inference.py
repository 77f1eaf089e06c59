"""BMXNet v2's packed inference ops, as the fork's model-converter writes them, read back as
binary layers, so that the rest of the conversion packs them in bmxnet's layout.

The fork's converter replaces each binary layer by ``BinaryInferenceConvolution(x, W)`` or
``BinaryInferenceFullyConnected(x, W)`` (its quantizer nodes removed) and packs the weight
``W`` into words (the layout: ``src/kernels/v2_packed_weights.h``): 32 bits per word unless
the fork was built with 64-bit words, stored bit for bit in a float32 (float64) array; element
j of a word is its bit j, bit 1 means +1. The ops binarize their input (``x >= 0`` is +1),
pad with zeros that binarize to +1, and output the count of agreeing bits, ``(h + K) / 2``
for the +-1 dot product ``h`` over the ``K`` weights of an output.

``read_v2_inference_ops`` rewrites each such node, in place, into the training graph that
``patterns`` matches, with the weight unpacked to +-1 floats under the same variable name::

    BinaryInferenceConvolution(x, W, kernel, stride, dilate, pad, num_filter)
      -> _div_scalar(_plus_scalar(Convolution(Pad(sign(x), constant_value=1, pad),
                                              sign(w), pad=0), scalar=K), scalar=2)
    BinaryInferenceFullyConnected(x, W, num_hidden)
      -> _div_scalar(_plus_scalar(FullyConnected(sign(x), sign(w)), scalar=K), scalar=2)

with ``sign = bmx_det_sign(clip_threshold=0)``. ``rewrite`` then packs the weight again and
folds the count (scale 1/2, bias K/2), a following BatchNorm and a residual add into one
``bmx_binary_conv2d`` / ``bmx_binary_dense``, exactly as for a v2 training export.
"""
from typing import List

import numpy as np

from .attrs import Attrs, format_shape
from .errors import ConversionError, NotConvertible
from .graph import Graph, Node, new_node

__all__ = ["V2_INFERENCE_OPS", "read_v2_inference_ops", "unpack_v2_conv_weight",
           "unpack_v2_dense_weight"]

V2_INFERENCE_OPS = ("BinaryInferenceConvolution", "BinaryInferenceFullyConnected")
# The weight's dtype -> bits per word.
_WORD_BITS = {np.dtype("<f4"): 32, np.dtype("<i4"): 32, np.dtype("<u4"): 32,
              np.dtype("<f8"): 64, np.dtype("<i8"): 64, np.dtype("<u8"): 64}


def _bits(words: np.ndarray, word_bits: int) -> np.ndarray:
    """Rows of words -> rows of their bits as +1/-1 floats, element j of a word from bit j."""
    raw = np.ascontiguousarray(words).view(f"<u{word_bits // 8}").view(np.uint8)
    bits = np.unpackbits(raw, axis=-1, bitorder="little")
    return np.where(bits == 1, np.float32(1), np.float32(-1))


def unpack_v2_conv_weight(words: np.ndarray, kernel) -> np.ndarray:
    """v2's packed (O, C / word_bits, kh, kw) convolution weight -> (O, C, kh, kw) +-1 floats."""
    word_bits = _WORD_BITS[words.dtype]
    out = words.shape[0]
    return _bits(words.reshape(out, -1), word_bits).reshape(out, -1, *kernel)


def unpack_v2_dense_weight(words: np.ndarray) -> np.ndarray:
    """v2's packed dense weight, declared (O, K / word_bits) but laid out (K / word_bits, O) ->
    (O, K) +-1 floats."""
    word_bits = _WORD_BITS[words.dtype]
    out, per_row = words.shape
    return _bits(words.reshape(per_row, out).T, word_bits)


def _weight_var(graph: Graph, node: Node, params, path: str) -> Node:
    var = node.inputs[1][0] if len(node.inputs) == 2 else None
    if var is None or not var.is_var or var.name not in params:
        raise ConversionError(
            f"{path}: {node.op} node {node.name} must have two inputs, the data and a weight "
            "parameter in the params file; pass the files written by BMXNet v2's model-converter")
    users = {(user.op, slot) for user, slot, _ in graph.consumers[var]}
    if users != {(node.op, 1)}:
        raise ConversionError(
            f"{path}: the packed weight {var.name} of {node.name} is also read by other ops; "
            "BMXNet v2's model-converter writes one weight per layer, pass its files unchanged")
    return var


def _check_words(node: Node, var: Node, words, expected: str, out: int, rest, path: str):
    """Fails unless `words` can be v2's packed weight (out, C / word_bits, *rest)."""
    if words is None or words.dtype not in _WORD_BITS:
        kind = "missing" if words is None else words.dtype
        raise ConversionError(
            f"{path}: the weight {var.name} of {node.op} node {node.name} is {kind}, expected "
            "BMXNet v2's packed words (float32 or int32 for 32-bit words, float64 or int64 for "
            "64-bit words)")
    if words.ndim != 2 + len(rest) or words.shape[0] != out or words.shape[1] < 1 or \
            words.shape[2:] != tuple(rest):
        raise ConversionError(
            f"{path}: the weight {var.name} of {node.op} node {node.name} has shape "
            f"{format_shape(words.shape)}, expected {expected}; pass the .params file written "
            "together with this symbol")


def _retype(var: Node, array: np.ndarray, params):
    """Holds `array` (float32) as the variable's value, in its params entry and attributes."""
    params.entries[params.key_of[var.name]] = array
    var.attrs["__shape__"] = format_shape(array.shape)
    var.attrs["__dtype__"] = "0"


def _count(graph_nodes: List[Node], node: Node, layer: Node, k: int):
    """Turns `node` (keeping its consumers) into ``(layer + k) / 2``, the count of agreeing bits."""
    plus = new_node("_plus_scalar", f"{node.name}_plus_k", {"scalar": str(float(k))},
                    [(layer, 0)])
    graph_nodes.append(plus)
    node.set_op("_div_scalar", {"scalar": "2.0"})  # (set_op keeps its __hidden__ attributes)
    node.name = node.raw["name"] = f"{node.name}_count"
    node.inputs = [(plus, 0, 0)]


def _pair(a: Attrs, key: str, default: int):
    """A 2-D convolution attribute (v2's packed convolution is 2-D only)."""
    try:
        return a.tuple(key, 2, default)
    except NotConvertible:
        raise a.fail(key, a.str(key, ""), "2 values (BMXNet v2's op is 2-D only)") from None


def _sign(name: str, entry) -> Node:
    return new_node("bmx_det_sign", name, {"clip_threshold": "0"}, [entry[:2]])


def read_v2_inference_ops(graph: Graph, params, path: str) -> List[str]:
    """Rewrites every BinaryInferenceConvolution / BinaryInferenceFullyConnected of `graph`
    into the binary layer it packs (module docstring), in place; returns notes."""
    if not any(n.op in V2_INFERENCE_OPS for n in graph.nodes):
        return []
    nodes: List[Node] = []
    count = 0
    for node in graph.nodes:
        if node.op not in V2_INFERENCE_OPS:
            nodes.append(node)
            continue
        a = Attrs(node, path)
        if not a.bool("no_bias", True):
            raise ConversionError(
                f"{path}: {node.op} node {node.name} has no_bias=False; BMXNet v2's op never "
                "adds that bias, so the model's output would change; remove the bias input and "
                "set no_bias=True to keep v2's output")
        var = _weight_var(graph, node, params, path)
        words = params.get(var.name)
        name, data = node.name, node.inputs[0]
        if node.op == "BinaryInferenceConvolution":
            if "kernel" not in node.attrs:
                raise a.fail("kernel", None, "a 2-D kernel")
            kernel = _pair(a, "kernel", 1)
            if a.int("num_group", 1) != 1 or a.str("layout", "None") not in ("None", "NCHW"):
                raise ConversionError(
                    f"{path}: {node.op} node {node.name} has num_group or layout other than 1 "
                    "and NCHW, which BMXNet v2's op refuses; the symbol file looks damaged")
            num_filter = a.int("num_filter")
            _check_words(node, var, words, f"({num_filter}, C / word_bits, {kernel[0]}, "
                         f"{kernel[1]})", num_filter, kernel, path)
            weight = unpack_v2_conv_weight(words, kernel)
            pad = _pair(a, "pad", 0)
            d = _sign(f"{name}_data_sign", data)
            nodes.append(d)
            d_entry = (d, 0)
            if any(pad):
                p = new_node("Pad", f"{name}_pad", {
                    "mode": "constant", "constant_value": "1",
                    "pad_width": str((0, 0, 0, 0, pad[0], pad[0], pad[1], pad[1]))}, [d_entry])
                nodes.append(p)
                d_entry = (p, 0)
            w = _sign(f"{name}_weight_sign", (var, 0))
            layer_attrs = {"kernel": format_shape(kernel),
                           "stride": format_shape(_pair(a, "stride", 1)),
                           "dilate": format_shape(_pair(a, "dilate", 1)),
                           "pad": "(0, 0)", "num_filter": str(num_filter), "num_group": "1",
                           "no_bias": "True", "layout": "NCHW"}
            layer = new_node("Convolution", name, layer_attrs, [d_entry, (w, 0)])
        else:
            num_hidden = a.int("num_hidden")
            _check_words(node, var, words, f"({num_hidden}, K / word_bits)", num_hidden, (),
                         path)
            weight = unpack_v2_dense_weight(words)
            d = _sign(f"{name}_data_sign", data)
            nodes.append(d)
            w = _sign(f"{name}_weight_sign", (var, 0))
            layer = new_node("FullyConnected", name, {
                "num_hidden": str(num_hidden), "no_bias": "True", "flatten": "True"},
                [(d, 0), (w, 0)])
        _retype(var, weight, params)
        nodes += [w, layer]
        _count(nodes, node, layer, int(weight[0].size))
        nodes.append(node)
        count += 1
    graph.nodes = nodes
    graph.link_consumers()
    return [f"{count} BMXNet v2 packed layers unpacked and converted"]

"""Which Convolution/FullyConnected of an exported graph is a binary layer, found by its ops;
the exported graphs it matches are spelled out in DESIGN.md section 3, "Exported patterns"."""

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .attrs import Attrs, format_shape, int_tuple
from .errors import ConversionError, NotConvertible
from .float32_ops import REDUCE_OPS
from .folding import Folder
from .graph import Node
from .params import Params
from .reasons import float_reason

# The sign quantizers' ops: a layer is binary when both its data and its weight come from one.
SIGN_OPS = ("bmx_det_sign", "bmx_approx_sign")


def is_sign(node: Node) -> bool:
    return node.op in SIGN_OPS


@dataclass
class Match:
    """A binary layer found in the graph, with what its packed op needs."""
    kind: str                       # "conv" or "dense"
    node: Node
    data_in: Tuple[Node, int]       # the input of the data sign
    weight_key: object              # what its packed weight is cached by (variable or sign node)
    weight: np.ndarray              # float weights to pack: (O, C/g, kh, kw) or (O, K)
    weight_name: str                # preferred name of the packed variable
    weight_var: Optional[Node]      # the weight variable, when the sign reads one directly
    bias_var: Optional[Node]
    attrs: Dict[str, str]           # attributes for the binary op
    out_channels: int
    pad_value: Optional[int]
    conv1d: bool = False            # a 1-D convolution run as a (1, k) 2-D one
    notes: List[str] = field(default_factory=list)


def _data_path(node: Node, kind: str, conv1d: bool, path: str):
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
        if (int_tuple(Attrs(src, path), "shape") == (0, 0, -1)
                and not Attrs(src, path).bool("reverse", False)
                and pad.op == "Pad" and pad.inputs):
            expand = pad.inputs[0][0]
            if expand.op == "expand_dims" and expand.inputs and \
                    Attrs(expand, path).int("axis") in (2, -2):
                return expand.inputs[0][0], pad
    return src, None


def _weight_source(node: Node, weight_src: Node, params: Params, folder: Folder,
                   bases: Dict[Node, str]):
    """(key, float weights, packed name, weight variable or None, notes) of a sign(w) input."""
    if not weight_src.inputs:
        raise NotConvertible("its weight sign has no input")
    src, index, _ = weight_src.inputs[0]
    if src.is_var:
        weight = params.get(src.name) if src.name in params else None
        if weight is None:
            raise NotConvertible(f"its weight {src.name} is not in the params file")
        if weight.dtype.kind != "f":
            raise NotConvertible(f"its weight {src.name} is {weight.dtype}, not float")
        return src, weight, src.name, src, []
    # sign(<expression of parameters>), e.g. an ABC-Net base sign(w - mean(w) + u * std(w)).
    try:
        weight = folder.eval((src, index))
    except NotConvertible as why:
        raise NotConvertible(f"its binarized weight cannot be evaluated from the parameters: "
                             f"{why}") from None
    variables, ops = folder.variables(src)
    if (len(variables) == 1 and not ops & REDUCE_OPS
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


def _binary_inputs(node: Node, kind: str, a: Attrs, path: str):
    """(kernel, conv1d, data sign node, Pad node or None, weight sign node) of a layer whose
    data and weight are both binarized, or NotConvertible."""
    if len(node.inputs) < 2:
        raise NotConvertible("it has no weight input")
    kernel_text = a.str("kernel", "") if kind == "conv" else ""
    kernel = tuple(int(v) for v in re.findall(r"-?\d+", kernel_text))
    layout = a.str("layout", "None")
    # 1-D convolutions run as (1, k) 2-D ones; MXNet's symbol for Gluon's Conv1D says NCW.
    conv1d = kind == "conv" and len(kernel) == 1 and layout == "NCW"
    sign_node, pad_node = _data_path(node, kind, conv1d, path)
    weight_src = node.inputs[1][0]
    a_binary = is_sign(sign_node)
    w_binary = is_sign(weight_src)
    if not (a_binary and w_binary):
        raise NotConvertible(float_reason(w_binary, a_binary, weight_src, sign_node))
    if not sign_node.inputs:
        raise NotConvertible("its data sign has no input")
    if kind == "conv":
        if layout not in ("None", "NCHW") and not conv1d:
            raise NotConvertible(f"layout {layout} (only NCHW, and NCW for 1-D, is "
                                 "accelerated)")
        if len(kernel) != 2 and not conv1d:
            raise NotConvertible(f"kernel={kernel_text} is not 2-D (only 2-D convolutions, "
                                 "and 1-D ones with layout NCW, are accelerated)")
    return kernel, conv1d, sign_node, pad_node, weight_src


def _bias_var(node: Node, a: Attrs, params: Params) -> Optional[Node]:
    if a.bool("no_bias", False):
        return None
    if len(node.inputs) < 3:
        raise NotConvertible("no_bias=False but it has no bias input")
    bias_var = node.inputs[2][0]
    if not bias_var.is_var or bias_var.name not in params:
        raise NotConvertible("its bias is computed by other ops, not a parameter")
    return bias_var


def _dense_attrs(a: Attrs, weight: np.ndarray, where: str, mismatch):
    """(attrs of bmx_binary_dense, outputs)."""
    num_hidden = a.int("num_hidden")
    if weight.ndim != 2 or weight.shape[0] != num_hidden:
        raise mismatch(f"has num_hidden={num_hidden} but its weight {where} has "
                       f"shape {format_shape(weight.shape)}")
    return {"num_hidden": str(num_hidden), "flatten": str(a.bool("flatten", True))}, num_hidden


def _conv_attrs(a: Attrs, kernel, conv1d: bool, pad_node: Optional[Node], weight: np.ndarray,
                where: str, mismatch, notes: List[str], path: str):
    """(attrs of bmx_binary_conv2d, outputs, pad value, the weight as 2-D (O, C/g, kh, kw))."""
    dims = 1 if conv1d else 2
    stride = a.tuple("stride", dims, 1)
    dilate = a.tuple("dilate", dims, 1)
    pad = a.tuple("pad", dims, 0)
    num_filter = a.int("num_filter")
    num_group = a.int("num_group", 1)
    if (weight.ndim != 2 + dims or weight.shape[0] != num_filter
            or weight.shape[2:] != kernel or num_group < 1 or num_filter % num_group):
        raise mismatch(f"has num_filter={num_filter}, kernel={format_shape(kernel)}, "
                       f"num_group={num_group} but its weight {where} has shape "
                       f"{format_shape(weight.shape)}")
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
    attrs = {"kernel": format_shape(kernel), "stride": format_shape(stride),
             "dilate": format_shape(dilate), "pad": format_shape(pad),
             "pad_value": str(pad_value), "num_filter": str(num_filter),
             "num_group": str(num_group)}
    return attrs, num_filter, pad_value, weight


def match_layer(node: Node, params: Params, path: str, folder: Folder,
                bases: Dict[Node, str]) -> Match:
    """Match a binary Convolution/FullyConnected, or raise NotConvertible with the reason."""
    kind = "conv" if node.op == "Convolution" else "dense"
    a = Attrs(node, path)
    kernel, conv1d, sign_node, pad_node, weight_src = _binary_inputs(node, kind, a, path)
    weight_key, weight, weight_name, weight_var, notes = _weight_source(
        node, weight_src, params, folder, bases)
    where = weight_var.name if weight_var is not None else "(evaluated)"
    bias_var = _bias_var(node, a, params)

    def mismatch(what):
        if weight_var is None:  # an evaluated weight: the graph itself is inconsistent
            return NotConvertible(f"it {what}")
        return ConversionError(
            f"{params.path} does not match {path}: layer {node.name} {what}; the two files seem "
            "to come from different models, pass the .params file exported with this symbol")

    if kind == "dense":
        attrs, out_channels = _dense_attrs(a, weight, where, mismatch)
        pad_value = None
    else:
        attrs, out_channels, pad_value, weight = _conv_attrs(a, kernel, conv1d, pad_node, weight,
                                                             where, mismatch, notes, path)
    if bias_var is not None:
        bias = params.get(bias_var.name)
        if bias is None or bias.shape != (out_channels,):
            raise ConversionError(
                f"{params.path} does not match {path}: layer {node.name} has {out_channels} "
                f"outputs but its bias {bias_var.name} has shape "
                f"{format_shape(() if bias is None else bias.shape)}; the two files seem to come "
                "from different models, pass the .params file exported with this symbol")
    return Match(kind, node, sign_node.inputs[0][:2], weight_key, weight, weight_name,
                 weight_var, bias_var, attrs, out_channels, pad_value, conv1d, notes)


def _pad_from_node(pad_node: Node, conv_pad, path: str, conv1d: bool = False):
    """(pad, pad_value) for a Pad node between the data sign and the Convolution."""
    a = Attrs(pad_node, path)
    if any(conv_pad):
        raise NotConvertible("it has both a Pad node and its own padding")
    mode = a.str("mode", "constant")
    if mode != "constant":
        raise NotConvertible(f"Pad mode {mode} (only constant padding is accelerated)")
    text = a.str("pad_width", "")
    try:
        width = tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise a.fail("pad_width", text, "a tuple of integers") from None
    if len(width) != 8:
        raise NotConvertible(f"Pad pad_width={text} is not 4-D")
    if any(width[:4]):
        raise NotConvertible("Pad pads the batch or channel axis")
    top, bottom, left, right = width[4:]
    if conv1d and (top or bottom):
        raise NotConvertible(f"Pad pad_width={text} pads the inserted axis of a 1-D "
                             "convolution")
    if top != bottom or left != right:
        raise NotConvertible(f"asymmetric padding {text}")
    if top < 0 or left < 0:
        raise NotConvertible(f"negative padding {text}")
    value = a.float("constant_value", 0.0)
    if value not in (-1.0, 0.0, 1.0):
        raise NotConvertible(f"pad value {value:g} (only -1, 0 and +1 are accelerated)")
    if not (top or left):
        return (0, 0), -1
    return (top, left), int(value)

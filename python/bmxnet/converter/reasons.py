"""Why a Convolution/FullyConnected stays float: which of its inputs is not binarized."""

from typing import Optional

import numpy as np

from .graph import Node

# Ops whose presence on a weight/data path means "k-bit quantization simulated in float".
KBIT_OPS = frozenset(("round", "rint", "floor", "ceil", "fix", "_contrib_round_ste",
                      "_contrib_quantize", "_contrib_quantize_v2"))


def _mentions_kbit(node: Node, depth: int = 6) -> bool:
    """Whether a short chain of ops above `node` quantizes to k bits (simulated in float)."""
    frontier = [node]
    for _ in range(depth):
        nxt = []
        for n in frontier:
            if n.op in KBIT_OPS or "quantiz" in n.op.lower():
                return True
            nxt += [src for src, _, _ in n.inputs]
        frontier = nxt
    return False


def _kbit_width(node: Node, depth: int = 8) -> Optional[int]:
    """The width k of a DoReFa-style quantizer above `node` (round(x * (2^k - 1))), if found."""
    frontier = [node]
    for _ in range(depth):
        nxt = []
        for n in frontier:
            if n.op in KBIT_OPS and n.inputs:
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


def float_reason(w_binary: bool, a_binary: bool, weight_src: Node, data_src: Node) -> str:
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

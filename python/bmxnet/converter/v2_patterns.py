"""BMXNet v2's graph patterns, for model-converter.

A model exported by the BMXNet v2 fork (or trained with ``bmxnet.v2``) differs from a bmxnet
export in four ways, handled here:

- **The fork's ops.** ``det_sign`` / ``approx_sign`` become ``bmx_det_sign(clip_threshold=0)``
  / ``bmx_approx_sign`` (same forward values), so the binary layers are recognised;
  ``round_ste`` becomes MXNet's ``_contrib_round_ste`` (the same op); ``_contrib_gradcancel``
  (identity in the forward pass) is bypassed. ``where(c, x, BlockGrad(x))``, bmxnet.v2's
  gradient cancelling, is bypassed too: its forward value is x. The converted graph then loads
  in stock MXNet with libbmxnet_ops.so.
- **The offset** ``(h + K) / 2`` after the convolution or dense layer,
  ``_div_scalar(_plus_scalar(h, scalar=K), scalar=2)``: folded into the binary op's
  per-channel ``scale`` (halved) and ``bias`` (``(bias + K) / 2``). Only power-of-two divisors
  are folded; on an integer ``h`` without bias or scaling before it (v2's layers) the folded
  ``h / 2 + K / 2`` is then exactly MXNet's ``(h + K) / 2``. Before a BatchNorm, which folds
  on top, the result is as close as BatchNorm folding is.
- **Pre-padding** with -1 (``Pad`` before ``Convolution``) is bmxnet's own pattern.
- **Weight scaling** ``broadcast_mul(h, transpose(mean(abs(w), axis=0, exclude=True,
  keepdims=True), axes=(1, 0, 2, 3)))``, with or without ``stop_gradient``: the transpose of a
  per-channel vector is recognised as the weight magnitude (``strip_transpose``).
"""
import math
from typing import List, Optional, Tuple

import numpy as np

__all__ = ["FORK_OPS", "normalize_fork_ops", "offset_after", "strip_transpose"]

# The fork's op -> (the op with the same forward value here, its attributes).
FORK_OPS = {
    "det_sign": ("bmx_det_sign", {"clip_threshold": "0"}),
    "approx_sign": ("bmx_approx_sign", {}),
    "round_ste": ("_contrib_round_ste", {}),
    "_contrib_gradcancel": ("_copy", {}),
}
_GRADIENT_STOPS = ("BlockGrad", "stop_gradient")
_IDENTITIES = ("_copy",)


def _forward_identity_input(node):
    """The entry whose value `node` forwards unchanged (a copy, or where(c, x, BlockGrad(x))),
    else None."""
    if node.op in _IDENTITIES and len(node.inputs) == 1:
        return node.inputs[0]
    if node.op == "where" and len(node.inputs) == 3:
        x, y = node.inputs[1], node.inputs[2]
        if y[0].op in _GRADIENT_STOPS and len(y[0].inputs) == 1 and y[1] == 0 \
                and tuple(y[0].inputs[0][:2]) == tuple(x[:2]):
            return x
    return None


def normalize_fork_ops(graph) -> List[str]:
    """Renames the fork's ops and bypasses forward identities, in place; returns notes."""
    renamed = {}
    for node in graph.nodes:
        if node.op in FORK_OPS:
            renamed[node.op] = renamed.get(node.op, 0) + 1
            node.set_op(*FORK_OPS[node.op])

    def resolve(entry):
        node, idx, ver = entry
        seen = 0
        while idx == 0 and seen <= len(graph.nodes):
            source = _forward_identity_input(node)
            if source is None:
                break
            node, idx, ver = source
            seen += 1
        return node, idx, ver

    bypassed = 0
    for node in graph.nodes:
        new_inputs = [resolve(e) for e in node.inputs]
        bypassed += sum(1 for a, b in zip(new_inputs, node.inputs) if a[0] is not b[0])
        node.inputs = new_inputs
    graph.heads = [h if _forward_identity_input(h[0]) is None or h[1] != 0 else resolve(h)
                   for h in graph.heads]
    graph.link_consumers()
    notes = [f"{count} {op} renamed to {FORK_OPS[op][0]}" for op, count in sorted(renamed.items())]
    if bypassed:
        notes.append(f"{bypassed} uses of forward-identity gradient shaping bypassed")
    return notes


def _scalar(node) -> Optional[float]:
    try:
        return float(np.float32(float(node.attrs.get("scalar", "nan"))))
    except (TypeError, ValueError):
        return None


def _power_of_two(v: Optional[float]) -> bool:
    return v is not None and v != 0 and math.isfinite(v) and math.frexp(abs(v))[0] == 0.5


def offset_after(end, sole_consumer) -> Optional[Tuple[object, float, float]]:
    """(last node, c, d) when `end` alone feeds ``_plus_scalar(c)`` / ``_minus_scalar(-c)``,
    optionally followed (alone) by ``_div_scalar(d)`` or ``_mul_scalar(1/d)`` with d a power of
    two: the output is ``(end + c) / d``, which folds exactly into a scale and bias."""
    user = sole_consumer(end)
    if user is None or user.op not in ("_plus_scalar", "_minus_scalar"):
        return None
    c = _scalar(user)
    if c is None or not math.isfinite(c):
        return None
    if user.op == "_minus_scalar":
        c = -c
    last, d = user, 1.0
    nxt = sole_consumer(user)
    if nxt is not None and nxt.op in ("_div_scalar", "_mul_scalar"):
        s = _scalar(nxt)
        if _power_of_two(s):
            last, d = nxt, (s if nxt.op == "_div_scalar" else 1.0 / s)
    return last, c, d


def strip_transpose(node, strip):
    """The node under a transpose (and pass-through ops), else `node`."""
    if node.op == "transpose" and len(node.inputs) == 1 and node.inputs[0][1] == 0:
        return strip(node.inputs[0])
    return node

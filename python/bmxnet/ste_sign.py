"""The straight-through signs as stock MXNet ops: how the quantizers build them, and how
model-converter and summary find them in an exported graph.

Every op used here has a CPU and a GPU kernel in stock MXNet 1.9.1, so a training graph that
binarizes with these signs runs wherever MXNet runs (``bmxnet.gpu_ops`` checks it). The
forward values and gradients equal those of the op library's ``bmx_det_sign`` /
``bmx_approx_sign`` bit for bit, for every input but NaN (MXNet's ``sign`` maps NaN to 0, so
these give +1 where the ops gave -1; a NaN activation means training has already diverged).

``det_sign(x, t)``: +1 where x >= 0, else -1; gradient ``dy`` where ``|x| <= t`` (everywhere
when t <= 0)::

    c = clip(x, a_min=-t, a_max=t)                 # only when t > 0; c = x otherwise
    y = _contrib_sign_ste(_plus_scalar(_contrib_sign_ste(c), scalar=0.1))

``sign_ste`` is MXNet's sign (-1, 0 or +1) with the identity gradient; ``+ 0.1`` then the outer
sign map its 0 (x == 0) to +1 and leave -1 and +1 as they are (larq's ``sign(sign(x) + 0.1)``).
``clip`` passes the gradient where ``-t <= x <= t`` and zeroes it elsewhere, which is the
gradient cancelling.

``approx_sign(x, t)``: the same forward value; gradient ``dy * (2 - 2|x|)`` where ``|x| <= t``
(t <= 1; Bi-Real Net's ApproxSign)::

    c = clip(x, a_min=-t, a_max=t)
    p = elemwise_mul(c, BlockGrad(_rminus_scalar(_mul_scalar(abs(c), scalar=2), scalar=2)))
    s = elemwise_add(elemwise_sub(p, BlockGrad(p)), BlockGrad(x))      # forward value: x
    y = det_sign(s, 0)

``p - BlockGrad(p)`` is exactly 0 in the forward pass and carries ``d p / d c = 2 - 2|c|``, a
single product with ``dy`` as in the op library's kernel.
"""

__all__ = ["det_sign", "approx_sign", "SignNode", "find_sign", "find_signs", "LIBRARY_SIGN_OPS"]

# The op library's CPU-only signs, as exported before the quantizers used stock ops; graphs
# holding them still convert and summarise.
LIBRARY_SIGN_OPS = ("bmx_det_sign", "bmx_approx_sign")

_ZERO_TO_PLUS = 0.1


def det_sign(F, x, clip_threshold=0.0):
    """sign(x) (+1 at 0) with the straight-through gradient, zeroed where |x| > clip_threshold
    (no cancelling when it is None or <= 0)."""
    t = float(clip_threshold or 0.0)
    if t > 0:
        x = F.clip(x, -t, t)
    return F.contrib.sign_ste(F.contrib.sign_ste(x) + _ZERO_TO_PLUS)


def approx_sign(F, x, clip_threshold=1.0):
    """sign(x) (+1 at 0) with the ApproxSign gradient ``2 - 2|x|`` on ``|x| <= clip_threshold``
    (at most 1: the gradient is 0 beyond), 0 elsewhere."""
    t = min(1.0, float(clip_threshold)) if clip_threshold and clip_threshold > 0 else 1.0
    c = F.clip(x, -t, t)
    p = c * F.BlockGrad(2 - 2 * F.abs(c))
    return det_sign(F, (p - F.BlockGrad(p)) + F.BlockGrad(x))


# ------------------------------------------------------------------------------------------
# Finding the signs in an exported graph (symbol JSON nodes)
# ------------------------------------------------------------------------------------------

class SignNode:
    """A sign found at node `index`: `kind` is "det_sign" or "approx_sign", `source` the
    (node index, output index) entry it binarizes, `clip_threshold` its gradient cancelling
    (0: none), `members` the node indices of the whole pattern."""

    def __init__(self, index, kind, source, clip_threshold, members):
        self.index, self.kind, self.source = index, kind, source
        self.clip_threshold, self.members = clip_threshold, members

    def __repr__(self):
        return (f"SignNode({self.index}, {self.kind!r}, source={self.source}, "
                f"clip_threshold={self.clip_threshold})")


def _attrs(node):
    for key in ("attrs", "attr", "param"):
        if isinstance(node.get(key), dict):
            return node[key]
    return {}


def _float_attr(node, key):
    try:
        return float(_attrs(node).get(key, "nan"))
    except (TypeError, ValueError):
        return float("nan")


def _single_input(nodes, i, op):
    """The (index, output) entry node i reads when it is `op` with one input, else None."""
    node = nodes[i]
    if node.get("op") != op or len(node.get("inputs", ())) != 1:
        return None
    src = node["inputs"][0]
    return (src[0], src[1])


def _stopped(nodes, entry):
    """The entry under a BlockGrad / stop_gradient at `entry`, else None."""
    i, k = entry
    if k != 0:
        return None
    for op in ("BlockGrad", "stop_gradient"):
        src = _single_input(nodes, i, op)
        if src is not None:
            return src
    return None


def _det_sign(nodes, i):
    """(source entry, clip threshold, members) when node i ends the det_sign pattern."""
    inner = _single_input(nodes, i, "_contrib_sign_ste")
    if inner is None or inner[1] != 0:
        return None
    plus = _single_input(nodes, inner[0], "_plus_scalar")
    if plus is None or plus[1] != 0 or not 0 < _float_attr(nodes[inner[0]], "scalar") < 1:
        return None
    source = _single_input(nodes, plus[0], "_contrib_sign_ste")
    if source is None:
        return None
    members = [i, inner[0], plus[0]]
    clipped = _single_input(nodes, source[0], "clip") if source[1] == 0 else None
    if clipped is not None:
        lo, hi = (_float_attr(nodes[source[0]], k) for k in ("a_min", "a_max"))
        if hi > 0 and lo == -hi:
            return clipped, hi, members + [source[0]]
    return source, 0.0, members


def _approx_source(nodes, entry):
    """(x entry, clip threshold, members) when `entry` is approx_sign's shaped input s."""
    i, k = entry
    node = nodes[i]
    if k != 0 or node.get("op") != "elemwise_add" or len(node.get("inputs", ())) != 2:
        return None
    sub, stopped_x = (tuple(e[:2]) for e in node["inputs"])
    x = _stopped(nodes, stopped_x)
    sub_node = nodes[sub[0]]
    if x is None or sub[1] != 0 or sub_node.get("op") != "elemwise_sub" or \
            len(sub_node.get("inputs", ())) != 2:
        return None
    p, stopped_p = (tuple(e[:2]) for e in sub_node["inputs"])
    mul = nodes[p[0]]
    if _stopped(nodes, stopped_p) != p or p[1] != 0 or mul.get("op") != "elemwise_mul" or \
            len(mul.get("inputs", ())) != 2:
        return None
    c = tuple(mul["inputs"][0][:2])
    if _single_input(nodes, c[0], "clip") != x or c[1] != 0:
        return None
    hi = _float_attr(nodes[c[0]], "a_max")
    if not 0 < hi <= 1 or _float_attr(nodes[c[0]], "a_min") != -hi:
        return None
    return x, (0.0 if hi == 1 else hi), [i, sub[0], stopped_x[0], p[0], stopped_p[0], c[0]]


def find_sign(nodes, i):
    """The :class:`SignNode` ending at node i of a symbol JSON node list, or None.

    Recognised: the stock-op signs built by :func:`det_sign` / :func:`approx_sign`, and the op
    library's ``bmx_det_sign`` / ``bmx_approx_sign`` of earlier exports."""
    node = nodes[i]
    op = node.get("op")
    if op in LIBRARY_SIGN_OPS:
        if len(node.get("inputs", ())) != 1:
            return None
        clip = _float_attr(node, "clip_threshold") if op == "bmx_det_sign" else 0.0
        clip = 1.0 if clip != clip else clip  # the op's default
        return SignNode(i, op[len("bmx_"):], tuple(node["inputs"][0][:2]), clip, [i])
    found = _det_sign(nodes, i)
    if found is None:
        return None
    source, clip, members = found
    if clip == 0:
        approx = _approx_source(nodes, source)
        if approx is not None:
            x, approx_clip, more = approx
            return SignNode(i, "approx_sign", x, approx_clip, members + more)
    return SignNode(i, "det_sign", source, clip, members)


def find_signs(nodes):
    """{index of the node that ends it: SignNode} for every sign of a symbol JSON node list."""
    found = {}
    for i in range(len(nodes)):
        sign = find_sign(nodes, i)
        if sign is not None:
            found[i] = sign
    return found

"""The straight-through signs as stock MXNet ops: how the quantizers build them, and how
model-converter and summary find them in an exported graph.

Every op used here has a CPU and a GPU kernel in stock MXNet 1.9.1, so a training graph that
binarizes with these signs runs wherever MXNet runs (``bmxnet.gpu_ops`` checks it). They use only
branch-free elementwise ops (comparisons, ``where``, arithmetic): MXNet's ``sign``, ``sign_ste``
and ``clip`` branch per element and run about 20x slower on the CPU. The forward values and
gradients equal those of the op library's ``bmx_det_sign`` / ``bmx_approx_sign`` bit for bit for
every finite input (an infinite one gives NaN here, +-1 there; it means training has diverged).

``det_sign(x, t)``: +1 where x >= 0, else -1; gradient ``dy`` where ``|x| <= t`` (everywhere
when t <= 0)::

    b = BlockGrad(x)
    m = where(_lesser_equal_scalar(abs(b), scalar=t), x, b)    # only when t > 0; else m = x
    v = _minus_scalar(_mul_scalar(_greater_equal_scalar(x, scalar=0), scalar=2), scalar=1)
    y = elemwise_add(v, elemwise_sub(m, b))

``v`` is the value, exactly -1 or +1, without a gradient; ``m - b`` is exactly 0 in the forward
pass and carries the gradient of ``m``: ``dy`` where ``|x| <= t``, 0 elsewhere (the gradient
cancelling).

``approx_sign(x, t)``: the same value; gradient ``dy * (2 - 2|x|)`` where ``|x| <= t`` (t <= 1;
Bi-Real Net's ApproxSign). With ``mask = _lesser_equal_scalar(abs(b), scalar=t)`` and ``m`` as
above, the carrier is ``elemwise_sub(p, BlockGrad(p))`` with
``p = elemwise_mul(m, BlockGrad(where(mask, _rminus_scalar(_mul_scalar(abs(b), scalar=2),
scalar=2), mask)))``: ``dp / dm = 2 - 2|x|`` (0 where masked), one product with ``dy`` as in
the op library.
"""

import contextlib
import threading

__all__ = ["det_sign", "approx_sign", "cancel_gradient", "library_ops", "library_ops_enabled",
           "SignNode", "find_sign", "find_signs", "LIBRARY_SIGN_OPS"]

# The op library's CPU-only signs, as exported before the quantizers used stock ops; graphs
# holding them still convert and summarise.
LIBRARY_SIGN_OPS = ("bmx_det_sign", "bmx_approx_sign")

_state = threading.local()


def library_ops_enabled():
    """Whether :func:`det_sign` / :func:`approx_sign` build the op library's signs here."""
    return getattr(_state, "library", False)


@contextlib.contextmanager
def library_ops(enabled=True):
    """Within the block, the signs are the op library's ``bmx_det_sign`` / ``bmx_approx_sign``
    (enabled) or stock MXNet ops (not; the default).

    The library ops give the same values and gradients and make a CPU training step faster (one
    op instead of several) but have no GPU kernel. ``bmxnet.nn``'s layers note the setting in
    force when they are constructed and build their graphs under it, so a model built inside
    ``with library_ops():`` keeps the library signs; ``bmxnet.training.build_model`` does that
    when every training device is a CPU."""
    previous = library_ops_enabled()
    _state.library = bool(enabled)
    try:
        yield
    finally:
        _state.library = previous


def cancel_gradient(F, x, threshold):
    """x in the forward pass (bit-exact); gradient zeroed where |x| > threshold."""
    return F.where(F.abs(x) <= threshold, x, F.BlockGrad(x))


def _value(x):
    """+1 where x >= 0, else -1 (NaN: -1), exactly; no gradient."""
    return (x >= 0) * 2 - 1


def det_sign(F, x, clip_threshold=0.0):
    """sign(x) (+1 at 0) with the straight-through gradient, zeroed where |x| > clip_threshold
    (no cancelling when it is None or <= 0)."""
    t = float(clip_threshold or 0.0)
    if library_ops_enabled():
        return F.bmx_det_sign(x, clip_threshold=t)
    b = F.BlockGrad(x)
    m = F.where(F.abs(b) <= t, x, b) if t > 0 else x
    return _value(x) + (m - b)


def approx_sign(F, x, clip_threshold=1.0):
    """sign(x) (+1 at 0) with the ApproxSign gradient ``2 - 2|x|`` on ``|x| <= clip_threshold``
    (at most 1: the gradient is 0 beyond), 0 elsewhere."""
    t = min(1.0, float(clip_threshold)) if clip_threshold and clip_threshold > 0 else 1.0
    if library_ops_enabled():
        if t < 1:
            x = cancel_gradient(F, x, t)
        return F.bmx_approx_sign(x)
    b = F.BlockGrad(x)  # the mask and the slope are computed off the gradient's path
    a = F.abs(b)
    mask = a <= t
    m = F.where(mask, x, b)
    p = m * F.BlockGrad(F.where(mask, 2 - 2 * a, mask))  # 0 where masked, as mask is
    return _value(x) + (p - F.BlockGrad(p))


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


def _input(nodes, entry, op, scalar=None):
    """The entry that `entry` reads when it is `op` with one input (and that scalar)."""
    i, k = entry
    if k != 0:
        return None
    src = _single_input(nodes, i, op)
    if src is not None and scalar is not None and _float_attr(nodes[i], "scalar") != scalar:
        return None
    return src


def _two_inputs(nodes, entry, op):
    i, k = entry
    node = nodes[i]
    if k != 0 or node.get("op") != op or len(node.get("inputs", ())) != 2:
        return None
    return tuple(tuple(e[:2]) for e in node["inputs"])


def _sign_value_source(nodes, entry):
    """x when `entry` is ``(x >= 0) * 2 - 1``, else None."""
    doubled = _input(nodes, entry, "_minus_scalar", 1.0)
    compared = doubled and _input(nodes, doubled, "_mul_scalar", 2.0)
    return compared and _input(nodes, compared, "_greater_equal_scalar", 0.0)


def _cancelled(nodes, entry, x):
    """The threshold when `entry` is x itself (0) or
    ``where(abs(BlockGrad(x)) <= t, x, BlockGrad(x))`` (t > 0), else None."""
    if entry == x:
        return 0.0
    i, k = entry
    node = nodes[i]
    if k != 0 or node.get("op") != "where" or len(node.get("inputs", ())) != 3:
        return None
    cond, kept, stopped = (tuple(e[:2]) for e in node["inputs"])
    if kept != x or _stopped(nodes, stopped) != x:
        return None
    magnitude = _input(nodes, cond, "_lesser_equal_scalar")
    of = magnitude and _input(nodes, magnitude, "abs")
    if of is None or (of != x and _stopped(nodes, of) != x):
        return None
    t = _float_attr(nodes[cond[0]], "scalar")
    return t if t > 0 else None


def _carrier(nodes, entry, x):
    """(kind, threshold) when `entry` carries x's gradient: ``m - BlockGrad(x)`` (det_sign)
    or ``p - BlockGrad(p)`` with ``p = m * BlockGrad(...)`` (approx_sign)."""
    pair = _two_inputs(nodes, entry, "elemwise_sub")
    if pair is None:
        return None
    m, stopped = pair
    under = _stopped(nodes, stopped)
    if under == x:
        t = _cancelled(nodes, m, x)
        return None if t is None else ("det_sign", t)
    product = _two_inputs(nodes, m, "elemwise_mul")
    if product is None or under != m or _stopped(nodes, product[1]) is None:
        return None
    t = _cancelled(nodes, product[0], x)
    if t is None or not 0 < t <= 1:
        return None
    return "approx_sign", (0.0 if t == 1 else t)


def _between(nodes, last, source):
    """The nodes that `last` depends on, itself included, down to (not including) `source`."""
    seen, stack = {last}, [last]
    while stack:
        for entry in nodes[stack.pop()].get("inputs", ()):
            j = entry[0]
            if j != source and j not in seen:
                seen.add(j)
                stack.append(j)
    return sorted(seen)


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
    pair = _two_inputs(nodes, (i, 0), "elemwise_add")
    if pair is None:
        return None
    value, carrier = pair
    x = _sign_value_source(nodes, value)
    found = _carrier(nodes, carrier, x) if x is not None else None
    if found is None:
        return None
    kind, clip = found
    return SignNode(i, kind, x, clip, _between(nodes, i, x[0]))


def find_signs(nodes):
    """{index of the node that ends it: SignNode} for every sign of a symbol JSON node list."""
    found = {}
    for i in range(len(nodes)):
        sign = find_sign(nodes, i)
        if sign is not None:
            found[i] = sign
    return found

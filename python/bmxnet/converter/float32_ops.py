"""MXNet 1.9.1's CPU float32 ops, evaluated in numpy with the same rounding.

Elementwise ops are single IEEE float32 operations with scalars cast to float32 first; sum/mean
reduce each output sequentially in the input's row-major order with mshadow's Kahan summation
(mean then divides by the count in float32). ``EXACT_OPS`` give MXNet's bits; ``APPROX_OPS``
do not (libm differs in the last bit) and are only used where the value cancels.
"""

import array as _array
import numpy as np

from .attrs import Attrs, format_shape, reduce_axes
from .errors import NotConvertible

F32 = np.float32


def kahan_rows(x: np.ndarray) -> np.ndarray:
    """(N, M) float32 -> (N,) float32: each row summed like mshadow's red::sum with residual."""
    n, m = x.shape
    if n >= 16:
        s = np.zeros(n, F32)
        r = np.zeros(n, F32)
        zero = F32(0)
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
    out = np.zeros(n, F32)
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


def _reduce(a: Attrs, x: np.ndarray, kind: str) -> np.ndarray:
    axes = reduce_axes(a, x.ndim)
    kept = [v for v in range(x.ndim) if v not in axes]
    rows = int(np.prod([x.shape[v] for v in kept], dtype=np.int64))
    count = int(np.prod([x.shape[v] for v in axes], dtype=np.int64))
    flat = np.transpose(x, kept + list(axes)).reshape(rows, count)
    if kind in ("max", "min"):
        if count == 0:
            raise NotConvertible(f"{a.node.op} node {a.node.name} reduces an empty array")
        out = flat.max(axis=1) if kind == "max" else flat.min(axis=1)
    else:
        out = kahan_rows(np.ascontiguousarray(flat))
        if kind == "mean":
            with np.errstate(all="ignore"):
                out = out / F32(count)
    if a.bool("keepdims", False):
        shape = tuple(1 if v in axes else x.shape[v] for v in range(x.ndim))
    else:
        shape = tuple(x.shape[v] for v in kept) or (1,)
    return out.reshape(shape)


def _reshape(a: Attrs, x: np.ndarray) -> np.ndarray:
    if a.bool("reverse", False):
        raise NotConvertible(f"Reshape node {a.node.name} has reverse=True")
    text = a.str("shape", a.str("target_shape", "()"))
    try:
        spec = [int(v) for v in text.strip("()[] ").split(",") if v.strip()]
    except ValueError:
        raise a.fail("shape", text, "a tuple of integers") from None
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
            raise NotConvertible(f"Reshape node {a.node.name} has shape={text} (only "
                                 "positive sizes, 0 and one -1 are folded)")
    if infer is not None:
        rest = int(np.prod(out, dtype=np.int64))
        if rest == 0 or x.size % rest:
            raise NotConvertible(f"Reshape node {a.node.name}: shape={text} does not fit "
                                 f"{format_shape(x.shape)}")
        out[infer] = x.size // rest
    if int(np.prod(out, dtype=np.int64)) != x.size:
        raise NotConvertible(f"Reshape node {a.node.name}: shape={text} does not fit "
                             f"{format_shape(x.shape)}")
    return x.reshape(out)


def _slice_axis(a: Attrs, x: np.ndarray) -> np.ndarray:
    axis = a.int("axis")
    if not -x.ndim <= axis < x.ndim:
        raise NotConvertible(f"slice_axis node {a.node.name} has axis={axis}")
    begin = a.int("begin", 0)
    end_text = a.str("end", "None").strip()
    end = None if end_text in ("None", "") else a.int("end")
    index = [slice(None)] * x.ndim
    index[axis] = slice(begin, end)
    out = x[tuple(index)]
    if out.size == 0:
        raise NotConvertible(f"slice_axis node {a.node.name} selects nothing")
    return out


def _scalar(a: Attrs) -> np.float32:
    return F32(a.float("scalar", 0.0))  # MXNet casts the scalar to the data type first


def _elementwise(fn):
    """Binary op on equal shapes (elemwise_*)."""
    def run(a, args):
        x, y = args
        if x.shape != y.shape:
            raise NotConvertible(f"{a.node.op} node {a.node.name} has inputs of shapes "
                                 f"{format_shape(x.shape)} and {format_shape(y.shape)}")
        return fn(x, y)
    return run, 2


def _broadcasting(fn):
    def run(a, args):
        x, y = args
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise NotConvertible(f"{a.node.op} node {a.node.name} cannot broadcast "
                                 f"{format_shape(x.shape)} with {format_shape(y.shape)}") from None
        return fn(x, y)
    return run, 2


def _cast(a, args):
    dtype = a.str("dtype", "float32")
    if dtype != "float32":
        raise NotConvertible(f"Cast node {a.node.name} casts to {dtype}")
    return args[0]


def _transpose(a, args):
    (x,) = args
    text = a.str("axes", "()")
    try:
        axes = tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        raise a.fail("axes", text, "a tuple of integers") from None
    if axes and sorted(v % x.ndim for v in axes) != list(range(x.ndim)):
        raise NotConvertible(f"transpose node {a.node.name} has axes={text}")
    return np.transpose(x, axes or None)


def _expand_dims(a, args):
    (x,) = args
    axis = a.int("axis")
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise NotConvertible(f"expand_dims node {a.node.name} has axis={axis}")
    return np.expand_dims(x, axis)


def _unary(fn):
    return (lambda a, args: fn(args[0])), 1


def _where(a, args):
    cond, x, y = args
    if not cond.shape == x.shape == y.shape:
        raise NotConvertible(f"where node {a.node.name} has inputs of different shapes")
    return np.where(cond != 0, x, y)


_ONE = F32(1)
_IDENTITY = _unary(lambda x: x)
# op -> (function(attrs, input arrays) -> array, number of inputs or None for any)
EXACT_OPS = {
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
    **{op: ((lambda a, args, f=f: f(args[0], _scalar(a)).astype(F32)), 1)
       for op, f in (("_lesser_scalar", np.less), ("_lesser_equal_scalar", np.less_equal),
                     ("_greater_scalar", np.greater),
                     ("_greater_equal_scalar", np.greater_equal),
                     ("_equal_scalar", np.equal), ("_not_equal_scalar", np.not_equal))},
}
# Ops that are not correctly rounded (MXNet's libm and numpy's differ in the last bit). They
# are evaluated only where the value cancels, as in a quantizer's straight-through trick
# (f - BlockGrad(f)) + BlockGrad(x), whose forward value is exactly x for any finite f.
APPROX_OPS = {
    "sigmoid": _unary(lambda x: _ONE / (_ONE + np.exp(-x))),
    "tanh": _unary(np.tanh),
    "exp": _unary(np.exp),
    "log": _unary(np.log),
    "softsign": _unary(lambda x: x / (_ONE + np.abs(x))),
}
REDUCE_OPS = frozenset(("sum", "sum_axis", "mean", "max", "max_axis", "min", "min_axis"))

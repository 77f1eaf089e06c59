"""Typed reading of a node's string attributes, and MXNet's spelling of shapes."""

from typing import Optional, Tuple

from .errors import ConversionError, NotConvertible
from .graph import Node


def format_shape(shape) -> str:
    """MXNet's tuple spelling: "(3, 3)", "(8,)", "()"."""
    shape = tuple(int(d) for d in shape)
    return "(%s,)" % shape[0] if len(shape) == 1 else str(shape)


class Attrs:
    """Typed access to a node's string attributes, failing with a ConversionError."""

    def __init__(self, node: Node, path: str):
        self.node, self.attrs, self.path = node, node.attrs, path

    def fail(self, key, value, expected):
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
            raise self.fail(key, value, "a tuple of integers") from None
        if len(dims) == 1:
            dims = dims * size
        if len(dims) != size:
            raise NotConvertible(f"{key}={value} is not {size}-D")
        return dims

    def int(self, key: str, default: Optional[int] = None) -> int:
        value = self.attrs.get(key)
        if value is None:
            if default is None:
                raise self.fail(key, value, "an integer")
            return default
        try:
            return int(value.strip())
        except ValueError:
            raise self.fail(key, value, "an integer") from None

    def float(self, key: str, default: float) -> float:
        value = self.attrs.get(key)
        if value is None:
            return default
        try:
            return float(value.strip())
        except ValueError:
            raise self.fail(key, value, "a number") from None

    def bool(self, key: str, default: bool) -> bool:
        value = self.attrs.get(key)
        if value is None:
            return default
        text = value.strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise self.fail(key, value, "True or False")

    def str(self, key: str, default: str) -> str:
        return self.attrs.get(key, default)


def int_tuple(a: Attrs, key: str) -> Optional[Tuple[int, ...]]:
    text = a.str(key, "")
    try:
        return tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        return None


def reduce_axes(a: Attrs, ndim: int) -> Tuple[int, ...]:
    """The reduced axes of a sum/mean/max/min node on an ndim-D input, ascending."""
    text = a.str("axis", "None").strip()
    if text in ("None", "", "()", "[]"):
        axes = ()
    else:
        try:
            axes = tuple(int(v) for v in text.strip("()[] ").split(",") if v.strip())
        except ValueError:
            raise a.fail("axis", text, "a tuple of integers") from None
    if any(not -ndim <= v < ndim for v in axes):
        raise NotConvertible(f"{a.node.op} node {a.node.name} has axis={text} for a "
                             f"{ndim}-D input")
    axes = sorted({v % ndim for v in axes})
    if a.bool("exclude", False):
        return tuple(v for v in range(ndim) if v not in axes)
    return tuple(axes) if axes else tuple(range(ndim))

"""Constant folding: subgraphs of parameters, evaluated as MXNet 1.9.1 evaluates them on CPU.

A binarized weight may be computed from parameters instead of being one (ABC-Net's bases
sign(w - mean(w) + u * std(w))), and a layer output may be scaled by such an expression
(XNOR-Net's mean(|w|)). The converter evaluates these in numpy, in float32, in the order
MXNet's CPU kernels use (``float32_ops``), so that sign() of the result has exactly the bits
MXNet's forward pass binarizes (sign(0) = +1 makes ties matter). Ops outside that list are
refused with the reason (add_n too: MXNet does not add its inputs in one fixed order). This is
MXNet's default; a model trained with MXNET_SAFE_ACCUMULATION=1 sums in float64, which can move
a weight that sits within an ulp of its base's threshold.
"""

from typing import Dict, Optional, Tuple

import numpy as np

from .attrs import Attrs
from .errors import ConversionError, NotConvertible
from .float32_ops import APPROX_OPS, EXACT_OPS
from .graph import Node
from .params import Params

_SUBTRACT_OPS = frozenset(("elemwise_sub", "_minus", "_Minus", "_sub", "broadcast_sub",
                           "broadcast_minus"))
_GRADIENT_STOPS = frozenset(("BlockGrad", "stop_gradient"))
_FOLD_MAX_DEPTH = 200


class Folder:
    """Evaluates subgraphs of parameters and constants; caches every node it evaluates."""

    def __init__(self, params: Params, path: str):
        self.params, self.path = params, path
        self.cache: Dict[Tuple[Node, int], np.ndarray] = {}
        self.approx_cache: Dict[Tuple[Node, int], np.ndarray] = {}
        sizes = [v.size for v in params.entries.values() if v is not None]
        self.max_size = max([1 << 22] + [8 * s for s in sizes])

    @staticmethod
    def variables(node: Node):
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

    def _cancels(self, node: Node, depth: int) -> Optional[np.ndarray]:
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
            raise NotConvertible(f"{node.op} node {node.name} subtracts a value that is not "
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
            raise NotConvertible("its expression is too deep to evaluate")
        if index != 0:
            raise NotConvertible(f"it uses output {index} of {node.op} node {node.name}")
        exact = True  # whether `value` is what MXNet computes (else only approximately)
        zeros = None if node.is_var else self._cancels(node, depth)
        if node.is_var:
            if node.name not in self.params or self.params.get(node.name) is None:
                raise NotConvertible(f"it depends on the input {node.name}, not only on "
                                     "parameters")
            value = self.params.get(node.name)
            if value.dtype != np.float32:
                raise NotConvertible(f"its parameter {node.name} is {value.dtype}; only "
                                     "float32 expressions are evaluated")
        elif zeros is not None:
            value = zeros
        else:
            rule = EXACT_OPS.get(node.op) or (APPROX_OPS.get(node.op) if approx else None)
            if rule is None:
                raise NotConvertible(f"it is computed by {node.op} (node {node.name}), an op "
                                     "the converter does not evaluate exactly")
            fn, arity = rule
            if (arity is not None and len(node.inputs) != arity) or not node.inputs:
                raise NotConvertible(f"{node.op} node {node.name} has {len(node.inputs)} "
                                     "inputs")
            args = [self.eval(e, depth + 1, approx) for e in node.inputs]
            exact = node.op in EXACT_OPS and all((src, idx) in self.cache
                                                 for src, idx, _ in node.inputs)
            if node.op.startswith("broadcast_") and len(args) == 2:
                try:
                    size = int(np.prod(np.broadcast_shapes(args[0].shape, args[1].shape),
                                       dtype=np.int64))
                except ValueError:
                    size = 0
                if size > self.max_size:
                    raise NotConvertible(f"{node.op} node {node.name} would make "
                                         f"{size:,} values")
            try:
                with np.errstate(all="ignore"):
                    value = fn(Attrs(node, self.path), args)
            except (NotConvertible, ConversionError):
                raise
            except (ValueError, TypeError, IndexError, OverflowError, MemoryError) as e:
                raise NotConvertible(f"{node.op} node {node.name} cannot be evaluated "
                                     f"({e})") from None
            value = np.asarray(value)
            if value.dtype != np.float32:
                raise NotConvertible(f"{node.op} node {node.name} does not give float32")
            if value.size > self.max_size:
                raise NotConvertible(f"{node.op} node {node.name} makes {value.size:,} values")
        value = np.array(value, dtype=np.float32)
        value.flags.writeable = False
        (self.cache if exact else self.approx_cache)[key] = value
        return value

"""BMXNet v2's elementwise training ops, on stock MXNet ops.

Each takes an NDArray or a Symbol (``F`` is picked from it) and has the forward value and
gradient of the op of the same name in the BMXNet v2 fork:

=====================  ===================================================================
function               forward / backward
=====================  ===================================================================
``det_sign(x)``        sign(x), +1 at 0 / 1 (straight-through, never cancelled)
``approx_sign(x)``     sign(x), +1 at 0 / ``2 - 2|x|`` (Bi-Real Net's ApproxSign; as in the
                       fork, not clipped outside [-1, 1]: cancel with ``gradcancel`` first)
``round_ste(x)``       round half away from zero / 1 (MXNet's ``contrib.round_ste``)
``gradcancel(x, t)``   x / 1 where ``|x| <= t``, else 0 (the fork's ``contrib.gradcancel``)
=====================  ===================================================================

Importing ``bmxnet.v2`` also gives NDArray and Symbol the fork's fluent methods
``x.det_sign()``, ``x.approx_sign()`` and ``x.round_ste()`` (these functions), where MXNet has
none of that name.

The forward values are bit-exact: the sign ops end with bmxnet's straight-through sign of
stock MXNet ops (``bmxnet.ste_sign``, so model-converter finds a binary layer's input and the
graph trains on GPUs too), and gradient shaping uses ops whose forward value is exactly
their input (``where(mask, x, BlockGrad(x))``, ``(f - BlockGrad(f)) + BlockGrad(x)``).
"""
from mxnet import ndarray, symbol
from mxnet.ndarray import NDArray
from mxnet.symbol import Symbol

from .. import quantizers, ste_sign

__all__ = ["det_sign", "approx_sign", "round_ste", "gradcancel"]


def _module(x):
    return symbol if isinstance(x, symbol.Symbol) else ndarray


def det_sign(x):
    """sign(x) (+1 at 0) with the straight-through gradient 1 everywhere."""
    return _det_sign(_module(x), x)


def approx_sign(x):
    """sign(x) (+1 at 0) with the gradient ``2 - 2|x|`` (unclipped, as in BMXNet v2)."""
    return _approx_sign(_module(x), x)


def round_ste(x):
    """round(x) (half away from zero) with the straight-through gradient 1."""
    return _module(x).contrib.round_ste(x)


def gradcancel(x, threshold=1.0):
    """x, with the gradient zeroed where ``|x| > threshold``."""
    return _gradcancel(_module(x), x, threshold)


def _det_sign(F, x):
    return quantizers.det_sign(F, x, clip_threshold=0.0)


def _approx_sign(F, x):
    # f = 2x - x|x| has the derivative 2 - 2|x| on the whole line.
    shaped = quantizers._with_gradient(F, x, 2 * x - x * F.abs(x))
    return quantizers.det_sign(F, shaped, clip_threshold=0.0)


def _gradcancel(F, x, threshold):
    return ste_sign.cancel_gradient(F, x, float(threshold))


def install_fluent_methods():
    """x.det_sign(), x.approx_sign(), x.round_ste() on NDArray and Symbol, as in the fork."""
    for cls in (NDArray, Symbol):
        for name, fn in (("det_sign", det_sign), ("approx_sign", approx_sign),
                         ("round_ste", round_ste)):
            if not hasattr(cls, name):
                setattr(cls, name, fn)

"""Quantizer functions ``q(F, x, **options)`` and their string registry.

A quantizer maps a tensor to its quantized value in the forward pass and defines the gradient
used in the backward pass (usually a straight-through estimator, STE). ``F`` is ``mx.nd`` or
``mx.sym`` (as in ``hybrid_forward``). Every quantizer accepts the options

- ``clip_threshold``: gradient cancelling for the sign quantizers and k-bit activations: the
  gradient is zeroed where ``|x| > clip_threshold`` (``None`` or ``0`` disables it);
- ``bits``: the width of the k-bit quantizers (``dorefa``);
- ``mode``: ``"weights"`` or ``"activations"`` (``dorefa`` quantizes them differently);

and ignores the options it has no use for, so layers can call any of them the same way.
Custom quantizers registered with :func:`register` should accept ``**options`` too.

=================  ======================================================================
name               forward / backward
=================  ======================================================================
``det_sign``       sign(x) (+1 at 0) / STE, cancelled where |x| > clip
``approx_sign``    sign(x) / 2 - 2|x| on [-1, 1] (Bi-Real Net)
``swish_sign``     sign(x) / derivative of SignSwish, beta = 5 (BNN+, Darabi et al. 2018)
``ste_heaviside``  1 if x >= 0 else 0 / STE, cancelled where |x| > clip (larq)
``dorefa``         k-bit DoReFa (Zhou et al. 2016), 2..31 bits, weights or activations
                   (activations: gradient also cancelled where |x| > clip)
``identity``       x / 1 (32 bits: no quantization)
=================  ======================================================================

The sign quantizers end with one of the straight-through signs of ``bmxnet.ste_sign``, built
from stock MXNet ops that have CPU and GPU kernels, whose forward value is exactly +-1, so a
layer using them on its input is recognised by model-converter. Gradient shaping other than the
sign's own is done with built-in ops whose forward value is exactly their input
(``where(mask, x, BlockGrad(x))``, ``(f - BlockGrad(f)) + BlockGrad(x)``), so the forward result
stays bit-exact. k-bit quantizers use only built-in MXNet ops (``clip``, ``round_ste``, ``tanh``,
...): they are simulated in float, as in BMXNet, and model-converter leaves them float.
"""

__all__ = ["register", "get", "names", "is_sign", "det_sign", "approx_sign", "swish_sign",
           "ste_heaviside", "dorefa", "identity"]

from . import ste_sign

_REGISTRY = {}


def register(name, one_bit=False):
    """Decorator registering ``fn(F, x, **options)`` as the quantizer `name`.

    one_bit: the quantizer produces 1-bit values (a layer with ``bits > 1`` replaces it by
    ``dorefa``, one with ``bits == 32`` by ``identity``).
    """
    def decorate(fn):
        fn.one_bit = one_bit
        _REGISTRY[name] = fn
        return fn
    return decorate


def get(name):
    """The quantizer registered as `name`; a callable is returned unchanged."""
    if callable(name):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown quantizer {name!r}; choose one of {names()}") from None


def names():
    """Names accepted by get()."""
    return sorted(_REGISTRY)


def is_sign(quantizer):
    """Whether `quantizer` (a name or a callable) is a registered 1-bit quantizer."""
    return bool(getattr(get(quantizer), "one_bit", False))


def _cancels(clip_threshold):
    return clip_threshold is not None and clip_threshold > 0


def _cancel_gradient(F, x, clip_threshold):
    """x in the forward pass (bit-exact); gradient zeroed where |x| > clip_threshold."""
    if not _cancels(clip_threshold):
        return x
    return ste_sign.cancel_gradient(F, x, clip_threshold)


def _with_gradient(F, x, f):
    """Forward value x (bit-exact: (f - f) + x == x), gradient df/dx."""
    return (f - F.BlockGrad(f)) + F.BlockGrad(x)


@register("det_sign", one_bit=True)
def det_sign(F, x, clip_threshold=1.0, **_):
    """sign(x) (+1 at 0); straight-through gradient, cancelled where |x| > clip_threshold."""
    return ste_sign.det_sign(F, x, clip_threshold)


@register("approx_sign", one_bit=True)
def approx_sign(F, x, clip_threshold=None, **_):
    """sign(x) with the ApproxSign gradient 2 - 2|x| of Bi-Real Net (Liu et al. 2018).

    The gradient is already 0 outside [-1, 1]; a clip_threshold below 1 cancels it further.
    """
    return ste_sign.approx_sign(F, x, clip_threshold)


@register("swish_sign", one_bit=True)
def swish_sign(F, x, clip_threshold=None, beta=5.0, **_):
    """sign(x) with the gradient of SignSwish (BNN+, Darabi et al. 2018; larq's SwishSign):
    ``beta * (2 - beta * x * tanh(beta * x / 2)) / (1 + cosh(beta * x))``, optionally cancelled
    where |x| > clip_threshold."""
    bx = x * beta
    s = F.sigmoid(bx)
    sign_swish = 2 * s * (1 + bx * (1 - s)) - 1  # its derivative is the formula above
    z = _with_gradient(F, x, sign_swish)
    return ste_sign.det_sign(F, z, clip_threshold)


@register("ste_heaviside", one_bit=True)
def ste_heaviside(F, x, clip_threshold=1.0, **_):
    """1 if x >= 0 else 0 (binary {0, 1} values, as larq's ste_heaviside but 1 at 0, following
    the sign convention); straight-through gradient 1, cancelled where |x| > clip_threshold."""
    z = x * 2 - F.BlockGrad(x)  # forward value x (exact), gradient 2
    return (ste_sign.det_sign(F, z, clip_threshold) + 1) * 0.5


@register("dorefa")
def dorefa(F, x, bits=2, mode="activations", clip_threshold=None, **_):
    """k-bit DoReFa-Net quantization (Zhou et al. 2016, "DoReFa-Net: Training Low Bitwidth
    Convolutional Neural Networks with Low Bitwidth Gradients"), 2 <= bits <= 31.

    activations: ``round(clip(x, 0, 1) * n) / n`` with ``n = 2**bits - 1``; gradient 1 on
    ``[0, min(1, clip_threshold)]`` (a threshold of 1 or more, None or 0 cancels nothing
    beyond the clip).
    weights: ``2 * q(tanh(w) / (2 max|tanh(w)|) + 1/2) - 1``, values in [-1, 1]; STE through round.
    """
    bits = int(bits)
    if not 2 <= bits <= 31:
        raise ValueError(f"dorefa: bits must be in 2..31, got {bits}")
    n = float(2 ** bits - 1)
    if mode == "activations":
        if _cancels(clip_threshold) and clip_threshold < 1:
            x = _cancel_gradient(F, x, clip_threshold)
        return F.contrib.round_ste(F.clip(x, 0.0, 1.0) * n) / n
    if mode != "weights":
        raise ValueError(f"dorefa: mode must be 'weights' or 'activations', got {mode!r}")
    t = F.tanh(x)
    t = F.broadcast_div(t, F.maximum(F.max(F.abs(t)), 1e-12) * 2) + 0.5
    return F.contrib.round_ste(t * n) * (2.0 / n) - 1


@register("identity")
def identity(F, x, **_):
    """No quantization (32 bits)."""
    return x

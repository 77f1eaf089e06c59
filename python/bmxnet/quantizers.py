"""Quantizer functions ``q(F, x, **options)`` and their string registry."""

_REGISTRY = {}


def register(name):
    def decorate(fn):
        _REGISTRY[name] = fn
        return fn
    return decorate


def get(name):
    """The quantizer registered as `name`; a callable is returned unchanged."""
    if callable(name):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown quantizer {name!r}; choose one of {sorted(_REGISTRY)}") from None


def names():
    return sorted(_REGISTRY)


@register("det_sign")
def det_sign(F, x, clip_threshold=1.0):
    """sign(x) (+1 at 0); straight-through gradient, cancelled where |x| > clip_threshold."""
    return F.bmx_det_sign(x, clip_threshold=clip_threshold)


@register("approx_sign")
def approx_sign(F, x, clip_threshold=None):
    """sign(x) with the ApproxSign gradient 2 - 2|x| of Bi-Real Net (Liu et al. 2018)."""
    return F.bmx_approx_sign(x)

"""Binary model zoo, gluon-cv style: ``get_model(name, classes=..., **kwargs)``."""
from .lenet import binary_lenet

_MODELS = {
    "binary_lenet": binary_lenet,
}


def get_model_list():
    """Names accepted by get_model."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Builds the model `name` (see get_model_list()) with the given keyword arguments."""
    try:
        builder = _MODELS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(get_model_list())}") from None
    return builder(**kwargs)


__all__ = ["get_model", "get_model_list", "binary_lenet"]

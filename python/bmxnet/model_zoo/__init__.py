"""Binary model zoo, gluon-cv style: ``get_model(name, classes=..., **kwargs)``.

Quantization options (``bits``, ``bits_a``, ``input_quantizer``, ``kernel_quantizer``,
``clip_threshold``, ``scaling``, ``pad_value``, ...; see ``bmxnet.nn``) are passed on to every
quantized layer of the model; the first and last layers stay float in every model.
"""
from .lenet import binary_lenet
from .resnet import (BinaryResNetV1, get_binary_resnet, binary_resnet18_v1, binary_resnet34_v1,
                     binary_resnet18_cifar)
from .resnete import BinaryResNetE, binary_resnete18, binary_resnete34
from .densenet import (BinaryDenseNet, binary_densenet28, binary_densenet37, meliusnet22,
                       meliusnet29)

_MODELS = {
    "binary_lenet": binary_lenet,
    "binary_resnet18_v1": binary_resnet18_v1,
    "binary_resnet34_v1": binary_resnet34_v1,
    "binary_resnet18_cifar": binary_resnet18_cifar,
    "binary_resnete18": binary_resnete18,
    "binary_resnete34": binary_resnete34,
    "binary_densenet28": binary_densenet28,
    "binary_densenet37": binary_densenet37,
    "meliusnet22": meliusnet22,
    "meliusnet29": meliusnet29,
}


def get_model_list():
    """Names accepted by get_model."""
    return sorted(_MODELS)


def get_model(name, **kwargs):
    """Builds the model `name` (see get_model_list()) with the given keyword arguments."""
    try:
        builder = _MODELS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(get_model_list())}") from None
    return builder(**kwargs)


__all__ = ["get_model", "get_model_list", "get_binary_resnet", "BinaryResNetV1", "BinaryResNetE",
           "BinaryDenseNet"] + sorted(_MODELS)

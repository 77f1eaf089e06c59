"""Binary LeNet for 28x28 digits, as in BMXNet (Yang et al., "BMXNet: An Open-Source Binary
Neural Network Implementation Based on MXNet", ACM MM 2017): first conv and last dense stay
float, the middle conv and dense are binary (1-bit weights and activations)."""
from mxnet.gluon import nn

from ..nn import QConv2D, QDense
from ._common import check_pretrained, dense_options, split_quant_options


def binary_lenet(classes=10, channels=(64, 128), hidden=512, pretrained=False, **kwargs):
    """Binary LeNet; quantization options (bits, bits_a, scaling, pad_value, ...) go to the
    binary conv and dense layers."""
    check_pretrained("binary_lenet", pretrained)
    quant, kwargs = split_quant_options(dict(kwargs))
    kwargs.setdefault("prefix", "binary_lenet_")
    net = nn.HybridSequential(**kwargs)
    with net.name_scope():
        net.add(nn.Conv2D(channels[0], kernel_size=5, padding=2, use_bias=False),
                nn.BatchNorm(),
                nn.Activation("relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.BatchNorm(),  # centres the binary layer's input around 0 before sign
                QConv2D(channels[1], kernel_size=5, padding=2, use_bias=False, **quant),
                nn.BatchNorm(),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Flatten(),
                QDense(hidden, use_bias=False, **dense_options(quant)),
                nn.BatchNorm(),
                nn.Activation("relu"),
                nn.Dense(classes))
    return net

"""Binary ResNet v1 (He et al. 2016, "Deep Residual Learning for Image Recognition") as trained
in BMXNet (Yang et al., ACM MM 2017) and BMXNet v2 (Bethge et al. 2019, "Back to Simplicity: How
to Train Accurate BNNs from Scratch?"), in gluon-cv's layout (``features`` + ``output``).

The stem (first convolution, for ImageNet 7x7/2 + max pool, for CIFAR a 3x3/1 "thumbnail"),
the 1x1 downsampling shortcuts and the final classifier stay float; every 3x3 convolution in the
residual blocks is binary. Binary networks drop the ReLUs inside the blocks (sign follows
anyway) and keep a BatchNorm before each sign, so each binary convolution sees inputs centred
on 0; a basic block is ``x + BN(QConv(BN(QConv(x))))``.
"""
from mxnet.gluon import HybridBlock, nn

from ..nn import QConv2D
from ._common import check_pretrained, split_quant_options

__all__ = ["BinaryBasicBlockV1", "BinaryResNetV1", "get_binary_resnet", "binary_resnet18_v1",
           "binary_resnet34_v1", "binary_resnet18_cifar"]

# num_layers -> (blocks per stage, channels: stem then the four stages)
resnet_spec = {18: ([2, 2, 2, 2], [64, 64, 128, 256, 512]),
               34: ([3, 4, 6, 3], [64, 64, 128, 256, 512])}


class BinaryBasicBlockV1(HybridBlock):
    """Residual block: two binary 3x3 convolutions, each followed by BatchNorm; a float 1x1
    convolution + BatchNorm on the shortcut when the shape changes."""

    def __init__(self, channels, stride, downsample=False, in_channels=0, quant=None, **kwargs):
        super().__init__(**kwargs)
        quant = quant or {}
        self.body = nn.HybridSequential(prefix="")
        self.body.add(QConv2D(channels, 3, stride, 1, use_bias=False, in_channels=in_channels,
                              **quant),
                      nn.BatchNorm(),
                      QConv2D(channels, 3, 1, 1, use_bias=False, in_channels=channels, **quant),
                      nn.BatchNorm())
        if downsample:
            self.downsample = nn.HybridSequential(prefix="")
            self.downsample.add(nn.Conv2D(channels, 1, stride, use_bias=False,
                                          in_channels=in_channels),
                                nn.BatchNorm())
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample is not None else x
        return self.body(x) + residual


class BinaryResNetV1(HybridBlock):
    """Binary ResNet v1. ``thumbnail=True`` uses a 3x3/1 stem for 32x32 inputs (CIFAR)."""

    def __init__(self, layers, channels, classes=1000, thumbnail=False, quant=None, **kwargs):
        super().__init__(**kwargs)
        assert len(layers) == len(channels) - 1
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            if thumbnail:
                self.features.add(nn.Conv2D(channels[0], 3, 1, 1, use_bias=False))
            else:
                self.features.add(nn.Conv2D(channels[0], 7, 2, 3, use_bias=False))
            self.features.add(nn.BatchNorm(), nn.Activation("relu"))
            if not thumbnail:
                self.features.add(nn.MaxPool2D(3, 2, 1))
            self.features.add(nn.BatchNorm())  # centres the first binary input on 0
            for i, num_layer in enumerate(layers):
                stride = 1 if i == 0 else 2
                stage = nn.HybridSequential(prefix=f"stage{i + 1}_")
                with stage.name_scope():
                    stage.add(BinaryBasicBlockV1(channels[i + 1], stride,
                                                 channels[i + 1] != channels[i] or stride != 1,
                                                 in_channels=channels[i], quant=quant,
                                                 prefix=""))
                    for _ in range(num_layer - 1):
                        stage.add(BinaryBasicBlockV1(channels[i + 1], 1, False,
                                                     in_channels=channels[i + 1], quant=quant,
                                                     prefix=""))
                self.features.add(stage)
            self.features.add(nn.Activation("relu"), nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels[-1])

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def get_binary_resnet(num_layers, classes=1000, thumbnail=False, pretrained=False, **kwargs):
    """Binary ResNet v1 with `num_layers` (18 or 34); quantization options (bits, bits_a,
    input_quantizer, kernel_quantizer, clip_threshold, scaling, pad_value, weight_bases,
    act_bases) go to every binary convolution, the rest to the network's HybridBlock."""
    check_pretrained(f"binary_resnet{num_layers}_v1", pretrained)
    if num_layers not in resnet_spec:
        raise ValueError(f"binary ResNet: num_layers must be one of {sorted(resnet_spec)}, "
                         f"got {num_layers}")
    quant, kwargs = split_quant_options(dict(kwargs))
    layers, channels = resnet_spec[num_layers]
    return BinaryResNetV1(layers, channels, classes=classes, thumbnail=thumbnail, quant=quant,
                          **kwargs)


def binary_resnet18_v1(**kwargs):
    """Binary ResNet-18 v1, ImageNet stem (224x224 inputs): float 7x7 stem conv, 1x1
    shortcuts and classifier, binary 3x3 convolutions (BMXNet, Yang et al. 2017)."""
    return get_binary_resnet(18, **kwargs)


def binary_resnet34_v1(**kwargs):
    """Binary ResNet-34 v1, ImageNet stem (as binary_resnet18_v1)."""
    return get_binary_resnet(34, **kwargs)


def binary_resnet18_cifar(classes=10, **kwargs):
    """Binary ResNet-18 for 32x32 inputs (CIFAR-10/100): 3x3/1 float stem, no max pool, as
    trained in BMXNet v2 (Bethge et al. 2019)."""
    return get_binary_resnet(18, classes=classes, thumbnail=True, **kwargs)

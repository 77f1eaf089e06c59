"""Binary ResNet-E (Bethge et al. 2019, "Back to Simplicity: How to Train Accurate BNNs from
Scratch?", arXiv:1906.08637; trained with BMXNet v2), in gluon-cv's layout.

Every binary 3x3 convolution gets its own shortcut (the ResNet basic block is split in two:
``x + BN(QConv(x))``), the downsampling shortcut is ``AvgPool 2x2 -> float 1x1 conv -> BN``, the
stem and the classifier stay float, and a BatchNorm follows the stem's max pool so the first
binary layer sees centred inputs. Defaults follow the reference (larq zoo): gradient cancelling
at ``clip_threshold=1.25``.
"""
from mxnet.gluon import HybridBlock, nn

from ..nn import QConv2D
from ._common import check_pretrained, split_quant_options

__all__ = ["BinaryResNetE", "binary_resnete18", "binary_resnete34"]

resnete_spec = {18: ([2, 2, 2, 2], [64, 128, 256, 512]),
                34: ([3, 4, 6, 3], [64, 128, 256, 512])}


class _ResidualUnitE(HybridBlock):
    """x + BN(QConv3x3(x)); the shortcut downsamples with AvgPool + float 1x1 conv + BN."""

    def __init__(self, channels, stride, in_channels, quant, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            self.body.add(QConv2D(channels, 3, stride, 1, use_bias=False,
                                  in_channels=in_channels, **quant),
                          nn.BatchNorm(momentum=0.9, epsilon=1e-5))
            if in_channels != channels or stride != 1:
                self.downsample = nn.HybridSequential(prefix="")
                if stride != 1:
                    self.downsample.add(nn.AvgPool2D(stride, stride))
                self.downsample.add(nn.Conv2D(channels, 1, use_bias=False,
                                              in_channels=in_channels),
                                    nn.BatchNorm(momentum=0.9, epsilon=1e-5))
            else:
                self.downsample = None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample is not None else x
        return self.body(x) + residual


class BinaryResNetE(HybridBlock):
    """Binary ResNet-E; ``thumbnail=True`` uses a 3x3/1 stem for 32x32 inputs."""

    def __init__(self, layers, channels, classes=1000, thumbnail=False, initial_channels=64,
                 quant=None, **kwargs):
        super().__init__(**kwargs)
        quant = quant or {}
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            if thumbnail:
                self.features.add(nn.Conv2D(initial_channels, 3, 1, 1, use_bias=False))
            else:
                self.features.add(nn.Conv2D(initial_channels, 7, 2, 3, use_bias=False),
                                  nn.BatchNorm(momentum=0.9, epsilon=1e-5),
                                  nn.Activation("relu"), nn.MaxPool2D(3, 2, 1))
            self.features.add(nn.BatchNorm(momentum=0.9, epsilon=1e-5))
            in_channels = initial_channels
            for i, (num_blocks, c) in enumerate(zip(layers, channels)):
                stage = nn.HybridSequential(prefix=f"stage{i + 1}_")
                with stage.name_scope():
                    # Two units (one binary conv each) per basic block of the original ResNet.
                    for j in range(2 * num_blocks):
                        stride = 2 if i > 0 and j == 0 else 1
                        stage.add(_ResidualUnitE(c, stride, in_channels, quant, prefix=""))
                        in_channels = c
                self.features.add(stage)
            self.features.add(nn.Activation("relu"), nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _resnete(num_layers, classes=1000, thumbnail=False, pretrained=False, **kwargs):
    check_pretrained(f"binary_resnete{num_layers}", pretrained)
    quant, kwargs = split_quant_options(dict(kwargs))
    quant.setdefault("clip_threshold", 1.25)
    layers, channels = resnete_spec[num_layers]
    return BinaryResNetE(layers, channels, classes=classes, thumbnail=thumbnail, quant=quant,
                         **kwargs)


def binary_resnete18(**kwargs):
    """Binary ResNet-E 18 (Bethge et al. 2019), ImageNet stem; ``thumbnail=True`` for 32x32."""
    return _resnete(18, **kwargs)


def binary_resnete34(**kwargs):
    """Binary ResNet-E 34 (Bethge et al. 2019), ImageNet stem; ``thumbnail=True`` for 32x32."""
    return _resnete(34, **kwargs)

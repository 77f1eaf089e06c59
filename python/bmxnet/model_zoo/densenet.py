"""BinaryDenseNet (Bethge et al. 2019, "BinaryDenseNet: Developing an Architecture for Binary
Neural Networks", ICCV Workshops; and "Back to Simplicity", arXiv:1906.08637) and MeliusNet
(Bethge et al. 2020, "MeliusNet: Can Binary Neural Networks Achieve MobileNet-level Accuracy?",
arXiv:2001.05936), both trained with BMXNet v2, in gluon-cv's layout.

- Dense layer: ``concat(x, QConv3x3(BN(x)))`` adds ``growth_rate`` (64) binary channels.
- MeliusNet's improvement block: ``QConv3x3(BN(x))`` is added to the last 64 channels of x.
- Transition: ``BN -> MaxPool 2x2 -> ReLU -> float 1x1 conv`` reduces the channels.
- The stem (7x7/2 conv + max pool for BinaryDenseNet, MeliusNet's grouped 3-conv stem, or a
  3x3/1 conv with ``thumbnail=True`` for 32x32 inputs) and the classifier stay float.

Configurations follow the papers' reference implementations (BMXNet v2, larq zoo, bitorch):
BinaryDenseNet-28 blocks (6, 6, 6, 5) with reductions (2.7, 2.7, 2.2), -37 (6, 8, 12, 6) with
(3.3, 3.3, 4); MeliusNet-22 (4, 5, 4, 4) with transitions to (160, 224, 256) channels, -29
(4, 6, 8, 6) with (128, 192, 256). Gradient cancelling defaults to ``clip_threshold=1.3``.
"""
from mxnet.gluon import HybridBlock, nn

from ..nn import QConv2D
from ._common import check_pretrained, split_quant_options

__all__ = ["BinaryDenseNet", "binary_densenet28", "binary_densenet37", "meliusnet22",
           "meliusnet29"]


def _bn():
    return nn.BatchNorm(momentum=0.9, epsilon=1e-5)


class _DenseLayer(HybridBlock):
    """concat(x, QConv3x3(BN(x)))."""

    def __init__(self, growth_rate, in_channels, dilation, quant, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            self.body.add(_bn(), QConv2D(growth_rate, 3, 1, dilation, dilation, use_bias=False,
                                         in_channels=in_channels, **quant))

    def hybrid_forward(self, F, x):
        return F.concat(x, self.body(x), dim=1)


class _ImprovementBlock(HybridBlock):
    """MeliusNet: adds QConv3x3(BN(x)) to the last `channels` channels of x."""

    def __init__(self, channels, in_channels, dilation, quant, **kwargs):
        super().__init__(**kwargs)
        self._split = in_channels - channels
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            self.body.add(_bn(), QConv2D(channels, 3, 1, dilation, dilation, use_bias=False,
                                         in_channels=in_channels, **quant))

    def hybrid_forward(self, F, x):
        y = self.body(x)
        if self._split == 0:
            return x + y
        head = F.slice_axis(x, axis=1, begin=0, end=self._split)
        tail = F.slice_axis(x, axis=1, begin=self._split, end=None)
        return F.concat(head, tail + y, dim=1)


class BinaryDenseNet(HybridBlock):
    """BinaryDenseNet / MeliusNet body.

    block_config: dense layers per stage; transitions: output channels of the transitions
    between stages; improvement: add MeliusNet's improvement block after each dense layer;
    stem: "imagenet" (7x7/2 + max pool), "grouped" (MeliusNet) or "thumbnail" (3x3/1).
    """

    def __init__(self, block_config, transitions, classes=1000, growth_rate=64,
                 initial_channels=64, improvement=False, stem="imagenet", dilated=False,
                 quant=None, **kwargs):
        super().__init__(**kwargs)
        assert len(transitions) == len(block_config) - 1
        quant = quant or {}
        dilation = (1, 1, 2, 4) if dilated else (1, 1, 1, 1)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            if stem == "thumbnail":
                self.features.add(nn.Conv2D(initial_channels, 3, 1, 1, use_bias=False))
            elif stem == "grouped":
                self.features.add(nn.Conv2D(32, 3, 2, 1, use_bias=False), _bn(),
                                  nn.Activation("relu"),
                                  nn.Conv2D(32, 3, 1, 1, groups=4, use_bias=False), _bn(),
                                  nn.Activation("relu"),
                                  nn.Conv2D(initial_channels, 3, 1, 1, groups=8,
                                            use_bias=False), _bn(),
                                  nn.Activation("relu"), nn.MaxPool2D(2, 2))
            elif stem == "imagenet":
                self.features.add(nn.Conv2D(initial_channels, 7, 2, 3, use_bias=False), _bn(),
                                  nn.Activation("relu"), nn.MaxPool2D(3, 2, 1))
            else:
                raise ValueError(f"stem must be 'imagenet', 'grouped' or 'thumbnail', "
                                 f"got {stem!r}")
            channels = initial_channels
            for i, num_layers in enumerate(block_config):
                stage = nn.HybridSequential(prefix=f"stage{i + 1}_")
                with stage.name_scope():
                    for _ in range(num_layers):
                        stage.add(_DenseLayer(growth_rate, channels, dilation[i], quant,
                                              prefix=""))
                        channels += growth_rate
                        if improvement:
                            stage.add(_ImprovementBlock(growth_rate, channels, dilation[i],
                                                        quant, prefix=""))
                    if i < len(transitions):
                        stage.add(_bn())
                        if dilation[i + 1] == 1:
                            stage.add(nn.MaxPool2D(2, 2))
                        stage.add(nn.Activation("relu"),
                                  nn.Conv2D(transitions[i], 1, use_bias=False,
                                            in_channels=channels))
                        channels = transitions[i]
                self.features.add(stage)
            self.features.add(_bn(), nn.Activation("relu"), nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _reduced(block_config, reductions, initial_channels=64, growth_rate=64):
    """Transition widths of BinaryDenseNet: channels // reduction, rounded to 32."""
    out, channels = [], initial_channels
    for layers, r in zip(block_config, reductions):
        channels += layers * growth_rate
        channels = int(round(channels // r / 32)) * 32
        out.append(channels)
    return out


def _build(name, block_config, transitions, improvement, default_stem, classes=1000,
           thumbnail=False, pretrained=False, **kwargs):
    check_pretrained(name, pretrained)
    quant, kwargs = split_quant_options(dict(kwargs))
    quant.setdefault("clip_threshold", 1.3)
    stem = "thumbnail" if thumbnail else kwargs.pop("stem", default_stem)
    kwargs.setdefault("prefix", f"{name}_")
    return BinaryDenseNet(block_config, transitions, classes=classes, improvement=improvement,
                          stem=stem, quant=quant, **kwargs)


def binary_densenet28(**kwargs):
    """BinaryDenseNet-28 (Bethge et al. 2019); ``thumbnail=True`` for 32x32 inputs."""
    config = (6, 6, 6, 5)
    return _build("binary_densenet28", config, _reduced(config, (2.7, 2.7, 2.2)), False,
                  "imagenet", **kwargs)


def binary_densenet37(**kwargs):
    """BinaryDenseNet-37 (Bethge et al. 2019); ``dilated=True`` gives BinaryDenseNet-37-dilated."""
    config = (6, 8, 12, 6)
    return _build("binary_densenet37", config, _reduced(config, (3.3, 3.3, 4)), False,
                  "imagenet", **kwargs)


def meliusnet22(**kwargs):
    """MeliusNet-22 (Bethge et al. 2020): grouped stem, dense + improvement blocks."""
    return _build("meliusnet22", (4, 5, 4, 4), (160, 224, 256), True, "grouped", **kwargs)


def meliusnet29(**kwargs):
    """MeliusNet-29 (Bethge et al. 2020): grouped stem, dense + improvement blocks."""
    return _build("meliusnet29", (4, 6, 8, 6), (128, 192, 256), True, "grouped", **kwargs)

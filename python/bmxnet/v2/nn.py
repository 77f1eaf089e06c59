"""Drop-in for ``mxnet.gluon.nn`` in BMXNet v2 scripts: every Gluon layer plus v2's binary API.

``from mxnet.gluon import nn`` in a BMXNet v2 script becomes ``from bmxnet.v2 import nn``.
"""
from mxnet.gluon.nn import *  # noqa: F401,F403  (Gluon's layers, as BMXNet v2's nn has them)
from mxnet.gluon import nn as _gluon_nn

from .config import BinaryLayerConfig, binary_layer_config, set_binary_layer_config
from .layers import (QActivation, QDense, QConv1D, QConv2D, QConv3D, BinaryConvolution,
                     ScaledWeightsBinaryConv, ScaledBinaryConv, activated_conv)

__all__ = [n for n in dir(_gluon_nn) if not n.startswith("_")] + [
    "BinaryLayerConfig", "binary_layer_config", "set_binary_layer_config", "QActivation",
    "QDense", "QConv1D", "QConv2D", "QConv3D", "BinaryConvolution", "ScaledWeightsBinaryConv",
    "ScaledBinaryConv", "activated_conv"]

"""BMXNet v2's Gluon binary API on stock MXNet: v2 training scripts run after changing imports.

==========================================  ================================================
BMXNet v2                                   here
==========================================  ================================================
``from mxnet.gluon import nn``              ``from bmxnet.v2 import nn`` (all of Gluon's nn
                                            plus QActivation, QConv1D/2D/3D, QDense,
                                            BinaryConvolution, ScaledBinaryConv,
                                            ScaledWeightsBinaryConv, activated_conv,
                                            set_binary_layer_config, binary_layer_config)
``mx.nd.det_sign(x)`` / ``x.det_sign()``    ``bmxnet.v2.det_sign(x)`` / ``x.det_sign()``
``mx.nd.approx_sign(x)``                    ``bmxnet.v2.approx_sign(x)``
``mx.nd.round_ste(x)`` / ``x.round_ste()``  ``bmxnet.v2.round_ste(x)`` / ``x.round_ste()``
``mx.nd.contrib.gradcancel(x, threshold)``  ``bmxnet.v2.gradcancel(x, threshold)``
==========================================  ================================================

After ``import bmxnet``, ``mx.nd.det_sign``, ``mx.nd.approx_sign`` and
``mx.nd.contrib.gradcancel`` exist too: bmxnet's library registers ops under the fork's names
so that graphs exported by the fork load (``approx_sign``'s gradient is 0 outside [-1, 1]
there; ``bmxnet.v2.approx_sign`` has the fork's).

The layers have v2's names, arguments, defaults and forward values (offset output
``(h + K) / 2``, -1 pre-padding, weight-only quantization, ...; see ``bmxnet.v2.layers``).
bmxnet's own layers (``bmxnet.nn``) keep bmxnet's conventions. Models exported from these
layers (and models exported by BMXNet v2 itself) convert with ``model-converter``.
"""
from . import config, layers, nn, ops  # noqa: F401
from .config import BinaryLayerConfig, binary_layer_config, set_binary_layer_config
from .layers import (QActivation, QDense, QConv1D, QConv2D, QConv3D, BinaryConvolution,
                     ScaledWeightsBinaryConv, ScaledBinaryConv, activated_conv)
from .ops import det_sign, approx_sign, round_ste, gradcancel

ops.install_fluent_methods()

__all__ = ["nn", "BinaryLayerConfig", "binary_layer_config", "set_binary_layer_config",
           "QActivation", "QDense", "QConv1D", "QConv2D", "QConv3D", "BinaryConvolution",
           "ScaledWeightsBinaryConv", "ScaledBinaryConv", "activated_conv", "det_sign",
           "approx_sign", "round_ste", "gradcancel"]

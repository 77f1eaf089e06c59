"""Convert an exported bmxnet training graph into a deployable binary model.

Input: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params`` written by ``HybridBlock.export``.
Each binary layer of the training graph (``patterns`` spells out the exported graphs; DESIGN.md
section 3) is replaced by ONE ``bmx_binary_conv2d`` / ``bmx_binary_dense`` node whose weight
is packed into int32 words (bit 1 = -1, channel c = bit c % 32 of word c / 32, conv OHWI).
1-D convolutions run as (1, k) 2-D ones between ``expand_dims(axis=2)`` and
``Reshape(shape=(0, 0, -1))``.

- A weight computed from parameters, ``sign(f(w, ...))`` (ABC-Net's bases
  ``sign(w - mean(w) + u_m std(w))``), is evaluated in numpy exactly as MXNet's float32 CPU
  ops compute it (``folding``), so its packed bits are MXNet's; each ``Convolution(A_n, B_m)``
  becomes one binary op and the float combination of ABC-Net (shifts, coefficients, add_n)
  stays as it is.
- XNOR-Net scaling, ``broadcast_mul(layer, Reshape(BlockGrad(mean(abs(w), axis=all but 0))))``
  of the layer's own weight ``w`` (and the ``broadcast_add(., Reshape(b))`` after it), is
  folded into the binary op's per-channel ``scale`` (and ``bias``).
- BMXNet v2 exports (``v2_patterns``): the fork's ops are renamed (``det_sign`` ->
  ``bmx_det_sign``, ``round_ste`` -> ``_contrib_round_ste``, ...) or bypassed
  (``_contrib_gradcancel``), its offset ``(h + K) / 2`` and transposed weight scaling are
  folded into ``scale``/``bias``.
- A ``BatchNorm`` that is the only consumer of a binary layer (after its scaling) is folded
  into ``scale``/``bias`` too.
- An ``elemwise_add(layer, r)`` that is the only consumer of a binary 2-D convolution (a ResNet
  shortcut) becomes the op's ``residual`` input (``add_residual=True``), added in its epilogue.
- A ``BatchNorm`` that is the only consumer of a float ``Convolution``/``FullyConnected`` with
  plain float32 parameters is folded into its weight and bias (``fold_batchnorm=False`` keeps
  every BatchNorm).

Everything else (float and k-bit layers, activations, pooling, ...) is left as it is, and every
Convolution/FullyConnected that stays float is reported with why (``reasons``).

Modules, in the order a conversion uses them (``pipeline.convert`` lists the passes):

- ``files``: reading the exported files, naming the outputs, writing them atomically
- ``graph``, ``symbol``, ``attrs``: the graph, symbol JSON <-> graph, typed node attributes
- ``params``: the parameters by name, checked against the symbol
- ``patterns``, ``reasons``: which layers are binary, and why the others stay float
- ``float32_ops``, ``folding``: evaluating weight expressions with MXNet's float32 rounding
- ``v2_patterns``: BMXNet v2's op names and offset
- ``fusion``: XNOR scaling, BMXNet v2's offset, BatchNorm and residual adds folded into a layer
- ``packing``: the bit layout of packed weights
- ``rewrite``: the graph rewrite that ties these together
- ``report``, ``errors``, ``cli``: what a conversion says, how it fails, the command

Pure Python + numpy + json: this package never imports mxnet or the op library.
"""

from .cli import main
from .errors import ConversionError
from .packing import pack_bits, pack_conv_weight, pack_dense_weight
from .pipeline import convert
from .report import BinaryLayer, ConversionReport, SkippedLayer

__all__ = [
    "ConversionError", "ConversionReport", "BinaryLayer", "SkippedLayer",
    "convert", "pack_bits", "pack_conv_weight", "pack_dense_weight", "main",
]

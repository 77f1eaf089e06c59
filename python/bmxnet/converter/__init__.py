"""model-converter: an exported bmxnet training graph to a deployable binary model, every binary
layer one bit-packed ``bmx_binary_conv2d`` / ``bmx_binary_dense``; explained in DESIGN.md
section 3 ("Converter" and what follows it), the files it writes in
tools/model_converter/FORMAT.md. Pure Python + numpy + json: it never imports mxnet or the op
library.
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

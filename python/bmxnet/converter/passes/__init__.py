"""The converter's passes, in the order `convert` runs them (DESIGN.md section 3, "Converter
passes").

Each pass is a function of the `Conversion` (``..conversion``), one per module: it reads what
the passes before it left and adds its own part. A new pass is one entry in `PASSES`.
"""

from ..sign_patterns import normalize_signs
from ..v2_inference import read_v2_inference_ops
from ..v2_patterns import normalize_fork_ops
from .batchnorm import fold_batchnorm
from .conv1d import wrap_conv1d
from .float_batchnorm import fold_float_batchnorm
from .match import match_layers
from .offset import fold_offset
from .pack import pack_weights
from .replace import replace_layers
from .residual import fuse_residual
from .scaling import fold_scaling

PASSES = (
    lambda c: normalize_signs(c.graph),    # the quantizers' stock-op signs, one sign node each
    lambda c: normalize_fork_ops(c.graph),  # BMXNet v2's op names; forward identities bypassed
    lambda c: read_v2_inference_ops(c.graph, c.params, c.sym_path),  # v2's packed layers, unpacked
    match_layers,           # binary layers found; the others reported float, with why
    fold_scaling,           # XNOR-Net mean(|w|) (and the bias added after it) -> scale, bias
    fold_offset,            # BMXNet v2's (h + K) / 2 -> scale, bias
    fold_batchnorm,         # a BatchNorm after a binary layer -> scale, bias
    fuse_residual,          # a ResNet shortcut add -> the conv's residual input
    fold_float_batchnorm,   # a BatchNorm after a float layer -> its weight and bias
    pack_weights,           # binary weights -> int32 words
    replace_layers,         # each binary layer -> one bmx_binary_conv2d / bmx_binary_dense
    wrap_conv1d,            # 1-D ones between expand_dims and Reshape
)

__all__ = ["PASSES"]

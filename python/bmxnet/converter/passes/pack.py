"""Pass: pack each binary layer's weight into int32 words (the layout: ``packing``); a weight
that several layers share is packed once, as one variable."""

from ..conversion import Conversion
from ..packing import pack_conv_weight, pack_dense_weight


def pack_weights(c: Conversion):
    packed_vars = {}  # weight variable or sign node -> its packed variable
    for layer in c.layers:
        m = layer.match
        if m.weight_key not in packed_vars:
            packed = (pack_conv_weight(m.weight) if m.kind == "conv"
                      else pack_dense_weight(m.weight))
            packed_vars[m.weight_key] = c.new_var(m.weight_name, packed, m.weight_var)
        layer.packed_var = packed_vars[m.weight_key]

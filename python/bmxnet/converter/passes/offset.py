"""Pass: fold BMXNet v2's offset ``(h + K) / 2`` after a binary layer (or its scaling) into the
layer's ``scale`` and ``bias`` (the pattern: ``v2_patterns.offset_after``)."""

import numpy as np

from ..conversion import Conversion
from ..v2_patterns import offset_after


def fold_offset(c: Conversion):
    for layer in c.layers:
        offset = offset_after(layer.end, lambda n: c.sole_consumer(n)[0])
        if offset is None:
            continue
        out_channels = layer.match.out_channels
        layer.end, add, div = offset
        scale = layer.scale if layer.scale is not None else np.ones(out_channels)
        layer.scale = scale / div
        layer.bias = ((layer.bias if layer.bias is not None else np.zeros(out_channels))
                      + add) / div
        layer.bias_var = None
        layer.notes.append(f"offset (h + {add:g}) / {div:g} folded")

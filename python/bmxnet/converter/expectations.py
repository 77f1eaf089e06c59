"""What a packed binary layer costs beyond its useful work, for the conversion report: the
kernels compute every bit of the packing word, so a layer whose input channels do not fill its
words computes the padded bits too (DESIGN.md "Bits": 32 channels per int32 word)."""
from typing import List

WORD_BITS = 32


def below_best(layer) -> List[str]:
    """Notes on a BinaryLayer (report.py) that runs below the kernels' best: the share of its
    binary work spent on padding when its input channels are not a multiple of WORD_BITS."""
    channels = int(layer.weight_shape[1])  # conv (O, I/groups, kh, kw), dense (O, I)
    bits = WORD_BITS * int(layer.packed_shape[-1])
    if bits <= channels:
        return []
    wasted = 100 * (bits - channels) / bits
    return [f"{channels} input channels fill {bits} packed bits: {wasted:.0f}% of its binary "
            f"work is padding (a multiple of {WORD_BITS} channels avoids it)"]

"""Bit packing of binary weights into int32 words (DESIGN.md "Bits")."""

import numpy as np

INT32 = np.dtype("<i4")


def pack_bits(x: np.ndarray) -> np.ndarray:
    """Pack sign bits of the last axis into int32 words: (..., C) -> (..., ceil(C / 32)).

    Bit 1 means -1 (x < 0, or NaN), bit 0 means +1 (x >= 0, so sign(0) = +1); channel c is bit
    c % 32 of word c // 32; unused tail bits are 0.
    """
    x = np.asarray(x)
    channels = x.shape[-1]
    words = -(-channels // 32)
    bits = np.zeros(x.shape[:-1] + (words * 32,), dtype=bool)
    bits[..., :channels] = ~(x >= 0)
    packed = np.packbits(bits, axis=-1, bitorder="little")  # 4 bytes per word, low byte first
    return np.ascontiguousarray(packed).view("<u4").astype(INT32, copy=False).view(INT32)


def pack_conv_weight(weight: np.ndarray) -> np.ndarray:
    """(O, C/g, kh, kw) float -> (O, kh, kw, ceil(C/g / 32)) int32, i.e. OHWI packed on I."""
    return pack_bits(np.transpose(weight, (0, 2, 3, 1)))


def pack_dense_weight(weight: np.ndarray) -> np.ndarray:
    """(N, K) float -> (N, ceil(K / 32)) int32."""
    return pack_bits(weight)

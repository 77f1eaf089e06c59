"""BMXNet v2's packed weights as the fork's model-converter writes them (tools/binary_converter
of hpi-xnor/BMXNet-v2), made here from float weights for the tests of its packed inference
ops: words of 32 (or 64) bits stored bit for bit in float32 (float64) arrays; element j of a
word is its bit j; bit 1 means +1 (w >= 0).

- convolution (O, C, kh, kw): each output channel's weights flattened in (c, y, x) order into
  consecutive words, declared shape (O, C / word_bits, kh, kw);
- dense (O, K): transposed to (K, O), packed along K, so word (i, o) holds inputs
  i * word_bits ... of unit o, laid out (K / word_bits, O), declared shape (O, K / word_bits).
"""
import numpy as np

FLOAT_OF = {32: np.float32, 64: np.float64}


def _words(signs: np.ndarray, word_bits: int) -> np.ndarray:
    """Rows of booleans (length a multiple of word_bits) -> rows of words, bit j = element j."""
    packed = np.packbits(signs, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view(f"<u{word_bits // 8}")


def pack_conv(weight: np.ndarray, word_bits: int = 32, as_float: bool = True) -> np.ndarray:
    out, c, kh, kw = weight.shape
    words = _words(weight.reshape(out, -1) >= 0, word_bits).reshape(out, c // word_bits, kh, kw)
    return words.view(FLOAT_OF[word_bits]) if as_float else words.view(f"<i{word_bits // 8}")


def pack_dense(weight: np.ndarray, word_bits: int = 32, as_float: bool = True) -> np.ndarray:
    out, k = weight.shape
    # (K / word_bits, O, word_bits): word (i, o) holds inputs i * word_bits ... of unit o
    columns = weight.T.reshape(k // word_bits, word_bits, out).transpose(0, 2, 1)
    words = _words(columns >= 0, word_bits).reshape(k // word_bits, out).reshape(out, -1)
    return words.view(FLOAT_OF[word_bits]) if as_float else words.view(f"<i{word_bits // 8}")


def signs(x: np.ndarray) -> np.ndarray:
    """The ops' binarization: +1 where x >= 0, else -1."""
    return np.where(x >= 0, np.float32(1), np.float32(-1))

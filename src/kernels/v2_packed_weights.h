// BMXNet v2's packed binary weights, as the fork's model-converter writes them for its
// BinaryInferenceConvolution and BinaryInferenceFullyConnected, rewritten into this library's
// packed layout (bitpack.h) so that the xnor kernels run them. Done once per weight tensor;
// plain loops (the layout is checked in tests/cpp/test_v2_packed_weights.cc against the float
// weights packed by pack_signs).
//
// v2's layout: words of 32 or 64 bits (the fork's build option BINARY_WORD_TYPE, uint32 by
// default), held in float32 / float64 arrays bit for bit; element j of a word is its bit j;
// bit 1 means +1 (x >= 0), bit 0 means -1, the opposite of bitpack.h.
// - Convolution: each output channel's weights (C, kh, kw) flattened in (c, y, x) order into
//   consecutive words, declared shape (O, C / word_bits, kh, kw); C is a multiple of word_bits.
// - FullyConnected: the weight (O, K) transposed to (K, O) and packed along K, so word (i, o),
//   at index i * O + o, holds inputs i * word_bits ... of unit o; declared shape
//   (O, K / word_bits); K is a multiple of word_bits.
#pragma once

#include <cstdint>
#include <vector>

namespace bmx {

// Whether v2's layout can hold `n` packed elements per row: word_bits is 32 or 64 and n a
// positive multiple of it.
bool v2_row_fits(int64_t n, int word_bits);

// v2 convolution weights -> (O, kh, kw, packed_words(C)) words, the OHWI layout
// bmx_binary_conv2d takes.
std::vector<uint32_t> v2_conv_weight_to_ohwi(const void* words, int word_bits,
                                             int64_t out_channels, int64_t in_channels,
                                             int64_t kernel_h, int64_t kernel_w);

// v2 dense weights -> (num_hidden, packed_words(k)) words, the layout bmx_binary_dense takes.
std::vector<uint32_t> v2_dense_weight_to_rows(const void* words, int word_bits,
                                              int64_t num_hidden, int64_t k);

}  // namespace bmx

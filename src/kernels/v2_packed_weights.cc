#include "v2_packed_weights.h"

#include "bitpack.h"

namespace bmx {
namespace {

// Bit `index` of v2 words read as one stream: word index / word_bits, bit index % word_bits.
bool v2_bit(const void* words, int word_bits, int64_t index) {
  if (word_bits == 64) {
    return (static_cast<const uint64_t*>(words)[index / 64] >> (index % 64)) & 1u;
  }
  return (static_cast<const uint32_t*>(words)[index / 32] >> (index % 32)) & 1u;
}

// Sets element `index` of one of our rows to -1 (bit 1); unset elements are +1.
void set_minus_one(uint32_t* row, int64_t index) {
  row[index / kWordBits] |= uint32_t{1} << (index % kWordBits);
}

}  // namespace

bool v2_row_fits(int64_t n, int word_bits) {
  return (word_bits == 32 || word_bits == 64) && n > 0 && n % word_bits == 0;
}

std::vector<uint32_t> v2_conv_weight_to_ohwi(const void* words, int word_bits,
                                             int64_t out_channels, int64_t in_channels,
                                             int64_t kernel_h, int64_t kernel_w) {
  const int64_t taps = kernel_h * kernel_w, row = in_channels * taps;
  const int64_t ours = packed_words(in_channels);
  std::vector<uint32_t> out(out_channels * taps * ours, 0);
  for (int64_t o = 0; o < out_channels; ++o) {
    for (int64_t t = 0; t < taps; ++t) {
      uint32_t* dst = out.data() + (o * taps + t) * ours;
      for (int64_t c = 0; c < in_channels; ++c) {
        if (!v2_bit(words, word_bits, o * row + c * taps + t)) set_minus_one(dst, c);
      }
    }
  }
  return out;
}

std::vector<uint32_t> v2_dense_weight_to_rows(const void* words, int word_bits,
                                              int64_t num_hidden, int64_t k) {
  const int64_t ours = packed_words(k);
  std::vector<uint32_t> out(num_hidden * ours, 0);
  for (int64_t o = 0; o < num_hidden; ++o) {
    for (int64_t i = 0; i < k; ++i) {
      const int64_t word = (i / word_bits) * num_hidden + o;
      if (!v2_bit(words, word_bits, word * word_bits + i % word_bits)) {
        set_minus_one(out.data() + o * ours, i);
      }
    }
  }
  return out;
}

}  // namespace bmx

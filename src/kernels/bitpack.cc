#include "bitpack.h"

namespace bmx {

void pack_signs_strided(const float* x, int64_t n, int64_t stride, uint32_t* out) {
  const int64_t words = packed_words(n);
  for (int64_t w = 0; w < words; ++w) {
    const int64_t begin = w * kWordBits;
    const int64_t end = begin + kWordBits < n ? begin + kWordBits : n;
    uint32_t bits = 0;
    for (int64_t c = begin; c < end; ++c) {
      bits |= static_cast<uint32_t>(x[c * stride] < 0.0f) << (c - begin);
    }
    out[w] = bits;
  }
}

void pack_signs(const float* x, int64_t rows, int64_t n, uint32_t* out) {
  const int64_t words = packed_words(n);
  for (int64_t r = 0; r < rows; ++r) {
    pack_signs_strided(x + r * n, n, 1, out + r * words);
  }
}

}  // namespace bmx

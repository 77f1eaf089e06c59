// Sign binarization and bit packing (DESIGN.md section 3, "Bits").
//
// sign(x) = +1 if x >= 0 else -1. Bit 1 means -1, bit 0 means +1. Bits are packed
// little-endian into 32-bit words along the last (reduction) axis: element c is
// bit c % 32 of word c / 32. Unused tail bits are 0.
#pragma once

#include <cstdint>

namespace bmx {

constexpr int64_t kWordBits = 32;

inline int64_t packed_words(int64_t n) { return (n + kWordBits - 1) / kWordBits; }

// Mask of the valid bits in the last word of an n-element row (all ones when n % 32 == 0).
inline uint32_t tail_mask(int64_t n) {
  const int64_t r = n % kWordBits;
  return r == 0 ? 0xFFFFFFFFu : ((1u << r) - 1u);
}

// Packs `rows` rows of `n` floats each into rows of packed_words(n) words.
void pack_signs(const float* x, int64_t rows, int64_t n, uint32_t* out);

// Packs a row whose elements lie `stride` floats apart (e.g. channels of an NCHW tensor).
void pack_signs_strided(const float* x, int64_t n, int64_t stride, uint32_t* out);

}  // namespace bmx

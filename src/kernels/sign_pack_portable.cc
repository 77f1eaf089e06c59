// Portable binarize + pack of float activations (plain C++): channel planes (NCHW) and
// contiguous rows. The portable and NEON paths use it as it is; the AVX2 packer for edges.
#include <cstring>

#include "bitpack.h"
#include "microkernel.h"

namespace bmx {

void pack_planes_generic(const float* x, int64_t channels, int64_t plane, int64_t p0, int64_t p1,
                         uint32_t* out) {
  const int64_t words = packed_words(channels), n = p1 - p0;
  std::memset(out, 0, sizeof(uint32_t) * n * words);
  // Channels outer, pixels inner: every plane is read sequentially.
  for (int64_t c = 0; c < channels; ++c) {
    const float* src = x + c * plane + p0;
    uint32_t* dst = out + c / kWordBits;
    const int shift = static_cast<int>(c % kWordBits);
    for (int64_t p = 0; p < n; ++p) dst[p * words] |= static_cast<uint32_t>(src[p] < 0.0f) << shift;
  }
}

void pack_rows_generic(const float* x, int64_t rows, int64_t n, uint32_t* out) {
  pack_signs(x, rows, n, out);
}

}  // namespace bmx

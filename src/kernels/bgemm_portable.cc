// Portable fast path: plain layout, 64-bit xor + popcount, register-blocked 4 x 4 tiles.
// Plain C++ (no intrinsics), so it builds and runs on any 64-bit target; it is also the
// generic epilogue and packing code that the instruction-set files fall back on for edges.
#include <cstring>

#include "bitpack.h"
#include "microkernel.h"

namespace bmx {

namespace {

inline int popcount64(uint64_t v) {
  // SWAR popcount (compilers turn it into popcnt where the target has it).
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
}

constexpr int kMr = 4, kNr = 4;

template <int M>
void tile_rows(const TileArgs& t) {
  int64_t ones[M][kNr] = {};
  const uint64_t* b = t.b;
  for (int tap = 0; tap < t.taps; ++tap) {
    const uint64_t* a[M];
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + t.tap_off[tap];
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      for (int i = 0; i < M; ++i) {
        const uint64_t ai = a[i][s];
        for (int j = 0; j < kNr; ++j) ones[i][j] += popcount64(ai ^ b[j]);
      }
    }
  }
  int32_t o[kMr * kNr];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNr; ++j) o[i * kNr + j] = static_cast<int32_t>(ones[i][j]);
  }
  tile_epilogue_generic(t, kNr, o);
}

void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_rows<1>(t);
    case 2: return tile_rows<2>(t);
    case 3: return tile_rows<3>(t);
    default: return tile_rows<4>(t);
  }
}

}  // namespace

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

void tile_epilogue_generic(const TileArgs& t, int nr, const int32_t* ones) {
  for (int i = 0; i < t.m; ++i) {
    for (int j = 0; j < t.n_valid; ++j) {
      int32_t dot = t.ktot - 2 * ones[i * nr + j];
      if (t.corr) dot -= t.corr[i * nr + j];
      const int64_t at = i * t.row_stride + j * t.col_stride;
      if (t.int_out) {
        static_cast<int32_t*>(t.out)[at] = dot;
      } else {
        // Same operations as the reference: scale * float(dot) + bias, no fused multiply-add.
        float y = static_cast<float>(dot);
        if (t.scale) y = t.scale[j] * y;
        y = y + (t.bias ? t.bias[j] : 0.0f);
        static_cast<float*>(t.out)[at] = y;
      }
    }
  }
}

const MicroKernels* portable_kernels() {
  static const MicroKernels k{"portable", kMr, kNr, false, tile, pack_planes_generic,
                              pack_rows_generic};
  return &k;
}

}  // namespace bmx

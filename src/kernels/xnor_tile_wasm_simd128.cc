// WebAssembly SIMD128 xnor/popcount tile: plain layout, 4 x 4 tiles; each 64-bit lane of a
// v128 is one output channel (A is broadcast with wasm_i64x2_splat), popcount(a ^ b) by
// wasm_i8x16_popcnt and accumulated pairwise into 16-bit lanes
// (wasm_u16x8_extadd_pairwise_u8x16, at most 16 per lane and step), which are widened into
// 64-bit per-channel sums every 4000 steps and at the end. Binarize + pack is the portable code
// (sign_pack_portable.cc). Built only for WebAssembly with -msimd128.
#include "microkernel.h"

#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

namespace bmx {

namespace {

constexpr int kMr = 4, kNv = 2, kNr = 4;
constexpr int kFlushSteps = 4000;  // 4000 * 16 < 65536

// Adds the four 16-bit lanes of each 64-bit half of v (one channel each) to that half of s.
inline v128_t widen_add(v128_t s, v128_t v) {
  const v128_t w32 = wasm_u32x4_extadd_pairwise_u16x8(v);  // two 32-bit sums per channel
  const v128_t lo = wasm_v128_and(w32, wasm_i64x2_splat(0xFFFFFFFFll));
  const v128_t hi = wasm_u64x2_shr(w32, 32);
  return wasm_i64x2_add(s, wasm_i64x2_add(lo, hi));
}

template <int M>
void tile_m(const TileArgs& t) {
  v128_t acc[M][kNv];
  v128_t sums[M][kNv];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) {
      acc[i][j] = wasm_i16x8_splat(0);
      sums[i][j] = wasm_i64x2_splat(0);
    }
  }
  auto flush = [&] {
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) {
        sums[i][j] = widen_add(sums[i][j], acc[i][j]);
        acc[i][j] = wasm_i16x8_splat(0);
      }
    }
  };
  const uint64_t* b = t.b;
  int budget = kFlushSteps;
  for (int tap = 0; tap < t.taps; ++tap) {
    const uint64_t* a[M];
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + t.tap_off[tap];
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      const v128_t b0 = wasm_v128_load(b);
      const v128_t b1 = wasm_v128_load(b + 2);
      for (int i = 0; i < M; ++i) {
        const v128_t ai = wasm_v128_load64_splat(a[i] + s);
        acc[i][0] = wasm_i16x8_add(
            acc[i][0], wasm_u16x8_extadd_pairwise_u8x16(wasm_i8x16_popcnt(wasm_v128_xor(ai, b0))));
        acc[i][1] = wasm_i16x8_add(
            acc[i][1], wasm_u16x8_extadd_pairwise_u8x16(wasm_i8x16_popcnt(wasm_v128_xor(ai, b1))));
      }
      if (--budget == 0) {
        flush();
        budget = kFlushSteps;
      }
    }
  }
  flush();
  int32_t ones[kMr * kNr];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) {
      ones[i * kNr + 2 * j] = static_cast<int32_t>(wasm_i64x2_extract_lane(sums[i][j], 0));
      ones[i * kNr + 2 * j + 1] = static_cast<int32_t>(wasm_i64x2_extract_lane(sums[i][j], 1));
    }
  }
  tile_epilogue_generic(t, kNr, ones);
}

void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<1>(t);
    case 2: return tile_m<2>(t);
    case 3: return tile_m<3>(t);
    default: return tile_m<4>(t);
  }
}

}  // namespace

const MicroKernels* wasm_simd128_kernels() {
  static const MicroKernels k{"wasm_simd128", kMr, kNr, false, tile, pack_planes_generic,
                              pack_rows_generic};
  return &k;
}

}  // namespace bmx

#else  // not a WebAssembly SIMD128 build

namespace bmx {
const MicroKernels* wasm_simd128_kernels() { return nullptr; }
}  // namespace bmx

#endif

// NEON xnor/popcount tile (aarch64): plain layout, 4 x 4 tiles; each 64-bit lane of a q
// register is one output channel (A is broadcast with vdupq), popcount(a ^ b) by vcntq_u8 and
// accumulated pairwise into 16-bit lanes (vpadalq_u8, at most 16 per lane and step), which are
// widened into 64-bit per-channel sums every 4000 steps and at the end. Binarize + pack is the
// portable code (sign_pack_portable.cc).
#include "microkernel.h"

#if defined(__aarch64__) && defined(__ARM_NEON)

#include <arm_neon.h>

namespace bmx {

namespace {

constexpr int kMr = 4, kNv = 2, kNr = 4;
constexpr int kFlushSteps = 4000;  // 4000 * 16 < 65536

template <int M>
void tile_m(const TileArgs& t) {
  uint16x8_t acc[M][kNv];
  uint64x2_t sums[M][kNv];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) {
      acc[i][j] = vdupq_n_u16(0);
      sums[i][j] = vdupq_n_u64(0);
    }
  }
  auto flush = [&] {
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) {
        sums[i][j] = vpadalq_u32(sums[i][j], vpaddlq_u16(acc[i][j]));
        acc[i][j] = vdupq_n_u16(0);
      }
    }
  };
  const uint64_t* b = t.b;
  int budget = kFlushSteps;
  for (int tap = 0; tap < t.taps; ++tap) {
    const uint64_t* a[M];
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + t.tap_off[tap];
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      const uint8x16_t b0 = vreinterpretq_u8_u64(vld1q_u64(b));
      const uint8x16_t b1 = vreinterpretq_u8_u64(vld1q_u64(b + 2));
      for (int i = 0; i < M; ++i) {
        const uint8x16_t ai = vreinterpretq_u8_u64(vld1q_dup_u64(a[i] + s));
        acc[i][0] = vpadalq_u8(acc[i][0], vcntq_u8(veorq_u8(ai, b0)));
        acc[i][1] = vpadalq_u8(acc[i][1], vcntq_u8(veorq_u8(ai, b1)));
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
      ones[i * kNr + 2 * j] = static_cast<int32_t>(vgetq_lane_u64(sums[i][j], 0));
      ones[i * kNr + 2 * j + 1] = static_cast<int32_t>(vgetq_lane_u64(sums[i][j], 1));
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

const MicroKernels* neon_kernels() {
  static const MicroKernels k{"neon", kMr, kNr, false, tile, pack_planes_generic,
                              pack_rows_generic};
  return &k;
}

}  // namespace bmx

#else  // not an aarch64 build

namespace bmx {
const MicroKernels* neon_kernels() { return nullptr; }
}  // namespace bmx

#endif

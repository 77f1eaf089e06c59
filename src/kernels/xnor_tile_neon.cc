// NEON xnor/popcount tile (aarch64): the 64-bit-lane tile of xnor_tile_lanes64.h with
// vcntq_u8 for the popcount and vpadalq_u8 for the pairwise accumulation. Binarize + pack is
// the portable code (sign_pack_portable.cc).
#include "microkernel.h"

#if defined(__aarch64__) && defined(__ARM_NEON)

#include <arm_neon.h>

#include "xnor_tile_lanes64.h"

namespace bmx {

namespace {

struct NeonOps {
  using Bytes = uint8x16_t;
  using Acc = uint16x8_t;
  using Sum = uint64x2_t;
  static Bytes load(const uint64_t* p) { return vreinterpretq_u8_u64(vld1q_u64(p)); }
  static Bytes splat(const uint64_t* p) { return vreinterpretq_u8_u64(vld1q_dup_u64(p)); }
  static Acc zero_acc() { return vdupq_n_u16(0); }
  static Sum zero_sum() { return vdupq_n_u64(0); }
  static Acc count(Acc acc, Bytes a, Bytes b) { return vpadalq_u8(acc, vcntq_u8(veorq_u8(a, b))); }
  static Sum widen(Sum sum, Acc acc) { return vpadalq_u32(sum, vpaddlq_u16(acc)); }
  static uint64_t lane(Sum sum, int i) {
    return i == 0 ? vgetq_lane_u64(sum, 0) : vgetq_lane_u64(sum, 1);
  }
};

}  // namespace

const MicroKernels* neon_kernels() {
  static const MicroKernels k{"neon", lanes64::kMr, lanes64::kNr, false,
                              lanes64::tile<NeonOps>, pack_planes_generic, pack_rows_generic};
  return &k;
}

}  // namespace bmx

#else  // not an aarch64 build

namespace bmx {
const MicroKernels* neon_kernels() { return nullptr; }
}  // namespace bmx

#endif

// WebAssembly SIMD128 xnor/popcount tile: the 64-bit-lane tile of xnor_tile_lanes64.h with
// wasm_i8x16_popcnt for the popcount and wasm_u16x8_extadd_pairwise_u8x16 for the pairwise
// accumulation. Binarize + pack is the portable code (sign_pack_portable.cc). Built only for
// WebAssembly with -msimd128.
#include "microkernel.h"

#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include "xnor_tile_lanes64.h"

namespace bmx {

namespace {

struct WasmOps {
  using Bytes = v128_t;
  using Acc = v128_t;
  using Sum = v128_t;
  static Bytes load(const uint64_t* p) { return wasm_v128_load(p); }
  static Bytes splat(const uint64_t* p) { return wasm_v128_load64_splat(p); }
  static Acc zero_acc() { return wasm_i16x8_splat(0); }
  static Sum zero_sum() { return wasm_i64x2_splat(0); }
  static Acc count(Acc acc, Bytes a, Bytes b) {
    const v128_t counts = wasm_i8x16_popcnt(wasm_v128_xor(a, b));
    return wasm_i16x8_add(acc, wasm_u16x8_extadd_pairwise_u8x16(counts));
  }
  // Adds the four 16-bit lanes of each 64-bit half of acc (one channel each) to that half.
  static Sum widen(Sum sum, Acc acc) {
    const v128_t w32 = wasm_u32x4_extadd_pairwise_u16x8(acc);  // two 32-bit sums per channel
    const v128_t lo = wasm_v128_and(w32, wasm_i64x2_splat(0xFFFFFFFFll));
    const v128_t hi = wasm_u64x2_shr(w32, 32);
    return wasm_i64x2_add(sum, wasm_i64x2_add(lo, hi));
  }
  static uint64_t lane(Sum sum, int i) {
    return static_cast<uint64_t>(i == 0 ? wasm_i64x2_extract_lane(sum, 0)
                                        : wasm_i64x2_extract_lane(sum, 1));
  }
};

}  // namespace

const MicroKernels* wasm_simd128_kernels() {
  static const MicroKernels k{"wasm_simd128", lanes64::kMr, lanes64::kNr, false,
                              lanes64::tile<WasmOps>, pack_planes_generic, pack_rows_generic};
  return &k;
}

}  // namespace bmx

#else  // not a WebAssembly SIMD128 build

namespace bmx {
const MicroKernels* wasm_simd128_kernels() { return nullptr; }
}  // namespace bmx

#endif

// Internal interface between the fast-kernel drivers (bgemm_fast.cc, bconv2d_fast.cc and the
// conv_*.cc / zero_padding_correction.cc parts) and the per-instruction-set microkernels
// (xnor_tile_<isa>.cc, sign_pack_<isa>.cc). Not part of the public API.
//
// Layouts (all in 64-bit units; a "step" is 64 bits of the reduction axis):
//  * A row (an activation pixel or a GEMM row): `steps` elements; one element is one uint64
//    (plain layout) or two, {low nibbles, high nibbles} = {v & 0x0F0F.., (v >> 4) & 0x0F0F..}
//    (split layout, for the vpshufb nibble-lookup popcount).
//  * B panel (nr output channels): for each tap, for each step: the nr channels' uint64s
//    (plain), or the nr low-nibble uint64s followed by the nr high-nibble uint64s (split).
//    Channels past the matrix edge are zero.
// The tile function computes ones = sum popcount(A_i xor B_j) over taps x steps for m <= mr
// rows and all nr channels, and writes the epilogue: dot = ktot - 2 * ones - corr[i][j],
// then either the int32 dot, or float y = dot * scale[j] (if scale) + (bias ? bias[j] : 0),
// at out[i * row_stride + j * col_stride] for j < n_valid, plus residual[same] when given (a
// float output with col_stride 1 only: other layouts add theirs after the tile).
#pragma once

#include <algorithm>
#include <cstdint>

#include "isa.h"

namespace bmx {

struct TileArgs {
  int m = 0;                       // rows in this tile, 1..mr
  const uint64_t* const* a = nullptr;  // m row pointers (tap 0, step 0)
  const int64_t* tap_off = nullptr;    // taps offsets (uint64 units) added to every row pointer
  int taps = 1;
  int steps = 0;                   // steps per tap
  const uint64_t* b = nullptr;     // panel
  int32_t ktot = 0;                // reduction length in bits (padding bits excluded)
  const int32_t* corr = nullptr;   // null or m x nr (row stride nr), subtracted from dot
  int n_valid = 0;                 // valid channels in this panel, 1..nr
  const float* scale = nullptr;    // at the panel's first channel, or null
  const float* bias = nullptr;     // at the panel's first channel, or null
  const float* residual = nullptr; // at out's position and strides, or null
  void* out = nullptr;             // float, or int32 when int_out
  bool int_out = false;
  int64_t row_stride = 0, col_stride = 0;  // in elements
};

// Binarizes `channels` channel planes (channel c at x + c * plane) for pixels [p0, p1) into
// plain packed words: out[(p - p0) * words + w], words = ceil(channels / 32), tail bits 0.
using PackPlanesFn = void (*)(const float* x, int64_t channels, int64_t plane, int64_t p0,
                              int64_t p1, uint32_t* out);
// Binarizes `rows` contiguous rows of n floats into packed words (as pack_signs).
using PackRowsFn = void (*)(const float* x, int64_t rows, int64_t n, uint32_t* out);
using TileFn = void (*)(const TileArgs& args);

struct MicroKernels {
  const char* name;
  int mr;      // rows per tile
  int nr;      // channels per panel
  bool split;  // split (nibble) layout for A and B
  TileFn tile;
  PackPlanesFn pack_planes;
  PackRowsFn pack_rows;
};

// Each returns null when this build lacks the path; whether the CPU can run it is
// isa_available()'s business (isa.cc), so call these only after checking it. Each is defined
// beside its tile, in xnor_tile_<isa>.cc.
const MicroKernels* portable_kernels();
const MicroKernels* avx2_kernels();
const MicroKernels* avx512_kernels();
const MicroKernels* neon_kernels();
const MicroKernels* wasm_simd128_kernels();
// The microkernels of an available fast path; null for Isa::kRef or an unavailable path.
const MicroKernels* kernels_for(Isa isa);

// Plain C++ binarize + pack, which the other paths use as they are or for edges
// (sign_pack_portable.cc).
void pack_planes_generic(const float* x, int64_t channels, int64_t plane, int64_t p0, int64_t p1,
                         uint32_t* out);
void pack_rows_generic(const float* x, int64_t rows, int64_t n, uint32_t* out);
// AVX2 binarize + pack (sign_pack_avx2.cc; x86-64 builds only, CPUs with AVX2 only).
void pack_planes_avx2(const float* x, int64_t channels, int64_t plane, int64_t p0, int64_t p1,
                      uint32_t* out);
void pack_rows_avx2(const float* x, int64_t rows, int64_t n, uint32_t* out);
// Epilogue for one tile from int32 ones counts ones[i * nr + j] (any tile, any strides;
// xnor_tile_epilogue.cc).
void tile_epilogue_generic(const TileArgs& t, int nr, const int32_t* ones);

// ---- Writing A and B in the layouts above (shared by the weight and activation packers).

constexpr uint64_t kLowNibbles = 0x0F0F0F0F0F0F0F0Full;

// 64-bit step s of a row of `words` packed 32-bit words.
inline uint64_t step_of(const uint32_t* row, int64_t words, int64_t s) {
  const uint64_t lo = row[2 * s];
  const uint64_t hi = 2 * s + 1 < words ? row[2 * s + 1] : 0;
  return lo | (hi << 32);
}

// Writes one A element (one step) in the microkernel's layout.
inline void put_element(uint64_t v, bool split, uint64_t* dst) {
  if (split) {
    dst[0] = v & kLowNibbles;
    dst[1] = (v >> 4) & kLowNibbles;
  } else {
    dst[0] = v;
  }
}

// Converts one row of plain packed words into `steps` elements.
inline void put_row(const uint32_t* words_row, int64_t words, int64_t steps, bool split,
                    uint64_t* dst) {
  const int elem = split ? 2 : 1;
  for (int64_t s = 0; s < steps; ++s) put_element(step_of(words_row, words, s), split, dst + s * elem);
}

// Tiles per job (a block of tiles that shares one weight panel): keeps the A rows of one
// block, read once per panel, within about 128 KiB of L2. row_u64: one A row in uint64.
inline int64_t tiles_per_block(const MicroKernels& mk, int64_t row_u64) {
  const int64_t tile_bytes = std::max<int64_t>(1, mk.mr * row_u64 * 8);
  return std::max<int64_t>(1, (128 << 10) / tile_bytes);
}

}  // namespace bmx

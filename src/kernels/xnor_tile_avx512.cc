// AVX-512 xnor/popcount tile (x86-64 CPUs with AVX512F/BW/VL and VPOPCNTDQ, e.g. AMD Zen 4,
// Intel Ice Lake and later; compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq).
//
// Plain layout: each 64-bit lane of a zmm register is one output channel (A is broadcast), so
// popcount(a ^ b) for 8 channels is vpxorq + vpopcntq, accumulated with vpaddq straight into
// 64-bit per-channel sums: 3 instructions per 512 bit-MACs, no flush and no horizontal
// reduction. Tiles are 8 rows x 16 channels (16 accumulators of the 32 zmm registers).
// Binarize + pack is the AVX2 code, sign_pack_avx2.cc (every AVX-512 CPU has AVX2).
#include "microkernel.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__) && \
    defined(__AVX512VL__) && defined(__AVX512BW__)

#include <immintrin.h>

namespace bmx {

namespace {

constexpr int kMr = 8, kNv = 2, kNr = 16;
// Loops over a tile's rows carry "#pragma GCC unroll": unrolled, the accumulators stay in
// registers (otherwise GCC keeps the array on the stack).

// Stores the 8 pixel x 16 channel tile y[pixel] as 16 channel rows of 8 floats at
// o + channel * cs: a three-stage transpose on full zmm registers (24 shuffles; two 8 x 8
// ymm transposes take 48). Stages 1-2 work inside 128-bit lanes: u[c][g] lane k holds
// pixels 4g..4g+3 of channel 4k + c; stage 3 joins both pixel halves of a channel.
inline void store_transposed(const __m512 (&y)[8], float* o, int64_t cs) {
  __m512 t[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(y[2 * i], y[2 * i + 1]);      // channels 4k, 4k + 1
    t[2 * i + 1] = _mm512_unpackhi_ps(y[2 * i], y[2 * i + 1]);  // channels 4k + 2, 4k + 3
  }
  __m512 u[4][2];
  for (int g = 0; g < 2; ++g) {
    const __m512 lo01 = t[4 * g], hi01 = t[4 * g + 1], lo23 = t[4 * g + 2], hi23 = t[4 * g + 3];
    u[0][g] = _mm512_shuffle_ps(lo01, lo23, _MM_SHUFFLE(1, 0, 1, 0));
    u[1][g] = _mm512_shuffle_ps(lo01, lo23, _MM_SHUFFLE(3, 2, 3, 2));
    u[2][g] = _mm512_shuffle_ps(hi01, hi23, _MM_SHUFFLE(1, 0, 1, 0));
    u[3][g] = _mm512_shuffle_ps(hi01, hi23, _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Lanes {a.k, b.k, a.k + 1, b.k + 1}: channel 4k + c in the low half, 4(k + 1) + c high.
  const __m512i join01 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i join23 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int c = 0; c < 4; ++c) {
    const __m512 v01 = _mm512_permutex2var_ps(u[c][0], join01, u[c][1]);  // channels c, 4 + c
    const __m512 v23 = _mm512_permutex2var_ps(u[c][0], join23, u[c][1]);  // 8 + c, 12 + c
    _mm256_storeu_ps(o + c * cs, _mm512_castps512_ps256(v01));
    _mm256_storeu_pd(reinterpret_cast<double*>(o + (4 + c) * cs),
                     _mm512_extractf64x4_pd(_mm512_castps_pd(v01), 1));
    _mm256_storeu_ps(o + (8 + c) * cs, _mm512_castps512_ps256(v23));
    _mm256_storeu_pd(reinterpret_cast<double*>(o + (12 + c) * cs),
                     _mm512_extractf64x4_pd(_mm512_castps_pd(v23), 1));
  }
}

template <int M>
void tile_m(const TileArgs& t) {
  __m512i acc[M][kNv];
  #pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) acc[i][j] = _mm512_setzero_si512();
  }
  const uint64_t* b = t.b;
  for (int tap = 0; tap < t.taps; ++tap) {
    const int64_t off = t.tap_off[tap];
    const uint64_t* a[M];
    #pragma GCC unroll 8
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + off;
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      const __m512i b0 = _mm512_load_si512(b);
      const __m512i b1 = _mm512_load_si512(b + 8);
      #pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m512i ai = _mm512_set1_epi64(static_cast<long long>(a[i][s]));
        acc[i][0] = _mm512_add_epi64(acc[i][0], _mm512_popcnt_epi64(_mm512_xor_si512(ai, b0)));
        acc[i][1] = _mm512_add_epi64(acc[i][1], _mm512_popcnt_epi64(_mm512_xor_si512(ai, b1)));
      }
    }
  }

  // dot = ktot - 2 * ones - corr, 16 channels per row.
  const __m512i ktot = _mm512_set1_epi32(t.ktot);
  __m512i dot[M];
  // The low dwords of both accumulators (counts fit in 32 bits): channels 0..15 in order.
  const __m512i low_dwords = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  #pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    const __m512i ones = _mm512_permutex2var_epi32(acc[i][0], low_dwords, acc[i][1]);
    dot[i] = _mm512_sub_epi32(ktot, _mm512_add_epi32(ones, ones));
    if (t.corr) dot[i] = _mm512_sub_epi32(dot[i], _mm512_loadu_si512(t.corr + i * kNr));
  }
  const bool full = t.n_valid == kNr;
  if (full && (t.col_stride == 1 || (M == kMr && t.row_stride == 1)) ) {
    __m512 y[M];
    if (!t.int_out) {
      const __m512 bias = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
      const __m512 scale = t.scale ? _mm512_loadu_ps(t.scale) : _mm512_setzero_ps();
      #pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        __m512 v = _mm512_cvtepi32_ps(dot[i]);
        if (t.scale) v = _mm512_mul_ps(scale, v);  // scale * float(dot) + bias, never fused
        y[i] = _mm512_add_ps(v, bias);
      }
    }
    if (t.col_stride == 1) {  // row-major output (dense, GEMM)
      #pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        if (t.int_out) {
          _mm512_storeu_si512(static_cast<int32_t*>(t.out) + i * t.row_stride, dot[i]);
        } else {
          if (t.residual) y[i] = _mm512_add_ps(y[i], _mm512_loadu_ps(t.residual + i * t.row_stride));
          _mm512_storeu_ps(static_cast<float*>(t.out) + i * t.row_stride, y[i]);
        }
      }
      return;
    }
    if constexpr (M == kMr) {
      if (!t.int_out) {  // NCHW output: 8 pixels x 16 channels -> 16 channels x 8 pixels
        store_transposed(y, static_cast<float*>(t.out), t.col_stride);
        return;
      }
    }
  }
  // Edges: recover the ones counts for the generic epilogue.
  alignas(64) int32_t ones[kMr * kNr];
  #pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    __m512i d = dot[i];
    if (t.corr) d = _mm512_add_epi32(d, _mm512_loadu_si512(t.corr + i * kNr));
    _mm512_store_si512(ones + i * kNr, _mm512_srai_epi32(_mm512_sub_epi32(ktot, d), 1));
  }
  tile_epilogue_generic(t, kNr, ones);
}

void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<1>(t);
    case 2: return tile_m<2>(t);
    case 3: return tile_m<3>(t);
    case 4: return tile_m<4>(t);
    case 5: return tile_m<5>(t);
    case 6: return tile_m<6>(t);
    case 7: return tile_m<7>(t);
    default: return tile_m<8>(t);
  }
}

}  // namespace

const MicroKernels* avx512_kernels() {
  static const MicroKernels k{"avx512", kMr, kNr, false, tile, pack_planes_avx2, pack_rows_avx2};
  return &k;
}

}  // namespace bmx

#else  // not an AVX-512 build of this file

namespace bmx {
const MicroKernels* avx512_kernels() { return nullptr; }
}  // namespace bmx

#endif

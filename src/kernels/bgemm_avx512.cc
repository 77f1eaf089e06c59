// AVX-512 fast path (x86-64 CPUs with AVX512F/BW/VL and VPOPCNTDQ, e.g. AMD Zen 4, Intel Ice
// Lake and later; compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vpopcntdq).
//
// Plain layout: each 64-bit lane of a zmm register is one output channel (A is broadcast), so
// popcount(a ^ b) for 8 channels is vpxorq + vpopcntq, accumulated with vpaddq straight into
// 64-bit per-channel sums: 3 instructions per 512 bit-MACs, no flush and no horizontal
// reduction. Tiles are 8 rows x 16 channels (16 accumulators of the 32 zmm registers).
// Binarize + pack reuses the AVX2 code (every AVX-512 CPU has AVX2).
#include "microkernel.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__) && \
    defined(__AVX512VL__) && defined(__AVX512BW__)

#include <immintrin.h>

namespace bmx {

namespace {

constexpr int kMr = 8, kNv = 2, kNr = 16;

// 8 x 8 float transpose of rows r[0..7] (ymm) in place.
inline void transpose8(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

template <int M>
void tile_m(const TileArgs& t) {
  __m512i acc[M][kNv];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) acc[i][j] = _mm512_setzero_si512();
  }
  const uint64_t* b = t.b;
  for (int tap = 0; tap < t.taps; ++tap) {
    const int64_t off = t.tap_off[tap];
    const uint64_t* a[M];
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + off;
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      const __m512i b0 = _mm512_load_si512(b);
      const __m512i b1 = _mm512_load_si512(b + 8);
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
  for (int i = 0; i < M; ++i) {
    const __m512i ones = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(acc[i][0])),
                                            _mm512_cvtepi64_epi32(acc[i][1]), 1);
    dot[i] = _mm512_sub_epi32(ktot, _mm512_add_epi32(ones, ones));
    if (t.corr) dot[i] = _mm512_sub_epi32(dot[i], _mm512_loadu_si512(t.corr + i * kNr));
  }
  const bool full = t.n_valid == kNr;
  if (full && (t.col_stride == 1 || (M == kMr && t.row_stride == 1)) ) {
    __m512 y[M];
    if (!t.int_out) {
      const __m512 bias = t.bias ? _mm512_loadu_ps(t.bias) : _mm512_setzero_ps();
      const __m512 scale = t.scale ? _mm512_loadu_ps(t.scale) : _mm512_setzero_ps();
      for (int i = 0; i < M; ++i) {
        __m512 v = _mm512_cvtepi32_ps(dot[i]);
        if (t.scale) v = _mm512_mul_ps(scale, v);  // scale * float(dot) + bias, never fused
        y[i] = _mm512_add_ps(v, bias);
      }
    }
    if (t.col_stride == 1) {  // row-major output (dense, GEMM)
      for (int i = 0; i < M; ++i) {
        if (t.int_out) {
          _mm512_storeu_si512(static_cast<int32_t*>(t.out) + i * t.row_stride, dot[i]);
        } else {
          _mm512_storeu_ps(static_cast<float*>(t.out) + i * t.row_stride, y[i]);
        }
      }
      return;
    }
    if (!t.int_out) {  // NCHW output: 8 pixels x 16 channels -> 16 channels x 8 pixels
      float* o = static_cast<float*>(t.out);
      const int64_t cs = t.col_stride;
      for (int half = 0; half < 2; ++half) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) {
          r[i] = half == 0 ? _mm512_castps512_ps256(y[i])
                           : _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(y[i]), 1));
        }
        transpose8(r);
        for (int j = 0; j < 8; ++j) _mm256_storeu_ps(o + (half * 8 + j) * cs, r[j]);
      }
      return;
    }
  }
  // Edges: recover the ones counts for the generic epilogue.
  alignas(64) int32_t ones[kMr * kNr];
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

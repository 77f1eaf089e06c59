// AVX2 xnor/popcount tile (x86-64, compiled with -mavx2 -mbmi2 -mpopcnt -mfma
// -ffp-contract=off); its binarize + pack is sign_pack_avx2.cc.
//
// Split layout: every 64-bit step of A and B is stored as its low nibbles and its high nibbles
// (one nibble per byte), done once when packing, so that popcount(a ^ b) for 4 output channels
// at a time is  pshufb(lut, a_lo ^ b_lo) + pshufb(lut, a_hi ^ b_hi): 6 vector operations per
// 256 bit-MACs. Each 64-bit lane of a ymm register is one output channel (A is broadcast), so
// vpsadbw leaves per-channel sums in place and no horizontal reduction is needed. A 4 x 8
// tile keeps 8 byte accumulators in registers, flushed through vpsadbw every 31 steps (each
// step adds at most 8 per byte).
#include "microkernel.h"

#if defined(__x86_64__) && defined(__AVX2__)

#include <immintrin.h>

namespace bmx {

namespace {

constexpr int kMr = 4, kNv = 2, kNr = 8;
constexpr int kFlushSteps = 31;
// Loops over a tile's rows carry "#pragma GCC unroll", as in xnor_tile_avx512.cc, so that GCC
// keeps the accumulators in registers.

inline __m256i nibble_lut() {
  return _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                          0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
}

// ones (4 x int64 per vector, channels 0-3 and 4-7) -> dot = ktot - 2 * ones - corr, 8 x int32.
inline __m256i dots_of(__m256i s0, __m256i s1, __m256i ktot, const int32_t* corr) {
  // Low dwords of the 64-bit lanes: [s0.0 s0.1 s1.0 s1.1 | s0.2 s0.3 s1.2 s1.3] -> in order.
  const __m256 packed = _mm256_shuffle_ps(_mm256_castsi256_ps(s0), _mm256_castsi256_ps(s1),
                                          _MM_SHUFFLE(2, 0, 2, 0));
  const __m256i ones = _mm256_permute4x64_epi64(_mm256_castps_si256(packed),
                                                _MM_SHUFFLE(3, 1, 2, 0));
  __m256i dot = _mm256_sub_epi32(ktot, _mm256_add_epi32(ones, ones));
  if (corr) dot = _mm256_sub_epi32(dot, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr)));
  return dot;
}

// One step for M rows: low nibbles first, then high nibbles, so that only two B vectors are
// live at a time (8 accumulators + 2 B + lut + A + temporaries fit the 16 ymm registers).
template <int M>
inline void step(__m256i (&acc)[M][kNv], const uint64_t* const (&a)[M], int s, const uint64_t* b,
                 __m256i lut) {
  const __m256i bl0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
  const __m256i bl1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 4));
  #pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    const __m256i al = _mm256_set1_epi64x(static_cast<long long>(a[i][2 * s]));
    acc[i][0] = _mm256_add_epi8(acc[i][0], _mm256_shuffle_epi8(lut, _mm256_xor_si256(al, bl0)));
    acc[i][1] = _mm256_add_epi8(acc[i][1], _mm256_shuffle_epi8(lut, _mm256_xor_si256(al, bl1)));
  }
  const __m256i bh0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 8));
  const __m256i bh1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + 12));
  #pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    const __m256i ah = _mm256_set1_epi64x(static_cast<long long>(a[i][2 * s + 1]));
    acc[i][0] = _mm256_add_epi8(acc[i][0], _mm256_shuffle_epi8(lut, _mm256_xor_si256(ah, bh0)));
    acc[i][1] = _mm256_add_epi8(acc[i][1], _mm256_shuffle_epi8(lut, _mm256_xor_si256(ah, bh1)));
  }
}

// Writes a tile from its per-channel sums (sum[i][j]: 4 x int64, channels 4j..4j+3).
template <int M>
inline void epilogue(const TileArgs& t, const __m256i (&sum)[M][kNv]) {
  const __m256i ktot = _mm256_set1_epi32(t.ktot);
  __m256i dot[M];
  #pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    dot[i] = dots_of(sum[i][0], sum[i][1], ktot, t.corr ? t.corr + i * kNr : nullptr);
  }
  const bool full = t.n_valid == kNr;
  if (full && t.int_out && t.col_stride == 1) {  // int32 row-major (GEMM)
    #pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<int32_t*>(t.out) + i * t.row_stride), dot[i]);
    }
    return;
  }
  if (full && !t.int_out && (t.col_stride == 1 || (M == kMr && t.row_stride == 1))) {
    // scale * float(dot) + bias, as the reference: never fused.
    const __m256 scale = t.scale ? _mm256_loadu_ps(t.scale) : _mm256_setzero_ps();
    const __m256 bias = t.bias ? _mm256_loadu_ps(t.bias) : _mm256_setzero_ps();
    __m256 f[M];
    #pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      f[i] = _mm256_cvtepi32_ps(dot[i]);
      if (t.scale) f[i] = _mm256_mul_ps(scale, f[i]);
      f[i] = _mm256_add_ps(f[i], bias);
    }
    float* o = static_cast<float*>(t.out);
    if (t.col_stride == 1) {  // float row-major (dense, NHWC)
      if (t.residual) {
        #pragma GCC unroll 4
        for (int i = 0; i < M; ++i) f[i] = _mm256_add_ps(f[i], _mm256_loadu_ps(t.residual + i * t.row_stride));
      }
      #pragma GCC unroll 4
      for (int i = 0; i < M; ++i) _mm256_storeu_ps(o + i * t.row_stride, f[i]);
      return;
    }
    if constexpr (M == kMr) {  // NCHW: 4 pixels x 8 channels -> 8 channels x 4 pixels
      const __m256 t0 = _mm256_unpacklo_ps(f[0], f[1]), t1 = _mm256_unpackhi_ps(f[0], f[1]);
      const __m256 t2 = _mm256_unpacklo_ps(f[2], f[3]), t3 = _mm256_unpackhi_ps(f[2], f[3]);
      const __m256 c04 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 c15 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
      const __m256 c26 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
      const __m256 c37 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
      const int64_t cs = t.col_stride;
      _mm_storeu_ps(o + 0 * cs, _mm256_castps256_ps128(c04));
      _mm_storeu_ps(o + 1 * cs, _mm256_castps256_ps128(c15));
      _mm_storeu_ps(o + 2 * cs, _mm256_castps256_ps128(c26));
      _mm_storeu_ps(o + 3 * cs, _mm256_castps256_ps128(c37));
      _mm_storeu_ps(o + 4 * cs, _mm256_extractf128_ps(c04, 1));
      _mm_storeu_ps(o + 5 * cs, _mm256_extractf128_ps(c15, 1));
      _mm_storeu_ps(o + 6 * cs, _mm256_extractf128_ps(c26, 1));
      _mm_storeu_ps(o + 7 * cs, _mm256_extractf128_ps(c37, 1));
      return;
    }
  }
  // Edges: recover the ones counts and let the generic epilogue write what is valid.
  alignas(32) int32_t ones[kMr * kNr];
  #pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    __m256i d = dot[i];
    if (t.corr) d = _mm256_add_epi32(d, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.corr + i * kNr)));
    // d = ktot - 2 * ones  ->  ones = (ktot - d) / 2
    _mm256_store_si256(reinterpret_cast<__m256i*>(ones + i * kNr), _mm256_srai_epi32(_mm256_sub_epi32(ktot, d), 1));
  }
  tile_epilogue_generic(t, kNr, ones);
}

template <int M>
void tile_m(const TileArgs& t) {
  const __m256i lut = nibble_lut();
  const __m256i zero = _mm256_setzero_si256();
  __m256i acc[M][kNv];
  __m256i sum[M][kNv];
  #pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) acc[i][j] = zero;
  }
  const uint64_t* b = t.b;
  if (t.steps == 1 && t.taps <= kFlushSteps) {
    // One step per tap (C <= 64): the taps are the reduction loop.
    for (int tap = 0; tap < t.taps; ++tap, b += 2 * kNr) {
      const int64_t off = t.tap_off[tap];
      const uint64_t* a[M];
      #pragma GCC unroll 4
      for (int i = 0; i < M; ++i) a[i] = t.a[i] + off;
      step<M>(acc, a, 0, b, lut);
    }
    #pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) sum[i][j] = _mm256_sad_epu8(acc[i][j], zero);
    }
  } else if (static_cast<int64_t>(t.taps) * t.steps <= kFlushSteps) {
    // Short reductions (C <= 192 per tap for 3x3): no flush, sums straight from the bytes.
    for (int tap = 0; tap < t.taps; ++tap) {
      const int64_t off = t.tap_off[tap];
      const uint64_t* a[M];
      #pragma GCC unroll 4
      for (int i = 0; i < M; ++i) a[i] = t.a[i] + off;
      for (int s = 0; s < t.steps; ++s, b += 2 * kNr) step<M>(acc, a, s, b, lut);
    }
    #pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) sum[i][j] = _mm256_sad_epu8(acc[i][j], zero);
    }
  } else {
    // Long reductions: bytes flushed into 64-bit sums (kept in memory) every 31 steps.
    alignas(32) uint64_t sums[M][kNv][4];
    #pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(sums[i][j]), zero);
    }
    auto flush = [&] {
      #pragma GCC unroll 4
      for (int i = 0; i < M; ++i) {
        for (int j = 0; j < kNv; ++j) {
          __m256i* p = reinterpret_cast<__m256i*>(sums[i][j]);
          _mm256_store_si256(p, _mm256_add_epi64(_mm256_load_si256(p), _mm256_sad_epu8(acc[i][j], zero)));
          acc[i][j] = zero;
        }
      }
    };
    int budget = kFlushSteps;
    for (int tap = 0; tap < t.taps; ++tap) {
      const int64_t off = t.tap_off[tap];
      const uint64_t* a[M];
      #pragma GCC unroll 4
      for (int i = 0; i < M; ++i) a[i] = t.a[i] + off;
      for (int s = 0; s < t.steps; ++s, b += 2 * kNr) {
        step<M>(acc, a, s, b, lut);
        if (--budget == 0) {
          flush();
          budget = kFlushSteps;
        }
      }
    }
    #pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) {
        sum[i][j] = _mm256_add_epi64(_mm256_load_si256(reinterpret_cast<const __m256i*>(sums[i][j])),
                                     _mm256_sad_epu8(acc[i][j], zero));
      }
    }
  }
  epilogue<M>(t, sum);
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

const MicroKernels* avx2_kernels() {
  static const MicroKernels k{"avx2", kMr, kNr, true, tile, pack_planes_avx2, pack_rows_avx2};
  return &k;
}

}  // namespace bmx

#else  // not an AVX2 build of this file

namespace bmx {
const MicroKernels* avx2_kernels() { return nullptr; }
}  // namespace bmx

#endif

// AVX2 binarize + pack of float activations (x86-64, compiled with the flags of
// xnor_tile_avx2.cc): channel planes (NCHW) and contiguous rows (dense, NHWC). The AVX-512
// path uses it too (every AVX-512 CPU has AVX2).
#include "microkernel.h"

#if defined(__x86_64__) && defined(__AVX2__)

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "bitpack.h"

namespace bmx {

namespace {

// Binarize + pack channel planes: for each word (32 channels, highest first) and a block of
// BP pixels, compare 8 floats with 0 per vector and shift the masks into per-pixel words
// (acc = 2 * acc - mask). BP = 64 reads 256 contiguous bytes per plane and visit.
template <int BP>
inline void pack_block(const float* x, int64_t channels, int64_t plane, int64_t words,
                       int64_t p, uint32_t* dst) {
  constexpr int V = BP / 8;
  const __m256 zero = _mm256_setzero_ps();
  alignas(32) uint32_t lanes[BP];
  for (int64_t w = 0; w < words; ++w) {
    const int64_t c0 = w * kWordBits, c1 = std::min<int64_t>(channels, c0 + kWordBits);
    __m256i acc[V];
    for (int v = 0; v < V; ++v) acc[v] = _mm256_setzero_si256();
    for (int64_t c = c1 - 1; c >= c0; --c) {
      const float* src = x + c * plane + p;
      for (int v = 0; v < V; ++v) {
        const __m256i m = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(src + 8 * v), zero, _CMP_LT_OQ));
        acc[v] = _mm256_sub_epi32(_mm256_add_epi32(acc[v], acc[v]), m);
      }
    }
    for (int v = 0; v < V; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 8 * v), acc[v]);
    for (int k = 0; k < BP; ++k) dst[k * words + w] = lanes[k];
  }
}

// Large blocks: through an L1 array of per-pixel words, four channel planes at a time (four
// sequential streams in flight, runs of up to 8 KiB), the next four prefetched.
constexpr int64_t kChunk = 2048;

inline __m256i sign_mask(const float* p) {
  return _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(p), _mm256_setzero_ps(), _CMP_LT_OQ));
}

void pack_chunk(const float* x, int64_t channels, int64_t plane, int64_t words, int64_t p,
                int64_t count, uint32_t* dst) {
  alignas(32) uint32_t acc[kChunk];
  for (int64_t w = 0; w < words; ++w) {
    const int64_t c0 = w * kWordBits, c1 = std::min<int64_t>(channels, c0 + kWordBits);
    std::memset(acc, 0, sizeof(uint32_t) * count);
    int64_t c = c1 - 1;
    // acc = 2 * acc - mask(c), channels from the highest down: bit (c - c0) holds channel c.
    for (; c - 3 >= c0; c -= 4) {
      const float* s3 = x + c * plane + p;
      const float *s2 = s3 - plane, *s1 = s2 - plane, *s0 = s1 - plane;
      const char* next = reinterpret_cast<const char*>(c - 4 >= 0 ? s0 - plane : s0);
      for (int64_t q = 0; q < count; q += 8) {
        if ((q & 15) == 0) {
          _mm_prefetch(next + 4 * q, _MM_HINT_T0);
          _mm_prefetch(next - 4 * plane + 4 * q, _MM_HINT_T0);
        }
        __m256i* a = reinterpret_cast<__m256i*>(acc + q);
        __m256i v = _mm256_load_si256(a);
        v = _mm256_sub_epi32(_mm256_add_epi32(v, v), sign_mask(s3 + q));
        v = _mm256_sub_epi32(_mm256_add_epi32(v, v), sign_mask(s2 + q));
        v = _mm256_sub_epi32(_mm256_add_epi32(v, v), sign_mask(s1 + q));
        v = _mm256_sub_epi32(_mm256_add_epi32(v, v), sign_mask(s0 + q));
        _mm256_store_si256(a, v);
      }
    }
    for (; c >= c0; --c) {
      const float* src = x + c * plane + p;
      for (int64_t q = 0; q < count; q += 8) {
        __m256i* a = reinterpret_cast<__m256i*>(acc + q);
        const __m256i v = _mm256_load_si256(a);
        _mm256_store_si256(a, _mm256_sub_epi32(_mm256_add_epi32(v, v), sign_mask(src + q)));
      }
    }
    for (int64_t k = 0; k < count; ++k) dst[k * words + w] = acc[k];
  }
}

}  // namespace

void pack_planes_avx2(const float* x, int64_t channels, int64_t plane, int64_t p0, int64_t p1,
                      uint32_t* out) {
  const int64_t words = packed_words(channels);
  int64_t p = p0;
  for (; p + 64 <= p1;) {
    const int64_t count = std::min<int64_t>(kChunk, (p1 - p) / 8 * 8);
    pack_chunk(x, channels, plane, words, p, count, out + (p - p0) * words);
    p += count;
  }
  for (; p + 8 <= p1; p += 8) pack_block<8>(x, channels, plane, words, p, out + (p - p0) * words);
  if (p < p1) pack_planes_generic(x, channels, plane, p, p1, out + (p - p0) * words);
}

// Contiguous rows: 32 floats -> 4 compares -> 4 movemasks -> one word.
void pack_rows_avx2(const float* x, int64_t rows, int64_t n, uint32_t* out) {
  const int64_t words = packed_words(n), full = n / kWordBits;
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * n;
    uint32_t* dst = out + r * words;
    for (int64_t w = 0; w < full; ++w) {
      const float* s = src + w * kWordBits;
      const uint32_t b0 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s), zero, _CMP_LT_OQ)));
      const uint32_t b1 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + 8), zero, _CMP_LT_OQ)));
      const uint32_t b2 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + 16), zero, _CMP_LT_OQ)));
      const uint32_t b3 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + 24), zero, _CMP_LT_OQ)));
      dst[w] = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
    }
    if (full < words) {
      uint32_t bits = 0;
      for (int64_t c = full * kWordBits; c < n; ++c) {
        bits |= static_cast<uint32_t>(src[c] < 0.0f) << (c - full * kWordBits);
      }
      dst[full] = bits;
    }
  }
}

}  // namespace bmx

#endif

// The reference binary GEMM: plain loops, the twin of bgemm_fast.
#include "bgemm.h"

#include "bitpack.h"

namespace bmx {

void bgemm_ref(int64_t M, int64_t N, int64_t K, const uint32_t* A, const uint32_t* B,
               int32_t* C) {
  const int64_t words = packed_words(K);
  for (int64_t m = 0; m < M; ++m) {
    const uint32_t* a = A + m * words;
    for (int64_t n = 0; n < N; ++n) {
      const uint32_t* b = B + n * words;
      int64_t ones = 0;
      for (int64_t w = 0; w < words; ++w) ones += __builtin_popcount(a[w] ^ b[w]);
      C[m * N + n] = static_cast<int32_t>(K - 2 * ones);
    }
  }
}

}  // namespace bmx

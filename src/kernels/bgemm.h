// Binary GEMM on packed rows: the dot product of two ±1 vectors of length K is
// K - 2 * popcount(a XOR b) (tail bits are 0 in both operands, so they never count).
#pragma once

#include <cstdint>

namespace bmx {

// C[m * N + n] = dot(A row m, B row n); A is M x words(K), B is N x words(K).
void bgemm_ref(int64_t M, int64_t N, int64_t K, const uint32_t* A, const uint32_t* B,
               int32_t* C);

}  // namespace bmx

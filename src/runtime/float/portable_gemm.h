// The portable float GEMM behind the portable conv and dense layers: C = A * B (+ bias,
// optional relu), cache-blocked (KC-deep slices of B stay in L1, MC-row blocks of A in L2) and
// register-tiled (an MR x NR tile of C in vector registers), written with GCC/Clang vector
// extensions so that it compiles to SSE, NEON or WebAssembly SIMD128 without intrinsics.
//
// B (the weights) is packed once, at layer creation. A is read row by row in blocks: in place
// when it is a matrix already (dense layers, 1x1 convolutions), else built per block by the
// caller (conv layers write their im2col rows straight into the block, so no full im2col
// matrix is ever stored).
#pragma once

#include <cstdint>
#include <vector>

#include "float_kernels.h"

namespace bmx {
namespace rt {
namespace portable {

// Tile shapes. Each instruction-set variant of the GEMM computes MR x kNR tiles of C with
// MR * kNR / lanes accumulators held in vector registers; kMC is a multiple of every variant's MR.
#if defined(__x86_64__) && !defined(__EMSCRIPTEN__)
// 16 registers: AVX2 + FMA runs 6 x 16 tiles of 8-float vectors (12 accumulators, 2 B vectors,
// 1 broadcast); the SSE baseline 3 x 16 tiles of 4-float vectors.
constexpr int64_t kNR = 16;
constexpr int64_t kMC = 96;
#elif defined(__aarch64__) || defined(__ARM_NEON)
constexpr int64_t kNR = 8;  // 32 vector registers: 8 x 8 tiles (16 accumulators)
constexpr int64_t kMC = 128;
#else
constexpr int64_t kNR = 8;  // 16 vector registers (WebAssembly SIMD): 4 x 8 tiles
constexpr int64_t kMC = 64;
#endif
constexpr int64_t kKC = 256;  // depth of one block

// The threads the portable layers may use: `threads`, or 1 on a target without threads
// (WebAssembly built without pthreads, where std::thread cannot start one).
inline int usable_threads(int threads) {
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
  (void)threads;
  return 1;
#else
  return threads;
#endif
}

// B (k x n) in panels of kNR columns, each panel k-major (kNR floats per k), the last panel
// padded with zero columns.
struct PackedB {
  int64_t k = 0, n = 0;
  std::vector<float> data;
  const float* panel(int64_t p) const { return data.data() + p * k * kNR; }
  int64_t panels() const { return (n + kNR - 1) / kNR; }
};

// B(kk, j) = weight[j * col_stride + kk * k_stride] (offsets relative to `weight`).
PackedB pack_b(int64_t k, int64_t n, const float* weight, int64_t col_stride, int64_t k_stride);

// How the rows of A lie when the GEMM reads them where they are: row r is `runs` runs of `run`
// floats, run s starting at row[r] + s * run_stride, so depth k = s * run + j. A convolution
// on a padded NHWC image reads each receptive field so, one run per kernel row.
struct RowRuns {
  int64_t runs = 1, run = 0, run_stride = 0;
};

// Gives rows [m0, m0 + mc) x depth [k0, k0 + kc) of A, row-major: either written into `buf`
// (room for kMC x kKC floats; row stride kc) or, when A is already a row-major matrix, a
// pointer into it. Returns the block and sets *lda to its row stride.
struct PackA {
  virtual const float* pack(int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* buf,
                            int64_t* lda) const = 0;
  // Instead of pack, for the whole depth at once: when rows [m0, m0 + mc) can be read in place
  // as runs, sets row[0, mc) and *runs and returns true (then pack is never called).
  virtual bool rows_in_place(int64_t /*m0*/, int64_t /*mc*/, const float** /*row*/,
                             RowRuns* /*runs*/) const {
    return false;
  }

 protected:
  ~PackA() = default;
};

// A row-major matrix as A (rows m, depth k, row stride lda): used in place, never copied.
struct PackRows final : PackA {
  const float* a;
  int64_t lda;
  PackRows(const float* a_, int64_t lda_) : a(a_), lda(lda_) {}
  const float* pack(int64_t m0, int64_t, int64_t k0, int64_t, float*,
                    int64_t* block_lda) const override {
    *block_lda = lda;
    return a + m0 * lda + k0;
  }
};

// C (m x b.n, row stride ldc) = A (m x b.k) * B + bias, then the activation. bias: null, or
// b.panels() * kNR floats (b.n values, zero-padded). Runs on up to `threads` threads;
// allocates nothing.
void gemm(int64_t m, const PackA& a, const PackedB& b, float* c, int64_t ldc, const float* bias,
          FusedActivation activation, int threads);

}  // namespace portable
}  // namespace rt
}  // namespace bmx

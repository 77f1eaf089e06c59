// The portable float GEMM (see portable_gemm.h).
#include "portable_gemm.h"

#include <algorithm>
#include <cstring>

#include "parallel.h"

namespace bmx {
namespace rt {
namespace portable {
namespace {

typedef float v4 __attribute__((vector_size(16)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__EMSCRIPTEN__)
typedef float v8 __attribute__((vector_size(32)));
#endif

struct Epilogue {
  bool accumulate;     // add to what C holds (a later depth block)
  bool last;           // the last depth block: add the bias, apply the activation
  const float* bias;   // null or this tile's kNR bias values (zero-padded)
  bool relu;
};

// Inlined into each instruction-set variant of run_task below.
#if defined(__GNUC__)
#define BMX_INLINE inline __attribute__((always_inline))
#else
#define BMX_INLINE inline
#endif

// An R x kNR tile of C: c[r][j] (+)= sum_k A(r, k) * b[k * kNR + j] for r < rows, j < cols,
// in vectors V, where A(r, k) = a[r][s * runs.run_stride + k - s * runs.run] for the run s that
// holds k. The accumulators live in registers (R * kNR / lanes vectors).
template <typename V, int R>
BMX_INLINE void tile(const RowRuns& runs, const float* const* a, const float* b, float* c,
                     int64_t ldc, int64_t rows, int64_t cols, const Epilogue& e) {
  constexpr int kLanes = sizeof(V) / sizeof(float);
  constexpr int kNV = kNR / kLanes;  // vectors per tile row
  static_assert(kNV * kLanes == kNR, "kNR must be whole vectors");
  V acc[R][kNV];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < kNV; ++j) acc[r][j] = V{} ;
  for (int64_t s = 0; s < runs.runs; ++s, b += runs.run * kNR) {
    const float* ar[R];
    for (int r = 0; r < R; ++r) ar[r] = a[r] + s * runs.run_stride;
    for (int64_t k = 0; k < runs.run; ++k) {
      V bv[kNV];
      for (int j = 0; j < kNV; ++j) std::memcpy(&bv[j], b + k * kNR + kLanes * j, sizeof(V));
      for (int r = 0; r < R; ++r) {
        const float x = ar[r][k];
        for (int j = 0; j < kNV; ++j) acc[r][j] += x * bv[j];
      }
    }
  }
  if (e.last && e.bias != nullptr) {
    for (int j = 0; j < kNV; ++j) {
      V bias;
      std::memcpy(&bias, e.bias + kLanes * j, sizeof(V));
      for (int r = 0; r < R; ++r) acc[r][j] += bias;
    }
  }
  const V zero = V{};
  if (rows == R && cols == kNR) {
    for (int r = 0; r < R; ++r) {
      for (int j = 0; j < kNV; ++j) {
        V v = acc[r][j];
        float* cp = c + r * ldc + kLanes * j;
        if (e.accumulate) {
          V old;
          std::memcpy(&old, cp, sizeof(V));
          v += old;
        }
        if (e.last && e.relu) v = v > zero ? v : zero;
        std::memcpy(cp, &v, sizeof(V));
      }
    }
    return;
  }
  float t[R][kNR];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < kNV; ++j) std::memcpy(&t[r][kLanes * j], &acc[r][j], sizeof(V));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; ++j) {
      float v = t[r][j];
      if (e.accumulate) v += c[r * ldc + j];
      if (e.last && e.relu) v = std::max(v, 0.0f);
      c[r * ldc + j] = v;
    }
  }
}

// The A pack buffer of the calling thread: one block, shared by every layer.
float* a_block_buffer() {
  alignas(64) static thread_local float buffer[kMC * kKC];
  return buffer;
}

struct GemmJob {
  int64_t m, m_blocks, n_splits, panels;
  const PackA* a;
  const PackedB* b;
  float* c;
  int64_t ldc;
  const float* bias;  // zero-padded to panels * kNR, or null
  bool relu;
};

// Rows [m0, m0 + mc) of C against column panel p over one depth block starting at k0, in
// R-row tiles (single rows at the block's end).
template <typename V, int R>
BMX_INLINE void tiles(const GemmJob& g, const RowRuns& runs, const float* const* row, int64_t m0,
                      int64_t mc, int64_t p, int64_t k0, bool last) {
  const float* bp = g.b->panel(p) + k0 * kNR;
  const int64_t cols = std::min(kNR, g.b->n - p * kNR);
  const Epilogue e{k0 > 0, last, g.bias ? g.bias + p * kNR : nullptr, g.relu};
  for (int64_t i = 0; i < mc; i += R) {
    const int64_t rows = std::min<int64_t>(R, mc - i);
    float* cp = g.c + (m0 + i) * g.ldc + p * kNR;
    if (rows == R) {
      tile<V, R>(runs, row + i, bp, cp, g.ldc, rows, cols, e);
    } else {
      for (int64_t r = 0; r < rows; ++r)
        tile<V, 1>(runs, row + i + r, bp, cp + r * g.ldc, g.ldc, 1, cols, e);
    }
  }
}

// One task: the row block task / n_splits, its share task % n_splits of the column panels,
// in R-row tiles of V vectors.
template <typename V, int R>
BMX_INLINE void run_task(const GemmJob& g, int64_t task) {
  static_assert(kMC % R == 0, "kMC must be whole tiles");
  const int64_t mb = task / g.n_splits, ns = task % g.n_splits;
  const int64_t m0 = mb * kMC, mc = std::min(kMC, g.m - m0);
  const int64_t p0 = g.panels * ns / g.n_splits, p1 = g.panels * (ns + 1) / g.n_splits;
  const int64_t k = g.b->k;
  const float* row[kMC];
  RowRuns runs;
  if (g.a->rows_in_place(m0, mc, row, &runs)) {
    for (int64_t p = p0; p < p1; ++p) tiles<V, R>(g, runs, row, m0, mc, p, 0, true);
    return;
  }
  float* abuf = a_block_buffer();
  for (int64_t k0 = 0; k0 < k; k0 += kKC) {
    const int64_t kc = std::min(kKC, k - k0);
    int64_t lda = 0;
    const float* ablock = g.a->pack(m0, mc, k0, kc, abuf, &lda);
    for (int64_t r = 0; r < mc; ++r) row[r] = ablock + r * lda;
    runs = RowRuns{1, kc, 0};
    for (int64_t p = p0; p < p1; ++p) tiles<V, R>(g, runs, row, m0, mc, p, k0, k0 + kc == k);
  }
}

using TaskFunction = void (*)(const GemmJob&, int64_t);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__EMSCRIPTEN__)
void run_task_baseline(const GemmJob& g, int64_t task) { run_task<v4, 3>(g, task); }

// AVX2 + FMA: 8-float vectors, 6 x 16 tiles, fused multiply-adds; chosen at run time when the
// CPU has them.
__attribute__((target("avx2,fma"))) void run_task_avx2(const GemmJob& g, int64_t task) {
  run_task<v8, 6>(g, task);
}

TaskFunction task_function() {
  static const TaskFunction f = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? run_task_avx2
                                                                           : run_task_baseline;
  }();
  return f;
}
#elif defined(__aarch64__) || defined(__ARM_NEON)
void run_task_baseline(const GemmJob& g, int64_t task) { run_task<v4, 8>(g, task); }
TaskFunction task_function() { return run_task_baseline; }
#else
void run_task_baseline(const GemmJob& g, int64_t task) { run_task<v4, 4>(g, task); }
TaskFunction task_function() { return run_task_baseline; }
#endif

}  // namespace

PackedB pack_b(int64_t k, int64_t n, const float* weight, int64_t col_stride, int64_t k_stride) {
  PackedB b;
  b.k = k;
  b.n = n;
  b.data.assign(static_cast<size_t>(b.panels() * k * kNR), 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    float* panel = b.data.data() + (j / kNR) * k * kNR + j % kNR;
    for (int64_t kk = 0; kk < k; ++kk) panel[kk * kNR] = weight[j * col_stride + kk * k_stride];
  }
  return b;
}

void gemm(int64_t m, const PackA& a, const PackedB& b, float* c, int64_t ldc, const float* bias,
          FusedActivation activation, int threads) {
  if (m <= 0 || b.n <= 0) return;
  threads = usable_threads(threads);
  GemmJob g;
  g.m = m;
  g.m_blocks = (m + kMC - 1) / kMC;
  g.panels = b.panels();
  // Few row blocks (small images, dense layers): split the columns too, so every thread works.
  g.n_splits = 1;
  if (threads > 1 && g.m_blocks < 2 * threads)
    g.n_splits = std::min(g.panels, (2 * threads + g.m_blocks - 1) / g.m_blocks);
  g.a = &a;
  g.b = &b;
  g.c = c;
  g.ldc = ldc;
  g.bias = bias;
  g.relu = activation == FusedActivation::kRelu;
  if (b.k == 0) {
    // No depth: C is the bias (or 0), activated.
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < b.n; ++j) {
        const float v = bias ? bias[j] : 0.0f;
        c[r * ldc + j] = g.relu ? std::max(v, 0.0f) : v;
      }
    return;
  }
  const GemmJob* job = &g;
  const TaskFunction task = task_function();
  parallel_for(g.m_blocks * g.n_splits, threads, [job, task](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) task(*job, t);
  });
}

}  // namespace portable
}  // namespace rt
}  // namespace bmx

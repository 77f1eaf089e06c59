// Plain C entry points of the op library for tests and benchmarks (ctypes): which fast path
// runs, how many threads, how often weights were repacked, and the packed-operand bgemm.
#include <atomic>
#include <cstdint>

#include "../kernels/fast_kernels.h"
#include "weight_cache.h"

namespace bmx {
std::atomic<int64_t>& weight_repack_counter() {
  static std::atomic<int64_t> counter{0};
  return counter;
}
}  // namespace bmx

extern "C" {

__attribute__((visibility("default"))) const char* bmxnet_kernel_isa() {
  return bmx::isa_name(bmx::default_isa());
}

__attribute__((visibility("default"))) int bmxnet_kernel_threads() {
  return bmx::kernel_threads();
}

// Overrides OMP_NUM_THREADS for the binary kernels (n <= 0 restores it); for benchmarks that
// compare thread counts within one process.
__attribute__((visibility("default"))) void bmxnet_set_kernel_threads(int n) {
  bmx::set_kernel_threads(n);
}

__attribute__((visibility("default"))) int64_t bmxnet_weight_repacks() {
  return bmx::weight_repack_counter().load();
}

// C (m x n, int32) = dot(A row, B row) of packed ±1 rows (A m x ceil(k/32), B n x ceil(k/32)
// uint32 words, tail bits 0), on the default fast path and kernel_threads() threads; B is
// repacked on every call (as a BLAS packs its operands). Returns 0, or -1 on bad arguments.
__attribute__((visibility("default"))) int bmxnet_bgemm(int64_t m, int64_t n, int64_t k,
                                                        const uint32_t* a, const uint32_t* b,
                                                        int32_t* c) {
  if (m < 0 || n < 1 || k < 1 || (m > 0 && (a == nullptr || c == nullptr)) || b == nullptr) return -1;
  try {
    bmx::bgemm_fast(bmx::default_isa(), m, n, k, a, b, c, bmx::kernel_threads());
  } catch (...) {
    return -1;
  }
  return 0;
}

}  // extern "C"

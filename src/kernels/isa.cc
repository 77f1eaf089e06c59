#include "isa.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "microkernel.h"

namespace bmx {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kPortable: return "portable";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
  }
  return "unknown";
}

bool parse_isa(const std::string& name, Isa* isa) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Isa i : {Isa::kRef, Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kNeon}) {
    if (n == isa_name(i)) {
      *isa = i;
      return true;
    }
  }
  return false;
}

namespace {

// The CPU checks live here, in a file compiled for the baseline instruction set.
bool cpu_has(Isa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (isa == Isa::kAvx2) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("fma");
  }
  if (isa == Isa::kAvx512) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq") &&
           __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
           __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("fma");
  }
  return false;
#elif defined(__aarch64__)
  return isa == Isa::kNeon;  // Advanced SIMD is part of the aarch64 baseline
#else
  (void)isa;
  return false;
#endif
}

}  // namespace

bool isa_available(Isa isa) {
  switch (isa) {
    case Isa::kRef:
    case Isa::kPortable: return true;
    case Isa::kAvx2: return cpu_has(isa) && avx2_kernels() != nullptr;
    case Isa::kAvx512: return cpu_has(isa) && avx512_kernels() != nullptr;
    case Isa::kNeon: return cpu_has(isa) && neon_kernels() != nullptr;
  }
  return false;
}

Isa best_isa() {
  for (Isa i : {Isa::kAvx512, Isa::kAvx2, Isa::kNeon}) {
    if (isa_available(i)) return i;
  }
  return Isa::kPortable;
}

Isa default_isa() {
  static const Isa chosen = [] {
    const char* env = std::getenv("BMX_KERNEL_ISA");
    if (env == nullptr || *env == '\0') return best_isa();
    Isa isa;
    if (!parse_isa(env, &isa)) {
      std::fprintf(stderr, "bmxnet: BMX_KERNEL_ISA=%s is unknown (ref, portable, avx2, avx512, "
                   "neon); using %s\n", env, isa_name(best_isa()));
      return best_isa();
    }
    if (!isa_available(isa)) {
      std::fprintf(stderr, "bmxnet: BMX_KERNEL_ISA=%s is not available on this CPU or build; "
                   "using %s\n", env, isa_name(best_isa()));
      return best_isa();
    }
    return isa;
  }();
  return chosen;
}

namespace {

std::atomic<int> thread_override{0};

int env_threads() {
  static const int n = [] {
    const char* env = std::getenv("OMP_NUM_THREADS");
    if (env != nullptr) {
      const int v = std::atoi(env);  // "2" or "2,1" (nested levels): the first level counts
      if (v > 0) return v;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
  }();
  return n;
}

}  // namespace

int kernel_threads() {
  const int o = thread_override.load(std::memory_order_relaxed);
  return o > 0 ? o : env_threads();
}

void set_kernel_threads(int n) { thread_override.store(n > 0 ? n : 0); }

void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t, int64_t)>& body) {
  if (tasks <= 0) return;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, tasks)));
  if (nt == 1) {
    body(0, tasks);
    return;
  }
  // Contiguous chunks (up to 16 per thread) handed out dynamically: a thread that is slowed
  // down (other load on the machine, a slower tile) takes fewer chunks.
  const int64_t chunks = std::min<int64_t>(tasks, 16 * static_cast<int64_t>(nt));
  std::atomic<int64_t> next{0};
  auto run = [&] {
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      const int64_t begin = tasks * c / chunks, end = tasks * (c + 1) / chunks;
      if (begin < end) body(begin, end);
    }
  };
#ifdef _OPENMP
  // The same OpenMP runtime as MXNet's own operators (libgomp), so both share one pool.
#pragma omp parallel num_threads(nt)
  run();
#else
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  for (int t = 1; t < nt; ++t) pool.emplace_back(run);
  run();
  for (auto& th : pool) th.join();
#endif
}

}  // namespace bmx

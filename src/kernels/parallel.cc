#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <system_error>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bmx {

namespace {

std::atomic<int> thread_override{0};
// The innermost ParallelScope of this thread.
thread_local ParallelRunner scope_runner = nullptr;
thread_local void* scope_pool = nullptr;
// The most threads std::thread could start at once: lowered for good when starting one fails,
// so that a count the system refuses is not tried again on every parallel region.
std::atomic<int> startable_threads{1 << 30};

// WebAssembly without pthreads (the browser build) has one thread: std::thread cannot start.
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
constexpr bool kSingleThreaded = true;
#else
constexpr bool kSingleThreaded = false;
#endif

int env_threads() {
  static const int n = [] {
    if (kSingleThreaded) return 1;
    const char* env = std::getenv("OMP_NUM_THREADS");
    if (env != nullptr) {
      const int v = std::atoi(env);  // "2" or "2,1" (nested levels): the first level counts
      if (v > 0) return v;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
  }();
  return std::min(n, max_kernel_threads());
}

}  // namespace

int max_kernel_threads() {
  static const int limit = [] {
    const unsigned hw = std::thread::hardware_concurrency();
    return std::max(64, static_cast<int>(std::min<unsigned>(hw, 1u << 20)));
  }();
  return limit;
}

int kernel_threads() {
  const int o = thread_override.load(std::memory_order_relaxed);
  return o > 0 ? o : env_threads();
}

void set_kernel_threads(int n) {
  thread_override.store(n > 0 ? std::min(n, max_kernel_threads()) : 0);
}

ParallelScope::ParallelScope(ParallelRunner runner, void* pool)
    : prev_runner_(scope_runner), prev_pool_(scope_pool) {
  scope_runner = runner;
  scope_pool = pool;
}

ParallelScope::~ParallelScope() {
  scope_runner = prev_runner_;
  scope_pool = prev_pool_;
}

void parallel_for(int64_t tasks, int threads, RangeFn body) {
  if (tasks <= 0) return;
  const int nt = static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(std::min(threads, max_kernel_threads()), tasks)));
  if (nt == 1 || kSingleThreaded) {
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
  if (const ParallelRunner runner = scope_runner) {
    struct Job {
      const RangeFn* body;
      int64_t tasks, chunks;
    } job{&body, tasks, chunks};
    runner(scope_pool, nt, chunks, [](void* ctx, int64_t c) {
      const Job& j = *static_cast<const Job*>(ctx);
      const int64_t begin = j.tasks * c / j.chunks, end = j.tasks * (c + 1) / j.chunks;
      if (begin < end) (*j.body)(begin, end);
    }, &job);
    return;
  }
#ifdef _OPENMP
  // The same OpenMP runtime as MXNet's own operators (libgomp), so both share one pool.
#pragma omp parallel num_threads(nt)
  run();
#else
  std::vector<std::thread> pool;
  const int started = std::min(nt, startable_threads.load(std::memory_order_relaxed));
  pool.reserve(started - 1);
  for (int t = 1; t < started; ++t) {
    try {
      pool.emplace_back(run);
    } catch (const std::system_error&) {
      // The system refuses more threads: the ones started (and the caller) take every chunk.
      startable_threads.store(t, std::memory_order_relaxed);
      break;
    }
  }
  run();
  for (auto& th : pool) th.join();
#endif
}

void start_threads(int threads) {
  if (threads > 1) parallel_for(threads, threads, [](int64_t, int64_t) {});
}

}  // namespace bmx

#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

#if defined(BMX_HAVE_XNNPACK)
#include <pthreadpool.h>
#endif

namespace bmx {
namespace rt {
namespace {

thread_local ThreadPool* scope_pool = nullptr;

// The calls in flight in the process (PoolScopes), and their threads (each at least 1).
std::atomic<int> calls_in_flight{0};
std::atomic<int> threads_in_flight{0};

int cores() {
  static const int n = [] {
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
  }();
  return n;
}

}  // namespace

int pool_width(int threads) { return std::max(1, std::min(threads, cores())); }

namespace {

// parallel_for's runner for a call that runs inline: every chunk on the caller's thread.
void run_inline(void*, int, int64_t chunks, void (*chunk)(void*, int64_t), void* ctx) {
  for (int64_t c = 0; c < chunks; ++c) chunk(ctx, c);
}

#if defined(BMX_HAVE_XNNPACK)
// Workers sleep in the kernel after a call while other calls are in flight (they would spin on
// a core another caller needs); alone, they spin briefly, ready for the next region.
uint32_t pool_flags() {
  return calls_in_flight.load(std::memory_order_relaxed) > 1 ? PTHREADPOOL_FLAG_YIELD_WORKERS : 0;
}

// parallel_for's runner: the chunks on the scope's pool.
void run_on_pool(void* pool, int, int64_t chunks, void (*chunk)(void*, int64_t),
                 void* ctx) {
  struct Task {
    void (*chunk)(void*, int64_t);
    void* ctx;
  } task{chunk, ctx};
  pthreadpool_parallelize_1d(
      static_cast<ThreadPool*>(pool)->for_run(),
      [](void* t, size_t c) {
        const Task& k = *static_cast<const Task*>(t);
        k.chunk(k.ctx, static_cast<int64_t>(c));
      },
      &task, static_cast<size_t>(chunks), pool_flags());
}
constexpr ParallelRunner kPoolRunner = run_on_pool;
#else
constexpr ParallelRunner kPoolRunner = nullptr;  // parallel_for's own (OpenMP) threads
#endif

// Counts a call in flight; true when it may use its threads (see PoolScope).
bool claim(int threads) {
  calls_in_flight.fetch_add(1, std::memory_order_relaxed);
  const int total = threads_in_flight.fetch_add(threads, std::memory_order_relaxed) + threads;
  return total <= cores();
}

}  // namespace

ThreadPool::~ThreadPool() { release(); }

void ThreadPool::release() {
#if defined(BMX_HAVE_XNNPACK)
  if (pool_ != nullptr) pthreadpool_destroy(pool_);
#endif
  pool_ = nullptr;
  threads_ = 0;
}

pthreadpool* ThreadPool::get(int threads) {
  if (threads <= 1) {
    release();  // one thread: the caller's alone
    return nullptr;
  }
  if (threads == threads_) return pool_;
  release();
  threads_ = threads;
#if defined(BMX_HAVE_XNNPACK)
  pool_ = pthreadpool_create(static_cast<size_t>(pool_width(threads)));
#endif
  return pool_;
}

PoolScope::PoolScope(ThreadPool* pool, int threads)
    : prev_(scope_pool),
      pool_(pool),
      claimed_(pool_width(threads)),
      inline_(!claim(claimed_) || threads <= 1),
      parallel_(inline_ ? run_inline : kPoolRunner, pool) {
  pool_->inline_ = inline_;
  scope_pool = pool;
}

PoolScope::~PoolScope() {
  scope_pool = prev_;
  const int others = calls_in_flight.fetch_sub(1, std::memory_order_relaxed) - 1;
  threads_in_flight.fetch_sub(claimed_, std::memory_order_relaxed);
#if defined(BMX_HAVE_XNNPACK)
  // Other calls in flight: this pool's workers, spinning after its last region (XNNPACK's
  // operators take no flags per call), go to sleep now. An empty call with a task per thread
  // wakes each, and the flag sends it to the kernel.
  if (!inline_ && pool_->pool_ != nullptr && others > 0) {
    pthreadpool_parallelize_1d(
        pool_->pool_, [](void*, size_t) {}, nullptr,
        static_cast<size_t>(pool_width(pool_->threads_)), PTHREADPOOL_FLAG_YIELD_WORKERS);
  }
#else
  (void)others;
#endif
  pool_->inline_ = false;
}

ThreadPool* current_pool() { return scope_pool; }

}  // namespace rt
}  // namespace bmx

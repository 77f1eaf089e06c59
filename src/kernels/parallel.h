// Threading for the fast kernels (no MXNet).
//
// Like MXNet's own operators, the kernels take their thread count from OMP_NUM_THREADS
// (unset: all hardware threads); set_kernel_threads overrides it. Work runs on OpenMP when the
// build has it (the same libgomp pool as MXNet), else on std::thread.
#pragma once

#include <cstdint>
#include <memory>
#include <type_traits>

namespace bmx {

// The most threads the kernels use: the larger of 64 and the hardware thread count. Larger
// requests (set_kernel_threads, OMP_NUM_THREADS, a predictor's count) are clamped to it, since
// threads beyond the cores only add start-up and hand-over cost, and a huge count would start
// threads until the process runs out.
int max_kernel_threads();

// Thread count used by the kernels: set_kernel_threads(n > 0) if called, else OMP_NUM_THREADS,
// else the number of hardware threads; at most max_kernel_threads().
int kernel_threads();
void set_kernel_threads(int n);  // n <= 0 restores the environment's value

// A callable body(begin, end), by reference: it copies nothing and allocates nothing (a
// std::function may), so the callable must outlive the call it is passed to.
class RangeFn {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same<std::decay_t<F>, RangeFn>::value>>
  RangeFn(F&& f)  // NOLINT: implicit, so that a lambda converts
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, int64_t begin, int64_t end) {
          (*static_cast<std::remove_reference_t<F>*>(o))(begin, end);
        }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

// Runs body(begin, end) over [0, tasks) on up to `threads` threads, in contiguous chunks
// (up to 16 per thread) handed out dynamically. Runs inline when threads <= 1 or tasks <= 1.
// Allocates nothing itself once the threads for this count have started (start_threads).
void parallel_for(int64_t tasks, int threads, RangeFn body);

// Starts the threads that parallel_for uses for `threads` threads now (the thread pool, or
// the OpenMP team), which the first parallel call would otherwise do, allocating.
void start_threads(int threads);

// Runs chunk(ctx, c) for every c in [0, chunks) on up to `threads` threads, the caller's
// included, and returns when all have run; `pool` is the ParallelScope's own pointer.
using ParallelRunner = void (*)(void* pool, int threads, int64_t chunks,
                                void (*chunk)(void* ctx, int64_t c), void* ctx);

// While it lives, parallel_for calls made on the thread that made it run their chunks on
// runner(pool, ...) instead of OpenMP (a null runner: OpenMP, or std::thread). The runtime
// opens one around each call into a predictor, with that predictor's own thread pool, so that
// predictors on different threads never share (and wait on) one set of threads, and the float
// library's layers and the binary kernels use the same threads (two pools whose idle threads
// spin side by side on the same cores stall each other for a scheduler time slice per
// hand-over). Scopes nest; each restores the one before it. Threads that the runner starts
// see no scope.
class ParallelScope {
 public:
  ParallelScope(ParallelRunner runner, void* pool);
  ~ParallelScope();
  ParallelScope(const ParallelScope&) = delete;
  ParallelScope& operator=(const ParallelScope&) = delete;

 private:
  ParallelRunner prev_runner_;
  void* prev_pool_;
};

}  // namespace bmx

// The threads of one predictor: a pool made for its thread count when the predictor is
// prepared for it and joined when the predictor is freed (or its thread count changes), so
// that predictors on different threads never wait on each other's threads, and a process
// gets its threads back with its predictors.
#pragma once

#include <cstdint>

#include "parallel.h"

struct pthreadpool;  // pthreadpool.h's pthreadpool_t is a struct pthreadpool*

namespace bmx {
namespace rt {

class ThreadPool {
 public:
  ThreadPool() = default;
  ~ThreadPool();  // joins the threads
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The pthreadpool with `threads` threads (the caller's included), made the first time and
  // made again when the count changes (threads <= 1 joins it). Null for threads <= 1, in
  // builds without XNNPACK, or when the system refuses the threads (the work then runs on the
  // caller's thread). Set-up (XNNPACK's tiling) uses it.
  pthreadpool* get(int threads);
  // The pool to run on now, as get() last made it (a region with fewer tasks than threads
  // leaves some idle), or null (the caller's thread alone) while this call runs inline
  // (PoolScope).
  pthreadpool* for_run() const { return inline_ ? nullptr : pool_; }

 private:
  friend class PoolScope;
  void release();
  pthreadpool* pool_ = nullptr;
  int threads_ = 0;      // pool_'s thread count; 0: none made yet
  bool inline_ = false;  // the current call runs on the caller's thread alone
};

// While it lives, the parallel regions started on this thread run on `pool`'s threads: the
// binary kernels' and the portable float layers' parallel_for (a ParallelScope), and the
// XNNPACK layers (current_pool). The predictor opens one around each forward and preparation,
// for its thread count.
//
// Oversubscription: while the calls in flight in the process (each counted with its pool's
// width, at least 1) ask for more threads than the machine has, a call that starts runs on its
// caller's thread alone: every core is already busy with a caller, so more threads would only queue behind them, and the pools' waiting threads (which
// spin for a while before sleeping) would take the cores the callers need. Then too, its
// pool's threads are sent to sleep at the end rather than left spinning. The results are the
// same bits either way: the work is split the same, only run by fewer threads.
class PoolScope {
 public:
  PoolScope(ThreadPool* pool, int threads);
  ~PoolScope();
  PoolScope(const PoolScope&) = delete;
  PoolScope& operator=(const PoolScope&) = delete;

 private:
  ThreadPool* prev_;
  ThreadPool* pool_;
  int claimed_;   // threads counted as in flight for this call
  bool inline_;   // this call runs on the caller's thread alone
  ParallelScope parallel_;
};

// The threads a pool for `threads` threads holds (the caller's included): at most the machine's
// hardware threads, since more only queue for the cores and wait on each other in every
// parallel region; a predictor asking for more keeps its count for splitting the work.
int pool_width(int threads);

// The pool of the innermost PoolScope on this thread, or null.
ThreadPool* current_pool();

}  // namespace rt
}  // namespace bmx

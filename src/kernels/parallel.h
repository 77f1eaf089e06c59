// Threading for the fast kernels (no MXNet).
//
// Like MXNet's own operators, the kernels take their thread count from OMP_NUM_THREADS
// (unset: all hardware threads); set_kernel_threads overrides it. Work runs on OpenMP when the
// build has it (the same libgomp pool as MXNet), else on std::thread.
#pragma once

#include <cstdint>
#include <functional>

namespace bmx {

// Thread count used by the kernels: set_kernel_threads(n > 0) if called, else OMP_NUM_THREADS,
// else the number of hardware threads.
int kernel_threads();
void set_kernel_threads(int n);  // n <= 0 restores the environment's value

// Runs body(begin, end) over [0, tasks) on up to `threads` threads, in contiguous chunks
// (up to 16 per thread) handed out dynamically. Runs inline when threads <= 1 or tasks <= 1.
void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t, int64_t)>& body);

// Runs chunk(ctx, c) for every c in [0, chunks) on up to `threads` threads, the caller's
// included, and returns when all have run.
using ParallelRunner = void (*)(int threads, int64_t chunks, void (*chunk)(void* ctx, int64_t c),
                                void* ctx);
// Makes parallel_for run its chunks on `runner` instead of OpenMP (null: OpenMP again). An
// embedder whose other layers have a thread pool of their own installs it here, so that one
// set of threads serves both: two pools whose idle threads spin side by side on the same cores
// stall each other for a scheduler time slice per hand-over.
void set_parallel_runner(ParallelRunner runner);

}  // namespace bmx

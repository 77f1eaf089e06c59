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

}  // namespace bmx

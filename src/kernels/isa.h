// Instruction-set selection and threading for the fast kernels (no MXNet).
//
// The fast kernels come in one file per instruction set (bgemm_portable.cc, bgemm_avx2.cc,
// bgemm_avx512.cc, bgemm_neon.cc); which one runs is chosen at run time: the best one the CPU
// supports, or the one named by the environment variable BMX_KERNEL_ISA
// (ref | portable | avx2 | avx512 | neon), which tests and benchmarks use to pin a path.
// "ref" means the plain reference kernels (bgemm_ref, bconv2d_ref).
//
// Threads: like MXNet's own operators, the kernels take their thread count from
// OMP_NUM_THREADS (unset: all hardware threads); set_kernel_threads overrides it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace bmx {

enum class Isa { kRef = 0, kPortable = 1, kAvx2 = 2, kAvx512 = 3, kNeon = 4 };

const char* isa_name(Isa isa);
// Parses "ref", "portable", "avx2", "avx512", "neon" (case-insensitive); false if unknown.
bool parse_isa(const std::string& name, Isa* isa);
// Whether this build has the path and this CPU can run it.
bool isa_available(Isa isa);
// The fastest available path on this CPU.
Isa best_isa();
// BMX_KERNEL_ISA if set (falls back to best_isa(), with a warning on stderr, when the named
// path is unknown or unavailable), else best_isa(). Read once.
Isa default_isa();

// Thread count used by the kernels: set_kernel_threads(n > 0) if called, else OMP_NUM_THREADS,
// else the number of hardware threads.
int kernel_threads();
void set_kernel_threads(int n);  // n <= 0 restores the environment's value

// Runs body(begin, end) over [0, tasks) on up to `threads` threads, in contiguous chunks
// (up to 16 per thread) handed out dynamically. Runs inline when threads <= 1 or tasks <= 1.
void parallel_for(int64_t tasks, int threads, const std::function<void(int64_t, int64_t)>& body);

}  // namespace bmx

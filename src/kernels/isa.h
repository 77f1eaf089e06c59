// Instruction-set selection for the fast kernels (no MXNet).
//
// The fast kernels come in one set of files per instruction set (xnor_tile_<isa>.cc and, where
// the path has its own binarize + pack code, sign_pack_<isa>.cc; DESIGN.md section 2); which
// one runs is chosen at run time: the best one the CPU supports, or the one named by the
// environment variable BMXNET_KERNEL_ISA (ref | portable | avx2 | avx512 | neon |
// wasm_simd128; the older name BMX_KERNEL_ISA is still read, deprecated), which tests and
// benchmarks use to pin a path. The runtime takes this as each predictor's default and lets a
// predictor choose its own (bmx_predict.h, BMXPredCreateEx). "ref" means the plain reference kernels (bgemm_ref,
// bconv2d_ref).
#pragma once

#include <string>

#include "parallel.h"  // kernel_threads, set_kernel_threads, parallel_for

namespace bmx {

enum class Isa { kRef = 0, kPortable = 1, kAvx2 = 2, kAvx512 = 3, kNeon = 4, kWasmSimd128 = 5 };

const char* isa_name(Isa isa);
// Parses "ref", "portable", "avx2", "avx512", "neon", "wasm_simd128" (case-insensitive); false if unknown.
bool parse_isa(const std::string& name, Isa* isa);
// Whether this build has the path and this CPU can run it.
bool isa_available(Isa isa);
// The fastest available path on this CPU.
Isa best_isa();
// What BMXNET_KERNEL_ISA chooses (read once): the path it names, else best_isa(); `note` is a
// sentence when it names a path that is unknown or unavailable (best_isa() is used then),
// empty otherwise. Prints nothing (the runtime reports the note in its plan).
struct IsaChoice {
  Isa isa;
  std::string note;
};
const IsaChoice& isa_choice();
// isa_choice().isa; the first call also prints the note, if any, on stderr (the op library's
// warning to its Python user).
Isa default_isa();

}  // namespace bmx

// What a predictor is told at creation beside its model: the binary kernels' instruction set,
// the float layers' backend and its thread count. Each predictor keeps its own, so predictors
// with different settings can share a process; the environment gives the defaults.
#pragma once

#include <string>

#include "float/float_kernels.h"
#include "isa.h"

namespace bmx {
namespace rt {

struct Settings {
  Isa isa = Isa::kPortable;
  // A sentence when the environment named an instruction set that is unknown or unavailable
  // (the best one is used instead); the plan reports it. Empty otherwise.
  std::string isa_note;
  FloatBackend float_backend = FloatBackend::kAuto;
  int threads = 0;  // 0: kernel_threads() (OMP_NUM_THREADS, else the hardware threads)
};

// The defaults: BMXNET_KERNEL_ISA, BMXNET_FLOAT_BACKEND and OMP_NUM_THREADS (isa.h,
// float_kernels.h, parallel.h).
Settings default_settings();

// The defaults with `options` applied: "key=value" pairs separated by ';' or ',' (spaces
// around them ignored; null or empty: none), keys "isa" (ref | portable | avx2 | avx512 |
// neon | wasm_simd128 | best), "float_backend" (auto | xnnpack | portable | reference) and
// "threads" (a positive count). Throws Error with one sentence for an unknown key, a bad value,
// or an instruction set or backend this build or CPU cannot run.
Settings parse_settings(const char* options);

}  // namespace rt
}  // namespace bmx

// Which fast path runs: the CPU checks, BMXNET_KERNEL_ISA, and the microkernels of each path.
#include "isa.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "microkernel.h"

namespace bmx {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kPortable: return "portable";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
    case Isa::kWasmSimd128: return "wasm_simd128";
  }
  return "unknown";
}

bool parse_isa(const std::string& name, Isa* isa) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Isa i : {Isa::kRef, Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kNeon,
                Isa::kWasmSimd128}) {
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
#elif defined(__wasm_simd128__)
  // A module built with SIMD128 only instantiates where the engine has it (every current
  // browser and Node 16.4+), so the path is there whenever it is compiled in.
  return isa == Isa::kWasmSimd128;
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
    case Isa::kWasmSimd128: return cpu_has(isa) && wasm_simd128_kernels() != nullptr;
  }
  return false;
}

Isa best_isa() {
  for (Isa i : {Isa::kAvx512, Isa::kAvx2, Isa::kNeon, Isa::kWasmSimd128}) {
    if (isa_available(i)) return i;
  }
  return Isa::kPortable;
}

const IsaChoice& isa_choice() {
  static const IsaChoice chosen = []() -> IsaChoice {
    std::string var = "BMXNET_KERNEL_ISA";
    const char* env = std::getenv(var.c_str());
    if (env == nullptr || *env == '\0') {
      var = "BMX_KERNEL_ISA";  // the older name, still read (deprecated)
      env = std::getenv(var.c_str());
    }
    if (env == nullptr || *env == '\0') return {best_isa(), ""};
    const std::string fallback = std::string("; using ") + isa_name(best_isa());
    Isa isa;
    if (!parse_isa(env, &isa)) {
      return {best_isa(), var + "=" + env + " is unknown (ref, portable, "
                          "avx2, avx512, neon, wasm_simd128)" + fallback};
    }
    if (!isa_available(isa)) {
      return {best_isa(), var + "=" + env +
                              " is not available on this CPU or build" + fallback};
    }
    return {isa, ""};
  }();
  return chosen;
}

Isa default_isa() {
  static const bool warned = [] {
    if (!isa_choice().note.empty()) std::fprintf(stderr, "bmxnet: %s\n", isa_choice().note.c_str());
    return true;
  }();
  (void)warned;
  return isa_choice().isa;
}

const MicroKernels* kernels_for(Isa isa) {
  if (!isa_available(isa)) return nullptr;
  switch (isa) {
    case Isa::kPortable: return portable_kernels();
    case Isa::kAvx2: return avx2_kernels();
    case Isa::kAvx512: return avx512_kernels();
    case Isa::kNeon: return neon_kernels();
    case Isa::kWasmSimd128: return wasm_simd128_kernels();
    case Isa::kRef: return nullptr;
  }
  return nullptr;
}

}  // namespace bmx

// Which backend computes each float layer: XNNPACK when the build has it, this CPU runs it,
// it computes the case as MXNet does and it is the faster one for the layer (see
// xnnpack_gemm_is_faster); else the portable path. BMX_FLOAT_BACKEND
// (xnnpack | portable | reference) pins one for tests and benchmarks: "xnnpack" still falls
// back to portable for the cases XNNPACK cannot compute exactly, "reference" means the plain
// reference loops (float_reference.cc). float_backend_name() names the choice ("reference"
// included).
#include <cstdlib>
#include <cstring>

#include "float_backends.h"
#include "float_kernels.h"

#include "float_reference.h"

namespace bmx {
namespace rt {
namespace {

// kXnnpackPinned: BMX_FLOAT_BACKEND=xnnpack, which puts every layer XNNPACK takes on it.
enum class Choice { kXnnpack, kXnnpackPinned, kPortable, kReference };

Choice choice() {
  static const Choice c = [] {
    const Choice best = xnnpack_available() ? Choice::kXnnpack : Choice::kPortable;
    const char* env = std::getenv("BMX_FLOAT_BACKEND");
    if (env == nullptr || *env == '\0') return best;
    if (std::strcmp(env, "portable") == 0) return Choice::kPortable;
    if (std::strcmp(env, "xnnpack") == 0 && xnnpack_available()) return Choice::kXnnpackPinned;
    if (std::strcmp(env, "reference") == 0) return Choice::kReference;
    // Any other value (or xnnpack where the build has none): the preferred backend. The
    // runtime never prints; float_backend_name() says which one runs.
    return best;
  }();
  return c;
}

bool on_xnnpack() { return choice() == Choice::kXnnpack || choice() == Choice::kXnnpackPinned; }

// GEMM layers go to XNNPACK where it is pinned, or chosen and the faster.
bool gemm_on_xnnpack() {
  return choice() == Choice::kXnnpackPinned ||
         (choice() == Choice::kXnnpack && xnnpack_gemm_is_faster());
}

}  // namespace

// Convolutions and dense layers are GEMMs. On x86-64 without AVX-512, Debian's XNNPACK (built
// by GCC) runs its FMA3 GEMM kernels with an accumulator spilled to the stack, and the portable
// GEMM's AVX2 variant is faster (ResNet-18 stem 7x7/2: 4.9 ms against 7.6 ms; 3x3 64@56:
// 3.4 ms against 7.4 ms, 1 thread, smd_hpi/float_layers_bench.cc). With AVX-512 XNNPACK's
// kernels are used, and elsewhere (aarch64) its assembly kernels.
bool xnnpack_gemm_is_faster() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__EMSCRIPTEN__)
  static const bool faster = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return faster;
#else
  return true;
#endif
}

std::unique_ptr<FloatLayer> make_conv2d(const Conv2DParams& p, const float* weight,
                                        const float* bias) {
  if (choice() == Choice::kReference) return make_conv2d_reference(p, weight, bias);
  // A depthwise convolution is no GEMM: XNNPACK's direct kernels take it wherever they run.
  const bool depthwise = p.groups > 1 && p.groups == p.in_channels && p.groups == p.out_channels;
  if (depthwise ? on_xnnpack() : gemm_on_xnnpack())
    if (auto layer = make_conv2d_xnnpack(p, weight, bias)) return layer;
  return make_conv2d_portable(p, weight, bias);
}

std::unique_ptr<FloatLayer> make_dense(int64_t rows, int64_t in_features, int64_t out_features,
                                       const float* weight, const float* bias,
                                       FusedActivation activation) {
  if (choice() == Choice::kReference)
    return make_dense_reference(rows, in_features, out_features, weight, bias, activation);
  if (gemm_on_xnnpack())
    if (auto layer = make_dense_xnnpack(rows, in_features, out_features, weight, bias, activation))
      return layer;
  return make_dense_portable(rows, in_features, out_features, weight, bias, activation);
}

std::unique_ptr<FloatLayer> make_pool2d(const Pool2DParams& p) {
  if (choice() == Choice::kReference) return make_pool2d_reference(p);
  if (on_xnnpack())
    if (auto layer = make_pool2d_xnnpack(p)) return layer;
  return make_pool2d_portable(p);
}

void use_one_thread_pool() {
  static const bool shared = share_xnnpack_threads();
  (void)shared;
}

const char* float_backend_name() {
  switch (choice()) {
    case Choice::kXnnpack:
    case Choice::kXnnpackPinned: return "xnnpack";
    case Choice::kReference: return "reference";
    default: return "portable";
  }
}

}  // namespace rt
}  // namespace bmx

// Which backend computes each float layer (float_kernels.h, FloatBackend): per predictor, with
// the environment's choice as the default. "xnnpack" still falls back to portable for the
// cases XNNPACK cannot compute exactly; kAuto also keeps the GEMM layers on the portable path
// where that is the faster (xnnpack_gemm_is_faster).
#include <cstdlib>
#include <cstring>
#include <string>

#include "float_backends.h"
#include "float_kernels.h"

#include "float_reference.h"

namespace bmx {
namespace rt {
namespace {

// The backend in force: kAuto without XNNPACK is the portable path, and so is kXnnpack.
FloatBackend resolve(FloatBackend b) {
  if ((b == FloatBackend::kAuto || b == FloatBackend::kXnnpack) && !xnnpack_available())
    return FloatBackend::kPortable;
  return b;
}

bool on_xnnpack(FloatBackend b) {
  b = resolve(b);
  return b == FloatBackend::kAuto || b == FloatBackend::kXnnpack;
}

// GEMM layers go to XNNPACK where it is pinned, or chosen and the faster.
bool gemm_on_xnnpack(FloatBackend b) {
  b = resolve(b);
  return b == FloatBackend::kXnnpack || (b == FloatBackend::kAuto && xnnpack_gemm_is_faster());
}

}  // namespace

bool parse_float_backend(const std::string& name, FloatBackend* backend) {
  static const struct {
    const char* name;
    FloatBackend backend;
  } kNames[] = {{"auto", FloatBackend::kAuto},
                {"xnnpack", FloatBackend::kXnnpack},
                {"portable", FloatBackend::kPortable},
                {"reference", FloatBackend::kReference}};
  for (const auto& n : kNames) {
    if (name == n.name) {
      *backend = n.backend;
      return true;
    }
  }
  return false;
}

std::string float_backend_problem(FloatBackend backend) {
  if (backend == FloatBackend::kXnnpack && !xnnpack_available())
    return "the float backend 'xnnpack' is not in this build or does not run on this CPU";
  return {};
}

FloatBackend default_float_backend() {
  static const FloatBackend chosen = [] {
    const char* env = std::getenv("BMXNET_FLOAT_BACKEND");
    if (env == nullptr || *env == '\0') env = std::getenv("BMX_FLOAT_BACKEND");  // deprecated
    FloatBackend b = FloatBackend::kAuto;
    // Any other value (or xnnpack where the build has none): kAuto. The runtime never
    // prints; the plan's float_backend says which one runs.
    if (env == nullptr || !parse_float_backend(env, &b) || !float_backend_problem(b).empty())
      return FloatBackend::kAuto;
    return b;
  }();
  return chosen;
}

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
                                        const float* bias, FloatBackend backend) {
  if (backend == FloatBackend::kReference) return make_conv2d_reference(p, weight, bias);
  // A depthwise convolution is no GEMM: XNNPACK's direct kernels take it wherever they run.
  const bool depthwise = p.groups > 1 && p.groups == p.in_channels && p.groups == p.out_channels;
  if (depthwise ? on_xnnpack(backend) : gemm_on_xnnpack(backend))
    if (auto layer = make_conv2d_xnnpack(p, weight, bias)) return layer;
  return make_conv2d_portable(p, weight, bias);
}

std::unique_ptr<FloatLayer> make_dense(int64_t rows, int64_t in_features, int64_t out_features,
                                       const float* weight, const float* bias,
                                       FusedActivation activation, FloatBackend backend) {
  if (backend == FloatBackend::kReference)
    return make_dense_reference(rows, in_features, out_features, weight, bias, activation);
  if (gemm_on_xnnpack(backend))
    if (auto layer = make_dense_xnnpack(rows, in_features, out_features, weight, bias, activation))
      return layer;
  return make_dense_portable(rows, in_features, out_features, weight, bias, activation);
}

std::unique_ptr<FloatLayer> make_pool2d(const Pool2DParams& p, FloatBackend backend) {
  if (backend == FloatBackend::kReference) return make_pool2d_reference(p);
  if (on_xnnpack(backend))
    if (auto layer = make_pool2d_xnnpack(p)) return layer;
  return make_pool2d_portable(p);
}

const char* float_backend_name(FloatBackend backend) {
  switch (resolve(backend)) {
    case FloatBackend::kAuto:
    case FloatBackend::kXnnpack: return "xnnpack";
    case FloatBackend::kReference: return "reference";
    case FloatBackend::kPortable: return "portable";
  }
  return "portable";
}

}  // namespace rt
}  // namespace bmx

// Float layers of the runtime, NHWC, behind one interface so that the graph code does not know
// which library computes them: XNNPACK where the build has it (x86-64, aarch64), a portable
// C++ path elsewhere (WebAssembly, or a build without XNNPACK). Both compute what MXNet's
// float32 operators compute, to about 1e-5 relative.
//
// Each layer is created once at plan time (weights repacked then, never per call) and run many
// times; run() allocates nothing (once prepare() has seen its buffers and thread count) and
// may use `threads` threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace bmx {
namespace rt {

// An activation fused into a float layer's output (applied after the bias).
enum class FusedActivation { kNone, kRelu };

struct Conv2DParams {
  int64_t batch = 1, in_h = 1, in_w = 1, in_channels = 1, out_channels = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0, dilate_h = 1, dilate_w = 1, groups = 1;
  FusedActivation activation = FusedActivation::kNone;
  int64_t out_h() const { return (in_h + 2 * pad_h - dilate_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (in_w + 2 * pad_w - dilate_w * (kernel_w - 1) - 1) / stride_w + 1; }
  // Empty when the dilated kernel fits in the padded input (MXNet refuses a convolution
  // where it does not; out_h() alone cannot tell, its division rounds toward zero), else why not.
  std::string kernel_fit_problem() const {
    const int64_t kh = dilate_h * (kernel_h - 1) + 1, kw = dilate_w * (kernel_w - 1) + 1;
    if (in_h + 2 * pad_h >= kh && in_w + 2 * pad_w >= kw) return {};
    return "the dilated kernel (" + std::to_string(kh) + "x" + std::to_string(kw) +
           ") is larger than the padded input (" + std::to_string(in_h + 2 * pad_h) + "x" +
           std::to_string(in_w + 2 * pad_w) + ")";
  }
};

enum class PoolKind { kMax, kAvg };

struct Pool2DParams {
  int64_t batch = 1, in_h = 1, in_w = 1, channels = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t out_h = 1, out_w = 1;  // given by the caller (MXNet's 'valid' or 'full' convention)
  PoolKind kind = PoolKind::kMax;
  bool count_include_pad = true;  // avg only: divide by the full window, padding included
};

class FloatLayer {
 public:
  virtual ~FloatLayer() = default;
  // NHWC in, NHWC out (dense: rows x features); buffers do not overlap.
  virtual void run(const float* in, float* out, int threads) = 0;
  // Sets the layer up for run(in, out, threads) ahead, where that allocates the first time
  // (XNNPACK's set-up, the thread pool), so that run() with the same arguments allocates nothing.
  virtual void prepare(const float* in, float* out, int threads) { (void)in, (void)out, (void)threads; }
  // The bytes prepare() allocates that grow with the input (a padded copy of it), known when
  // the layer is made: the planner counts them against the memory limit before anything that
  // large is allocated, so a model refused at a later node never allocates them.
  virtual size_t prepared_bytes() const { return 0; }
  // "xnnpack" or "portable": which backend this layer runs on.
  virtual const char* backend() const = 0;
};

// Which backend make_* builds a layer on, chosen per predictor:
// - kAuto: XNNPACK where the build has it, this CPU runs it and it is the faster one for the
//   layer (xnnpack_gemm_is_faster), else portable;
// - kXnnpack: XNNPACK for every layer it computes exactly as MXNet does (portable for the rest);
// - kPortable: the portable C++ path;
// - kReference: the plain reference loops (float_reference.cc), for tests.
enum class FloatBackend { kAuto, kXnnpack, kPortable, kReference };

// Parses "auto", "xnnpack", "portable", "reference"; false if unknown.
bool parse_float_backend(const std::string& name, FloatBackend* backend);
// Empty when `backend` can run in this build and on this CPU, else a sentence saying why not.
std::string float_backend_problem(FloatBackend backend);
// The process's default: the environment variable BMXNET_FLOAT_BACKEND (the older name
// BMX_FLOAT_BACKEND is still read, deprecated) when it names a backend this build and CPU run,
// else kAuto. Read once.
FloatBackend default_float_backend();

// weight: MXNet's Convolution weight, OIHW (O x I/groups x KH x KW); bias: null or O floats.
// Copies what it needs: the caller may free weight and bias afterwards.
std::unique_ptr<FloatLayer> make_conv2d(const Conv2DParams& p, const float* weight,
                                        const float* bias,
                                        FloatBackend backend = default_float_backend());
// rows x in_features -> rows x out_features; weight as MXNet's FullyConnected (N x K).
std::unique_ptr<FloatLayer> make_dense(int64_t rows, int64_t in_features, int64_t out_features,
                                       const float* weight, const float* bias,
                                       FusedActivation activation = FusedActivation::kNone,
                                       FloatBackend backend = default_float_backend());
std::unique_ptr<FloatLayer> make_pool2d(const Pool2DParams& p,
                                        FloatBackend backend = default_float_backend());

// What `backend` runs as in this build: "xnnpack", "portable" or "reference" (kAuto and
// kXnnpack name XNNPACK when the build and CPU have it).
const char* float_backend_name(FloatBackend backend = default_float_backend());

}  // namespace rt
}  // namespace bmx

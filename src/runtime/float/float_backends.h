// The float-layer backends behind float_kernels.h's make_*: each factory builds one layer on
// its backend, or returns null when that backend cannot compute the case exactly as MXNet
// does (the dispatcher then uses the next backend). float_dispatch.cc chooses among them.
#pragma once

#include <cstdint>
#include <memory>

#include "float_kernels.h"

namespace bmx {
namespace rt {

// XNNPACK (only in builds with BMX_HAVE_XNNPACK; elsewhere these return null).
bool xnnpack_available();  // built in and initialised on this CPU
std::unique_ptr<FloatLayer> make_conv2d_xnnpack(const Conv2DParams& p, const float* weight,
                                                const float* bias);
std::unique_ptr<FloatLayer> make_dense_xnnpack(int64_t rows, int64_t in_features,
                                               int64_t out_features, const float* weight,
                                               const float* bias, FusedActivation activation);
std::unique_ptr<FloatLayer> make_pool2d_xnnpack(const Pool2DParams& p);

// Whether XNNPACK's GEMM layers (convolution, dense) beat the portable GEMM on this CPU; where
// they do not, make_conv2d and make_dense prefer the portable path unless the float backend is
// pinned to xnnpack.
bool xnnpack_gemm_is_faster();

// The portable C++ path (every target; never null).
std::unique_ptr<FloatLayer> make_conv2d_portable(const Conv2DParams& p, const float* weight,
                                                 const float* bias);
std::unique_ptr<FloatLayer> make_dense_portable(int64_t rows, int64_t in_features,
                                                int64_t out_features, const float* weight,
                                                const float* bias, FusedActivation activation);
std::unique_ptr<FloatLayer> make_pool2d_portable(const Pool2DParams& p);

// XNNPACK may read up to this many bytes past the end of an input buffer (XNN_EXTRA_BYTES,
// never used in a result): buffers handed to run() should have that much slack behind them.
constexpr int64_t kFloatInputSlackBytes = 16;

}  // namespace rt
}  // namespace bmx

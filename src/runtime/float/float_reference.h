// The plain reference float layers (NHWC): obviously-correct loops that compute what MXNet's
// float32 Convolution, FullyConnected and Pooling compute. They are the portable backend and
// the twin that faster backends are tested against.
#pragma once

#include <cstdint>
#include <memory>

#include "float_kernels.h"

namespace bmx {
namespace rt {

std::unique_ptr<FloatLayer> make_conv2d_reference(const Conv2DParams& p, const float* weight,
                                                  const float* bias);
std::unique_ptr<FloatLayer> make_dense_reference(int64_t rows, int64_t in_features,
                                                 int64_t out_features, const float* weight,
                                                 const float* bias,
                                                 FusedActivation activation);
std::unique_ptr<FloatLayer> make_pool2d_reference(const Pool2DParams& p);

}  // namespace rt
}  // namespace bmx

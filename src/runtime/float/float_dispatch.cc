// Which backend computes the float layers: in this build, always the reference loops
// (float_reference.cc). A build with a faster library (XNNPACK) replaces this file.
#include "float_kernels.h"
#include "float_reference.h"

namespace bmx {
namespace rt {

std::unique_ptr<FloatLayer> make_conv2d(const Conv2DParams& p, const float* weight,
                                        const float* bias) {
  return make_conv2d_reference(p, weight, bias);
}

std::unique_ptr<FloatLayer> make_dense(int64_t rows, int64_t in_features, int64_t out_features,
                                       const float* weight, const float* bias,
                                       FusedActivation activation) {
  return make_dense_reference(rows, in_features, out_features, weight, bias, activation);
}

std::unique_ptr<FloatLayer> make_pool2d(const Pool2DParams& p) {
  return make_pool2d_reference(p);
}

const char* float_backend_name() { return "portable"; }

}  // namespace rt
}  // namespace bmx

#include "sign.h"

#include <cmath>

namespace bmx {

void sign_forward(const float* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] >= 0.0f ? 1.0f : -1.0f;
}

void ste_sign_backward(const float* dy, const float* x, int64_t n, float clip_threshold,
                       float* dx) {
  if (clip_threshold <= 0.0f) {
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) dx[i] = std::fabs(x[i]) <= clip_threshold ? dy[i] : 0.0f;
}

void approx_sign_backward(const float* dy, const float* x, int64_t n, float* dx) {
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    dx[i] = a <= 1.0f ? dy[i] * (2.0f - 2.0f * a) : 0.0f;
  }
}

}  // namespace bmx

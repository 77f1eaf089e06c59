// Elementwise sign and its straight-through gradients.
#pragma once

#include <cstdint>

namespace bmx {

// y = +1 if x >= 0 else -1.
void sign_forward(const float* x, int64_t n, float* y);

// Straight-through estimator: dx = dy where |x| <= clip_threshold, else 0.
// clip_threshold <= 0 disables cancelling (dx = dy everywhere).
void ste_sign_backward(const float* dy, const float* x, int64_t n, float clip_threshold,
                       float* dx);

// ApproxSign (Bi-Real Net): dx = dy * (2 - 2|x|) on [-1, 1], 0 outside.
void approx_sign_backward(const float* dy, const float* x, int64_t n, float* dx);

}  // namespace bmx

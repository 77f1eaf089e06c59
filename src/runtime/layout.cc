#include "layout.h"

#include <algorithm>
#include <cstring>

namespace bmx {
namespace rt {

std::vector<int> storage_order(const Shape& s) {
  if (stored_nhwc(s)) return {0, 2, 3, 1};
  std::vector<int> order(s.size());
  for (size_t i = 0; i < s.size(); ++i) order[i] = static_cast<int>(i);
  return order;
}

int storage_position(const Shape& s, int axis) {
  const std::vector<int> order = storage_order(s);
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] == axis) return static_cast<int>(i);
  }
  return -1;
}

Shape storage_dims(const Shape& s) {
  Shape d;
  for (int a : storage_order(s)) d.push_back(s[a]);
  return d;
}

std::vector<int64_t> logical_strides(const Shape& s) {
  const std::vector<int> order = storage_order(s);
  std::vector<int64_t> strides(s.size());
  int64_t stride = 1;
  for (size_t i = order.size(); i-- > 0;) {
    strides[order[i]] = stride;
    stride *= s[order[i]];
  }
  return strides;
}

namespace {

// out (cols x rows) = the transpose of in (rows x cols), in 16 x 16 blocks so that both sides
// are read and written a cache line at a time.
void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t c1 = std::min(cols, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[c * rows + r] = in[r * cols + c];
    }
  }
}

}  // namespace

void nchw_to_nhwc(const float* in, int64_t n, int64_t c, int64_t hw, float* out) {
  for (int64_t b = 0; b < n; ++b) transpose(in + b * c * hw, c, hw, out + b * c * hw);
}

void nhwc_to_nchw(const float* in, int64_t n, int64_t c, int64_t hw, float* out) {
  for (int64_t b = 0; b < n; ++b) transpose(in + b * c * hw, hw, c, out + b * c * hw);
}

bool storage_is_logical(const Shape& s) {
  return !stored_nhwc(s) || (s[2] * s[3] == 1) || s[1] == 1;
}

void stored_to_logical(const Shape& s, const float* stored, float* logical) {
  if (storage_is_logical(s)) {
    if (logical != stored) std::memcpy(logical, stored, sizeof(float) * elements(s));
    return;
  }
  nhwc_to_nchw(stored, s[0], s[1], s[2] * s[3], logical);
}

void logical_to_stored(const Shape& s, const float* logical, float* stored) {
  if (storage_is_logical(s)) {
    if (logical != stored) std::memcpy(stored, logical, sizeof(float) * elements(s));
    return;
  }
  nchw_to_nhwc(logical, s[0], s[1], s[2] * s[3], stored);
}

}  // namespace rt
}  // namespace bmx

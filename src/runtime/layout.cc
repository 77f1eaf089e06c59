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

typedef float v4 __attribute__((vector_size(16)));

// out (4 x 4, row stride ldo) = the transpose of in (4 x 4, row stride ldi), in vector
// shuffles (SSE, NEON or WebAssembly SIMD).
inline void transpose4x4(const float* in, int64_t ldi, float* out, int64_t ldo) {
  v4 r0, r1, r2, r3;
  std::memcpy(&r0, in, sizeof(v4));
  std::memcpy(&r1, in + ldi, sizeof(v4));
  std::memcpy(&r2, in + 2 * ldi, sizeof(v4));
  std::memcpy(&r3, in + 3 * ldi, sizeof(v4));
  const v4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
  const v4 t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
  const v4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
  const v4 t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
  const v4 c0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  const v4 c1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  const v4 c2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  const v4 c3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
  std::memcpy(out, &c0, sizeof(v4));
  std::memcpy(out + ldo, &c1, sizeof(v4));
  std::memcpy(out + 2 * ldo, &c2, sizeof(v4));
  std::memcpy(out + 3 * ldo, &c3, sizeof(v4));
}

// out (cols x rows) = the transpose of in (rows x cols), in 16 x 16 blocks so that both sides
// are read and written a cache line at a time; 4 x 4 vector transposes inside the blocks, plain
// copies for the rows and columns past the last whole 4.
void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    const int64_t r4 = r0 + (r1 - r0) / 4 * 4;
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t c1 = std::min(cols, c0 + kBlock);
      const int64_t c4 = c0 + (c1 - c0) / 4 * 4;
      for (int64_t r = r0; r < r4; r += 4)
        for (int64_t c = c0; c < c4; c += 4)
          transpose4x4(in + r * cols + c, cols, out + c * rows + r, rows);
      for (int64_t c = c4; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[c * rows + r] = in[r * cols + c];
      for (int64_t c = c0; c < c4; ++c)
        for (int64_t r = r4; r < r1; ++r) out[c * rows + r] = in[r * cols + c];
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

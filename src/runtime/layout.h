// How activations lie in memory. A 4-D activation (MXNet's NCHW) is stored NHWC, which suits
// the channel-packed binary kernels and the float library; every other rank is stored
// row-major as its logical shape. Shapes everywhere else stay MXNet's logical ones, so axis
// arguments (Concat dim, softmax axis, Reshape codes) keep MXNet's meaning; ops map them
// through these helpers.
#pragma once

#include <cstdint>
#include <vector>

#include "shape.h"

namespace bmx {
namespace rt {

inline bool stored_nhwc(const Shape& s) { return s.size() == 4; }

// order[i] = the logical axis stored at position i (outermost first).
std::vector<int> storage_order(const Shape& s);
// Where logical axis `axis` lies in storage.
int storage_position(const Shape& s, int axis);
// The dimensions in storage order.
Shape storage_dims(const Shape& s);
// Row-major strides of the storage, indexed by LOGICAL axis.
std::vector<int64_t> logical_strides(const Shape& s);

// Plain NCHW <-> NHWC copies of `n` images.
void nchw_to_nhwc(const float* in, int64_t n, int64_t c, int64_t hw, float* out);
void nhwc_to_nchw(const float* in, int64_t n, int64_t c, int64_t hw, float* out);

// A stored tensor to row-major logical order (MXNet's), and back; a copy when they coincide.
void stored_to_logical(const Shape& s, const float* stored, float* logical);
void logical_to_stored(const Shape& s, const float* logical, float* stored);
// Whether stored and logical order are the same bytes (not 4-D, or H * W == 1).
bool storage_is_logical(const Shape& s);

}  // namespace rt
}  // namespace bmx

// Small helpers the op files share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../float/float_kernels.h"
#include "../layout.h"
#include "../op.h"

namespace bmx {
namespace rt {

// A stored tensor seen as (outer, n, inner) around logical axis `axis`.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at_axis(const Shape& s, int axis);

// Normalises a possibly negative axis of an ndim-dimensional tensor; fails when out of range.
int normalise_axis(const PlanContext& ctx, int64_t axis, size_t ndim, const char* attr);

// out[i] = in[first + sum_d index_d * strides[d]], the output walked in storage order over
// `dims` (at most kMaxCopyAxes): slices, transposes.
constexpr size_t kMaxCopyAxes = 8;
std::unique_ptr<Op> strided_copy(std::vector<int64_t> dims, std::vector<int64_t> strides,
                                 int64_t first);

// A dense layer's data (rows x k, MXNet's `flatten` rule: all axes after the first, or only the
// last) and output shape; fails when the data has too few axes.
struct DenseShape {
  int64_t rows = 1, k = 1;
  Shape out;
};
DenseShape dense_shape(const PlanContext& ctx, const Shape& data, int64_t hidden, bool flatten);

// An op whose run() does nothing: its output is its input (alias_input = 0).
std::unique_ptr<Op> alias_op();

// An op that runs one float layer (convolution, pooling) from its input 0 to its output 0; its
// kernel reads "float-" and the layer's backend.
std::unique_ptr<Op> float_layer_op(std::unique_ptr<FloatLayer> layer);


// Where logical column l of a row flattened in C,H,W order lies in a row flattened from
// NHWC storage (H,W,C order): the column permutation that lets a dense layer read a 4-D
// activation without transposing it.
inline int64_t chw_to_hwc(int64_t l, int64_t c, int64_t hw) {
  return (l % hw) * c + l / hw;
}

}  // namespace rt
}  // namespace bmx

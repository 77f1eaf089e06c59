// transpose(axes) and SwapAxis(dim1, dim2): a permutation of logical axes.
#include <algorithm>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

// out axis a is input axis perm[a].
OpSpec permute_spec(PlanContext& ctx, const std::vector<int>& perm) {
  const Shape& in = ctx.in_shapes[0];
  if (in.size() > kMaxCopyAxes) ctx.fail("transposing more than 8 axes is not supported");
  Shape out;
  for (int a : perm) out.push_back(in[a]);
  const std::vector<int64_t> in_strides = logical_strides(in);
  std::vector<int64_t> dims, strides;
  for (int a : storage_order(out)) {
    dims.push_back(out[a]);
    strides.push_back(in_strides[perm[a]]);
  }
  ctx.read(0);
  return {{out}, strided_copy(dims, strides, 0)};
}

}  // namespace

OpSpec make_transpose(PlanContext& ctx) {
  Attrs a(ctx.node, {"axes"});
  ctx.expect_inputs(1, 1);
  const size_t nd = ctx.in_shapes[0].size();
  std::vector<int> perm;
  const std::vector<int64_t> axes = a.has("axes") ? a.get_int_list("axes") : std::vector<int64_t>();
  if (axes.empty()) {  // reverse the axes
    for (size_t i = nd; i-- > 0;) perm.push_back(static_cast<int>(i));
  } else {
    if (axes.size() != nd) a.fail_attr("axes", "must name every one of the " + std::to_string(nd) + " axes");
    for (int64_t v : axes) perm.push_back(normalise_axis(ctx, v, nd, "axes"));
    std::vector<int> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < nd; ++i) {
      if (sorted[i] != static_cast<int>(i)) a.fail_attr("axes", "must be a permutation of the axes");
    }
  }
  return permute_spec(ctx, perm);
}

OpSpec make_swap_axis(PlanContext& ctx) {
  Attrs a(ctx.node, {"dim1", "dim2"});
  ctx.expect_inputs(1, 1);
  const size_t nd = ctx.in_shapes[0].size();
  std::vector<int> perm(nd);
  for (size_t i = 0; i < nd; ++i) perm[i] = static_cast<int>(i);
  const int d1 = normalise_axis(ctx, a.get_int("dim1", 0), nd, "dim1");
  const int d2 = normalise_axis(ctx, a.get_int("dim2", 0), nd, "dim2");
  std::swap(perm[d1], perm[d2]);
  return permute_spec(ctx, perm);
}

}  // namespace rt
}  // namespace bmx

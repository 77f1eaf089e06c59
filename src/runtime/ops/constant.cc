// _full, _zeros, _ones: a tensor of one value and no inputs (XNOR-Net's box filter is
// _full((1, 1, k, k), 1 / k^2)). The planner makes the value once, at load, as a parameter,
// so that it can stand where an op needs one (a Convolution's weight).
#include "../attrs.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

ConstantSpec constant(PlanContext& ctx, const Attrs& a, float value) {
  ctx.expect_inputs(0, 0);
  const std::string dtype = a.get_string("dtype", "float32");
  if (dtype != "float32" && dtype != "None") {
    a.fail_attr("dtype", "must be float32 (the runtime computes in float32), got '" + dtype + "'");
  }
  ConstantSpec c;
  c.shape = a.get_int_list("shape");
  c.value = value;
  for (int64_t d : c.shape) {
    if (d < 0) ctx.fail("its shape " + shape_str(c.shape) + " has a negative dimension");
  }
  const int64_t n = checked_elements(c.shape);
  if (c.shape.empty() || n == 0) ctx.fail("its shape " + shape_str(c.shape) + " holds no elements");
  if (n < 0) ctx.fail("its shape " + shape_str(c.shape) + " is too large for a constant");
  return c;
}

}  // namespace

ConstantSpec make_full(PlanContext& ctx) {
  Attrs a(ctx.node, {"shape", "dtype", "ctx", "value"});
  if (!a.has("value")) a.fail_attr("value", "is required but missing");
  return constant(ctx, a, a.get_float("value", 0.0f));  // MXNet: the double value cast to float
}

ConstantSpec make_zeros(PlanContext& ctx) {
  Attrs a(ctx.node, {"shape", "dtype", "ctx"});
  return constant(ctx, a, 0.0f);
}

ConstantSpec make_ones(PlanContext& ctx) {
  Attrs a(ctx.node, {"shape", "dtype", "ctx"});
  return constant(ctx, a, 1.0f);
}

}  // namespace rt
}  // namespace bmx

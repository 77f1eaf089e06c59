// Arithmetic with a scalar attribute (_plus_scalar, _mul_scalar, ...) and clip.
#include <algorithm>
#include <cmath>

#include "../attrs.h"
#include "ops.h"
#include "unary.h"

namespace bmx {
namespace rt {

OpSpec make_scalar_op(PlanContext& ctx) {
  Attrs a(ctx.node, {"scalar", "is_int"});
  const float s = a.get_float("scalar", 0.0f);
  if (!a.has("scalar")) a.fail_attr("scalar", "is required but missing");
  const std::string& op = ctx.node.op;
  if (op == "_plus_scalar" || op == "_PlusScalar") return unary_spec(ctx, [s](float x) { return x + s; });
  if (op == "_minus_scalar" || op == "_MinusScalar") return unary_spec(ctx, [s](float x) { return x - s; });
  if (op == "_rminus_scalar" || op == "_RMinusScalar") return unary_spec(ctx, [s](float x) { return s - x; });
  if (op == "_mul_scalar" || op == "_MulScalar") return unary_spec(ctx, [s](float x) { return x * s; });
  if (op == "_div_scalar" || op == "_DivScalar") return unary_spec(ctx, [s](float x) { return x / s; });
  if (op == "_rdiv_scalar" || op == "_RDivScalar") return unary_spec(ctx, [s](float x) { return s / x; });
  if (op == "_maximum_scalar" || op == "_MaximumScalar") {
    return unary_spec(ctx, [s](float x) { return x > s ? x : s; });
  }
  if (op == "_minimum_scalar" || op == "_MinimumScalar") {
    return unary_spec(ctx, [s](float x) { return x < s ? x : s; });
  }
  if (op == "_power_scalar" || op == "_PowerScalar") {
    return unary_spec(ctx, [s](float x) { return std::pow(x, s); });
  }
  ctx.fail("unsupported scalar op");
}

OpSpec make_clip(PlanContext& ctx) {
  Attrs a(ctx.node, {"a_min", "a_max"});
  if (!a.has("a_min")) a.fail_attr("a_min", "is required but missing");
  if (!a.has("a_max")) a.fail_attr("a_max", "is required but missing");
  const float lo = a.get_float("a_min", 0.0f), hi = a.get_float("a_max", 0.0f);
  // MXNet: x < lo ? lo : (x > hi ? hi : x)
  return unary_spec(ctx, [lo, hi](float x) { return x < lo ? lo : (x > hi ? hi : x); });
}

}  // namespace rt
}  // namespace bmx

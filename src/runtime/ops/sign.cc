// bmx_det_sign and bmx_approx_sign: forward sign, +1 for x >= 0 (and -0), else -1.
#include "../attrs.h"
#include "ops.h"
#include "unary.h"

namespace bmx {
namespace rt {
namespace {
float sign(float x) { return x >= 0.0f ? 1.0f : -1.0f; }
}  // namespace

OpSpec make_det_sign(PlanContext& ctx) {
  Attrs a(ctx.node, {"clip_threshold"});
  if (a.get_float("clip_threshold", 1.0f) < 0.0f) a.fail_attr("clip_threshold", "must be >= 0");
  return unary_spec(ctx, [](float x) { return sign(x); });
}

OpSpec make_approx_sign(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  return unary_spec(ctx, [](float x) { return sign(x); });
}

}  // namespace rt
}  // namespace bmx

// Elementwise math of one input without attributes: abs.
#include <cmath>

#include "../attrs.h"
#include "ops.h"
#include "unary.h"

namespace bmx {
namespace rt {

OpSpec make_abs(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  return unary_spec(ctx, [](float x) { return std::fabs(x); });
}

}  // namespace rt
}  // namespace bmx

// Ops that are the identity at inference: Dropout (unless mode='always'), identity, _copy,
// BlockGrad, stop_gradient, make_loss. The output shares the input's memory.
#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {

OpSpec make_identity(PlanContext& ctx) {
  if (ctx.node.op == "Dropout") {
    Attrs a(ctx.node, {"p", "mode", "axes", "cudnn_off"});
    if (a.get_string("mode", "training") == "always" && a.get_float("p", 0.5f) != 0.0f) {
      a.fail_attr("mode", "'always' drops at inference too, which the runtime does not do");
    }
  } else {
    Attrs a(ctx.node, {});
  }
  ctx.expect_inputs(1, 1);
  ctx.read(0);
  return {{ctx.in_shapes[0]}, alias_op()};
}

}  // namespace rt
}  // namespace bmx

// Pooling (2-D max / avg, global, pooling_convention valid / full, count_include_pad), as
// MXNet computes it; the float backend runs it NHWC.
#include "../attrs.h"
#include "layer_attrs.h"
#include "../float/float_kernels.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {

OpSpec make_pooling(PlanContext& ctx) {
  Attrs a(ctx.node, {"kernel", "pool_type", "global_pool", "stride", "pad", "pooling_convention",
                     "count_include_pad", "cudnn_off", "layout", "p_value"});
  ctx.expect_inputs(1, 1);
  const Shape& data = ctx.in_shapes[0];
  if (data.size() != 4) ctx.fail("only 2-D pooling of 4-D (NCHW) data is supported, got shape " + shape_str(data));
  const std::string type = a.get_string("pool_type", "max");
  if (type != "max" && type != "avg") a.fail_attr("pool_type", "must be max or avg, got '" + type + "'");
  const std::string layout = a.get_string("layout", "NCHW");
  if (layout != "NCHW" && layout != "None") a.fail_attr("layout", "must be NCHW, got '" + layout + "'");
  const std::string convention = a.get_string("pooling_convention", "valid");
  if (convention != "valid" && convention != "full") {
    a.fail_attr("pooling_convention", "must be valid or full, got '" + convention + "'");
  }
  const bool global = a.get_bool("global_pool", false);
  Pool2DParams p;
  p.batch = data[0], p.channels = data[1], p.in_h = data[2], p.in_w = data[3];
  p.kind = type == "max" ? PoolKind::kMax : PoolKind::kAvg;
  p.count_include_pad = a.get_bool("count_include_pad", true);
  if (global) {
    p.kernel_h = p.in_h, p.kernel_w = p.in_w;
    p.out_h = p.out_w = 1;
  } else {
    const std::vector<int64_t> kernel = a.get_int_list("kernel");
    if (kernel.size() != 2) ctx.fail("only 2-D pooling is supported, got kernel " + a.get_string("kernel", ""));
    const auto stride = a.get_tuple("stride", 2, 1);
    const auto pad = a.get_tuple("pad", 2, 0);
    p.kernel_h = kernel[0], p.kernel_w = kernel[1];
    p.stride_h = stride[0], p.stride_w = stride[1];
    p.pad_h = pad[0], p.pad_w = pad[1];
    check_attr_range(a, "kernel", kernel, 1);
    check_attr_range(a, "stride", stride, 1);
    check_attr_range(a, "pad", pad, 0);
    const int64_t span_h = p.in_h + 2 * p.pad_h - p.kernel_h;
    const int64_t span_w = p.in_w + 2 * p.pad_w - p.kernel_w;
    if (span_h < 0 || span_w < 0) {
      ctx.fail("the kernel is larger than the padded input " + shape_str(data));
    }
    if (convention == "valid") {
      p.out_h = 1 + span_h / p.stride_h;
      p.out_w = 1 + span_w / p.stride_w;
    } else {
      p.out_h = 1 + (span_h + p.stride_h - 1) / p.stride_h;
      p.out_w = 1 + (span_w + p.stride_w - 1) / p.stride_w;
    }
  }
  ctx.read(0);
  auto op = float_layer_op(make_pool2d(p, ctx.float_backend));
  op->macs = p.batch * p.channels * p.out_h * p.out_w * p.kernel_h * p.kernel_w;
  return {{{p.batch, p.channels, p.out_h, p.out_w}}, std::move(op)};
}

}  // namespace rt
}  // namespace bmx

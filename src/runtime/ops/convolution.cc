// Convolution (float, 2-D, NCHW in MXNet's terms; computed NHWC by the float backend).
#include "../attrs.h"
#include "layer_attrs.h"
#include "../float/float_kernels.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {

OpSpec make_convolution(PlanContext& ctx) {
  Attrs a(ctx.node, {"kernel", "stride", "dilate", "pad", "num_filter", "num_group", "no_bias",
                     "layout", "workspace", "cudnn_tune", "cudnn_off"});
  const std::vector<int64_t> kernel = a.get_int_list("kernel");
  if (kernel.size() != 2) {
    ctx.fail("only 2-D convolution is supported, got kernel " + a.get_string("kernel", ""));
  }
  const ConvAttrs c = read_conv_attrs(a);
  const bool no_bias = a.get_bool("no_bias", false);
  ctx.expect_inputs(no_bias ? 2 : 3, no_bias ? 2 : 3);
  const Shape& data = ctx.in_shapes[0];
  if (data.size() != 4) ctx.fail("its data must be 4-D (NCHW), got shape " + shape_str(data));
  Conv2DParams p;
  p.batch = data[0], p.in_channels = data[1], p.in_h = data[2], p.in_w = data[3];
  set_geometry(c, &p);
  if (p.in_channels % p.groups) {  // num_filter: read_conv_attrs
    ctx.fail("num_group=" + std::to_string(p.groups) + " must divide the input channels (" +
             std::to_string(p.in_channels) + ")");
  }
  const std::string problem = p.kernel_fit_problem();
  if (!problem.empty()) ctx.fail(problem + " (data shape " + shape_str(data) + ")");
  if (ctx.may_fuse_relu) {
    p.activation = FusedActivation::kRelu;
    ctx.fused_relu = true;
  }
  ctx.read(0);
  const ParamArray& w = ctx.param(1, "weight", DType::kFloat32,
                                  {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w});
  const float* bias = nullptr;
  if (!no_bias) bias = ctx.param(2, "bias", DType::kFloat32, {p.out_channels}).f32();
  auto op = float_layer_op(make_conv2d(p, w.f32(), bias, ctx.float_backend));
  op->macs = p.batch * p.out_channels * p.out_h() * p.out_w() * (p.in_channels / p.groups) *
             p.kernel_h * p.kernel_w;
  op->weight_bytes = w.nbytes + (no_bias ? 0 : sizeof(float) * p.out_channels);
  return {{{p.batch, p.out_channels, p.out_h(), p.out_w()}}, std::move(op)};
}

}  // namespace rt
}  // namespace bmx

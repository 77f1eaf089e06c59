// bmx_binary_conv2d(data, weight[, scale][, bias][, residual]): the plugin's op (DESIGN.md 3)
// with every attribute it accepts; weights repacked once for the kernels' instruction set.
#include "../attrs.h"
#include "layer_attrs.h"
#include "bconv2d.h"
#include "fast_kernels.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

// Reads and writes NHWC, the runtime's storage of 4-D activations, as the kernels do.
class BinaryConv2D : public Op {
 public:
  BinaryConv2D(const BConv2DShape& s, PackedWeights w, std::vector<float> scale,
               std::vector<float> bias)
      : s_(s), w_(std::move(w)), scale_(std::move(scale)), bias_(std::move(bias)) {}

  void run(const RunContext& ctx) override {
    const float* residual = residual_index_ > 0 ? ctx.in[residual_index_] : nullptr;
    bconv2d_fast(s_, ctx.in[0], w_, scale_.empty() ? nullptr : scale_.data(),
                 bias_.empty() ? nullptr : bias_.data(), residual, ctx.out[0], ctx.threads,
                 ctx.ws);
  }
  void prepare(const RunContext& ctx) override { bconv2d_reserve(s_, w_, ctx.threads, ctx.ws); }

  size_t residual_index_ = 0;  // 0: no residual

 private:
  BConv2DShape s_;
  PackedWeights w_;
  std::vector<float> scale_, bias_;
};

}  // namespace

OpSpec make_binary_conv2d(PlanContext& ctx) {
  const BinaryConvAttrs attrs = read_binary_conv_attrs(
      Attrs(ctx.node, {"kernel", "stride", "dilate", "pad", "pad_value", "num_filter",
                       "num_group", "use_scale", "no_bias", "add_residual", "layout", "workspace",
                       "cudnn_tune", "cudnn_off"}));
  BConv2DShape s = attrs.shape;
  const size_t inputs = static_cast<size_t>(attrs.num_inputs());
  ctx.expect_inputs(inputs, inputs);
  const Shape& data = ctx.in_shapes[0];
  if (data.size() != 4) ctx.fail("its data must be 4-D (NCHW), got shape " + shape_str(data));
  s.batch = data[0], s.in_channels = data[1], s.in_h = data[2], s.in_w = data[3];
  s.layout = Layout::kNHWC;
  const std::string problem = s.validate();
  if (!problem.empty()) ctx.fail(problem + " (data shape " + shape_str(data) + ")");
  ctx.read(0);
  const ParamArray& w = ctx.param(1, "weight", DType::kInt32,
                                  {s.out_channels, s.kernel_h, s.kernel_w, s.words()});
  size_t next = 2;
  std::vector<float> scale, bias;
  if (attrs.use_scale) {
    const ParamArray& p = ctx.param(next++, "scale", DType::kFloat32, {s.out_channels});
    scale.assign(p.f32(), p.f32() + s.out_channels);
  }
  if (!attrs.no_bias) {
    const ParamArray& p = ctx.param(next++, "bias", DType::kFloat32, {s.out_channels});
    bias.assign(p.f32(), p.f32() + s.out_channels);
  }
  const Shape out = {s.batch, s.out_channels, s.out_h(), s.out_w()};
  auto op = std::make_unique<BinaryConv2D>(s, pack_conv_weights(ctx.isa, s, w.u32()),
                                           std::move(scale), std::move(bias));
  if (attrs.add_residual) {
    if (ctx.in_shapes[next] != out) {
      ctx.fail("its residual has shape " + shape_str(ctx.in_shapes[next]) + ", expected the "
               "output's shape " + shape_str(out));
    }
    ctx.read(next);
    op->residual_index_ = next;
  }
  op->kernel = std::string("binary-") + isa_name(ctx.isa);
  op->macs = s.batch * s.out_channels * s.out_h() * s.out_w() * s.group_in_channels() *
             s.kernel_h * s.kernel_w;
  op->weight_bytes =
      w.nbytes + sizeof(float) * s.out_channels * (attrs.use_scale + !attrs.no_bias);
  return {{out}, std::move(op)};
}

}  // namespace rt
}  // namespace bmx

// BatchNorm at inference: y = (x - mean) / sqrt(var + eps) * gamma + beta per channel of the
// logical axis (default 1), precomputed into one scale and shift per channel.
#include <cmath>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

class BatchNorm : public Op {
 public:
  BatchNorm(AxisSplit split, std::vector<float> scale, std::vector<float> shift)
      : s_(split), scale_(std::move(scale)), shift_(std::move(shift)) {
    inplace_input = 0;
  }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    float* y = ctx.out[0];
    if (s_.inner == 1) {  // channels innermost (NHWC, or N x C)
      for (int64_t o = 0; o < s_.outer; ++o) {
        const float* xr = x + o * s_.n;
        float* yr = y + o * s_.n;
        for (int64_t c = 0; c < s_.n; ++c) yr[c] = xr[c] * scale_[c] + shift_[c];
      }
      return;
    }
    for (int64_t o = 0; o < s_.outer; ++o) {
      for (int64_t c = 0; c < s_.n; ++c) {
        const int64_t base = (o * s_.n + c) * s_.inner;
        for (int64_t i = 0; i < s_.inner; ++i) y[base + i] = x[base + i] * scale_[c] + shift_[c];
      }
    }
  }

 private:
  AxisSplit s_;
  std::vector<float> scale_, shift_;
};

}  // namespace

OpSpec make_batch_norm(PlanContext& ctx) {
  Attrs a(ctx.node, {"eps", "momentum", "fix_gamma", "use_global_stats", "output_mean_var",
                     "axis", "cudnn_off", "min_calib_range", "max_calib_range", "act_type"});
  ctx.expect_inputs(5, 5);
  const Shape& s = ctx.in_shapes[0];
  if (s.size() < 2) ctx.fail("its data must have at least 2 axes, got shape " + shape_str(s));
  const int axis = normalise_axis(ctx, a.get_int("axis", 1), s.size(), "axis");
  const float eps = a.get_float("eps", 1e-3f);
  const bool fix_gamma = a.get_bool("fix_gamma", true);
  if (a.has("act_type") && a.get_string("act_type", "") != "None") {
    a.fail_attr("act_type", "is not supported");
  }
  const int64_t c = s[axis];
  const ParamArray& gamma = ctx.param(1, "gamma", DType::kFloat32, {c});
  const ParamArray& beta = ctx.param(2, "beta", DType::kFloat32, {c});
  const ParamArray& mean = ctx.param(3, "moving_mean", DType::kFloat32, {c});
  const ParamArray& var = ctx.param(4, "moving_var", DType::kFloat32, {c});
  // MXNet divides by sqrt(var + eps): a negative eps or variance gives NaN, a zero sum an
  // infinity, which a trained model never has.
  if (!(eps >= 0.0f)) a.fail_attr("eps", "is " + std::to_string(eps) + ", which must not be negative");
  for (int64_t i = 0; i < c; ++i) {
    if (var.f32()[i] < 0.0f) {
      ctx.fail("its moving_var '" + var.name + "' is negative (" + std::to_string(var.f32()[i]) +
               " at channel " + std::to_string(i) + "), which a variance cannot be");
    }
    if (var.f32()[i] + eps <= 0.0f) {
      ctx.fail("its moving_var '" + var.name + "' plus eps is 0 at channel " + std::to_string(i) +
               ", so the division would give an infinity");
    }
  }
  std::vector<float> scale(c), shift(c);
  for (int64_t i = 0; i < c; ++i) {
    const float g = fix_gamma ? 1.0f : gamma.f32()[i];
    scale[i] = g / std::sqrt(var.f32()[i] + eps);
    shift[i] = beta.f32()[i] - mean.f32()[i] * scale[i];
  }
  ctx.read(0);
  auto op = std::make_unique<BatchNorm>(split_at_axis(s, axis), std::move(scale), std::move(shift));
  op->macs = elements(s);
  op->weight_bytes = sizeof(float) * 2 * c;
  return {{s}, std::move(op)};
}

}  // namespace rt
}  // namespace bmx

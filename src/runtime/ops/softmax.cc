// softmax / log_softmax (axis, temperature), SoftmaxActivation (instance / channel) and
// SoftmaxOutput at inference (its label is not read).
#include <algorithm>
#include <cmath>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

class Softmax : public Op {
 public:
  Softmax(AxisSplit split, float temperature, bool log)
      : s_(split), inv_t_(1.0f / temperature), log_(log) {
    inplace_input = 0;
  }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    float* y = ctx.out[0];
    for (int64_t o = 0; o < s_.outer; ++o) {
      for (int64_t i = 0; i < s_.inner; ++i) {
        const int64_t base = o * s_.n * s_.inner + i;
        float m = x[base];
        for (int64_t k = 1; k < s_.n; ++k) m = std::max(m, x[base + k * s_.inner]);
        float sum = 0.0f;
        for (int64_t k = 0; k < s_.n; ++k) {
          const float e = std::exp((x[base + k * s_.inner] - m) * inv_t_);
          sum += e;
          if (!log_) y[base + k * s_.inner] = e;
        }
        if (log_) {
          const float ls = std::log(sum);
          for (int64_t k = 0; k < s_.n; ++k) {
            y[base + k * s_.inner] = (x[base + k * s_.inner] - m) * inv_t_ - ls;
          }
        } else {
          for (int64_t k = 0; k < s_.n; ++k) y[base + k * s_.inner] /= sum;
        }
      }
    }
  }

 private:
  AxisSplit s_;
  float inv_t_;
  bool log_;
};

// Softmax over everything but axis 0, in logical (C,H,W) order, for any layout.
AxisSplit instance_split(const Shape& s) {
  AxisSplit split;
  split.outer = s[0];
  split.n = elements(s) / s[0];
  return split;
}

}  // namespace

OpSpec make_softmax(PlanContext& ctx) {
  Attrs a(ctx.node, {"axis", "temperature", "dtype", "use_length"});
  ctx.expect_inputs(1, 1);
  if (a.get_bool("use_length", false)) a.fail_attr("use_length", "is not supported");
  const std::string dtype = a.get_string("dtype", "None");
  if (dtype != "None" && dtype != "float32") a.fail_attr("dtype", "must be float32");
  const Shape& s = ctx.in_shapes[0];
  const int axis = normalise_axis(ctx, a.get_int("axis", -1), s.size(), "axis");
  const float t = a.has("temperature") && a.get_string("temperature", "") != "None"
                      ? a.get_float("temperature", 1.0f) : 1.0f;
  if (!(t > 0.0f)) a.fail_attr("temperature", "must be positive");
  ctx.read(0);
  return {{s}, std::make_unique<Softmax>(split_at_axis(s, axis), t, ctx.node.op == "log_softmax")};
}

OpSpec make_softmax_activation(PlanContext& ctx) {
  Attrs a(ctx.node, {"mode"});
  ctx.expect_inputs(1, 1);
  const Shape& s = ctx.in_shapes[0];
  const std::string mode = a.get_string("mode", "instance");
  ctx.read(0);
  if (mode == "channel") {
    if (s.size() < 2) ctx.fail("mode 'channel' needs at least 2 axes");
    return {{s}, std::make_unique<Softmax>(split_at_axis(s, 1), 1.0f, false)};
  }
  if (mode != "instance") a.fail_attr("mode", "must be instance or channel");
  if (!storage_is_logical(s)) ctx.fail("mode 'instance' on 4-D data with H*W > 1 is not supported");
  return {{s}, std::make_unique<Softmax>(instance_split(s), 1.0f, false)};
}

OpSpec make_softmax_output(PlanContext& ctx) {
  Attrs a(ctx.node, {"grad_scale", "ignore_label", "multi_output", "use_ignore", "preserve_shape",
                     "normalization", "out_grad", "smooth_alpha"});
  ctx.expect_inputs(1, 2);
  const Shape& s = ctx.in_shapes[0];
  ctx.read(0);
  if (a.get_bool("preserve_shape", false)) {
    return {{s}, std::make_unique<Softmax>(split_at_axis(s, static_cast<int>(s.size()) - 1), 1.0f, false)};
  }
  if (a.get_bool("multi_output", false)) {
    if (s.size() < 2) ctx.fail("multi_output needs at least 2 axes");
    return {{s}, std::make_unique<Softmax>(split_at_axis(s, 1), 1.0f, false)};
  }
  if (!storage_is_logical(s)) ctx.fail("4-D data with H*W > 1 is not supported without multi_output");
  return {{s}, std::make_unique<Softmax>(instance_split(s), 1.0f, false)};
}

}  // namespace rt
}  // namespace bmx

// Activation (relu, sigmoid, tanh, softrelu, softsign), the standalone relu / sigmoid / tanh
// ops, and LeakyReLU (leaky, elu, selu, gelu, prelu).
#include <cmath>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"
#include "unary.h"

namespace bmx {
namespace rt {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
// MXNet's softrelu: log(1 + exp(x)), computed as x above 20 where exp would lose it.
float softrelu(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

OpSpec activation_by_name(PlanContext& ctx, const std::string& act, const char* attr) {
  if (act == "relu") return unary_spec(ctx, [](float x) { return x > 0.0f ? x : 0.0f; });
  if (act == "sigmoid") return unary_spec(ctx, [](float x) { return sigmoid(x); });
  if (act == "tanh") return unary_spec(ctx, [](float x) { return std::tanh(x); });
  if (act == "softrelu") return unary_spec(ctx, [](float x) { return softrelu(x); });
  if (act == "softsign") return unary_spec(ctx, [](float x) { return x / (1.0f + std::fabs(x)); });
  ctx.fail(std::string("unsupported ") + attr + " '" + act + "'");
}

// PReLU: y = x > 0 ? x : gamma[c] * x, gamma per channel (axis 1) or one value.
class PRelu : public Op {
 public:
  PRelu(AxisSplit split, std::vector<float> gamma) : split_(split), gamma_(std::move(gamma)) {
    inplace_input = 0;
  }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    float* y = ctx.out[0];
    for (int64_t o = 0; o < split_.outer; ++o) {
      for (int64_t c = 0; c < split_.n; ++c) {
        const float g = gamma_.size() == 1 ? gamma_[0] : gamma_[c];
        const int64_t base = (o * split_.n + c) * split_.inner;
        for (int64_t i = 0; i < split_.inner; ++i) {
          const float v = x[base + i];
          y[base + i] = v > 0.0f ? v : g * v;
        }
      }
    }
  }

 private:
  AxisSplit split_;
  std::vector<float> gamma_;
};

}  // namespace

OpSpec make_activation(PlanContext& ctx) {
  Attrs a(ctx.node, {"act_type"});
  return activation_by_name(ctx, a.get_string("act_type", ""), "act_type");
}

bool is_plain_relu(const SymbolNode& node) {
  if (node.op == "Activation" && !node.attrs.count("act_type")) return false;
  for (const auto& kv : node.attrs) {
    if (kv.first.rfind("__", 0) == 0) continue;  // MXNet's own (__shape__, __dtype__, ...)
    if (kv.first != "act_type" || kv.second != "relu") return false;
  }
  return true;
}

OpSpec make_relu(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  return activation_by_name(ctx, "relu", "op");
}
OpSpec make_sigmoid(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  return activation_by_name(ctx, "sigmoid", "op");
}
OpSpec make_tanh(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  return activation_by_name(ctx, "tanh", "op");
}

OpSpec make_leaky_relu(PlanContext& ctx) {
  Attrs a(ctx.node, {"act_type", "slope", "lower_bound", "upper_bound"});
  const std::string act = a.get_string("act_type", "leaky");
  const float slope = a.get_float("slope", 0.25f);
  if (act == "leaky") return unary_spec(ctx, [slope](float x) { return x > 0.0f ? x : slope * x; });
  if (act == "elu") {
    return unary_spec(ctx, [slope](float x) { return x > 0.0f ? x : slope * std::expm1(x); });
  }
  if (act == "selu") {
    return unary_spec(ctx, [](float x) {
      const float alpha = 1.6732632423543772848170429916717f;
      const float lambda = 1.0507009873554804934193349852946f;
      return lambda * (x > 0.0f ? x : alpha * std::expm1(x));
    });
  }
  if (act == "gelu") {
    return unary_spec(ctx, [](float x) {
      return 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f)));
    });
  }
  if (act == "prelu") {
    ctx.expect_inputs(2, 2);
    const Shape& data = ctx.in_shapes[0];
    const Shape& gs = ctx.in_shapes[1];
    const int64_t channels = data.size() > 1 ? data[1] : 1;
    const int64_t n = elements(gs);
    if (gs.size() != 1 || (n != 1 && n != channels)) {
      ctx.fail("its gamma has shape " + shape_str(gs) + ", expected (1,) or (" +
               std::to_string(channels) + ",)");
    }
    const ParamArray& g = ctx.param(1, "gamma", DType::kFloat32, gs);
    ctx.read(0);
    const AxisSplit split = data.size() > 1 ? split_at_axis(data, 1) : AxisSplit{1, 1, elements(data)};
    auto op = std::make_unique<PRelu>(split, std::vector<float>(g.f32(), g.f32() + n));
    return {{data}, std::move(op)};
  }
  ctx.fail("unsupported act_type '" + act + "'");
}

}  // namespace rt
}  // namespace bmx

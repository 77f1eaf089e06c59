// sum, mean, max, min over logical axes (axis, keepdims, exclude as MXNet reads them).
#include <algorithm>
#include <limits>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

enum class Reduce { kSum, kMean, kMax, kMin };

class ReduceOp : public Op {
 public:
  // dims: the input in storage order; strides: where each storage axis moves in the stored
  // output (0 along reduced axes).
  ReduceOp(Reduce kind, std::vector<int64_t> dims, std::vector<int64_t> strides, int64_t out_n,
           int64_t per_output)
      : kind_(kind), dims_(std::move(dims)), strides_(std::move(strides)), out_n_(out_n),
        per_output_(per_output) {
    for (int64_t d : dims_) in_n_ *= d;
  }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    float* y = ctx.out[0];
    const float init = kind_ == Reduce::kMax ? -std::numeric_limits<float>::infinity()
                       : kind_ == Reduce::kMin ? std::numeric_limits<float>::infinity() : 0.0f;
    std::fill(y, y + out_n_, init);
    const size_t nd = dims_.size();
    int64_t index[kMaxCopyAxes] = {0};
    int64_t at = 0;
    const int64_t inner = dims_[nd - 1], step = strides_[nd - 1];
    for (int64_t done = 0; done < in_n_; done += inner) {
      for (int64_t i = 0; i < inner; ++i) {
        float& o = y[at + i * step];
        const float v = x[done + i];
        o = kind_ == Reduce::kMax ? std::max(o, v) : kind_ == Reduce::kMin ? std::min(o, v) : o + v;
      }
      for (size_t d = nd - 1; d-- > 0;) {
        at += strides_[d];
        if (++index[d] < dims_[d]) break;
        at -= strides_[d] * dims_[d];
        index[d] = 0;
      }
    }
    if (kind_ == Reduce::kMean) {
      const float scale = 1.0f / static_cast<float>(per_output_);
      for (int64_t i = 0; i < out_n_; ++i) y[i] *= scale;
    }
  }

 private:
  Reduce kind_;
  std::vector<int64_t> dims_, strides_;
  int64_t out_n_, per_output_, in_n_ = 1;
};

}  // namespace

OpSpec make_reduce(PlanContext& ctx) {
  Attrs a(ctx.node, {"axis", "keepdims", "exclude"});
  ctx.expect_inputs(1, 1);
  const std::string& op = ctx.node.op;
  const Reduce kind = op == "sum" ? Reduce::kSum : op == "mean" ? Reduce::kMean
                      : op == "max" ? Reduce::kMax : Reduce::kMin;
  const Shape& in = ctx.in_shapes[0];
  if (in.empty()) ctx.fail("its input has no axes");
  if (in.size() > kMaxCopyAxes) ctx.fail("reducing more than 8 axes is not supported");
  std::vector<bool> reduced(in.size(), false);
  const std::vector<int64_t> axes = a.has("axis") && a.get_string("axis", "") != "None"
                                        ? a.get_int_list("axis") : std::vector<int64_t>();
  if (axes.empty()) {
    reduced.assign(in.size(), true);
  } else {
    for (int64_t v : axes) reduced[normalise_axis(ctx, v, in.size(), "axis")] = true;
  }
  if (a.get_bool("exclude", false)) {
    for (size_t i = 0; i < reduced.size(); ++i) reduced[i] = !reduced[i];
  }
  const bool keepdims = a.get_bool("keepdims", false);
  Shape out;
  int64_t per_output = 1;
  for (size_t i = 0; i < in.size(); ++i) {
    if (reduced[i]) per_output *= in[i];
    if (!reduced[i] || keepdims) out.push_back(reduced[i] ? 1 : in[i]);
  }
  if (out.empty()) out.push_back(1);
  // Each input axis moves the output by the output's stored stride of the axis it becomes
  // (0 along reduced axes), so the sums land in the output's storage order (NHWC when 4-D).
  const std::vector<int64_t> out_stored = logical_strides(out);
  std::vector<int64_t> out_strides(in.size(), 0);
  for (size_t i = 0, o = 0; i < in.size(); ++i) {
    if (!reduced[i]) out_strides[i] = out_stored[o];
    if (!reduced[i] || keepdims) ++o;
  }
  std::vector<int64_t> dims, strides;
  for (int axis : storage_order(in)) {
    dims.push_back(in[axis]);
    strides.push_back(out_strides[axis]);
  }
  ctx.read(0);
  auto result = std::make_unique<ReduceOp>(kind, dims, strides, elements(out), per_output);
  return {{out}, std::move(result)};
}

}  // namespace rt
}  // namespace bmx

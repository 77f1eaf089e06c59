// FullyConnected (float). With flatten=True a 4-D input is flattened in MXNet's C,H,W order;
// since it is stored NHWC, the weight's columns are permuted once at plan time instead.
#include "../attrs.h"
#include "../float/float_kernels.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

class FloatDense : public Op {
 public:
  FloatDense(std::unique_ptr<FloatLayer> layer, Shape in, Shape out, bool transpose)
      : layer_(std::move(layer)), in_(std::move(in)), out_(std::move(out)), transpose_(transpose) {
    kernel = std::string("float-") + layer_->backend();
    per_predictor = true;
    if (transpose_) scratch_bytes = sizeof(float) * (elements(in_) + elements(out_));
  }
  void run(const RunContext& ctx) override {
    if (!transpose_) {
      layer_->run(ctx.in[0], ctx.out[0], ctx.threads);
      return;
    }
    // flatten=False on a 4-D activation: the rows are MXNet's, so go through logical order.
    float* x = static_cast<float*>(ctx.scratch);
    float* y = x + elements(in_);
    stored_to_logical(in_, ctx.in[0], x);
    layer_->run(x, y, ctx.threads);
    logical_to_stored(out_, y, ctx.out[0]);
  }
  void prepare(const RunContext& ctx) override {
    if (!transpose_) {
      layer_->prepare(ctx.in[0], ctx.out[0], ctx.threads);
      return;
    }
    float* x = static_cast<float*>(ctx.scratch);
    layer_->prepare(x, x + elements(in_), ctx.threads);
  }

 private:
  std::unique_ptr<FloatLayer> layer_;
  Shape in_, out_;
  bool transpose_;
};

}  // namespace

OpSpec make_fully_connected(PlanContext& ctx) {
  Attrs a(ctx.node, {"num_hidden", "no_bias", "flatten"});
  const int64_t hidden = a.get_int("num_hidden");
  if (hidden < 1 || hidden > (int64_t{1} << 30)) a.fail_attr("num_hidden", "must be positive");
  const bool no_bias = a.get_bool("no_bias", false);
  const bool flatten = a.get_bool("flatten", true);
  ctx.expect_inputs(no_bias ? 2 : 3, no_bias ? 2 : 3);
  const Shape& data = ctx.in_shapes[0];
  const DenseShape ds = dense_shape(ctx, data, hidden, flatten);
  const int64_t rows = ds.rows, k = ds.k;
  const Shape& out = ds.out;
  ctx.read(0);
  const ParamArray& w = ctx.param(1, "weight", DType::kFloat32, {hidden, k});
  const float* bias = nullptr;
  if (!no_bias) bias = ctx.param(2, "bias", DType::kFloat32, {hidden}).f32();
  const bool permute = flatten && !storage_is_logical(data);
  const bool transpose = !flatten && (!storage_is_logical(data) || !storage_is_logical(out));
  // The relu is fused when the rows are computed in place (not through logical order).
  const FusedActivation act = ctx.may_fuse_relu && !transpose ? FusedActivation::kRelu
                                                              : FusedActivation::kNone;
  ctx.fused_relu = act == FusedActivation::kRelu;
  std::unique_ptr<FloatLayer> layer;
  if (permute) {
    const int64_t c = data[1], hw = data[2] * data[3];
    std::vector<float> permuted(w.nbytes / sizeof(float));
    for (int64_t j = 0; j < hidden; ++j) {
      for (int64_t l = 0; l < k; ++l) permuted[j * k + chw_to_hwc(l, c, hw)] = w.f32()[j * k + l];
    }
    layer = make_dense(rows, k, hidden, permuted.data(), bias, act, ctx.float_backend);
  } else {
    layer = make_dense(rows, k, hidden, w.f32(), bias, act, ctx.float_backend);
  }
  auto op = std::make_unique<FloatDense>(std::move(layer), data, out, transpose);
  op->macs = rows * k * hidden;
  op->weight_bytes = w.nbytes + (no_bias ? 0 : sizeof(float) * hidden);
  return {{out}, std::move(op)};
}

}  // namespace rt
}  // namespace bmx

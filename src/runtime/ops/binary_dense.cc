// bmx_binary_dense(data, weight[, scale][, bias]): the plugin's op with every attribute it
// accepts. With flatten=True a 4-D input (stored NHWC) is read in place: the packed weight
// bits are permuted once at plan time into the storage's H,W,C order.
#include "../attrs.h"
#include "layer_attrs.h"
#include "bitpack.h"
#include "fast_kernels.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

class BinaryDense : public Op {
 public:
  BinaryDense(int64_t rows, int64_t k, PackedWeights w, std::vector<float> scale,
              std::vector<float> bias, Shape in, Shape out, bool transpose)
      : rows_(rows), k_(k), w_(std::move(w)), scale_(std::move(scale)), bias_(std::move(bias)),
        in_(std::move(in)), out_(std::move(out)), transpose_(transpose) {
    if (transpose_) scratch_bytes = sizeof(float) * (elements(in_) + elements(out_));
  }
  void run(const RunContext& ctx) override {
    const float* scale = scale_.empty() ? nullptr : scale_.data();
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    if (!transpose_) {
      bdense_fast(rows_, k_, ctx.in[0], w_, scale, bias, ctx.out[0], ctx.threads, ctx.ws);
      return;
    }
    float* x = static_cast<float*>(ctx.scratch);
    float* y = x + elements(in_);
    stored_to_logical(in_, ctx.in[0], x);
    bdense_fast(rows_, k_, x, w_, scale, bias, y, ctx.threads, ctx.ws);
    logical_to_stored(out_, y, ctx.out[0]);
  }
  void prepare(const RunContext& ctx) override { bdense_reserve(rows_, k_, w_, ctx.threads, ctx.ws); }

 private:
  int64_t rows_, k_;
  PackedWeights w_;
  std::vector<float> scale_, bias_;
  Shape in_, out_;
  bool transpose_;
};

// Moves every row's bit l (C,H,W order) to bit chw_to_hwc(l) (H,W,C order).
std::vector<uint32_t> permute_bits(const uint32_t* w, int64_t rows, int64_t k, int64_t c,
                                   int64_t hw) {
  const int64_t words = packed_words(k);
  std::vector<uint32_t> out(rows * words, 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t l = 0; l < k; ++l) {
      const uint32_t bit = (w[r * words + l / 32] >> (l % 32)) & 1u;
      const int64_t m = chw_to_hwc(l, c, hw);
      out[r * words + m / 32] |= bit << (m % 32);
    }
  }
  return out;
}

}  // namespace

OpSpec make_binary_dense(PlanContext& ctx) {
  const BinaryDenseAttrs attrs = read_binary_dense_attrs(
      Attrs(ctx.node, {"num_hidden", "use_scale", "no_bias", "flatten"}));
  const int64_t hidden = attrs.num_hidden;
  const bool use_scale = attrs.use_scale, no_bias = attrs.no_bias, flatten = attrs.flatten;
  const size_t inputs = static_cast<size_t>(attrs.num_inputs());
  ctx.expect_inputs(inputs, inputs);
  const Shape& data = ctx.in_shapes[0];
  const DenseShape ds = dense_shape(ctx, data, hidden, flatten);
  const int64_t rows = ds.rows, k = ds.k;
  const Shape& out = ds.out;
  ctx.read(0);
  const ParamArray& w = ctx.param(1, "weight", DType::kInt32, {hidden, packed_words(k)});
  size_t next = 2;
  std::vector<float> scale, bias;
  if (use_scale) {
    const ParamArray& p = ctx.param(next++, "scale", DType::kFloat32, {hidden});
    scale.assign(p.f32(), p.f32() + hidden);
  }
  if (!no_bias) {
    const ParamArray& p = ctx.param(next++, "bias", DType::kFloat32, {hidden});
    bias.assign(p.f32(), p.f32() + hidden);
  }
  const bool permute = flatten && !storage_is_logical(data);
  const bool transpose = !flatten && (!storage_is_logical(data) || !storage_is_logical(out));
  PackedWeights packed;
  if (permute) {
    const std::vector<uint32_t> bits = permute_bits(w.u32(), hidden, k, data[1], data[2] * data[3]);
    packed = pack_dense_weights(ctx.isa, hidden, k, bits.data());
  } else {
    packed = pack_dense_weights(ctx.isa, hidden, k, w.u32());
  }
  auto op = std::make_unique<BinaryDense>(rows, k, std::move(packed), std::move(scale),
                                          std::move(bias), data, out, transpose);
  op->kernel = std::string("binary-") + isa_name(ctx.isa);
  op->macs = rows * k * hidden;
  op->weight_bytes = w.nbytes + sizeof(float) * hidden * (use_scale + !no_bias);
  return {{out}, std::move(op)};
}

}  // namespace rt
}  // namespace bmx

// BMXNet v2's packed inference ops, BinaryInferenceConvolution(data, weight) and
// BinaryInferenceFullyConnected(data, weight), as the fork's model-converter writes them
// (attributes and semantics: v2_inference_attrs.h; weight layout: v2_packed_weights.h), run
// without model-converter: each node is checked here under its own name, its words are rewritten
// into bmxnet's layout once, and it is planned as the bmx_ op it equals (binary_conv2d.cc,
// binary_dense.cc) with scale 1/2 and bias K/2, which turn the dot product into v2's count.
#include "../attrs.h"
#include "bitpack.h"
#include "op_util.h"
#include "ops.h"
#include "v2_inference_attrs.h"
#include "v2_packed_weights.h"

namespace bmx {
namespace rt {
namespace {

// The equivalent bmx_ node and the parameters it reads while it is planned (the factory keeps
// what it needs: repacked weights, scale and bias).
struct Equivalent {
  SymbolNode node;
  std::vector<uint32_t> words;
  std::vector<float> scale, bias;
  ParamArray weight, scale_param, bias_param;
};

// The weight parameter of v2's words: 32-bit words in float32, int32 or uint32 arrays, 64-bit
// in float64, int64 or uint64 (read bit for bit: a float32 word may look like a NaN); returns
// the word size.
const ParamArray& v2_weight(const PlanContext& ctx, int* word_bits) {
  const ParamArray* p = ctx.params.size() > 1 ? ctx.params[1] : nullptr;
  if (p == nullptr) {
    ctx.fail("its weight must be a parameter from the params file, not a computed value");
  }
  switch (p->dtype) {
    case DType::kFloat32: case DType::kInt32: case DType::kUint32: *word_bits = 32; break;
    case DType::kFloat64: case DType::kInt64: case DType::kUint64: *word_bits = 64; break;
    default:
      ctx.fail("its weight '" + p->name + "' is " + dtype_name(p->dtype) + ", expected BMXNet " +
               "v2's packed words (float32 for 32-bit words, float64 for 64-bit words)");
  }
  return *p;
}

void check_row(const PlanContext& ctx, const char* what, int64_t n, int word_bits) {
  if (!v2_row_fits(n, word_bits)) {
    ctx.fail("its data has " + std::to_string(n) + " " + what + " (shape " +
             shape_str(ctx.in_shapes[0]) + "), but BMXNet v2's packed weights hold a multiple " +
             "of " + std::to_string(word_bits) + " (its word size)");
  }
}

void check_weight_shape(const PlanContext& ctx, const ParamArray& w, const Shape& expected) {
  if (w.shape != expected) {
    ctx.fail("its weight '" + w.name + "' has shape " + shape_str(w.shape) + ", expected " +
             shape_str(expected) + " for input shape " + shape_str(ctx.in_shapes[0]));
  }
}

// Plans `e` (its node and words set) with `factory`, as the node of `ctx` with v2's count.
OpSpec plan_as(PlanContext& ctx, OpFactory factory, Equivalent& e, const Shape& words_shape,
               int64_t outputs, int64_t k) {
  e.scale.assign(outputs, kV2CountScale);
  e.bias.assign(outputs, v2_count_bias(k));
  const auto array = [](ParamArray* p, const std::string& name, DType dtype, Shape shape,
                        const void* data, size_t nbytes) {
    p->name = p->key = name;
    p->dtype = dtype;
    p->shape = std::move(shape);
    p->nbytes = nbytes;
    p->data = static_cast<const uint8_t*>(data);
  };
  array(&e.weight, ctx.params[1]->name, DType::kInt32, words_shape, e.words.data(),
        e.words.size() * sizeof(uint32_t));
  array(&e.scale_param, e.node.name + "_count_scale", DType::kFloat32, {outputs},
        e.scale.data(), e.scale.size() * sizeof(float));
  array(&e.bias_param, e.node.name + "_count_bias", DType::kFloat32, {outputs}, e.bias.data(),
        e.bias.size() * sizeof(float));
  e.node.name = ctx.node.name;
  e.node.inputs = {ctx.node.inputs[0], ctx.node.inputs[1], ctx.node.inputs[1],
                   ctx.node.inputs[1]};
  e.node.attrs["use_scale"] = "True";
  e.node.attrs["no_bias"] = "False";
  PlanContext inner(e.node, {ctx.in_shapes[0], words_shape, {outputs}, {outputs}},
                    {ctx.params[0], &e.weight, &e.scale_param, &e.bias_param}, ctx.isa,
                    ctx.float_backend);
  inner.may_fuse_relu = ctx.may_fuse_relu;
  OpSpec spec = factory(inner);
  ctx.reads[0] = inner.reads[0];
  ctx.fused_relu = inner.fused_relu;
  return spec;
}

}  // namespace

OpSpec make_v2_binary_inference_conv(PlanContext& ctx) {
  const Attrs a(ctx.node, {"kernel", "stride", "dilate", "pad", "num_filter", "num_group",
                           "workspace", "no_bias", "layout"});
  const ConvAttrs c = read_v2_inference_conv_attrs(a);
  ctx.expect_inputs(2, 2);
  const Shape& data = ctx.in_shapes[0];
  if (data.size() != 4) ctx.fail("its data must be 4-D (NCHW), got shape " + shape_str(data));
  const BConv2DShape s = v2_inference_conv_shape(c, data[0], data[1], data[2], data[3]);
  const std::string problem = s.validate();
  if (!problem.empty()) ctx.fail(problem + " (data shape " + shape_str(data) + ")");
  int word_bits = 32;
  const ParamArray& w = v2_weight(ctx, &word_bits);
  check_row(ctx, "channels", s.in_channels, word_bits);
  check_weight_shape(ctx, w, {s.out_channels, s.in_channels / word_bits, s.kernel_h, s.kernel_w});
  Equivalent e;
  e.node.op = "bmx_binary_conv2d";
  const auto pair = [](int64_t a, int64_t b) {
    return "(" + std::to_string(a) + ", " + std::to_string(b) + ")";
  };
  e.node.attrs = {{"kernel", pair(s.kernel_h, s.kernel_w)},
                  {"stride", pair(s.stride_h, s.stride_w)},
                  {"dilate", pair(s.dilate_h, s.dilate_w)},
                  {"pad", pair(s.pad_h, s.pad_w)},
                  {"pad_value", std::to_string(s.pad_value)},
                  {"num_filter", std::to_string(s.out_channels)}};
  e.words = v2_conv_weight_to_ohwi(w.data, word_bits, s.out_channels, s.in_channels,
                                   s.kernel_h, s.kernel_w);
  return plan_as(ctx, make_binary_conv2d, e, {s.out_channels, s.kernel_h, s.kernel_w, s.words()},
                 s.out_channels, s.in_channels * s.kernel_h * s.kernel_w);
}

OpSpec make_v2_binary_inference_dense(PlanContext& ctx) {
  const V2InferenceDenseAttrs p =
      read_v2_inference_dense_attrs(Attrs(ctx.node, {"num_hidden", "no_bias", "flatten"}));
  ctx.expect_inputs(2, 2);
  const Shape& data = ctx.in_shapes[0];
  if (data.size() < 2) ctx.fail("its data must have at least 2 axes, got shape " + shape_str(data));
  if (!p.flatten && data.size() > 2) {
    ctx.fail("it has flatten=False with " + std::to_string(data.size()) + "-D data (shape " +
             shape_str(data) + "): BMXNet v2's op flattens it anyway; reshape the data to 2-D " +
             "or set flatten=True");
  }
  int64_t k = 1;
  for (size_t i = 1; i < data.size(); ++i) k *= data[i];
  int word_bits = 32;
  const ParamArray& w = v2_weight(ctx, &word_bits);
  check_row(ctx, "inputs per row", k, word_bits);
  check_weight_shape(ctx, w, {p.num_hidden, k / word_bits});
  Equivalent e;
  e.node.op = "bmx_binary_dense";
  e.node.attrs = {{"num_hidden", std::to_string(p.num_hidden)}, {"flatten", "True"}};
  e.words = v2_dense_weight_to_rows(w.data, word_bits, p.num_hidden, k);
  return plan_as(ctx, make_binary_dense, e, {p.num_hidden, packed_words(k)}, p.num_hidden, k);
}

}  // namespace rt
}  // namespace bmx

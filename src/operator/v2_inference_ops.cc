// BMXNet v2's packed inference ops under the fork's names, so that a model written by the
// fork's model-converter loads in stock MXNet with this library (mx.nd.BinaryInferenceConvolution,
// mx.sym.BinaryInferenceFullyConnected, ...):
//   BinaryInferenceConvolution(data, weight): data float32 NCHW, C a multiple of the word size;
//     weight v2's packed words (O, C / word_bits, kh, kw)
//   BinaryInferenceFullyConnected(data, weight): data (N, ...) flattened to (N, K); weight v2's
//     packed words, declared (num_hidden, K / word_bits)
// The weight holds 32-bit words as float32 (as the fork writes them) or int32, 64-bit words as
// float64 or int64. Attributes, semantics and the output (the count of agreeing bits):
// v2_inference_attrs.h; the weight layout: v2_packed_weights.h. The words are rewritten into
// bmxnet's layout once per weight tensor contents (weight_cache.h) and run on the same xnor
// kernels as bmx_binary_conv2d / bmx_binary_dense.
#include <mutex>
#include <string>
#include <vector>

#include "../kernels/bitpack.h"
#include "../kernels/fast_kernels.h"
#include "../kernels/v2_packed_weights.h"
#include "op_common.h"
#include "v2_inference_attrs.h"
#include "weight_cache.h"

namespace bmx {
namespace {

constexpr const char* kConvOp = "BinaryInferenceConvolution";
constexpr const char* kDenseOp = "BinaryInferenceFullyConnected";
const char* const kConvOpName = kConvOp;
const char* const kDenseOpName = kDenseOp;

// PackSpec::source_layout of v2's words (32- or 64-bit; conv and dense differ in shape).
int source_layout(int word_bits, bool conv) { return (word_bits == 64 ? 2 : 1) + (conv ? 2 : 0); }

std::vector<unsigned int> dims(const MXTensor& t) {
  return std::vector<unsigned int>(t.shape.begin(), t.shape.end());
}

// Bits per word of a weight tensor's dtype.
int word_bits_of(const char* op, int dtype) {
  if (dtype == mxnet::ext::kFloat32 || dtype == mxnet::ext::kInt32) return 32;
  if (dtype == mxnet::ext::kFloat64 || dtype == mxnet::ext::kInt64) return 64;
  fail(op, "input 'weight' must hold BMXNet v2's packed words: float32 or int32 for 32-bit "
           "words, float64 or int64 for 64-bit words");
}

MXReturnValue infer_type(const char* op, std::vector<int>* in, std::vector<int>* out) {
  return guarded([&] {
    check_input_type(op, *in, 0, "data", mxnet::ext::kFloat32, "float32");
    if ((*in)[1] == -1) {
      (*in)[1] = mxnet::ext::kFloat32;  // v2's default: 32-bit words
    } else {
      word_bits_of(op, (*in)[1]);
    }
    (*out)[0] = mxnet::ext::kFloat32;
  });
}

// Fails unless `n` (channels or inputs) fills whole 32-bit words, as v2 requires.
void check_row(const char* op, const char* what, int64_t n, int word_bits,
               const std::vector<unsigned int>& data) {
  if (!v2_row_fits(n, word_bits)) {
    fail(op, std::string("input 'data' has ") + std::to_string(n) + " " + what + " (shape " +
                 shape_str(data) + "), but BMXNet v2's packed weights hold a multiple of " +
                 std::to_string(word_bits) + " (its word size)");
  }
}

// ---- BinaryInferenceConvolution ----------------------------------------------------------

ConvAttrs parse_conv(const AttrMap& attrs) {
  return read_v2_inference_conv_attrs(
      Attrs(kConvOp, attrs, {"kernel", "stride", "dilate", "pad", "num_filter", "num_group",
                             "workspace", "no_bias", "layout"}));
}

MXReturnValue parse_conv_inputs(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    parse_conv(attrs);
    *num_in = 2;
    *num_out = 1;
  });
}

MXReturnValue infer_conv_type(const AttrMap&, std::vector<int>* in, std::vector<int>* out) {
  return infer_type(kConvOp, in, out);
}

BConv2DShape conv_shape(const ConvAttrs& c, const std::vector<unsigned int>& data) {
  if (data.size() != 4) {
    fail(kConvOp, "input 'data' must be 4-D NCHW, got shape " + shape_str(data));
  }
  const BConv2DShape s = v2_inference_conv_shape(c, data[0], data[1], data[2], data[3]);
  const std::string problem = s.validate();
  if (!problem.empty()) fail(kConvOp, problem + " (data shape " + shape_str(data) + ")");
  return s;
}

std::vector<unsigned int> conv_weight_shape(const BConv2DShape& s, int word_bits) {
  return {static_cast<unsigned int>(s.out_channels),
          static_cast<unsigned int>(s.in_channels / word_bits),
          static_cast<unsigned int>(s.kernel_h), static_cast<unsigned int>(s.kernel_w)};
}

MXReturnValue infer_conv_shape(const AttrMap& attrs, Shapes* in, Shapes* out) {
  return guarded([&] {
    const BConv2DShape s = conv_shape(parse_conv(attrs), (*in)[0]);
    // The word size is the weight's dtype, not seen here: either shape passes, Forward checks.
    check_row(kConvOp, "channels", s.in_channels, 32, (*in)[0]);
    auto& weight = (*in)[1];
    if (weight.empty()) weight = conv_weight_shape(s, 32);
    if (s.in_channels % 64 || weight != conv_weight_shape(s, 64)) {
      check_shape(kConvOp, "weight", weight, conv_weight_shape(s, 32));
    }
    (*out)[0] = {static_cast<unsigned int>(s.batch), static_cast<unsigned int>(s.out_channels),
                 static_cast<unsigned int>(s.out_h()), static_cast<unsigned int>(s.out_w())};
  });
}

class ConvState : public BinaryOpState<ConvAttrs, &kConvOpName> {
 public:
  using BinaryOpState::BinaryOpState;

  MXReturnValue Forward(std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                        const OpResource&) override {
    return guarded([&] {
      const BConv2DShape s = conv_shape(params_, dims((*in)[0]));
      const MXTensor& weight = (*in)[1];
      const int word_bits = word_bits_of(kConvOp, weight.dtype);
      check_row(kConvOp, "channels", s.in_channels, word_bits, dims((*in)[0]));
      check_shape(kConvOp, "weight", dims(weight), conv_weight_shape(s, word_bits));
      std::lock_guard<std::mutex> lock(mutex_);
      PackSpec spec{s.out_channels, 1, s.kernel_h * s.kernel_w, s.in_channels};
      spec.source_layout = source_layout(word_bits, true);
      std::vector<uint32_t> ours;
      const PackedWeights& w = cache_.get(weight, isa_, spec, [&] {
        ours = v2_conv_weight_to_ohwi(weight.data_ptr, word_bits, s.out_channels, s.in_channels,
                                      s.kernel_h, s.kernel_w);
        return ours.data();
      });
      scale_.assign(s.out_channels, kV2CountScale);
      bias_.assign(s.out_channels, v2_count_bias(s.in_channels * s.kernel_h * s.kernel_w));
      bconv2d_fast(s, (*in)[0].data<float>(), w, scale_.data(), bias_.data(), nullptr,
                   (*out)[0].data<float>(), kernel_threads(), &workspace_);
    });
  }

 private:
  std::vector<float> scale_, bias_;
};

// ---- BinaryInferenceFullyConnected -------------------------------------------------------

V2InferenceDenseAttrs parse_dense(const AttrMap& attrs) {
  return read_v2_inference_dense_attrs(
      Attrs(kDenseOp, attrs, {"num_hidden", "no_bias", "flatten"}));
}

MXReturnValue parse_dense_inputs(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    parse_dense(attrs);
    *num_in = 2;
    *num_out = 1;
  });
}

MXReturnValue infer_dense_type(const AttrMap&, std::vector<int>* in, std::vector<int>* out) {
  return infer_type(kDenseOp, in, out);
}

// K, the inputs per row: every axis after the first.
int64_t dense_inputs(const V2InferenceDenseAttrs& p, const std::vector<unsigned int>& data) {
  if (data.size() < 2) {
    fail(kDenseOp, "input 'data' must have at least 2 axes, got shape " + shape_str(data));
  }
  if (!p.flatten && data.size() > 2) {
    fail(kDenseOp, "flatten=False with " + std::to_string(data.size()) + "-D data (shape " +
                       shape_str(data) + "): BMXNet v2's op flattens it anyway; reshape the "
                       "data to 2-D or set flatten=True");
  }
  int64_t k = 1;
  for (size_t i = 1; i < data.size(); ++i) k *= data[i];
  return k;
}

std::vector<unsigned int> dense_weight_shape(int64_t hidden, int64_t k, int word_bits) {
  return {static_cast<unsigned int>(hidden), static_cast<unsigned int>(k / word_bits)};
}

MXReturnValue infer_dense_shape(const AttrMap& attrs, Shapes* in, Shapes* out) {
  return guarded([&] {
    const V2InferenceDenseAttrs p = parse_dense(attrs);
    const int64_t k = dense_inputs(p, (*in)[0]);
    check_row(kDenseOp, "inputs per row", k, 32, (*in)[0]);
    auto& weight = (*in)[1];
    if (weight.empty()) weight = dense_weight_shape(p.num_hidden, k, 32);
    if (k % 64 || weight != dense_weight_shape(p.num_hidden, k, 64)) {
      check_shape(kDenseOp, "weight", weight, dense_weight_shape(p.num_hidden, k, 32));
    }
    (*out)[0] = {(*in)[0][0], static_cast<unsigned int>(p.num_hidden)};
  });
}

class DenseState : public BinaryOpState<V2InferenceDenseAttrs, &kDenseOpName> {
 public:
  using BinaryOpState::BinaryOpState;

  MXReturnValue Forward(std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                        const OpResource&) override {
    return guarded([&] {
      const V2InferenceDenseAttrs& p = params_;
      const auto data = dims((*in)[0]);
      const int64_t k = dense_inputs(p, data), rows = data[0];
      const MXTensor& weight = (*in)[1];
      const int word_bits = word_bits_of(kDenseOp, weight.dtype);
      check_row(kDenseOp, "inputs per row", k, word_bits, data);
      check_shape(kDenseOp, "weight", dims(weight), dense_weight_shape(p.num_hidden, k, word_bits));
      std::lock_guard<std::mutex> lock(mutex_);
      PackSpec spec{p.num_hidden, 1, 1, k};
      spec.source_layout = source_layout(word_bits, false);
      std::vector<uint32_t> ours;
      const PackedWeights& w = cache_.get(weight, isa_, spec, [&] {
        ours = v2_dense_weight_to_rows(weight.data_ptr, word_bits, p.num_hidden, k);
        return ours.data();
      });
      scale_.assign(p.num_hidden, kV2CountScale);
      bias_.assign(p.num_hidden, v2_count_bias(k));
      bdense_fast(rows, k, (*in)[0].data<float>(), w, scale_.data(), bias_.data(),
                  (*out)[0].data<float>(), kernel_threads(), &workspace_);
    });
  }

 private:
  std::vector<float> scale_, bias_;
};

}  // namespace

REGISTER_OP(BinaryInferenceConvolution)
    .setParseAttrs(parse_conv_inputs)
    .setInferType(infer_conv_type)
    .setInferShape(infer_conv_shape)
    .setCreateOpState(create_state<ConvState, parse_conv>, "cpu");

REGISTER_OP(BinaryInferenceFullyConnected)
    .setParseAttrs(parse_dense_inputs)
    .setInferType(infer_dense_type)
    .setInferShape(infer_dense_shape)
    .setCreateOpState(create_state<DenseState, parse_dense>, "cpu");

}  // namespace bmx

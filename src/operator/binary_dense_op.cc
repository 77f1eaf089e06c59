// bmx_binary_dense(data, weight[, scale][, bias]): binarizes float data, multiplies it with
// packed (num_hidden, words(K)) weights by xnor + popcount, then scale and bias per unit.
// A stateful op: weights are repacked into the fast kernel's layout once per weight tensor
// contents and kept by the op state and a process-wide cache (weight_cache.h).
#include <mutex>
#include <vector>

#include "../kernels/bitpack.h"
#include "../kernels/fast_kernels.h"
#include "layer_attrs.h"
#include "op_common.h"
#include "weight_cache.h"

namespace bmx {
namespace {

constexpr const char* kOp = "bmx_binary_dense";
const char* const kOpName = kOp;

using Params = BinaryDenseAttrs;

Params parse_params(const AttrMap& attrs) {
  return read_binary_dense_attrs(
      Attrs(kOp, attrs, {"num_hidden", "use_scale", "no_bias", "flatten"}));
}

MXReturnValue infer_type(const AttrMap& attrs, std::vector<int>* in, std::vector<int>* out) {
  return guarded([&] {
    check_binary_layer_types(kOp, *in, parse_params(attrs));
    (*out)[0] = mxnet::ext::kFloat32;
  });
}

// Rows and reduction length of the data: flatten=True gives (N, prod(rest)), else (prod(lead), last).
void rows_and_k(const Params& p, const std::vector<unsigned int>& data, int64_t* rows, int64_t* k) {
  if (data.size() < 2 && p.flatten) fail(kOp, "input 'data' must have at least 2 axes with flatten=True, got shape " + shape_str(data));
  if (data.empty()) fail(kOp, "input 'data' must have at least 1 axis");
  const size_t split = p.flatten ? 1 : data.size() - 1;
  *rows = 1, *k = 1;
  for (size_t i = 0; i < data.size(); ++i) (i < split ? *rows : *k) *= data[i];
  if (*k < 1) fail(kOp, "input 'data' has no elements to reduce, shape " + shape_str(data));
}

MXReturnValue infer_shape(const AttrMap& attrs, Shapes* in, Shapes* out) {
  return guarded([&] {
    const Params p = parse_params(attrs);
    const auto& data = (*in)[0];
    int64_t rows = 0, k = 0;
    rows_and_k(p, data, &rows, &k);
    const auto h = static_cast<unsigned int>(p.num_hidden);
    check_shape(kOp, "weight", (*in)[1], {h, static_cast<unsigned int>(packed_words(k))});
    if (p.use_scale) check_shape(kOp, "scale", (*in)[p.scale_index()], {h});
    if (!p.no_bias) check_shape(kOp, "bias", (*in)[p.bias_index()], {h});
    if (p.flatten) {
      (*out)[0] = {data[0], h};
    } else {
      (*out)[0] = data;
      (*out)[0].back() = h;
    }
  });
}

class State : public BinaryOpState<Params, &kOpName> {
 public:
  using BinaryOpState::BinaryOpState;

  MXReturnValue Forward(std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                        const OpResource&) override {
    return guarded([&] {
      const Params& p = params_;
      int64_t rows = 0, k = 0;
      rows_and_k(p, std::vector<unsigned int>((*in)[0].shape.begin(), (*in)[0].shape.end()),
                 &rows, &k);
      const MXTensor& weight = (*in)[1];
      check_shape(kOp, "weight",
                  std::vector<unsigned int>(weight.shape.begin(), weight.shape.end()),
                  {static_cast<unsigned int>(p.num_hidden), static_cast<unsigned int>(packed_words(k))});
      const float* scale = p.use_scale ? (*in)[p.scale_index()].data<float>() : nullptr;
      const float* bias = p.no_bias ? nullptr : (*in)[p.bias_index()].data<float>();
      std::lock_guard<std::mutex> lock(mutex_);
      const PackedWeights& w = cache_.get(weight, isa_, PackSpec{p.num_hidden, 1, 1, k});
      bdense_fast(rows, k, (*in)[0].data<float>(), w, scale, bias, (*out)[0].data<float>(),
                  kernel_threads(), &workspace_);
    });
  }
};

}  // namespace

REGISTER_OP(bmx_binary_dense)
    .setParseAttrs(parse_layer_inputs<Params, parse_params>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setCreateOpState(create_state<State, parse_params>, "cpu");

}  // namespace bmx

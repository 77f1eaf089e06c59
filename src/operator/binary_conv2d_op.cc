// bmx_binary_conv2d(data, weight[, scale][, bias][, residual]): binarizes float NCHW data,
// convolves it with packed OHWI weights by xnor + popcount, applies scale and bias per
// channel, and (add_residual=True) adds a residual tensor shaped as the output.
// A stateful op: weights are repacked into the fast kernel's layout once per weight tensor
// contents and kept by the op state and a process-wide cache (weight_cache.h).
#include <mutex>
#include <vector>

#include "../kernels/bconv2d.h"
#include "../kernels/fast_kernels.h"
#include "layer_attrs.h"
#include "op_common.h"
#include "weight_cache.h"

namespace bmx {
namespace {

constexpr const char* kOp = "bmx_binary_conv2d";
const char* const kOpName = kOp;

using Params = BinaryConvAttrs;

Params parse_params(const AttrMap& attrs) {
  return read_binary_conv_attrs(
      Attrs(kOp, attrs, {"kernel", "stride", "dilate", "pad", "pad_value", "num_filter",
                         "num_group", "use_scale", "no_bias", "add_residual", "layout",
                         "workspace", "cudnn_tune", "cudnn_off"}));
}

MXReturnValue infer_type(const AttrMap& attrs, std::vector<int>* in, std::vector<int>* out) {
  return guarded([&] {
    const Params p = parse_params(attrs);
    check_binary_layer_types(kOp, *in, p);
    if (p.add_residual) {
      check_input_type(kOp, *in, p.residual_index(), "residual", mxnet::ext::kFloat32, "float32");
    }
    (*out)[0] = mxnet::ext::kFloat32;
  });
}

BConv2DShape full_shape(const Params& p, const std::vector<unsigned int>& data) {
  if (data.size() != 4) fail(kOp, "input 'data' must be 4-D NCHW, got shape " + shape_str(data));
  BConv2DShape s = p.shape;
  s.batch = data[0], s.in_channels = data[1], s.in_h = data[2], s.in_w = data[3];
  const std::string problem = s.validate();
  if (!problem.empty()) fail(kOp, problem + " (data shape " + shape_str(data) + ")");
  return s;
}

MXReturnValue infer_shape(const AttrMap& attrs, Shapes* in, Shapes* out) {
  return guarded([&] {
    const Params p = parse_params(attrs);
    const BConv2DShape s = full_shape(p, (*in)[0]);
    const auto o = static_cast<unsigned int>(s.out_channels);
    check_shape(kOp, "weight", (*in)[1],
                {o, static_cast<unsigned int>(s.kernel_h), static_cast<unsigned int>(s.kernel_w),
                 static_cast<unsigned int>(s.words())});
    if (p.use_scale) check_shape(kOp, "scale", (*in)[p.scale_index()], {o});
    if (!p.no_bias) check_shape(kOp, "bias", (*in)[p.bias_index()], {o});
    (*out)[0] = {static_cast<unsigned int>(s.batch), o, static_cast<unsigned int>(s.out_h()),
                 static_cast<unsigned int>(s.out_w())};
    if (p.add_residual) check_shape(kOp, "residual", (*in)[p.residual_index()], (*out)[0]);
  });
}

std::vector<unsigned int> dims(const MXTensor& t) {
  return std::vector<unsigned int>(t.shape.begin(), t.shape.end());
}

class State : public BinaryOpState<Params, &kOpName> {
 public:
  using BinaryOpState::BinaryOpState;

  MXReturnValue Forward(std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                        const OpResource&) override {
    return guarded([&] {
      const Params& p = params_;
      const BConv2DShape s = full_shape(p, dims((*in)[0]));
      const MXTensor& weight = (*in)[1];
      check_shape(kOp, "weight", dims(weight),
                  {static_cast<unsigned int>(s.out_channels), static_cast<unsigned int>(s.kernel_h),
                   static_cast<unsigned int>(s.kernel_w), static_cast<unsigned int>(s.words())});
      const float* scale = p.use_scale ? (*in)[p.scale_index()].data<float>() : nullptr;
      const float* bias = p.no_bias ? nullptr : (*in)[p.bias_index()].data<float>();
      const float* residual = nullptr;
      if (p.add_residual) {
        MXTensor& r = (*in)[p.residual_index()];
        check_shape(kOp, "residual", dims(r), dims((*out)[0]));
        residual = r.data<float>();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      const PackedWeights& w = cache_.get(
          weight, isa_, PackSpec{s.out_channels, s.groups, s.kernel_h * s.kernel_w,
                                 s.group_in_channels()});
      bconv2d_fast(s, (*in)[0].data<float>(), w, scale, bias, residual,
                   (*out)[0].data<float>(), kernel_threads(), &workspace_);
    });
  }
};

}  // namespace

REGISTER_OP(bmx_binary_conv2d)
    .setParseAttrs(parse_layer_inputs<Params, parse_params>)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setCreateOpState(create_state<State, parse_params>, "cpu");

}  // namespace bmx

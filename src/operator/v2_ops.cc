// BMXNet v2's training ops under the fork's names, so that a graph exported by BMXNet v2 loads
// in stock MXNet with this library: det_sign, approx_sign and _contrib_gradcancel (Python:
// mx.nd.det_sign, mx.nd.approx_sign, mx.nd.contrib.gradcancel). The fork's round_ste is
// MXNet's _contrib_round_ste, which model-converter renames it to.
//
// Forward values are the fork's. Gradients: det_sign straight-through everywhere;
// _contrib_gradcancel passes the gradient where |x| <= threshold; approx_sign has Bi-Real
// Net's 2 - 2|x| on [-1, 1] and 0 outside (the fork keeps 2 - 2|x| there too; v2's
// QActivation cancels outside the threshold, 1 by default, before it, so both agree there).
#include <cstring>

#include "../kernels/sign.h"
#include "op_common.h"

namespace bmx {
namespace {

MXReturnValue parse_unary(const char* op, const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    Attrs a(op, attrs, {});
    *num_in = 1;
    *num_out = 1;
  });
}

MXReturnValue parse_det(const AttrMap& attrs, int* num_in, int* num_out) {
  return parse_unary("det_sign", attrs, num_in, num_out);
}

MXReturnValue parse_approx(const AttrMap& attrs, int* num_in, int* num_out) {
  return parse_unary("approx_sign", attrs, num_in, num_out);
}

float gradcancel_threshold(const AttrMap& attrs) {
  Attrs a("_contrib_gradcancel", attrs, {"threshold"});
  const float threshold = a.get_float("threshold", 1.0f);
  if (!(threshold > 0.0f)) a.fail_attr("threshold", "must be > 0");
  return threshold;
}

MXReturnValue parse_gradcancel(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    gradcancel_threshold(attrs);
    *num_in = 1;
    *num_out = 1;
  });
}

MXReturnValue infer_type(const AttrMap&, std::vector<int>* in, std::vector<int>* out) {
  return guarded([&] {
    check_input_type("det_sign/approx_sign/_contrib_gradcancel", *in, 0, "data",
                     mxnet::ext::kFloat32, "float32");
    (*out)[0] = mxnet::ext::kFloat32;
  });
}

MXReturnValue infer_shape(const AttrMap&, Shapes* in, Shapes* out) {
  (*out)[0] = (*in)[0];
  return MX_SUCCESS;
}

MXReturnValue sign(const AttrMap&, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                   const OpResource&) {
  sign_forward((*in)[0].data<float>(), (*in)[0].size(), (*out)[0].data<float>());
  return MX_SUCCESS;
}

MXReturnValue copy(const AttrMap&, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                   const OpResource&) {
  std::memcpy((*out)[0].data<float>(), (*in)[0].data<float>(),
              static_cast<size_t>((*in)[0].size()) * sizeof(float));
  return MX_SUCCESS;
}

// Backward inputs: [output gradient, data, output]; outputs: [data gradient].
MXReturnValue det_backward(const AttrMap&, std::vector<MXTensor>* in,
                           std::vector<MXTensor>* out, const OpResource&) {
  ste_sign_backward((*in)[0].data<float>(), (*in)[1].data<float>(), (*in)[1].size(), 0.0f,
                    (*out)[0].data<float>());
  return MX_SUCCESS;
}

MXReturnValue approx_backward(const AttrMap&, std::vector<MXTensor>* in,
                              std::vector<MXTensor>* out, const OpResource&) {
  approx_sign_backward((*in)[0].data<float>(), (*in)[1].data<float>(), (*in)[1].size(),
                       (*out)[0].data<float>());
  return MX_SUCCESS;
}

MXReturnValue gradcancel_backward(const AttrMap& attrs, std::vector<MXTensor>* in,
                                  std::vector<MXTensor>* out, const OpResource&) {
  return guarded([&] {
    ste_sign_backward((*in)[0].data<float>(), (*in)[1].data<float>(), (*in)[1].size(),
                      gradcancel_threshold(attrs), (*out)[0].data<float>());
  });
}

}  // namespace

REGISTER_OP(det_sign)
    .setParseAttrs(parse_det)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(sign, "cpu")
    .setBackward(det_backward, "cpu");

REGISTER_OP(approx_sign)
    .setParseAttrs(parse_approx)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(sign, "cpu")
    .setBackward(approx_backward, "cpu");

REGISTER_OP(_contrib_gradcancel)
    .setParseAttrs(parse_gradcancel)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(copy, "cpu")
    .setBackward(gradcancel_backward, "cpu");

}  // namespace bmx

// bmx_det_sign and bmx_approx_sign: forward sign, straight-through backward.
#include "../kernels/sign.h"
#include "op_common.h"

namespace bmx {
namespace {

MXReturnValue parse_det(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    Attrs a("bmx_det_sign", attrs, {"clip_threshold"});
    if (a.get_float("clip_threshold", 1.0f) < 0.0f) a.fail_attr("clip_threshold", "must be >= 0");
    *num_in = 1;
    *num_out = 1;
  });
}

MXReturnValue parse_approx(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    Attrs a("bmx_approx_sign", attrs, {});
    *num_in = 1;
    *num_out = 1;
  });
}

MXReturnValue infer_type(const AttrMap&, std::vector<int>* in, std::vector<int>* out) {
  return guarded([&] {
    check_input_type("bmx_det_sign/bmx_approx_sign", *in, 0, "data", mxnet::ext::kFloat32,
                     "float32");
    (*out)[0] = mxnet::ext::kFloat32;
  });
}

MXReturnValue infer_shape(const AttrMap&, Shapes* in, Shapes* out) {
  (*out)[0] = (*in)[0];
  return MX_SUCCESS;
}

MXReturnValue forward(const AttrMap&, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource&) {
  sign_forward((*in)[0].data<float>(), (*in)[0].size(), (*out)[0].data<float>());
  return MX_SUCCESS;
}

// Backward inputs: [output gradient, data, output]; outputs: [data gradient].
MXReturnValue det_backward(const AttrMap& attrs, std::vector<MXTensor>* in,
                           std::vector<MXTensor>* out, const OpResource&) {
  return guarded([&] {
    const float clip = Attrs("bmx_det_sign", attrs, {"clip_threshold"})
                           .get_float("clip_threshold", 1.0f);
    ste_sign_backward((*in)[0].data<float>(), (*in)[1].data<float>(), (*in)[1].size(), clip,
                      (*out)[0].data<float>());
  });
}

MXReturnValue approx_backward(const AttrMap&, std::vector<MXTensor>* in,
                              std::vector<MXTensor>* out, const OpResource&) {
  approx_sign_backward((*in)[0].data<float>(), (*in)[1].data<float>(), (*in)[1].size(),
                       (*out)[0].data<float>());
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(bmx_det_sign)
    .setParseAttrs(parse_det)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(forward, "cpu")
    .setBackward(det_backward, "cpu");

REGISTER_OP(bmx_approx_sign)
    .setParseAttrs(parse_approx)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(forward, "cpu")
    .setBackward(approx_backward, "cpu");

}  // namespace bmx

// The op factories, one family per file; registry.cc maps MXNet op names to them.
#pragma once

#include "../op.h"

namespace bmx {
namespace rt {

OpSpec make_binary_conv2d(PlanContext& ctx);       // binary_conv2d.cc
OpSpec make_binary_dense(PlanContext& ctx);        // binary_dense.cc
OpSpec make_v2_binary_inference_conv(PlanContext& ctx);   // v2_inference.cc
OpSpec make_v2_binary_inference_dense(PlanContext& ctx);
OpSpec make_det_sign(PlanContext& ctx);            // sign.cc
OpSpec make_approx_sign(PlanContext& ctx);
OpSpec make_convolution(PlanContext& ctx);         // convolution.cc
OpSpec make_fully_connected(PlanContext& ctx);     // fully_connected.cc
OpSpec make_pooling(PlanContext& ctx);             // pooling.cc
OpSpec make_batch_norm(PlanContext& ctx);          // batch_norm.cc
OpSpec make_activation(PlanContext& ctx);          // activation.cc
OpSpec make_relu(PlanContext& ctx);
OpSpec make_sigmoid(PlanContext& ctx);
OpSpec make_tanh(PlanContext& ctx);
OpSpec make_leaky_relu(PlanContext& ctx);
// Whether a relu or Activation node is a plain relu (OpTraits::is_relu).
bool is_plain_relu(const SymbolNode& node);
OpSpec make_scalar_op(PlanContext& ctx);           // scalar.cc
OpSpec make_clip(PlanContext& ctx);
OpSpec make_elementwise(PlanContext& ctx);         // elementwise.cc
OpSpec make_add_n(PlanContext& ctx);
OpSpec make_concat(PlanContext& ctx);              // concat.cc
OpSpec make_flatten(PlanContext& ctx);             // reshape.cc
OpSpec make_reshape(PlanContext& ctx);
OpSpec make_expand_dims(PlanContext& ctx);
OpSpec make_squeeze(PlanContext& ctx);
OpSpec make_identity(PlanContext& ctx);            // identity.cc
OpSpec make_softmax(PlanContext& ctx);             // softmax.cc
OpSpec make_softmax_activation(PlanContext& ctx);
OpSpec make_softmax_output(PlanContext& ctx);
OpSpec make_pad(PlanContext& ctx);                 // pad.cc
OpSpec make_slice_axis(PlanContext& ctx);          // slice.cc
OpSpec make_slice(PlanContext& ctx);
OpSpec make_reduce(PlanContext& ctx);              // reduce.cc
OpSpec make_transpose(PlanContext& ctx);           // transpose.cc
OpSpec make_swap_axis(PlanContext& ctx);
OpSpec make_abs(PlanContext& ctx);                 // math.cc

ConstantSpec make_full(PlanContext& ctx);          // constant.cc
ConstantSpec make_zeros(PlanContext& ctx);
ConstantSpec make_ones(PlanContext& ctx);

}  // namespace rt
}  // namespace bmx

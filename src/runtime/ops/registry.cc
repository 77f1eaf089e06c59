// MXNet op name -> factory and traits: every op the runtime computes (op.h, find_op), and the
// ops whose value the planner makes at load (find_constant_op).
#include <algorithm>
#include <map>

#include "ops.h"

namespace bmx {
namespace rt {
namespace {

// The layers that apply a relu read only by them (their float kernels fuse it).
OpInfo absorbs_relu(OpFactory make) {
  OpInfo info(make);
  info.traits.absorbs_relu = true;
  return info;
}

// The ops whose node may be a plain relu (is_plain_relu, activation.cc).
OpInfo relu_op(OpFactory make) {
  OpInfo info(make);
  info.traits.is_relu = is_plain_relu;
  return info;
}

// The ops whose input `label` is a label, absent at inference.
OpInfo with_label(OpFactory make, int label) {
  OpInfo info(make);
  info.traits.label_input = label;
  return info;
}

const std::map<std::string, OpInfo>& table() {
  static const std::map<std::string, OpInfo> ops = {
      {"bmx_binary_conv2d", make_binary_conv2d},
      {"bmx_binary_dense", make_binary_dense},
      {"BinaryInferenceConvolution", make_v2_binary_inference_conv},
      {"BinaryInferenceFullyConnected", make_v2_binary_inference_dense},
      {"bmx_det_sign", make_det_sign},
      {"bmx_approx_sign", make_approx_sign},
      {"Convolution", absorbs_relu(make_convolution)},
      {"FullyConnected", absorbs_relu(make_fully_connected)},
      {"Pooling", make_pooling},
      {"BatchNorm", make_batch_norm},
      {"Activation", relu_op(make_activation)},
      {"relu", relu_op(make_relu)},
      {"sigmoid", make_sigmoid},
      {"tanh", make_tanh},
      {"LeakyReLU", make_leaky_relu},
      {"clip", make_clip},
      {"abs", make_abs},
      {"_plus_scalar", make_scalar_op}, {"_PlusScalar", make_scalar_op},
      {"_minus_scalar", make_scalar_op}, {"_MinusScalar", make_scalar_op},
      {"_rminus_scalar", make_scalar_op}, {"_RMinusScalar", make_scalar_op},
      {"_mul_scalar", make_scalar_op}, {"_MulScalar", make_scalar_op},
      {"_div_scalar", make_scalar_op}, {"_DivScalar", make_scalar_op},
      {"_rdiv_scalar", make_scalar_op}, {"_RDivScalar", make_scalar_op},
      {"_maximum_scalar", make_scalar_op}, {"_MaximumScalar", make_scalar_op},
      {"_minimum_scalar", make_scalar_op}, {"_MinimumScalar", make_scalar_op},
      {"_power_scalar", make_scalar_op}, {"_PowerScalar", make_scalar_op},
      {"elemwise_add", make_elementwise}, {"_plus", make_elementwise},
      {"_Plus", make_elementwise}, {"_add", make_elementwise},
      {"elemwise_sub", make_elementwise}, {"_minus", make_elementwise},
      {"_Minus", make_elementwise}, {"_sub", make_elementwise},
      {"elemwise_mul", make_elementwise}, {"_mul", make_elementwise}, {"_Mul", make_elementwise},
      {"elemwise_div", make_elementwise}, {"_div", make_elementwise}, {"_Div", make_elementwise},
      {"_maximum", make_elementwise}, {"_Maximum", make_elementwise},
      {"_minimum", make_elementwise}, {"_Minimum", make_elementwise},
      {"_power", make_elementwise}, {"_Power", make_elementwise},
      {"broadcast_add", make_elementwise}, {"broadcast_plus", make_elementwise},
      {"broadcast_sub", make_elementwise}, {"broadcast_minus", make_elementwise},
      {"broadcast_mul", make_elementwise}, {"broadcast_div", make_elementwise},
      {"broadcast_maximum", make_elementwise}, {"broadcast_minimum", make_elementwise},
      {"broadcast_power", make_elementwise},
      {"add_n", make_add_n}, {"ElementWiseSum", make_add_n},
      {"Concat", make_concat}, {"concat", make_concat},
      {"Flatten", make_flatten}, {"flatten", make_flatten},
      {"Reshape", make_reshape}, {"reshape", make_reshape},
      {"expand_dims", make_expand_dims}, {"squeeze", make_squeeze},
      {"sum", make_reduce}, {"mean", make_reduce}, {"max", make_reduce}, {"min", make_reduce},
      {"transpose", make_transpose}, {"SwapAxis", make_swap_axis}, {"swapaxes", make_swap_axis},
      {"Dropout", make_identity}, {"identity", make_identity}, {"_copy", make_identity},
      {"BlockGrad", make_identity}, {"stop_gradient", make_identity},
      {"softmax", make_softmax}, {"log_softmax", make_softmax},
      {"SoftmaxActivation", make_softmax_activation},
      {"SoftmaxOutput", with_label(make_softmax_output, 1)},
      {"Softmax", with_label(make_softmax_output, 1)},
      {"Pad", make_pad}, {"pad", make_pad},
      {"slice_axis", make_slice_axis}, {"slice", make_slice}, {"crop", make_slice},
  };
  return ops;
}

const std::map<std::string, ConstantFactory>& constant_table() {
  static const std::map<std::string, ConstantFactory> ops = {
      {"_full", make_full}, {"_zeros", make_zeros}, {"_ones", make_ones},
  };
  return ops;
}

}  // namespace

const OpInfo* find_op(const std::string& op) {
  auto it = table().find(op);
  return it == table().end() ? nullptr : &it->second;
}

ConstantFactory find_constant_op(const std::string& op) {
  auto it = constant_table().find(op);
  return it == constant_table().end() ? nullptr : it->second;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const auto& kv : table()) names.push_back(kv.first);
  for (const auto& kv : constant_table()) names.push_back(kv.first);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rt
}  // namespace bmx

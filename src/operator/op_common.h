// Shared glue for the bmx_ ops: error reporting and shape/type checks. No data loops here.
#pragma once

#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "attrs.h"
#include "mxnet/lib_api.h"

namespace bmx {

using mxnet::ext::MX_FAIL;
using mxnet::ext::MX_SUCCESS;
using mxnet::ext::MXReturnValue;
using mxnet::ext::MXTensor;
using mxnet::ext::OpResource;
using Shapes = std::vector<std::vector<unsigned int>>;

// Runs `body`, turning any exception into MX_FAIL with its message for MXNet to raise.
template <typename Body>
MXReturnValue guarded(Body&& body) {
  try {
    body();
    return MX_SUCCESS;
  } catch (const std::exception& e) {
    MX_ERROR_MSG << e.what();
    return MX_FAIL;
  }
}

template <typename T>
std::string shape_str(const std::vector<T>& shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}

[[noreturn]] inline void fail(const char* op, const std::string& what) {
  throw AttrError(std::string(op) + ": " + what);
}

inline void check_input_type(const char* op, const std::vector<int>& types, size_t index,
                             const char* name, int expected, const char* expected_name) {
  if (types[index] != -1 && types[index] != expected) {
    fail(op, std::string("input '") + name + "' must be " + expected_name);
  }
}

inline void check_shape(const char* op, const char* name, const std::vector<unsigned int>& got,
                        const std::vector<unsigned int>& expected) {
  if (got != expected) {
    fail(op, std::string("input '") + name + "' has shape " + shape_str(got) + ", expected " +
                 shape_str(expected));
  }
}

// The input types of a binary layer (layer_attrs.h): float32 data, packed int32 weights,
// then float32 scale and bias where its attributes ask for them.
template <class LayerAttrs>
void check_binary_layer_types(const char* op, const std::vector<int>& types,
                              const LayerAttrs& p) {
  check_input_type(op, types, 0, "data", mxnet::ext::kFloat32, "float32");
  check_input_type(op, types, 1, "weight", mxnet::ext::kInt32,
                   "int32 (packed by model-converter)");
  if (p.use_scale) check_input_type(op, types, p.scale_index(), "scale", mxnet::ext::kFloat32, "float32");
  if (!p.no_bias) check_input_type(op, types, p.bias_index(), "bias", mxnet::ext::kFloat32, "float32");
}

// ParseAttrs of an op whose attributes Parse reads: its input count, one output.
template <class LayerAttrs, LayerAttrs (*Parse)(const AttrMap&)>
MXReturnValue parse_layer_inputs(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    *num_in = Parse(attrs).num_inputs();
    *num_out = 1;
  });
}

// Backward of the inference ops (bmx_binary_conv2d, bmx_binary_dense). MXNet builds a gradient
// graph for every imported model, even with grad_req='null', so a backward must be registered;
// it is never run unless someone trains a converted model, which is an error.
template <const char* const* Op>
MXReturnValue inference_only_backward(const AttrMap&, std::vector<MXTensor>*,
                                      std::vector<MXTensor>*, const OpResource&) {
  MX_ERROR_MSG << *Op << " is an inference op of converted models and has no gradient; "
               << "train the float model (bmxnet.nn layers) and convert it again";
  return MX_FAIL;
}

}  // namespace bmx

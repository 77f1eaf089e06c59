// bmx_bitpack: float (..., C) -> int32 (..., ceil(C/32)), packing signs of the last axis.
#include "../kernels/bitpack.h"
#include "op_common.h"

namespace bmx {
namespace {

constexpr const char* kOp = "bmx_bitpack";

MXReturnValue parse(const AttrMap& attrs, int* num_in, int* num_out) {
  return guarded([&] {
    Attrs(kOp, attrs, {});
    *num_in = 1;
    *num_out = 1;
  });
}

MXReturnValue infer_type(const AttrMap&, std::vector<int>* in, std::vector<int>* out) {
  return guarded([&] {
    check_input_type(kOp, *in, 0, "data", mxnet::ext::kFloat32, "float32");
    (*out)[0] = mxnet::ext::kInt32;
  });
}

MXReturnValue infer_shape(const AttrMap&, Shapes* in, Shapes* out) {
  return guarded([&] {
    const auto& shape = (*in)[0];
    if (shape.empty()) fail(kOp, "input 'data' must have at least one axis");
    (*out)[0] = shape;
    (*out)[0].back() = static_cast<unsigned int>(packed_words(shape.back()));
  });
}

MXReturnValue forward(const AttrMap&, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource&) {
  MXTensor& x = (*in)[0];
  const int64_t n = x.shape.back();
  pack_signs(x.data<float>(), n == 0 ? 0 : x.size() / n, n, (*out)[0].data<uint32_t>());
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(bmx_bitpack)
    .setParseAttrs(parse)
    .setInferType(infer_type)
    .setInferShape(infer_shape)
    .setForward(forward, "cpu");

}  // namespace bmx

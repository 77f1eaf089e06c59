// The attributes of BMXNet v2's packed inference ops, BinaryInferenceConvolution and
// BinaryInferenceFullyConnected (the fork's model-converter writes them; v2_packed_weights.h
// has their weight layout), as the op library (src/operator/v2_inference_ops.cc) and the
// runtime read them: their names, defaults and the values v2 accepts. Header only.
//
// What the fork's ops compute: the input binarized (x >= 0 -> +1, else -1), zero padding
// binarized too (so the border is +1), an xnor-popcount against the packed weights, and the
// count of agreeing bits as the float output: (h + K) / 2 for the +-1 dot product h over K
// weights per output (convolution: C * kh * kw, padding included; dense: the inputs). Both take
// a bias input when no_bias=False but never add it, so bmxnet refuses no_bias=False rather
// than compute something else; the fork's converter never writes it.
#pragma once

#include <cstdint>
#include <string>

#include "layer_attrs.h"

namespace bmx {

// Their attributes (each reader lists them, as for the bmx_ ops):
//   BinaryInferenceConvolution: kernel, stride, dilate, pad, num_filter, num_group, workspace,
//                               no_bias, layout
//   BinaryInferenceFullyConnected: num_hidden, no_bias, flatten

template <class A>
void check_v2_no_bias(const A& a) {
  if (!a.get_bool("no_bias", true)) {
    a.fail_attr("no_bias", "must be True: BMXNet v2's op takes a bias input but never adds it, "
                           "so its output would differ; add the bias after the layer instead");
  }
}

// 2-D NCHW geometry; one group (v2's packed weights have none).
template <class A>
ConvAttrs read_v2_inference_conv_attrs(const A& a) {
  const ConvAttrs c = read_conv_attrs(a);
  if (c.groups != 1) {
    a.fail_attr("num_group", "must be 1: BMXNet v2's packed weights have no groups");
  }
  check_v2_no_bias(a);
  return c;
}

struct V2InferenceDenseAttrs {
  int64_t num_hidden = 0;
  bool flatten = true;  // v2's op collapses all axes after the first whatever this says
};

template <class A>
V2InferenceDenseAttrs read_v2_inference_dense_attrs(const A& a) {
  V2InferenceDenseAttrs p;
  p.num_hidden = read_num_hidden(a);
  p.flatten = a.get_bool("flatten", true);
  check_v2_no_bias(a);
  return p;
}

// The binary convolution v2's op computes on data of `in_channels` x in_h x in_w: the
// geometry of `c`, its zero padding binarized as +1.
inline BConv2DShape v2_inference_conv_shape(const ConvAttrs& c, int64_t batch,
                                            int64_t in_channels, int64_t in_h, int64_t in_w) {
  BConv2DShape s;
  set_geometry(c, &s);
  s.batch = batch, s.in_channels = in_channels, s.in_h = in_h, s.in_w = in_w;
  s.pad_value = 1;
  return s;
}

// v2's output, the count (h + K) / 2, as the binary kernels' output transform h * scale + bias:
// scale 1/2 and bias K / 2 for every output channel (exact in float32 for K < 2^24).
constexpr float kV2CountScale = 0.5f;
inline float v2_count_bias(int64_t k) { return static_cast<float>(k) * 0.5f; }

}  // namespace bmx

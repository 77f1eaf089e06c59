// The attributes of MXNet's Convolution geometry and of bmx_binary_conv2d and bmx_binary_dense
// (DESIGN.md 3) as their readers take them, the MXNet op library (src/operator) and the runtime
// (src/runtime/ops): one place for their names, defaults, valid values and the inputs they
// imply. `A` is either side's AttrReader (attr_text.h), which words the errors. Header only.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "bconv2d.h"

namespace bmx {

// The largest kernel, stride, dilation, padding, filter or group count accepted: a malformed
// graph must not make a reader plan absurd sizes.
constexpr int64_t kMaxConvAttr = int64_t{1} << 24;
// The largest num_hidden of a dense layer.
constexpr int64_t kMaxHidden = int64_t{1} << 30;

// Inputs: data, weight[, scale][, bias][, residual].
struct BinaryConvAttrs {
  BConv2DShape shape;  // all but the batch and input dimensions, which come from the data
  bool use_scale = false, no_bias = false, add_residual = false;
  int num_inputs() const { return 2 + use_scale + !no_bias + add_residual; }
  int scale_index() const { return 2; }
  int bias_index() const { return 2 + use_scale; }
  int residual_index() const { return 2 + use_scale + !no_bias; }
};

// Fails on attribute `key` unless every value lies in [low, kMaxConvAttr].
template <class A, class Values>
void check_attr_range(const A& a, const char* key, const Values& values, int64_t low) {
  for (int64_t v : values) {
    if (v < low || v > kMaxConvAttr) {
      a.fail_attr(key, std::string(low == 0 ? "must be non-negative" : "must be positive") +
                           " and at most " + std::to_string(kMaxConvAttr) + ", got " +
                           std::to_string(v));
    }
  }
}

// A 2-D convolution's geometry: kernel (required), stride, dilate, pad, num_filter, num_group,
// layout (NCHW only).
struct ConvAttrs {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilate_h = 1, dilate_w = 1;
  int64_t pad_h = 0, pad_w = 0, num_filter = 1, groups = 1;
};

template <class A>
ConvAttrs read_conv_attrs(const A& a) {
  ConvAttrs c;
  const auto kernel = a.get_tuple("kernel", 2);
  const auto stride = a.get_tuple("stride", 2, 1);
  const auto dilate = a.get_tuple("dilate", 2, 1);
  const auto pad = a.get_tuple("pad", 2, 0);
  c.kernel_h = kernel[0], c.kernel_w = kernel[1];
  c.stride_h = stride[0], c.stride_w = stride[1];
  c.dilate_h = dilate[0], c.dilate_w = dilate[1];
  c.pad_h = pad[0], c.pad_w = pad[1];
  c.num_filter = a.get_int("num_filter");
  c.groups = a.get_int("num_group", 1);
  check_attr_range(a, "kernel", kernel, 1);
  check_attr_range(a, "stride", stride, 1);
  check_attr_range(a, "dilate", dilate, 1);
  check_attr_range(a, "pad", pad, 0);
  check_attr_range(a, "num_filter", std::initializer_list<int64_t>{c.num_filter}, 1);
  check_attr_range(a, "num_group", std::initializer_list<int64_t>{c.groups}, 1);
  if (c.num_filter % c.groups) a.fail_attr("num_group", "must divide num_filter");
  const std::string layout = a.get_string("layout", "NCHW");
  if (layout != "NCHW" && layout != "None") {
    a.fail_attr("layout", "must be NCHW, got '" + layout + "'");
  }
  return c;
}

// Sets the geometry fields of a convolution's parameters (BConv2DShape, the runtime's
// Conv2DParams: the same field names).
template <class Params>
void set_geometry(const ConvAttrs& c, Params* s) {
  s->kernel_h = c.kernel_h, s->kernel_w = c.kernel_w;
  s->stride_h = c.stride_h, s->stride_w = c.stride_w;
  s->dilate_h = c.dilate_h, s->dilate_w = c.dilate_w;
  s->pad_h = c.pad_h, s->pad_w = c.pad_w;
  s->out_channels = c.num_filter;
  s->groups = c.groups;
}

template <class A>
BinaryConvAttrs read_binary_conv_attrs(const A& a) {
  BinaryConvAttrs p;
  BConv2DShape& s = p.shape;
  set_geometry(read_conv_attrs(a), &s);
  const int64_t pad_value = a.get_int("pad_value", -1);
  if (pad_value < -1 || pad_value > 1) a.fail_attr("pad_value", "must be -1, 0 or 1");
  s.pad_value = static_cast<int>(pad_value);
  p.use_scale = a.get_bool("use_scale", false);
  p.no_bias = a.get_bool("no_bias", false);
  p.add_residual = a.get_bool("add_residual", false);
  return p;
}

// Inputs: data, weight[, scale][, bias].
struct BinaryDenseAttrs {
  int64_t num_hidden = 0;
  bool use_scale = false, no_bias = false, flatten = true;
  int num_inputs() const { return 2 + use_scale + !no_bias; }
  int scale_index() const { return 2; }
  int bias_index() const { return 2 + use_scale; }
};

// A dense layer's num_hidden, checked: 1..kMaxHidden.
template <class A>
int64_t read_num_hidden(const A& a) {
  const int64_t num_hidden = a.get_int("num_hidden");
  if (num_hidden < 1 || num_hidden > kMaxHidden) {
    a.fail_attr("num_hidden", "must be positive and at most " + std::to_string(kMaxHidden) +
                                  ", got " + std::to_string(num_hidden));
  }
  return num_hidden;
}

template <class A>
BinaryDenseAttrs read_binary_dense_attrs(const A& a) {
  BinaryDenseAttrs p;
  p.num_hidden = read_num_hidden(a);
  p.use_scale = a.get_bool("use_scale", false);
  p.no_bias = a.get_bool("no_bias", false);
  p.flatten = a.get_bool("flatten", true);
  return p;
}

}  // namespace bmx

// The attributes of bmx_binary_conv2d and bmx_binary_dense (DESIGN.md 3) as both of their
// readers take them, the MXNet op library (src/operator) and the runtime (src/runtime/ops): one
// place for their names, defaults, valid values and the inputs they imply. `A` is either side's
// AttrReader (attr_text.h), which words the errors. Header only.
#pragma once

#include <cstdint>
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

template <class A>
BinaryConvAttrs read_binary_conv_attrs(const A& a) {
  BinaryConvAttrs p;
  BConv2DShape& s = p.shape;
  const auto kernel = a.get_tuple("kernel", 2);
  const auto stride = a.get_tuple("stride", 2, 1);
  const auto dilate = a.get_tuple("dilate", 2, 1);
  const auto pad = a.get_tuple("pad", 2, 0);
  s.kernel_h = kernel[0], s.kernel_w = kernel[1];
  s.stride_h = stride[0], s.stride_w = stride[1];
  s.dilate_h = dilate[0], s.dilate_w = dilate[1];
  s.pad_h = pad[0], s.pad_w = pad[1];
  s.out_channels = a.get_int("num_filter");
  s.groups = a.get_int("num_group", 1);
  const auto check = [&a](const char* key, int64_t v, int64_t low) {
    if (v < low || v > kMaxConvAttr) {
      a.fail_attr(key, std::string(low == 0 ? "must be non-negative" : "must be positive") +
                           " and at most " + std::to_string(kMaxConvAttr) + ", got " +
                           std::to_string(v));
    }
  };
  for (int64_t v : kernel) check("kernel", v, 1);
  for (int64_t v : stride) check("stride", v, 1);
  for (int64_t v : dilate) check("dilate", v, 1);
  for (int64_t v : pad) check("pad", v, 0);
  check("num_filter", s.out_channels, 1);
  check("num_group", s.groups, 1);
  if (s.out_channels % s.groups) a.fail_attr("num_group", "must divide num_filter");
  const int64_t pad_value = a.get_int("pad_value", -1);
  if (pad_value < -1 || pad_value > 1) a.fail_attr("pad_value", "must be -1, 0 or 1");
  s.pad_value = static_cast<int>(pad_value);
  const std::string layout = a.get_string("layout", "NCHW");
  if (layout != "NCHW" && layout != "None") {
    a.fail_attr("layout", "must be NCHW, got '" + layout + "'");
  }
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

template <class A>
BinaryDenseAttrs read_binary_dense_attrs(const A& a) {
  BinaryDenseAttrs p;
  p.num_hidden = a.get_int("num_hidden");
  if (p.num_hidden < 1 || p.num_hidden > kMaxHidden) {
    a.fail_attr("num_hidden", "must be positive and at most " + std::to_string(kMaxHidden) +
                                  ", got " + std::to_string(p.num_hidden));
  }
  p.use_scale = a.get_bool("use_scale", false);
  p.no_bias = a.get_bool("no_bias", false);
  p.flatten = a.get_bool("flatten", true);
  return p;
}

}  // namespace bmx

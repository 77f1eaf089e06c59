// Binary 2-D convolution on sign-binarized NCHW or NHWC input and packed OHWI weights.
#pragma once

#include <cstdint>
#include <string>

namespace bmx {

// Memory layout of the float tensors of a convolution (input, output, residual). NHWC keeps a
// pixel's channels contiguous; with groups, group g holds channels [g*C/G, (g+1)*C/G) of
// every pixel.
enum class Layout { kNCHW, kNHWC };

struct BConv2DShape {
  int64_t batch = 1, in_channels = 1, in_h = 1, in_w = 1;
  int64_t out_channels = 1, kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilate_h = 1, dilate_w = 1;
  int64_t groups = 1;
  // Value of the padded border after binarization: -1, +1, or 0 (padded taps contribute 0).
  int pad_value = -1;
  Layout layout = Layout::kNCHW;

  int64_t out_h() const { return (in_h + 2 * pad_h - dilate_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (in_w + 2 * pad_w - dilate_w * (kernel_w - 1) - 1) / stride_w + 1; }
  int64_t group_in_channels() const { return in_channels / groups; }
  int64_t group_out_channels() const { return out_channels / groups; }
  int64_t words() const;  // packed words per (kh, kw) tap: words(in_channels / groups)
  // Empty when the shape is valid, else a sentence describing what is wrong.
  std::string validate() const;
};

// Binarize float input into packed words laid out (N, G, H, W, words), whatever the float
// layout: pack_input_nchw and pack_input_nhwc read that layout (ignoring s.layout),
// pack_input reads s.layout.
void pack_input_nchw(const BConv2DShape& s, const float* x, uint32_t* packed);
void pack_input_nhwc(const BConv2DShape& s, const float* x, uint32_t* packed);
void pack_input(const BConv2DShape& s, const float* x, uint32_t* packed);

// Reference convolution: out[n, o, y, x] = scale[o] * dot + bias[o] (float, in s.layout),
// where dot is the ±1 dot product over the receptive field, then + residual[n, o, y, x]
// (in s.layout; rounded to float after the bias, as an elementwise add after the layer would).
// scale, bias and residual may be null. weights: (out_channels, kernel_h, kernel_w, words) packed.
void bconv2d_ref(const BConv2DShape& s, const uint32_t* packed_input, const uint32_t* weights,
                 const float* scale, const float* bias, const float* residual, float* out);

}  // namespace bmx

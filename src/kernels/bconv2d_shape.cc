// BConv2DShape: derived sizes and validation.
#include <string>

#include "bconv2d.h"
#include "bitpack.h"

namespace bmx {

int64_t BConv2DShape::words() const { return packed_words(group_in_channels()); }

// (Plain string concatenation, not a stream: a stream's locale set-up alone touches a few
// hundred KB of the C++ library's code in a process that otherwise never uses one.)
std::string BConv2DShape::validate() const {
  using std::to_string;
  if (batch < 0 || in_channels < 1 || in_h < 1 || in_w < 1 || out_channels < 1) {
    return "input and output must have at least one channel and one pixel";
  }
  if (kernel_h < 1 || kernel_w < 1 || stride_h < 1 || stride_w < 1 || dilate_h < 1 ||
      dilate_w < 1 || pad_h < 0 || pad_w < 0) {
    return "kernel, stride and dilate must be positive and pad non-negative";
  }
  if (groups < 1 || in_channels % groups != 0 || out_channels % groups != 0) {
    return "num_group=" + to_string(groups) + " must divide both the input channels (" +
           to_string(in_channels) + ") and num_filter (" + to_string(out_channels) + ")";
  }
  if (pad_value != -1 && pad_value != 0 && pad_value != 1) {
    return "pad_value must be -1, 0 or 1, got " + to_string(pad_value);
  }
  if (in_h + 2 * pad_h < dilate_h * (kernel_h - 1) + 1 ||
      in_w + 2 * pad_w < dilate_w * (kernel_w - 1) + 1) {
    // Not out_h() < 1: the division rounds a small overshoot up to 0 when stride > 1.
    return "the dilated kernel (" + to_string(dilate_h * (kernel_h - 1) + 1) + "x" +
           to_string(dilate_w * (kernel_w - 1) + 1) + ") is larger than the padded input (" +
           to_string(in_h + 2 * pad_h) + "x" + to_string(in_w + 2 * pad_w) + ")";
  }
  return {};
}

}  // namespace bmx

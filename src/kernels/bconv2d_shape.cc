// BConv2DShape: derived sizes and validation.
#include <sstream>

#include "bconv2d.h"
#include "bitpack.h"

namespace bmx {

int64_t BConv2DShape::words() const { return packed_words(group_in_channels()); }

std::string BConv2DShape::validate() const {
  std::ostringstream err;
  if (batch < 0 || in_channels < 1 || in_h < 1 || in_w < 1 || out_channels < 1) {
    err << "input and output must have at least one channel and one pixel";
  } else if (kernel_h < 1 || kernel_w < 1 || stride_h < 1 || stride_w < 1 || dilate_h < 1 ||
             dilate_w < 1 || pad_h < 0 || pad_w < 0) {
    err << "kernel, stride and dilate must be positive and pad non-negative";
  } else if (groups < 1 || in_channels % groups != 0 || out_channels % groups != 0) {
    err << "num_group=" << groups << " must divide both the input channels (" << in_channels
        << ") and num_filter (" << out_channels << ")";
  } else if (pad_value != -1 && pad_value != 0 && pad_value != 1) {
    err << "pad_value must be -1, 0 or 1, got " << pad_value;
  } else if (in_h + 2 * pad_h < dilate_h * (kernel_h - 1) + 1 ||
             in_w + 2 * pad_w < dilate_w * (kernel_w - 1) + 1) {
    // Not out_h() < 1: the division rounds a small overshoot up to 0 when stride > 1.
    err << "the dilated kernel (" << dilate_h * (kernel_h - 1) + 1 << "x"
        << dilate_w * (kernel_w - 1) + 1 << ") is larger than the padded input ("
        << in_h + 2 * pad_h << "x" << in_w + 2 * pad_w << ")";
  }
  return err.str();
}

}  // namespace bmx

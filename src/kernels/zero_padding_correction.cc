#include "zero_padding_correction.h"

namespace bmx {

ZeroPaddingCorrection::ZeroPaddingCorrection(const BConv2DShape& s,
                                             AlignedBuffer<uint8_t>* storage)
    : s_(s), active_(s.pad_value == 0 && (s.pad_h > 0 || s.pad_w > 0)) {
  const int64_t OH = s.out_h(), OW = s.out_w();
  at_border_ = storage->reserve(active_ ? OH * OW : 0);
  if (!active_) return;
  for (int64_t oy = 0, p = 0; oy < OH; ++oy) {
    const int64_t iy = oy * s.stride_h - s.pad_h;
    const bool y_in = iy >= 0 && iy + (s.kernel_h - 1) * s.dilate_h < s.in_h;
    for (int64_t ox = 0; ox < OW; ++ox, ++p) {
      const int64_t ix = ox * s.stride_w - s.pad_w;
      at_border_[p] = !(y_in && ix >= 0 && ix + (s.kernel_w - 1) * s.dilate_w < s.in_w);
    }
  }
}

void ZeroPaddingCorrection::add(int64_t p, const int32_t* tap_sums, int nr, int32_t* corr) const {
  const int64_t oy = p / s_.out_w(), ox = p % s_.out_w();
  const int64_t iy = oy * s_.stride_h - s_.pad_h, ix = ox * s_.stride_w - s_.pad_w;
  for (int64_t ky = 0; ky < s_.kernel_h; ++ky) {
    const int64_t yy = iy + ky * s_.dilate_h;
    const bool row_out = yy < 0 || yy >= s_.in_h;
    for (int64_t kx = 0; kx < s_.kernel_w; ++kx) {
      const int64_t xx = ix + kx * s_.dilate_w;
      if (!row_out && xx >= 0 && xx < s_.in_w) continue;
      const int32_t* st = tap_sums + (ky * s_.kernel_w + kx) * nr;
      for (int j = 0; j < nr; ++j) corr[j] += st[j];
    }
  }
}

}  // namespace bmx

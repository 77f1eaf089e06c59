// Exact pad_value = 0 for the fast convolution (as Larq Compute Engine's
// zero_padding_correction.h).
//
// The packed image holds +1 (bits 0) in its padding, so a tap that falls into the padding adds
// that tap's weight sum (bits - 2 * popcount(w), PackedWeights::tap_sums) to the dot product,
// where zero padding adds nothing. For every output pixel whose receptive field reaches into
// the padding, the correction is the sum of the tap sums of its padded taps; the tile
// subtracts it in its epilogue (TileArgs::corr).
#pragma once

#include <cstdint>

#include "bconv2d.h"
#include "fast_kernels.h"

namespace bmx {

class ZeroPaddingCorrection {
 public:
  // Needed only for pad_value 0 with padding; `storage` keeps one flag per output pixel.
  ZeroPaddingCorrection(const BConv2DShape& s, AlignedBuffer<uint8_t>* storage);

  bool active() const { return active_; }
  // Whether output pixel p (oy * out_w + ox) reaches into the padding (only when active()).
  bool at_border(int64_t p) const { return active_ && at_border_[p]; }
  // corr[j] += the tap sums tap_sums[tap * nr + j] of the taps of output pixel p that fall
  // into the padding, for j < nr.
  void add(int64_t p, const int32_t* tap_sums, int nr, int32_t* corr) const;

 private:
  BConv2DShape s_;
  bool active_;
  uint8_t* at_border_ = nullptr;
};

}  // namespace bmx

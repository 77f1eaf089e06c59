#include "conv_activation_packing.h"

#include <algorithm>
#include <cstring>

#include "bitpack.h"

namespace bmx {

ConvActivationPacking::ConvActivationPacking(const BConv2DShape& s, const MicroKernels& mk,
                                             int64_t steps, int threads, Workspace* ws)
    : s_(s), mk_(mk), nhwc_(s.layout == Layout::kNHWC) {
  cg_ = s.group_in_channels();
  words_ = s.words();
  steps_ = steps;
  pixel_u64_ = steps * (mk.split ? 2 : 1);
  padded_h_ = s.in_h + 2 * s.pad_h;
  padded_w_ = s.in_w + 2 * s.pad_w;
  image_u64_ = padded_h_ * padded_w_ * pixel_u64_;
  images_ = s.batch * s.groups;

  // Pad element: -1 sets the bits of every real channel; +1 and 0 clear them (pad_value 0 is
  // then made exact by the zero-padding correction).
  uint64_t* pad = ws->pad_elem.reserve(pixel_u64_);
  std::fill(pad, pad + pixel_u64_, uint64_t{0});
  if (s.pad_value == -1) {
    uint32_t* ones = ws->pad_words.reserve(words_);
    std::fill(ones, ones + words_, 0xFFFFFFFFu);
    ones[words_ - 1] = tail_mask(cg_);
    put_row(ones, words_, steps_, mk.split, pad);
  }
  pad_elem_ = pad;

  // Tasks: blocks of padded rows of one image, about 4096 pixels. With threads, an image is
  // split into about two tasks per thread (not below ~512 pixels a task: smaller ones fall off
  // the fast packing path), so that no thread waits while another packs the first image alone,
  // and later images are packed by several threads at once.
  const int64_t W = std::max<int64_t>(1, s.in_w);
  row_block_ = std::max<int64_t>(1, 4096 / W);
  if (threads > 1) {
    const int64_t min_rows = (512 + W - 1) / W;
    const int64_t two_per_thread = (padded_h_ + 2 * threads - 1) / (2 * threads);
    row_block_ = std::max(min_rows, std::min(row_block_, two_per_thread));
  }
  tasks_ = (padded_h_ + row_block_ - 1) / row_block_;
  scratch_words_ = row_block_ * s.in_w * words_;

  const int64_t floats = (nhwc_ ? s.in_channels : cg_) * s.in_h * s.in_w;
  prefetch_lines_ = (floats * static_cast<int64_t>(sizeof(float)) + 63) / 64;
}

const float* ConvActivationPacking::image_input(const float* x, int64_t n, int64_t g) const {
  const int64_t plane = s_.in_h * s_.in_w;
  return nhwc_ ? x + n * plane * s_.in_channels + g * cg_
               : x + (n * s_.in_channels + g * cg_) * plane;
}

const char* ConvActivationPacking::prefetch_start(const float* x, int64_t im) const {
  const int64_t n = im / s_.groups, g = im % s_.groups;
  if (nhwc_ && g != 0) return nullptr;
  return reinterpret_cast<const char*>(image_input(x, n, g));
}

void ConvActivationPacking::binarize_rows(const float* src, int64_t iy0, int64_t iy1,
                                          uint32_t* tmp) const {
  const int64_t W = s_.in_w, C = s_.in_channels;
  if (!nhwc_) {
    mk_.pack_planes(src, cg_, s_.in_h * W, iy0 * W, iy1 * W, tmp);
  } else if (s_.groups == 1) {  // the pixels of these rows are one run of floats
    mk_.pack_rows(src + iy0 * W * C, (iy1 - iy0) * W, C, tmp);
  } else {  // a group's channels are a run of cg floats in each pixel
    for (int64_t p = iy0 * W; p < iy1 * W; ++p) {
      mk_.pack_rows(src + p * C, 1, cg_, tmp + (p - iy0 * W) * words_);
    }
  }
}

void ConvActivationPacking::fill_pad(uint64_t* e, int64_t count) const {
  if (pixel_u64_ == 1) {
    std::fill(e, e + count, pad_elem_[0]);
  } else {
    for (int64_t i = 0; i < count; ++i) {
      std::memcpy(e + i * pixel_u64_, pad_elem_, sizeof(uint64_t) * pixel_u64_);
    }
  }
}

void ConvActivationPacking::pack(const float* x, int64_t im, int64_t task, uint32_t* tmp,
                                 uint64_t* act) const {
  const int64_t H = s_.in_h, W = s_.in_w, pix = pixel_u64_;
  uint64_t* dst = act + im * image_u64_;
  const int64_t y0 = task * row_block_, y1 = std::min(padded_h_, y0 + row_block_);
  // Interior rows of this block: [iy0, iy1) in input coordinates.
  const int64_t iy0 = std::max<int64_t>(y0 - s_.pad_h, 0);
  const int64_t iy1 = std::min<int64_t>(y1 - s_.pad_h, H);
  if (iy0 < iy1) binarize_rows(image_input(x, im / s_.groups, im % s_.groups), iy0, iy1, tmp);
  // Plain layout with an even word count: a pixel's steps are its words, byte for byte.
  const bool copy_rows = !mk_.split && words_ % 2 == 0;
  for (int64_t yp = y0; yp < y1; ++yp) {
    uint64_t* row = dst + yp * padded_w_ * pix;
    const int64_t iy = yp - s_.pad_h;
    if (iy < 0 || iy >= H) {
      fill_pad(row, padded_w_);
      continue;
    }
    fill_pad(row, s_.pad_w);
    fill_pad(row + (s_.pad_w + W) * pix, padded_w_ - s_.pad_w - W);
    const uint32_t* src_row = tmp + (iy - iy0) * W * words_;
    uint64_t* e = row + s_.pad_w * pix;
    if (copy_rows) {
      std::memcpy(e, src_row, sizeof(uint32_t) * W * words_);
    } else {
      for (int64_t ix = 0; ix < W; ++ix) {
        put_row(src_row + ix * words_, words_, steps_, mk_.split, e + ix * pix);
      }
    }
  }
}

void ConvActivationPacking::tap_offsets(int64_t* off) const {
  for (int64_t ky = 0; ky < s_.kernel_h; ++ky) {
    for (int64_t kx = 0; kx < s_.kernel_w; ++kx) {
      off[ky * s_.kernel_w + kx] = (ky * s_.dilate_h * padded_w_ + kx * s_.dilate_w) * pixel_u64_;
    }
  }
}

void ConvActivationPacking::receptive_field_offsets(int64_t* offsets) const {
  const int64_t OH = s_.out_h(), OW = s_.out_w();
  for (int64_t oy = 0, p = 0; oy < OH; ++oy) {
    for (int64_t ox = 0; ox < OW; ++ox, ++p) {
      offsets[p] = (oy * s_.stride_h * padded_w_ + ox * s_.stride_w) * pixel_u64_;
    }
  }
}

}  // namespace bmx

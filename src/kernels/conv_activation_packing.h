// Activation packing of the fast convolution (indirect convolution, no im2col copy).
//
// Float input (NCHW or NHWC) is binarized and packed in one pass into one spatially padded
// image per (sample, group), in the microkernel's A layout (microkernel.h): pixel (y, x) of
// the padded image is one A row of `steps` elements. A tile then reads each output pixel's
// receptive field through per-tap offsets from where that field starts. Packing an image is
// split into tasks (blocks of padded rows) so that several threads can share it.
#pragma once

#include <cstdint>

#include "bconv2d.h"
#include "fast_kernels.h"
#include "microkernel.h"

namespace bmx {

class ConvActivationPacking {
 public:
  // `steps`: 64-bit steps per pixel (PackedWeights::steps()); `threads` sizes the tasks. The
  // padding pixel is kept in ws (pad_elem, pad_words), which must outlive this object.
  ConvActivationPacking(const BConv2DShape& s, const MicroKernels& mk, int64_t steps,
                        int threads, Workspace* ws);

  int64_t images() const { return images_; }      // (sample, group) pairs, sample-major
  int64_t image_u64() const { return image_u64_; }  // one padded image
  int64_t pixel_u64() const { return pixel_u64_; }  // one pixel: steps * (split ? 2 : 1)
  int64_t tasks_per_image() const { return tasks_; }
  int64_t scratch_words() const { return scratch_words_; }  // per concurrent pack() call

  // Binarizes, packs and pads task `task` of image `im` of input x into act + im * image_u64().
  // tmp: scratch_words() words of scratch.
  void pack(const float* x, int64_t im, int64_t task, uint32_t* tmp, uint64_t* act) const;

  // Offsets (in uint64) of each tap (ky * kernel_w + kx) from the start of a receptive field,
  // kernel_h * kernel_w of them.
  void tap_offsets(int64_t* offsets) const;
  // Offset (in uint64, within its image) where output pixel p's receptive field starts, for
  // every output pixel p = oy * out_w + ox.
  void receptive_field_offsets(int64_t* offsets) const;

  // The float input that image im reads, for prefetching: start and length in 64-byte lines.
  // Null when an earlier image's range already covers it (NHWC groups are interleaved, so a
  // sample's range is its first group's).
  const char* prefetch_start(const float* x, int64_t im) const;
  int64_t prefetch_lines() const { return prefetch_lines_; }

 private:
  const float* image_input(const float* x, int64_t n, int64_t g) const;
  // Binarizes input rows [iy0, iy1) of image (n, g) into plain packed words, a pixel's words
  // at tmp + ((iy - iy0) * in_w + ix) * words.
  void binarize_rows(const float* src, int64_t iy0, int64_t iy1, uint32_t* tmp) const;
  void fill_pad(uint64_t* e, int64_t count) const;

  BConv2DShape s_;
  const MicroKernels& mk_;
  bool nhwc_;
  int64_t cg_, words_, steps_, pixel_u64_, padded_h_, padded_w_, image_u64_, images_;
  int64_t row_block_, tasks_, scratch_words_, prefetch_lines_;
  const uint64_t* pad_elem_;  // one padding pixel in the A layout
};

}  // namespace bmx

// The reference convolution and its input packing: plain loops, the twin that every fast
// path is checked against bit for bit.
#include "bconv2d.h"

#include "bitpack.h"

namespace bmx {

void pack_input_nchw(const BConv2DShape& s, const float* x, uint32_t* packed) {
  const int64_t cg = s.group_in_channels(), words = s.words(), plane = s.in_h * s.in_w;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t g = 0; g < s.groups; ++g) {
      const float* src = x + (n * s.in_channels + g * cg) * plane;
      uint32_t* dst = packed + (n * s.groups + g) * plane * words;
      for (int64_t p = 0; p < plane; ++p) pack_signs_strided(src + p, cg, plane, dst + p * words);
    }
  }
}

void pack_input_nhwc(const BConv2DShape& s, const float* x, uint32_t* packed) {
  const int64_t cg = s.group_in_channels(), words = s.words(), plane = s.in_h * s.in_w;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t g = 0; g < s.groups; ++g) {
      const float* src = x + n * plane * s.in_channels + g * cg;
      uint32_t* dst = packed + (n * s.groups + g) * plane * words;
      for (int64_t p = 0; p < plane; ++p) {
        pack_signs_strided(src + p * s.in_channels, cg, 1, dst + p * words);
      }
    }
  }
}

void pack_input(const BConv2DShape& s, const float* x, uint32_t* packed) {
  if (s.layout == Layout::kNHWC) {
    pack_input_nhwc(s, x, packed);
  } else {
    pack_input_nchw(s, x, packed);
  }
}

void bconv2d_ref(const BConv2DShape& s, const uint32_t* packed_input, const uint32_t* weights,
                 const float* scale, const float* bias, const float* residual, float* out) {
  const int64_t cg = s.group_in_channels(), og = s.group_out_channels(), words = s.words();
  const int64_t oh = s.out_h(), ow = s.out_w(), plane = s.in_h * s.in_w;
  // A padded tap holds pad_value in every channel: all bits 1 for -1, all 0 for +1.
  auto pad_word = [&](int64_t i) -> uint32_t {
    if (s.pad_value != -1) return 0u;
    return i == words - 1 ? tail_mask(cg) : 0xFFFFFFFFu;
  };
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const int64_t g = o / og;
      const uint32_t* in = packed_input + (n * s.groups + g) * plane * words;
      const uint32_t* wo = weights + o * s.kernel_h * s.kernel_w * words;
      const float sc = scale ? scale[o] : 1.0f, b = bias ? bias[o] : 0.0f;
      // Where output (n, o, y, x) lives: at + y * row + x * col.
      const bool nhwc = s.layout == Layout::kNHWC;
      const int64_t at = nhwc ? n * oh * ow * s.out_channels + o : (n * s.out_channels + o) * oh * ow;
      const int64_t col = nhwc ? s.out_channels : 1, row = ow * col;
      float* dst = out + at;
      const float* res = residual ? residual + at : nullptr;
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          int64_t dot = 0;
          for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
            const int64_t iy = y * s.stride_h - s.pad_h + ky * s.dilate_h;
            for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
              const int64_t ix = x * s.stride_w - s.pad_w + kx * s.dilate_w;
              const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
              if (!inside && s.pad_value == 0) continue;  // zero padding adds nothing
              const uint32_t* a = inside ? in + (iy * s.in_w + ix) * words : nullptr;
              const uint32_t* w = wo + (ky * s.kernel_w + kx) * words;
              int64_t ones = 0;
              for (int64_t i = 0; i < words; ++i) {
                ones += __builtin_popcount((a ? a[i] : pad_word(i)) ^ w[i]);
              }
              dot += cg - 2 * ones;
            }
          }
          const float v = sc * static_cast<float>(dot) + b;
          const int64_t i = y * row + x * col;
          dst[i] = res ? v + res[i] : v;
        }
      }
    }
  }
}

}  // namespace bmx

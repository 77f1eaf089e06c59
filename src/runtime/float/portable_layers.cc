// The portable float layers (NHWC): convolution as im2col rows packed straight into the GEMM's
// blocks (portable_gemm.h), depthwise convolution directly (vectorised over channels), dense as
// one GEMM, pooling vectorised over channels. They compute what the reference loops compute,
// in another summation order.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <vector>

#include "float_backends.h"
#include "parallel.h"
#include "portable_gemm.h"

namespace bmx {
namespace rt {
namespace {

using portable::kNR;
using portable::PackedB;

// The GEMM's bias: `n` values from `bias` (null: none), zero-padded to whole panels.
std::vector<float> padded_bias(const float* bias, int64_t n) {
  if (bias == nullptr) return {};
  std::vector<float> v(static_cast<size_t>((n + kNR - 1) / kNR * kNR), 0.0f);
  std::copy(bias, bias + n, v.begin());
  return v;
}

// dst[0, len) = src[0, len) in 4-float moves, the last one overlapping the one before it
// instead of a scalar tail (a row span of the stem is 21 floats).
inline void copy_span(float* dst, const float* src, int64_t len) {
  if (len < 4) {
    for (int64_t i = 0; i < len; ++i) dst[i] = src[i];
    return;
  }
  int64_t i = 0;
  for (; i + 4 <= len; i += 4) std::memcpy(dst + i, src + i, 4 * sizeof(float));
  if (i < len) std::memcpy(dst + len - 4, src + len - 4, 4 * sizeof(float));
}

// im2col rows of one group: row m = output pixel (image, y, x); depth kk = tap * icg + c with
// tap = ky * kernel_w + kx, matching the OHWI weights; padded taps read as 0.
struct PackConvRows final : portable::PackA {
  const Conv2DParams* p;
  const float* in;
  int64_t channel0, icg, oh, ow;
  // Where the GEMM reads the receptive fields in place, one run of kernel_w * channels floats
  // per kernel row: a copy of the input with its padding written out, or the input itself when
  // it has no padding (padded_h x padded_w pixels). Null: im2col through pack().
  const float* padded = nullptr;
  int64_t padded_h = 0, padded_w = 0;

  bool rows_in_place(int64_t m0, int64_t mc, const float** row,
                     portable::RowRuns* runs) const override {
    if (padded == nullptr) return false;
    const Conv2DParams& q = *p;
    const int64_t c = q.in_channels, image = padded_h * padded_w * c;
    int64_t n = m0 / (oh * ow), y = m0 / ow % oh, x = m0 % ow;
    for (int64_t r = 0; r < mc; ++r) {
      row[r] = padded + n * image + (y * q.stride_h * padded_w + x * q.stride_w) * c;
      if (++x == ow) {
        x = 0;
        if (++y == oh) y = 0, ++n;
      }
    }
    *runs = portable::RowRuns{q.kernel_h, q.kernel_w * c, padded_w * c};
    return true;
  }

  const float* pack(int64_t m0, int64_t mc, int64_t k0, int64_t kc, float* buf,
                    int64_t* lda) const override {
    const Conv2DParams& q = *p;
    *lda = kc;
    const int64_t end = k0 + kc;
    const bool contiguous_taps = icg == q.in_channels && q.dilate_w == 1;
    // Where depth k0 lies: kk = tap * icg + c, tap = ky * kernel_w + kx (the same for every row).
    const int64_t c0 = k0 % icg, ky0 = k0 / icg / q.kernel_w, kx0 = k0 / icg % q.kernel_w;
    // Without groups and dilation, kernel row ky of a pixel whose receptive field lies inside
    // the image is one span of `row_len` floats: depth [ky * row_len, (ky + 1) * row_len).
    const int64_t row_len = q.kernel_w * icg, image_row = q.in_w * q.in_channels;
    const int64_t ky_first = k0 / row_len, off_first = k0 % row_len;
    // Row m0's output pixel (image n, y, x), then stepped along with the rows.
    int64_t n = m0 / (oh * ow), y = m0 / ow % oh, x = m0 % ow;
    for (int64_t r = 0; r < mc; ++r) {
      float* d = buf + r * kc - k0;  // d[kk], kk from k0
      const float* image = in + n * q.in_h * q.in_w * q.in_channels + channel0;
      const int64_t y0 = y * q.stride_h - q.pad_h, x0 = x * q.stride_w - q.pad_w;
      if (contiguous_taps && q.dilate_h == 1 && y0 >= 0 && y0 + q.kernel_h <= q.in_h &&
          x0 >= 0 && x0 + q.kernel_w <= q.in_w) {
        const float* src = image + (y0 * q.in_w + x0) * q.in_channels;
        int64_t ky = ky_first, off = off_first;
        for (int64_t kk = k0; kk < end; ++ky, off = 0) {
          const int64_t len = std::min(row_len - off, end - kk);
          copy_span(d + kk, src + ky * image_row + off, len);
          kk += len;
        }
      } else {
        pack_edge_row(d, image, y0, x0, c0, ky0, kx0, k0, end, contiguous_taps);
      }
      if (++x == ow) {
        x = 0;
        if (++y == oh) y = 0, ++n;
      }
    }
    return buf;
  }

  // One row whose receptive field crosses the padding: span by span, padded taps as 0.
  void pack_edge_row(float* d, const float* image, int64_t y0, int64_t x0, int64_t c0,
                     int64_t ky0, int64_t kx0, int64_t k0, int64_t end,
                     bool contiguous_taps) const {
    const Conv2DParams& q = *p;
    // Without groups and dilation, the in-bounds taps of one kernel row are one contiguous
    // span of the image.
    int64_t c = c0, ky = ky0, kx = kx0;
    for (int64_t kk = k0; kk < end;) {
      const int64_t iy = y0 + ky * q.dilate_h, ix = x0 + kx * q.dilate_w;
      int64_t len = std::min(icg - c, end - kk);
      if (iy >= 0 && iy < q.in_h && ix >= 0 && ix < q.in_w) {
        if (contiguous_taps) {
          const int64_t taps = std::min(q.kernel_w - kx, q.in_w - ix);
          len = std::min(taps * icg - c, end - kk);
        }
        copy_span(d + kk, image + (iy * q.in_w + ix) * q.in_channels + c, len);
      } else {
        std::fill(d + kk, d + kk + len, 0.0f);
      }
      kk += len;
      for (c += len; c >= icg; c -= icg)
        if (++kx == q.kernel_w) kx = 0, ++ky;
    }
  }
};

class ConvPortable final : public FloatLayer {
 public:
  ConvPortable(const Conv2DParams& p, const float* weight, const float* bias) : p_(p) {
    icg_ = p.in_channels / p.groups;
    ocg_ = p.out_channels / p.groups;
    const int64_t taps = p.kernel_h * p.kernel_w, k = taps * icg_;
    // OIHW -> OHWI: one GEMM column per output channel, depth in im2col order.
    std::vector<float> ohwi(static_cast<size_t>(p.out_channels * k));
    for (int64_t o = 0; o < p.out_channels; ++o)
      for (int64_t c = 0; c < icg_; ++c)
        for (int64_t t = 0; t < taps; ++t)
          ohwi[o * k + t * icg_ + c] = weight[(o * icg_ + c) * taps + t];
    pointwise_ = p.groups == 1 && p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 &&
                 p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
    // A shallow receptive field (the stem's 7x7x3, LeNet's 5x5x1, a 1x1/2 projection) is read
    // in place: from the input itself without padding, else from a padded copy of it whose
    // border is written once, in prepare(). No im2col at all.
    in_place_ = !pointwise_ && p.groups == 1 && p.dilate_h == 1 && p.dilate_w == 1 &&
                k <= portable::kKC;
    if (in_place_ && (p.pad_h > 0 || p.pad_w > 0)) {
      padded_floats_ = static_cast<size_t>(p.batch * (p.in_h + 2 * p.pad_h) *
                                           (p.in_w + 2 * p.pad_w) * p.in_channels);
    }
    for (int64_t g = 0; g < p.groups; ++g) {
      b_.push_back(portable::pack_b(k, ocg_, ohwi.data() + g * ocg_ * k, k, 1));
      bias_.push_back(padded_bias(bias ? bias + g * ocg_ : nullptr, ocg_));
    }
  }

  // The padded copy is as large as the input: made here, once the whole plan is accepted,
  // not when the layer is planned (a model refused at a later node then never pays for it).
  void prepare(const float*, float*, int) override { make_padded(); }
  size_t prepared_bytes() const override { return padded_floats_ * sizeof(float); }

  void run(const float* in, float* out, int threads) override {
    make_padded();  // a no-op after prepare()
    PackConvRows rows;
    rows.p = &p_;
    rows.in = in;
    rows.icg = icg_;
    rows.oh = p_.out_h();
    rows.ow = p_.out_w();
    const int64_t m = p_.batch * rows.oh * rows.ow;
    if (in_place_) {
      rows.padded_h = p_.in_h + 2 * p_.pad_h;
      rows.padded_w = p_.in_w + 2 * p_.pad_w;
      rows.padded = in;
      if (!padded_.empty()) {
        const int64_t c = p_.in_channels, line = p_.in_w * c;
        for (int64_t n = 0; n < p_.batch; ++n)
          for (int64_t y = 0; y < p_.in_h; ++y)
            std::memcpy(padded_.data() +
                            ((n * rows.padded_h + y + p_.pad_h) * rows.padded_w + p_.pad_w) * c,
                        in + (n * p_.in_h + y) * line, sizeof(float) * line);
        rows.padded = padded_.data();
      }
    }
    if (pointwise_) {
      // A 1x1/1 convolution without padding is a GEMM on the input as it is.
      portable::gemm(m, portable::PackRows(in, p_.in_channels), b_[0], out, p_.out_channels,
                     bias_[0].empty() ? nullptr : bias_[0].data(), p_.activation, threads);
      return;
    }
    for (int64_t g = 0; g < p_.groups; ++g) {
      rows.channel0 = g * icg_;
      portable::gemm(m, rows, b_[g], out + g * ocg_, p_.out_channels,
                     bias_[g].empty() ? nullptr : bias_[g].data(), p_.activation, threads);
    }
  }
  const char* backend() const override { return "portable"; }

 private:
  void make_padded() {
    if (padded_.size() != padded_floats_) padded_.assign(padded_floats_, 0.0f);
  }

  Conv2DParams p_;
  int64_t icg_, ocg_;
  bool pointwise_, in_place_;
  size_t padded_floats_ = 0;   // the padded input's size, when receptive fields are read from it
  std::vector<float> padded_;  // the padded input (made by prepare())
  std::vector<PackedB> b_;
  std::vector<std::vector<float>> bias_;
};

// One input channel per output channel (groups == in_channels == out_channels): no GEMM, each
// output pixel accumulates its taps across all channels at once.
class DepthwiseConvPortable final : public FloatLayer {
 public:
  DepthwiseConvPortable(const Conv2DParams& p, const float* weight, const float* bias) : p_(p) {
    const int64_t taps = p.kernel_h * p.kernel_w, c = p.out_channels;
    weight_.resize(static_cast<size_t>(taps * c));
    for (int64_t o = 0; o < c; ++o)
      for (int64_t t = 0; t < taps; ++t) weight_[t * c + o] = weight[o * taps + t];
    bias_.assign(static_cast<size_t>(c), 0.0f);
    if (bias != nullptr) std::copy(bias, bias + c, bias_.begin());
  }

  void run(const float* in, float* out, int threads) override {
    const DepthwiseConvPortable* self = this;
    const int64_t oh = p_.out_h();
    parallel_for(p_.batch * oh, portable::usable_threads(threads),
                 [self, in, out](int64_t begin, int64_t end) {
                   for (int64_t row = begin; row < end; ++row) self->run_row(in, out, row);
                 });
  }
  const char* backend() const override { return "portable"; }

 private:
  void run_row(const float* in, float* out, int64_t row) const {
    const Conv2DParams& p = p_;
    const int64_t oh = p.out_h(), ow = p.out_w(), c = p.out_channels;
    const int64_t n = row / oh, y = row % oh;
    const float* image = in + n * p.in_h * p.in_w * c;
    for (int64_t x = 0; x < ow; ++x) {
      float* o = out + (row * ow + x) * c;
      std::copy(bias_.begin(), bias_.end(), o);
      for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
        const int64_t iy = y * p.stride_h - p.pad_h + ky * p.dilate_h;
        if (iy < 0 || iy >= p.in_h) continue;
        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
          const int64_t ix = x * p.stride_w - p.pad_w + kx * p.dilate_w;
          if (ix < 0 || ix >= p.in_w) continue;
          const float* src = image + (iy * p.in_w + ix) * c;
          const float* w = weight_.data() + (ky * p.kernel_w + kx) * c;
          for (int64_t i = 0; i < c; ++i) o[i] += src[i] * w[i];
        }
      }
      if (p.activation == FusedActivation::kRelu)
        for (int64_t i = 0; i < c; ++i) o[i] = std::max(o[i], 0.0f);
    }
  }

  Conv2DParams p_;
  std::vector<float> weight_, bias_;  // weight: taps x channels
};

class DensePortable final : public FloatLayer {
 public:
  DensePortable(int64_t rows, int64_t k, int64_t n, const float* weight, const float* bias,
                FusedActivation activation)
      : rows_(rows), k_(k), n_(n), activation_(activation),
        b_(portable::pack_b(k, n, weight, k, 1)), bias_(padded_bias(bias, n)) {}

  void run(const float* in, float* out, int threads) override {
    portable::gemm(rows_, portable::PackRows(in, k_), b_, out, n_,
                   bias_.empty() ? nullptr : bias_.data(), activation_, threads);
  }
  const char* backend() const override { return "portable"; }

 private:
  int64_t rows_, k_, n_;
  FusedActivation activation_;
  PackedB b_;
  std::vector<float> bias_;
};

// MXNet's pooling (pool.h): the window clipped to the padded input gives count_include_pad's
// divisor, clipped to the input it gives the elements (and the divisor otherwise); a window
// with no element gives the lowest float (max) or 0 (avg).
class PoolPortable final : public FloatLayer {
 public:
  explicit PoolPortable(const Pool2DParams& p) : p_(p) {}

  void run(const float* in, float* out, int threads) override {
    const PoolPortable* self = this;
    parallel_for(p_.batch * p_.out_h, portable::usable_threads(threads),
                 [self, in, out](int64_t begin, int64_t end) {
                   for (int64_t row = begin; row < end; ++row) self->run_row(in, out, row);
                 });
  }
  const char* backend() const override { return "portable"; }

 private:
  void run_row(const float* in, float* out, int64_t row) const {
    const Pool2DParams& p = p_;
    const int64_t c = p.channels, n = row / p.out_h, y = row % p.out_h;
    const float* image = in + n * p.in_h * p.in_w * c;
    int64_t y0 = y * p.stride_h - p.pad_h, y1 = std::min(y0 + p.kernel_h, p.in_h + p.pad_h);
    const int64_t padded_h = y1 - y0;
    y0 = std::max<int64_t>(y0, 0);
    y1 = std::min(y1, p.in_h);
    for (int64_t x = 0; x < p.out_w; ++x) {
      int64_t x0 = x * p.stride_w - p.pad_w, x1 = std::min(x0 + p.kernel_w, p.in_w + p.pad_w);
      const int64_t padded_w = x1 - x0;
      x0 = std::max<int64_t>(x0, 0);
      x1 = std::min(x1, p.in_w);
      float* o = out + (row * p.out_w + x) * c;
      if (p.kind == PoolKind::kMax) {
        std::fill(o, o + c, std::numeric_limits<float>::lowest());
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix) {
            const float* src = image + (iy * p.in_w + ix) * c;
            for (int64_t i = 0; i < c; ++i) o[i] = std::max(o[i], src[i]);
          }
        continue;
      }
      std::fill(o, o + c, 0.0f);
      for (int64_t iy = y0; iy < y1; ++iy)
        for (int64_t ix = x0; ix < x1; ++ix) {
          const float* src = image + (iy * p.in_w + ix) * c;
          for (int64_t i = 0; i < c; ++i) o[i] += src[i];
        }
      const int64_t area = p.count_include_pad
                               ? padded_h * padded_w
                               : std::max<int64_t>(y1 - y0, 0) * std::max<int64_t>(x1 - x0, 0);
      if (area <= 0 || y1 <= y0 || x1 <= x0) {
        std::fill(o, o + c, 0.0f);
        continue;
      }
      const float inv = static_cast<float>(area);
      for (int64_t i = 0; i < c; ++i) o[i] /= inv;
    }
  }

  Pool2DParams p_;
};

}  // namespace

std::unique_ptr<FloatLayer> make_conv2d_portable(const Conv2DParams& p, const float* weight,
                                                 const float* bias) {
  const std::string problem = p.kernel_fit_problem();
  if (!problem.empty()) throw std::invalid_argument("portable convolution: " + problem);
  if (p.groups > 1 && p.groups == p.in_channels && p.groups == p.out_channels)
    return std::make_unique<DepthwiseConvPortable>(p, weight, bias);
  return std::make_unique<ConvPortable>(p, weight, bias);
}

std::unique_ptr<FloatLayer> make_dense_portable(int64_t rows, int64_t in_features,
                                                int64_t out_features, const float* weight,
                                                const float* bias, FusedActivation activation) {
  return std::make_unique<DensePortable>(rows, in_features, out_features, weight, bias,
                                         activation);
}

std::unique_ptr<FloatLayer> make_pool2d_portable(const Pool2DParams& p) {
  return std::make_unique<PoolPortable>(p);
}

}  // namespace rt
}  // namespace bmx

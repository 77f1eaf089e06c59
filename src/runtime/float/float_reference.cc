// Reference float layers, NHWC: one output element at a time, accumulated in float in the
// order MXNet's own CPU loops use (input channel, then kernel row, then kernel column).
#include "float_reference.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

namespace bmx {
namespace rt {
namespace {

float activate(float v, FusedActivation a) {
  return a == FusedActivation::kRelu ? std::max(v, 0.0f) : v;
}

class ConvReference : public FloatLayer {
 public:
  ConvReference(const Conv2DParams& p, const float* weight, const float* bias) : p_(p) {
    const int64_t per_group = p.in_channels / p.groups;
    weight_.assign(weight, weight + p.out_channels * per_group * p.kernel_h * p.kernel_w);
    if (bias != nullptr) bias_.assign(bias, bias + p.out_channels);
  }

  void run(const float* in, float* out, int) override {
    const Conv2DParams& p = p_;
    const int64_t oh = p.out_h(), ow = p.out_w();
    const int64_t in_per_group = p.in_channels / p.groups;
    const int64_t out_per_group = p.out_channels / p.groups;
    for (int64_t n = 0; n < p.batch; ++n) {
      const float* image = in + n * p.in_h * p.in_w * p.in_channels;
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t x = 0; x < ow; ++x) {
          float* pixel = out + ((n * oh + y) * ow + x) * p.out_channels;
          for (int64_t o = 0; o < p.out_channels; ++o) {
            const int64_t g = o / out_per_group;
            const float* w = weight_.data() + o * in_per_group * p.kernel_h * p.kernel_w;
            float acc = 0.0f;
            for (int64_t c = 0; c < in_per_group; ++c) {
              for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
                const int64_t iy = y * p.stride_h - p.pad_h + ky * p.dilate_h;
                if (iy < 0 || iy >= p.in_h) continue;
                for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                  const int64_t ix = x * p.stride_w - p.pad_w + kx * p.dilate_w;
                  if (ix < 0 || ix >= p.in_w) continue;
                  acc += image[(iy * p.in_w + ix) * p.in_channels + g * in_per_group + c] *
                         w[(c * p.kernel_h + ky) * p.kernel_w + kx];
                }
              }
            }
            if (!bias_.empty()) acc += bias_[o];
            pixel[o] = activate(acc, p.activation);
          }
        }
      }
    }
  }
  const char* backend() const override { return "reference"; }

 private:
  Conv2DParams p_;
  std::vector<float> weight_, bias_;
};

class DenseReference : public FloatLayer {
 public:
  DenseReference(int64_t rows, int64_t k, int64_t n, const float* weight, const float* bias,
                 FusedActivation activation)
      : rows_(rows), k_(k), n_(n), activation_(activation), weight_(weight, weight + n * k) {
    if (bias != nullptr) bias_.assign(bias, bias + n);
  }

  void run(const float* in, float* out, int) override {
    for (int64_t r = 0; r < rows_; ++r) {
      for (int64_t j = 0; j < n_; ++j) {
        const float* w = weight_.data() + j * k_;
        const float* x = in + r * k_;
        float acc = 0.0f;
        for (int64_t i = 0; i < k_; ++i) acc += x[i] * w[i];
        if (!bias_.empty()) acc += bias_[j];
        out[r * n_ + j] = activate(acc, activation_);
      }
    }
  }
  const char* backend() const override { return "reference"; }

 private:
  int64_t rows_, k_, n_;
  FusedActivation activation_;
  std::vector<float> weight_, bias_;
};

// MXNet's pooling loops (pool.h): the window is clipped to the padded input, and then to the
// input itself; avg divides by the first (count_include_pad) or the second area.
class PoolReference : public FloatLayer {
 public:
  explicit PoolReference(const Pool2DParams& p) : p_(p) {}

  void run(const float* in, float* out, int) override {
    const Pool2DParams& p = p_;
    for (int64_t n = 0; n < p.batch; ++n) {
      const float* image = in + n * p.in_h * p.in_w * p.channels;
      for (int64_t y = 0; y < p.out_h; ++y) {
        for (int64_t x = 0; x < p.out_w; ++x) {
          int64_t y0 = y * p.stride_h - p.pad_h, x0 = x * p.stride_w - p.pad_w;
          int64_t y1 = std::min(y0 + p.kernel_h, p.in_h + p.pad_h);
          int64_t x1 = std::min(x0 + p.kernel_w, p.in_w + p.pad_w);
          const int64_t padded_area = (y1 - y0) * (x1 - x0);
          y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0);
          y1 = std::min(y1, p.in_h), x1 = std::min(x1, p.in_w);
          const int64_t area = p.count_include_pad ? padded_area : (y1 - y0) * (x1 - x0);
          float* pixel = out + ((n * p.out_h + y) * p.out_w + x) * p.channels;
          for (int64_t c = 0; c < p.channels; ++c) {
            float acc = p.kind == PoolKind::kMax ? std::numeric_limits<float>::lowest() : 0.0f;
            for (int64_t iy = y0; iy < y1; ++iy) {
              for (int64_t ix = x0; ix < x1; ++ix) {
                const float v = image[(iy * p.in_w + ix) * p.channels + c];
                acc = p.kind == PoolKind::kMax ? std::max(acc, v) : acc + v;
              }
            }
            if (p.kind == PoolKind::kAvg) acc = area > 0 ? acc / static_cast<float>(area) : 0.0f;
            pixel[c] = acc;
          }
        }
      }
    }
  }
  const char* backend() const override { return "reference"; }

 private:
  Pool2DParams p_;
};

}  // namespace

std::unique_ptr<FloatLayer> make_conv2d_reference(const Conv2DParams& p, const float* weight,
                                                  const float* bias) {
  const std::string problem = p.kernel_fit_problem();
  if (!problem.empty()) throw std::invalid_argument("reference convolution: " + problem);
  return std::make_unique<ConvReference>(p, weight, bias);
}

std::unique_ptr<FloatLayer> make_dense_reference(int64_t rows, int64_t in_features,
                                                 int64_t out_features, const float* weight,
                                                 const float* bias,
                                                 FusedActivation activation) {
  return std::make_unique<DenseReference>(rows, in_features, out_features, weight, bias,
                                          activation);
}

std::unique_ptr<FloatLayer> make_pool2d_reference(const Pool2DParams& p) {
  return std::make_unique<PoolReference>(p);
}

}  // namespace rt
}  // namespace bmx

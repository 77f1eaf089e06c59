// The XNNPACK float layers (NHWC). Each XNNPACK operator is created once, with the weights
// (XNNPACK packs them then), and set up again only when the buffers or the thread count
// differ from the last run's (the graph's arena keeps them fixed, so that is once). A case
// that XNNPACK computes differently from MXNet gets null and the portable path.
//
// Semantics checked against XNNPACK 0.0~git20220216 (and tests/cpp/test_float_kernels.cc):
// - average pooling never counts padding (MXNet's count_include_pad=false), and a window
//   wholly in the padding gives -inf; with no padding it divides by the kernel area;
// - max pooling clamps window positions into the input, so a window wholly in the padding
//   gives an edge value (MXNet gives the lowest float);
// - 1x1 pooling is refused by XNNPACK (creation fails);
// - a kernel larger than the padded input fails an assertion inside Debian's build (which
//   keeps assertions on) and aborts the process, so such a case never reaches it.
#include "float_backends.h"

#if defined(BMX_HAVE_XNNPACK)

#include <xnnpack.h>

#include "thread_pool.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace bmx {
namespace rt {
namespace {

// The XNNPACK thread pool of the predictor running this layer on this thread (its PoolScope),
// for `threads` threads: to set up for (tiling), or to run on now (null while the call runs
// inline); null (the caller's thread alone) outside a predictor.
pthreadpool_t setup_pool(int threads) {
  ThreadPool* pool = current_pool();
  return pool != nullptr ? pool->get(threads) : nullptr;
}
pthreadpool_t run_pool() {
  ThreadPool* pool = current_pool();
  return pool != nullptr ? pool->for_run() : nullptr;
}

float output_min(FusedActivation a) {
  return a == FusedActivation::kRelu ? 0.0f : -std::numeric_limits<float>::infinity();
}
constexpr float kOutputMax = std::numeric_limits<float>::infinity();

// An XNNPACK operator and how to set it up for a pair of buffers.
class XnnpackLayer final : public FloatLayer {
 public:
  using Setup = enum xnn_status (*)(const XnnpackLayer&, const float*, float*, pthreadpool_t);

  XnnpackLayer(xnn_operator_t op, Setup setup, const char* what)
      : op_(op), setup_(setup), what_(what) {}
  ~XnnpackLayer() override { xnn_delete_operator(op_); }
  XnnpackLayer(const XnnpackLayer&) = delete;
  XnnpackLayer& operator=(const XnnpackLayer&) = delete;

  void run(const float* in, float* out, int threads) override {
    pthreadpool_t pool = run_pool();
    prepare(in, out, threads);
    if (xnn_run_operator(op_, pool) != xnn_status_success)
      throw std::runtime_error(std::string("XNNPACK could not run the ") + what_);
  }
  // XNNPACK's set-up allocates (indirection buffers) the first time: done here, once.
  void prepare(const float* in, float* out, int threads) override {
    if (in == last_in_ && out == last_out_ && threads == last_threads_) return;
    if (setup_(*this, in, out, setup_pool(threads)) != xnn_status_success)
      throw std::runtime_error(std::string("XNNPACK could not set up the ") + what_);
    last_in_ = in;
    last_out_ = out;
    last_threads_ = threads;
  }
  const char* backend() const override { return "xnnpack"; }

  xnn_operator_t op_;
  size_t batch = 1, height = 1, width = 1;  // what setup_ passes on

 private:
  Setup setup_;
  const char* what_;
  const float* last_in_ = nullptr;
  float* last_out_ = nullptr;
  int last_threads_ = -1;
};

std::unique_ptr<FloatLayer> wrap(enum xnn_status status, xnn_operator_t op,
                                 XnnpackLayer::Setup setup, const char* what, size_t batch,
                                 size_t height, size_t width) {
  if (status != xnn_status_success) return nullptr;
  auto layer = std::make_unique<XnnpackLayer>(op, setup, what);
  layer->batch = batch;
  layer->height = height;
  layer->width = width;
  return layer;
}

bool fits_u32(int64_t v) { return v >= 0 && v <= 0xffffffffLL; }

// The bottom (right) padding that makes XNNPACK's floor((in + pads - kernel) / stride) + 1
// equal the caller's output size (MXNet's 'full' convention pads past the input), or -1.
int64_t far_padding(int64_t in, int64_t pad, int64_t kernel, int64_t stride, int64_t out) {
  const int64_t far = std::max(pad, (out - 1) * stride + kernel - in - pad);
  if (in + pad + far < kernel) return -1;
  return (in + pad + far - kernel) / stride + 1 == out ? far : -1;
}

}  // namespace

bool xnnpack_available() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

std::unique_ptr<FloatLayer> make_conv2d_xnnpack(const Conv2DParams& p, const float* weight,
                                                const float* bias) {
  if (!xnnpack_available()) return nullptr;
  for (int64_t v : {p.pad_h, p.pad_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.dilate_h,
                    p.dilate_w, p.groups})
    if (!fits_u32(v)) return nullptr;
  if (p.in_h + 2 * p.pad_h < p.dilate_h * (p.kernel_h - 1) + 1 ||
      p.in_w + 2 * p.pad_w < p.dilate_w * (p.kernel_w - 1) + 1)
    return nullptr;
  const int64_t icg = p.in_channels / p.groups, ocg = p.out_channels / p.groups;
  const int64_t taps = p.kernel_h * p.kernel_w;
  // OIHW -> XNNPACK's [group][group output channel][kh][kw][group input channel] (OHWI).
  std::vector<float> ohwi(static_cast<size_t>(p.out_channels * taps * icg));
  for (int64_t o = 0; o < p.out_channels; ++o)
    for (int64_t c = 0; c < icg; ++c)
      for (int64_t t = 0; t < taps; ++t)
        ohwi[(o * taps + t) * icg + c] = weight[(o * icg + c) * taps + t];
  xnn_operator_t op = nullptr;
  const auto status = xnn_create_convolution2d_nhwc_f32(
      p.pad_h, p.pad_w, p.pad_h, p.pad_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w,
      p.dilate_h, p.dilate_w, p.groups, icg, ocg, p.in_channels, p.out_channels, ohwi.data(), bias,
      output_min(p.activation), kOutputMax, 0, &op);
  return wrap(
      status, op,
      [](const XnnpackLayer& l, const float* in, float* out, pthreadpool_t pool) {
        return xnn_setup_convolution2d_nhwc_f32(l.op_, l.batch, l.height, l.width, in, out, pool);
      },
      "convolution", p.batch, p.in_h, p.in_w);
}

std::unique_ptr<FloatLayer> make_dense_xnnpack(int64_t rows, int64_t in_features,
                                               int64_t out_features, const float* weight,
                                               const float* bias, FusedActivation activation) {
  if (!xnnpack_available()) return nullptr;
  xnn_operator_t op = nullptr;
  // MXNet's N x K weight is XNNPACK's default (output channels x input channels).
  const auto status = xnn_create_fully_connected_nc_f32(
      in_features, out_features, in_features, out_features, weight, bias, output_min(activation),
      kOutputMax, 0, &op);
  return wrap(
      status, op,
      [](const XnnpackLayer& l, const float* in, float* out, pthreadpool_t pool) {
        return xnn_setup_fully_connected_nc_f32(l.op_, l.batch, in, out, pool);
      },
      "fully connected layer", rows, 1, 1);
}

std::unique_ptr<FloatLayer> make_pool2d_xnnpack(const Pool2DParams& p) {
  if (!xnnpack_available()) return nullptr;
  const float lo = -std::numeric_limits<float>::infinity();
  const bool global = p.kernel_h == p.in_h && p.kernel_w == p.in_w && p.pad_h == 0 &&
                      p.pad_w == 0 && p.out_h == 1 && p.out_w == 1;
  if (global && p.kind == PoolKind::kAvg) {
    xnn_operator_t op = nullptr;
    const auto status = xnn_create_global_average_pooling_nwc_f32(p.channels, p.channels,
                                                                  p.channels, lo, kOutputMax, 0,
                                                                  &op);
    return wrap(
        status, op,
        [](const XnnpackLayer& l, const float* in, float* out, pthreadpool_t pool) {
          return xnn_setup_global_average_pooling_nwc_f32(l.op_, l.batch, l.width, in, out, pool);
        },
        "global average pooling", p.batch, 1, p.in_h * p.in_w);
  }
  // Every window must hold an input element (see the top of this file).
  if (p.pad_h >= p.kernel_h || p.pad_w >= p.kernel_w) return nullptr;
  if ((p.out_h - 1) * p.stride_h - p.pad_h >= p.in_h) return nullptr;
  if ((p.out_w - 1) * p.stride_w - p.pad_w >= p.in_w) return nullptr;
  // Average pooling that counts padding only agrees when there is none to count.
  if (p.kind == PoolKind::kAvg && p.count_include_pad && (p.pad_h > 0 || p.pad_w > 0))
    return nullptr;
  const int64_t bottom = far_padding(p.in_h, p.pad_h, p.kernel_h, p.stride_h, p.out_h);
  const int64_t right = far_padding(p.in_w, p.pad_w, p.kernel_w, p.stride_w, p.out_w);
  if (bottom < 0 || right < 0) return nullptr;
  for (int64_t v : {p.pad_h, p.pad_w, bottom, right, p.kernel_h, p.kernel_w, p.stride_h,
                    p.stride_w})
    if (!fits_u32(v)) return nullptr;
  xnn_operator_t op = nullptr;
  if (p.kind == PoolKind::kMax) {
    const auto status = xnn_create_max_pooling2d_nhwc_f32(
        p.pad_h, right, bottom, p.pad_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, 1, 1,
        p.channels, p.channels, p.channels, lo, kOutputMax, 0, &op);
    return wrap(
        status, op,
        [](const XnnpackLayer& l, const float* in, float* out, pthreadpool_t pool) {
          return xnn_setup_max_pooling2d_nhwc_f32(l.op_, l.batch, l.height, l.width, in, out,
                                                  pool);
        },
        "max pooling", p.batch, p.in_h, p.in_w);
  }
  const auto status = xnn_create_average_pooling2d_nhwc_f32(
      p.pad_h, right, bottom, p.pad_w, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.channels,
      p.channels, p.channels, lo, kOutputMax, 0, &op);
  return wrap(
      status, op,
      [](const XnnpackLayer& l, const float* in, float* out, pthreadpool_t pool) {
        return xnn_setup_average_pooling2d_nhwc_f32(l.op_, l.batch, l.height, l.width, in, out,
                                                    pool);
      },
      "average pooling", p.batch, p.in_h, p.in_w);
}

}  // namespace rt
}  // namespace bmx

#else  // no XNNPACK in this build

namespace bmx {
namespace rt {

bool xnnpack_available() { return false; }
std::unique_ptr<FloatLayer> make_conv2d_xnnpack(const Conv2DParams&, const float*,
                                                const float*) {
  return nullptr;
}
std::unique_ptr<FloatLayer> make_dense_xnnpack(int64_t, int64_t, int64_t, const float*,
                                               const float*, FusedActivation) {
  return nullptr;
}
std::unique_ptr<FloatLayer> make_pool2d_xnnpack(const Pool2DParams&) { return nullptr; }

}  // namespace rt
}  // namespace bmx

#endif

// Float layers (conv2d, dense, pool2d; NHWC) of every backend this build has (XNNPACK, the
// portable path, the reference loops, and what make_* picks) against plain double-precision
// loops written here from MXNet's definitions, within 1e-5 of the largest |output|, over
// shapes that hit channel, kernel, stride, padding, dilation, group, batch, tile and block
// edges, with 1 and 2 threads, and again after the buffers move.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fast_test_util.h"
#include "float_backends.h"
#include "float_kernels.h"
#include "float_reference.h"

using namespace bmx::rt;

namespace {

constexpr double kTolerance = 1e-5;
constexpr float kUnwritten = 12345.0f;

// ---- the twin: MXNet's definitions, accumulated in double ----------------------------------

std::vector<float> conv_twin(const Conv2DParams& p, const std::vector<float>& in,
                             const std::vector<float>& w, const float* bias) {
  const int64_t oh = p.out_h(), ow = p.out_w(), icg = p.in_channels / p.groups,
                ocg = p.out_channels / p.groups;
  std::vector<float> out(p.batch * oh * ow * p.out_channels);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x)
        for (int64_t o = 0; o < p.out_channels; ++o) {
          const int64_t g = o / ocg;
          double acc = bias ? bias[o] : 0.0;
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t ky = 0; ky < p.kernel_h; ++ky)
              for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                const int64_t iy = y * p.stride_h - p.pad_h + ky * p.dilate_h;
                const int64_t ix = x * p.stride_w - p.pad_w + kx * p.dilate_w;
                if (iy < 0 || iy >= p.in_h || ix < 0 || ix >= p.in_w) continue;
                acc += double(in[((n * p.in_h + iy) * p.in_w + ix) * p.in_channels + g * icg + c]) *
                       w[((o * icg + c) * p.kernel_h + ky) * p.kernel_w + kx];
              }
          if (p.activation == FusedActivation::kRelu) acc = std::max(acc, 0.0);
          out[((n * oh + y) * ow + x) * p.out_channels + o] = float(acc);
        }
  return out;
}

std::vector<float> dense_twin(int64_t rows, int64_t k, int64_t n, const std::vector<float>& in,
                              const std::vector<float>& w, const float* bias, bool relu) {
  std::vector<float> out(rows * n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias ? bias[j] : 0.0;
      for (int64_t i = 0; i < k; ++i) acc += double(in[r * k + i]) * w[j * k + i];
      out[r * n + j] = float(relu ? std::max(acc, 0.0) : acc);
    }
  return out;
}

// MXNet pool.h: avg divides by the window clipped to the padded input (count_include_pad) or
// to the input; max over the input elements in the window (none: the lowest float).
std::vector<float> pool_twin(const Pool2DParams& p, const std::vector<float>& in) {
  std::vector<float> out(p.batch * p.out_h * p.out_w * p.channels);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t y = 0; y < p.out_h; ++y)
      for (int64_t x = 0; x < p.out_w; ++x)
        for (int64_t c = 0; c < p.channels; ++c) {
          const int64_t ys = y * p.stride_h - p.pad_h, xs = x * p.stride_w - p.pad_w;
          const int64_t ye = std::min(ys + p.kernel_h, p.in_h + p.pad_h);
          const int64_t xe = std::min(xs + p.kernel_w, p.in_w + p.pad_w);
          double sum = 0.0, max = std::numeric_limits<float>::lowest();
          int64_t count = 0;
          for (int64_t iy = std::max<int64_t>(ys, 0); iy < std::min(ye, p.in_h); ++iy)
            for (int64_t ix = std::max<int64_t>(xs, 0); ix < std::min(xe, p.in_w); ++ix) {
              const float v = in[((n * p.in_h + iy) * p.in_w + ix) * p.channels + c];
              sum += v;
              max = std::max<double>(max, v);
              ++count;
            }
          const int64_t divisor = p.count_include_pad ? (ye - ys) * (xe - xs) : count;
          const double v = p.kind == PoolKind::kMax ? max : (count > 0 ? sum / divisor : 0.0);
          out[((n * p.out_h + y) * p.out_w + x) * p.channels + c] = float(v);
        }
  return out;
}

// ---- running a layer -----------------------------------------------------------------------

struct Backend {
  std::string name;
  std::function<std::unique_ptr<FloatLayer>()> make;  // null result: backend declines
};

// Input with XNNPACK's read slack behind it; output with a guard zone that must stay intact.
struct Buffers {
  std::vector<float> in, out;
  int64_t out_size;
  Buffers(const std::vector<float>& data, int64_t out_elems)
      : in(data), out(out_elems + 16, kUnwritten), out_size(out_elems) {
    in.resize(data.size() + kFloatInputSlackBytes / sizeof(float) + 1, 0.0f);
  }
};

// max |got - want| <= tolerance * max |want|, guard zone untouched.
bool close(const std::vector<float>& want, const Buffers& b, double* err) {
  double scale = 0.0, worst = 0.0;
  for (float v : want) scale = std::max(scale, std::fabs(double(v)));
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(double(b.out[i]) - want[i]);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  *err = scale > 0 ? worst / scale : worst;
  for (size_t i = want.size(); i < b.out.size(); ++i)
    if (b.out[i] != kUnwritten) return false;
  return worst <= kTolerance * std::max(scale, 1e-30);
}

// Runs the layer with 1 and 2 threads, then with 1 thread on moved buffers holding other data.
void check_layer(const std::string& what, const Backend& backend, const std::vector<float>& in,
                 const std::vector<float>& want, const std::vector<float>& in2,
                 const std::vector<float>& want2) {
  auto layer = backend.make();
  if (!layer) return;  // declined (checked separately where it must not)
  for (int threads : {1, 2}) {
    Buffers b(in, int64_t(want.size()));
    layer->run(b.in.data(), b.out.data(), threads);
    double err = 0;
    CHECK(close(want, b, &err), "%s [%s, %s, threads=%d]: error %.3g of the largest output",
          what.c_str(), backend.name.c_str(), layer->backend(), threads, err);
  }
  Buffers b2(in2, int64_t(want2.size()));
  layer->run(b2.in.data(), b2.out.data(), 1);
  double err = 0;
  CHECK(close(want2, b2, &err), "%s [%s, %s, moved buffers]: error %.3g of the largest output",
        what.c_str(), backend.name.c_str(), layer->backend(), err);
}

// ---- conv2d --------------------------------------------------------------------------------

struct ConvCase {
  int64_t batch, h, w, ic, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  bool relu, bias;
};

std::string describe(const ConvCase& c) {
  char s[200];
  std::snprintf(s, sizeof s, "conv n%lld %lldx%lldx%lld->%lld k%lldx%lld s%lldx%lld p%lldx%lld "
                "d%lldx%lld g%lld%s%s", (long long)c.batch, (long long)c.h, (long long)c.w,
                (long long)c.ic, (long long)c.oc, (long long)c.kh, (long long)c.kw,
                (long long)c.sh, (long long)c.sw, (long long)c.ph, (long long)c.pw,
                (long long)c.dh, (long long)c.dw, (long long)c.groups, c.relu ? " relu" : "",
                c.bias ? " bias" : "");
  return s;
}

void test_conv() {
  const ConvCase cases[] = {
      // batch h  w  ic  oc kh kw sh sw ph pw dh dw g  relu   bias
      {1, 9, 11, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, false, true},
      {1, 20, 18, 3, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1, true, true},    // the ResNet stem, small
      {1, 23, 23, 3, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1, false, false},  // stem width
      {1, 9, 8, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},
      {2, 9, 7, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, true, true},
      {1, 10, 9, 16, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, true, true},
      {1, 13, 10, 64, 65, 3, 3, 1, 1, 1, 1, 1, 1, 1, false, true},  // depth > one block, N tail
      {1, 12, 11, 64, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1, false, true},
      {2, 5, 6, 300, 9, 1, 1, 1, 1, 0, 0, 1, 1, 1, true, true},    // 1x1, depth > one block
      {2, 12, 11, 64, 64, 1, 1, 2, 2, 0, 0, 1, 1, 1, true, false},  // 1x1/2 projection
      {1, 7, 7, 16, 16, 3, 3, 1, 1, 2, 2, 2, 2, 1, false, true},    // dilation 2
      {1, 15, 13, 3, 7, 7, 7, 2, 2, 3, 3, 2, 2, 1, true, true},     // 7x7, dilation and stride
      {1, 9, 10, 16, 14, 3, 3, 1, 1, 1, 1, 1, 1, 2, false, true},   // 2 groups
      {2, 8, 9, 64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 2, true, true},
      {1, 9, 9, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, true, true},    // depthwise
      {2, 10, 9, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 7, false, false},
      {1, 11, 9, 64, 64, 3, 3, 1, 1, 2, 2, 2, 2, 64, false, true},  // depthwise, dilated
      {1, 8, 8, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 16, false, true},   // depthwise, multiplier 2
      {1, 6, 7, 1, 3, 7, 7, 1, 1, 3, 3, 1, 1, 1, false, true},      // 1 input channel, 7x7
      {1, 5, 6, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, true},       // padded 1x1
      {1, 9, 12, 7, 16, 3, 5, 2, 1, 1, 2, 2, 1, 1, false, true},    // asymmetric everything
      {1, 10, 9, 16, 8, 2, 2, 3, 3, 0, 0, 1, 1, 1, false, true},    // stride past the kernel
      {1, 3, 3, 16, 16, 3, 3, 1, 1, 0, 0, 1, 1, 1, true, true},     // one output pixel
  };
  for (const ConvCase& c : cases) {
    Conv2DParams p;
    p.batch = c.batch, p.in_h = c.h, p.in_w = c.w, p.in_channels = c.ic, p.out_channels = c.oc;
    p.kernel_h = c.kh, p.kernel_w = c.kw, p.stride_h = c.sh, p.stride_w = c.sw;
    p.pad_h = c.ph, p.pad_w = c.pw, p.dilate_h = c.dh, p.dilate_w = c.dw, p.groups = c.groups;
    p.activation = c.relu ? FusedActivation::kRelu : FusedActivation::kNone;
    const auto in = test::random_floats(c.batch * c.h * c.w * c.ic);
    const auto in2 = test::random_floats(in.size());
    auto w = test::random_floats(c.oc * (c.ic / c.groups) * c.kh * c.kw);
    auto bias_v = test::random_floats(c.oc);
    const float* bias = c.bias ? bias_v.data() : nullptr;
    const auto want = conv_twin(p, in, w, bias), want2 = conv_twin(p, in2, w, bias);
    const std::vector<Backend> backends = {
        {"make_conv2d", [&] { return make_conv2d(p, w.data(), bias); }},
        {"portable", [&] { return make_conv2d_portable(p, w.data(), bias); }},
        {"xnnpack", [&] { return make_conv2d_xnnpack(p, w.data(), bias); }},
        {"reference", [&] { return make_conv2d_reference(p, w.data(), bias); }},
    };
    for (const Backend& b : backends) {
      // The layer keeps its own copy of the weights: scribble over the caller's afterwards.
      const auto w_saved = w, bias_saved = bias_v;
      auto layer_check = [&] {
        check_layer(describe(c), b, in, want, in2, want2);
      };
      layer_check();
      w = w_saved, bias_v = bias_saved;
    }
    if (xnnpack_available())
      CHECK(make_conv2d_xnnpack(p, w.data(), bias) != nullptr, "%s: XNNPACK takes it",
            describe(c).c_str());
  }
}

// make_conv2d with the process's default backend, typed as the backends' own factories.
std::unique_ptr<FloatLayer> conv2d_default(const Conv2DParams& p, const float* w,
                                           const float* bias) {
  return make_conv2d(p, w, bias);
}

// Weights and bias may be freed once the layer exists.
void test_layers_copy_their_weights() {
  Conv2DParams p;
  p.in_h = p.in_w = 6, p.in_channels = 5, p.out_channels = 9, p.kernel_h = p.kernel_w = 3;
  const auto in = test::random_floats(6 * 6 * 5);
  const auto w = test::random_floats(9 * 5 * 9), bias = test::random_floats(9);
  const auto want = conv_twin(p, in, w, bias.data());
  for (auto make : {&conv2d_default, &make_conv2d_portable, &make_conv2d_xnnpack}) {
    auto w_copy = w, b_copy = bias;
    auto layer = make(p, w_copy.data(), b_copy.data());
    if (!layer) continue;
    std::fill(w_copy.begin(), w_copy.end(), 1e30f);
    std::fill(b_copy.begin(), b_copy.end(), 1e30f);
    Buffers b(in, int64_t(want.size()));
    layer->run(b.in.data(), b.out.data(), 1);
    double err = 0;
    CHECK(close(want, b, &err), "conv [%s] after its weights were overwritten: error %.3g",
          layer->backend(), err);
  }
}

// ---- dense ---------------------------------------------------------------------------------

void test_dense() {
  for (int64_t rows : {1, 2, 5})
    for (int64_t k : {1, 31, 512})
      for (int64_t n : {1, 7, 10, 64})
        for (bool relu : {false, true})
          for (bool has_bias : {true, false}) {
            if (!has_bias && (rows != 2 || relu)) continue;
            const auto in = test::random_floats(rows * k), in2 = test::random_floats(rows * k);
            const auto w = test::random_floats(n * k), bias_v = test::random_floats(n);
            const float* bias = has_bias ? bias_v.data() : nullptr;
            const auto act = relu ? FusedActivation::kRelu : FusedActivation::kNone;
            const auto want = dense_twin(rows, k, n, in, w, bias, relu);
            const auto want2 = dense_twin(rows, k, n, in2, w, bias, relu);
            const std::vector<Backend> backends = {
                {"make_dense", [&] { return make_dense(rows, k, n, w.data(), bias, act); }},
                {"portable", [&] { return make_dense_portable(rows, k, n, w.data(), bias, act); }},
                {"xnnpack", [&] { return make_dense_xnnpack(rows, k, n, w.data(), bias, act); }},
                {"reference",
                 [&] { return make_dense_reference(rows, k, n, w.data(), bias, act); }},
            };
            char what[120];
            std::snprintf(what, sizeof what, "dense %lldx%lld->%lld%s%s", (long long)rows,
                          (long long)k, (long long)n, relu ? " relu" : "",
                          has_bias ? " bias" : "");
            for (const Backend& b : backends) check_layer(what, b, in, want, in2, want2);
            if (xnnpack_available())
              CHECK(make_dense_xnnpack(rows, k, n, w.data(), bias, act) != nullptr,
                    "%s: XNNPACK takes it", what);
          }
}

// ---- pool2d --------------------------------------------------------------------------------

struct PoolCase {
  int64_t batch, h, w, c, kh, kw, sh, sw, ph, pw;
  bool full;     // MXNet's 'full' convention (ceil) rather than 'valid' (floor)
  bool global;   // global_pool: the kernel is the input
  bool xnnpack;  // whether XNNPACK must take the max and the exclude-padding avg cases
};

int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, bool full) {
  const int64_t span = in + 2 * p - k;
  return 1 + (full ? (span + s - 1) / s : span / s);
}

void test_pool() {
  const PoolCase cases[] = {
      // batch h  w  c  kh kw sh sw ph pw full   global xnnpack
      {1, 8, 8, 1, 2, 2, 2, 2, 0, 0, false, false, true},
      {1, 9, 9, 3, 2, 2, 2, 2, 0, 0, true, false, true},     // full: last window hangs over
      {2, 112, 112, 16, 3, 3, 2, 2, 1, 1, false, false, true},  // the ResNet stem's pool
      {1, 11, 10, 64, 3, 3, 2, 2, 1, 1, true, false, true},
      {1, 7, 9, 7, 3, 3, 1, 1, 1, 1, false, false, true},
      {2, 10, 7, 16, 3, 2, 2, 3, 1, 0, true, false, true},
      {1, 6, 6, 3, 2, 2, 3, 3, 0, 0, true, false, false},    // full: a window past the input
      {1, 5, 5, 16, 3, 3, 1, 1, 3, 3, false, false, false},  // windows wholly in the padding
      {1, 9, 9, 16, 1, 1, 2, 2, 0, 0, false, false, false},  // 1x1 (XNNPACK refuses it)
      {1, 7, 7, 64, 7, 7, 1, 1, 0, 0, false, true, true},    // global
      {2, 4, 6, 7, 4, 6, 1, 1, 0, 0, false, true, true},
      {1, 1, 1, 16, 1, 1, 1, 1, 0, 0, false, true, false},   // global over one pixel
      {1, 4, 4, 2, 5, 5, 3, 3, 0, 0, true, false, false},    // kernel past the input
  };
  for (const PoolCase& c : cases)
    for (PoolKind kind : {PoolKind::kMax, PoolKind::kAvg})
      for (bool include_pad : {true, false}) {
        if (kind == PoolKind::kMax && !include_pad) continue;
        Pool2DParams p;
        p.batch = c.batch, p.in_h = c.h, p.in_w = c.w, p.channels = c.c;
        p.kernel_h = c.kh, p.kernel_w = c.kw, p.stride_h = c.sh, p.stride_w = c.sw;
        p.pad_h = c.ph, p.pad_w = c.pw, p.kind = kind, p.count_include_pad = include_pad;
        p.out_h = c.global ? 1 : pool_out(c.h, c.kh, c.sh, c.ph, c.full);
        p.out_w = c.global ? 1 : pool_out(c.w, c.kw, c.sw, c.pw, c.full);
        const auto in = test::random_floats(c.batch * c.h * c.w * c.c);
        const auto in2 = test::random_floats(in.size());
        const auto want = pool_twin(p, in), want2 = pool_twin(p, in2);
        char what[160];
        std::snprintf(what, sizeof what, "%s pool n%lld %lldx%lldx%lld k%lldx%lld s%lldx%lld "
                      "p%lldx%lld -> %lldx%lld%s%s", kind == PoolKind::kMax ? "max" : "avg",
                      (long long)c.batch, (long long)c.h, (long long)c.w, (long long)c.c,
                      (long long)c.kh, (long long)c.kw, (long long)c.sh, (long long)c.sw,
                      (long long)c.ph, (long long)c.pw, (long long)p.out_h, (long long)p.out_w,
                      c.full ? " full" : "", kind == PoolKind::kAvg && include_pad
                                                 ? " count_include_pad" : "");
        const std::vector<Backend> backends = {
            {"make_pool2d", [&] { return make_pool2d(p); }},
            {"portable", [&] { return make_pool2d_portable(p); }},
            {"xnnpack", [&] { return make_pool2d_xnnpack(p); }},
            {"reference", [&] { return make_pool2d_reference(p); }},
        };
        for (const Backend& b : backends) check_layer(what, b, in, want, in2, want2);
        // XNNPACK must keep the cases it computes as MXNet does (else the checks above would
        // pass on the portable fallback alone).
        const bool padded_avg = kind == PoolKind::kAvg && include_pad && (c.ph > 0 || c.pw > 0);
        if (xnnpack_available() && c.xnnpack && !padded_avg)
          CHECK(make_pool2d_xnnpack(p) != nullptr, "%s: XNNPACK takes it", what);
      }
}

// A convolution kernel larger than the padded input (which MXNet refuses) must never reach
// XNNPACK, whose Debian build aborts on it. (Pooling reaches it only with the far padding
// that makes the window fit: the pool case list holds one.)
void test_xnnpack_declines_kernels_past_the_input() {
  Conv2DParams p;
  p.in_h = p.in_w = 4, p.in_channels = 2, p.out_channels = 3, p.kernel_h = p.kernel_w = 5;
  p.stride_h = p.stride_w = 3;
  const auto w = test::random_floats(3 * 2 * 25);
  CHECK(make_conv2d_xnnpack(p, w.data(), nullptr) == nullptr,
        "XNNPACK declines a 5x5 kernel on a 4x4 input");
  // Nor may any other path compute one (each refuses it with the reason).
  for (auto make : {&conv2d_default, &make_conv2d_portable, &make_conv2d_reference}) {
    std::string what;
    try {
      make(p, w.data(), nullptr);
    } catch (const std::invalid_argument& e) {
      what = e.what();
    }
    CHECK(what.find("larger than the padded input") != std::string::npos,
          "a 5x5 kernel on a 4x4 input is refused: '%s'", what.c_str());
  }
}

void test_dispatch() {
  // The backend is the caller's choice per layer (a predictor's setting).
  {
    Pool2DParams q;
    q.in_h = q.in_w = 4, q.channels = 3, q.kernel_h = q.kernel_w = 2, q.stride_h = q.stride_w = 2;
    q.out_h = q.out_w = 2;
    CHECK(std::string(make_pool2d(q, FloatBackend::kPortable)->backend()) == "portable",
          "make_pool2d(kPortable) is portable");
    CHECK(std::string(float_backend_name(FloatBackend::kReference)) == "reference",
          "float_backend_name(kReference)");
    if (xnnpack_available()) {
      CHECK(std::string(make_pool2d(q, FloatBackend::kXnnpack)->backend()) == "xnnpack",
            "make_pool2d(kXnnpack) is XNNPACK");
    } else {
      CHECK(!float_backend_problem(FloatBackend::kXnnpack).empty(),
            "xnnpack without XNNPACK is a problem");
    }
  }
  const std::string name = float_backend_name();
  std::printf("float backend: %s (XNNPACK %s)\n", name.c_str(),
              xnnpack_available() ? "available" : "not in this build");
  const char* pinned = std::getenv("BMXNET_FLOAT_BACKEND");
  if (pinned == nullptr || *pinned == '\0')
    CHECK(name == (xnnpack_available() ? "xnnpack" : "portable"),
          "float_backend_name %s prefers XNNPACK when available", name.c_str());
  Pool2DParams p;
  p.in_h = p.in_w = 5, p.channels = 4, p.kernel_h = p.kernel_w = 3, p.pad_h = p.pad_w = 1;
  p.out_h = p.out_w = 5, p.kind = PoolKind::kAvg, p.count_include_pad = true;
  auto layer = make_pool2d(p);
  if (name == "reference") {  // pinned to the plain loops: every layer is one
    CHECK(layer && std::string(layer->backend()) == "reference", "pinned reference (got %s)",
          layer ? layer->backend() : "null");
    return;
  }
  CHECK(layer && std::string(layer->backend()) == "portable",
        "avg pooling that counts padding falls back to portable (got %s)",
        layer ? layer->backend() : "null");

  // GEMM layers go to XNNPACK only where its GEMM is the faster (or where it is pinned); a
  // depthwise convolution goes wherever XNNPACK is chosen.
  const bool xnn = name == "xnnpack";
  const bool pinned_xnn = pinned != nullptr && std::string(pinned) == "xnnpack";
  const std::string gemm_backend =
      xnn && (xnnpack_gemm_is_faster() || pinned_xnn) ? "xnnpack" : "portable";
  Conv2DParams c;
  c.in_h = c.in_w = 9, c.in_channels = c.out_channels = 16, c.kernel_h = c.kernel_w = 3;
  const auto w = test::random_floats(16 * 16 * 9);
  auto conv = make_conv2d(c, w.data(), nullptr);
  CHECK(conv && conv->backend() == gemm_backend, "a 3x3 conv runs on %s (got %s)",
        gemm_backend.c_str(), conv ? conv->backend() : "null");
  auto dense = make_dense(1, 16, 9, w.data(), nullptr);
  CHECK(dense && dense->backend() == gemm_backend, "a dense layer runs on %s (got %s)",
        gemm_backend.c_str(), dense ? dense->backend() : "null");
  c.groups = 16;
  auto depthwise = make_conv2d(c, w.data(), nullptr);
  CHECK(depthwise && depthwise->backend() == (xnn ? std::string("xnnpack") : "portable"),
        "a depthwise conv runs on %s (got %s)", xnn ? "xnnpack" : "portable",
        depthwise ? depthwise->backend() : "null");
}

}  // namespace

int main() {
  test_dispatch();
  test_xnnpack_declines_kernels_past_the_input();
  test_conv();
  test_layers_copy_their_weights();
  test_dense();
  test_pool();
  return test::summary();
}

// Every float op of the runtime on small graphs built here, against plain NCHW loops written
// in this file (MXNet's definitions), over shapes where the NHWC storage matters (H * W > 1,
// odd sizes, padding, groups, broadcasting, axes).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "layout.h"
#include "runtime_test_util.h"

using rtest::Attrs;
using rtest::Graph;
using rtest::Params;
using Vec = std::vector<float>;
using Dims = std::vector<int64_t>;

namespace {

std::vector<uint32_t> u32(const Dims& d) { return std::vector<uint32_t>(d.begin(), d.end()); }
int64_t count(const Dims& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

// Runs json on x and compares output 0 with `expected` (shape and values).
void check(const char* what, const std::string& json, const std::string& params, const Dims& in,
           const Vec& x, const Dims& out_shape, const Vec& expected, float tol = 1e-5f) {
  std::vector<uint32_t> shape;
  const Vec y = rtest::run(json, params, u32(in), x, &shape);
  float scale = 1.0f;
  for (float v : expected) scale = std::max(scale, std::fabs(v));
  const float diff = rtest::max_diff(y, expected);
  CHECK(shape == u32(out_shape) && diff <= tol * scale, "%s: max diff %g (scale %g), %zu values",
        what, diff, scale, y.size());
}

std::string str(int64_t v) { return std::to_string(v); }
std::string pair(int64_t a, int64_t b) { return "(" + str(a) + ", " + str(b) + ")"; }

// ---- references on logical NCHW data -----------------------------------------------------

struct ConvCase {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, g;
  bool bias;
};

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

Vec conv_ref(const ConvCase& t, const Vec& x, const Vec& w, const Vec& b) {
  const int64_t oh = conv_out(t.h, t.kh, t.sh, t.ph, t.dh), ow = conv_out(t.w, t.kw, t.sw, t.pw, t.dw);
  const int64_t cg = t.c / t.g, og = t.o / t.g;
  Vec y(t.n * t.o * oh * ow);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t o = 0; o < t.o; ++o)
      for (int64_t yy = 0; yy < oh; ++yy)
        for (int64_t xx = 0; xx < ow; ++xx) {
          double acc = t.bias ? b[o] : 0.0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < t.kh; ++ky)
              for (int64_t kx = 0; kx < t.kw; ++kx) {
                const int64_t iy = yy * t.sh - t.ph + ky * t.dh, ix = xx * t.sw - t.pw + kx * t.dw;
                if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
                const int64_t ic = (o / og) * cg + c;
                acc += double(x[((n * t.c + ic) * t.h + iy) * t.w + ix]) *
                       w[((o * cg + c) * t.kh + ky) * t.kw + kx];
              }
          y[((n * t.o + o) * oh + yy) * ow + xx] = static_cast<float>(acc);
        }
  return y;
}

// The edge copies between the caller's NCHW and the NHWC storage, against the index formula,
// over sizes on both sides of the transpose's 16 x 16 blocks; and back again.
void test_layout_copies() {
  for (int64_t n : {1, 2})
    for (int64_t c : {1, 3, 16, 17, 64})
      for (int64_t hw : {1, 15, 16, 33, 49}) {
        Vec nchw(n * c * hw), nhwc(nchw.size()), back(nchw.size());
        for (size_t i = 0; i < nchw.size(); ++i) nchw[i] = static_cast<float>(i);
        bmx::rt::nchw_to_nhwc(nchw.data(), n, c, hw, nhwc.data());
        bool ok = true;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < hw; ++p)
              ok = ok && nhwc[(b * hw + p) * c + ch] == nchw[(b * c + ch) * hw + p];
        bmx::rt::nhwc_to_nchw(nhwc.data(), n, c, hw, back.data());
        CHECK(ok && back == nchw, "layout copies n=%lld c=%lld hw=%lld", (long long)n,
              (long long)c, (long long)hw);
      }
}

void test_convolution() {
  const ConvCase cases[] = {
      {1, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true},
      {2, 4, 8, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2, false},
      {1, 5, 9, 9, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1, true},
      {1, 6, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6, true},   // depthwise
      {1, 3, 11, 10, 8, 7, 5, 2, 3, 3, 2, 1, 1, 1, true},  // stem-like, asymmetric
      {1, 8, 4, 4, 5, 1, 1, 2, 2, 0, 0, 1, 1, 1, false},  // 1x1 stride 2
  };
  for (const ConvCase& t : cases) {
    Graph g;
    const int data = g.var("data"), w = g.var("c_weight");
    std::vector<int> ins = {data, w};
    if (t.bias) ins.push_back(g.var("c_bias"));
    const int conv = g.op("Convolution", "c",
                          {{"kernel", pair(t.kh, t.kw)}, {"stride", pair(t.sh, t.sw)},
                           {"pad", pair(t.ph, t.pw)}, {"dilate", pair(t.dh, t.dw)},
                           {"num_filter", str(t.o)}, {"num_group", str(t.g)},
                           {"no_bias", t.bias ? "False" : "True"}},
                          ins);
    const Vec x = rtest::random_floats(t.n * t.c * t.h * t.w);
    const Vec w_ = rtest::random_floats(t.o * (t.c / t.g) * t.kh * t.kw);
    const Vec b = rtest::random_floats(t.o);
    Params p;
    p.f32("arg:c_weight", {t.o, t.c / t.g, t.kh, t.kw}, w_);
    if (t.bias) p.f32("arg:c_bias", {t.o}, b);
    const Dims out = {t.n, t.o, conv_out(t.h, t.kh, t.sh, t.ph, t.dh), conv_out(t.w, t.kw, t.sw, t.pw, t.dw)};
    char what[96];
    std::snprintf(what, sizeof what, "Convolution %lldx%lld g%lld s%lld d%lld",
                  (long long)t.kh, (long long)t.kw, (long long)t.g, (long long)t.sh, (long long)t.dh);
    check(what, g.json({conv}), p.bytes(), {t.n, t.c, t.h, t.w}, x, out, conv_ref(t, x, w_, b));
  }
  // A (dilated) kernel larger than the padded input is refused at creation, with any stride.
  struct Past { const char* kernel; const char* stride; const char* dilate; const char* expect; };
  for (const Past& t : {Past{"(5, 5)", "(3, 3)", "(1, 1)", "the dilated kernel (5x5) is larger than the padded input (4x4)"},
                        Past{"(3, 3)", "(2, 2)", "(1, 3)", "the dilated kernel (3x7) is larger than the padded input (4x4)"},
                        Past{"(5, 1)", "(1, 1)", "(1, 1)", "the dilated kernel (5x1) is larger than the padded input (4x4)"}}) {
    Graph g;
    const int conv = g.op("Convolution", "c", {{"kernel", t.kernel}, {"stride", t.stride},
                                               {"dilate", t.dilate}, {"num_filter", "3"},
                                               {"no_bias", "True"}},
                          {g.var("data"), g.var("c_weight")});
    Params p;
    int64_t kh = t.kernel[1] - '0', kw = t.kernel[4] - '0';
    p.f32("arg:c_weight", {3, 2, kh, kw}, rtest::random_floats(6 * kh * kw));
    std::string error;
    CHECK(rtest::create(g.json({conv}), p.bytes(), {1, 2, 4, 4}, &error) == nullptr &&
              error.find(std::string("node 'c' (Convolution): ") + t.expect) != std::string::npos,
          "kernel %s dilate %s stride %s: %s", t.kernel, t.dilate, t.stride, error.c_str());
  }
  // Attribute values out of range name the attribute (shared with bmx_binary_conv2d).
  struct Bad { const char* key; const char* value; const char* expect; };
  for (const Bad& t : {Bad{"stride", "(0, 1)", "attribute 'stride' of node 'c' (Convolution) must be positive"},
                       Bad{"pad", "(1, 33554432)", "attribute 'pad' of node 'c' (Convolution) must be non-negative and at most 16777216"},
                       Bad{"num_group", "2", "attribute 'num_group' of node 'c' (Convolution) must divide num_filter"}}) {
    Graph g;
    Attrs attrs = {{"kernel", "(3, 3)"}, {"num_filter", "3"}, {"no_bias", "True"}};
    attrs[t.key] = t.value;
    const int conv = g.op("Convolution", "c", attrs, {g.var("data"), g.var("c_weight")});
    Params p;
    p.f32("arg:c_weight", {3, 2, 3, 3}, rtest::random_floats(54));
    std::string error;
    CHECK(rtest::create(g.json({conv}), p.bytes(), {1, 2, 4, 4}, &error) == nullptr &&
              error.find(t.expect) != std::string::npos,
          "%s=%s: %s", t.key, t.value, error.c_str());
  }
  {  // 3 groups of 3 filters over 2 input channels
    Graph g;
    const int conv = g.op("Convolution", "c", {{"kernel", "(3, 3)"}, {"num_filter", "9"},
                                               {"num_group", "3"}, {"no_bias", "True"}},
                          {g.var("data"), g.var("c_weight")});
    Params p;
    p.f32("arg:c_weight", {9, 1, 3, 3}, rtest::random_floats(81));
    std::string error;
    CHECK(rtest::create(g.json({conv}), p.bytes(), {1, 2, 4, 4}, &error) == nullptr &&
              error.find("num_group=3 must divide the input channels (2)") != std::string::npos,
          "num_group 3 over 2 channels: %s", error.c_str());
  }
  {
    Graph g;
    const int pool = g.op("Pooling", "q", {{"kernel", "(2, 0)"}, {"pool_type", "max"}}, {g.var("data")});
    std::string error;
    CHECK(rtest::create(g.json({pool}), Params().bytes(), {1, 2, 4, 4}, &error) == nullptr &&
              error.find("attribute 'kernel' of node 'q' (Pooling) must be positive") != std::string::npos,
          "pooling kernel (2, 0): %s", error.c_str());
  }
}

void test_pooling() {
  struct Case {
    int64_t h, w, k, s, p;
    const char* type;
    const char* convention;
    bool include_pad, global;
  };
  const Case cases[] = {
      {7, 9, 3, 2, 1, "max", "valid", true, false},
      {8, 8, 2, 2, 0, "avg", "valid", true, false},
      {7, 7, 3, 2, 1, "avg", "full", true, false},
      {7, 6, 3, 2, 1, "avg", "full", false, false},
      {6, 7, 3, 2, 0, "max", "full", true, false},
      {5, 7, 1, 1, 0, "avg", "valid", true, true},
      {5, 7, 1, 1, 0, "max", "valid", true, true},
  };
  for (const Case& t : cases) {
    const int64_t n = 2, c = 3;
    Graph g;
    const int data = g.var("data");
    Attrs a = {{"kernel", pair(t.k, t.k)}, {"stride", pair(t.s, t.s)}, {"pad", pair(t.p, t.p)},
               {"pool_type", t.type}, {"pooling_convention", t.convention},
               {"count_include_pad", t.include_pad ? "True" : "False"},
               {"global_pool", t.global ? "True" : "False"}};
    const int pool = g.op("Pooling", "pool", a, {data});
    const bool max = std::string(t.type) == "max";
    int64_t kh = t.k, kw = t.k, s = t.s, p = t.p, oh, ow;
    if (t.global) {
      kh = t.h, kw = t.w, s = 1, p = 0, oh = ow = 1;
    } else if (std::string(t.convention) == "valid") {
      oh = 1 + (t.h + 2 * p - kh) / s, ow = 1 + (t.w + 2 * p - kw) / s;
    } else {
      oh = 1 + static_cast<int64_t>(std::ceil(double(t.h + 2 * p - kh) / s));
      ow = 1 + static_cast<int64_t>(std::ceil(double(t.w + 2 * p - kw) / s));
    }
    const Vec x = rtest::random_floats(n * c * t.h * t.w);
    Vec y(n * c * oh * ow);
    for (int64_t b = 0; b < n * c; ++b)
      for (int64_t yy = 0; yy < oh; ++yy)
        for (int64_t xx = 0; xx < ow; ++xx) {
          int64_t y0 = yy * s - p, x0 = xx * s - p;
          int64_t y1 = std::min(y0 + kh, t.h + p), x1 = std::min(x0 + kw, t.w + p);
          const int64_t padded = (y1 - y0) * (x1 - x0);
          y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0);
          y1 = std::min(y1, t.h), x1 = std::min(x1, t.w);
          double acc = max ? -1e30 : 0.0;
          for (int64_t iy = y0; iy < y1; ++iy)
            for (int64_t ix = x0; ix < x1; ++ix) {
              const double v = x[(b * t.h + iy) * t.w + ix];
              acc = max ? std::max(acc, v) : acc + v;
            }
          if (!max) acc /= t.include_pad ? padded : (y1 - y0) * (x1 - x0);
          y[(b * oh + yy) * ow + xx] = static_cast<float>(acc);
        }
    char what[96];
    std::snprintf(what, sizeof what, "Pooling %s %s k%lld s%lld p%lld%s%s", t.type, t.convention,
                  (long long)t.k, (long long)t.s, (long long)t.p, t.include_pad ? "" : " exclude-pad",
                  t.global ? " global" : "");
    check(what, g.json({pool}), Params().bytes(), {n, c, t.h, t.w}, x, {n, c, oh, ow}, y);
  }
}

void test_fully_connected() {
  // flatten=True on 4-D data with H * W > 1: MXNet flattens C, H, W in that order.
  for (bool bias : {true, false}) {
    const int64_t n = 2, c = 3, h = 2, w = 5, hidden = 7, k = c * h * w;
    Graph g;
    const int data = g.var("data"), wt = g.var("fc_weight");
    std::vector<int> ins = {data, wt};
    if (bias) ins.push_back(g.var("fc_bias"));
    const int fc = g.op("FullyConnected", "fc", {{"num_hidden", str(hidden)}, {"no_bias", bias ? "False" : "True"}}, ins);
    const Vec x = rtest::random_floats(n * k), W = rtest::random_floats(hidden * k),
              b = rtest::random_floats(hidden);
    Params p;
    p.f32("arg:fc_weight", {hidden, k}, W);
    if (bias) p.f32("arg:fc_bias", {hidden}, b);
    Vec y(n * hidden);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < hidden; ++j) {
        double acc = bias ? b[j] : 0.0;
        for (int64_t i = 0; i < k; ++i) acc += double(x[r * k + i]) * W[j * k + i];
        y[r * hidden + j] = static_cast<float>(acc);
      }
    check(bias ? "FullyConnected flatten 4-D" : "FullyConnected flatten 4-D no_bias", g.json({fc}),
          p.bytes(), {n, c, h, w}, x, {n, hidden}, y);
  }
  // flatten=False on 4-D data: a dense layer over the last (W) axis.
  {
    const int64_t n = 2, c = 3, h = 4, w = 5, hidden = 6;
    Graph g;
    const int data = g.var("data"), wt = g.var("fc_weight"), bs = g.var("fc_bias");
    const int fc = g.op("FullyConnected", "fc", {{"num_hidden", str(hidden)}, {"flatten", "False"}}, {data, wt, bs});
    const Vec x = rtest::random_floats(n * c * h * w), W = rtest::random_floats(hidden * w),
              b = rtest::random_floats(hidden);
    Params p;
    p.f32("arg:fc_weight", {hidden, w}, W);
    p.f32("arg:fc_bias", {hidden}, b);
    const int64_t rows = n * c * h;
    Vec y(rows * hidden);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < hidden; ++j) {
        double acc = b[j];
        for (int64_t i = 0; i < w; ++i) acc += double(x[r * w + i]) * W[j * w + i];
        y[r * hidden + j] = static_cast<float>(acc);
      }
    check("FullyConnected flatten=False 4-D", g.json({fc}), p.bytes(), {n, c, h, w}, x, {n, c, h, hidden}, y);
  }
}

void test_batch_norm() {
  for (bool fix_gamma : {true, false}) {
    for (int axis : {1, -1}) {
      const Dims s = {2, 3, 4, 5};
      const int64_t c = axis == 1 ? 3 : 5;
      Graph g;
      const int data = g.var("data");
      const int bn = g.op("BatchNorm", "bn",
                          {{"eps", "0.001"}, {"fix_gamma", fix_gamma ? "True" : "False"},
                           {"use_global_stats", "True"}, {"axis", str(axis)}},
                          {data, g.var("bn_gamma"), g.var("bn_beta"), g.var("bn_moving_mean"),
                           g.var("bn_moving_var")});
      const Vec gamma = rtest::random_floats(c, 0.5f, 2.0f), beta = rtest::random_floats(c),
                mean = rtest::random_floats(c), var = rtest::random_floats(c, 0.5f, 2.0f);
      Params p;
      p.f32("arg:bn_gamma", {c}, gamma);
      p.f32("arg:bn_beta", {c}, beta);
      p.f32("aux:bn_moving_mean", {c}, mean);
      p.f32("aux:bn_moving_var", {c}, var);
      const Vec x = rtest::random_floats(count(s));
      Vec y(x.size());
      for (int64_t i = 0; i < count(s); ++i) {
        const int64_t ch = axis == 1 ? (i / 20) % 3 : i % 5;
        const double gm = fix_gamma ? 1.0 : gamma[ch];
        y[i] = static_cast<float>((x[i] - mean[ch]) / std::sqrt(double(var[ch]) + 0.001) * gm + beta[ch]);
      }
      char what[64];
      std::snprintf(what, sizeof what, "BatchNorm axis %d fix_gamma %d", axis, fix_gamma);
      check(what, g.json({bn}), p.bytes(), s, x, s, y);
    }
  }
}

// One-input elementwise ops: graph data -> op(attrs) against f.
template <typename F>
void check_unary(const char* op, const Attrs& attrs, F f) {
  const Dims s = {2, 3, 4, 5};
  Graph g;
  const int data = g.var("data");
  const int node = g.op(op, "u", attrs, {data});
  const Vec x = rtest::random_floats(count(s), -3.0f, 3.0f);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = f(x[i]);
  std::string what = std::string(op);
  for (const auto& kv : attrs) what += " " + kv.first + "=" + kv.second;
  check(what.c_str(), g.json({node}), Params().bytes(), s, x, s, y);
}

void test_unary() {
  check_unary("Activation", {{"act_type", "relu"}}, [](float v) { return v > 0 ? v : 0.0f; });
  check_unary("Activation", {{"act_type", "sigmoid"}}, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
  check_unary("Activation", {{"act_type", "tanh"}}, [](float v) { return std::tanh(v); });
  check_unary("Activation", {{"act_type", "softrelu"}}, [](float v) { return std::log(1.0f + std::exp(v)); });
  check_unary("Activation", {{"act_type", "softsign"}}, [](float v) { return v / (1.0f + std::fabs(v)); });
  check_unary("relu", {}, [](float v) { return v > 0 ? v : 0.0f; });
  check_unary("LeakyReLU", {{"act_type", "leaky"}, {"slope", "0.1"}}, [](float v) { return v > 0 ? v : 0.1f * v; });
  check_unary("LeakyReLU", {{"act_type", "elu"}, {"slope", "0.7"}}, [](float v) { return v > 0 ? v : 0.7f * (std::exp(v) - 1.0f); });
  check_unary("bmx_det_sign", {{"clip_threshold", "1.0"}}, [](float v) { return v >= 0 ? 1.0f : -1.0f; });
  check_unary("bmx_approx_sign", {}, [](float v) { return v >= 0 ? 1.0f : -1.0f; });
  check_unary("abs", {}, [](float v) { return std::fabs(v); });
  check_unary("clip", {{"a_min", "-0.5"}, {"a_max", "1.5"}}, [](float v) { return std::min(1.5f, std::max(-0.5f, v)); });
  check_unary("_plus_scalar", {{"scalar", "2.5"}}, [](float v) { return v + 2.5f; });
  check_unary("_minus_scalar", {{"scalar", "2.5"}}, [](float v) { return v - 2.5f; });
  check_unary("_rminus_scalar", {{"scalar", "2.5"}}, [](float v) { return 2.5f - v; });
  check_unary("_mul_scalar", {{"scalar", "-3"}}, [](float v) { return v * -3.0f; });
  check_unary("_div_scalar", {{"scalar", "4"}}, [](float v) { return v / 4.0f; });
  check_unary("Dropout", {{"p", "0.5"}}, [](float v) { return v; });
  check_unary("BlockGrad", {}, [](float v) { return v; });
  check_unary("identity", {}, [](float v) { return v; });
}

void test_prelu() {
  const Dims s = {2, 3, 4, 5};
  Graph g;
  const int data = g.var("data");
  const int node = g.op("LeakyReLU", "pr", {{"act_type", "prelu"}}, {data, g.var("pr_gamma")});
  const Vec gamma = {0.1f, 0.2f, 0.3f};
  Params p;
  p.f32("arg:pr_gamma", {3}, gamma);
  const Vec x = rtest::random_floats(count(s));
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : gamma[(i / 20) % 3] * x[i];
  check("LeakyReLU prelu", g.json({node}), p.bytes(), s, x, s, y);
}

// Binary ops of two computed 4-D values (data and data * 2 + 1 through a scalar chain) or of
// data and a parameter, with broadcasting over NCHW axes.
void test_binary_elementwise() {
  struct Case {
    const char* op;
    Dims other;  // shape of the second operand (a parameter)
    float (*f)(float, float);
  };
  const Case cases[] = {
      {"broadcast_add", {1, 3, 1, 1}, [](float a, float b) { return a + b; }},
      {"broadcast_mul", {1, 1, 4, 1}, [](float a, float b) { return a * b; }},
      {"broadcast_sub", {1, 1, 1, 5}, [](float a, float b) { return a - b; }},
      {"broadcast_div", {2, 1, 4, 5}, [](float a, float b) { return a / b; }},
      {"broadcast_add", {3, 1, 1}, [](float a, float b) { return a + b; }},  // fewer axes
      {"broadcast_maximum", {5}, [](float a, float b) { return std::max(a, b); }},
      {"elemwise_add", {2, 3, 4, 5}, [](float a, float b) { return a + b; }},
      {"elemwise_mul", {2, 3, 4, 5}, [](float a, float b) { return a * b; }},
      {"elemwise_sub", {2, 3, 4, 5}, [](float a, float b) { return a - b; }},
      {"elemwise_div", {2, 3, 4, 5}, [](float a, float b) { return a / b; }},
      {"_plus", {2, 3, 4, 5}, [](float a, float b) { return a + b; }},
      {"_Plus", {2, 3, 4, 5}, [](float a, float b) { return a + b; }},
  };
  const Dims s = {2, 3, 4, 5};
  for (const Case& t : cases) {
    Graph g;
    const int data = g.var("data");
    const int node = g.op(t.op, "e", {}, {data, g.var("e_other")});
    const Vec x = rtest::random_floats(count(s));
    const Vec o = rtest::random_floats(count(t.other), 0.5f, 2.0f);
    Params p;
    p.f32("arg:e_other", t.other, o);
    // Broadcast the other operand over s by NumPy's rules.
    Dims od(4 - t.other.size(), 1);
    od.insert(od.end(), t.other.begin(), t.other.end());
    Vec y(x.size());
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t h = 0; h < 4; ++h)
          for (int64_t w = 0; w < 5; ++w) {
            const int64_t i = ((n * 3 + c) * 4 + h) * 5 + w;
            const int64_t j = (((od[0] > 1 ? n : 0) * od[1] + (od[1] > 1 ? c : 0)) * od[2] +
                               (od[2] > 1 ? h : 0)) * od[3] + (od[3] > 1 ? w : 0);
            y[i] = t.f(x[i], o[j]);
          }
    std::string what = std::string(t.op) + " with " + std::to_string(t.other.size()) + "-D operand";
    check(what.c_str(), g.json({node}), p.bytes(), s, x, s, y);
  }
  // Two computed branches, one broadcast from a global pool: x * avgpool(x) + x.
  {
    Graph g;
    const int data = g.var("data");
    const int pool = g.op("Pooling", "gp", {{"kernel", "(1, 1)"}, {"global_pool", "True"}, {"pool_type", "avg"}}, {data});
    const int mul = g.op("broadcast_mul", "m", {}, {data, pool});
    const int add = g.op("elemwise_add", "a", {}, {mul, data});
    const int sum = g.op("add_n", "s", {{"num_args", "3"}}, {add, data, add});
    const Vec x = rtest::random_floats(count(s));
    Vec y(x.size());
    for (int64_t nc = 0; nc < 6; ++nc) {
      double mean = 0;
      for (int64_t i = 0; i < 20; ++i) mean += x[nc * 20 + i];
      mean /= 20;
      for (int64_t i = 0; i < 20; ++i) {
        const float v = x[nc * 20 + i];
        const float a = v * static_cast<float>(mean) + v;
        y[nc * 20 + i] = a + v + a;
      }
    }
    check("broadcast_mul by a global pool, elemwise_add, add_n", g.json({sum}), Params().bytes(), s, x, s, y);
  }
}

void test_shape_ops() {
  const Dims s = {2, 3, 4, 5};
  const Vec x = rtest::random_floats(count(s));
  {
    Graph g;
    const int f = g.op("Flatten", "f", {}, {g.var("data")});
    check("Flatten 4-D (C, H, W order)", g.json({f}), Params().bytes(), s, x, {2, 60}, x);
  }
  struct R {
    const char* shape;
    Dims out;
    const char* reverse;
  };
  const R reshapes[] = {
      {"(0, -1)", {2, 60}, "False"},
      {"(-1, 5)", {24, 5}, "False"},
      {"(0, -3, 0)", {2, 12, 5}, "False"},
      {"(-2,)", {2, 3, 4, 5}, "False"},
      {"(0, 0, -4, 2, -1, 0)", {2, 3, 2, 2, 5}, "False"},
      {"(2, 12, 5, 1)", {2, 12, 5, 1}, "False"},
      {"(6, 2, 10, 1)", {6, 2, 10, 1}, "False"},
      {"(-1, 0)", {24, 5}, "True"},
  };
  for (const R& r : reshapes) {
    Graph g;
    const int node = g.op("Reshape", "r", {{"shape", r.shape}, {"reverse", r.reverse}}, {g.var("data")});
    std::string what = std::string("Reshape ") + r.shape;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, r.out, x);
  }
  // Reshape of a 4-D value into another 4-D value and back through a conv-free chain.
  {
    Graph g;
    const int r1 = g.op("Reshape", "r1", {{"shape", "(2, 6, 2, 5)"}}, {g.var("data")});
    const int a = g.op("_mul_scalar", "m", {{"scalar", "2"}}, {r1});
    const int r2 = g.op("Reshape", "r2", {{"shape", "(0, 3, 4, 5)"}}, {a});
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = 2 * x[i];
    check("Reshape 4-D -> 4-D -> 4-D", g.json({r2}), Params().bytes(), s, x, s, y);
  }
  // Concat along each axis of two branches (data and data + 1).
  for (int dim : {0, 1, 2, 3, -1}) {
    Graph g;
    const int data = g.var("data");
    const int b = g.op("_plus_scalar", "b", {{"scalar", "1"}}, {data});
    const int c = g.op("Concat", "c", {{"dim", str(dim)}, {"num_args", "2"}}, {data, b});
    const int d = dim < 0 ? dim + 4 : dim;
    Dims out = s;
    out[d] *= 2;
    Vec y(x.size() * 2);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < d; ++i) outer *= s[i];
    for (int i = d; i < 4; ++i) inner *= s[i];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        y[o * 2 * inner + i] = x[o * inner + i];
        y[o * 2 * inner + inner + i] = x[o * inner + i] + 1;
      }
    std::string what = "Concat dim " + std::to_string(dim);
    check(what.c_str(), g.json({c}), Params().bytes(), s, x, out, y);
  }
}

// Reads x (logical NCHW, shape s) at box begin..begin+out.
Vec box(const Vec& x, const Dims& s, const Dims& begin, const Dims& out) {
  Vec y;
  for (int64_t n = 0; n < out[0]; ++n)
    for (int64_t c = 0; c < out[1]; ++c)
      for (int64_t h = 0; h < out[2]; ++h)
        for (int64_t w = 0; w < out[3]; ++w)
          y.push_back(x[(((n + begin[0]) * s[1] + c + begin[1]) * s[2] + h + begin[2]) * s[3] + w + begin[3]]);
  return y;
}

void test_slice() {
  const Dims s = {2, 6, 4, 5};
  const Vec x = rtest::random_floats(count(s));
  struct A {
    const char* axis;
    const char* begin;
    const char* end;
    Dims b, out;
  };
  const A axes[] = {
      {"1", "0", "4", {0, 0, 0, 0}, {2, 4, 4, 5}},
      {"1", "2", "None", {0, 2, 0, 0}, {2, 4, 4, 5}},
      {"-1", "1", "-1", {0, 0, 0, 1}, {2, 6, 4, 3}},
      {"2", "-3", "4", {0, 0, 1, 0}, {2, 6, 3, 5}},
      {"0", "1", "2", {1, 0, 0, 0}, {1, 6, 4, 5}},
  };
  for (const A& t : axes) {
    Graph g;
    const int node = g.op("slice_axis", "sl", {{"axis", t.axis}, {"begin", t.begin}, {"end", t.end}}, {g.var("data")});
    std::string what = std::string("slice_axis axis ") + t.axis + " " + t.begin + ":" + t.end;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, t.out, box(x, s, t.b, t.out));
  }
  Graph g;
  const int node = g.op("slice", "sl", {{"begin", "(None, 1, 1)"}, {"end", "(None, 5, -1)"}}, {g.var("data")});
  check("slice (None, 1, 1):(None, 5, -1)", g.json({node}), Params().bytes(), s, x, {2, 4, 2, 5},
        box(x, s, {0, 1, 1, 0}, {2, 4, 2, 5}));
}

void test_transpose_and_axes() {
  const Dims s = {2, 3, 4, 5};
  const Vec x = rtest::random_floats(count(s));
  const std::vector<std::vector<int>> perms = {{0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}};
  for (const auto& perm : perms) {
    Graph g;
    const std::string axes = "(" + str(perm[0]) + ", " + str(perm[1]) + ", " + str(perm[2]) + ", " + str(perm[3]) + ")";
    const int node = g.op("transpose", "t", {{"axes", axes}}, {g.var("data")});
    Dims out;
    for (int a : perm) out.push_back(s[a]);
    Vec y(x.size());
    int64_t i = 0;
    int64_t idx[4];
    for (idx[0] = 0; idx[0] < out[0]; ++idx[0])
      for (idx[1] = 0; idx[1] < out[1]; ++idx[1])
        for (idx[2] = 0; idx[2] < out[2]; ++idx[2])
          for (idx[3] = 0; idx[3] < out[3]; ++idx[3]) {
            int64_t in_idx[4];
            for (int a = 0; a < 4; ++a) in_idx[perm[a]] = idx[a];
            y[i++] = x[((in_idx[0] * s[1] + in_idx[1]) * s[2] + in_idx[2]) * s[3] + in_idx[3]];
          }
    std::string what = "transpose " + axes;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, out, y);
    if (perm == std::vector<int>{1, 0, 2, 3}) {
      Graph g2;
      const int sw = g2.op("SwapAxis", "sw", {{"dim1", "0"}, {"dim2", "1"}}, {g2.var("data")});
      check("SwapAxis 0 1", g2.json({sw}), Params().bytes(), s, x, out, y);
    }
  }
  {
    Graph g;
    const int e = g.op("expand_dims", "e", {{"axis", "2"}}, {g.var("data")});
    const int q = g.op("squeeze", "q", {{"axis", "(2,)"}}, {e});
    const int e2 = g.op("expand_dims", "e2", {{"axis", "-1"}}, {q});
    check("expand_dims 2, squeeze 2, expand_dims -1", g.json({e2}), Params().bytes(), s, x, {2, 3, 4, 5, 1}, x);
    Graph g2;
    const int q2 = g2.op("squeeze", "q", {}, {g2.var("data")});
    check("squeeze all", g2.json({q2}), Params().bytes(), {1, 3, 1, 5}, Vec(x.begin(), x.begin() + 15), {3, 5},
          Vec(x.begin(), x.begin() + 15));
  }
}

void test_reduce() {
  struct R {
    const char* op;
    Attrs attrs;
    Dims in;
    std::vector<bool> reduced;
    Dims out;
  };
  const Dims s = {2, 3, 4, 5};
  const R cases[] = {
      {"mean", {{"axis", "(2, 3)"}, {"keepdims", "True"}}, s, {false, false, true, true}, {2, 3, 1, 1}},
      {"sum", {{"axis", "1"}}, s, {false, true, false, false}, {2, 4, 5}},
      {"max", {}, s, {true, true, true, true}, {1}},
      {"mean", {{"axis", "1"}, {"exclude", "True"}}, s, {true, false, true, true}, {3}},
      {"min", {{"axis", "-1"}}, s, {false, false, false, true}, {2, 3, 4}},
      // 4-D outputs stored NHWC (H * W > 1): the sums land in storage order.
      {"mean", {{"axis", "1"}, {"keepdims", "True"}}, s, {false, true, false, false}, {2, 1, 4, 5}},
      {"sum", {{"axis", "0"}, {"keepdims", "True"}}, s, {true, false, false, false}, {1, 3, 4, 5}},
      {"max", {{"axis", "(0, 1)"}, {"keepdims", "True"}}, s, {true, true, false, false}, {1, 1, 4, 5}},
      {"min", {{"axis", "3"}, {"keepdims", "True"}}, s, {false, false, false, true}, {2, 3, 4, 1}},
      {"sum", {{"axis", "(1, 3)"}, {"exclude", "True"}, {"keepdims", "True"}}, s,
       {true, false, true, false}, {1, 3, 1, 5}},
      // A 5-D input (row-major) reduced to a 4-D output (NHWC), and a 4-D input to 3-D.
      {"sum", {{"axis", "2"}}, {2, 3, 4, 5, 3}, {false, false, true, false, false}, {2, 3, 5, 3}},
      {"mean", {{"axis", "0"}}, {3, 2, 5, 4}, {true, false, false, false}, {2, 5, 4}},
      // Edge shapes: axes of size 1, one element.
      {"mean", {{"axis", "1"}, {"keepdims", "True"}}, {1, 1, 3, 1}, {false, true, false, false}, {1, 1, 3, 1}},
      {"sum", {{"keepdims", "True"}}, {1, 1, 1, 1}, {true, true, true, true}, {1, 1, 1, 1}},
      {"max", {{"axis", "1"}}, {1, 7, 1, 1}, {false, true, false, false}, {1, 1, 1}},
  };
  for (const R& t : cases) {
    Graph g;
    const int node = g.op(t.op, "r", t.attrs, {g.var("data")});
    const Vec x = rtest::random_floats(count(t.in));
    // Expected: walk the input, accumulate into the kept axes' row-major index.
    const int64_t n_out = count(t.out);
    const std::string op = t.op;
    std::vector<double> acc(n_out, op == "max" ? -1e30 : op == "min" ? 1e30 : 0.0);
    const int nd = static_cast<int>(t.in.size());
    int64_t per = 1;
    for (int a = 0; a < nd; ++a) per *= t.reduced[a] ? t.in[a] : 1;
    for (int64_t i = 0; i < count(t.in); ++i) {
      int64_t rem = i, o = 0, mul = 1;
      for (int a = nd - 1; a >= 0; --a) {
        const int64_t idx = rem % t.in[a];
        rem /= t.in[a];
        if (!t.reduced[a]) {
          o += idx * mul;
          mul *= t.in[a];
        }
      }
      const double v = x[i];
      if (op == "max") acc[o] = std::max(acc[o], v);
      else if (op == "min") acc[o] = std::min(acc[o], v);
      else acc[o] += v;
    }
    Vec y(n_out);
    for (int64_t i = 0; i < n_out; ++i) y[i] = static_cast<float>(op == "mean" ? acc[i] / per : acc[i]);
    std::string what = "reduce " + op + " of " + std::to_string(nd) + "-D";
    for (const auto& kv : t.attrs) what += " " + kv.first + "=" + kv.second;
    check(what.c_str(), g.json({node}), Params().bytes(), t.in, x, t.out, y);
  }
}

// _full / _ones / _zeros: values made at load, read as a Convolution's weight (a parameter)
// and as an operand of broadcast arithmetic (an activation).
void test_constants() {
  const ConvCase t = {2, 3, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, false};
  const Dims s = {t.n, t.c, t.h, t.w};
  const Vec x = rtest::random_floats(count(s));
  Graph g;
  const int data = g.var("data");
  const int w = g.op("_full", "w", {{"shape", "(4, 3, 3, 3)"}, {"value", "0.1111111111111111"}, {"dtype", "float32"}}, {});
  const int c = g.op("Convolution", "c", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "4"}, {"no_bias", "True"}},
                     {data, w});
  const int one = g.op("_ones", "one", {{"shape", "(1, 4, 1, 1)"}}, {});
  const int zero = g.op("_zeros", "zero", {{"shape", "(5, 6)"}, {"ctx", "cpu(0)"}}, {});
  const int plus = g.op("broadcast_add", "plus", {}, {c, one});
  const int out = g.op("broadcast_add", "out", {}, {plus, zero});
  const Vec ref = conv_ref(t, x, Vec(4 * 3 * 9, static_cast<float>(0.1111111111111111)), {});
  Vec y(ref.size());
  for (size_t i = 0; i < ref.size(); ++i) y[i] = ref[i] + 1.0f;
  check("_full as a conv weight, _ones and _zeros broadcast", g.json({out}), Params().bytes(), s, x,
        {t.n, 4, t.h, t.w}, y);
  // A constant as the graph's output.
  Graph g2;
  g2.var("data");
  const int full = g2.op("_full", "f", {{"shape", "(2, 3, 2, 2)"}, {"value", "-2.5"}}, {});
  check("_full as the output", g2.json({full}), Params().bytes(), s, x, {2, 3, 2, 2}, Vec(24, -2.5f));
}

// XNOR-Net's input scaling (BMXNet v2's ScaledBinaryConv): K = box3x3(mean(|x|) over the
// channels), K * y, with the box filter a _full constant.
void test_xnor_input_scaling() {
  for (const Dims& s : {Dims{2, 5, 6, 7}, Dims{1, 1, 1, 1}, Dims{1, 33, 4, 1}}) {
    const int64_t n = s[0], c = s[1], h = s[2], wd = s[3];
    Graph g;
    const int data = g.var("data");
    const int a = g.op("abs", "abs", {}, {data});
    const int m = g.op("mean", "mean", {{"axis", "1"}, {"keepdims", "True"}}, {a});
    const int box = g.op("_full", "box", {{"shape", "(1, 1, 3, 3)"}, {"value", "0.1111111111111111"}}, {});
    const int k = g.op("Convolution", "k", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "1"}, {"no_bias", "True"}},
                       {m, box});
    const int stop = g.op("BlockGrad", "stop", {}, {k});
    const int out = g.op("broadcast_mul", "scaled", {}, {stop, data});
    Vec x = rtest::random_floats(count(s), -2.0f, 2.0f);
    if (x.size() == 1) x[0] = -1.5f;  // random_floats starts with a 0
    Vec mean(n * h * wd, 0.0f);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t p = 0; p < h * wd; ++p) {
        double sum = 0;
        for (int64_t ch = 0; ch < c; ++ch) sum += std::fabs(x[(b * c + ch) * h * wd + p]);
        mean[b * h * wd + p] = static_cast<float>(sum / c);
      }
    const ConvCase box_case = {n, 1, h, wd, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, false};
    const Vec kv = conv_ref(box_case, mean, Vec(9, static_cast<float>(0.1111111111111111)), {});
    Vec y(x.size());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < h * wd; ++p) {
          y[(b * c + ch) * h * wd + p] = kv[b * h * wd + p] * x[(b * c + ch) * h * wd + p];
        }
    const std::string what = "XNOR-Net input scaling on " + std::to_string(n) + "x" + std::to_string(c) +
                             "x" + std::to_string(h) + "x" + std::to_string(wd);
    check(what.c_str(), g.json({out}), Params().bytes(), s, x, s, y);
  }
}

void test_softmax() {
  const Dims s = {2, 3, 4, 5};
  const Vec x = rtest::random_floats(count(s), -4.0f, 4.0f);
  for (int axis : {1, -1, 2}) {
    for (const char* op : {"softmax", "log_softmax"}) {
      Graph g;
      const int node = g.op(op, "sm", {{"axis", str(axis)}}, {g.var("data")});
      const int a = axis < 0 ? axis + 4 : axis;
      int64_t outer = 1, inner = 1;
      for (int i = 0; i < a; ++i) outer *= s[i];
      for (int i = a + 1; i < 4; ++i) inner *= s[i];
      const int64_t n = s[a];
      Vec y(x.size());
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          double sum = 0;
          for (int64_t k = 0; k < n; ++k) sum += std::exp(double(x[(o * n + k) * inner + i]));
          for (int64_t k = 0; k < n; ++k) {
            const double v = std::exp(double(x[(o * n + k) * inner + i])) / sum;
            y[(o * n + k) * inner + i] = static_cast<float>(std::string(op) == "softmax" ? v : std::log(v));
          }
        }
      std::string what = std::string(op) + " axis " + std::to_string(axis);
      check(what.c_str(), g.json({node}), Params().bytes(), s, x, s, y);
    }
  }
  // SoftmaxOutput with a label variable that has no value (as exported training graphs hold).
  {
    Graph g;
    const int node = g.op("SoftmaxOutput", "so", {}, {g.var("data"), g.var("so_label")});
    const Dims s2 = {3, 7};
    const Vec x2 = rtest::random_floats(21);
    Vec y(21);
    for (int r = 0; r < 3; ++r) {
      double sum = 0;
      for (int k = 0; k < 7; ++k) sum += std::exp(double(x2[r * 7 + k]));
      for (int k = 0; k < 7; ++k) y[r * 7 + k] = static_cast<float>(std::exp(double(x2[r * 7 + k])) / sum);
    }
    check("SoftmaxOutput (label not read)", g.json({node}), Params().bytes(), s2, x2, s2, y);
  }
}

void test_pad() {
  const Dims s = {1, 2, 3, 4};
  const Vec x = rtest::random_floats(count(s));
  for (const char* mode : {"constant", "edge", "reflect"}) {
    Graph g;
    const int node = g.op("Pad", "p", {{"mode", mode}, {"pad_width", "(0, 0, 0, 0, 1, 2, 2, 1)"},
                                        {"constant_value", "0.75"}}, {g.var("data")});
    const int64_t oh = 6, ow = 7;
    Vec y(2 * oh * ow);
    auto src = [&](int64_t o, int64_t before, int64_t n) -> int64_t {
      int64_t i = o - before;
      if (i >= 0 && i < n) return i;
      if (std::string(mode) == "constant") return -1;
      if (std::string(mode) == "edge") return i < 0 ? 0 : n - 1;
      return i < 0 ? -i : 2 * (n - 1) - i;
    };
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t yy = 0; yy < oh; ++yy)
        for (int64_t xx = 0; xx < ow; ++xx) {
          const int64_t sy = src(yy, 1, 3), sx = src(xx, 2, 4);
          y[(c * oh + yy) * ow + xx] = sy < 0 || sx < 0 ? 0.75f : x[(c * 3 + sy) * 4 + sx];
        }
    std::string what = std::string("Pad ") + mode;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, {1, 2, oh, ow}, y);
  }
}

// Several heads, one of them an intermediate value that later nodes also read, and a value
// read by many nodes: the memory plan must keep each alive as long as it is needed.
void test_graph_outputs_and_reuse() {
  const Dims s = {1, 4, 3, 3};
  Graph g;
  const int data = g.var("data");
  const int a = g.op("_mul_scalar", "a", {{"scalar", "2"}}, {data});
  const int b = g.op("Activation", "b", {{"act_type", "relu"}}, {a});
  const int c = g.op("_plus_scalar", "c", {{"scalar", "1"}}, {b});
  const int d = g.op("elemwise_add", "d", {}, {c, a});
  const int e = g.op("elemwise_mul", "e", {}, {d, d});
  const std::string json = g.json({e, b});
  const Vec x = rtest::random_floats(count(s));
  BMXPredictorHandle h = rtest::create(json, Params().bytes(), u32(s));
  CHECK(h != nullptr, "two heads: create: %s", BMXGetLastError());
  if (!h) return;
  Vec y0(x.size()), y1(x.size());
  bool ok = BMXPredSetInput(h, "data", x.data(), 36) == 0 && BMXPredForward(h) == 0 &&
            BMXPredForward(h) == 0 &&  // twice: the inputs survive a forward
            BMXPredGetOutput(h, 0, y0.data(), 36) == 0 && BMXPredGetOutput(h, 1, y1.data(), 36) == 0;
  CHECK(ok, "two heads: run: %s", BMXGetLastError());
  float diff = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float av = 2 * x[i], bv = av > 0 ? av : 0.0f, dv = (bv + 1) + av;
    diff = std::max({diff, std::fabs(y0[i] - dv * dv), std::fabs(y1[i] - bv)});
  }
  CHECK(diff < 1e-5f, "two heads: max diff %g", diff);
  BMXPredFree(h);
  // Partial outputs by name.
  const char* keys[] = {"data"};
  const char* outs[] = {"c_output", "a"};
  const uint32_t indptr[] = {0, 4};
  const auto shape = u32(s);
  const std::string params = Params().bytes();
  h = nullptr;
  ok = BMXPredCreatePartialOut(json.c_str(), params.data(), static_cast<int>(params.size()), 1, 0,
                               1, keys, indptr, shape.data(), 2, outs, &h) == 0 &&
       BMXPredSetInput(h, "data", x.data(), 36) == 0 && BMXPredForward(h) == 0 &&
       BMXPredGetOutput(h, 0, y0.data(), 36) == 0 && BMXPredGetOutput(h, 1, y1.data(), 36) == 0;
  CHECK(ok, "partial outputs: %s", BMXGetLastError());
  diff = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float av = 2 * x[i], bv = av > 0 ? av : 0.0f;
    diff = std::max({diff, std::fabs(y0[i] - (bv + 1)), std::fabs(y1[i] - av)});
  }
  CHECK(diff < 1e-6f, "partial outputs: max diff %g", diff);
  BMXPredFree(h);
  const char* bad[] = {"nope_output"};
  CHECK(BMXPredCreatePartialOut(json.c_str(), params.data(), static_cast<int>(params.size()), 1, 0,
                                1, keys, indptr, shape.data(), 1, bad, &h) == -1 &&
            std::string(BMXGetLastError()).find("'nope_output' names no node") != std::string::npos,
        "unknown output key: %s", BMXGetLastError());
}

// A relu that alone reads a Convolution's or FullyConnected's output is computed by that
// layer; where the layer's output is also read elsewhere (here: a graph output), it is not.
void test_relu_fusion() {
  const ConvCase t = {1, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, true};
  const Vec x = rtest::random_floats(t.n * t.c * t.h * t.w);
  const Vec w = rtest::random_floats(t.o * t.c * 9), b = rtest::random_floats(t.o);
  Params p;
  p.f32("arg:c_weight", {t.o, t.c, 3, 3}, w);
  p.f32("arg:c_bias", {t.o}, b);
  p.f32("arg:fc_weight", {3, 4 * 6 * 5}, rtest::random_floats(3 * 120));
  const Vec conv = conv_ref(t, x, w, b);
  Vec relu(conv.size());
  for (size_t i = 0; i < conv.size(); ++i) relu[i] = conv[i] > 0 ? conv[i] : 0.0f;
  for (bool conv_is_output : {false, true}) {
    Graph g;
    const int c = g.op("Convolution", "c", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "4"}},
                       {g.var("data"), g.var("c_weight"), g.var("c_bias")});
    const int r = g.op("Activation", "r", {{"act_type", "relu"}}, {c});
    const int f = g.op("FullyConnected", "fc", {{"num_hidden", "3"}, {"no_bias", "True"}}, {r, g.var("fc_weight")});
    const int r2 = g.op("relu", "r2", {}, {f});
    const std::string json = conv_is_output ? g.json({r, c}) : g.json({r, r2});
    BMXPredictorHandle h = rtest::create(json, p.bytes(), {1, 3, 6, 5});
    CHECK(h != nullptr, "relu fusion: create: %s", BMXGetLastError());
    if (!h) continue;
    Vec y0(relu.size()), y1(conv_is_output ? conv.size() : 3);
    const char* plan = nullptr;
    const bool ok = BMXPredSetInput(h, "data", x.data(), static_cast<uint32_t>(x.size())) == 0 &&
                    BMXPredForward(h) == 0 && BMXPredGetOutput(h, 0, y0.data(), static_cast<uint32_t>(y0.size())) == 0 &&
                    BMXPredGetOutput(h, 1, y1.data(), static_cast<uint32_t>(y1.size())) == 0 &&
                    BMXPredGetPlan(h, &plan) == 0;
    CHECK(ok, "relu fusion: run: %s", BMXGetLastError());
    CHECK(rtest::max_diff(y0, relu) < 1e-5f, "relu after a conv (conv is an output: %d): diff %g",
          conv_is_output, rtest::max_diff(y0, relu));
    if (conv_is_output) {
      CHECK(rtest::max_diff(y1, conv) < 1e-5f, "the conv output before its relu: diff %g", rtest::max_diff(y1, conv));
    } else {
      float worst = 0;
      for (float v : y1) worst = std::min(worst, v);
      CHECK(worst >= 0.0f, "relu after a dense layer: min %g", worst);
    }
    const std::string text = ok ? plan : "";
    size_t count_fused = 0;
    for (size_t at = text.find("\"fused\""); at != std::string::npos; at = text.find("\"fused\"", at + 1)) ++count_fused;
    CHECK(count_fused == (conv_is_output ? 0u : 2u), "fused relus in the plan: %zu (%s)", count_fused, text.c_str());
    BMXPredFree(h);
  }
}

// Reads "arena_bytes" from a plan description.
long long arena_bytes(BMXPredictorHandle h) {
  const char* plan = nullptr;
  if (BMXPredGetPlan(h, &plan) != 0) return -1;
  const char* at = std::strstr(plan, "\"arena_bytes\":");
  return at ? std::atoll(at + 14) : -1;
}

// Long chains reuse memory: elementwise ops run in place, and ops that cannot (pooling) take
// a buffer freed by an earlier node, so the arena does not grow with the depth of the graph.
void test_memory_reuse() {
  const Dims s = {1, 8, 16, 16};
  const long long tensor = count(s) * 4;
  for (const char* op : {"Activation", "Pooling"}) {
    Graph g;
    int v = g.var("data");
    for (int i = 0; i < 12; ++i) {
      const std::string name = "n" + std::to_string(i);
      if (std::string(op) == "Activation") {
        v = g.op("Activation", name, {{"act_type", i % 2 ? "relu" : "tanh"}}, {v});
      } else {
        v = g.op("Pooling", name, {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"pool_type", "max"}}, {v});
      }
    }
    BMXPredictorHandle h = rtest::create(g.json({v}), Params().bytes(), u32(s));
    CHECK(h != nullptr, "chain of %s: %s", op, BMXGetLastError());
    if (!h) continue;
    // Input and output keep their own buffers; a pooling chain needs one more in between.
    const long long limit = (std::string(op) == "Activation" ? 3 : 4) * tensor;
    const long long arena = arena_bytes(h);
    CHECK(arena > 0 && arena <= limit, "chain of 12 %s: arena %lld bytes, expected at most %lld",
          op, arena, limit);
    BMXPredFree(h);
  }
}

}  // namespace

int main() {
  test_layout_copies();
  test_convolution();
  test_pooling();
  test_fully_connected();
  test_batch_norm();
  test_unary();
  test_prelu();
  test_binary_elementwise();
  test_shape_ops();
  test_slice();
  test_transpose_and_axes();
  test_reduce();
  test_constants();
  test_xnor_input_scaling();
  test_softmax();
  test_pad();
  test_graph_outputs_and_reuse();
  test_relu_fusion();
  test_memory_reuse();
  return rtest::finish("test_runtime_ops");
}

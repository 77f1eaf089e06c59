// Shared by the runtime's op tests (test_runtime_ops_*.cc): every float op of the runtime on
// small graphs built in the test, against plain NCHW loops (MXNet's definitions), over shapes
// where the NHWC storage matters (H * W > 1, odd sizes, padding, groups, broadcasting, axes).
// Here: the graph runner that compares with a reference, and the convolution reference that
// several families use.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime_test_util.h"

using rtest::Attrs;
using rtest::Graph;
using rtest::Params;
using Vec = std::vector<float>;
using Dims = std::vector<int64_t>;

namespace {

inline std::vector<uint32_t> u32(const Dims& d) { return std::vector<uint32_t>(d.begin(), d.end()); }
inline int64_t count(const Dims& d) {
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  return n;
}

// Runs json on x and compares output 0 with `expected` (shape and values).
inline void check(const char* what, const std::string& json, const std::string& params, const Dims& in,
           const Vec& x, const Dims& out_shape, const Vec& expected, float tol = 1e-5f) {
  std::vector<uint32_t> shape;
  const Vec y = rtest::run(json, params, u32(in), x, &shape);
  float scale = 1.0f;
  for (float v : expected) scale = std::max(scale, std::fabs(v));
  const float diff = rtest::max_diff(y, expected);
  CHECK(shape == u32(out_shape) && diff <= tol * scale, "%s: max diff %g (scale %g), %zu values",
        what, diff, scale, y.size());
}

inline std::string str(int64_t v) { return std::to_string(v); }
inline std::string pair(int64_t a, int64_t b) { return "(" + str(a) + ", " + str(b) + ")"; }

// ---- references on logical NCHW data -----------------------------------------------------

struct ConvCase {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, g;
  bool bias;
};

inline int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

inline Vec conv_ref(const ConvCase& t, const Vec& x, const Vec& w, const Vec& b) {
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

}  // namespace

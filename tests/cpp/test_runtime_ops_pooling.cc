// The runtime's pooling: max, average and global, over kernels, strides and padding.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_pooling();
  return rtest::finish("test_runtime_ops_pooling");
}

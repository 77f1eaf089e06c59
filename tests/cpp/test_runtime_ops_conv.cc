// The runtime's convolution: kernels, strides, padding, dilation, groups, bias.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_convolution();
  return rtest::finish("test_runtime_ops_conv");
}

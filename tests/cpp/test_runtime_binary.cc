// bmx_binary_conv2d and bmx_binary_dense in the runtime, with every attribute the plugin
// accepts, equal bit for bit to the reference kernels (bconv2d_ref, bgemm_ref +
// output_transform) on NCHW data.
#include <algorithm>

#include "bconv2d.h"
#include "bgemm.h"
#include "bitpack.h"
#include "output_transform.h"
#include "runtime_test_util.h"

using rtest::Graph;
using rtest::Params;
using Vec = std::vector<float>;

namespace {

std::string str(int64_t v) { return std::to_string(v); }
std::string pair(int64_t a, int64_t b) { return "(" + str(a) + ", " + str(b) + ")"; }

// Packs float OIHW weights into the converter's OHWI int32 words.
std::vector<uint32_t> pack_ohwi(const Vec& w, int64_t o, int64_t c, int64_t kh, int64_t kw) {
  const int64_t words = bmx::packed_words(c);
  std::vector<uint32_t> out(o * kh * kw * words);
  Vec row(c);
  for (int64_t f = 0; f < o; ++f)
    for (int64_t y = 0; y < kh; ++y)
      for (int64_t x = 0; x < kw; ++x) {
        for (int64_t ch = 0; ch < c; ++ch) row[ch] = w[((f * c + ch) * kh + y) * kw + x];
        bmx::pack_signs(row.data(), 1, c, out.data() + ((f * kh + y) * kw + x) * words);
      }
  return out;
}

struct ConvCase {
  int64_t n, c, h, w, o, k, stride, pad, dilate, groups;
  int pad_value;
  bool use_scale, bias, residual;
};

void test_binary_conv2d() {
  const ConvCase cases[] = {
      {1, 32, 6, 7, 8, 3, 1, 1, 1, 1, -1, false, false, false},
      {1, 31, 5, 5, 16, 3, 1, 1, 1, 1, 1, true, true, false},
      {2, 33, 7, 6, 12, 3, 2, 1, 1, 1, 0, true, false, false},
      {1, 64, 8, 8, 64, 3, 1, 1, 1, 1, -1, true, true, true},
      {1, 64, 9, 9, 32, 3, 1, 2, 2, 2, 0, false, true, false},
      {1, 1, 5, 5, 3, 3, 1, 1, 1, 1, -1, true, true, false},
      {1, 65, 4, 4, 7, 1, 2, 0, 1, 1, -1, true, false, false},
      {1, 128, 7, 7, 128, 3, 1, 1, 1, 4, 0, true, true, true},
      {1, 96, 14, 14, 48, 3, 2, 1, 1, 1, 1, false, true, false},
  };
  for (const ConvCase& t : cases) {
    bmx::BConv2DShape s;
    s.batch = t.n, s.in_channels = t.c, s.in_h = t.h, s.in_w = t.w, s.out_channels = t.o;
    s.kernel_h = s.kernel_w = t.k, s.stride_h = s.stride_w = t.stride, s.pad_h = s.pad_w = t.pad;
    s.dilate_h = s.dilate_w = t.dilate, s.groups = t.groups, s.pad_value = t.pad_value;
    const int64_t cg = t.c / t.groups;
    const Vec wf = rtest::random_floats(t.o * cg * t.k * t.k);
    const std::vector<uint32_t> w = pack_ohwi(wf, t.o, cg, t.k, t.k);
    const Vec scale = rtest::random_floats(t.o, 0.1f, 2.0f), bias = rtest::random_floats(t.o);
    const Vec x = rtest::random_floats(t.n * t.c * t.h * t.w);
    const int64_t out_n = t.n * t.o * s.out_h() * s.out_w();
    Graph g;
    const int data = g.var("data");
    std::vector<int> ins = {data, g.var("bc_weight")};
    Params p;
    p.i32("arg:bc_weight", {t.o, t.k, t.k, s.words()}, w);
    if (t.use_scale) {
      ins.push_back(g.var("bc_scale"));
      p.f32("arg:bc_scale", {t.o}, scale);
    }
    if (t.bias) {
      ins.push_back(g.var("bc_bias"));
      p.f32("arg:bc_bias", {t.o}, bias);
    }
    Vec residual;
    if (t.residual) {  // the residual is data * 0.5 (output shape equals the input's here)
      ins.push_back(g.op("_mul_scalar", "half", {{"scalar", "0.5"}}, {data}));
      for (float v : x) residual.push_back(v * 0.5f);
    }
    const int conv = g.op("bmx_binary_conv2d", "bc",
                          {{"kernel", pair(t.k, t.k)}, {"stride", pair(t.stride, t.stride)},
                           {"pad", pair(t.pad, t.pad)}, {"dilate", pair(t.dilate, t.dilate)},
                           {"num_filter", str(t.o)}, {"num_group", str(t.groups)},
                           {"pad_value", str(t.pad_value)},
                           {"use_scale", t.use_scale ? "True" : "False"},
                           {"no_bias", t.bias ? "False" : "True"},
                           {"add_residual", t.residual ? "True" : "False"}},
                          ins);
    std::vector<uint32_t> packed(t.n * t.groups * t.h * t.w * s.words());
    bmx::pack_input_nchw(s, x.data(), packed.data());
    Vec expected(out_n);
    bmx::bconv2d_ref(s, packed.data(), w.data(), t.use_scale ? scale.data() : nullptr,
                     t.bias ? bias.data() : nullptr, t.residual ? residual.data() : nullptr,
                     expected.data());
    std::vector<uint32_t> shape;
    const Vec y = rtest::run(g.json({conv}), p.bytes(),
                             {uint32_t(t.n), uint32_t(t.c), uint32_t(t.h), uint32_t(t.w)}, x, &shape);
    const std::vector<uint32_t> out_shape = {uint32_t(t.n), uint32_t(t.o), uint32_t(s.out_h()),
                                             uint32_t(s.out_w())};
    CHECK(y == expected && shape == out_shape,
          "bmx_binary_conv2d C=%lld O=%lld k=%lld s=%lld p=%lld d=%lld g=%lld pad_value=%d "
          "scale=%d bias=%d residual=%d: max diff %g",
          (long long)t.c, (long long)t.o, (long long)t.k, (long long)t.stride, (long long)t.pad,
          (long long)t.dilate, (long long)t.groups, t.pad_value, t.use_scale, t.bias, t.residual,
          rtest::max_diff(y, expected));
  }
}

// Dense on rows of k features: output_transform(bgemm_ref(pack_signs(x), w)).
Vec dense_ref(const Vec& x, int64_t rows, int64_t k, const std::vector<uint32_t>& w, int64_t n,
              const float* scale, const float* bias) {
  std::vector<uint32_t> a(rows * bmx::packed_words(k));
  bmx::pack_signs(x.data(), rows, k, a.data());
  std::vector<int32_t> dots(rows * n);
  bmx::bgemm_ref(rows, n, k, a.data(), w.data(), dots.data());
  Vec y(rows * n);
  bmx::output_transform(dots.data(), rows, n, scale, bias, y.data());
  return y;
}

void test_binary_dense() {
  struct Case {
    std::vector<uint32_t> in;
    int64_t hidden;
    bool flatten, use_scale, bias;
  };
  const Case cases[] = {
      {{2, 100}, 10, true, true, true},
      {{1, 32}, 33, true, false, true},
      {{3, 7, 3, 3}, 20, true, true, false},   // 4-D, flattened in C, H, W order
      {{1, 50, 4, 4}, 64, true, true, true},   // the LeNet shape
      {{2, 64, 1, 1}, 5, true, false, false},
      {{2, 3, 65}, 9, false, true, true},      // flatten=False on 3-D
      {{1, 2, 3, 31}, 4, false, true, true},   // flatten=False on 4-D (over W)
  };
  for (const Case& t : cases) {
    int64_t rows = 1, k = 1, total = 1;
    const size_t split = t.flatten ? 1 : t.in.size() - 1;
    for (size_t i = 0; i < t.in.size(); ++i) {
      (i < split ? rows : k) *= t.in[i];
      total *= t.in[i];
    }
    const Vec wf = rtest::random_floats(t.hidden * k);
    std::vector<uint32_t> w(t.hidden * bmx::packed_words(k));
    bmx::pack_signs(wf.data(), t.hidden, k, w.data());
    const Vec scale = rtest::random_floats(t.hidden, 0.1f, 2.0f), bias = rtest::random_floats(t.hidden);
    const Vec x = rtest::random_floats(total);
    Graph g;
    std::vector<int> ins = {g.var("data"), g.var("bd_weight")};
    Params p;
    p.i32("arg:bd_weight", {t.hidden, bmx::packed_words(k)}, w);
    if (t.use_scale) {
      ins.push_back(g.var("bd_scale"));
      p.f32("arg:bd_scale", {t.hidden}, scale);
    }
    if (t.bias) {
      ins.push_back(g.var("bd_bias"));
      p.f32("arg:bd_bias", {t.hidden}, bias);
    }
    const int node = g.op("bmx_binary_dense", "bd",
                          {{"num_hidden", str(t.hidden)}, {"flatten", t.flatten ? "True" : "False"},
                           {"use_scale", t.use_scale ? "True" : "False"},
                           {"no_bias", t.bias ? "False" : "True"}},
                          ins);
    const Vec expected = dense_ref(x, rows, k, w, t.hidden, t.use_scale ? scale.data() : nullptr,
                                   t.bias ? bias.data() : nullptr);
    const Vec y = rtest::run(g.json({node}), p.bytes(), t.in, x);
    CHECK(y == expected, "bmx_binary_dense in %zu-D k=%lld n=%lld flatten=%d scale=%d bias=%d: max diff %g",
          t.in.size(), (long long)k, (long long)t.hidden, t.flatten, t.use_scale, t.bias,
          rtest::max_diff(y, expected));
  }
}

void test_binary_attrs_refused() {
  Graph g;
  const int conv = g.op("bmx_binary_conv2d", "bc", {{"kernel", "(3, 3)"}, {"num_filter", "8"},
                                                   {"pad_value", "2"}, {"no_bias", "True"}},
                        {g.var("data"), g.var("bc_weight")});
  Params p;
  p.i32("arg:bc_weight", {8, 3, 3, 1}, std::vector<uint32_t>(72, 0));
  std::string error;
  CHECK(rtest::create(g.json({conv}), p.bytes(), {1, 32, 5, 5}, &error) == nullptr &&
            error.find("attribute 'pad_value' of node 'bc' (bmx_binary_conv2d) must be -1, 0 or 1") !=
                std::string::npos,
        "pad_value 2: %s", error.c_str());
  // Each attribute out of range is named with what it must be.
  const struct {
    const char* key;
    const char* value;
    const char* message;
  } bad[] = {
      {"kernel", "(0, 3)", "attribute 'kernel' of node 'bc' (bmx_binary_conv2d) must be positive"},
      {"stride", "(1, 33554432)", "attribute 'stride' of node 'bc' (bmx_binary_conv2d) must be "
                                  "positive and at most 16777216, got 33554432"},
      {"pad", "(-1, 0)", "attribute 'pad' of node 'bc' (bmx_binary_conv2d) must be non-negative"},
      {"num_group", "3", "attribute 'num_group' of node 'bc' (bmx_binary_conv2d) must divide "
                         "num_filter"},
      {"layout", "NHWC", "attribute 'layout' of node 'bc' (bmx_binary_conv2d) must be NCHW"},
  };
  for (const auto& b : bad) {
    Graph gb;
    std::map<std::string, std::string> attrs = {
        {"kernel", "(3, 3)"}, {"num_filter", "8"}, {"no_bias", "True"}};
    attrs[b.key] = b.value;
    const int node = gb.op("bmx_binary_conv2d", "bc", attrs, {gb.var("data"), gb.var("bc_weight")});
    CHECK(rtest::create(gb.json({node}), p.bytes(), {1, 32, 5, 5}, &error) == nullptr &&
              error.find(b.message) != std::string::npos,
          "%s=%s: %s", b.key, b.value, error.c_str());
  }
  // A float weight where packed int32 words are needed.
  Graph g2;
  const int conv2 = g2.op("bmx_binary_conv2d", "bc", {{"kernel", "(3, 3)"}, {"num_filter", "8"}, {"no_bias", "True"}},
                          {g2.var("data"), g2.var("bc_weight")});
  Params p2;
  p2.f32("arg:bc_weight", {8, 3, 3, 1}, Vec(72, 0.0f));
  CHECK(rtest::create(g2.json({conv2}), p2.bytes(), {1, 32, 5, 5}, &error) == nullptr &&
            error.find("is float32, expected int32") != std::string::npos,
        "float weight: %s", error.c_str());
  // Weights for 64 input channels given 32.
  Params p3;
  p3.i32("arg:bc_weight", {8, 3, 3, 2}, std::vector<uint32_t>(144, 0));
  CHECK(rtest::create(g2.json({conv2}), p3.bytes(), {1, 32, 5, 5}, &error) == nullptr &&
            error.find("has shape (8, 3, 3, 2), expected (8, 3, 3, 1)") != std::string::npos,
        "weight for other channels: %s", error.c_str());
  // A dilated kernel (7 rows) larger than the input (6 rows), with stride 2.
  Graph g3;
  const int conv3 = g3.op("bmx_binary_conv2d", "bc", {{"kernel", "(3, 3)"}, {"dilate", "(3, 1)"},
                                                     {"stride", "(2, 2)"}, {"num_filter", "8"},
                                                     {"no_bias", "True"}},
                          {g3.var("data"), g3.var("bc_weight")});
  Params p4;
  p4.i32("arg:bc_weight", {8, 3, 3, 1}, std::vector<uint32_t>(72, 0));
  CHECK(rtest::create(g3.json({conv3}), p4.bytes(), {1, 32, 6, 6}, &error) == nullptr &&
            error.find("node 'bc' (bmx_binary_conv2d): the dilated kernel (7x3) is larger than "
                       "the padded input (6x6)") != std::string::npos,
        "kernel past the input: %s", error.c_str());
}

}  // namespace

int main() {
  test_binary_conv2d();
  test_binary_dense();
  test_binary_attrs_refused();
  return rtest::finish("test_runtime_binary");
}

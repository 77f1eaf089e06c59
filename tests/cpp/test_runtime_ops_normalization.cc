// The runtime's normalization: BatchNorm and softmax over its axes.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_batch_norm();
  test_softmax();
  return rtest::finish("test_runtime_ops_normalization");
}

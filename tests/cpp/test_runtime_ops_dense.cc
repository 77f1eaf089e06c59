// The runtime's FullyConnected: flatten on and off, with and without bias.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_fully_connected();
  return rtest::finish("test_runtime_ops_dense");
}

// The runtime's float ops, constants made at load (_full / _ones / _zeros) and XNOR-Net's input
// scaling, which reads one.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_constants();
  test_xnor_input_scaling();
  return rtest::finish("test_runtime_ops_constants");
}

// The runtime's float ops, reductions over axes.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_reduce();
  return rtest::finish("test_runtime_ops_reduce");
}

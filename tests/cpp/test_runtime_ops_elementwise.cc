// The runtime's elementwise ops: one-input ops, PReLU, and two-input arithmetic with
// broadcasting.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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

}  // namespace

int main() {
  test_unary();
  test_prelu();
  test_binary_elementwise();
  return rtest::finish("test_runtime_ops_elementwise");
}

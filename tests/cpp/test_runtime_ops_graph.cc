// The runtime's whole graphs: several outputs and shared values, relu fused into its layer,
// memory reuse along long chains.
// Each against what the plan should do and a plain NCHW reference (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

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
  test_graph_outputs_and_reuse();
  test_relu_fusion();
  test_memory_reuse();
  return rtest::finish("test_runtime_ops_graph");
}

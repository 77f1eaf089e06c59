// Doubtful input the runtime refuses with one sentence instead of computing garbage: a forward
// before every input is set, an output read before any forward (both as MXNet's predictor
// refuses them), NaN or infinite float weights, and a batch norm whose variance or eps is
// negative.
#include <cmath>
#include <limits>
#include <string>

#include "runtime_test_util.h"

namespace {

using Vec = std::vector<float>;

struct Model {
  std::string json, params;
};

// data -> Convolution 3x3 (2 filters) -> BatchNorm -> FullyConnected 3; `edit` may change the
// parameters (by key) and the batch norm's attributes before they are written.
Model small_net(const std::string& bad_key = "", float bad_value = 0.0f, size_t bad_index = 0,
                const std::string& eps = "0.001") {
  rtest::Graph g;
  const int data = g.var("data"), w = g.var("conv_weight"), b = g.var("conv_bias");
  const int conv = g.op("Convolution", "conv", {{"kernel", "(3, 3)"}, {"num_filter", "2"}},
                        {data, w, b});
  const int gamma = g.var("bn_gamma"), beta = g.var("bn_beta"), mean = g.var("bn_moving_mean"),
            var = g.var("bn_moving_var");
  const int bn = g.op("BatchNorm", "bn", {{"eps", eps}, {"fix_gamma", "False"}},
                      {conv, gamma, beta, mean, var});
  const int fw = g.var("fc_weight"), fb = g.var("fc_bias");
  const int fc = g.op("FullyConnected", "fc", {{"num_hidden", "3"}}, {bn, fw, fb});
  struct Array {
    std::string key;
    std::vector<int64_t> shape;
    Vec v;
  };
  std::vector<Array> arrays = {
      {"arg:conv_weight", {2, 1, 3, 3}, rtest::random_floats(18)},
      {"arg:conv_bias", {2}, rtest::random_floats(2)},
      {"arg:bn_gamma", {2}, rtest::random_floats(2, 0.5f, 1.5f)},
      {"arg:bn_beta", {2}, rtest::random_floats(2)},
      {"aux:bn_moving_mean", {2}, rtest::random_floats(2)},
      {"aux:bn_moving_var", {2}, rtest::random_floats(2, 0.5f, 1.5f)},
      {"arg:fc_weight", {3, 2 * 4 * 4}, rtest::random_floats(96)},
      {"arg:fc_bias", {3}, rtest::random_floats(3)}};
  rtest::Params p;
  for (auto& a : arrays) {
    if (a.key == bad_key) a.v.at(bad_index) = bad_value;
    p.f32(a.key, a.shape, a.v);
  }
  return {g.json({fc}), p.bytes()};
}

const std::vector<uint32_t> kShape = {1, 1, 6, 6};

void call_order() {
  const Model m = small_net();
  std::string error;
  BMXPredictorHandle h = rtest::create(m.json, m.params, kShape, &error);
  CHECK(h != nullptr, "create: %s", error.c_str());
  if (h == nullptr) return;
  Vec y(3, 7.0f);
  CHECK(BMXPredGetOutput(h, 0, y.data(), 3) == -1 &&
            std::string(BMXGetLastError()) ==
                "output 0 has not been computed: call BMXPredForward before BMXPredGetOutput.",
        "output before any forward: %s", BMXGetLastError());
  CHECK(y == Vec(3, 7.0f), "a refused BMXPredGetOutput wrote the buffer");
  CHECK(BMXPredForward(h) == -1 &&
            std::string(BMXGetLastError()) ==
                "input 'data' has not been set: call BMXPredSetInput for every input before "
                "BMXPredForward.",
        "forward without input: %s", BMXGetLastError());
  CHECK(BMXPredGetOutput(h, 0, y.data(), 3) == -1, "a refused forward counts as no forward");
  const Vec x = rtest::random_floats(36);
  CHECK(BMXPredSetInput(h, "data", x.data(), 36) == 0 && BMXPredForward(h) == 0 &&
            BMXPredGetOutput(h, 0, y.data(), 3) == 0,
        "set, forward, get: %s", BMXGetLastError());
  // A clone has buffers of its own: nothing set, nothing computed yet.
  BMXPredictorHandle c = nullptr;
  CHECK(BMXPredClone(h, &c) == 0, "clone: %s", BMXGetLastError());
  CHECK(BMXPredGetOutput(c, 0, y.data(), 3) == -1 && BMXPredForward(c) == -1,
        "a fresh clone refuses output and forward");
  Vec z(3);
  CHECK(BMXPredSetInput(c, "data", x.data(), 36) == 0 && BMXPredForward(c) == 0 &&
            BMXPredGetOutput(c, 0, z.data(), 3) == 0 && z == y,
        "the clone after its input is set: %s", BMXGetLastError());
  BMXPredFree(c);
  BMXPredFree(h);
}

std::string create_error(const Model& m) {
  std::string error;
  BMXPredFree(rtest::create(m.json, m.params, kShape, &error));
  return error;
}

void non_finite_weights() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::string e = create_error(small_net("arg:conv_weight", nan, 4));
  CHECK(e == "node 'conv' (Convolution): its weight 'conv_weight' holds NaN (at flat index 4), "
             "which no trained model has.",
        "NaN conv weight: %s", e.c_str());
  e = create_error(small_net("arg:fc_bias", -inf, 1));
  CHECK(e == "node 'fc' (FullyConnected): its bias 'fc_bias' holds an infinity (at flat index "
             "1), which no trained model has.",
        "infinite dense bias: %s", e.c_str());
  e = create_error(small_net("aux:bn_moving_mean", nan, 0));
  CHECK(e.find("'bn_moving_mean' holds NaN") != std::string::npos, "NaN mean: %s", e.c_str());
  CHECK(create_error(small_net()).empty(), "the same net with finite weights loads");
}

void bad_batch_norm() {
  std::string e = create_error(small_net("aux:bn_moving_var", -0.25f, 1));
  CHECK(e == "node 'bn' (BatchNorm): its moving_var 'bn_moving_var' is negative (-0.250000 at "
             "channel 1), which a variance cannot be.",
        "negative variance: %s", e.c_str());
  e = create_error(small_net("", 0.0f, 0, "-0.5"));
  CHECK(e == "attribute 'eps' of node 'bn' (BatchNorm) is -0.500000, which must not be negative.",
        "negative eps: %s", e.c_str());
  e = create_error(small_net("aux:bn_moving_var", 0.0f, 0, "0"));
  CHECK(e.find("plus eps is 0 at channel 0") != std::string::npos, "var + eps = 0: %s", e.c_str());
  CHECK(create_error(small_net("aux:bn_moving_var", 0.0f, 0)).empty(), "a zero variance with eps > 0");
}

}  // namespace

int main() {
  call_order();
  non_finite_weights();
  bad_batch_norm();
  return rtest::finish("test_runtime_refusals");
}

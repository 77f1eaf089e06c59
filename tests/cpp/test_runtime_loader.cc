// The runtime refuses bad input with -1 and one sentence: missing, empty, truncated, random or
// foreign files, JSON that is not a symbol, shapes that do not fit, unknown ops and attributes,
// absurd dimensions, and misuse of the C API.
#include <algorithm>

#include "runtime_test_util.h"

using rtest::create;
using rtest::Graph;
using rtest::Params;

namespace {

// data (N, 4) -> FullyConnected(3) -> Activation(relu)
std::string fc_json(const std::string& act = "relu", const std::string& op = "Activation") {
  Graph g;
  const int data = g.var("data");
  const int w = g.var("fc_weight");
  const int b = g.var("fc_bias");
  const int fc = g.op("FullyConnected", "fc", {{"num_hidden", "3"}}, {data, w, b});
  const int a = g.op(op, "act", {{"act_type", act}}, {fc});
  return g.json({a});
}

std::string fc_params() {
  Params p;
  p.f32("arg:fc_weight", {3, 4}, rtest::random_floats(12));
  p.f32("arg:fc_bias", {3}, {0.5f, -0.5f, 0.0f});
  return p.bytes();
}

bool one_sentence(const std::string& e) {
  return !e.empty() && e.back() == '.' && e.find('\n') == std::string::npos && e.size() < 400;
}

// Expects creation to fail with a sentence containing `needle`.
void expect_refused(const std::string& json, const std::string& params,
                    const std::vector<uint32_t>& shape, const std::string& needle,
                    const char* what) {
  std::string error;
  BMXPredictorHandle h = create(json, params, shape, &error);
  CHECK(h == nullptr, "%s: accepted", what);
  if (h) BMXPredFree(h);
  CHECK(error.find(needle) != std::string::npos && one_sentence(error),
        "%s: error '%s' lacks '%s' or is not one sentence", what, error.c_str(), needle.c_str());
}

void test_valid_model_runs() {
  const auto y = rtest::run(fc_json(), fc_params(), {2, 4}, rtest::random_floats(8));
  CHECK(y.size() == 6, "the valid model runs (got %zu outputs)", y.size());
}

void test_params_refused() {
  const std::string json = fc_json();
  const std::string good = fc_params();
  expect_refused(json, "", {1, 4}, "it is empty", "empty params");
  // Every truncation of a valid file.
  int refused = 0;
  for (size_t n = 1; n < good.size(); ++n) {
    std::string error;
    BMXPredictorHandle h = create(json, good.substr(0, n), {1, 4}, &error);
    refused += h == nullptr && error.find("params") != std::string::npos && one_sentence(error);
    if (h) BMXPredFree(h);
  }
  CHECK(refused == static_cast<int>(good.size()) - 1, "truncations refused: %d of %zu", refused,
        good.size() - 1);
  expect_refused(json, good.substr(0, good.size() - 3), {1, 4}, "truncated", "cut in a name");
  expect_refused(json, good + "xyz", {1, 4}, "unexpected bytes", "trailing bytes");
  // Random bytes, with and without the list magic in front.
  std::uniform_int_distribution<int> byte(0, 255), length(0, 300);
  int random_refused = 0;
  for (int i = 0; i < 200; ++i) {
    std::string bytes = i % 2 ? good.substr(0, 24) : "";
    const int n = length(rtest::rng());
    for (int k = 0; k < n; ++k) bytes.push_back(static_cast<char>(byte(rtest::rng())));
    std::string error;
    BMXPredictorHandle h = create(json, bytes, {1, 4}, &error);
    random_refused += h == nullptr && one_sentence(error);
    if (h) BMXPredFree(h);
  }
  CHECK(random_refused == 200, "random bytes refused: %d of 200", random_refused);
  expect_refused(json, json, {1, 4}, "NDArray list magic", "a JSON file as params");
}

// A params file with one array whose header is written by hand.
std::string one_array(const std::vector<int64_t>& dims, int32_t flag, size_t data_bytes,
                      uint32_t magic = 0xF993FAC9, int32_t stype = 0) {
  std::string out;
  Params::put<uint64_t>(&out, 0x112);
  Params::put<uint64_t>(&out, 0);
  Params::put<uint64_t>(&out, 1);
  Params::put<uint32_t>(&out, magic);
  Params::put<int32_t>(&out, stype);
  Params::put<int32_t>(&out, static_cast<int32_t>(dims.size()));
  for (int64_t d : dims) Params::put<int64_t>(&out, d);
  Params::put<int32_t>(&out, 1);
  Params::put<int32_t>(&out, 0);
  Params::put<int32_t>(&out, flag);
  out.append(data_bytes, '\0');
  Params::put<uint64_t>(&out, 1);
  Params::put<uint64_t>(&out, 13);
  out += "arg:fc_weight";
  return out;
}

void test_headers_refused() {
  const std::string json = fc_json();
  expect_refused(json, one_array({1000, 1000}, 0, 64), {1, 4}, "needs more bytes than the file holds",
                 "header claims more bytes");
  expect_refused(json, one_array({int64_t{1} << 40, 4}, 0, 64), {1, 4},
                 "needs more bytes than the file holds", "a dimension of 2^40");
  expect_refused(json, one_array({int64_t{1} << 40, 0}, 0, 0), {1, 4},
                 "needs more bytes than the file holds", "2^40 times 0");
  expect_refused(json, one_array({-3, 4}, 0, 64), {1, 4}, "negative dimension", "negative dim");
  expect_refused(json, one_array({3, 4}, 12, 48), {1, 4}, "unknown dtype flag 12", "bfloat16");
  expect_refused(json, one_array({3, 4}, 0, 48, 0xF993FAC9, 1), {1, 4}, "sparse", "sparse");
  expect_refused(json, one_array({3, 4}, 0, 48, 0x12345678), {1, 4}, "NDArray header", "bad magic");
  std::string claims;
  Params::put<uint64_t>(&claims, 0x112);
  Params::put<uint64_t>(&claims, 0);
  Params::put<uint64_t>(&claims, uint64_t{1} << 60);
  claims.append(16, '\0');
  expect_refused(json, claims, {1, 4}, "claims 1152921504606846976 arrays", "array count");
  // A params file of int32 where float32 is needed.
  Params p;
  p.i32("arg:fc_weight", {3, 4}, std::vector<uint32_t>(12, 1));
  p.f32("arg:fc_bias", {3}, {0, 0, 0});
  expect_refused(json, p.bytes(), {1, 4}, "is int32, expected float32", "wrong dtype");
}

void test_foreign_params_refused() {
  Params other;
  other.f32("arg:conv0_weight", {3, 4}, rtest::random_floats(12));
  other.f32("arg:fc_bias", {3}, {0, 0, 0});
  other.f32("aux:bn_moving_mean", {3}, {0, 0, 0});
  expect_refused(fc_json(), other.bytes(), {1, 4},
                 "2 of its 3 parameters are not in the symbol (arg:conv0_weight, aux:bn_moving_mean)",
                 "params of another model");
  Params missing;
  missing.f32("arg:fc_weight", {3, 4}, rtest::random_floats(12));
  expect_refused(fc_json(), missing.bytes(), {1, 4},
                 "variable 'fc_bias' has no value", "a missing parameter");
}

void test_json_refused() {
  const std::string params = fc_params();
  expect_refused("", params, {1, 4}, "not valid JSON", "empty JSON");
  expect_refused("{\"nodes\": [", params, {1, 4}, "not valid JSON", "cut JSON");
  expect_refused("[1, 2, 3]", params, {1, 4}, "not a JSON object", "a JSON list");
  expect_refused("{\"a\": 1}", params, {1, 4}, "no 'nodes' list", "a JSON object");
  expect_refused("{\"nodes\": 3, \"heads\": []}", params, {1, 4}, "no 'nodes' list", "nodes not a list");
  expect_refused("{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}], \"heads\": []}",
                 params, {1, 4}, "'heads' list is empty", "no heads");
  expect_refused("{\"nodes\": [{\"op\": \"Flatten\", \"name\": \"f\", \"inputs\": [[0, 0, 0]]}], "
                 "\"heads\": [[0, 0, 0]]}", params, {1, 4}, "does not come before it", "a cycle");
  expect_refused("{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}], "
                 "\"heads\": [[5, 0, 0]]}", params, {1, 4}, "refers to node 5", "a bad head");
  expect_refused("{\"nodes\": [{\"op\": 7, \"name\": \"x\"}], \"heads\": [[0, 0, 0]]}", params,
                 {1, 4}, "no 'op' string", "op not a string");
  std::string error;
  BMXPredictorHandle h = nullptr;
  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, 2}, shape[] = {1, 4};
  CHECK(BMXPredCreate(nullptr, params.data(), static_cast<int>(params.size()), 1, 0, 1, keys,
                      indptr, shape, &h) == -1 && h == nullptr,
        "a null symbol is refused");
}

void test_graph_refused() {
  const std::string params = fc_params();
  expect_refused(fc_json("relu", "FancyAct"), params, {1, 4},
                 "unsupported op 'FancyAct' (node 'act')", "unknown op");
  expect_refused(fc_json("swish"), params, {1, 4}, "node 'act' (Activation): unsupported act_type 'swish'",
                 "unsupported attribute value");
  Graph g;
  const int data = g.var("data");
  const int f = g.op("Flatten", "flat", {{"mystery", "1"}}, {data});
  expect_refused(g.json({f}), Params().bytes(), {1, 4},
                 "unsupported attribute 'mystery' of node 'flat' (Flatten)", "unknown attribute");
  // Shapes that do not fit: the weight is (3, 4), the input has 5 features.
  expect_refused(fc_json(), params, {1, 5}, "its weight 'fc_weight' has shape (3, 4), expected (3, 5)",
                 "input shape that does not fit");
  expect_refused(fc_json(), params, {4000000000u, 4000000000u}, "which is too large", "absurd input");
  expect_refused(fc_json(), params, {0, 4}, "holds no elements", "empty input");
}

// data (1, 4) + the value of a constant op, or data through one op.
std::string constant_json(const std::string& op, const rtest::Attrs& attrs, bool with_input = false) {
  Graph g;
  const int data = g.var("data");
  const int c = g.op(op, "const", attrs, with_input ? std::vector<int>{data} : std::vector<int>{});
  const int add = g.op("broadcast_add", "add", {}, {data, c});
  return g.json({add});
}

std::string one_op_json(const std::string& op, const rtest::Attrs& attrs) {
  Graph g;
  const int node = g.op(op, "node", attrs, {g.var("data")});
  return g.json({node});
}

// Constant ops, abs and reductions: a bad attribute fails at load with the node and its op.
void test_constant_and_reduce_attrs_refused() {
  const std::string none = Params().bytes();
  expect_refused(constant_json("_full", {{"shape", "(1, 4)"}}), none, {1, 4},
                 "attribute 'value' of node 'const' (_full) is required but missing", "_full without value");
  expect_refused(constant_json("_ones", {}), none, {1, 4},
                 "attribute 'shape' of node 'const' (_ones) is required but missing", "_ones without shape");
  expect_refused(constant_json("_full", {{"shape", "(1, 4)"}, {"value", "1"}, {"dtype", "float16"}}), none,
                 {1, 4}, "attribute 'dtype' of node 'const' (_full) must be float32", "_full float16");
  expect_refused(constant_json("_zeros", {{"shape", "(1, -4)"}}), none, {1, 4},
                 "node 'const' (_zeros): its shape (1, -4) has a negative dimension", "negative constant shape");
  expect_refused(constant_json("_zeros", {{"shape", "(1, 0)"}}), none, {1, 4},
                 "node 'const' (_zeros): its shape (1, 0) holds no elements", "empty constant shape");
  expect_refused(constant_json("_zeros", {{"shape", "(1099511627776, 1099511627776)"}}), none, {1, 4},
                 "is too large for a constant", "absurd constant shape");
  expect_refused(constant_json("_ones", {{"shape", "(4097, 4096)"}}), none, {1, 4},
                 "is too large for a constant", "a constant over the limit");
  {  // two constants within the limit each, over it together
    Graph g;
    const int data = g.var("data");
    const int a = g.op("_ones", "a", {{"shape", "(4096, 4096)"}}, {});
    const int b = g.op("_zeros", "b", {{"shape", "(1, 4)"}}, {});
    const int sum = g.op("broadcast_add", "sum", {}, {a, b});
    const int out = g.op("broadcast_add", "out", {}, {data, sum});
    expect_refused(g.json({out}), none, {1, 4},
                   "node 'b' (_zeros): its shape (1, 4) brings the graph's constants to more than 16777216 values", "constants over the limit together");
  }
  expect_refused(constant_json("_full", {{"shape", "(1, 4)"}, {"value", "one"}}), none, {1, 4},
                 "attribute 'value' of node 'const' (_full) must be a number", "_full value not a number");
  expect_refused(constant_json("_ones", {{"shape", "(1, 4)"}}, true), none, {1, 4},
                 "node 'const' (_ones): it has 1 inputs, expected 0", "a constant with an input");
  expect_refused(one_op_json("abs", {{"scalar", "2"}}), none, {1, 4},
                 "unsupported attribute 'scalar' of node 'node' (abs)", "abs with an attribute");
  expect_refused(one_op_json("mean", {{"axis", "4"}, {"keepdims", "True"}}), none, {1, 3, 2, 2},
                 "node 'node' (mean): attribute 'axis' is 4, outside the input's 4 axes", "reduce axis out of range");
  expect_refused(one_op_json("sum", {{"axis", "(1, x)"}}), none, {1, 3, 2, 2},
                 "attribute 'axis' of node 'node' (sum) must be a tuple of integers", "reduce axis not integers");
  expect_refused(one_op_json("max", {{"keepdims", "maybe"}}), none, {1, 3, 2, 2},
                 "attribute 'keepdims' of node 'node' (max) must be True or False", "reduce keepdims not a bool");
}

void test_api_misuse() {
  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, 2}, shape[] = {1, 4};
  const std::string json = fc_json(), params = fc_params();
  BMXPredictorHandle h = nullptr;
  CHECK(BMXPredCreate(json.c_str(), params.data(), static_cast<int>(params.size()), 2, 0, 1, keys,
                      indptr, shape, &h) == -1 &&
            std::string(BMXGetLastError()).find("dev_type 2 is not supported") != std::string::npos,
        "dev_type 2: %s", BMXGetLastError());
  const char* bad_keys[] = {"image"};
  CHECK(BMXPredCreate(json.c_str(), params.data(), static_cast<int>(params.size()), 1, 0, 1,
                      bad_keys, indptr, shape, &h) == -1 &&
            std::string(BMXGetLastError()).find("'image' is not a variable") != std::string::npos,
        "unknown input key: %s", BMXGetLastError());
  h = create(json, params, {1, 4});
  CHECK(h != nullptr, "create");
  if (h == nullptr) return;
  const std::vector<float> x(4, 1.0f);
  std::vector<float> y(3);
  CHECK(BMXPredSetInput(h, "label", x.data(), 4) == -1 &&
            std::string(BMXGetLastError()).find("'label' is not an input") != std::string::npos,
        "wrong key: %s", BMXGetLastError());
  CHECK(BMXPredSetInput(h, "data", x.data(), 5) == -1 &&
            std::string(BMXGetLastError()).find("but 5 were given") != std::string::npos,
        "wrong size: %s", BMXGetLastError());
  CHECK(BMXPredSetInput(h, "data", x.data(), 4) == 0 && BMXPredForward(h) == 0, "set and forward");
  CHECK(std::string(BMXGetLastError()).empty(), "success clears the last error");
  CHECK(BMXPredGetOutput(h, 0, y.data(), 2) == -1, "output size checked");
  CHECK(BMXPredGetOutput(h, 1, y.data(), 3) == -1 &&
            std::string(BMXGetLastError()).find("out of range") != std::string::npos,
        "output index checked: %s", BMXGetLastError());
  uint32_t* dims = nullptr;
  uint32_t ndim = 0;
  CHECK(BMXPredGetOutputShape(h, 0, &dims, &ndim) == 0 && ndim == 2 && dims[0] == 1 && dims[1] == 3,
        "output shape");
  CHECK(BMXPredSetNumThreads(h, 0) == -1, "0 threads refused");
  CHECK(BMXPredSetNumThreads(h, 2) == 0, "2 threads");
  const char* plan = nullptr;
  CHECK(BMXPredGetPlan(h, &plan) == 0 && plan != nullptr &&
            std::string(plan).find("\"arena_bytes\"") != std::string::npos &&
            std::string(plan).find("\"op\":\"FullyConnected\"") != std::string::npos,
        "plan: %s", plan ? plan : "(null)");
  CHECK(BMXPredForward(nullptr) == -1 &&
            std::string(BMXGetLastError()).find("handle is null") != std::string::npos,
        "null handle");
  CHECK(BMXPredFree(h) == 0 && BMXPredFree(nullptr) == 0, "free");
}

// The params bytes are read in place while the predictor is made, from any address (a
// misaligned buffer is copied where needed), and not used afterwards: a predictor made from
// a buffer at an odd address that is then overwritten gives the same output as one made
// from an aligned buffer.
void test_params_buffer_use() {
  Graph g;
  const int data = g.var("data");
  const int conv = g.op("bmx_binary_conv2d", "bc", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"},
                                                   {"num_filter", "8"}, {"use_scale", "True"}},
                        {data, g.var("bc_weight"), g.var("bc_scale"), g.var("bc_bias")});
  const int fc = g.op("FullyConnected", "fc", {{"num_hidden", "3"}}, {conv, g.var("fc_weight"), g.var("fc_bias")});
  const std::string json = g.json({fc});
  Params p;
  std::vector<uint32_t> w(72);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint32_t>(i * 2654435761u) & 0xFFFFu;
  p.i32("arg:bc_weight", {8, 3, 3, 1}, w);
  p.f32("arg:bc_scale", {8}, rtest::random_floats(8, 0.1f, 1.0f));
  p.f32("arg:bc_bias", {8}, rtest::random_floats(8));
  p.f32("arg:fc_weight", {3, 8 * 25}, rtest::random_floats(3 * 8 * 25));
  p.f32("arg:fc_bias", {3}, rtest::random_floats(3));
  const std::string bytes = p.bytes();
  const std::vector<float> x = rtest::random_floats(16 * 25);
  const std::vector<float> expected = rtest::run(json, bytes, {1, 16, 5, 5}, x);
  CHECK(expected.size() == 3, "the model runs from an aligned buffer");
  for (size_t offset : {1, 2, 3, 4}) {
    std::vector<char> buffer(bytes.size() + offset);
    std::memcpy(buffer.data() + offset, bytes.data(), bytes.size());
    const char* keys[] = {"data"};
    const uint32_t indptr[] = {0, 4}, shape[] = {1, 16, 5, 5};
    BMXPredictorHandle h = nullptr;
    const int rc = BMXPredCreate(json.c_str(), buffer.data() + offset, static_cast<int>(bytes.size()),
                                 1, 0, 1, keys, indptr, shape, &h);
    std::fill(buffer.begin(), buffer.end(), '\x7f');
    std::vector<float> y(3);
    const bool ok = rc == 0 && BMXPredSetInput(h, "data", x.data(), 400) == 0 &&
                    BMXPredForward(h) == 0 && BMXPredGetOutput(h, 0, y.data(), 3) == 0;
    CHECK(ok && y == expected, "params at offset %zu, overwritten after creation: %s", offset,
          ok ? "different output" : BMXGetLastError());
    BMXPredFree(h);
  }
}

}  // namespace

int main() {
  test_params_buffer_use();
  test_valid_model_runs();
  test_params_refused();
  test_headers_refused();
  test_foreign_params_refused();
  test_json_refused();
  test_graph_refused();
  test_constant_and_reduce_attrs_refused();
  test_api_misuse();
  return rtest::finish("test_runtime_loader");
}

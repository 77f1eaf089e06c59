// The plan's typed values and its memory (plan.h): every value has its kind (input, param,
// constant, activation), dtype and bytes; a parameter or constant that an op reads is a value of
// its own, outside the arena; and no two arena values that live at a common step share memory
// unless one is written over the other (in place) or passes it on (an alias).
#include <algorithm>

#include "predictor.h"
#include "runtime_test_util.h"

namespace {

using bmx::rt::Plan;
using bmx::rt::ValueKind;
using rtest::Graph;
using rtest::Params;

const Plan& plan_of(BMXPredictorHandle h) { return static_cast<bmx::rt::Predictor*>(h)->plan(); }

// Empty when no two arena values on different buffers overlap while both live, else which.
std::string overlap(const Plan& plan) {
  const int steps = static_cast<int>(plan.steps.size());
  std::vector<int> first(plan.values.size(), 0), last(plan.values.size(), -1);
  for (int s = 0; s < steps; ++s) {
    for (int v : plan.steps[s].inputs) {
      if (v >= 0) last[v] = s;
    }
    for (int v : plan.steps[s].outputs) first[v] = s, last[v] = std::max(last[v], s);
  }
  for (int v : plan.input_values) {
    if (v >= 0) first[v] = 0, last[v] = steps;
  }
  for (int v : plan.output_values) last[v] = steps;
  for (size_t a = 0; a < plan.values.size(); ++a) {
    for (size_t b = 0; b < a; ++b) {
      const auto& va = plan.values[a];
      const auto& vb = plan.values[b];
      if (va.buffer < 0 || vb.buffer < 0 || va.buffer == vb.buffer) continue;
      if (first[a] > last[b] || first[b] > last[a]) continue;
      const size_t oa = plan.buffer_offsets[va.buffer], ob = plan.buffer_offsets[vb.buffer];
      if (oa + va.bytes > ob && ob + vb.bytes > oa) {
        return "values " + std::to_string(b) + " and " + std::to_string(a) + " overlap";
      }
      if (oa + va.bytes > plan.scratch_offset || ob + vb.bytes > plan.scratch_offset) {
        return "a value reaches into the scratch";
      }
    }
  }
  return "";
}

// data + offset (a parameter) times a _full constant, then a relu: one value of each kind.
void kinds_dtypes_and_bytes() {
  Graph g;
  const int data = g.var("data");
  const int add = g.op("broadcast_add", "add", {}, {data, g.var("offset")});
  const int full = g.op("_full", "two", {{"shape", "(2, 3)"}, {"value", "2"}}, {});
  const int mul = g.op("broadcast_mul", "mul", {}, {add, full});
  const int relu = g.op("relu", "relu", {}, {mul});
  Params p;
  p.f32("arg:offset", {2, 3}, rtest::random_floats(6));
  BMXPredictorHandle h = rtest::create(g.json({relu}), p.bytes(), {2, 3});
  CHECK(h != nullptr, "create: %s", BMXGetLastError());
  if (h == nullptr) return;
  const Plan& plan = plan_of(h);
  CHECK(plan.steps.size() == 3, "3 steps, got %zu", plan.steps.size());
  if (plan.steps.size() == 3) {
    const auto& v = plan.values;
    const int in = plan.steps[0].inputs[0], param = plan.steps[0].inputs[1];
    const int constant = plan.steps[1].inputs[1];
    CHECK(v[in].kind == ValueKind::kInput && in == plan.input_values[0], "the input's value");
    CHECK(v[param].kind == ValueKind::kParam && v[param].constant && v[param].buffer < 0,
          "the parameter is a param value outside the arena");
    CHECK(v[constant].kind == ValueKind::kConstant && v[constant].constant &&
              v[constant].buffer < 0 && v[constant].constant[5] == 2.0f,
          "the _full is a constant value outside the arena");
    for (const auto& step : plan.steps) {
      for (int o : step.outputs) {
        CHECK(v[o].kind == ValueKind::kActivation && v[o].buffer >= 0, "an op's output");
      }
    }
    for (const auto& value : v) {
      CHECK(value.dtype == bmx::rt::DType::kFloat32 && value.elems == 6 && value.bytes == 24,
            "float32, 6 elements, 24 bytes");
    }
    // The add and the relu run in place over their first input where nothing reads it later:
    // the input keeps its memory, so the add takes a new buffer and mul and relu reuse it.
    const int a = plan.steps[0].outputs[0], m = plan.steps[1].outputs[0];
    CHECK(v[a].buffer != v[in].buffer && v[m].buffer == v[a].buffer &&
              v[plan.output_values[0]].buffer == v[a].buffer,
          "in place: add %d, mul %d, relu %d, input %d", v[a].buffer, v[m].buffer,
          v[plan.output_values[0]].buffer, v[in].buffer);
  }
  const std::string o = overlap(plan);
  CHECK(o.empty(), "small graph: %s", o.c_str());
  BMXPredFree(h);
}

// Branches, a fused relu, a concat and two outputs: no live values overlap.
void branches_share_no_live_memory() {
  Graph g;
  const int data = g.var("data");
  const int conv = g.op("Convolution", "conv", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "8"}},
                        {data, g.var("conv_weight"), g.var("conv_bias")});
  const int relu = g.op("Activation", "relu", {{"act_type", "relu"}}, {conv});
  const int pool = g.op("Pooling", "pool", {{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", "max"}}, {relu});
  const int sig = g.op("Activation", "sig", {{"act_type", "sigmoid"}}, {pool});
  const int tanh = g.op("Activation", "tanh", {{"act_type", "tanh"}}, {pool});
  const int add = g.op("elemwise_add", "add", {}, {sig, tanh});
  const int cat = g.op("Concat", "cat", {{"dim", "1"}}, {add, pool, sig});
  const int flat = g.op("Flatten", "flat", {}, {cat});
  const int sm = g.op("softmax", "sm", {}, {flat});
  Params p;
  p.f32("arg:conv_weight", {8, 3, 3, 3}, rtest::random_floats(8 * 27));
  p.f32("arg:conv_bias", {8}, rtest::random_floats(8));
  BMXPredictorHandle h = rtest::create(g.json({sm, pool}), p.bytes(), {1, 3, 8, 8});
  CHECK(h != nullptr, "create: %s", BMXGetLastError());
  if (h == nullptr) return;
  const Plan& plan = plan_of(h);
  const std::string o = overlap(plan);
  CHECK(o.empty(), "branches: %s", o.c_str());
  int fused = 0;
  for (const auto& step : plan.steps) fused += step.op->kernel == "fused";
  CHECK(fused == 1, "the relu after the convolution is fused (%d fused)", fused);
  // The arena holds at least the input, the two outputs and the concat at once.
  const size_t floor = 4 * (3 * 64 + 8 * 16 + 24 * 16);
  CHECK(plan.arena_bytes >= floor && plan.arena_bytes <= 2 * 4 * (3 * 64 + 8 * 64 + 24 * 16) + plan.scratch_bytes,
        "arena %zu bytes", plan.arena_bytes);
  BMXPredFree(h);
}

}  // namespace

int main() {
  kinds_dtypes_and_bytes();
  branches_share_no_live_memory();
  return rtest::finish("test_runtime_plan_values");
}

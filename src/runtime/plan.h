// The plan of a graph for given input shapes, made once: which nodes run in which order, every
// value's kind, dtype and shape, the op that computes each node (weights repacked), and a memory
// plan that places every activation in one arena, reusing memory once its last reader has run.
// It is made by passes (plan_passes.h), in order: check, outputs, constants, fusion, nodes,
// memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "op.h"
#include "params_file.h"
#include "shape.h"
#include "symbol.h"

namespace bmx {
namespace rt {

struct InputSpec {
  std::string name;
  Shape shape;  // logical NCHW
};

// Where a value comes from.
enum class ValueKind {
  kInput,       // a graph input: set by set_input, kept in the arena for good
  kParam,       // a parameter of the params file that an op reads as an activation
  kConstant,    // a constant op's value (_full, _zeros, _ones) that an op reads
  kActivation,  // an op's output
};

struct PlannedValue {
  ValueKind kind = ValueKind::kActivation;
  DType dtype = DType::kFloat32;
  Shape shape;
  int64_t elems = 0;
  size_t bytes = 0;                 // elems in dtype
  int buffer = -1;                  // arena buffer; -1 for a value held in `constant`
  const float* constant = nullptr;  // a parameter or constant in stored layout (or an alias of one)
};

struct PlannedStep {
  int node = 0;
  std::shared_ptr<Op> op;  // shared with the plans of a predictor's clones (Op::per_predictor)
  std::vector<int> inputs;   // value ids (Plan::values); -1 for inputs the op does not read
  std::vector<int> outputs;  // value ids
};

struct Plan {
  Symbol symbol;
  std::vector<PlannedValue> values;
  std::vector<PlannedStep> steps;
  std::vector<InputSpec> inputs;
  std::vector<int> input_values;   // per input; -1 when no output depends on it
  std::vector<int> output_values;  // per output
  std::vector<std::string> output_names;
  std::vector<size_t> buffer_offsets;  // byte offset of each buffer in the arena
  size_t scratch_offset = 0, scratch_bytes = 0;
  size_t arena_bytes = 0;
  size_t weight_bytes = 0;
  size_t prepared_bytes = 0;  // what the ops' prepare() allocate beside the arena (Op::prepared_bytes)
  std::vector<std::vector<float>> constants;  // parameters and constants read as activations
};

// Builds the plan. output_keys empty: the symbol's heads. Throws Error with one sentence.
std::unique_ptr<Plan> build_plan(Symbol symbol, std::vector<ParamArray> params,
                                 const std::vector<InputSpec>& inputs,
                                 const std::vector<std::string>& output_keys, Isa isa,
                                 FloatBackend float_backend);

}  // namespace rt
}  // namespace bmx

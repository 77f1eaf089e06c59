#include "predictor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>

#include <nlohmann/json.hpp>

#include "error.h"
#include "layout.h"
#include "pairing.h"
#include "memory_limit.h"
#include "profile.h"
#include "float/float_kernels.h"

namespace bmx {
namespace rt {

void Predictor::FreeArena::operator()(uint8_t* p) const { std::free(p); }

namespace {

std::shared_ptr<const Model> make_model(const char* symbol_json, const void* params,
                                        size_t params_size, const std::vector<InputSpec>& inputs,
                                        const std::vector<std::string>& output_keys) {
  if (params == nullptr && params_size > 0) fail("the params data is a null pointer.");
  auto model = std::make_shared<Model>();
  model->symbol = parse_symbol(symbol_json);
  if (params_size > 0) model->params.assign(static_cast<const char*>(params), params_size);
  model->inputs = inputs;
  model->output_keys = output_keys;
  return model;
}

}  // namespace

Predictor::Predictor(const char* symbol_json, const void* params, size_t params_size,
                     const std::vector<InputSpec>& inputs,
                     const std::vector<std::string>& output_keys, const Settings& settings)
    : Predictor(make_model(symbol_json, params, params_size, inputs, output_keys), settings,
                nullptr) {}

std::unique_ptr<Predictor> Predictor::clone() const {
  return std::unique_ptr<Predictor>(new Predictor(model_, settings_, this));
}

Predictor::Predictor(std::shared_ptr<const Model> model, const Settings& settings,
                     const Predictor* source)
    : model_(std::move(model)), settings_(settings) {
  Symbol symbol = model_->symbol;
  std::vector<ParamArray> arrays = parse_params(model_->params.data(), model_->params.size());
  // After parsing: damaged params get the parser's sentence. A clone's model was checked
  // when its source was made.
  if (source == nullptr) {
    check_params_id(symbol.params_sha256, model_->params.data(), model_->params.size());
  }
  plan_ = build_plan(std::move(symbol), std::move(arrays), model_->inputs, model_->output_keys,
                     settings_.isa, settings_.float_backend);
  threads_ = settings_.threads > 0 ? settings_.threads : kernel_threads();
  if (source != nullptr) {
    // The same model planned again gives the same steps; the source's stateless ops replace
    // this plan's copies, so the clone holds no second copy of their weights.
    const Plan& from = *source->plan_;
    if (from.steps.size() != plan_->steps.size()) fail("internal error: a clone planned differently.");
    for (size_t s = 0; s < from.steps.size(); ++s) {
      if (from.steps[s].node != plan_->steps[s].node) fail("internal error: a clone planned differently.");
      if (!from.steps[s].op->per_predictor) plan_->steps[s].op = from.steps[s].op;
    }
    threads_ = source->threads_;
  }
  // 64 bytes of slack behind the last buffer: XNNPACK may read a few bytes past an input.
  const size_t arena_bytes = plan_->arena_bytes > 0 ? (plan_->arena_bytes + 63) / 64 * 64 + 64 : 0;
  std::string for_inputs;
  for (const auto& in : model_->inputs) {
    for_inputs += (for_inputs.empty() ? " for input '" : " and '") + in.name + "' of shape " +
                  shape_str(in.shape);
  }
  check_memory_limit(uint64_t{arena_bytes} + plan_->prepared_bytes, "the plan" + for_inputs);
  if (plan_->arena_bytes > 0) {
    const size_t bytes = arena_bytes;
    uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
    if (p == nullptr) {
      fail("not enough memory for the activations (" + std::to_string(plan_->arena_bytes) +
           " bytes).");
    }
    std::memset(p, 0, bytes);
    arena_.reset(p);
  }
  for (const auto& step : plan_->steps) {
    std::vector<const float*> ins;
    for (int v : step.inputs) ins.push_back(v >= 0 ? value_data(v) : nullptr);
    std::vector<float*> outs;
    for (int v : step.outputs) outs.push_back(value_data(v));
    step_in_.push_back(std::move(ins));
    step_out_.push_back(std::move(outs));
  }
  for (int v : plan_->output_values) {
    std::vector<uint32_t> dims;
    for (int64_t d : plan_->values[v].shape) dims.push_back(static_cast<uint32_t>(d));
    output_shapes_.push_back(dims);
  }
  input_set_.assign(plan_->inputs.size(), false);
  prepare();
}

void Predictor::set_threads(int n) {
  n = std::min(n, max_kernel_threads());
  if (n == threads_) return;
  threads_ = n;
  settings_.threads = n;  // its clones take it
  prepare();
}

RunContext Predictor::step_context(size_t s) {
  return RunContext{step_in_[s].data(), step_out_[s].data(), arena_.get() + plan_->scratch_offset,
                    threads_, &ws_};
}

void Predictor::prepare() {
  PoolScope scope(&pool_, threads_);
  pool_.get(threads_);  // its threads for this count, the old count's joined
  start_threads(threads_);
  for (size_t s = 0; s < plan_->steps.size(); ++s) {
    Op& op = *plan_->steps[s].op;
    if (op.alias_input < 0) op.prepare(step_context(s));
  }
}

Predictor::~Predictor() = default;

float* Predictor::value_data(int v) const {
  const PlannedValue& value = plan_->values[v];
  if (value.constant != nullptr) return const_cast<float*>(value.constant);
  return reinterpret_cast<float*>(arena_.get() + plan_->buffer_offsets[value.buffer]);
}

void Predictor::set_input(const std::string& key, const float* data, size_t size) {
  for (size_t i = 0; i < plan_->inputs.size(); ++i) {
    const InputSpec& in = plan_->inputs[i];
    if (in.name != key) continue;
    const int64_t n = elements(in.shape);
    if (static_cast<int64_t>(size) != n) {
      fail("input '" + key + "' has shape " + shape_str(in.shape) + " (" + std::to_string(n) +
           " floats), but " + std::to_string(size) + " were given.");
    }
    if (data == nullptr) fail("the data for input '" + key + "' is a null pointer.");
    input_set_[i] = true;
    const int v = plan_->input_values[i];
    if (v < 0) return;  // the outputs do not depend on it
    logical_to_stored(in.shape, data, value_data(v));
    return;
  }
  std::string keys;
  for (const auto& in : plan_->inputs) keys += (keys.empty() ? "'" : ", '") + in.name + "'";
  fail("input key '" + key + "' is not an input of this predictor (its inputs: " + keys + ").");
}

void Predictor::forward(std::vector<double>* step_seconds, std::vector<double>* step_starts) {
  for (size_t i = 0; i < input_set_.size(); ++i) {
    if (!input_set_[i]) {
      fail("input '" + plan_->inputs[i].name + "' has not been set: call BMXPredSetInput for "
           "every input before BMXPredForward.");
    }
  }
  has_run_ = true;
  PoolScope scope(&pool_, threads_);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point first = step_seconds ? Clock::now() : Clock::time_point();
  if (step_seconds) step_seconds->assign(plan_->steps.size(), 0.0);
  if (step_starts) step_starts->assign(plan_->steps.size(), 0.0);
  for (size_t s = 0; s < plan_->steps.size(); ++s) {
    const Clock::time_point start = step_seconds ? Clock::now() : Clock::time_point();
    const PlannedStep& step = plan_->steps[s];
    Op& op = *step.op;
    if (op.alias_input >= 0) {
      const float* in = step_in_[s][op.alias_input];
      float* out = step_out_[s][0];
      if (in != out) {
        std::memcpy(out, in, sizeof(float) * plan_->values[step.outputs[0]].elems);
      }
    } else {
      op.run(step_context(s));
    }
    if (step_seconds) {
      (*step_seconds)[s] = std::chrono::duration<double>(Clock::now() - start).count();
      if (step_starts) (*step_starts)[s] = std::chrono::duration<double>(start - first).count();
    }
  }
}

Profile& Predictor::profile() {
  if (!profile_) profile_.reset(new Profile(*plan_));
  return *profile_;
}

const std::vector<uint32_t>& Predictor::output_shape(size_t index) const {
  if (index >= output_shapes_.size()) {
    fail("output index " + std::to_string(index) + " is out of range: the predictor has " +
         std::to_string(output_shapes_.size()) + " outputs.");
  }
  return output_shapes_[index];
}

void Predictor::get_output(size_t index, float* data, size_t size) const {
  output_shape(index);
  const PlannedValue& v = plan_->values[plan_->output_values[index]];
  if (static_cast<int64_t>(size) != v.elems) {
    fail("output " + std::to_string(index) + " has shape " + shape_str(v.shape) + " (" +
         std::to_string(v.elems) + " floats), but room for " + std::to_string(size) +
         " was given.");
  }
  if (data == nullptr) fail("the buffer for output " + std::to_string(index) + " is a null pointer.");
  if (!has_run_) {
    fail("output " + std::to_string(index) + " has not been computed: call BMXPredForward "
         "before BMXPredGetOutput.");
  }
  stored_to_logical(v.shape, value_data(plan_->output_values[index]), data);
}

const std::string& Predictor::plan_json() {
  if (!plan_json_.empty()) return plan_json_;
  using nlohmann::json;
  json nodes = json::array();
  for (const auto& step : plan_->steps) {
    const SymbolNode& node = plan_->symbol.nodes[step.node];
    json shape = json::array();
    if (!step.outputs.empty()) {
      for (int64_t d : plan_->values[step.outputs[0]].shape) shape.push_back(d);
    }
    nodes.push_back({{"name", node.name},
                     {"op", node.op},
                     {"kernel", step.op->kernel},
                     {"output_shape", shape},
                     {"macs", step.op->macs}});
  }
  json plan = {{"nodes", nodes},
               {"arena_bytes", plan_->arena_bytes},
               {"weight_bytes", plan_->weight_bytes},
               {"isa", isa_name(settings_.isa)},
               {"float_backend", float_backend_name(settings_.float_backend)}};
  if (!settings_.isa_note.empty()) plan["isa_note"] = settings_.isa_note;
  plan_json_ = plan.dump();
  return plan_json_;
}

}  // namespace rt
}  // namespace bmx

// A planned graph with its memory: inputs in, forward, outputs out. Forward allocates nothing:
// the arena is allocated at creation, and every op is prepared then (and again when the thread
// count changes) for its buffers and the thread count: the binary kernels' workspace sized, the
// float library set up, the threads started.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fast_kernels.h"
#include "plan.h"
#include "settings.h"
#include "thread_pool.h"

namespace bmx {
namespace rt {

class Profile;

// What a predictor was made from, kept (read-only, shared by its clones) so that a clone can
// be planned without the caller's buffers.
struct Model {
  Symbol symbol;  // parsed once: the text (whitespace and all) is not kept
  std::string params;  // the .params bytes
  std::vector<InputSpec> inputs;
  std::vector<std::string> output_keys;
};

class Predictor {
 public:
  // Parses the symbol and params and plans for the given inputs with `settings` (its
  // instruction set, float backend and thread count, kept for its clones). Throws Error.
  Predictor(const char* symbol_json, const void* params, size_t params_size,
            const std::vector<InputSpec>& inputs, const std::vector<std::string>& output_keys,
            const Settings& settings = default_settings());
  ~Predictor();

  // A predictor of the same model, inputs and settings with activations, inputs, outputs and
  // threads of its own, for another thread. It shares the ops that keep no state between runs
  // (with their weights: the binary layers' packed bits, scales, biases, batch norm) and plans
  // its own instances of the others (the float library's layers, which are set up for one
  // predictor's buffers). Throws Error.
  std::unique_ptr<Predictor> clone() const;

  // Set while a C API call runs on this predictor, so that an overlapping call from another
  // thread is refused instead of racing on the buffers.
  std::atomic<bool>& in_use() { return in_use_; }

  void set_input(const std::string& key, const float* data, size_t size);
  // Runs every step; with step_seconds, also records each step's wall time (profiling), and
  // with step_starts each step's start in seconds from the first step's.
  void forward(std::vector<double>* step_seconds = nullptr,
               std::vector<double>* step_starts = nullptr);
  // The per-step profile of this predictor's profiled forwards (profile.h), made at first use.
  Profile& profile();
  size_t num_outputs() const { return plan_->output_values.size(); }
  const std::vector<uint32_t>& output_shape(size_t index) const;
  void get_output(size_t index, float* data, size_t size) const;
  void set_threads(int n);
  int threads() const { return threads_; }
  const Settings& settings() const { return settings_; }
  // The plan as JSON (bmx_predict.h, BMXPredGetPlan).
  const std::string& plan_json();
  const Plan& plan() const { return *plan_; }

 private:
  // Plans `model`; with `source`, shares source's ops that keep no state and its thread count.
  Predictor(std::shared_ptr<const Model> model, const Settings& settings,
            const Predictor* source);
  float* value_data(int v) const;
  // Op::prepare for every step with the current thread count.
  void prepare();
  RunContext step_context(size_t s);
  std::shared_ptr<const Model> model_;
  Settings settings_;
  // This predictor's threads (its clones have their own): every forward and preparation runs
  // its parallel regions here, never on another predictor's threads.
  ThreadPool pool_;
  std::unique_ptr<Plan> plan_;
  std::atomic<bool> in_use_{false};
  struct FreeArena {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, FreeArena> arena_;
  Workspace ws_;
  int threads_ = 1;
  std::vector<std::vector<uint32_t>> output_shapes_;
  // Per step: its input and output pointers, made once.
  std::vector<std::vector<const float*>> step_in_;
  std::vector<std::vector<float*>> step_out_;
  // The call order MXNet's predictor requires: every input set before a forward, a forward
  // before an output is read (until then the buffers hold zeros, not results).
  std::vector<bool> input_set_;
  bool has_run_ = false;
  std::string plan_json_;
  std::unique_ptr<Profile> profile_;
};

}  // namespace rt
}  // namespace bmx

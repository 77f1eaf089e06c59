// A planned graph with its memory: inputs in, forward, outputs out. Forward allocates nothing:
// the arena is allocated at creation, and every op is prepared then (and again when the thread
// count changes) for its buffers and the thread count: the binary kernels' workspace sized, the
// float library set up, the threads started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fast_kernels.h"
#include "plan.h"

namespace bmx {
namespace rt {

class Predictor {
 public:
  // Parses the symbol and params and plans for the given inputs. Throws Error.
  Predictor(const char* symbol_json, const void* params, size_t params_size,
            const std::vector<InputSpec>& inputs, const std::vector<std::string>& output_keys);
  ~Predictor();

  void set_input(const std::string& key, const float* data, size_t size);
  // Runs every step; with step_seconds, also records each step's wall time (profiling).
  void forward(std::vector<double>* step_seconds = nullptr);
  size_t num_outputs() const { return plan_->output_values.size(); }
  const std::vector<uint32_t>& output_shape(size_t index) const;
  void get_output(size_t index, float* data, size_t size) const;
  void set_threads(int n);
  int threads() const { return threads_; }
  // The plan as JSON (bmx_predict.h, BMXPredGetPlan).
  const std::string& plan_json();
  const Plan& plan() const { return *plan_; }

 private:
  float* value_data(int v) const;
  // Op::prepare for every step with the current thread count.
  void prepare();
  RunContext step_context(size_t s);
  std::unique_ptr<Plan> plan_;
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
  std::string plan_json_;
};

}  // namespace rt
}  // namespace bmx

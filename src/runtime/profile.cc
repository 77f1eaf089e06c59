#include "profile.h"

#include <chrono>
#include <cstddef>

#include "predictor.h"

namespace bmx {
namespace rt {

// web/bmxnet_api.js reads the rows from WebAssembly memory at these offsets (wasm32).
static_assert(sizeof(void*) != 4 || (sizeof(BMXStepProfile) == 56 &&
                                     offsetof(BMXStepProfile, binary_macs) == 24 &&
                                     offsetof(BMXStepProfile, seconds) == 48),
              "BMXStepProfile's wasm32 layout is what bmxnet_api.js reads");

const char* step_kind(const Op& op) {
  if (op.kernel.compare(0, 7, "binary-") == 0) return "binary";
  if (op.macs > 0 || op.kernel.compare(0, 6, "float-") == 0) return "float";
  return "data";
}

Profile::Profile(const Plan& plan) : names_(plan.steps.size()), rows_(plan.steps.size()) {
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const PlannedStep& step = plan.steps[s];
    const SymbolNode& node = plan.symbol.nodes[step.node];
    Names& names = names_[s];
    names.node = node.name;
    names.op = node.op;
    names.kernel = step.op->kernel;
    if (!step.outputs.empty()) {
      for (int64_t d : plan.values[step.outputs[0]].shape) {
        names.shape.push_back(static_cast<uint32_t>(d));
      }
    }
    BMXStepProfile& row = rows_[s];
    row.node = names.node.c_str();
    row.op = names.op.c_str();
    row.kernel = names.kernel.c_str();
    row.kind = step_kind(*step.op);
    row.output_shape = names.shape.data();
    row.output_ndim = static_cast<uint32_t>(names.shape.size());
    const bool binary = row.kind[0] == 'b';
    row.binary_macs = binary ? step.op->macs : 0;
    row.float_macs = binary ? 0 : step.op->macs;
    row.start_seconds = 0.0;
    row.seconds = 0.0;
  }
}

void Profile::forward(Predictor& predictor) {
  const auto start = std::chrono::steady_clock::now();
  predictor.forward(&seconds_, &starts_);
  forward_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (size_t s = 0; s < rows_.size(); ++s) {
    rows_[s].start_seconds = starts_[s];
    rows_[s].seconds = seconds_[s];
  }
}

}  // namespace rt
}  // namespace bmx

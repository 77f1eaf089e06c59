// The per-step profile of a forward for the C API (bmx_predict.h, BMXPredForwardProfiled):
// what each step of the plan is (node, op, kernel, kind, output shape, binary and float MACs),
// read once from the plan, and where its time went in the latest profiled forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "include/bmx_predict.h"
#include "plan.h"

namespace bmx {
namespace rt {

class Predictor;

// A step's kind, as the profile totals them: a binary kernel, a float layer (any step that
// multiplies: convolutions, dense, batch norm, pooling), or data movement (copies, reshapes,
// element-wise ops, signs: no multiply-accumulates).
const char* step_kind(const Op& op);

class Profile {
 public:
  explicit Profile(const Plan& plan);
  // Runs predictor.forward timing every step; the rows' times are this forward's.
  void forward(Predictor& predictor);
  const std::vector<BMXStepProfile>& steps() const { return rows_; }
  double forward_seconds() const { return forward_seconds_; }

 private:
  struct Names {
    std::string node, op, kernel;
    std::vector<uint32_t> shape;
  };
  std::vector<Names> names_;  // the strings the rows point into (never resized after made)
  std::vector<BMXStepProfile> rows_;
  std::vector<double> seconds_, starts_;
  double forward_seconds_ = 0.0;
};

}  // namespace rt
}  // namespace bmx

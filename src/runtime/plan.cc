// build_plan: the passes of plan_passes.h, in order.
#include "plan.h"

#include "plan_passes.h"

namespace bmx {
namespace rt {

std::unique_ptr<Plan> build_plan(Symbol symbol, std::vector<ParamArray> params,
                                 const std::vector<InputSpec>& inputs,
                                 const std::vector<std::string>& output_keys, Isa isa,
                                 FloatBackend float_backend) {
  Planning p;
  p.plan = std::make_unique<Plan>();
  p.plan->symbol = std::move(symbol);
  p.plan->inputs = inputs;
  p.params = std::move(params);
  p.file_params = p.params.size();
  p.isa = isa;
  p.float_backend = float_backend;
  check_model(p);
  resolve_outputs(p, output_keys);
  check_inputs(p);
  fold_constants(p);
  find_fusions(p);
  plan_nodes(p);
  bind_inputs_and_outputs(p);
  assign_memory(*p.plan);
  return std::move(p.plan);
}

}  // namespace rt
}  // namespace bmx

// The passes that build a plan (plan.h), in the order build_plan runs them, and the state they
// hand on: each pass reads what the earlier ones left in Planning and adds its own part.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "plan.h"

namespace bmx {
namespace rt {

// What a node gives the nodes that read it, once planned.
struct NodeSource {
  std::vector<int> values;            // its values (an op's outputs, an input's value)
  const ParamArray* param = nullptr;  // a parameter or folded constant: a value where read
  bool missing = false;               // a variable without a value: refused where read
};

struct Planning {
  std::unique_ptr<Plan> plan;
  std::vector<ParamArray> params;  // the params file's, then the folded constants (their
                                   // addresses are kept once plan_nodes starts)
  size_t file_params = 0;          // how many of `params` the file holds
  Isa isa;
  FloatBackend float_backend;
  std::vector<EntryRef> outputs;   // the graph's outputs (resolve_outputs)
  std::vector<bool> needed;        // per node: an output depends on it (resolve_outputs)
  std::map<int, int> constant_of_node;  // constant op node -> its index in params
  std::map<int, int> relu_of;           // node -> the relu node it may apply (find_fusions)
  std::set<int> fused;                  // relu nodes their producer applies (plan_nodes)
  std::vector<NodeSource> sources;      // per node (plan_nodes)
  std::map<const ParamArray*, int> value_of_param;  // parameters made values (plan_nodes)
};

// plan_check.cc: the parameters all belong to the symbol, the model is converted, and the
// input specs name distinct variables with positive shapes.
void check_model(const Planning& p);
void check_inputs(const Planning& p);
// plan_outputs.cc: the outputs that output_keys name (empty: the symbol's heads), their names,
// and the nodes they need; after plan_nodes, the values of the inputs and outputs.
void resolve_outputs(Planning& p, const std::vector<std::string>& output_keys);
void bind_inputs_and_outputs(Planning& p);
// plan_constants.cc: the value of every needed constant op, made once as a parameter.
void fold_constants(Planning& p);
// plan_fusion.cc: the producers that may apply the relu reading them (OpTraits).
void find_fusions(Planning& p);
// plan_nodes.cc: a step per needed op node, in order, with its op and its values.
void plan_nodes(Planning& p);
// The value of a parameter read as an activation (or an output), made once.
int param_value(Planning& p, const ParamArray& param, const SymbolNode& reader);
// Output e.index of node e.node; refuses an output the runtime does not compute.
int value_of(const Planning& p, const EntryRef& e, const std::string& what);
[[noreturn]] void missing_variable(const Planning& p, const EntryRef& e);
// A pass that changes how values are stored (bit-packed activations between binary layers)
// runs here, between plan_nodes and assign_memory: it sets the dtype and bytes of the values it
// changes, whose readers must accept that dtype (OpTraits::input_dtype); plan_memory sizes the
// buffers from the values' bytes.
// plan_memory.cc: every arena value's buffer, the buffers' offsets (memory_planner.h), the
// scratch and the arena's size.
void assign_memory(Plan& plan);

}  // namespace rt
}  // namespace bmx

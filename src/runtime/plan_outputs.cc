// The graph's outputs: which node outputs the output keys name, their names, and the nodes
// they need; once the nodes are planned, the values of the inputs and outputs.
#include "attrs.h"
#include "error.h"
#include "plan_passes.h"

namespace bmx {
namespace rt {
namespace {

// Which output of the graph an output key names: "name", "name_output" or "name_outputN".
EntryRef find_output(const Symbol& sym, const std::string& key) {
  for (size_t i = sym.nodes.size(); i-- > 0;) {
    const std::string& name = sym.nodes[i].name;
    if (key == name || key == name + "_output") return {static_cast<int64_t>(i), 0};
    const std::string prefix = name + "_output";
    if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0) {
      const std::string digits = key.substr(prefix.size());
      if (digits.size() < 4 && digits.find_first_not_of("0123456789") == std::string::npos) {
        return {static_cast<int64_t>(i), std::stoll(digits)};
      }
    }
  }
  fail("output key '" + key + "' names no node of the symbol.");
}

}  // namespace

void resolve_outputs(Planning& p, const std::vector<std::string>& output_keys) {
  const Symbol& sym = p.plan->symbol;
  if (output_keys.empty()) {
    p.outputs = sym.heads;
  } else {
    for (const auto& key : output_keys) p.outputs.push_back(find_output(sym, key));
  }
  for (const auto& o : p.outputs) {
    const SymbolNode& n = sym.nodes[o.node];
    p.plan->output_names.push_back(
        n.is_variable() ? n.name : n.name + (o.index ? "_output" + std::to_string(o.index) : "_output"));
  }
  p.needed.assign(sym.nodes.size(), false);
  for (const auto& o : p.outputs) p.needed[o.node] = true;
  for (size_t i = sym.nodes.size(); i-- > 0;) {
    if (!p.needed[i]) continue;
    for (const auto& e : sym.nodes[i].inputs) p.needed[e.node] = true;
  }
}

void bind_inputs_and_outputs(Planning& p) {
  const Symbol& sym = p.plan->symbol;
  for (const auto& o : p.outputs) {
    const NodeSource& source = p.sources[o.node];
    if (source.missing) missing_variable(p, o);
    if (source.param != nullptr) {  // the output is a parameter itself
      if (o.index != 0) value_of(p, o, "an output");
      p.plan->output_values.push_back(param_value(p, *source.param, sym.nodes[o.node]));
    } else {
      p.plan->output_values.push_back(value_of(p, o, "an output"));
    }
  }
  for (const auto& in : p.plan->inputs) {
    for (size_t i = 0; i < sym.nodes.size(); ++i) {
      if (sym.nodes[i].is_variable() && sym.nodes[i].name == in.name) {
        p.plan->input_values.push_back(p.needed[i] ? p.sources[i].values.at(0) : -1);
      }
    }
  }
}

}  // namespace rt
}  // namespace bmx

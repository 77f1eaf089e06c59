// The checks before planning: the parameters belong to the symbol, the model is converted, and
// the inputs name distinct variables of the symbol with shapes that hold elements.
#include <set>

#include "attrs.h"
#include "error.h"
#include "plan_passes.h"

namespace bmx {
namespace rt {
namespace {

// "a, b, c, ..." of the first three names.
std::string first_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 3; ++i) out += (i ? ", " : "") + names[i];
  return names.size() > 3 ? out + ", ..." : out;
}

// The parameters must all belong to this symbol (as the converter checks).
void check_params_match(const Symbol& sym, const std::vector<ParamArray>& params) {
  std::set<std::string> variables;
  for (const auto& n : sym.nodes) {
    if (n.is_variable()) variables.insert(n.name);
  }
  std::vector<std::string> extra;
  for (const auto& p : params) {
    if (!variables.count(p.name)) extra.push_back(p.key);
  }
  if (!extra.empty()) {
    fail("the params file does not match the symbol: " + std::to_string(extra.size()) + " of its " +
         std::to_string(params.size()) + " parameters are not in the symbol (" +
         first_names(extra) + "); pass the .params file saved together with this symbol.");
  }
}

// A trained, unconverted export: its binary layers compute their weight with a quantizer's sign
// ops (bmx_det_sign, or stock ops) instead of reading packed words from the params file, and it
// has no bmx_binary_* op. The runtime only runs converted models, so say so instead of failing on
// the first computed weight.
// Whether node i ends a training graph's straight-through sign: the op library's sign ops, BMXNet
// v2's, or the stock-op sign of bmxnet.ste_sign, (x >= 0) * 2 - 1 plus a gradient carrier.
bool is_training_sign(const Symbol& sym, int64_t i) {
  const SymbolNode& n = sym.nodes[i];
  if (n.op == "bmx_det_sign" || n.op == "bmx_approx_sign" || n.op == "det_sign" ||
      n.op == "approx_sign") {
    return true;
  }
  const char* chain[] = {"elemwise_add", "_minus_scalar", "_mul_scalar", "_greater_equal_scalar"};
  for (const char* op : chain) {
    const SymbolNode& m = sym.nodes[i];
    if (m.op != op || m.inputs.empty()) return false;
    i = m.inputs[0].node;
  }
  return true;
}

void check_converted(const Symbol& sym) {
  for (const auto& n : sym.nodes) {
    if (n.op.rfind("bmx_binary_", 0) == 0) return;
  }
  for (const auto& n : sym.nodes) {
    if ((n.op == "Convolution" || n.op == "FullyConnected") && n.inputs.size() > 1 &&
        is_training_sign(sym, n.inputs[1].node)) {
      fail(node_label(n) + ": its weight is computed by the graph (a binary layer's sign), so " +
           "this is a trained model that has not been converted; run model-converter on it " +
           "first (model-converter PREFIX-0000.params) and use the binarized_PREFIX files it " +
           "writes.");
    }
  }
}

}  // namespace

void check_model(const Planning& p) {
  check_params_match(p.plan->symbol, p.params);
  check_converted(p.plan->symbol);
}

void check_inputs(const Planning& p) {
  const Symbol& sym = p.plan->symbol;
  std::set<std::string> seen;
  for (const auto& in : p.plan->inputs) {
    if (!seen.insert(in.name).second) fail("input key '" + in.name + "' is given twice.");
    bool found = false;
    for (const auto& n : sym.nodes) found = found || (n.is_variable() && n.name == in.name);
    if (!found) fail("input key '" + in.name + "' is not a variable of the symbol.");
    if (in.shape.empty()) fail("input '" + in.name + "' has an empty shape.");
    const int64_t n = checked_elements(in.shape);
    if (n < 0) fail("input '" + in.name + "' has shape " + shape_str(in.shape) + ", which is too large.");
    if (n == 0) fail("input '" + in.name + "' has shape " + shape_str(in.shape) + ", which holds no elements.");
  }
}

}  // namespace rt
}  // namespace bmx

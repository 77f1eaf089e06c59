// Constant folding: the value of every needed constant op (_full, _zeros, _ones: op.h,
// ConstantFactory), made once and kept as a parameter named after its node, so that ops that
// need a parameter accept it. It runs before plan_nodes, which keeps addresses into the
// parameters.
#include <algorithm>

#include "plan_passes.h"

namespace bmx {
namespace rt {

void fold_constants(Planning& p) {
  const Symbol& sym = p.plan->symbol;
  int64_t total = 0;
  for (size_t i = 0; i < sym.nodes.size(); ++i) {
    const SymbolNode& node = sym.nodes[i];
    const ConstantFactory factory = p.needed[i] ? find_constant_op(node.op) : nullptr;
    if (factory == nullptr || node.is_variable()) continue;
    std::vector<Shape> shapes(node.inputs.size());
    PlanContext ctx(node, shapes, std::vector<const ParamArray*>(shapes.size(), nullptr), p.isa,
                    p.float_backend);
    const ConstantSpec c = factory(ctx);
    const int64_t n = elements(c.shape);
    total += n;
    const std::string limit = std::to_string(kMaxConstantElements);
    if (n > kMaxConstantElements) {
      ctx.fail("its shape " + shape_str(c.shape) + " is too large for a constant (at most " +
               limit + " values)");
    }
    if (total > kMaxConstantElements) {
      ctx.fail("its shape " + shape_str(c.shape) + " brings the graph's constants to more than " +
               limit + " values");
    }
    ParamArray param;
    param.name = param.key = node.name;
    param.shape = c.shape;
    param.copy.resize(static_cast<size_t>(n));  // owned: no file holds a constant's bytes
    std::fill_n(reinterpret_cast<float*>(param.copy.data()), n, c.value);
    param.data = reinterpret_cast<const uint8_t*>(param.copy.data());
    param.nbytes = static_cast<size_t>(n) * sizeof(float);
    p.constant_of_node[static_cast<int>(i)] = static_cast<int>(p.params.size());
    p.params.push_back(std::move(param));
  }
}

}  // namespace rt
}  // namespace bmx

// Fusion: a producer whose op absorbs relu (OpTraits::absorbs_relu), whose output 0 only a
// plain relu reads (OpTraits::is_relu) and is not an output, may apply that relu itself;
// plan_nodes offers it the fusion (PlanContext::may_fuse_relu) and the op's factory decides.
#include "plan_passes.h"

namespace bmx {
namespace rt {

void find_fusions(Planning& p) {
  const Symbol& sym = p.plan->symbol;
  std::vector<int> readers(sym.nodes.size(), 0);
  std::vector<int> reader(sym.nodes.size(), -1);  // the last reader, -1 when it reads output > 0
  for (size_t i = 0; i < sym.nodes.size(); ++i) {
    if (!p.needed[i]) continue;
    for (const auto& e : sym.nodes[i].inputs) {
      ++readers[e.node];
      reader[e.node] = e.index == 0 ? static_cast<int>(i) : -1;
    }
  }
  for (const auto& o : p.outputs) readers[o.node] += 2;  // an output is read by the caller
  for (size_t i = 0; i < sym.nodes.size(); ++i) {
    if (!p.needed[i] || readers[i] != 1 || reader[i] < 0) continue;
    const OpInfo* producer = find_op(sym.nodes[i].op);
    if (producer == nullptr || !producer->traits.absorbs_relu) continue;
    const SymbolNode& r = sym.nodes[reader[i]];
    const OpInfo* relu = find_op(r.op);
    if (relu == nullptr || relu->traits.is_relu == nullptr || !relu->traits.is_relu(r)) continue;
    if (r.inputs.size() == 1) p.relu_of[static_cast<int>(i)] = reader[i];
  }
}

}  // namespace rt
}  // namespace bmx

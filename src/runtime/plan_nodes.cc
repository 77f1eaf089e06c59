// Node planning: a step per needed op node, in the symbol's (topological) order. Each node's
// inputs are gathered as typed values, its factory makes the op and the output shapes, and the
// parameters it reads as activations become values of their own (made once). Variables give
// their input's value, their parameter, or nothing (refused where read, unless a label).
#include "attrs.h"
#include "error.h"
#include "layout.h"
#include "ops/op_util.h"
#include "plan_passes.h"

namespace bmx {
namespace rt {
namespace {

int new_value(Plan& plan, ValueKind kind, DType dtype, const Shape& shape) {
  PlannedValue v;
  v.kind = kind;
  v.dtype = dtype;
  v.shape = shape;
  v.elems = elements(shape);
  v.bytes = static_cast<size_t>(v.elems) * dtype_size(dtype);
  plan.values.push_back(v);
  return static_cast<int>(plan.values.size()) - 1;
}

const ParamArray* find_param(const Planning& p, const std::string& name) {
  for (const auto& param : p.params) {
    if (param.name == name) return &param;
  }
  return nullptr;
}

// A variable: the input of that name, else the parameter, else nothing.
void plan_variable(Planning& p, int index) {
  const SymbolNode& node = p.plan->symbol.nodes[index];
  for (const auto& in : p.plan->inputs) {
    if (in.name == node.name) {
      p.sources[index].values = {new_value(*p.plan, ValueKind::kInput, DType::kFloat32, in.shape)};
      return;
    }
  }
  p.sources[index].param = find_param(p, node.name);
  p.sources[index].missing = p.sources[index].param == nullptr;
}

// A relu its producer applies: a step that passes the producer's output on.
void plan_fused_relu(Planning& p, int index) {
  const SymbolNode& node = p.plan->symbol.nodes[index];
  const int v = value_of(p, node.inputs[0], node_label(node));
  PlannedStep step;
  step.node = index;
  step.op = alias_op();
  step.op->kernel = "fused";
  step.inputs = {v};
  step.outputs = {new_value(*p.plan, ValueKind::kActivation, p.plan->values[v].dtype,
                            p.plan->values[v].shape)};
  p.sources[index].values = step.outputs;
  p.plan->steps.push_back(std::move(step));
}

// An op node: its factory sees the inputs' shapes and parameters; the step reads the inputs the
// op marks as read, each a value of the dtype the op accepts.
void plan_op(Planning& p, int index) {
  const SymbolNode& node = p.plan->symbol.nodes[index];
  const OpInfo* info = find_op(node.op);
  if (info == nullptr) {
    fail("unsupported op '" + node.op + "' (node '" + node.name + "'): the runtime cannot "
         "compute it.");
  }
  std::vector<Shape> shapes;
  std::vector<const ParamArray*> params;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const EntryRef& e = node.inputs[i];
    const NodeSource& source = p.sources[e.node];
    if (source.missing) {
      if (static_cast<int>(i) != info->traits.label_input) missing_variable(p, e);
      shapes.push_back({});
      params.push_back(nullptr);
    } else if (source.param != nullptr) {
      if (e.index != 0) value_of(p, e, node_label(node));
      shapes.push_back(source.param->shape);
      params.push_back(source.param);
    } else {
      shapes.push_back(p.plan->values[value_of(p, e, node_label(node))].shape);
      params.push_back(nullptr);
    }
  }
  PlanContext ctx(node, shapes, params, p.isa, p.float_backend);
  const auto relu = p.relu_of.find(index);
  ctx.may_fuse_relu = relu != p.relu_of.end();
  OpSpec spec = info->make(ctx);
  if (ctx.fused_relu && ctx.may_fuse_relu) p.fused.insert(relu->second);
  PlannedStep step;
  step.node = index;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const NodeSource& source = p.sources[node.inputs[i].node];
    int v = -1;
    if (ctx.reads[i]) {
      if (source.missing) missing_variable(p, node.inputs[i]);
      v = source.param != nullptr ? param_value(p, *source.param, node)
                                  : value_of(p, node.inputs[i], node_label(node));
      if (p.plan->values[v].dtype != info->traits.input_dtype) {
        ctx.fail(std::string("internal error: its input ") + std::to_string(i) + " is " +
                 dtype_name(p.plan->values[v].dtype) + ", it reads " +
                 dtype_name(info->traits.input_dtype));
      }
    }
    step.inputs.push_back(v);
  }
  for (const Shape& s : spec.out_shapes) {
    const int64_t n = checked_elements(s);
    if (n < 0) ctx.fail("its output shape " + shape_str(s) + " is too large");
    if (n == 0) ctx.fail("its output shape " + shape_str(s) + " holds no elements");
    step.outputs.push_back(new_value(*p.plan, ValueKind::kActivation, DType::kFloat32, s));
  }
  if (spec.op->alias_input >= 0 && step.inputs.at(spec.op->alias_input) < 0) {
    ctx.fail("internal error: it aliases an input it does not read");
  }
  p.plan->weight_bytes += spec.op->weight_bytes;
  p.plan->prepared_bytes += spec.op->prepared_bytes;
  step.op = std::move(spec.op);
  p.sources[index].values = step.outputs;
  p.plan->steps.push_back(std::move(step));
}

}  // namespace

[[noreturn]] void missing_variable(const Planning& p, const EntryRef& e) {
  fail("variable '" + p.plan->symbol.nodes[e.node].name + "' has no value: it is neither in the "
       "params file nor among the input keys.");
}

int value_of(const Planning& p, const EntryRef& e, const std::string& what) {
  const NodeSource& source = p.sources[e.node];
  const size_t count = source.param != nullptr || source.missing ? 1 : source.values.size();
  if (e.index >= static_cast<int64_t>(count)) {
    fail(what + " reads output " + std::to_string(e.index) + " of " +
         node_label(p.plan->symbol.nodes[e.node]) + ", which the runtime does not compute (it "
         "computes inference outputs only).");
  }
  return source.values.at(e.index);
}

int param_value(Planning& p, const ParamArray& param, const SymbolNode& reader) {
  auto it = p.value_of_param.find(&param);
  if (it != p.value_of_param.end()) return it->second;
  if (param.dtype != DType::kFloat32) {
    fail(node_label(reader) + ": its input '" + param.name + "' is " + dtype_name(param.dtype) +
         ", expected float32.");
  }
  const int64_t n = checked_elements(param.shape);
  if (n <= 0) fail(node_label(reader) + ": its input '" + param.name + "' has no elements.");
  std::vector<float> data(n);
  logical_to_stored(param.shape, param.f32(), data.data());
  p.plan->constants.push_back(std::move(data));
  const bool folded = &param >= p.params.data() + p.file_params;
  const int v = new_value(*p.plan, folded ? ValueKind::kConstant : ValueKind::kParam,
                          DType::kFloat32, param.shape);
  p.plan->values[v].constant = p.plan->constants.back().data();
  p.value_of_param[&param] = v;
  return v;
}

void plan_nodes(Planning& p) {
  const Symbol& sym = p.plan->symbol;
  p.sources.assign(sym.nodes.size(), {});
  for (size_t i = 0; i < sym.nodes.size(); ++i) {
    const int index = static_cast<int>(i);
    if (!p.needed[i]) continue;
    const auto constant = p.constant_of_node.find(index);
    if (sym.nodes[i].is_variable()) {
      plan_variable(p, index);
    } else if (constant != p.constant_of_node.end()) {  // folded by fold_constants
      p.sources[i].param = &p.params[constant->second];
    } else if (p.fused.count(index)) {
      plan_fused_relu(p, index);
    } else {
      plan_op(p, index);
    }
  }
}

}  // namespace rt
}  // namespace bmx

#include "plan.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "attrs.h"
#include "error.h"
#include "layout.h"
#include "ops/op_util.h"

namespace bmx {
namespace rt {
namespace {

constexpr size_t kAlign = 64;
constexpr int kMissing = std::numeric_limits<int>::min();  // a variable without a value
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

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

class Planner {
 public:
  Planner(Symbol symbol, std::vector<ParamArray> params, const std::vector<InputSpec>& inputs,
          Isa isa, FloatBackend float_backend)
      : params_(std::move(params)), isa_(isa), float_backend_(float_backend) {
    plan_ = std::make_unique<Plan>();
    plan_->symbol = std::move(symbol);
    plan_->inputs = inputs;
  }

  std::unique_ptr<Plan> run(const std::vector<std::string>& output_keys) {
    const Symbol& sym = plan_->symbol;
    check_params_match(sym, params_);
    check_converted(sym);
    std::vector<EntryRef> outputs;
    if (output_keys.empty()) {
      outputs = sym.heads;
    } else {
      for (const auto& key : output_keys) outputs.push_back(find_output(sym, key));
    }
    for (const auto& o : outputs) {
      const SymbolNode& n = sym.nodes[o.node];
      plan_->output_names.push_back(
          n.is_variable() ? n.name : n.name + (o.index ? "_output" + std::to_string(o.index) : "_output"));
    }
    check_inputs();
    const std::vector<bool> needed = needed_nodes(outputs);
    make_constants(needed);
    find_relu_fusions(needed, outputs);
    node_values_.assign(sym.nodes.size(), {});
    for (size_t i = 0; i < sym.nodes.size(); ++i) {
      if (needed[i]) plan_node(static_cast<int>(i));
    }
    for (const auto& o : outputs) {
      const auto& outs = node_values_[o.node];
      if (!outs.empty() && outs[0] == kMissing) missing_variable(o);
      if (!outs.empty() && outs[0] <= -2) {  // the output is a parameter itself
        if (o.index != 0) value_of(o, "an output");
        plan_->output_values.push_back(constant_value(params_[-2 - outs[0]], sym.nodes[o.node]));
      } else {
        plan_->output_values.push_back(value_of(o, "an output"));
      }
    }
    for (const auto& in : plan_->inputs) {
      for (size_t i = 0; i < sym.nodes.size(); ++i) {
        if (sym.nodes[i].is_variable() && sym.nodes[i].name == in.name) {
          plan_->input_values.push_back(needed[i] ? node_values_[i].at(0) : -1);
        }
      }
    }
    assign_memory();
    return std::move(plan_);
  }

 private:
  void check_inputs() {
    const Symbol& sym = plan_->symbol;
    std::set<std::string> seen;
    for (const auto& in : plan_->inputs) {
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

  // A Convolution or FullyConnected whose output only a relu reads (and that is not an
  // output) may apply the relu itself; relu_of_ maps it to that relu's node.
  void find_relu_fusions(const std::vector<bool>& needed, const std::vector<EntryRef>& outputs) {
    const Symbol& sym = plan_->symbol;
    std::vector<int> readers(sym.nodes.size(), 0);
    std::vector<int> reader(sym.nodes.size(), -1);
    for (size_t i = 0; i < sym.nodes.size(); ++i) {
      if (!needed[i]) continue;
      for (const auto& e : sym.nodes[i].inputs) {
        ++readers[e.node];
        reader[e.node] = e.index == 0 ? static_cast<int>(i) : -1;
      }
    }
    for (const auto& o : outputs) readers[o.node] += 2;
    for (size_t i = 0; i < sym.nodes.size(); ++i) {
      const SymbolNode& n = sym.nodes[i];
      if (!needed[i] || readers[i] != 1 || reader[i] < 0) continue;
      if (n.op != "Convolution" && n.op != "FullyConnected") continue;
      const SymbolNode& r = sym.nodes[reader[i]];
      bool relu = r.op == "relu" || r.op == "Activation";
      for (const auto& kv : r.attrs) {
        if (kv.first.rfind("__", 0) == 0) continue;
        relu = relu && kv.first == "act_type" && kv.second == "relu";
      }
      if (r.op == "Activation" && !r.attrs.count("act_type")) relu = false;
      if (relu && r.inputs.size() == 1) relu_of_[static_cast<int>(i)] = reader[i];
    }
  }

  static bool has_label_input(const std::string& op) {
    return op == "SoftmaxOutput" || op == "Softmax";
  }

  [[noreturn]] void missing_variable(const EntryRef& e) const {
    fail("variable '" + plan_->symbol.nodes[e.node].name + "' has no value: it is neither in the "
         "params file nor among the input keys.");
  }

  // The value of every needed constant op (_full), made once and kept as a parameter; done
  // before planning, since planning keeps pointers into params_.
  void make_constants(const std::vector<bool>& needed) {
    const Symbol& sym = plan_->symbol;
    int64_t total = 0;
    for (size_t i = 0; i < sym.nodes.size(); ++i) {
      const SymbolNode& node = sym.nodes[i];
      const ConstantFactory factory = needed[i] ? find_constant_op(node.op) : nullptr;
      if (factory == nullptr || node.is_variable()) continue;
      std::vector<Shape> shapes(node.inputs.size());
      PlanContext ctx(node, shapes, std::vector<const ParamArray*>(shapes.size(), nullptr), isa_,
                      float_backend_);
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
      ParamArray p;
      p.name = p.key = node.name;
      p.shape = c.shape;
      p.copy.resize(static_cast<size_t>(n));  // owned: no file holds a constant's bytes
      std::fill_n(reinterpret_cast<float*>(p.copy.data()), n, c.value);
      p.data = reinterpret_cast<const uint8_t*>(p.copy.data());
      p.nbytes = static_cast<size_t>(n) * sizeof(float);
      constant_of_node_[static_cast<int>(i)] = static_cast<int>(params_.size());
      params_.push_back(std::move(p));
    }
  }

  std::vector<bool> needed_nodes(const std::vector<EntryRef>& outputs) const {
    const Symbol& sym = plan_->symbol;
    std::vector<bool> needed(sym.nodes.size(), false);
    for (const auto& o : outputs) needed[o.node] = true;
    for (size_t i = sym.nodes.size(); i-- > 0;) {
      if (!needed[i]) continue;
      for (const auto& e : sym.nodes[i].inputs) needed[e.node] = true;
    }
    return needed;
  }

  int value_of(const EntryRef& e, const std::string& what) const {
    const auto& outs = node_values_[e.node];
    if (e.index >= static_cast<int64_t>(outs.size())) {
      fail(what + " reads output " + std::to_string(e.index) + " of " +
           node_label(plan_->symbol.nodes[e.node]) + ", which the runtime does not compute (it "
           "computes inference outputs only).");
    }
    return outs[e.index];
  }

  int new_value(const Shape& shape) {
    PlannedValue v;
    v.shape = shape;
    v.elems = elements(shape);
    plan_->values.push_back(v);
    producer_.push_back(static_cast<int>(plan_->steps.size()));
    last_use_.push_back(-1);
    return static_cast<int>(plan_->values.size()) - 1;
  }

  const ParamArray* find_param(const std::string& name) const {
    for (const auto& p : params_) {
      if (p.name == name) return &p;
    }
    return nullptr;
  }

  void plan_node(int index) {
    const SymbolNode& node = plan_->symbol.nodes[index];
    if (node.is_variable()) {
      for (const auto& in : plan_->inputs) {
        if (in.name == node.name) {
          const int v = new_value(in.shape);
          producer_.back() = -1;
          node_values_[index] = {v};
          return;
        }
      }
      const ParamArray* p = find_param(node.name);
      // A variable without a value is refused where it is read (a label input is not).
      node_values_[index] = {p == nullptr ? kMissing : -2 - static_cast<int>(p - params_.data())};
      return;
    }
    const auto constant = constant_of_node_.find(index);
    if (constant != constant_of_node_.end()) {  // made by make_constants
      node_values_[index] = {-2 - constant->second};
      return;
    }
    if (fused_.count(index)) {  // a relu its producer computes: the output is the input
      const int v = value_of(node.inputs[0], node_label(node));
      PlannedStep step;
      step.node = index;
      step.op = alias_op();
      step.op->kernel = "fused";
      step.inputs = {v};
      step.outputs = {new_value(plan_->values[v].shape)};
      last_use_[v] = static_cast<int>(plan_->steps.size());
      node_values_[index] = step.outputs;
      plan_->steps.push_back(std::move(step));
      return;
    }
    const OpFactory factory = find_op(node.op);
    if (factory == nullptr) {
      fail("unsupported op '" + node.op + "' (node '" + node.name + "'): the runtime cannot "
           "compute it.");
    }
    std::vector<Shape> shapes;
    std::vector<const ParamArray*> params;
    std::vector<int> ins;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const EntryRef& e = node.inputs[i];
      const auto& outs = node_values_[e.node];
      if (!outs.empty() && outs[0] == kMissing) {
        if (i != 1 || !has_label_input(node.op)) missing_variable(e);
        shapes.push_back({});
        params.push_back(nullptr);
        ins.push_back(kMissing);
      } else if (!outs.empty() && outs[0] <= -2) {
        if (e.index != 0) value_of(e, node_label(node));
        const ParamArray* p = &params_[-2 - outs[0]];
        shapes.push_back(p->shape);
        params.push_back(p);
        ins.push_back(outs[0]);
      } else {
        const int v = value_of(e, node_label(node));
        shapes.push_back(plan_->values[v].shape);
        params.push_back(nullptr);
        ins.push_back(v);
      }
    }
    PlanContext ctx(node, shapes, params, isa_, float_backend_);
    ctx.may_fuse_relu = relu_of_.count(index) != 0;
    OpSpec spec = factory(ctx);
    if (ctx.fused_relu) fused_.insert(relu_of_[index]);
    PlannedStep step;
    step.node = index;
    for (size_t i = 0; i < ins.size(); ++i) {
      int v = ins[i];
      if (v == kMissing && ctx.reads[i]) missing_variable(node.inputs[i]);
      if (!ctx.reads[i]) v = -1;
      else if (v <= -2) v = constant_value(*params[i], node);
      step.inputs.push_back(v);
    }
    for (const Shape& s : spec.out_shapes) {
      const int64_t n = checked_elements(s);
      if (n < 0) ctx.fail("its output shape " + shape_str(s) + " is too large");
      if (n == 0) ctx.fail("its output shape " + shape_str(s) + " holds no elements");
      step.outputs.push_back(new_value(s));
    }
    if (spec.op->alias_input >= 0 && step.inputs.at(spec.op->alias_input) < 0) {
      ctx.fail("internal error: it aliases an input it does not read");
    }
    for (int v : step.inputs) {
      if (v >= 0) last_use_[v] = static_cast<int>(plan_->steps.size());
    }
    plan_->weight_bytes += spec.op->weight_bytes;
    plan_->prepared_bytes += spec.op->prepared_bytes;
    step.op = std::move(spec.op);
    node_values_[index] = step.outputs;
    plan_->steps.push_back(std::move(step));
  }

  // A parameter that an op reads as an activation: float32, in stored layout, made once.
  int constant_value(const ParamArray& p, const SymbolNode& reader) {
    auto it = constant_of_.find(&p);
    if (it != constant_of_.end()) return it->second;
    if (p.dtype != DType::kFloat32) {
      fail(node_label(reader) + ": its input '" + p.name + "' is " + dtype_name(p.dtype) +
           ", expected float32.");
    }
    const int64_t n = checked_elements(p.shape);
    if (n <= 0) fail(node_label(reader) + ": its input '" + p.name + "' has no elements.");
    std::vector<float> data(n);
    logical_to_stored(p.shape, p.f32(), data.data());
    plan_->constants.push_back(std::move(data));
    const int v = new_value(p.shape);
    producer_.back() = -1;
    plan_->values[v].constant = plan_->constants.back().data();
    constant_of_[&p] = v;
    return v;
  }

  // Places every activation in the arena: a value takes a free buffer (the smallest that fits,
  // else the largest free one, grown) when produced and frees it after its last reader, unless
  // it is an input or an output, which keep theirs for good.
  void assign_memory() {
    Plan& plan = *plan_;
    const int count = static_cast<int>(plan.values.size());
    std::vector<bool> pinned(count, false);
    for (int v : plan.input_values) {
      if (v >= 0) pinned[v] = true;
    }
    for (int v : plan.output_values) pinned[v] = true;
    std::vector<size_t> buffer_bytes;
    std::vector<int> buffer_last;       // the last step that uses the buffer
    std::vector<bool> buffer_pinned;
    std::vector<int> free_buffers;
    auto take_buffer = [&](size_t bytes) {
      int best = -1;
      for (int b : free_buffers) {
        const bool fits = buffer_bytes[b] >= bytes;
        if (best < 0) { best = b; continue; }
        const bool best_fits = buffer_bytes[best] >= bytes;
        if (fits && (!best_fits || buffer_bytes[b] < buffer_bytes[best])) best = b;
        if (!fits && !best_fits && buffer_bytes[b] > buffer_bytes[best]) best = b;
      }
      if (best < 0) {
        buffer_bytes.push_back(bytes);
        buffer_last.push_back(-1);
        buffer_pinned.push_back(false);
        return static_cast<int>(buffer_bytes.size()) - 1;
      }
      free_buffers.erase(std::find(free_buffers.begin(), free_buffers.end(), best));
      buffer_bytes[best] = std::max(buffer_bytes[best], bytes);
      return best;
    };
    auto place = [&](int v, int buffer) {
      plan.values[v].buffer = buffer;
      buffer_last[buffer] = std::max(buffer_last[buffer], last_use_[v]);
      if (pinned[v]) buffer_pinned[buffer] = true;
    };
    for (int v : plan.input_values) {
      if (v >= 0) place(v, take_buffer(align_up(plan.values[v].elems * sizeof(float))));
    }
    size_t scratch = 0;
    for (size_t s = 0; s < plan.steps.size(); ++s) {
      PlannedStep& step = plan.steps[s];
      const Op& op = *step.op;
      scratch = std::max(scratch, op.scratch_bytes);
      for (size_t o = 0; o < step.outputs.size(); ++o) {
        const int v = step.outputs[o];
        if (last_use_[v] < 0) last_use_[v] = static_cast<int>(s);  // read by nothing
        if (o == 0 && op.alias_input >= 0) {
          const int in = step.inputs[op.alias_input];
          if (plan.values[in].constant != nullptr) {
            if (!pinned[v]) {  // an output lives in the arena: the executor copies it there
              plan.values[v].constant = plan.values[in].constant;
              continue;
            }
          } else {
            place(v, plan.values[in].buffer);
            continue;
          }
        }
        if (o == 0 && op.inplace_input >= 0) {
          const int in = step.inputs[op.inplace_input];
          if (in >= 0 && plan.values[in].buffer >= 0) {
            const int b = plan.values[in].buffer;
            int sharing = 0;  // inputs of this step on the same memory (x + x, aliases)
            for (int other : step.inputs) {
              sharing += other >= 0 && plan.values[other].buffer == b;
            }
            if (!buffer_pinned[b] && buffer_last[b] == static_cast<int>(s) && sharing == 1 &&
                plan.values[in].elems == plan.values[v].elems) {
              place(v, b);
              continue;
            }
          }
        }
        place(v, take_buffer(align_up(plan.values[v].elems * sizeof(float))));
      }
      // Free what was last used here (a buffer's last use only grows while a value on it lives).
      for (int b = 0; b < static_cast<int>(buffer_bytes.size()); ++b) {
        if (buffer_last[b] == static_cast<int>(s) && !buffer_pinned[b] &&
            std::find(free_buffers.begin(), free_buffers.end(), b) == free_buffers.end()) {
          free_buffers.push_back(b);
        }
      }
    }
    size_t offset = 0;
    for (size_t b = 0; b < buffer_bytes.size(); ++b) {
      plan.buffer_offsets.push_back(offset);
      offset += buffer_bytes[b];
    }
    plan.scratch_offset = offset;
    plan.scratch_bytes = align_up(scratch);
    plan.arena_bytes = offset + plan.scratch_bytes;
  }

  std::unique_ptr<Plan> plan_;
  std::vector<ParamArray> params_;
  Isa isa_;
  FloatBackend float_backend_;
  std::vector<std::vector<int>> node_values_;  // per node: its output values (<= -2: parameter)
  std::map<const ParamArray*, int> constant_of_;
  std::map<int, int> constant_of_node_;  // constant op node -> its value in params_
  std::map<int, int> relu_of_;  // node -> the relu node it may compute
  std::set<int> fused_;         // relu nodes their producer computes
  std::vector<int> producer_, last_use_;
};

}  // namespace

std::unique_ptr<Plan> build_plan(Symbol symbol, std::vector<ParamArray> params,
                                 const std::vector<InputSpec>& inputs,
                                 const std::vector<std::string>& output_keys, Isa isa,
                                 FloatBackend float_backend) {
  Planner planner(std::move(symbol), std::move(params), inputs, isa, float_backend);
  return planner.run(output_keys);
}

}  // namespace rt
}  // namespace bmx

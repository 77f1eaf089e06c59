// The memory plan: every value an op computes, and every input, lives in the arena. Values that
// share memory form one buffer: an output that aliases its input (identity, a reshape that
// needs no reordering, a fused relu), and an output written over an input that nothing reads
// later (Op::inplace_input). A buffer lives from the step that first writes it through its last
// reader; inputs and outputs live to the end, so that forward can be repeated and outputs read
// after it. The memory planner (memory_planner.h) places the buffers; the ops' shared scratch
// follows them.
#include <algorithm>

#include "memory_planner.h"
#include "plan_passes.h"

namespace bmx {
namespace rt {
namespace {

constexpr size_t kAlign = 64;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Buffer {
  size_t bytes = 0;
  int first = 0, last = 0;  // the steps it lives through
  bool pinned = false;      // holds an input or an output: lives to the end
};

// Values on buffers: each value placed in a new buffer or joined to one.
class Buffers {
 public:
  Buffers(Plan& plan, std::vector<int> last_use, std::vector<bool> pinned)
      : plan_(plan), last_use_(std::move(last_use)), pinned_(std::move(pinned)) {}

  int add(int v, int first) {
    buffers_.push_back({align_up(plan_.values[v].bytes), first, last_use_[v], pinned_[v]});
    plan_.values[v].buffer = static_cast<int>(buffers_.size()) - 1;
    return plan_.values[v].buffer;
  }
  void join(int v, int b) {
    Buffer& buffer = buffers_[b];
    buffer.bytes = std::max(buffer.bytes, align_up(plan_.values[v].bytes));
    buffer.last = std::max(buffer.last, last_use_[v]);
    buffer.pinned = buffer.pinned || pinned_[v];
    plan_.values[v].buffer = b;
  }
  const Buffer& operator[](int b) const { return buffers_[b]; }
  const std::vector<Buffer>& all() const { return buffers_; }

 private:
  Plan& plan_;
  std::vector<int> last_use_;
  std::vector<bool> pinned_;
  std::vector<Buffer> buffers_;
};

// Whether step s may write its output v over input `in`: nothing reads in's buffer after s,
// no other input of s is on it, it holds no input or output, and v has its size.
bool may_write_over(const Plan& plan, const Buffers& buffers, const PlannedStep& step, int s,
                    int in, int v) {
  if (in < 0 || plan.values[in].buffer < 0) return false;
  const int b = plan.values[in].buffer;
  int sharing = 0;  // inputs of this step on the same memory (x + x, aliases)
  for (int other : step.inputs) sharing += other >= 0 && plan.values[other].buffer == b;
  return !buffers[b].pinned && buffers[b].last == s && sharing == 1 &&
         plan.values[in].bytes == plan.values[v].bytes &&
         plan.values[in].dtype == plan.values[v].dtype;
}

}  // namespace

void assign_memory(Plan& plan) {
  const int count = static_cast<int>(plan.values.size());
  const int steps = static_cast<int>(plan.steps.size());
  std::vector<int> last_use(count, -1);
  for (int s = 0; s < steps; ++s) {
    for (int v : plan.steps[s].inputs) {
      if (v >= 0) last_use[v] = s;
    }
    for (int v : plan.steps[s].outputs) last_use[v] = std::max(last_use[v], s);  // read by nothing
  }
  std::vector<bool> pinned(count, false);
  for (int v : plan.input_values) {
    if (v >= 0) pinned[v] = true;
  }
  for (int v : plan.output_values) pinned[v] = true;
  Buffers buffers(plan, last_use, pinned);
  for (int v : plan.input_values) {
    if (v >= 0) buffers.add(v, 0);
  }
  size_t scratch = 0;
  for (int s = 0; s < steps; ++s) {
    const PlannedStep& step = plan.steps[s];
    const Op& op = *step.op;
    scratch = std::max(scratch, op.scratch_bytes);
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int v = step.outputs[o];
      if (o == 0 && op.alias_input >= 0) {
        const int in = step.inputs[op.alias_input];
        if (plan.values[in].constant == nullptr) {
          buffers.join(v, plan.values[in].buffer);
          continue;
        }
        if (!pinned[v]) {  // an output lives in the arena: the executor copies it there
          plan.values[v].constant = plan.values[in].constant;
          continue;
        }
      }
      if (o == 0 && op.inplace_input >= 0 &&
          may_write_over(plan, buffers, step, s, step.inputs[op.inplace_input], v)) {
        buffers.join(v, plan.values[step.inputs[op.inplace_input]].buffer);
        continue;
      }
      buffers.add(v, s);
    }
  }
  MemoryPlanner planner;
  for (const Buffer& b : buffers.all()) planner.add_buffer(b.bytes, b.first, b.pinned ? steps : b.last);
  MemoryPlanner::Layout layout = planner.plan();
  plan.buffer_offsets = std::move(layout.offsets);
  plan.scratch_offset = layout.total;
  plan.scratch_bytes = align_up(scratch);
  plan.arena_bytes = layout.total + plan.scratch_bytes;
}

}  // namespace rt
}  // namespace bmx

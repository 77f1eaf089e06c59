// Concat(dim): joins inputs along a logical axis (MXNet's dim, default 1).
#include <cstring>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

class Concat : public Op {
 public:
  Concat(int64_t outer, std::vector<int64_t> chunks) : outer_(outer), chunks_(std::move(chunks)) {
    for (int64_t c : chunks_) row_ += c;
  }
  void run(const RunContext& ctx) override {
    int64_t at = 0;
    for (size_t k = 0; k < chunks_.size(); ++k) {
      const float* x = ctx.in[k];
      const int64_t c = chunks_[k];
      for (int64_t o = 0; o < outer_; ++o) {
        std::memcpy(ctx.out[0] + o * row_ + at, x + o * c, sizeof(float) * c);
      }
      at += c;
    }
  }

 private:
  int64_t outer_, row_ = 0;
  std::vector<int64_t> chunks_;  // per input: elements per outer index
};

}  // namespace

OpSpec make_concat(PlanContext& ctx) {
  Attrs a(ctx.node, {"dim", "num_args"});
  ctx.expect_inputs(1, 4096);
  const Shape& first = ctx.in_shapes[0];
  if (a.has("num_args") && a.get_int("num_args") != static_cast<int64_t>(ctx.in_shapes.size())) {
    a.fail_attr("num_args", "does not match the " + std::to_string(ctx.in_shapes.size()) + " inputs");
  }
  const int dim = normalise_axis(ctx, a.get_int("dim", 1), first.size(), "dim");
  Shape out = first;
  out[dim] = 0;
  for (size_t i = 0; i < ctx.in_shapes.size(); ++i) {
    const Shape& s = ctx.in_shapes[i];
    bool fits = s.size() == first.size();
    for (size_t d = 0; fits && d < s.size(); ++d) fits = static_cast<int>(d) == dim || s[d] == first[d];
    if (!fits) {
      ctx.fail("its inputs " + shape_str(first) + " and " + shape_str(s) +
               " differ outside axis " + std::to_string(dim));
    }
    out[dim] += s[dim];
    ctx.read(i);
  }
  std::vector<int64_t> chunks;
  int64_t outer = 1;
  for (const Shape& s : ctx.in_shapes) {
    const AxisSplit split = split_at_axis(s, dim);
    chunks.push_back(split.n * split.inner);
    outer = split.outer;
  }
  return {{out}, std::make_unique<Concat>(outer, std::move(chunks))};
}

}  // namespace rt
}  // namespace bmx

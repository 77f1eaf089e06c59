#include "op_util.h"

namespace bmx {
namespace rt {

AxisSplit split_at_axis(const Shape& s, int axis) {
  const Shape dims = storage_dims(s);
  const int p = storage_position(s, axis);
  AxisSplit split;
  for (int i = 0; i < static_cast<int>(dims.size()); ++i) {
    if (i < p) split.outer *= dims[i];
    else if (i == p) split.n = dims[i];
    else split.inner *= dims[i];
  }
  return split;
}

int normalise_axis(const PlanContext& ctx, int64_t axis, size_t ndim, const char* attr) {
  const int64_t n = static_cast<int64_t>(ndim);
  if (axis < -n || axis >= n) {
    ctx.fail(std::string("attribute '") + attr + "' is " + std::to_string(axis) +
             ", outside the input's " + std::to_string(n) + " axes");
  }
  return static_cast<int>(axis < 0 ? axis + n : axis);
}

namespace {
class AliasOp : public Op {
 public:
  AliasOp() { alias_input = 0; kernel = "none"; }
  void run(const RunContext&) override {}
};
}  // namespace

std::unique_ptr<Op> alias_op() { return std::make_unique<AliasOp>(); }

}  // namespace rt
}  // namespace bmx

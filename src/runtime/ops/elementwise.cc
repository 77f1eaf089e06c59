// Two-input arithmetic: elemwise_* / _plus / _Plus / ... (equal shapes) and broadcast_* (NumPy
// broadcasting, as MXNet's), plus add_n / ElementWiseSum. Shapes are MXNet's logical ones; each
// input is read through its own storage strides, so layouts may differ between inputs.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

enum class Kind { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow };

inline float apply(Kind k, float a, float b) {
  switch (k) {
    case Kind::kAdd: return a + b;
    case Kind::kSub: return a - b;
    case Kind::kMul: return a * b;
    case Kind::kDiv: return a / b;
    case Kind::kMax: return a > b ? a : b;
    case Kind::kMin: return a < b ? a : b;
    case Kind::kPow: return std::pow(a, b);
  }
  return 0.0f;
}

// Output dims in storage order, and for each input its stride along each of them (0 where the
// input is broadcast).
struct Broadcast {
  std::vector<int64_t> dims;
  std::vector<int64_t> stride[2];
  bool same = false;  // both inputs are stored exactly as the output
};

class BinaryOp : public Op {
 public:
  BinaryOp(Kind kind, Broadcast b, int64_t n) : kind_(kind), b_(std::move(b)), n_(n) {
    if (b_.same) inplace_input = 0;
  }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    const float* y = ctx.in[1];
    float* out = ctx.out[0];
    if (b_.same) {
      switch (kind_) {  // the common cases, written out so that they vectorise
        case Kind::kAdd: for (int64_t i = 0; i < n_; ++i) out[i] = x[i] + y[i]; return;
        case Kind::kMul: for (int64_t i = 0; i < n_; ++i) out[i] = x[i] * y[i]; return;
        default: for (int64_t i = 0; i < n_; ++i) out[i] = apply(kind_, x[i], y[i]); return;
      }
    }
    const size_t nd = b_.dims.size();
    const int64_t inner = b_.dims[nd - 1], sx = b_.stride[0][nd - 1], sy = b_.stride[1][nd - 1];
    int64_t index[8] = {0};
    int64_t ox = 0, oy = 0;
    for (int64_t done = 0; done < n_; done += inner) {
      for (int64_t i = 0; i < inner; ++i) out[done + i] = apply(kind_, x[ox + i * sx], y[oy + i * sy]);
      // Next position over the outer dims (odometer).
      for (size_t d = nd - 1; d-- > 0;) {
        ox += b_.stride[0][d], oy += b_.stride[1][d];
        if (++index[d] < b_.dims[d]) break;
        ox -= b_.stride[0][d] * b_.dims[d], oy -= b_.stride[1][d] * b_.dims[d];
        index[d] = 0;
      }
    }
  }

 private:
  Kind kind_;
  Broadcast b_;
  int64_t n_;
};

class SumN : public Op {
 public:
  SumN(size_t inputs, int64_t n) : inputs_(inputs), n_(n) { inplace_input = 0; }
  void run(const RunContext& ctx) override {
    float* out = ctx.out[0];
    const float* first = ctx.in[0];
    if (out != first) std::memcpy(out, first, sizeof(float) * n_);
    for (size_t k = 1; k < inputs_; ++k) {
      const float* x = ctx.in[k];
      for (int64_t i = 0; i < n_; ++i) out[i] += x[i];
    }
  }

 private:
  size_t inputs_;
  int64_t n_;
};

Kind kind_of(const PlanContext& ctx, const std::string& op) {
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (op == n) return true;
    }
    return false;
  };
  if (is({"elemwise_add", "_plus", "_Plus", "_add", "broadcast_add", "broadcast_plus"})) return Kind::kAdd;
  if (is({"elemwise_sub", "_minus", "_Minus", "_sub", "broadcast_sub", "broadcast_minus"})) return Kind::kSub;
  if (is({"elemwise_mul", "_mul", "_Mul", "broadcast_mul"})) return Kind::kMul;
  if (is({"elemwise_div", "_div", "_Div", "broadcast_div"})) return Kind::kDiv;
  if (is({"_maximum", "_Maximum", "broadcast_maximum"})) return Kind::kMax;
  if (is({"_minimum", "_Minimum", "broadcast_minimum"})) return Kind::kMin;
  if (is({"_power", "_Power", "broadcast_power"})) return Kind::kPow;
  ctx.fail("unsupported elementwise op");
}

}  // namespace

OpSpec make_elementwise(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  ctx.expect_inputs(2, 2);
  const Kind kind = kind_of(ctx, ctx.node.op);
  const bool broadcast = ctx.node.op.rfind("broadcast_", 0) == 0;
  const Shape& sa = ctx.in_shapes[0];
  const Shape& sb = ctx.in_shapes[1];
  Shape out;
  if (!broadcast) {
    if (sa != sb) {
      ctx.fail("its inputs have different shapes " + shape_str(sa) + " and " + shape_str(sb));
    }
    out = sa;
  } else {
    const size_t nd = std::max(sa.size(), sb.size());
    if (nd > 8) ctx.fail("it has more than 8 axes");
    out.assign(nd, 1);
    for (size_t i = 0; i < nd; ++i) {
      const int64_t da = i + sa.size() >= nd ? sa[i + sa.size() - nd] : 1;
      const int64_t db = i + sb.size() >= nd ? sb[i + sb.size() - nd] : 1;
      if (da != db && da != 1 && db != 1) {
        ctx.fail("its input shapes " + shape_str(sa) + " and " + shape_str(sb) + " do not broadcast");
      }
      out[i] = da == 1 ? db : da;
    }
  }
  ctx.read(0);
  ctx.read(1);
  Broadcast b;
  b.same = sa == out && sb == out;
  const std::vector<int> order = storage_order(out);
  for (int k = 0; k < 2; ++k) {
    const Shape& s = k == 0 ? sa : sb;
    const std::vector<int64_t> strides = logical_strides(s);
    const size_t lead = out.size() - s.size();
    for (int axis : order) {
      const bool present = static_cast<size_t>(axis) >= lead && s[axis - lead] != 1;
      b.stride[k].push_back(present ? strides[axis - lead] : 0);
    }
  }
  for (int axis : order) b.dims.push_back(out[axis]);
  if (out.size() > 8) ctx.fail("it has more than 8 axes");
  if (out.empty()) {  // a scalar: one element
    b.dims = {1};
    b.stride[0] = {0};
    b.stride[1] = {0};
  }
  return {{out}, std::make_unique<BinaryOp>(kind, std::move(b), elements(out))};
}

OpSpec make_add_n(PlanContext& ctx) {
  Attrs a(ctx.node, {"num_args"});
  ctx.expect_inputs(1, 1024);
  const Shape& s = ctx.in_shapes[0];
  for (size_t i = 0; i < ctx.in_shapes.size(); ++i) {
    if (ctx.in_shapes[i] != s) {
      ctx.fail("its inputs have different shapes " + shape_str(s) + " and " + shape_str(ctx.in_shapes[i]));
    }
    ctx.read(i);
  }
  return {{s}, std::make_unique<SumN>(ctx.in_shapes.size(), elements(s))};
}

}  // namespace rt
}  // namespace bmx

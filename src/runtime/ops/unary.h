// An elementwise map y = f(x), the same in every layout; it may run in place.
#pragma once

#include <memory>

#include "../op.h"

namespace bmx {
namespace rt {

template <typename F>
class UnaryOp : public Op {
 public:
  UnaryOp(F f, int64_t n) : f_(f), n_(n) { inplace_input = 0; }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    float* y = ctx.out[0];
    for (int64_t i = 0; i < n_; ++i) y[i] = f_(x[i]);
  }

 private:
  F f_;
  int64_t n_;
};

// The spec of a one-input node mapped elementwise by f.
template <typename F>
OpSpec unary_spec(PlanContext& ctx, F f) {
  ctx.expect_inputs(1, 1);
  ctx.read(0);
  return {{ctx.in_shapes[0]}, std::make_unique<UnaryOp<F>>(f, elements(ctx.in_shapes[0]))};
}

}  // namespace rt
}  // namespace bmx

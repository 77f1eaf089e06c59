// Flatten and Reshape, with MXNet's semantics on the logical (NCHW) shape: Flatten keeps axis 0
// and flattens the rest in C,H,W order; Reshape reads MXNet's codes 0, -1, -2, -3, -4 (and
// reverse). Where the stored bytes already are in that order the output shares the input's
// memory; otherwise the data is reordered through logical order.
#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

class Relayout : public Op {
 public:
  Relayout(Shape in, Shape out) : in_(std::move(in)), out_(std::move(out)) {
    if (!storage_is_logical(in_) && !storage_is_logical(out_)) {
      scratch_bytes = sizeof(float) * elements(in_);
    }
  }
  void run(const RunContext& ctx) override {
    if (storage_is_logical(in_)) {
      logical_to_stored(out_, ctx.in[0], ctx.out[0]);
    } else if (storage_is_logical(out_)) {
      stored_to_logical(in_, ctx.in[0], ctx.out[0]);
    } else {
      float* tmp = static_cast<float*>(ctx.scratch);
      stored_to_logical(in_, ctx.in[0], tmp);
      logical_to_stored(out_, tmp, ctx.out[0]);
    }
  }

 private:
  Shape in_, out_;
};

OpSpec relayout_spec(PlanContext& ctx, const Shape& out) {
  const Shape& in = ctx.in_shapes[0];
  ctx.read(0);
  if (storage_is_logical(in) && storage_is_logical(out)) return {{out}, alias_op()};
  return {{out}, std::make_unique<Relayout>(in, out)};
}

// MXNet's legacy Reshape shape inference (matrix_op-inl.h, InferReshapeShape).
Shape infer_reshape(const PlanContext& ctx, const Shape& in, const std::vector<int64_t>& spec) {
  Shape out;
  int64_t infer_at = -1;
  size_t src = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t code = spec[i];
    if (code > 0) {
      out.push_back(code);
      ++src;
    } else if (code == 0) {
      if (src >= in.size()) ctx.fail("its shape code 0 has no input axis to copy");
      out.push_back(in[src++]);
    } else if (code == -1) {
      if (infer_at >= 0) ctx.fail("its shape has more than one -1");
      infer_at = static_cast<int64_t>(out.size());
      out.push_back(1);
      ++src;
    } else if (code == -2) {
      while (src < in.size()) out.push_back(in[src++]);
    } else if (code == -3) {
      if (src + 1 >= in.size()) ctx.fail("its shape code -3 needs two input axes");
      out.push_back(in[src] * in[src + 1]);
      src += 2;
    } else if (code == -4) {
      if (i + 2 >= spec.size() || src >= in.size()) ctx.fail("its shape code -4 needs two values after it and an input axis");
      int64_t d1 = spec[i + 1], d2 = spec[i + 2];
      const int64_t d0 = in[src++];
      if (d1 == -1 && d2 > 0 && d0 % d2 == 0) d1 = d0 / d2;
      if (d2 == -1 && d1 > 0 && d0 % d1 == 0) d2 = d0 / d1;
      if (d1 < 1 || d2 < 1 || d1 * d2 != d0) {
        ctx.fail("its shape code -4 cannot split axis of " + std::to_string(d0) + " into (" +
                 std::to_string(spec[i + 1]) + ", " + std::to_string(spec[i + 2]) + ")");
      }
      out.push_back(d1);
      out.push_back(d2);
      i += 2;
    } else {
      ctx.fail("its shape holds the unknown code " + std::to_string(code));
    }
  }
  const int64_t total = elements(in);
  if (infer_at >= 0) {
    int64_t known = 1;
    for (size_t i = 0; i < out.size(); ++i) {
      if (static_cast<int64_t>(i) != infer_at) known *= out[i];
    }
    if (known <= 0 || total % known != 0) {
      ctx.fail("its shape " + shape_str(spec) + " does not fit the input shape " + shape_str(in));
    }
    out[infer_at] = total / known;
  }
  if (checked_elements(out) != total) {
    ctx.fail("its shape " + shape_str(out) + " does not hold the " + std::to_string(total) +
             " elements of the input shape " + shape_str(in));
  }
  return out;
}

}  // namespace

OpSpec make_flatten(PlanContext& ctx) {
  Attrs a(ctx.node, {});
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.in_shapes[0];
  if (in.empty()) ctx.fail("its input has no axes");
  return relayout_spec(ctx, {in[0], in.size() > 1 ? elements(in) / in[0] : 1});
}

OpSpec make_expand_dims(PlanContext& ctx) {
  Attrs a(ctx.node, {"axis"});
  ctx.expect_inputs(1, 1);
  Shape out = ctx.in_shapes[0];
  const int axis = normalise_axis(ctx, a.get_int("axis"), out.size() + 1, "axis");
  out.insert(out.begin() + axis, 1);
  return relayout_spec(ctx, out);
}

OpSpec make_squeeze(PlanContext& ctx) {
  Attrs a(ctx.node, {"axis"});
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.in_shapes[0];
  std::vector<bool> drop(in.size(), false);
  const std::vector<int64_t> axes =
      a.has("axis") && a.get_string("axis", "") != "None" ? a.get_int_list("axis") : std::vector<int64_t>();
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  for (int64_t v : axes) {
    const int axis = normalise_axis(ctx, v, in.size(), "axis");
    if (in[axis] != 1) ctx.fail("axis " + std::to_string(axis) + " of shape " + shape_str(in) + " is not 1");
    drop[axis] = true;
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!drop[i]) out.push_back(in[i]);
  }
  if (out.empty()) out.push_back(1);
  return relayout_spec(ctx, out);
}

OpSpec make_reshape(PlanContext& ctx) {
  Attrs a(ctx.node, {"shape", "reverse", "target_shape", "keep_highest"});
  ctx.expect_inputs(1, 1);
  if (a.has("target_shape") && !a.get_int_list("target_shape").empty()) {
    a.fail_attr("target_shape", "is not supported (use shape)");
  }
  if (a.get_bool("keep_highest", false)) a.fail_attr("keep_highest", "is not supported");
  const Shape& in = ctx.in_shapes[0];
  std::vector<int64_t> spec = a.get_int_list("shape");
  Shape out;
  if (a.get_bool("reverse", false)) {
    Shape rin(in.rbegin(), in.rend());
    std::vector<int64_t> rspec(spec.rbegin(), spec.rend());
    for (int64_t c : rspec) {
      if (c == -4) a.fail_attr("reverse", "with code -4 is not supported");
    }
    const Shape rout = infer_reshape(ctx, rin, rspec);
    out.assign(rout.rbegin(), rout.rend());
  } else {
    out = infer_reshape(ctx, in, spec);
  }
  if (out.empty()) ctx.fail("its output would have no axes");
  return relayout_spec(ctx, out);
}

}  // namespace rt
}  // namespace bmx

// slice_axis(axis, begin, end) and slice(begin, end, step): a box of the input along logical
// axes, with MXNet's negative indices and None for an open end.
#include <algorithm>

#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

// The spec of the box begin[a] + k * step[a], k < out[a], for every logical axis a.
OpSpec box_spec(PlanContext& ctx, const std::vector<int64_t>& begin,
                const std::vector<int64_t>& step, const Shape& out) {
  const Shape& in = ctx.in_shapes[0];
  if (in.size() > kMaxCopyAxes) ctx.fail("slicing more than 8 axes is not supported");
  for (int64_t d : out) {
    if (d < 1) ctx.fail("the slice of input shape " + shape_str(in) + " is empty");
  }
  // The output is stored in its own order; both have the same rank, so the same order.
  const std::vector<int64_t> in_strides = logical_strides(in);
  std::vector<int64_t> dims, strides;
  int64_t first = 0;
  for (size_t a = 0; a < in.size(); ++a) first += begin[a] * in_strides[a];
  for (int a : storage_order(out)) {
    dims.push_back(out[a]);
    strides.push_back(step[a] * in_strides[a]);
  }
  ctx.read(0);
  return {{out}, strided_copy(dims, strides, first)};
}

// Resolves MXNet's begin/end (negative from the end, None open) for one axis with step 1.
void resolve(int64_t size, int64_t* b, int64_t* e) {
  if (*b < 0) *b += size;
  if (*e < 0) *e += size;
  *b = std::clamp<int64_t>(*b, 0, size);
  *e = std::clamp<int64_t>(*e, 0, size);
}

bool is_none(const std::string& s) { return s.empty() || s == "None"; }

}  // namespace

OpSpec make_slice_axis(PlanContext& ctx) {
  Attrs a(ctx.node, {"axis", "begin", "end"});
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.in_shapes[0];
  const int axis = normalise_axis(ctx, a.get_int("axis"), in.size(), "axis");
  int64_t b = a.get_int("begin");
  int64_t e = is_none(a.get_string("end", "None")) ? in[axis] : a.get_int("end");
  resolve(in[axis], &b, &e);
  Shape out = in;
  out[axis] = e - b;
  std::vector<int64_t> begin(in.size(), 0), step(in.size(), 1);
  begin[axis] = b;
  return box_spec(ctx, begin, step, out);
}

OpSpec make_slice(PlanContext& ctx) {
  Attrs a(ctx.node, {"begin", "end", "step"});
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.in_shapes[0];
  // Tuples that may hold None: parse item by item.
  auto items = [&](const char* key) {
    std::vector<std::string> out;
    std::string t = a.get_string(key, "()");
    if (!t.empty() && (t.front() == '(' || t.front() == '[')) t = t.substr(1, t.size() - 2);
    size_t start = 0;
    while (start <= t.size()) {
      size_t comma = t.find(',', start);
      if (comma == std::string::npos) comma = t.size();
      std::string item = t.substr(start, comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (!item.empty() || comma < t.size()) out.push_back(item);
      start = comma + 1;
    }
    return out;
  };
  const auto bs = items("begin"), es = items("end"), ss = items("step");
  if (bs.size() > in.size() || es.size() != bs.size() || (!ss.empty() && ss.size() != bs.size())) {
    ctx.fail("its begin, end and step must have one value per sliced axis");
  }
  std::vector<int64_t> begin(in.size(), 0), step(in.size(), 1);
  Shape out = in;
  for (size_t k = 0; k < bs.size(); ++k) {
    auto num = [&](const std::string& s, const char* what) {
      try {
        size_t used = 0;
        const long long v = std::stoll(s, &used);
        if (used == s.size()) return static_cast<int64_t>(v);
      } catch (...) {
      }
      a.fail_attr(what, "must hold integers or None, got '" + s + "'");
    };
    const int64_t st = ss.empty() || is_none(ss[k]) ? 1 : num(ss[k], "step");
    if (st != 1) a.fail_attr("step", "other than 1 is not supported");
    int64_t b = is_none(bs[k]) ? 0 : num(bs[k], "begin");
    int64_t e = is_none(es[k]) ? in[k] : num(es[k], "end");
    resolve(in[k], &b, &e);
    begin[k] = b;
    out[k] = e - b;
  }
  return box_spec(ctx, begin, step, out);
}

}  // namespace rt
}  // namespace bmx

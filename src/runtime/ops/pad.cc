// Pad (4-D, N and C unpadded as MXNet requires): constant, edge or reflect padding of H and W.
#include "../attrs.h"
#include "op_util.h"
#include "ops.h"

namespace bmx {
namespace rt {
namespace {

enum class PadMode { kConstant, kEdge, kReflect };

class Pad : public Op {
 public:
  Pad(Shape in, int64_t top, int64_t left, int64_t out_h, int64_t out_w, PadMode mode, float value)
      : in_(std::move(in)), top_(top), left_(left), out_h_(out_h), out_w_(out_w), mode_(mode),
        value_(value) {}

  // Where output coordinate o (in padded space) reads from, or -1 for the constant.
  int64_t source(int64_t o, int64_t before, int64_t size) const {
    int64_t i = o - before;
    if (i >= 0 && i < size) return i;
    if (mode_ == PadMode::kConstant) return -1;
    if (mode_ == PadMode::kEdge) return i < 0 ? 0 : size - 1;
    // reflect (without repeating the edge), as numpy's 'reflect'
    while (i < 0 || i >= size) i = i < 0 ? -i : 2 * (size - 1) - i;
    return i;
  }

  void run(const RunContext& ctx) override {
    const int64_t n = in_[0], c = in_[1], h = in_[2], w = in_[3];
    for (int64_t b = 0; b < n; ++b) {
      const float* image = ctx.in[0] + b * h * w * c;
      float* out = ctx.out[0] + b * out_h_ * out_w_ * c;
      for (int64_t y = 0; y < out_h_; ++y) {
        const int64_t sy = source(y, top_, h);
        for (int64_t x = 0; x < out_w_; ++x) {
          const int64_t sx = source(x, left_, w);
          float* pixel = out + (y * out_w_ + x) * c;
          if (sy < 0 || sx < 0) {
            for (int64_t k = 0; k < c; ++k) pixel[k] = value_;
          } else {
            const float* from = image + (sy * w + sx) * c;
            for (int64_t k = 0; k < c; ++k) pixel[k] = from[k];
          }
        }
      }
    }
  }

 private:
  Shape in_;
  int64_t top_, left_, out_h_, out_w_;
  PadMode mode_;
  float value_;
};

}  // namespace

OpSpec make_pad(PlanContext& ctx) {
  Attrs a(ctx.node, {"mode", "pad_width", "constant_value"});
  ctx.expect_inputs(1, 1);
  const Shape& s = ctx.in_shapes[0];
  if (s.size() != 4) ctx.fail("only 4-D (NCHW) data is supported, got shape " + shape_str(s));
  const std::string mode = a.get_string("mode", "constant");
  PadMode m;
  if (mode == "constant") m = PadMode::kConstant;
  else if (mode == "edge") m = PadMode::kEdge;
  else if (mode == "reflect") m = PadMode::kReflect;
  else a.fail_attr("mode", "must be constant, edge or reflect, got '" + mode + "'");
  const std::vector<int64_t> w = a.get_int_list("pad_width");
  if (w.size() != 8) a.fail_attr("pad_width", "must have 8 values for 4-D data");
  if (w[0] || w[1] || w[2] || w[3]) a.fail_attr("pad_width", "must not pad the N and C axes");
  for (int64_t v : w) {
    if (v < 0 || v > (1 << 24)) a.fail_attr("pad_width", "must hold non-negative, sane values");
  }
  if (m == PadMode::kReflect && (w[4] >= s[2] || w[5] >= s[2] || w[6] >= s[3] || w[7] >= s[3])) {
    a.fail_attr("pad_width", "must be smaller than the input for reflect padding");
  }
  const Shape out = {s[0], s[1], s[2] + w[4] + w[5], s[3] + w[6] + w[7]};
  ctx.read(0);
  return {{out}, std::make_unique<Pad>(s, w[4], w[6], out[2], out[3], m,
                                       a.get_float("constant_value", 0.0f))};
}

}  // namespace rt
}  // namespace bmx

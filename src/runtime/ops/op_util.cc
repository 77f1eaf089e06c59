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
// Copies out[i] = in[first + sum_d idx_d * stride_d] over the output's storage order.
class StridedCopy : public Op {
 public:
  StridedCopy(std::vector<int64_t> dims, std::vector<int64_t> strides, int64_t first)
      : dims_(std::move(dims)), strides_(std::move(strides)), first_(first) {
    for (int64_t d : dims_) n_ *= d;
  }
  void run(const RunContext& ctx) override {
    const float* x = ctx.in[0];
    float* y = ctx.out[0];
    const size_t nd = dims_.size();
    const int64_t inner = dims_[nd - 1], step = strides_[nd - 1];
    int64_t index[kMaxCopyAxes] = {0};
    int64_t at = first_;
    for (int64_t done = 0; done < n_; done += inner) {
      for (int64_t i = 0; i < inner; ++i) y[done + i] = x[at + i * step];
      for (size_t d = nd - 1; d-- > 0;) {
        at += strides_[d];
        if (++index[d] < dims_[d]) break;
        at -= strides_[d] * dims_[d];
        index[d] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> dims_, strides_;
  int64_t first_, n_ = 1;
};

class FloatLayerOp : public Op {
 public:
  explicit FloatLayerOp(std::unique_ptr<FloatLayer> layer) : layer_(std::move(layer)) {
    kernel = std::string("float-") + layer_->backend();
    per_predictor = true;
    prepared_bytes = layer_->prepared_bytes();
  }
  void run(const RunContext& ctx) override { layer_->run(ctx.in[0], ctx.out[0], ctx.threads); }
  void prepare(const RunContext& ctx) override {
    layer_->prepare(ctx.in[0], ctx.out[0], ctx.threads);
  }

 private:
  std::unique_ptr<FloatLayer> layer_;
};

class AliasOp : public Op {
 public:
  AliasOp() { alias_input = 0; kernel = "none"; }
  void run(const RunContext&) override {}
};
}  // namespace

std::unique_ptr<Op> alias_op() { return std::make_unique<AliasOp>(); }

std::unique_ptr<Op> float_layer_op(std::unique_ptr<FloatLayer> layer) {
  return std::make_unique<FloatLayerOp>(std::move(layer));
}

std::unique_ptr<Op> strided_copy(std::vector<int64_t> dims, std::vector<int64_t> strides,
                                 int64_t first) {
  return std::make_unique<StridedCopy>(std::move(dims), std::move(strides), first);
}

DenseShape dense_shape(const PlanContext& ctx, const Shape& data, int64_t hidden, bool flatten) {
  if (data.empty() || (flatten && data.size() < 2)) {
    ctx.fail("its data shape " + shape_str(data) + " has too few axes");
  }
  DenseShape d;
  const size_t split = flatten ? 1 : data.size() - 1;
  for (size_t i = 0; i < data.size(); ++i) (i < split ? d.rows : d.k) *= data[i];
  if (flatten) {
    d.out = {data[0], hidden};
  } else {
    d.out = data;
    d.out.back() = hidden;
  }
  return d;
}

}  // namespace rt
}  // namespace bmx

// What an op is to the planner: a factory reads a node (attributes, input shapes, parameters)
// once at plan time, refuses what it cannot compute exactly, and returns the output shapes and
// an Op whose run() computes the node on stored activations (layout.h) without allocating
// (after its prepare()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "error.h"
#include "float/float_kernels.h"
#include "isa.h"
#include "params_file.h"
#include "shape.h"
#include "symbol.h"

namespace bmx {
struct Workspace;

namespace rt {

// Everything run() gets: stored input and output data, scratch of the size the op asked for.
struct RunContext {
  const float* const* in;  // per input; null for inputs the op did not mark as read
  float* const* out;       // per output
  void* scratch;           // scratch_bytes, 64-byte aligned; shared by all ops
  int threads;
  Workspace* ws;           // the binary kernels' scratch, shared by all ops
};

class Op {
 public:
  virtual ~Op() = default;
  virtual void run(const RunContext& ctx) = 0;
  // Does ahead whatever run() with this context (same buffers, same thread count) would
  // otherwise allocate for the first time: the binary kernels' workspace, a float library's
  // set-up. The predictor calls it when it is made and when its thread count changes, so that
  // no forward allocates.
  virtual void prepare(const RunContext& ctx) { (void)ctx; }

  std::string kernel = "portable";  // what computes it, for the plan description
  int64_t macs = 0;                 // multiply-accumulates per forward
  size_t scratch_bytes = 0;         // scratch it needs while it runs
  // >= 0: the output is input `alias_input`'s data, unchanged: run() is never called; the
  // output shares the input's memory, or is copied from it where the planner cannot share.
  int alias_input = -1;
  // >= 0: the output may be written over input `inplace_input` when nothing reads it later.
  int inplace_input = -1;
  size_t weight_bytes = 0;          // parameter bytes it keeps (repacked)
  // Bytes its prepare() allocates beside the arena (a float layer's padded input copy): known
  // at plan time and counted against the memory limit with the arena.
  size_t prepared_bytes = 0;
  // True when the op keeps state of its own between runs (a float library's operator set up
  // for one predictor's buffers and threads), so each predictor needs its own instance. Ops
  // without it only read their members in run() and prepare(), so clones of a predictor share
  // them (and their weights).
  bool per_predictor = false;
};

// What a factory sees of a node at plan time.
class PlanContext {
 public:
  PlanContext(const SymbolNode& node, std::vector<Shape> in_shapes,
              std::vector<const ParamArray*> params, Isa isa, FloatBackend float_backend);

  const SymbolNode& node;
  std::vector<Shape> in_shapes;             // logical (MXNet) shapes of the inputs
  std::vector<const ParamArray*> params;    // per input: its parameter, or null if computed
  std::vector<bool> reads;                  // inputs the op reads at run time
  Isa isa;                                  // the binary kernels' instruction set
  FloatBackend float_backend;               // what make_conv2d/make_dense/make_pool2d use
  // Set by the planner when only a relu reads this node's output; a factory that applies the
  // relu to its output itself sets fused_relu, and the relu node then costs nothing.
  bool may_fuse_relu = false;
  bool fused_relu = false;

  // Throws "node 'x' (Op): what."
  [[noreturn]] void fail(const std::string& what) const;
  // Requires between min and max inputs.
  void expect_inputs(size_t min, size_t max) const;
  // Marks input i as read at run time (a parameter is then provided in stored layout).
  void read(size_t i) { reads.at(i) = true; }
  // Input i must be a parameter of this dtype and shape; `role` names it in messages.
  const ParamArray& param(size_t i, const char* role, DType dtype, const Shape& shape) const;
};

struct OpSpec {
  std::vector<Shape> out_shapes;
  std::unique_ptr<Op> op;
};

using OpFactory = OpSpec (*)(PlanContext& ctx);
// What the op table declares of an op beside its factory, for the planner's passes: the planner
// knows no op by name.
struct OpTraits {
  // The factory may apply a relu that is the only reader of the node's output
  // (PlanContext::may_fuse_relu); the relu node then costs nothing.
  bool absorbs_relu = false;
  // Whether a node of this op computes a plain relu of its one input, which a producer that
  // absorbs relu may apply instead; null: never.
  bool (*is_relu)(const SymbolNode& node) = nullptr;
  // The input that is a label (SoftmaxOutput's): read only in training, so it may be a
  // variable without a value; -1: none.
  int label_input = -1;
  // The dtype of the activations it reads (a parameter it reads as an activation is given to
  // it in this dtype).
  DType input_dtype = DType::kFloat32;
};
struct OpInfo {
  OpInfo(OpFactory m = nullptr, OpTraits t = {}) : make(m), traits(t) {}  // NOLINT: implicit
  OpFactory make;
  OpTraits traits;
};
// An op without inputs whose value is known at plan time (_full): its factory reads the node;
// the planner makes the value once and treats it as a parameter (named after the node), so
// ops that need a parameter accept it.
struct ConstantSpec {
  Shape shape;  // checked: positive dimensions, at most kMaxElements values
  float value = 0.0f;
};
using ConstantFactory = ConstantSpec (*)(PlanContext& ctx);
// The most values all constants of a graph may hold together (64 MiB): a parameter's size is
// bounded by its file, a constant's only by its shape attribute, so larger ones are refused
// before anything is allocated.
constexpr int64_t kMaxConstantElements = int64_t{1} << 24;

// The factory and traits for an op name, or null when the runtime does not support it.
const OpInfo* find_op(const std::string& op);
// The constant factory for an op name, or null when it is not a constant op.
ConstantFactory find_constant_op(const std::string& op);
// The op names the runtime supports (computed and constant), sorted.
std::vector<std::string> supported_ops();

}  // namespace rt
}  // namespace bmx

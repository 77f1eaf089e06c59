#include "op.h"

#include <cmath>

#include "attrs.h"

namespace bmx {
namespace rt {

PlanContext::PlanContext(const SymbolNode& n, std::vector<Shape> shapes,
                         std::vector<const ParamArray*> ps, Isa i, FloatBackend fb)
    : node(n), in_shapes(std::move(shapes)), params(std::move(ps)),
      reads(in_shapes.size(), false), isa(i), float_backend(fb) {}

void PlanContext::fail(const std::string& what) const {
  rt::fail(node_label(node) + ": " + what + ".");
}

void PlanContext::expect_inputs(size_t min, size_t max) const {
  const size_t n = in_shapes.size();
  if (n < min || n > max) {
    fail("it has " + std::to_string(n) + " inputs, expected " +
         (min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max)));
  }
}

const ParamArray& PlanContext::param(size_t i, const char* role, DType dtype,
                                     const Shape& shape) const {
  if (i >= params.size()) fail(std::string("its ") + role + " input is missing");
  const ParamArray* p = params[i];
  if (p == nullptr) {
    fail(std::string("its ") + role + " must be a parameter from the params file, not a computed value");
  }
  if (p->dtype != dtype) {
    fail(std::string("its ") + role + " '" + p->name + "' is " + dtype_name(p->dtype) +
         ", expected " + dtype_name(dtype));
  }
  if (p->shape != shape) {
    fail(std::string("its ") + role + " '" + p->name + "' has shape " + shape_str(p->shape) +
         ", expected " + shape_str(shape) + " for input shape " + shape_str(in_shapes.at(0)));
  }
  if (dtype == DType::kFloat32) {
    // A NaN or infinity in a weight gives every output it reaches NaN or garbage: refused here
    // rather than run.
    const float* v = p->f32();
    const size_t n = p->nbytes / sizeof(float);
    for (size_t j = 0; j < n; ++j) {
      if (!std::isfinite(v[j])) {
        fail(std::string("its ") + role + " '" + p->name + "' holds " +
             (std::isnan(v[j]) ? "NaN" : "an infinity") + " (at flat index " + std::to_string(j) +
             "), which no trained model has");
      }
    }
  }
  return *p;
}

}  // namespace rt
}  // namespace bmx

// Tensor shapes: MXNet's logical (NCHW) dimensions, element counts checked for overflow.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bmx {
namespace rt {

using Shape = std::vector<int64_t>;

// The most elements one tensor may hold (2^34, 64 GiB of floats): anything larger is refused
// before it is allocated.
constexpr int64_t kMaxElements = int64_t{1} << 34;

// "(1, 3, 224, 224)"
std::string shape_str(const Shape& s);
// The element count, or -1 when a dimension is negative or the count exceeds kMaxElements.
int64_t checked_elements(const Shape& s);
// The element count of a shape already checked.
int64_t elements(const Shape& s);

}  // namespace rt
}  // namespace bmx

#include "shape.h"

namespace bmx {
namespace rt {

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  if (s.size() == 1) out += ",";
  return out + ")";
}

int64_t checked_elements(const Shape& s) {
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : s) {
    if (d < 0) return -1;
    if (d == 0) zero = true;
    else if (d > kMaxElements || n > kMaxElements / d) return -1;
    else n *= d;
  }
  return zero ? 0 : n;
}

int64_t elements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

}  // namespace rt
}  // namespace bmx

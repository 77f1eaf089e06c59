// Attribute parsing for the bmx_ ops. Every failure carries a sentence that names the op,
// the attribute and what was expected; callers report it with MX_ERROR_MSG and MX_FAIL.
#pragma once

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace bmx {

using AttrMap = std::unordered_map<std::string, std::string>;

struct AttrError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Attrs {
 public:
  // Rejects attributes not in `known` (MXNet's own "__...__" attributes are ignored).
  Attrs(const char* op, const AttrMap& attrs, const std::set<std::string>& known);

  bool has(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  float get_float(const std::string& key, float fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  // A tuple of `size` ints: "(3, 3)", "[3,3]", "3" (repeated) or "(3,)" (repeated).
  std::vector<int64_t> get_tuple(const std::string& key, size_t size) const;
  std::vector<int64_t> get_tuple(const std::string& key, size_t size, int64_t fallback) const;
  const std::string& get_string(const std::string& key, const std::string& fallback) const;

  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  const char* op() const { return op_; }

 private:
  const std::string& raw(const std::string& key) const;
  const char* op_;
  const AttrMap& attrs_;
};

}  // namespace bmx

// Attribute parsing for the bmx_ ops. Every failure carries a sentence that names the op,
// the attribute and what was expected; callers report it with MX_ERROR_MSG and MX_FAIL.
#pragma once

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "attr_text.h"

namespace bmx {

using AttrMap = std::unordered_map<std::string, std::string>;

struct AttrError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// has / get_int / get_float / get_bool / get_string / get_tuple: AttrReader (attr_text.h).
class Attrs : public AttrReader<Attrs> {
 public:
  // Rejects attributes not in `known` (MXNet's own "__...__" attributes are ignored).
  Attrs(const char* op, const AttrMap& attrs, const std::set<std::string>& known);

  const std::string* find(const std::string& key) const;
  // Throws AttrError "<op>: attribute '<key>' <what>".
  [[noreturn]] void fail_attr(const std::string& key, const std::string& what) const;
  const char* op() const { return op_; }

 private:
  const char* op_;
  const AttrMap& attrs_;
};

}  // namespace bmx

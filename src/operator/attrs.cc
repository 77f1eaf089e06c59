#include "attrs.h"

#include <sstream>

namespace bmx {

Attrs::Attrs(const char* op, const AttrMap& attrs, const std::set<std::string>& known)
    : op_(op), attrs_(attrs) {
  for (const auto& kv : attrs) {
    if (kv.first.rfind("__", 0) == 0 || known.count(kv.first)) continue;
    std::ostringstream names;
    for (const auto& k : known) names << (names.tellp() > 0 ? ", " : "") << k;
    fail_attr(kv.first, "is not an attribute of this op; known attributes: " + names.str());
  }
}

const std::string* Attrs::find(const std::string& key) const {
  auto it = attrs_.find(key);
  return it == attrs_.end() ? nullptr : &it->second;
}

void Attrs::fail_attr(const std::string& key, const std::string& what) const {
  throw AttrError(std::string(op_) + ": attribute '" + key + "' " + what);
}

}  // namespace bmx

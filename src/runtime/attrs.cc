#include "attrs.h"

#include "error.h"

namespace bmx {
namespace rt {

std::string node_label(const SymbolNode& node) {
  return "node '" + node.name + "' (" + node.op + ")";
}

Attrs::Attrs(const SymbolNode& node, std::initializer_list<const char*> known) : node_(node) {
  for (const auto& kv : node.attrs) {
    if (kv.first.rfind("__", 0) == 0) continue;
    bool ok = false;
    for (const char* k : known) ok = ok || kv.first == k;
    if (!ok) {
      fail("unsupported attribute '" + kv.first + "' of " + node_label(node) +
           ": the runtime does not know it, so it cannot compute this node correctly.");
    }
  }
}

void Attrs::fail_attr(const std::string& key, const std::string& what) const {
  fail("attribute '" + key + "' of " + node_label(node_) + " " + what + ".");
}

const std::string* Attrs::find(const std::string& key) const {
  auto it = node_.attrs.find(key);
  return it == node_.attrs.end() ? nullptr : &it->second;
}

}  // namespace rt
}  // namespace bmx

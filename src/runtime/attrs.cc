#include "attrs.h"

#include "attr_text.h"
#include "error.h"

namespace bmx {
namespace rt {
using attr_text::trim;

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

bool Attrs::has(const std::string& key) const { return node_.attrs.count(key) != 0; }

const std::string& Attrs::raw(const std::string& key) const {
  auto it = node_.attrs.find(key);
  if (it == node_.attrs.end()) fail_attr(key, "is required but missing");
  return it->second;
}

int64_t Attrs::get_int(const std::string& key) const {
  int64_t v = 0;
  if (!attr_text::parse_int(raw(key), &v)) {
    fail_attr(key, "must be an integer, got '" + raw(key) + "'");
  }
  return v;
}

int64_t Attrs::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

float Attrs::get_float(const std::string& key, float fallback) const {
  if (!has(key)) return fallback;
  float v = 0.0f;
  if (!attr_text::parse_float(raw(key), &v)) {
    fail_attr(key, "must be a number, got '" + raw(key) + "'");
  }
  return v;
}

bool Attrs::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  bool v = false;
  if (!attr_text::parse_bool(raw(key), &v)) {
    fail_attr(key, "must be True or False, got '" + raw(key) + "'");
  }
  return v;
}

std::string Attrs::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? trim(raw(key)) : fallback;
}

std::vector<int64_t> Attrs::get_int_list(const std::string& key) const {
  std::vector<int64_t> values;
  const std::string want = attr_text::parse_int_list(raw(key), &values);
  if (!want.empty()) fail_attr(key, "must be " + want + ", got '" + raw(key) + "'");
  return values;
}

std::vector<int64_t> Attrs::get_tuple(const std::string& key, size_t size) const {
  std::vector<int64_t> values = get_int_list(key);
  if (values.size() == 1 && size > 1) values.assign(size, values[0]);
  if (values.size() != size) {
    fail_attr(key, "must have " + std::to_string(size) + " values, got '" + raw(key) + "'");
  }
  return values;
}

std::vector<int64_t> Attrs::get_tuple(const std::string& key, size_t size,
                                      int64_t fallback) const {
  if (!has(key)) return std::vector<int64_t>(size, fallback);
  // MXNet writes "()" for an unset optional tuple (e.g. pad=() means zeros).
  if (get_int_list(key).empty()) return std::vector<int64_t>(size, fallback);
  return get_tuple(key, size);
}

}  // namespace rt
}  // namespace bmx

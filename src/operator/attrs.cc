#include "attrs.h"

#include <sstream>

#include "attr_text.h"

namespace bmx {

Attrs::Attrs(const char* op, const AttrMap& attrs, const std::set<std::string>& known)
    : op_(op), attrs_(attrs) {
  for (const auto& kv : attrs) {
    if (kv.first.rfind("__", 0) == 0 || known.count(kv.first)) continue;
    std::ostringstream names;
    for (const auto& k : known) names << (names.tellp() > 0 ? ", " : "") << k;
    fail(kv.first, "is not an attribute of this op; known attributes: " + names.str());
  }
}

void Attrs::fail(const std::string& key, const std::string& what) const {
  throw AttrError(std::string(op_) + ": attribute '" + key + "' " + what);
}

bool Attrs::has(const std::string& key) const { return attrs_.count(key) != 0; }

const std::string& Attrs::raw(const std::string& key) const {
  auto it = attrs_.find(key);
  if (it == attrs_.end()) fail(key, "is required but missing");
  return it->second;
}

int64_t Attrs::get_int(const std::string& key) const {
  int64_t v = 0;
  if (!attr_text::parse_int(raw(key), &v)) {
    fail(key, "must be an integer, got '" + raw(key) + "'");
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
    fail(key, "must be a number, got '" + raw(key) + "'");
  }
  return v;
}

bool Attrs::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  bool v = false;
  if (!attr_text::parse_bool(raw(key), &v)) {
    fail(key, "must be True or False, got '" + raw(key) + "'");
  }
  return v;
}

std::vector<int64_t> Attrs::get_tuple(const std::string& key, size_t size) const {
  std::vector<int64_t> values;
  const std::string want = attr_text::parse_int_list(raw(key), &values);
  if (!want.empty()) fail(key, "must be " + want + ", got '" + raw(key) + "'");
  if (values.size() == 1 && size > 1) values.assign(size, values[0]);
  if (values.size() != size) {
    fail(key, "must have " + std::to_string(size) + " values, got '" + raw(key) + "'");
  }
  return values;
}

std::vector<int64_t> Attrs::get_tuple(const std::string& key, size_t size,
                                      int64_t fallback) const {
  return has(key) ? get_tuple(key, size) : std::vector<int64_t>(size, fallback);
}

const std::string& Attrs::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? raw(key) : fallback;
}

}  // namespace bmx

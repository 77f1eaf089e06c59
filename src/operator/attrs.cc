#include "attrs.h"

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace bmx {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool parse_int(const std::string& text, int64_t* value) {
  std::string t = trim(text);
  if (t.size() > 1 && t.back() == 'L') t.pop_back();  // Python 2 style longs
  if (t.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (*end == '\0') {
    *value = v;
    return true;
  }
  // Accept integral floats such as "-1.0".
  const double d = std::strtod(t.c_str(), &end);
  if (*end != '\0' || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *value = static_cast<int64_t>(d);
  return true;
}

}  // namespace

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
  if (!parse_int(raw(key), &v)) fail(key, "must be an integer, got '" + raw(key) + "'");
  return v;
}

int64_t Attrs::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

float Attrs::get_float(const std::string& key, float fallback) const {
  if (!has(key)) return fallback;
  const std::string t = trim(raw(key));
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0') fail(key, "must be a number, got '" + raw(key) + "'");
  return static_cast<float>(v);
}

bool Attrs::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const std::string t = trim(raw(key));
  if (t == "True" || t == "true" || t == "1") return true;
  if (t == "False" || t == "false" || t == "0") return false;
  fail(key, "must be True or False, got '" + raw(key) + "'");
}

std::vector<int64_t> Attrs::get_tuple(const std::string& key, size_t size) const {
  std::string t = trim(raw(key));
  if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
    const char close = t.front() == '(' ? ')' : ']';
    if (t.back() != close) fail(key, "must be a tuple such as (3, 3), got '" + raw(key) + "'");
    t = t.substr(1, t.size() - 2);
  }
  std::vector<int64_t> values;
  std::stringstream items(t);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (trim(item).empty()) continue;  // "(3,)"
    int64_t v = 0;
    if (!parse_int(item, &v)) fail(key, "must be a tuple of integers, got '" + raw(key) + "'");
    values.push_back(v);
  }
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

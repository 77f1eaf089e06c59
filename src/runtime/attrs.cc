#include "attrs.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "error.h"

namespace bmx {
namespace rt {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool parse_int(const std::string& text, int64_t* value) {
  std::string t = trim(text);
  if (t.size() > 1 && t.back() == 'L') t.pop_back();  // Python 2 longs
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (*end == '\0' && errno == 0) {
    *value = v;
    return true;
  }
  // Integral floats such as "-1.0".
  errno = 0;
  const double d = std::strtod(t.c_str(), &end);
  if (*end != '\0' || errno != 0 || !(std::fabs(d) < 9.0e15) || d != std::floor(d)) return false;
  *value = static_cast<int64_t>(d);
  return true;
}

}  // namespace

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
  if (!parse_int(raw(key), &v)) fail_attr(key, "must be an integer, got '" + raw(key) + "'");
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
  if (t.empty() || *end != '\0') fail_attr(key, "must be a number, got '" + raw(key) + "'");
  return static_cast<float>(v);
}

bool Attrs::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const std::string t = trim(raw(key));
  if (t == "True" || t == "true" || t == "1") return true;
  if (t == "False" || t == "false" || t == "0") return false;
  fail_attr(key, "must be True or False, got '" + raw(key) + "'");
}

std::string Attrs::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? trim(raw(key)) : fallback;
}

std::vector<int64_t> Attrs::get_int_list(const std::string& key) const {
  std::string t = trim(raw(key));
  if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
    const char close = t.front() == '(' ? ')' : ']';
    if (t.size() < 2 || t.back() != close) {
      fail_attr(key, "must be a tuple such as (3, 3), got '" + raw(key) + "'");
    }
    t = t.substr(1, t.size() - 2);
  }
  std::vector<int64_t> values;
  size_t start = 0;
  while (start <= t.size()) {
    size_t comma = t.find(',', start);
    if (comma == std::string::npos) comma = t.size();
    const std::string item = trim(t.substr(start, comma - start));
    if (!item.empty()) {
      int64_t v = 0;
      if (!parse_int(item, &v)) fail_attr(key, "must be a tuple of integers, got '" + raw(key) + "'");
      values.push_back(v);
    }
    start = comma + 1;
  }
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

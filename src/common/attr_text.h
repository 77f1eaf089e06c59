// MXNet's attribute strings ("3", "-1.0", "True", "(3, 3)", "[1,1]", "()") read as values:
// the one reading shared by the op library (src/operator/attrs.h) and the runtime
// (src/runtime/attrs.h), which keep the attributes and word their errors each their own way
// (AttrReader below). Header only, plain C++, so that neither library links the other.
#pragma once

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace bmx {
namespace attr_text {

inline std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// An integer, also as Python 2's "3L" or an integral float such as "-1.0"; false otherwise
// (and for values past int64 or floats past 2^53, which would not be exact).
inline bool parse_int(const std::string& text, int64_t* value) {
  std::string t = trim(text);
  if (t.size() > 1 && t.back() == 'L') t.pop_back();
  if (t.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(t.c_str(), &end, 10);
  if (*end == '\0' && errno == 0) {
    *value = v;
    return true;
  }
  errno = 0;
  const double d = std::strtod(t.c_str(), &end);
  if (*end != '\0' || errno != 0 || !(std::fabs(d) < 9.0e15) || d != std::floor(d)) return false;
  *value = static_cast<int64_t>(d);
  return true;
}

inline bool parse_float(const std::string& text, float* value) {
  const std::string t = trim(text);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end != '\0') return false;
  *value = static_cast<float>(v);
  return true;
}

// "True" / "true" / "1" or "False" / "false" / "0".
inline bool parse_bool(const std::string& text, bool* value) {
  const std::string t = trim(text);
  if (t == "True" || t == "true" || t == "1") return *value = true, true;
  if (t == "False" || t == "false" || t == "0") return *value = false, true;
  return false;
}

// A tuple of integers: "(3, 3)", "[3,3]", "3", "(3,)", or "()" (no values). Returns "" and
// sets *values, or what the text should have been ("a tuple such as (3, 3)" when the brackets
// do not match, "a tuple of integers" when an item is no integer).
inline std::string parse_int_list(const std::string& text, std::vector<int64_t>* values) {
  std::string t = trim(text);
  if (!t.empty() && (t.front() == '(' || t.front() == '[')) {
    const char close = t.front() == '(' ? ')' : ']';
    if (t.size() < 2 || t.back() != close) return "a tuple such as (3, 3)";
    t = t.substr(1, t.size() - 2);
  }
  values->clear();
  size_t start = 0;
  while (start <= t.size()) {
    size_t comma = t.find(',', start);
    if (comma == std::string::npos) comma = t.size();
    const std::string item = trim(t.substr(start, comma - start));
    if (!item.empty()) {
      int64_t v = 0;
      if (!parse_int(item, &v)) return "a tuple of integers";
      values->push_back(v);
    }
    start = comma + 1;
  }
  return "";
}

}  // namespace attr_text

// Typed access to one op's attributes. `Derived` gives
//   const std::string* find(const std::string& key) const    the value, or null when absent
//   [[noreturn]] void fail_attr(const std::string& key, const std::string& what) const
// and every malformed or missing value goes to fail_attr with what was expected.
template <class Derived>
class AttrReader {
 public:
  bool has(const std::string& key) const { return self().find(key) != nullptr; }

  int64_t get_int(const std::string& key) const {
    int64_t v = 0;
    if (!attr_text::parse_int(raw(key), &v)) {
      self().fail_attr(key, "must be an integer, got '" + raw(key) + "'");
    }
    return v;
  }
  int64_t get_int(const std::string& key, int64_t fallback) const {
    return has(key) ? get_int(key) : fallback;
  }

  float get_float(const std::string& key, float fallback) const {
    if (!has(key)) return fallback;
    float v = 0.0f;
    if (!attr_text::parse_float(raw(key), &v)) {
      self().fail_attr(key, "must be a number, got '" + raw(key) + "'");
    }
    return v;
  }

  bool get_bool(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    bool v = false;
    if (!attr_text::parse_bool(raw(key), &v)) {
      self().fail_attr(key, "must be True or False, got '" + raw(key) + "'");
    }
    return v;
  }

  std::string get_string(const std::string& key, const std::string& fallback) const {
    return has(key) ? attr_text::trim(raw(key)) : fallback;
  }

  // A tuple of any length ("()" is empty).
  std::vector<int64_t> get_int_list(const std::string& key) const {
    std::vector<int64_t> values;
    const std::string want = attr_text::parse_int_list(raw(key), &values);
    if (!want.empty()) self().fail_attr(key, "must be " + want + ", got '" + raw(key) + "'");
    return values;
  }

  // A tuple of `size` ints ("(3, 3)", "[3,3]"; "(3,)" and "3" repeat one value).
  std::vector<int64_t> get_tuple(const std::string& key, size_t size) const {
    std::vector<int64_t> values = get_int_list(key);
    if (values.size() == 1 && size > 1) values.assign(size, values[0]);
    if (values.size() != size) {
      self().fail_attr(key, "must have " + std::to_string(size) + " values, got '" + raw(key) +
                                "'");
    }
    return values;
  }
  // Absent, or "()" as MXNet writes an unset optional tuple: `size` times `fallback`.
  std::vector<int64_t> get_tuple(const std::string& key, size_t size, int64_t fallback) const {
    if (!has(key) || get_int_list(key).empty()) return std::vector<int64_t>(size, fallback);
    return get_tuple(key, size);
  }

 protected:
  const std::string& raw(const std::string& key) const {
    const std::string* value = self().find(key);
    if (value == nullptr) self().fail_attr(key, "is required but missing");
    return *value;
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace bmx

// Reads a node's string attributes as MXNet writes them ("(3, 3)", "True", "1e-05", "relu").
// Every failure is one sentence naming the node, its op and the attribute. Attributes the op
// does not know are refused, so that no attribute value is ever silently ignored.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "symbol.h"

namespace bmx {
namespace rt {

class Attrs {
 public:
  // `known`: the attributes this op understands (MXNet's "__...__" annotations are ignored).
  Attrs(const SymbolNode& node, std::initializer_list<const char*> known);

  bool has(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  float get_float(const std::string& key, float fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // A tuple of `size` ints ("(3, 3)", "[3,3]", "(3,)" and "3" repeat one value).
  std::vector<int64_t> get_tuple(const std::string& key, size_t size) const;
  std::vector<int64_t> get_tuple(const std::string& key, size_t size, int64_t fallback) const;
  // A tuple of any length ("()" is empty).
  std::vector<int64_t> get_int_list(const std::string& key) const;

  [[noreturn]] void fail_attr(const std::string& key, const std::string& what) const;

 private:
  const std::string& raw(const std::string& key) const;
  const SymbolNode& node_;
};

// "node 'conv0' (Convolution)"
std::string node_label(const SymbolNode& node);

}  // namespace rt
}  // namespace bmx

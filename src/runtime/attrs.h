// Reads a node's string attributes as MXNet writes them ("(3, 3)", "True", "1e-05", "relu").
// Every failure is one sentence naming the node, its op and the attribute. Attributes the op
// does not know are refused, so that no attribute value is ever silently ignored.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "attr_text.h"
#include "symbol.h"

namespace bmx {
namespace rt {

// has / get_int / get_float / get_bool / get_string / get_tuple / get_int_list: AttrReader
// (attr_text.h).
class Attrs : public AttrReader<Attrs> {
 public:
  // `known`: the attributes this op understands (MXNet's "__...__" annotations are ignored).
  Attrs(const SymbolNode& node, std::initializer_list<const char*> known);

  const std::string* find(const std::string& key) const;
  // Fails the load with "attribute '<key>' of node '<name>' (<op>) <what>."
  [[noreturn]] void fail_attr(const std::string& key, const std::string& what) const;

 private:
  const SymbolNode& node_;
};

// "node 'conv0' (Convolution)"
std::string node_label(const SymbolNode& node);

}  // namespace rt
}  // namespace bmx

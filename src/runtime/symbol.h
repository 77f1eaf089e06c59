// MXNet's symbol JSON (what Symbol.save / HybridBlock.export write): a list of nodes in
// topological order, each an op or a variable ("null"), with string attributes and inputs
// (node index, output index); arg_nodes; heads (the outputs).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bmx {
namespace rt {

struct EntryRef {
  int64_t node = 0;   // index into Symbol::nodes
  int64_t index = 0;  // which output of that node
};

struct SymbolNode {
  std::string op;  // "null" for a variable
  std::string name;
  std::map<std::string, std::string> attrs;
  std::vector<EntryRef> inputs;
  bool is_variable() const { return op == "null"; }
};

struct Symbol {
  std::vector<SymbolNode> nodes;
  std::vector<EntryRef> heads;
  // The SHA-256 of the params file that model-converter recorded with the symbol (top-level
  // attrs, bmx_params_sha256: ["str", hex]); empty when there is none (see pairing.h).
  std::string params_sha256;
};

// Parses and checks the structure (inputs refer to earlier nodes, heads exist). Throws Error
// with one sentence when the text is not JSON or not an MXNet symbol.
Symbol parse_symbol(const char* json_text);

}  // namespace rt
}  // namespace bmx

#include "symbol.h"

#include <nlohmann/json.hpp>

#include "error.h"

namespace bmx {
namespace rt {
namespace {

using nlohmann::json;

[[noreturn]] void not_a_symbol(const std::string& what) {
  fail("the symbol JSON is not an MXNet symbol: " + what + ".");
}

int64_t as_index(const json& v, const std::string& what) {
  if (!v.is_number_integer()) not_a_symbol(what + " is not an integer");
  return v.get<int64_t>();
}

// limit: the nodes an entry may refer to (those before it, or all for a head).
EntryRef parse_entry(const json& e, int64_t limit, bool is_input, const std::string& what) {
  if (!e.is_array() || e.size() < 2 || e.size() > 3) {
    not_a_symbol(what + " is not a [node, output] pair");
  }
  EntryRef ref{as_index(e[0], what), as_index(e[1], what)};
  if (ref.node < 0 || ref.node >= limit) {
    not_a_symbol(what + " refers to node " + std::to_string(ref.node) +
                 (is_input ? ", which does not come before it" : ", which does not exist"));
  }
  if (ref.index < 0 || ref.index > 1024) {
    not_a_symbol(what + " names output " + std::to_string(ref.index) + " of a node");
  }
  return ref;
}

// The text with every run of whitespace outside strings made one space. nlohmann's lexer keeps
// each character it skips between two tokens (for its messages), in a buffer that doubles as it
// grows: a symbol padded with whitespace would cost up to twice the padding again. The copy
// costs at most twice the text's non-whitespace characters.
std::string collapse_whitespace(const char* text) {
  std::string out;
  bool in_string = false, escaped = false, space = false;
  for (const char* p = text; *p != '\0'; ++p) {
    const char c = *p;
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    } else if (c == '"') {
      in_string = true;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

Symbol parse_symbol(const char* json_text) {
  if (json_text == nullptr) fail("the symbol JSON is a null pointer.");
  json doc = json::parse(collapse_whitespace(json_text), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) fail("the symbol JSON is not valid JSON.");
  if (!doc.is_object()) not_a_symbol("it is not a JSON object");
  auto nodes = doc.find("nodes");
  if (nodes == doc.end() || !nodes->is_array()) not_a_symbol("it has no 'nodes' list");
  auto heads = doc.find("heads");
  if (heads == doc.end() || !heads->is_array()) not_a_symbol("it has no 'heads' list");
  Symbol sym;
  const int64_t count = static_cast<int64_t>(nodes->size());
  sym.nodes.reserve(nodes->size());
  for (int64_t i = 0; i < count; ++i) {
    const json& n = (*nodes)[i];
    const std::string what = "node #" + std::to_string(i);
    if (!n.is_object()) not_a_symbol(what + " is not an object");
    SymbolNode node;
    auto op = n.find("op");
    auto name = n.find("name");
    if (op == n.end() || !op->is_string()) not_a_symbol(what + " has no 'op' string");
    if (name == n.end() || !name->is_string()) not_a_symbol(what + " has no 'name' string");
    node.op = op->get<std::string>();
    node.name = name->get<std::string>();
    // "attrs" (MXNet >= 1.0), "attr" or "param" (older files).
    for (const char* key : {"param", "attr", "attrs"}) {
      auto attrs = n.find(key);
      if (attrs == n.end()) continue;
      if (!attrs->is_object()) not_a_symbol(what + " has '" + key + "' that is not an object");
      for (auto it = attrs->begin(); it != attrs->end(); ++it) {
        if (!it.value().is_string()) {
          not_a_symbol("attribute '" + it.key() + "' of node '" + node.name + "' is not a string");
        }
        node.attrs[it.key()] = it.value().get<std::string>();
      }
    }
    auto inputs = n.find("inputs");
    if (inputs != n.end()) {
      if (!inputs->is_array()) not_a_symbol("the inputs of node '" + node.name + "' are not a list");
      for (const json& e : *inputs) {
        node.inputs.push_back(parse_entry(e, i, true, "an input of node '" + node.name + "'"));
      }
    }
    if (node.is_variable() && !node.inputs.empty()) {
      not_a_symbol("variable '" + node.name + "' has inputs");
    }
    sym.nodes.push_back(std::move(node));
  }
  if (heads->empty()) not_a_symbol("its 'heads' list is empty");
  for (const json& e : *heads) sym.heads.push_back(parse_entry(e, count, false, "a head"));
  // Graph attributes are [type, value] pairs (nnvm); others than the params id are MXNet's.
  auto graph_attrs = doc.find("attrs");
  if (graph_attrs != doc.end() && graph_attrs->is_object()) {
    auto id = graph_attrs->find("bmx_params_sha256");
    if (id != graph_attrs->end() && id->is_array() && id->size() == 2 && (*id)[0] == "str" &&
        (*id)[1].is_string()) {
      sym.params_sha256 = (*id)[1].get<std::string>();
    }
  }
  return sym;
}

}  // namespace rt
}  // namespace bmx

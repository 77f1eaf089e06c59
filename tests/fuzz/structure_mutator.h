// Structure-aware mutation of the fuzz input (model_input.h layout) for libFuzzer's
// LLVMFuzzerCustomMutator. Byte mutation alone rarely gets past the JSON parser with a graph
// that still plans; this mutator parses the symbol JSON and changes its structure instead:
// nodes dropped, duplicated, swapped or moved (so that input indices point elsewhere), input
// entries out of range, negative, of the wrong arity or type, attributes of the wrong JSON type,
// huge or malformed numbers and tuples, op names of other nodes or unknown ones, heads and
// top-level keys removed or retyped, values nested thousands of levels deep, and the .params
// bytes or the shape header mutated with the JSON kept intact. A quarter of the calls (and every
// input whose JSON does not parse) get libFuzzer's own byte mutation of the whole input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model_input.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace bmx_fuzz {

using nlohmann::json;

class StructureMutator {
 public:
  explicit StructureMutator(unsigned seed) : rng_(seed) {}

  // Mutates data[0, size) in place (capacity max_size); returns the new size.
  size_t mutate(uint8_t* data, size_t size, size_t max_size) {
    ModelInput in;
    if (pick(4) == 0 || !split_model_input(data, size, &in)) {
      return LLVMFuzzerMutate(data, size, max_size);
    }
    json doc = json::parse(in.symbol_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return LLVMFuzzerMutate(data, size, max_size);
    std::string symbol;
    std::string params = in.params;
    uint8_t shape_bytes[4];
    std::memcpy(shape_bytes, data + 4, 4);
    switch (pick(8)) {
      case 0:  // the .params bytes only, with the graph intact
        params = mutate_bytes(params, max_size > size ? max_size - size + params.size() : 0);
        symbol = in.symbol_json;
        break;
      case 1:  // another input shape
        shape_bytes[pick(4)] = static_cast<uint8_t>(pick(256));
        symbol = in.symbol_json;
        break;
      default: {
        const int steps = 1 + pick(3);
        for (int s = 0; s < steps; ++s) {
          // A step that meets a value of another type than it edits (operator[] on an array,
          // say, which an earlier step may have made) throws: that step is skipped.
          try {
            mutate_structure(&doc);
          } catch (const json::exception&) {
          }
        }
        symbol = doc.dump(-1, ' ', false, json::error_handler_t::replace);
        splice_nesting(&symbol);
      }
    }
    const size_t total = kHeaderBytes + symbol.size() + params.size();
    if (total > max_size) return LLVMFuzzerMutate(data, size, max_size);
    const uint32_t len = static_cast<uint32_t>(symbol.size());
    for (int b = 0; b < 4; ++b) data[b] = static_cast<uint8_t>(len >> (8 * b));
    std::memcpy(data + 4, shape_bytes, 4);
    std::memcpy(data + kHeaderBytes, symbol.data(), symbol.size());
    std::memcpy(data + kHeaderBytes + symbol.size(), params.data(), params.size());
    return total;
  }

 private:
  // A string value that stands for a deeply nested value: replaced after dump() (building the
  // nesting in a json value would recurse that deep here, in dump() and in the destructor).
  static constexpr const char* kNestMarker = "bmx-fuzz-nest";

  int pick(int n) { return static_cast<int>(rng_() % static_cast<unsigned>(n)); }

  std::string mutate_bytes(const std::string& bytes, size_t capacity) {
    if (capacity < bytes.size() || capacity == 0) return bytes;
    std::vector<uint8_t> buf(bytes.begin(), bytes.end());
    buf.resize(std::min<size_t>(capacity, bytes.size() + 4096));
    const size_t n = LLVMFuzzerMutate(buf.data(), bytes.size(), buf.size());
    return std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }

  json odd_number() {
    static const json values[] = {-1,      0,          1,         2147483647, 2147483648LL,
                                  4294967296LL, -9223372036854775807LL - 1,
                                  9223372036854775807LL, 18446744073709551615ULL, 1.5, 1e308,
                                  -1e308};
    return values[pick(sizeof(values) / sizeof(values[0]))];
  }

  std::string odd_text() {
    static const char* const values[] = {
        "", "0", "-1", "1", "2", "3", "65536", "2147483648", "4294967296",
        "99999999999999999999999", "1e308", "-1e308", "nan", "inf", "-0", "0x10", "1.5",
        " 3", "()", "(", ")", "(,)", "(0, 0)", "(-1, -1)", "(1,)", "(1, 1, 1)",
        "(1, 1, 1, 1, 1, 1, 1, 1)", "(65536, 65536)", "(4294967296, 1)", "(2147483647, 2)",
        "(1, 2", "[1, 2]", "True", "False", "true", "None", "relu", "max", "avg", "NCHW",
        "NHWC", "full", "valid", "same", "\xc3\xa9", "bmx-fuzz"};
    return values[pick(sizeof(values) / sizeof(values[0]))];
  }

  std::string op_name(const json& nodes) {
    static const char* const known[] = {
        "null", "Convolution", "FullyConnected", "BatchNorm", "Activation", "Pooling",
        "Flatten", "Reshape", "Concat", "elemwise_add", "add_n", "broadcast_add", "Dropout",
        "SoftmaxOutput", "softmax", "LeakyReLU", "Pad", "clip", "_mul_scalar",
        "bmx_binary_conv2d", "bmx_binary_dense", "bmx_det_sign", "bmx_approx_sign",
        "QConvolution", "QFullyConnected", "QActivation", "det_sign", "_full", "_zeros",
        "BinaryInferenceConvolution", "BinaryInferenceFullyConnected",
        "Convolution_v1", "", "bmx-fuzz"};
    if (pick(2) == 0 && nodes.is_array() && !nodes.empty()) {
      const json& other = nodes[pick(static_cast<int>(nodes.size()))];
      if (other.is_object() && other.contains("op") && other["op"].is_string()) {
        return other["op"].get<std::string>();
      }
    }
    return known[pick(sizeof(known) / sizeof(known[0]))];
  }

  json wrong_type() {
    switch (pick(8)) {
      case 0: return nullptr;
      case 1: return pick(2) == 0;
      case 2: return odd_number();
      case 3: return json::array({odd_text()});
      case 4: return json::object({{"bmx-fuzz", odd_text()}});
      case 5: return json::array();
      case 6: return json::object();
      default: return kNestMarker;  // see splice_nesting
    }
  }

  json entry(int nodes) {
    switch (pick(6)) {
      case 0: return json::array({pick(nodes + 2) - 1, 0, 0});
      case 1: return json::array({odd_number(), odd_number(), 0});
      case 2: return json::array({pick(nodes > 0 ? nodes : 1), pick(4)});  // MXNet < 1.0 pairs
      case 3: return json::array({pick(nodes > 0 ? nodes : 1)});
      case 4: return json::array({pick(nodes > 0 ? nodes : 1), 0, 0, 0, 0});
      default: return wrong_type();
    }
  }

  json* random_node(json* nodes) {
    if (!nodes->is_array() || nodes->empty()) return nullptr;
    json& n = (*nodes)[pick(static_cast<int>(nodes->size()))];
    return n.is_object() ? &n : nullptr;
  }

  void mutate_structure(json* doc) {
    json& nodes = (*doc)["nodes"];
    if (!nodes.is_array()) nodes = json::array();
    const int count = static_cast<int>(nodes.size());
    json* node = random_node(&nodes);
    switch (pick(17)) {
      case 0:  // drop a node: the later nodes' indices shift under their users
        if (count > 0) nodes.erase(nodes.begin() + pick(count));
        break;
      case 1:  // duplicate a node somewhere else (two nodes of one name)
        if (node != nullptr) {
          json copy = *node;
          nodes.insert(nodes.begin() + pick(count + 1), std::move(copy));
        }
        break;
      case 2:  // swap two nodes (a user before its input)
        if (count > 1) std::swap(nodes[pick(count)], nodes[pick(count)]);
        break;
      case 3: {  // move one node
        if (count < 2) break;
        const int from = pick(count);
        json moved = nodes[from];
        nodes.erase(nodes.begin() + from);
        nodes.insert(nodes.begin() + pick(count), std::move(moved));
        break;
      }
      case 4:  // one input entry changed: out of range, negative, odd arity or type
      case 5:
        if (node != nullptr && node->contains("inputs") && (*node)["inputs"].is_array() &&
            !(*node)["inputs"].empty()) {
          json& inputs = (*node)["inputs"];
          inputs[pick(static_cast<int>(inputs.size()))] = entry(count);
        } else if (node != nullptr) {
          (*node)["inputs"] = json::array({entry(count)});
        }
        break;
      case 6:  // inputs added, dropped or retyped
        if (node == nullptr) break;
        if (!node->contains("inputs") || !(*node)["inputs"].is_array()) {
          (*node)["inputs"] = json::array();
        }
        switch (pick(3)) {
          case 0: (*node)["inputs"].push_back(entry(count)); break;
          case 1:
            if (!(*node)["inputs"].empty()) (*node)["inputs"].erase((*node)["inputs"].size() - 1);
            break;
          default: (*node)["inputs"] = wrong_type();
        }
        break;
      case 7:  // an attribute value of the wrong JSON type
      case 8:  // an attribute value that is an odd number or tuple
      case 9: {
        if (node == nullptr) break;
        json& attrs = (*node)["attrs"];
        if (!attrs.is_object() || attrs.empty()) {
          attrs = json::object({{attr_key(), odd_text()}});
          break;
        }
        auto it = attrs.begin();
        std::advance(it, pick(static_cast<int>(attrs.size())));
        if (pick(3) == 0) {
          it.value() = wrong_type();
        } else {
          it.value() = odd_text();
        }
        break;
      }
      case 10:  // an attribute added (one the op may not take) or removed
        if (node == nullptr) break;
        if (pick(2) == 0 || !(*node)["attrs"].is_object() || (*node)["attrs"].empty()) {
          (*node)["attrs"][attr_key()] = odd_text();
        } else {
          json& attrs = (*node)["attrs"];
          auto it = attrs.begin();
          std::advance(it, pick(static_cast<int>(attrs.size())));
          attrs.erase(it);
        }
        break;
      case 11:  // another op name (a variable made an op, an op made a variable, unknown ops)
        if (node != nullptr) (*node)["op"] = op_name(nodes);
        break;
      case 12:  // a node's key removed or retyped, or its name made another node's
        if (node == nullptr) break;
        switch (pick(4)) {
          case 0: node->erase(pick(2) == 0 ? "op" : "name"); break;
          case 1: (*node)[pick(2) == 0 ? "op" : "name"] = wrong_type(); break;
          case 2: {
            json* other = random_node(&nodes);
            if (other != nullptr && other->contains("name")) (*node)["name"] = (*other)["name"];
            break;
          }
          default: (*node)["attrs"] = wrong_type();
        }
        break;
      case 13: {  // heads: another node, out of range, several, none, wrong type
        json& heads = (*doc)["heads"];
        switch (pick(4)) {
          case 0: heads = json::array({entry(count)}); break;
          case 1:
            if (!heads.is_array()) heads = json::array();
            heads.push_back(entry(count));
            break;
          case 2: heads = json::array(); break;
          default: heads = wrong_type();
        }
        break;
      }
      case 14: {  // a top-level key removed or retyped
        static const char* const keys[] = {"nodes", "heads", "arg_nodes", "node_row_ptr",
                                           "attrs"};
        const char* key = keys[pick(5)];
        if (pick(2) == 0) {
          doc->erase(key);
        } else {
          (*doc)[key] = wrong_type();
        }
        break;
      }
      case 15:  // the params id of the graph attributes: another value or type
        (*doc)["attrs"]["bmx_params_sha256"] =
            pick(2) == 0 ? json::array({"str", odd_text()}) : wrong_type();
        break;
      default:  // a value nested deep: an attribute, an input entry or the heads
        if (node != nullptr && pick(2) == 0) {
          (*node)["attrs"][attr_key()] = kNestMarker;
        } else if (node != nullptr) {
          (*node)["inputs"] = json::array({kNestMarker});
        } else {
          (*doc)["heads"] = kNestMarker;
        }
    }
  }

  std::string attr_key() {
    static const char* const keys[] = {
        "kernel", "stride", "pad", "dilate", "num_filter", "num_group", "num_hidden", "no_bias",
        "flatten", "act_type", "pool_type", "global_pool", "pooling_convention", "axis", "eps",
        "fix_gamma", "use_global_stats", "shape", "num_args", "dim", "scalar", "a_min", "a_max",
        "mode", "pad_width", "constant_value", "slope", "layout", "__shape__", "__dtype__",
        "p", "bmx-fuzz"};
    return keys[pick(sizeof(keys) / sizeof(keys[0]))];
  }

  // Replaces each nesting marker with arrays or objects nested up to 4000 deep around a value.
  void splice_nesting(std::string* text) {
    const std::string marker = std::string("\"") + kNestMarker + "\"";
    for (size_t at = text->find(marker); at != std::string::npos; at = text->find(marker, at)) {
      static const int depths[] = {2, 8, 64, 200, 1000, 4000};
      const int depth = depths[pick(6)];
      const bool objects = pick(3) == 0;
      std::string nested;
      nested.reserve(static_cast<size_t>(depth) * 8 + 4);
      for (int d = 0; d < depth; ++d) nested += objects ? "{\"a\":" : "[";
      nested += "1";
      for (int d = 0; d < depth; ++d) nested += objects ? "}" : "]";
      text->replace(at, marker.size(), nested);
      at += nested.size();
    }
  }

  std::mt19937 rng_;
};

}  // namespace bmx_fuzz

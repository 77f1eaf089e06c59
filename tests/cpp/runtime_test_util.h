// Helpers for the runtime's tests: CHECK (check.h), a symbol JSON builder, a .params writer, and a
// runner over the C API.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bmx_predict.h"
#include "check.h"

namespace rtest {

using check_counts::failed;
using check_counts::passed;

inline int finish(const char* name) { return check_counts::summary(name); }

inline std::mt19937& rng() {
  static std::mt19937 r(20261202);
  return r;
}

inline std::vector<float> random_floats(size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng());
  for (size_t i = 0; i < n; i += 11) v[i] = 0.0f;  // sign(0) = +1
  return v;
}

using Attrs = std::map<std::string, std::string>;

// Builds MXNet symbol JSON: variables and ops in topological order.
class Graph {
 public:
  int var(const std::string& name) { return add("null", name, {}, {}); }
  int op(const std::string& op, const std::string& name, const Attrs& attrs,
         const std::vector<int>& inputs, const std::vector<int>& indices = {}) {
    return add(op, name, attrs, inputs, indices);
  }
  std::string json(const std::vector<int>& heads) const {
    std::string s = "{\"nodes\": [";
    for (size_t i = 0; i < nodes_.size(); ++i) s += (i ? ", " : "") + nodes_[i];
    s += "], \"arg_nodes\": [";
    bool first = true;
    for (size_t i = 0; i < vars_.size(); ++i) {
      s += (first ? "" : ", ") + std::to_string(vars_[i]);
      first = false;
    }
    s += "], \"heads\": [";
    for (size_t i = 0; i < heads.size(); ++i) s += (i ? ", " : "") + std::string("[") + std::to_string(heads[i]) + ", 0, 0]";
    return s + "], \"attrs\": {\"mxnet_version\": [\"int\", 10901]}}";
  }

 private:
  int add(const std::string& op, const std::string& name, const Attrs& attrs,
          const std::vector<int>& inputs, const std::vector<int>& indices = {}) {
    std::string s = "{\"op\": \"" + op + "\", \"name\": \"" + name + "\"";
    if (!attrs.empty()) {
      s += ", \"attrs\": {";
      bool first = true;
      for (const auto& kv : attrs) {
        s += (first ? "\"" : ", \"") + kv.first + "\": \"" + kv.second + "\"";
        first = false;
      }
      s += "}";
    }
    s += ", \"inputs\": [";
    for (size_t i = 0; i < inputs.size(); ++i) {
      const int index = i < indices.size() ? indices[i] : 0;
      s += (i ? ", [" : "[") + std::to_string(inputs[i]) + ", " + std::to_string(index) + ", 0]";
    }
    s += "]}";
    if (op == "null") vars_.push_back(static_cast<int>(nodes_.size()));
    nodes_.push_back(s);
    return static_cast<int>(nodes_.size()) - 1;
  }
  std::vector<std::string> nodes_;
  std::vector<int> vars_;
};

// Writes MXNet's .params format (V2 arrays, with names).
class Params {
 public:
  void f32(const std::string& key, const std::vector<int64_t>& shape, const std::vector<float>& v) {
    add(key, shape, 0, v.data(), v.size() * 4);
  }
  void i32(const std::string& key, const std::vector<int64_t>& shape, const std::vector<uint32_t>& v) {
    add(key, shape, 4, v.data(), v.size() * 4);
  }
  std::string bytes() const {
    std::string out;
    put<uint64_t>(&out, 0x112);
    put<uint64_t>(&out, 0);
    put<uint64_t>(&out, arrays_.size());
    for (const auto& a : arrays_) out += a;
    put<uint64_t>(&out, names_.size());
    for (const auto& n : names_) {
      put<uint64_t>(&out, n.size());
      out += n;
    }
    return out;
  }
  template <typename T>
  static void put(std::string* out, T v) {
    out->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }

 private:
  void add(const std::string& key, const std::vector<int64_t>& shape, int32_t flag,
           const void* data, size_t bytes) {
    std::string a;
    put<uint32_t>(&a, 0xF993FAC9);
    put<int32_t>(&a, 0);
    put<int32_t>(&a, static_cast<int32_t>(shape.size()));
    for (int64_t d : shape) put<int64_t>(&a, d);
    put<int32_t>(&a, 1);
    put<int32_t>(&a, 0);
    put<int32_t>(&a, flag);
    a.append(static_cast<const char*>(data), bytes);
    arrays_.push_back(a);
    names_.push_back(key);
  }
  std::vector<std::string> arrays_, names_;
};

// Creates a predictor for one input "data"; `error` gets BMXGetLastError() on failure.
inline BMXPredictorHandle create(const std::string& json, const std::string& params,
                                 const std::vector<uint32_t>& shape, std::string* error = nullptr) {
  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, static_cast<uint32_t>(shape.size())};
  BMXPredictorHandle h = nullptr;
  const int rc = BMXPredCreate(json.c_str(), params.data(), static_cast<int>(params.size()), 1, 0,
                               1, keys, indptr, shape.data(), &h);
  if (error) *error = rc == 0 ? "" : BMXGetLastError();
  return rc == 0 ? h : nullptr;
}

// Runs the graph on x and returns output 0 (empty on failure, with the error printed).
inline std::vector<float> run(const std::string& json, const std::string& params,
                              const std::vector<uint32_t>& shape, const std::vector<float>& x,
                              std::vector<uint32_t>* out_shape = nullptr) {
  std::string error;
  BMXPredictorHandle h = create(json, params, shape, &error);
  if (h == nullptr) {
    std::printf("  create failed: %s\n", error.c_str());
    return {};
  }
  std::vector<float> y;
  uint32_t* dims = nullptr;
  uint32_t ndim = 0;
  if (BMXPredSetInput(h, "data", x.data(), static_cast<uint32_t>(x.size())) == 0 &&
      BMXPredForward(h) == 0 && BMXPredGetOutputShape(h, 0, &dims, &ndim) == 0) {
    size_t n = 1;
    for (uint32_t i = 0; i < ndim; ++i) n *= dims[i];
    if (out_shape) out_shape->assign(dims, dims + ndim);
    y.resize(n);
    if (BMXPredGetOutput(h, 0, y.data(), static_cast<uint32_t>(n)) != 0) y.clear();
  }
  if (y.empty()) std::printf("  run failed: %s\n", BMXGetLastError());
  BMXPredFree(h);
  return y;
}

// Largest absolute difference (infinity when the sizes differ).
inline float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::fmax(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace rtest

// A small converted model for the runtime's predictor tests: a float convolution (a float-library
// layer, planned per predictor and run on its pool), a binary convolution (packed weights, the
// binary kernels' parallel_for; shared by clones) and a float dense layer; input (1, 3, 12, 12),
// 10 outputs.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "bitpack.h"
#include "runtime_test_util.h"

namespace rtest {

struct Model {
  std::string json, params;
};

inline Model small_binary_model() {
  Graph g;
  Params p;
  const int data = g.var("data");
  const int conv = g.op("Convolution", "c0",
                        {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "32"}},
                        {data, g.var("c0_weight"), g.var("c0_bias")});
  p.f32("arg:c0_weight", {32, 3, 3, 3}, random_floats(32 * 3 * 3 * 3));
  p.f32("arg:c0_bias", {32}, random_floats(32));
  // Binary weights: OHWI, one 32-bit word of signs per (filter, tap).
  const std::vector<float> wf = random_floats(32 * 3 * 3 * 32);
  std::vector<uint32_t> w(32 * 9);
  for (int i = 0; i < 32 * 9; ++i) bmx::pack_signs(wf.data() + i * 32, 1, 32, w.data() + i);
  p.i32("arg:bc_weight", {32, 3, 3, 1}, w);
  const int bc = g.op("bmx_binary_conv2d", "bc",
                      {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "32"},
                       {"no_bias", "True"}},
                      {conv, g.var("bc_weight")});
  const int fc = g.op("FullyConnected", "fc", {{"num_hidden", "10"}},
                      {bc, g.var("fc_weight"), g.var("fc_bias")});
  p.f32("arg:fc_weight", {10, 32 * 12 * 12}, random_floats(10 * 32 * 12 * 12, -0.1f, 0.1f));
  p.f32("arg:fc_bias", {10}, random_floats(10));
  return {g.json({fc}), p.bytes()};
}

// Sets x, runs and reads the model's 10 outputs; empty (with *error set) when a call fails.
inline std::vector<float> predict(BMXPredictorHandle h, const std::vector<float>& x,
                                   std::string* error = nullptr) {
  std::vector<float> y(10);
  if (BMXPredSetInput(h, "data", x.data(), static_cast<uint32_t>(x.size())) != 0 ||
      BMXPredForward(h) != 0 || BMXPredGetOutput(h, 0, y.data(), 10) != 0) {
    if (error) *error = BMXGetLastError();
    return {};
  }
  return y;
}

// The process's thread count (/proc/self/status Threads:), -1 when it cannot be read.
inline int process_threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

}  // namespace rtest

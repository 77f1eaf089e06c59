// The fuzz targets' input format: one byte string that holds a symbol JSON, the bytes of a
// .params file and a small input shape (layout in fuzz_model_loader.cc). make_seeds.py writes
// the same layout; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bmx_fuzz {

constexpr size_t kHeaderBytes = 8;

struct ModelInput {
  std::string symbol_json;
  std::string params;
  uint32_t shape[4];  // N, C, H, W
};

inline bool split_model_input(const uint8_t* data, size_t size, ModelInput* out) {
  if (size < kHeaderBytes) return false;
  size_t json_len = size_t{data[0]} | size_t{data[1]} << 8 | size_t{data[2]} << 16 |
                    size_t{data[3]} << 24;
  const size_t rest = size - kHeaderBytes;
  if (json_len > rest) json_len = rest;
  out->shape[0] = 1 + data[4] % 2;
  out->shape[1] = 1 + data[5] % 16;
  out->shape[2] = 1 + data[6] % 32;
  out->shape[3] = 1 + data[7] % 32;
  const char* p = reinterpret_cast<const char*>(data) + kHeaderBytes;
  out->symbol_json.assign(p, json_len);
  out->params.assign(p + json_len, rest - json_len);
  return true;
}

}  // namespace bmx_fuzz

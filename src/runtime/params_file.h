// MXNet's binary .params format (the NDArray list that mx.nd.save writes; the format is
// documented in python/bmxnet/params_io.py). Every count is checked against the bytes that
// remain before anything is allocated, so truncated, random or foreign bytes give one sentence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shape.h"

namespace bmx {
namespace rt {

// mshadow's dtype flags; the runtime computes with float32 and int32 (packed bits).
enum class DType : int32_t { kFloat32 = 0, kFloat64 = 1, kFloat16 = 2, kUint8 = 3, kInt32 = 4,
                             kInt8 = 5, kInt64 = 6, kBool = 7, kInt16 = 8, kUint16 = 9,
                             kUint32 = 10, kUint64 = 11 };
const char* dtype_name(DType t);
// Bytes of one element; 0 for a flag that is no DType.
size_t dtype_size(DType t);

// One array of the file. Its data is read in place, inside the bytes given to parse_params
// (which must outlive it: the planner copies or repacks what it keeps), unless they are not
// aligned for its element type; then it holds an aligned copy.
struct ParamArray {
  std::string name;  // without the "arg:" / "aux:" prefix
  std::string key;   // as stored, e.g. "arg:conv0_weight"
  DType dtype = DType::kFloat32;
  Shape shape;
  size_t nbytes = 0;                // C order, little-endian
  const uint8_t* data = nullptr;    // nbytes, in the parsed bytes or in `copy`
  std::vector<uint32_t> copy;       // only for data that is not 4-byte aligned in the file
  const float* f32() const { return reinterpret_cast<const float*>(data); }
  const uint32_t* u32() const { return reinterpret_cast<const uint32_t*>(data); }
};

// Parses the bytes of a .params file; the arrays point into them. Throws Error("the params
// file is not ...: what."). Empty handles are skipped; a file without names is refused (a
// model needs names).
std::vector<ParamArray> parse_params(const void* data, size_t size);

}  // namespace rt
}  // namespace bmx

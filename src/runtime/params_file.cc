#include "params_file.h"

#include <cstdio>
#include <cstring>
#include <set>

#include "error.h"

namespace bmx {
namespace rt {
namespace {

constexpr uint64_t kListMagic = 0x112;
constexpr uint32_t kV1Magic = 0xF993FAC8, kV2Magic = 0xF993FAC9, kV3Magic = 0xF993FACA;
constexpr int32_t kMaxNdim = 32;

size_t flag_size(int32_t flag) {
  switch (flag) {
    case 0: case 4: case 10: return 4;
    case 1: case 6: case 11: return 8;
    case 2: case 8: case 9: return 2;
    case 3: case 5: case 7: return 1;
    default: return 0;
  }
}

class Reader {
 public:
  Reader(const void* data, size_t size) : p_(static_cast<const uint8_t*>(data)), size_(size) {}
  size_t remaining() const { return size_ - pos_; }

  [[noreturn]] void bad(const std::string& what) const {
    fail("the params data is not a valid MXNet .params file: " + what + ".");
  }
  const uint8_t* take(uint64_t n, const std::string& what) {
    if (n > remaining()) bad("it ends inside " + what + " (truncated?)");
    const uint8_t* at = p_ + pos_;
    pos_ += n;
    return at;
  }
  template <typename T>
  T get(const std::string& what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  // A count of items, each at least `min_bytes` long, that must fit in what remains.
  uint64_t count(uint64_t min_bytes, const std::string& what) {
    const uint64_t n = get<uint64_t>("the " + what + " count");
    if (n > remaining() / min_bytes) {
      bad("it claims " + std::to_string(n) + " " + what + " but only " +
          std::to_string(remaining()) + " bytes remain");
    }
    return n;
  }

 private:
  const uint8_t* p_;
  size_t size_, pos_ = 0;
};

// Reads one NDArray; false for an empty handle.
bool read_array(Reader& r, size_t index, ParamArray* out) {
  const std::string what = "array #" + std::to_string(index);
  const uint32_t magic = r.get<uint32_t>("the header of " + what);
  Shape shape;
  auto read_dims = [&](int64_t ndim, bool wide) {
    if (ndim < 0 || ndim > kMaxNdim) {
      r.bad(what + " has an impossible number of dimensions (" + std::to_string(ndim) + ")");
    }
    for (int64_t i = 0; i < ndim; ++i) {
      const int64_t d = wide ? r.get<int64_t>("the shape of " + what)
                             : static_cast<int64_t>(r.get<uint32_t>("the shape of " + what));
      shape.push_back(d);
    }
  };
  if (magic == kV2Magic || magic == kV3Magic) {
    const int32_t stype = r.get<int32_t>("the storage type of " + what);
    if (stype != 0) {
      r.bad(what + " uses sparse storage (type " + std::to_string(stype) +
            "), which is not supported");
    }
    const int32_t ndim = r.get<int32_t>("the shape of " + what);
    if (ndim == -1) return false;  // unknown shape: an empty handle
    read_dims(ndim, true);
    if (magic == kV2Magic && ndim == 0) return false;
  } else if (magic == kV1Magic) {
    const uint32_t ndim = r.get<uint32_t>("the shape of " + what);
    read_dims(ndim, true);
    if (ndim == 0) return false;
  } else {
    // Files older than V1 start with ndim and uint32 dims.
    if (magic > static_cast<uint32_t>(kMaxNdim)) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08X", magic);
      r.bad(what + " does not start with an NDArray header (found " + hex + ")");
    }
    read_dims(magic, false);
    if (magic == 0) return false;
  }
  for (int64_t d : shape) {
    if (d < 0) r.bad(what + " has a negative dimension in " + shape_str(shape));
  }
  const int32_t dev_type = r.get<int32_t>("the header of " + what);
  r.get<int32_t>("the header of " + what);  // device id
  const int32_t flag = r.get<int32_t>("the header of " + what);
  if (dev_type != 1 && dev_type != 2 && dev_type != 3 && dev_type != 5) {
    r.bad(what + " has an unknown device type " + std::to_string(dev_type));
  }
  const size_t item = flag_size(flag);
  if (item == 0) r.bad(what + " has an unknown dtype flag " + std::to_string(flag));
  const int64_t n = checked_elements(shape);
  if (n < 0 || static_cast<uint64_t>(n) > r.remaining() / item) {
    r.bad(what + " of shape " + shape_str(shape) + " needs more bytes than the file holds");
  }
  const size_t bytes = static_cast<size_t>(n) * item;
  const uint8_t* data = r.take(bytes, "the data of " + what);
  out->dtype = static_cast<DType>(flag);
  out->shape = shape;
  out->nbytes = bytes;
  out->data = data;
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint32_t) != 0) {  // a caller's odd buffer
    out->copy.resize((bytes + sizeof(uint32_t) - 1) / sizeof(uint32_t));
    if (bytes) std::memcpy(out->copy.data(), data, bytes);
    out->data = reinterpret_cast<const uint8_t*>(out->copy.data());
  }
  return true;
}

}  // namespace

size_t dtype_size(DType t) { return flag_size(static_cast<int32_t>(t)); }

const char* dtype_name(DType t) {
  static const char* const names[] = {"float32", "float64", "float16", "uint8", "int32", "int8",
                                      "int64", "bool", "int16", "uint16", "uint32", "uint64"};
  const auto i = static_cast<int32_t>(t);
  return i >= 0 && i < 12 ? names[i] : "unknown";
}

std::vector<ParamArray> parse_params(const void* data, size_t size) {
  Reader r(data, size);
  if (size == 0) r.bad("it is empty");
  if (size < 24) r.bad("it is only " + std::to_string(size) + " bytes long, too short for a header");
  const uint64_t magic = r.get<uint64_t>("the header");
  r.get<uint64_t>("the header");
  if (magic != kListMagic) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llX", static_cast<unsigned long long>(magic));
    r.bad(std::string("it does not start with the NDArray list magic 0x112 (found ") + hex + ")");
  }
  const uint64_t n_arrays = r.count(8, "arrays");
  std::vector<ParamArray> arrays(n_arrays);
  std::vector<bool> present(n_arrays);
  for (uint64_t i = 0; i < n_arrays; ++i) present[i] = read_array(r, i, &arrays[i]);
  const uint64_t n_names = r.count(8, "names");
  if (n_names != n_arrays) {
    if (n_names == 0) r.bad("its arrays have no names (a model's parameters are saved with names)");
    r.bad("it holds " + std::to_string(n_arrays) + " arrays but " + std::to_string(n_names) +
          " names");
  }
  std::set<std::string> seen;
  for (uint64_t i = 0; i < n_names; ++i) {
    const uint64_t length = r.get<uint64_t>("the length of name #" + std::to_string(i));
    const uint8_t* raw = r.take(length, "name #" + std::to_string(i));
    std::string key(reinterpret_cast<const char*>(raw), length);
    if (!seen.insert(key).second) r.bad("the parameter name '" + key + "' appears twice");
    arrays[i].key = key;
    arrays[i].name = key.rfind("arg:", 0) == 0 || key.rfind("aux:", 0) == 0 ? key.substr(4) : key;
  }
  if (r.remaining()) r.bad(std::to_string(r.remaining()) + " unexpected bytes follow the names list");
  std::vector<ParamArray> out;
  for (uint64_t i = 0; i < n_arrays; ++i) {
    if (present[i]) out.push_back(std::move(arrays[i]));
  }
  return out;
}

}  // namespace rt
}  // namespace bmx

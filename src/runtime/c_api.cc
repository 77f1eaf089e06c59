// The C API (include/bmx_predict.h): every call returns 0 or -1, records the thread's last
// error, and lets no exception out.
#include "include/bmx_predict.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "error.h"
#include "input_file.h"
#include "memory_limit.h"
#include "predictor.h"
#include "profile.h"

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F&& body) {
  // The thread-local is first touched here, outside the handlers: initializing it inside a
  // catch block traps in WebAssembly builds with native exceptions (clang 14).
  std::string& error = last_error;
  try {
    body();
    error.clear();
    return 0;
  } catch (const bmx::rt::Error& e) {
    error = e.what();
  } catch (const std::bad_alloc&) {
    error = "out of memory.";
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what() + ".";
  } catch (...) {
    error = "internal error.";
  }
  return -1;
}

bmx::rt::Predictor* predictor(BMXPredictorHandle handle) {
  if (handle == nullptr) bmx::rt::fail("the predictor handle is null.");
  return static_cast<bmx::rt::Predictor*>(handle);
}

// Holds a predictor for the length of one call. A call that finds it held by another thread
// fails with a sentence instead of racing on the predictor's buffers (a handle is for one
// thread at a time); one atomic exchange per call, nothing measurable beside a forward.
class InUse {
 public:
  explicit InUse(bmx::rt::Predictor* p) : flag_(p->in_use()) {
    if (flag_.exchange(true, std::memory_order_acquire)) {
      bmx::rt::fail("this predictor is in use by another thread; use one predictor "
                    "(BMXPredClone) per thread.");
    }
  }
  ~InUse() { flag_.store(false, std::memory_order_release); }
  InUse(const InUse&) = delete;
  InUse& operator=(const InUse&) = delete;

 private:
  std::atomic<bool>& flag_;
};

int create(const char* symbol_json_str, const void* param_bytes, int param_size, int dev_type,
           int dev_id, uint32_t num_input_nodes, const char** input_keys,
           const uint32_t* input_shape_indptr, const uint32_t* input_shape_data,
           uint32_t num_output_nodes, const char** output_keys, const char* options,
           BMXPredictorHandle* out) {
  using bmx::rt::fail;
  return guarded([&] {
    if (out == nullptr) fail("the output handle pointer is null.");
    *out = nullptr;
    if (dev_type != 1) {
      fail("dev_type " + std::to_string(dev_type) + " is not supported: the runtime runs on the "
           "CPU only (dev_type 1).");
    }
    if (dev_id != 0) fail("dev_id " + std::to_string(dev_id) + " is not supported: use 0.");
    if (symbol_json_str == nullptr) fail("the symbol JSON is a null pointer.");
    if (param_size < 0) fail("param_size is negative (" + std::to_string(param_size) + ").");
    if (num_input_nodes == 0) fail("num_input_nodes is 0: give at least one input (e.g. \"data\").");
    if (num_input_nodes > 4096) fail("num_input_nodes is absurdly large (" + std::to_string(num_input_nodes) + ").");
    if (input_keys == nullptr || input_shape_indptr == nullptr || input_shape_data == nullptr) {
      fail("input_keys, input_shape_indptr and input_shape_data must not be null.");
    }
    std::vector<bmx::rt::InputSpec> inputs;
    for (uint32_t i = 0; i < num_input_nodes; ++i) {
      if (input_keys[i] == nullptr) fail("input key #" + std::to_string(i) + " is null.");
      const uint32_t begin = input_shape_indptr[i], end = input_shape_indptr[i + 1];
      if (end < begin || end - begin > 32) {
        fail("input_shape_indptr gives input '" + std::string(input_keys[i]) + "' " +
             (end < begin ? "a negative" : "an absurd") + " number of dimensions.");
      }
      bmx::rt::InputSpec spec;
      spec.name = input_keys[i];
      for (uint32_t d = begin; d < end; ++d) spec.shape.push_back(input_shape_data[d]);
      inputs.push_back(std::move(spec));
    }
    std::vector<std::string> outputs;
    if (num_output_nodes > 0 && output_keys == nullptr) fail("output_keys is null.");
    for (uint32_t i = 0; i < num_output_nodes; ++i) {
      if (output_keys[i] == nullptr) fail("output key #" + std::to_string(i) + " is null.");
      outputs.emplace_back(output_keys[i]);
    }
    const bmx::rt::Settings settings = bmx::rt::parse_settings(options);
    *out = new bmx::rt::Predictor(symbol_json_str, param_bytes, static_cast<size_t>(param_size),
                                  inputs, outputs, settings);
  });
}

bmx::rt::InputTensor* input_tensor(BMXInputHandle handle) {
  if (handle == nullptr) bmx::rt::fail("the input handle is null.");
  return static_cast<bmx::rt::InputTensor*>(handle);
}

// The arguments every BMXInputFrom* takes beside the data, checked.
struct InputArgs {
  std::string name;
  std::vector<uint32_t> model_shape;
  bmx::rt::Normalization normalization;
};

InputArgs input_args(const char* name, const uint32_t* model_shape, uint32_t model_ndim,
                     const float* mean, uint32_t num_mean, const float* std, uint32_t num_std,
                     BMXInputHandle* out) {
  using bmx::rt::fail;
  if (out == nullptr) fail("the output handle pointer is null.");
  *out = nullptr;
  if (model_ndim > 32) fail("model_ndim is absurdly large (" + std::to_string(model_ndim) + ").");
  if ((model_ndim > 0 && model_shape == nullptr) || (num_mean > 0 && mean == nullptr) ||
      (num_std > 0 && std == nullptr)) {
    fail("model_shape, mean and std must not be null when their counts are above 0.");
  }
  if (num_mean > 4096 || num_std > 4096) fail("num_mean or num_std is absurdly large.");
  InputArgs args;
  args.name = name != nullptr && *name != '\0' ? name : "the input";
  args.model_shape.assign(model_shape, model_shape + model_ndim);
  args.normalization.mean.assign(mean, mean + num_mean);
  args.normalization.std.assign(std, std + num_std);
  return args;
}

}  // namespace

extern "C" {

const char* BMXGetLastError(void) { return last_error.c_str(); }

int BMXPredCreate(const char* symbol_json_str, const void* param_bytes, int param_size,
                  int dev_type, int dev_id, uint32_t num_input_nodes, const char** input_keys,
                  const uint32_t* input_shape_indptr, const uint32_t* input_shape_data,
                  BMXPredictorHandle* out) {
  return create(symbol_json_str, param_bytes, param_size, dev_type, dev_id, num_input_nodes,
                input_keys, input_shape_indptr, input_shape_data, 0, nullptr, nullptr, out);
}

int BMXPredCreatePartialOut(const char* symbol_json_str, const void* param_bytes,
                            int param_size, int dev_type, int dev_id, uint32_t num_input_nodes,
                            const char** input_keys, const uint32_t* input_shape_indptr,
                            const uint32_t* input_shape_data, uint32_t num_output_nodes,
                            const char** output_keys, BMXPredictorHandle* out) {
  return create(symbol_json_str, param_bytes, param_size, dev_type, dev_id, num_input_nodes,
                input_keys, input_shape_indptr, input_shape_data, num_output_nodes, output_keys,
                nullptr, out);
}

int BMXPredCreateEx(const char* symbol_json_str, const void* param_bytes, int param_size,
                    int dev_type, int dev_id, uint32_t num_input_nodes, const char** input_keys,
                    const uint32_t* input_shape_indptr, const uint32_t* input_shape_data,
                    uint32_t num_output_nodes, const char** output_keys, const char* options,
                    BMXPredictorHandle* out) {
  return create(symbol_json_str, param_bytes, param_size, dev_type, dev_id, num_input_nodes,
                input_keys, input_shape_indptr, input_shape_data, num_output_nodes, output_keys,
                options, out);
}

int BMXPredGetOutputShape(BMXPredictorHandle handle, uint32_t index, uint32_t** shape_data,
                          uint32_t* shape_ndim) {
  return guarded([&] {
    if (shape_data == nullptr || shape_ndim == nullptr) {
      bmx::rt::fail("shape_data and shape_ndim must not be null.");
    }
    const std::vector<uint32_t>& shape = predictor(handle)->output_shape(index);
    *shape_data = const_cast<uint32_t*>(shape.data());
    *shape_ndim = static_cast<uint32_t>(shape.size());
  });
}

int BMXPredSetInput(BMXPredictorHandle handle, const char* key, const float* data,
                    uint32_t size) {
  return guarded([&] {
    if (key == nullptr) bmx::rt::fail("the input key is null.");
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    p->set_input(key, data, size);
  });
}

int BMXPredForward(BMXPredictorHandle handle) {
  return guarded([&] {
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    p->forward();
  });
}

int BMXPredForwardProfiled(BMXPredictorHandle handle, const BMXStepProfile** steps,
                           uint32_t* num_steps, double* forward_seconds) {
  return guarded([&] {
    if (steps == nullptr || num_steps == nullptr) {
      bmx::rt::fail("steps and num_steps must not be null.");
    }
    *steps = nullptr;
    *num_steps = 0;
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    bmx::rt::Profile& profile = p->profile();
    profile.forward(*p);
    *steps = profile.steps().data();
    *num_steps = static_cast<uint32_t>(profile.steps().size());
    if (forward_seconds != nullptr) *forward_seconds = profile.forward_seconds();
  });
}

int BMXPredGetOutput(BMXPredictorHandle handle, uint32_t index, float* data, uint32_t size) {
  return guarded([&] {
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    p->get_output(index, data, size);
  });
}

int BMXPredFree(BMXPredictorHandle handle) {
  return guarded([&] {
    if (handle == nullptr) return;
    bmx::rt::Predictor* p = predictor(handle);
    { InUse in_use(p); }  // refuses to free a predictor that another thread is running
    delete p;
  });
}

int BMXPredClone(BMXPredictorHandle handle, BMXPredictorHandle* out) {
  return guarded([&] {
    if (out == nullptr) bmx::rt::fail("the output handle pointer is null.");
    *out = nullptr;
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    *out = p->clone().release();
  });
}

int BMXPredSetNumThreads(BMXPredictorHandle handle, int n) {
  return guarded([&] {
    if (n < 1) bmx::rt::fail("the thread count must be at least 1, got " + std::to_string(n) + ".");
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    p->set_threads(n);
  });
}

int BMXPredGetPlan(BMXPredictorHandle handle, const char** json) {
  return guarded([&] {
    if (json == nullptr) bmx::rt::fail("the json pointer is null.");
    bmx::rt::Predictor* p = predictor(handle);
    InUse in_use(p);
    *json = p->plan_json().c_str();
  });
}

int BMXSetMemoryLimit(uint64_t bytes) {
  return guarded([&] { bmx::rt::set_memory_limit(bytes); });
}

int BMXSymbolInputShape(const char* symbol_json_str, uint32_t* shape_data, uint32_t capacity,
                        uint32_t* shape_ndim) {
  return guarded([&] {
    if (symbol_json_str == nullptr) bmx::rt::fail("the symbol JSON is a null pointer.");
    if (shape_ndim == nullptr) bmx::rt::fail("shape_ndim must not be null.");
    const std::vector<uint32_t> shape = bmx::rt::recorded_input_shape(symbol_json_str);
    if (shape.size() > capacity || (!shape.empty() && shape_data == nullptr)) {
      bmx::rt::fail("the recorded input shape has " + std::to_string(shape.size()) +
                    " dimensions, more than shape_data holds (" + std::to_string(capacity) + ").");
    }
    std::copy(shape.begin(), shape.end(), shape_data);
    *shape_ndim = static_cast<uint32_t>(shape.size());
  });
}

int BMXInputFormat(const void* bytes, uint64_t size, const char** format, int* needs_decoding) {
  return guarded([&] {
    if ((bytes == nullptr && size > 0) || format == nullptr) {
      bmx::rt::fail("bytes and format must not be null.");
    }
    const bmx::rt::InputFormat f =
        bmx::rt::input_format(static_cast<const uint8_t*>(bytes), static_cast<size_t>(size));
    *format = bmx::rt::input_format_name(f);
    if (needs_decoding != nullptr) *needs_decoding = bmx::rt::is_compressed_image(f) ? 1 : 0;
  });
}

int BMXInputFromFile(const char* name, const void* bytes, uint64_t size,
                     const uint32_t* model_shape, uint32_t model_ndim, const float* mean,
                     uint32_t num_mean, const float* std, uint32_t num_std, BMXInputHandle* out) {
  return guarded([&] {
    InputArgs args = input_args(name, model_shape, model_ndim, mean, num_mean, std, num_std, out);
    if (bytes == nullptr && size > 0) bmx::rt::fail("bytes must not be null.");
    *out = new bmx::rt::InputTensor(bmx::rt::input_from_file(
        args.name, static_cast<const uint8_t*>(bytes), static_cast<size_t>(size),
        args.model_shape, args.normalization));
  });
}

int BMXInputFromPixels(const char* name, const uint8_t* pixels, uint32_t height, uint32_t width,
                       uint32_t channels, const uint32_t* model_shape, uint32_t model_ndim,
                       const float* mean, uint32_t num_mean, const float* std, uint32_t num_std,
                       BMXInputHandle* out) {
  return guarded([&] {
    InputArgs args = input_args(name, model_shape, model_ndim, mean, num_mean, std, num_std, out);
    if (pixels == nullptr) bmx::rt::fail("pixels must not be null.");
    *out = new bmx::rt::InputTensor(bmx::rt::input_from_pixels(
        args.name, pixels, height, width, channels, args.model_shape, args.normalization));
  });
}

int BMXInputGetShape(BMXInputHandle handle, const uint32_t** shape_data, uint32_t* shape_ndim) {
  return guarded([&] {
    if (shape_data == nullptr || shape_ndim == nullptr) {
      bmx::rt::fail("shape_data and shape_ndim must not be null.");
    }
    const bmx::rt::InputTensor* t = input_tensor(handle);
    *shape_data = t->shape.data();
    *shape_ndim = static_cast<uint32_t>(t->shape.size());
  });
}

int BMXInputGetData(BMXInputHandle handle, const float** data, uint32_t* size) {
  return guarded([&] {
    if (data == nullptr || size == nullptr) bmx::rt::fail("data and size must not be null.");
    const bmx::rt::InputTensor* t = input_tensor(handle);
    *data = t->values.data();
    *size = static_cast<uint32_t>(t->values.size());
  });
}

int BMXInputFree(BMXInputHandle handle) {
  return guarded([&] { delete static_cast<bmx::rt::InputTensor*>(handle); });
}

}  // extern "C"

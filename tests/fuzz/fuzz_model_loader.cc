// libFuzzer target over the runtime's model loader: BMXPredCreate on fuzzed symbol JSON and
// .params bytes, then (when creation succeeds) BMXPredForward and the outputs, and BMXPredFree.
//
// Input layout (tests/fuzz/model_input.h):
//   bytes 0-3   symbol JSON length L, little-endian (clamped to what follows)
//   bytes 4-7   input shape N, C, H, W: N = 1 + b4 % 2, C = 1 + b5 % 16, H = 1 + b6 % 32,
//               W = 1 + b7 % 32 (small, so that a valid model runs in microseconds)
//   8 .. 8+L    the symbol JSON
//   the rest    the .params bytes
//
// Mutation (structure_mutator.h): most calls change the symbol JSON's structure (nodes dropped,
// duplicated or reordered, input indices and attribute types wrong, huge numbers, deep nesting,
// other op names), the .params bytes or the shape; the rest are libFuzzer's byte mutations.
//
// Besides the sanitizers' findings, a failed call that leaves BMXGetLastError() empty is a
// finding (the API promises one sentence for every failure), and so is a successful
// BMXPredCreate whose forward pass or outputs then fail.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bmx_predict.h"
#include "model_input.h"
#include "structure_mutator.h"

namespace {

void require_error_message(const char* call) {
  const char* err = BMXGetLastError();
  if (err == nullptr || err[0] == '\0') {
    std::fprintf(stderr, "%s returned -1 with an empty BMXGetLastError()\n", call);
    std::abort();
  }
}

void require_ok(int rc, const char* call) {
  if (rc != 0) {
    std::fprintf(stderr, "%s failed on a model that BMXPredCreate accepted: %s\n", call,
                 BMXGetLastError());
    std::abort();
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  // BMXNET_FUZZ_BYTES_ONLY=1: libFuzzer's byte mutations alone (to compare the two modes).
  static const bool bytes_only = std::getenv("BMXNET_FUZZ_BYTES_ONLY") != nullptr;
  if (bytes_only) return LLVMFuzzerMutate(data, size, max_size);
  return bmx_fuzz::StructureMutator(seed).mutate(data, size, max_size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // BMXNET_FUZZ_VERBOSE=1: say why an input was refused, or that it ran (to check seeds).
  static const bool verbose = std::getenv("BMXNET_FUZZ_VERBOSE") != nullptr;
  bmx_fuzz::ModelInput in;
  if (!bmx_fuzz::split_model_input(data, size, &in)) return 0;

  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, 4};
  BMXPredictorHandle h = nullptr;
  if (BMXPredCreate(in.symbol_json.c_str(), in.params.data(), static_cast<int>(in.params.size()),
                    /*dev_type=*/1, /*dev_id=*/0, 1, keys, indptr, in.shape, &h) != 0) {
    require_error_message("BMXPredCreate");
    if (verbose) std::fprintf(stderr, "BMXPredCreate: %s\n", BMXGetLastError());
    if (h != nullptr) {
      std::fprintf(stderr, "BMXPredCreate failed but set a handle\n");
      std::abort();
    }
    return 0;
  }
  require_ok(BMXPredSetNumThreads(h, 1), "BMXPredSetNumThreads");

  size_t count = 1;
  for (uint32_t d : in.shape) count *= d;
  std::vector<float> input(count);
  for (size_t i = 0; i < count; ++i) input[i] = static_cast<float>((i * 37) % 17) - 8.0f;
  require_ok(BMXPredSetInput(h, "data", input.data(), static_cast<uint32_t>(count)),
             "BMXPredSetInput");
  require_ok(BMXPredForward(h), "BMXPredForward");

  uint32_t* shape = nullptr;
  uint32_t ndim = 0;
  uint32_t index = 0;
  for (; BMXPredGetOutputShape(h, index, &shape, &ndim) == 0; ++index) {
    size_t n = 1;
    for (uint32_t d = 0; d < ndim; ++d) n *= shape[d];
    if (n > (size_t{1} << 28)) {
      std::fprintf(stderr, "output %u has %zu elements\n", index, n);
      std::abort();
    }
    std::vector<float> out(n);
    require_ok(BMXPredGetOutput(h, index, out.data(), static_cast<uint32_t>(n)),
               "BMXPredGetOutput");
  }
  require_error_message("BMXPredGetOutputShape past the last output");
  if (verbose) std::fprintf(stderr, "ran: %u outputs\n", index);
  require_ok(BMXPredFree(h), "BMXPredFree");
  return 0;
}

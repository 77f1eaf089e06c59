// Repacked-weight cache of the stateful binary ops (DESIGN.md section 4): packed weights reach
// the op as an input on every call; MXTensor::verID changes only when the tensor's data
// changes, so the kernel layout is rebuilt only when the pointer, verID, shape or a sampled
// fingerprint of the words differs from the last call. No data loops beyond the fingerprint.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "../kernels/fast_kernels.h"
#include "mxnet/lib_api.h"
#include "op_common.h"

namespace bmx {

// Number of weight repacks since the library was loaded (exported for tests as
// bmxnet_weight_repacks()).
std::atomic<int64_t>& weight_repack_counter();

class WeightCache {
 public:
  // Returns the packed weights for `w`, calling pack() to rebuild them when `w` changed.
  template <typename Pack>
  const PackedWeights& get(const mxnet::ext::MXTensor& w, Isa isa, Pack&& pack) {
    const uint64_t fp = fingerprint(w);
    if (packed_.empty() || w.data_ptr != ptr_ || w.verID != ver_ || w.shape != shape_ ||
        fp != fingerprint_ || isa != packed_.isa()) {
      packed_ = pack();
      ptr_ = w.data_ptr, ver_ = w.verID, shape_ = w.shape, fingerprint_ = fp;
      weight_repack_counter().fetch_add(1, std::memory_order_relaxed);
    }
    return packed_;
  }

 private:
  // 64 words spread over the tensor (guards against a new array at a freed array's address).
  static uint64_t fingerprint(const mxnet::ext::MXTensor& w) {
    const int64_t n = w.size();
    const uint32_t* d = static_cast<const uint32_t*>(w.data_ptr);
    uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(n);
    const int64_t samples = n < 64 ? n : 64;
    for (int64_t i = 0; i < samples; ++i) {
      const int64_t at = samples == n ? i : (i * (n - 1)) / (samples - 1);
      h = (h ^ d[at]) * 1099511628211ull;
    }
    return h;
  }

  PackedWeights packed_;
  const void* ptr_ = nullptr;
  size_t ver_ = 0;
  std::vector<int64_t> shape_;
  uint64_t fingerprint_ = 0;
};

// What the stateful binary ops share: their parsed attributes, the instruction set chosen at
// creation, the repacked-weight cache, the kernel workspace, and no gradient. A subclass adds
// Forward.
template <typename Params, const char* const* Op>
class BinaryOpState : public mxnet::ext::CustomStatefulOp {
 public:
  explicit BinaryOpState(const Params& p) : params_(p), isa_(default_isa()) {}

  MXReturnValue Backward(std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                         const OpResource& res) override {
    return inference_only_backward<Op>(AttrMap(), in, out, res);
  }

 protected:
  Params params_;
  Isa isa_;
  std::mutex mutex_;
  WeightCache cache_;
  Workspace workspace_;
};

// The createOpState callback of an op whose state is `State`, built from parse(attrs).
template <typename State, auto Parse>
MXReturnValue create_state(const AttrMap& attrs, const mxnet::ext::MXContext&,
                           const std::vector<std::vector<unsigned int>>&, const std::vector<int>,
                           mxnet::ext::CustomStatefulOp** op) {
  return guarded([&] { *op = mxnet::ext::CustomStatefulOp::create<State>(Parse(attrs)); });
}

}  // namespace bmx

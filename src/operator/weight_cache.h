// Repacked-weight caches of the stateful binary ops (DESIGN.md section 4): packed weights reach
// the op as an input on every call; MXTensor::verID changes only when the tensor's data
// changes, so the kernel layout is rebuilt only when the pointer, verID, shape or a sampled
// fingerprint of the words differs from a packing kept by this op state or, across op states
// (imperative calls, graphs without static_alloc), by the process-wide cache. No data loops
// beyond the fingerprint.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "../kernels/fast_kernels.h"
#include "mxnet/lib_api.h"
#include "op_common.h"

namespace bmx {

// Number of weight repacks since the library was loaded (exported for tests as
// bmxnet_weight_repacks()).
std::atomic<int64_t>& weight_repack_counter();

// What pack_weights() is given besides the words: the packed layout depends on nothing else.
// source_layout names the layout the tensor holds: 0 ours (bitpack.h), else one that the
// caller of WeightCache::get rewrites into ours first (BMXNet v2's, v2_inference_ops.cc).
struct PackSpec {
  int64_t out_channels = 0, groups = 1, taps = 1, bits = 0;
  int source_layout = 0;
  bool operator==(const PackSpec& o) const {
    return out_channels == o.out_channels && groups == o.groups && taps == o.taps &&
           bits == o.bits && source_layout == o.source_layout;
  }
};

// Identifies one weight tensor's contents: where it is, its version (MXTensor::verID changes
// when the data are written), its shape, 64 words sampled over it (guards against a new array
// at a freed array's address with the same version), and how it is packed.
struct WeightKey {
  const void* ptr = nullptr;
  size_t version = 0;
  std::vector<int64_t> shape;
  uint64_t fingerprint = 0;
  Isa isa = Isa::kRef;
  PackSpec spec;
  bool operator==(const WeightKey& o) const {
    return ptr == o.ptr && version == o.version && shape == o.shape &&
           fingerprint == o.fingerprint && isa == o.isa && spec == o.spec;
  }
};

// The process-wide cache of repacked weights, shared by every op state (weight_cache.cc).
// MXNet creates a new op state for every imperative call (mx.nd.bmx_binary_dense(...)) and for
// every call of a graph not hybridized with static_alloc, so a state's own cache would repack
// on each of them; this one keeps the most recently used packings, at most capacity() bytes
// (BMXNET_WEIGHT_CACHE_MB, default 256; 0 turns it off). Thread-safe.
class SharedWeightCache {
 public:
  static SharedWeightCache& instance();
  std::shared_ptr<const PackedWeights> find(const WeightKey& key);
  // Keeps `packed` (unless it alone exceeds the capacity), evicting the least recently used.
  void insert(const WeightKey& key, std::shared_ptr<const PackedWeights> packed);
  void set_capacity(size_t bytes);  // evicts down to it
  size_t capacity() const;
  size_t bytes() const;
  size_t entries() const;
  void clear();

 private:
  SharedWeightCache();
  void evict_to(size_t bytes);  // with mutex_ held
  struct Entry {
    WeightKey key;
    std::shared_ptr<const PackedWeights> packed;
    size_t bytes;
  };
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  size_t bytes_ = 0, capacity_ = 0;
};

class WeightCache {
 public:
  // The packed weights for `w`: this state's last packing while `w` is unchanged, else the
  // process-wide cache's, else a new packing (counted in weight_repack_counter()).
  const PackedWeights& get(const mxnet::ext::MXTensor& w, Isa isa, const PackSpec& spec) {
    return get(w, isa, spec, [&] { return static_cast<const uint32_t*>(w.data_ptr); });
  }

  // The same for a tensor in another layout (spec.source_layout): `our_words()` returns its
  // words rewritten into ours, valid until get returns; it is called only to pack anew.
  template <class OurWords>
  const PackedWeights& get(const mxnet::ext::MXTensor& w, Isa isa, const PackSpec& spec,
                           OurWords&& our_words) {
    WeightKey key{w.data_ptr, w.verID, w.shape, fingerprint(w), isa, spec};
    if (packed_ && key == key_) return *packed_;
    SharedWeightCache& shared = SharedWeightCache::instance();
    std::shared_ptr<const PackedWeights> packed = shared.find(key);
    if (!packed) {
      packed = std::make_shared<const PackedWeights>(
          pack_weights(isa, spec.out_channels, spec.groups, spec.taps, spec.bits, our_words()));
      weight_repack_counter().fetch_add(1, std::memory_order_relaxed);
      shared.insert(key, packed);
    }
    packed_ = std::move(packed);
    key_ = std::move(key);
    return *packed_;
  }

 private:
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

  std::shared_ptr<const PackedWeights> packed_;
  WeightKey key_;
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

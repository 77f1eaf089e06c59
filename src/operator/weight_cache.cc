// The process-wide repacked-weight cache (weight_cache.h): a list in least-recently-used
// order, bounded in bytes, and its C entry points for tests (ctypes).
#include "weight_cache.h"

#include <cstdlib>

namespace bmx {

namespace {
constexpr size_t kDefaultCapacityMiB = 256;

size_t capacity_from_environment() {
  const char* text = std::getenv("BMXNET_WEIGHT_CACHE_MB");
  if (text == nullptr || *text == '\0') return kDefaultCapacityMiB << 20;
  char* end = nullptr;
  const double mib = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(mib >= 0)) return kDefaultCapacityMiB << 20;
  return static_cast<size_t>(mib * 1048576.0);
}
}  // namespace

SharedWeightCache::SharedWeightCache() : capacity_(capacity_from_environment()) {}

SharedWeightCache& SharedWeightCache::instance() {
  static SharedWeightCache* cache = new SharedWeightCache();  // never destroyed: ops may run
  return *cache;                                              // during static destruction
}

std::shared_ptr<const PackedWeights> SharedWeightCache::find(const WeightKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (it->key == key) {
      lru_.splice(lru_.begin(), lru_, it);
      return lru_.front().packed;
    }
  }
  return nullptr;
}

void SharedWeightCache::insert(const WeightKey& key, std::shared_ptr<const PackedWeights> packed) {
  const size_t size = packed->bytes() + sizeof(Entry);
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (it->key == key) {  // packed twice concurrently: keep one
      bytes_ -= it->bytes;
      lru_.erase(it);
      break;
    }
  }
  if (size > capacity_) return;
  evict_to(capacity_ - size);
  lru_.push_front(Entry{key, std::move(packed), size});
  bytes_ += size;
}

void SharedWeightCache::evict_to(size_t bytes) {
  while (bytes_ > bytes && !lru_.empty()) {
    bytes_ -= lru_.back().bytes;
    lru_.pop_back();
  }
}

void SharedWeightCache::set_capacity(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  capacity_ = bytes;
  evict_to(capacity_);
}

size_t SharedWeightCache::capacity() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return capacity_;
}

size_t SharedWeightCache::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

size_t SharedWeightCache::entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

void SharedWeightCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  lru_.clear();
  bytes_ = 0;
}

}  // namespace bmx

extern "C" {

// Bytes and entries held by the process-wide cache of repacked weights, its capacity, and
// setting it (bytes; evicts down to it) or emptying it.
__attribute__((visibility("default"))) int64_t bmxnet_weight_cache_bytes() {
  return static_cast<int64_t>(bmx::SharedWeightCache::instance().bytes());
}

__attribute__((visibility("default"))) int64_t bmxnet_weight_cache_entries() {
  return static_cast<int64_t>(bmx::SharedWeightCache::instance().entries());
}

__attribute__((visibility("default"))) int64_t bmxnet_weight_cache_capacity() {
  return static_cast<int64_t>(bmx::SharedWeightCache::instance().capacity());
}

__attribute__((visibility("default"))) void bmxnet_set_weight_cache_capacity(int64_t bytes) {
  bmx::SharedWeightCache::instance().set_capacity(bytes < 0 ? 0 : static_cast<size_t>(bytes));
}

__attribute__((visibility("default"))) void bmxnet_clear_weight_cache() {
  bmx::SharedWeightCache::instance().clear();
}

}  // extern "C"

#include "memory_limit.h"

#include <atomic>
#include <cstdlib>

#include "error.h"

namespace bmx {
namespace rt {
namespace {

std::atomic<uint64_t> set_limit{0};  // 0: none set through the API

// $BMXNET_MEMORY_LIMIT as bytes, 0 when unset or empty.
uint64_t env_limit() {
  const char* env = std::getenv("BMXNET_MEMORY_LIMIT");
  if (env == nullptr || *env == '\0') return 0;
  const std::string text = env;
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > (UINT64_MAX - 9) / 10) i = text.size() + 1;  // overflow: refused below
    else value = value * 10 + static_cast<uint64_t>(text[i] - '0');
  }
  int shift = 0;
  if (i + 1 == text.size()) {
    const char unit = text[i];
    shift = unit == 'K' || unit == 'k' ? 10 : unit == 'M' || unit == 'm' ? 20
          : unit == 'G' || unit == 'g' ? 30 : -1;
    i += shift >= 0;
  }
  if (i != text.size() || value == 0 || (shift > 0 && value > (UINT64_MAX >> shift))) {
    fail("BMXNET_MEMORY_LIMIT is '" + text + "', not a positive byte count (such as 2147483648 or "
         "2G).");
  }
  return value << shift;
}

}  // namespace

uint64_t memory_limit() {
  const uint64_t set = set_limit.load(std::memory_order_relaxed);
  if (set > 0) return set;
  const uint64_t env = env_limit();
  return env > 0 ? env : kDefaultMemoryLimit;
}

void set_memory_limit(uint64_t bytes) { set_limit.store(bytes, std::memory_order_relaxed); }

void check_memory_limit(uint64_t bytes, const std::string& what) {
  const uint64_t limit = memory_limit();
  if (bytes <= limit) return;
  fail(what + " needs " + std::to_string(bytes) + " bytes, more than the memory limit of " +
       std::to_string(limit) + " bytes (BMXNET_MEMORY_LIMIT or BMXSetMemoryLimit raise it).");
}

}  // namespace rt
}  // namespace bmx

// The most memory one predictor may plan for: its activation arena and the buffers its ops
// allocate beside it (Op::prepared_bytes). A plan over the limit is refused before any of it
// is allocated, so that a model given an absurd input shape fails with a sentence instead of
// taking the machine's (or the browser tab's) memory. The weights are not counted: they are
// bounded by the .params file the caller already holds.
#pragma once

#include <cstdint>
#include <string>

namespace bmx {
namespace rt {

// 4 GiB natively; 1 GiB in WebAssembly, whose 32-bit memory holds at most 4 GiB and which a
// browser tab rarely gets.
#if defined(__EMSCRIPTEN__)
constexpr uint64_t kDefaultMemoryLimit = uint64_t{1} << 30;
#else
constexpr uint64_t kDefaultMemoryLimit = uint64_t{4} << 30;
#endif

// The limit in bytes: the one given to set_memory_limit (BMXSetMemoryLimit), else
// $BMXNET_MEMORY_LIMIT (a byte count, optionally with a K, M or G suffix for KiB, MiB, GiB),
// else kDefaultMemoryLimit. Throws Error when BMXNET_MEMORY_LIMIT is not such a count.
uint64_t memory_limit();
// bytes > 0 sets the process-wide limit; 0 goes back to $BMXNET_MEMORY_LIMIT or the default.
void set_memory_limit(uint64_t bytes);
// Throws Error naming `bytes`, the limit and `what` when bytes is over the limit.
void check_memory_limit(uint64_t bytes, const std::string& what);

}  // namespace rt
}  // namespace bmx

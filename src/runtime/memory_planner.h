// The arena's memory plan: buffers, each with its size and the steps it lives through, in;
// byte offsets in one arena out, such that two buffers live at a common step never overlap.
// It knows nothing of graphs: the planner (plan_memory.cc) turns values into buffers.
#pragma once

#include <cstddef>
#include <vector>

namespace bmx {
namespace rt {

class MemoryPlanner {
 public:
  // A buffer of `bytes` live from step first_use through step last_use (inclusive); returns
  // its index, the order of the offsets that plan() gives.
  int add_buffer(size_t bytes, int first_use, int last_use);

  struct Layout {
    std::vector<size_t> offsets;  // per buffer, in the order added
    size_t total = 0;             // the arena: the largest offset + bytes
  };
  // The smallest of a few greedy layouts: each buffer at the lowest offset free over its
  // lifetime, the buffers taken largest first, earliest first or longest lived first; and
  // slots reused in order of first use (a buffer takes a slot whose buffers are all dead, the
  // smallest that fits, else the largest, grown; slots end to end). Offsets are sums of sizes:
  // sizes that are multiples of an alignment give aligned offsets.
  Layout plan() const;

  // The most bytes live at one step: no layout is smaller.
  size_t live_bytes_bound() const;
  size_t size() const { return buffers_.size(); }

 private:
  struct Buffer {
    size_t bytes;
    int first, last;
  };
  // First fit in this order of buffers.
  Layout place(const std::vector<int>& order) const;
  // Slots reused in order of first use.
  Layout reuse_slots() const;
  std::vector<Buffer> buffers_;
};

}  // namespace rt
}  // namespace bmx

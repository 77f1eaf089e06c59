#include "memory_planner.h"

#include <algorithm>
#include <numeric>

#include "error.h"

namespace bmx {
namespace rt {

int MemoryPlanner::add_buffer(size_t bytes, int first_use, int last_use) {
  if (last_use < first_use) fail("internal error: a buffer is last used before it is first used.");
  buffers_.push_back({bytes, first_use, last_use});
  return static_cast<int>(buffers_.size()) - 1;
}

MemoryPlanner::Layout MemoryPlanner::place(const std::vector<int>& order) const {
  Layout layout;
  layout.offsets.assign(buffers_.size(), 0);
  std::vector<int> placed;
  std::vector<int> conflicts;
  for (int b : order) {
    const Buffer& buf = buffers_[b];
    conflicts.clear();
    for (int p : placed) {
      if (buffers_[p].first <= buf.last && buf.first <= buffers_[p].last) conflicts.push_back(p);
    }
    std::sort(conflicts.begin(), conflicts.end(), [&](int x, int y) {
      return layout.offsets[x] < layout.offsets[y];
    });
    size_t offset = 0;
    for (int c : conflicts) {
      if (offset + buf.bytes <= layout.offsets[c]) break;  // fits in the gap below c
      offset = std::max(offset, layout.offsets[c] + buffers_[c].bytes);
    }
    layout.offsets[b] = offset;
    layout.total = std::max(layout.total, offset + buf.bytes);
    placed.push_back(b);
  }
  return layout;
}

MemoryPlanner::Layout MemoryPlanner::reuse_slots() const {
  std::vector<int> order(buffers_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return buffers_[a].first < buffers_[b].first; });
  std::vector<size_t> slot_bytes;
  std::vector<int> slot_last;  // the last step of the slot's latest buffer
  std::vector<int> slot_of(buffers_.size(), -1);
  std::vector<int> busy, idle;  // slots; idle in the order they were freed
  for (int b : order) {
    const Buffer& buf = buffers_[b];
    // Free the slots whose buffer died before b starts: earliest death first, then first made.
    std::sort(busy.begin(), busy.end(), [&](int x, int y) {
      return slot_last[x] != slot_last[y] ? slot_last[x] < slot_last[y] : x < y;
    });
    size_t dead = 0;
    while (dead < busy.size() && slot_last[busy[dead]] < buf.first) idle.push_back(busy[dead++]);
    busy.erase(busy.begin(), busy.begin() + static_cast<std::ptrdiff_t>(dead));
    int best = -1;  // the smallest idle slot that fits, else the largest
    for (int k : idle) {
      if (best < 0) { best = k; continue; }
      const bool fits = slot_bytes[k] >= buf.bytes, best_fits = slot_bytes[best] >= buf.bytes;
      if (fits && (!best_fits || slot_bytes[k] < slot_bytes[best])) best = k;
      if (!fits && !best_fits && slot_bytes[k] > slot_bytes[best]) best = k;
    }
    if (best < 0) {
      best = static_cast<int>(slot_bytes.size());
      slot_bytes.push_back(buf.bytes);
      slot_last.push_back(buf.last);
    } else {
      idle.erase(std::find(idle.begin(), idle.end(), best));
      slot_bytes[best] = std::max(slot_bytes[best], buf.bytes);
      slot_last[best] = buf.last;
    }
    busy.push_back(best);
    slot_of[b] = best;
  }
  std::vector<size_t> slot_offset(slot_bytes.size(), 0);
  Layout layout;
  for (size_t k = 0; k < slot_bytes.size(); ++k) {
    slot_offset[k] = layout.total;
    layout.total += slot_bytes[k];
  }
  for (size_t b = 0; b < buffers_.size(); ++b) layout.offsets.push_back(slot_offset[slot_of[b]]);
  return layout;
}

MemoryPlanner::Layout MemoryPlanner::plan() const {
  std::vector<int> order(buffers_.size());
  const std::vector<bool (*)(const Buffer&, const Buffer&)> rules = {
      [](const Buffer& a, const Buffer& b) { return a.bytes > b.bytes; },
      [](const Buffer& a, const Buffer& b) { return a.first < b.first; },
      [](const Buffer& a, const Buffer& b) { return a.last - a.first > b.last - b.first; },
  };
  Layout best;
  for (size_t r = 0; r < rules.size(); ++r) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return rules[r](buffers_[a], buffers_[b]); });
    Layout layout = place(order);
    if (r == 0 || layout.total < best.total) best = std::move(layout);
  }
  Layout slots = reuse_slots();
  if (slots.total < best.total) best = std::move(slots);
  return best;
}

size_t MemoryPlanner::live_bytes_bound() const {
  // The bytes live only grow at a step where a buffer starts.
  size_t most = 0;
  for (const Buffer& b : buffers_) {
    size_t sum = 0;
    for (const Buffer& other : buffers_) {
      if (other.first <= b.first && b.first <= other.last) sum += other.bytes;
    }
    most = std::max(most, sum);
  }
  return most;
}

}  // namespace rt
}  // namespace bmx

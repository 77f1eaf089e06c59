// The memory planner (src/runtime/memory_planner.h) on its own: lifetimes in, offsets out. On
// hand-made cases with a known best arena, and on random small lifetime sets: no two buffers
// live at a common step overlap, the arena is never below the most bytes live at one step, and
// it is compared with the best possible arena, found by brute force (first fit in every order
// of the buffers: compacting any layout downwards, lowest offset first, is such a first fit and
// never grows it, so the best of all orders is the best arena).
#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "check.h"
#include "memory_planner.h"

namespace {

using bmx::rt::MemoryPlanner;

struct Buffer {
  size_t bytes;
  int first, last;
};

bool live_together(const Buffer& a, const Buffer& b) { return a.first <= b.last && b.first <= a.last; }

MemoryPlanner planner_of(const std::vector<Buffer>& buffers) {
  MemoryPlanner planner;
  for (const Buffer& b : buffers) planner.add_buffer(b.bytes, b.first, b.last);
  return planner;
}

// Empty when the layout is sound, else what is wrong.
std::string problem(const std::vector<Buffer>& buffers, const MemoryPlanner::Layout& layout) {
  if (layout.offsets.size() != buffers.size()) return "one offset per buffer";
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (layout.offsets[i] % 64 != 0) return "an offset is not 64-byte aligned";
    if (layout.offsets[i] + buffers[i].bytes > layout.total) return "a buffer ends past the arena";
    for (size_t j = 0; j < i; ++j) {
      const bool apart = layout.offsets[i] + buffers[i].bytes <= layout.offsets[j] ||
                         layout.offsets[j] + buffers[j].bytes <= layout.offsets[i];
      if (live_together(buffers[i], buffers[j]) && !apart) {
        return "buffers " + std::to_string(j) + " and " + std::to_string(i) + " overlap while both live";
      }
    }
  }
  return "";
}

// The best arena: first fit in every order.
size_t best_arena(const std::vector<Buffer>& buffers) {
  std::vector<int> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  size_t best = SIZE_MAX;
  do {
    std::vector<size_t> offset(buffers.size());
    std::vector<int> placed;
    size_t total = 0;
    for (int b : order) {
      std::vector<int> below;
      for (int p : placed) {
        if (live_together(buffers[p], buffers[b])) below.push_back(p);
      }
      std::sort(below.begin(), below.end(), [&](int x, int y) { return offset[x] < offset[y]; });
      size_t at = 0;
      for (int p : below) {
        if (at + buffers[b].bytes <= offset[p]) break;
        at = std::max(at, offset[p] + buffers[p].bytes);
      }
      offset[b] = at;
      total = std::max(total, at + buffers[b].bytes);
      placed.push_back(b);
    }
    best = std::min(best, total);
  } while (std::next_permutation(order.begin(), order.end()));
  return buffers.empty() ? 0 : best;
}

void check_case(const char* what, const std::vector<Buffer>& buffers, size_t expected) {
  const MemoryPlanner::Layout layout = planner_of(buffers).plan();
  const std::string p = problem(buffers, layout);
  CHECK(p.empty(), "%s: %s", what, p.c_str());
  CHECK(layout.total == expected, "%s: arena %zu bytes, expected %zu", what, layout.total, expected);
  CHECK(best_arena(buffers) == expected, "%s: brute force finds %zu, expected %zu", what,
        best_arena(buffers), expected);
}

void hand_made_cases() {
  check_case("no buffers", {}, 0);
  check_case("one buffer", {{640, 0, 3}}, 640);
  // A chain: each buffer read by the next step only; two alternate.
  check_case("chain", {{256, 0, 1}, {256, 1, 2}, {256, 2, 3}, {256, 3, 4}}, 512);
  check_case("all live at once", {{64, 0, 5}, {128, 1, 4}, {192, 2, 3}}, 384);
  check_case("never together", {{64, 0, 0}, {512, 1, 1}, {128, 2, 2}}, 512);
  // A small buffer that outlives two large ones must not sit between them: largest first.
  check_case("small long-lived", {{64, 0, 3}, {512, 0, 1}, {512, 2, 3}}, 576);
  // A residual block: the block input lives until the add; the add's output reuses memory.
  check_case("residual", {{256, 0, 2}, {256, 1, 1}, {256, 2, 2}, {256, 3, 4}}, 512);
  // Growing then shrinking activations, as a network's stages: the best is the largest pair.
  check_case("stages", {{1024, 0, 1}, {512, 1, 2}, {256, 2, 3}, {128, 3, 4}}, 1536);
}

void random_sets() {
  std::mt19937 rng(20261208);
  int sets = 0, best = 0;
  double worst_ratio = 1.0;
  for (int n = 1; n <= 7; ++n) {
    for (int trial = 0; trial < 60; ++trial) {
      std::vector<Buffer> buffers;
      const int steps = 2 + static_cast<int>(rng() % 9);
      for (int i = 0; i < n; ++i) {
        const int a = static_cast<int>(rng() % steps), b = static_cast<int>(rng() % steps);
        buffers.push_back({64 * (1 + rng() % 12), std::min(a, b), std::max(a, b)});
      }
      const MemoryPlanner planner = planner_of(buffers);
      const MemoryPlanner::Layout layout = planner.plan();
      const std::string p = problem(buffers, layout);
      CHECK(p.empty(), "random set %d (%d buffers): %s", sets, n, p.c_str());
      const size_t optimum = best_arena(buffers);
      CHECK(layout.total >= planner.live_bytes_bound() && optimum >= planner.live_bytes_bound(),
            "random set %d: arena %zu and best %zu, yet %zu bytes live at one step", sets,
            layout.total, optimum, planner.live_bytes_bound());
      CHECK(layout.total >= optimum, "random set %d: arena %zu below the brute-force best %zu",
            sets, layout.total, optimum);
      const double ratio = static_cast<double>(layout.total) / static_cast<double>(optimum);
      // Greedy layouts miss the best on a few sets (one here needs 576 bytes where 448 do).
      CHECK(ratio <= 4.0 / 3.0, "random set %d (%d buffers): arena %zu, the best is %zu", sets, n,
            layout.total, optimum);
      worst_ratio = std::max(worst_ratio, ratio);
      best += layout.total == optimum;
      ++sets;
    }
  }
  // The planner finds the best arena for nearly every small set.
  CHECK(best >= sets * 95 / 100, "best arena in %d of %d random sets", best, sets);
  std::printf("  random lifetime sets: best arena in %d of %d, worst %.3f x the best\n", best,
              sets, worst_ratio);
}

void refuses_a_reversed_lifetime() {
  MemoryPlanner planner;
  bool refused = false;
  try {
    planner.add_buffer(64, 3, 2);
  } catch (const std::exception&) {
    refused = true;
  }
  CHECK(refused, "a buffer last used before its first use is refused");
}

}  // namespace

int main() {
  hand_made_cases();
  random_sets();
  refuses_a_reversed_lifetime();
  return check_counts::summary("test_runtime_memory_planner");
}

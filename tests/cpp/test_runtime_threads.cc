// Predictors and threads: clones of one predictor on separate threads give, bit for bit, the
// outputs of a single-threaded run; calls that overlap on one handle fail with a sentence
// instead of crashing; thread counts above the limit are clamped and start a bounded number
// of threads.
#include <atomic>
#include <chrono>
#include <climits>
#include <thread>

#include "parallel.h"
#include "predictor.h"
#include "runtime_test_util.h"
#include "small_binary_model.h"

using Vec = std::vector<float>;

namespace {

constexpr int kThreads = 4;
const std::vector<uint32_t> kShape = {1, 3, 12, 12};
const char* const kInUse =
    "this predictor is in use by another thread; use one predictor (BMXPredClone) per thread.";

using rtest::Model;

Model make_model() { return rtest::small_binary_model(); }

using rtest::predict;
using rtest::process_threads;

void test_clones(const Model& m) {
  BMXPredictorHandle src = rtest::create(m.json, m.params, kShape);
  CHECK(src != nullptr, "create: %s", BMXGetLastError());
  if (src == nullptr) return;
  std::vector<Vec> inputs, expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(rtest::random_floats(3 * 12 * 12));
    expected.push_back(predict(src, inputs.back()));
    CHECK(expected.back().size() == 10, "single-thread predict: %s", BMXGetLastError());
  }
  std::vector<BMXPredictorHandle> clones(kThreads, nullptr);
  for (auto& c : clones) CHECK(BMXPredClone(src, &c) == 0 && c != nullptr, "clone: %s", BMXGetLastError());
  if (clones[0] == nullptr) return;
  // What a clone shares: the ops without state (the binary convolution here), not the float
  // layers nor the arena.
  const auto& a = static_cast<bmx::rt::Predictor*>(src)->plan();
  const auto& b = static_cast<bmx::rt::Predictor*>(clones[0])->plan();
  int shared = 0, own = 0;
  for (size_t s = 0; s < a.steps.size() && s < b.steps.size(); ++s) {
    const bool same = a.steps[s].op == b.steps[s].op;
    CHECK(same == !a.steps[s].op->per_predictor, "step %zu (%s) shared: %d", s,
          a.steps[s].op->kernel.c_str(), same);
    (same ? shared : own) += 1;
  }
  CHECK(shared >= 1 && own >= 2, "the clone shares %d ops and owns %d", shared, own);
  // The clones share the source's stateless ops, which outlive the source.
  BMXPredFree(src);
  std::atomic<int> wrong{0}, failed_calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const int which = (t + i) % kThreads;  // each clone runs every input, in another order
        const Vec y = predict(clones[t], inputs[which]);
        if (y.empty()) ++failed_calls;
        else if (y != expected[which]) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failed_calls == 0, "%d calls on clones failed", failed_calls.load());
  CHECK(wrong == 0, "%d outputs of clones differ from the single-thread run", wrong.load());
  BMXPredictorHandle null_out = nullptr;
  CHECK(BMXPredClone(nullptr, &null_out) == -1 &&
            std::string(BMXGetLastError()) == "the predictor handle is null.",
        "clone of a null handle: %s", BMXGetLastError());
  for (auto c : clones) BMXPredFree(c);
}

// A call while another one holds the handle fails with the sentence; afterwards it works.
void test_overlap_refused(const Model& m) {
  BMXPredictorHandle h = rtest::create(m.json, m.params, kShape);
  if (h == nullptr) return;
  const Vec x = rtest::random_floats(3 * 12 * 12);
  const Vec expected = predict(h, x);
  auto* p = static_cast<bmx::rt::Predictor*>(h);
  p->in_use().store(true);  // as if another thread were inside a call
  Vec y(10);
  BMXPredictorHandle clone = nullptr;
  const char* plan = nullptr;
  const int rcs[] = {BMXPredSetInput(h, "data", x.data(), static_cast<uint32_t>(x.size())),
                     BMXPredForward(h), BMXPredGetOutput(h, 0, y.data(), 10),
                     BMXPredSetNumThreads(h, 1), BMXPredClone(h, &clone), BMXPredGetPlan(h, &plan),
                     BMXPredFree(h)};
  for (int rc : rcs) {
    CHECK(rc == -1 && std::string(BMXGetLastError()) == kInUse, "overlapping call: rc %d, %s", rc,
          BMXGetLastError());
  }
  CHECK(clone == nullptr, "a refused clone returned a handle");
  p->in_use().store(false);
  CHECK(predict(h, x) == expected, "the predictor works again once the other call is over");
  BMXPredFree(h);
}

// Threads sharing one handle against the API's rule: nothing crashes, every call either
// succeeds or fails with the sentence, and every output read is right (all use one input).
void test_shared_handle_never_crashes(const Model& m) {
  BMXPredictorHandle h = rtest::create(m.json, m.params, kShape);
  if (h == nullptr) return;
  const Vec x = rtest::random_floats(3 * 12 * 12);
  const Vec expected = predict(h, x);
  std::atomic<int> ok{0}, refused{0}, other{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        Vec y(10);
        int rc = BMXPredSetInput(h, "data", x.data(), static_cast<uint32_t>(x.size()));
        if (rc == 0) rc = BMXPredForward(h);
        if (rc == 0) rc = BMXPredGetOutput(h, 0, y.data(), 10);
        if (rc == 0) {
          ++ok;
          if (y != expected) ++wrong;
        } else if (std::string(BMXGetLastError()) == kInUse) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(other == 0, "%d calls failed with another error", other.load());
  CHECK(wrong == 0, "%d outputs were wrong", wrong.load());
  CHECK(ok > 0, "no call sequence succeeded");
  std::printf("  shared handle: %d sequences ran, %d refused\n", ok.load(), refused.load());
  BMXPredFree(h);
}

void test_thread_limit(const Model& m) {
  BMXPredictorHandle h = rtest::create(m.json, m.params, kShape);
  if (h == nullptr) return;
  const Vec x = rtest::random_floats(3 * 12 * 12);
  const Vec expected = predict(h, x);
  auto* p = static_cast<bmx::rt::Predictor*>(h);
  const int limit = bmx::max_kernel_threads();
  CHECK(limit >= 64 && limit >= static_cast<int>(std::thread::hardware_concurrency()),
        "thread limit %d", limit);
  for (int n : {0, -1, INT_MIN}) {
    CHECK(BMXPredSetNumThreads(h, n) == -1 &&
              std::string(BMXGetLastError()) ==
                  "the thread count must be at least 1, got " + std::to_string(n) + ".",
          "BMXPredSetNumThreads(%d): %s", n, BMXGetLastError());
  }
  for (int n : {INT_MAX, 100000, 100, limit + 1}) {
    const auto start = std::chrono::steady_clock::now();
    const int rc = BMXPredSetNumThreads(h, n);
    const Vec y = predict(h, x);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(rc == 0, "BMXPredSetNumThreads(%d): %s", n, BMXGetLastError());
    CHECK(p->threads() == limit, "BMXPredSetNumThreads(%d) gave %d threads, expected %d", n,
          p->threads(), limit);
    CHECK(y == expected, "the output with %d threads requested differs", n);
    CHECK(seconds < 30.0, "BMXPredSetNumThreads(%d) and a forward took %.1f s", n, seconds);
    // The pools of every count used so far (1, the default, the limit) and this thread.
    const int threads = process_threads();
    CHECK(threads > 0 && threads <= 2 * limit + 2 * static_cast<int>(std::thread::hardware_concurrency()) + 8,
          "the process has %d threads after asking for %d", threads, n);
  }
  bmx::set_kernel_threads(INT_MAX);
  CHECK(bmx::kernel_threads() == limit, "set_kernel_threads(INT_MAX) gives %d", bmx::kernel_threads());
  bmx::set_kernel_threads(0);
  BMXPredFree(h);
}

}  // namespace

int main() {
  const Model m = make_model();
  test_clones(m);
  test_overlap_refused(m);
  test_shared_handle_never_crashes(m);
  test_thread_limit(m);
  return rtest::finish("test_runtime_threads");
}

// Each predictor's own threads: made for its thread count (at most the hardware threads, the
// pool's width), separate from every other
// predictor's (predictors on separate threads with different counts give the outputs each
// gives alone), made again when its count changes, and given back to the process when it is
// freed (/proc/self/status Threads:).
#include <thread>

#include "float/float_backends.h"
#include "predictor.h"
#include "runtime_test_util.h"
#include "small_binary_model.h"

using Vec = std::vector<float>;

namespace {

const std::vector<uint32_t> kShape = {1, 3, 12, 12};

using rtest::Model;

Model make_model() { return rtest::small_binary_model(); }

BMXPredictorHandle create(const Model& m, const char* options) {
  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, 4};
  BMXPredictorHandle h = nullptr;
  const int rc = BMXPredCreateEx(m.json.c_str(), m.params.data(), static_cast<int>(m.params.size()),
                                 1, 0, 1, keys, indptr, kShape.data(), 0, nullptr, options, &h);
  CHECK(rc == 0 && h != nullptr, "create with '%s': %s", options, BMXGetLastError());
  return rc == 0 ? h : nullptr;
}

using rtest::process_threads;
using rtest::predict;

}  // namespace

int main() {
  const Model m = make_model();
  // With XNNPACK every pool is a pthreadpool of the predictor's own (workers: its width - 1);
  // without it the kernels use OpenMP's pool, whose threads the process keeps.
  const bool own_pools = bmx::rt::xnnpack_available();
  const int base = process_threads();
  const Vec x = rtest::random_floats(3 * 12 * 12);

  // Predictors with 1, 2, 3 and 4 threads, each run alone for its expected output.
  const int counts[] = {1, 2, 3, 4};
  std::vector<BMXPredictorHandle> hs;
  std::vector<Vec> alone;
  int workers = 0;
  for (int n : counts) {
    const std::string options = "threads=" + std::to_string(n);
    hs.push_back(create(m, options.c_str()));
    if (hs.back() == nullptr) return rtest::finish("test_runtime_pools");
    alone.push_back(predict(hs.back(), x));
    CHECK(alone.back().size() == 10, "predict with %d threads: %s", n, BMXGetLastError());
    workers += bmx::rt::pool_width(n) - 1;
  }
  if (own_pools) {
    CHECK(process_threads() == base + workers, "%d threads with predictors of 1-4 threads, "
          "expected %d + %d workers", process_threads(), base, workers);
  }
  // All at once, each on its own thread, many times: each gives what it gave alone.
  std::vector<int> wrong(hs.size(), 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < hs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int r = 0; r < 100; ++r) wrong[i] += predict(hs[i], x) != alone[i];
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < hs.size(); ++i) {
    CHECK(wrong[i] == 0, "predictor with %d threads: %d of 100 concurrent outputs differ",
          counts[i], wrong[i]);
  }
  // A new count makes the pool again for it; 1 gives its workers back.
  const int w4 = bmx::rt::pool_width(4) - 1, w2 = bmx::rt::pool_width(2) - 1;
  CHECK(BMXPredSetNumThreads(hs[3], 2) == 0, "set 2 threads: %s", BMXGetLastError());
  workers += w2 - w4;
  if (own_pools) {
    CHECK(process_threads() == base + workers, "%d threads after 4 -> 2 threads, expected %d",
          process_threads(), base + workers);
  }
  CHECK(predict(hs[3], x) == alone[1], "4 -> 2 threads: the output differs from 2 threads'");
  CHECK(BMXPredSetNumThreads(hs[3], 1) == 0, "set 1 thread: %s", BMXGetLastError());
  workers -= w2;
  if (own_pools) {
    CHECK(process_threads() == base + workers, "%d threads after 2 -> 1 thread, expected %d",
          process_threads(), base + workers);
  }
  // A clone has its own pool, of its source's count.
  BMXPredictorHandle clone = nullptr;
  CHECK(BMXPredClone(hs[2], &clone) == 0, "clone: %s", BMXGetLastError());
  CHECK(predict(clone, x) == alone[2], "the clone's output differs from its source's");
  if (own_pools) {
    const int expected = base + workers + bmx::rt::pool_width(3) - 1;
    CHECK(process_threads() == expected, "%d threads with a clone of a 3-thread predictor, "
          "expected %d", process_threads(), expected);
  }
  BMXPredFree(clone);
  // Freeing the predictors gives every thread back.
  for (auto h : hs) BMXPredFree(h);
  if (own_pools) {
    CHECK(process_threads() == base, "%d threads once every predictor is freed, expected %d",
          process_threads(), base);
  }
  std::printf("  threads: %d at start, %d at the end (own pools: %s)\n", base, process_threads(),
              own_pools ? "yes" : "no");
  return rtest::finish("test_runtime_pools");
}

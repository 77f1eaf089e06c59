// parallel_for: every task runs exactly once, on OpenMP / std::thread or on the runner of a
// ParallelScope (the runtime opens one with each predictor's own thread pool), and the binary
// convolution gives the same bits on either. A scope holds only on the thread that opened it.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "bconv2d.h"
#include "bitpack.h"
#include "fast_kernels.h"
#include "fast_test_util.h"
#include "parallel.h"

namespace {

std::atomic<int> runner_calls{0};
std::atomic<int> runner_threads{0};
int pool_tag = 0;  // the scope's pool pointer, which the runner must receive
std::atomic<bool> runner_got_pool{true};

// Runs the chunks on the caller's thread, last first (an order OpenMP never uses).
void reverse_runner(void* pool, int threads, int64_t chunks, void (*chunk)(void*, int64_t),
                    void* ctx) {
  if (pool != &pool_tag) runner_got_pool.store(false);
  runner_calls.fetch_add(1);
  runner_threads.store(threads);
  for (int64_t c = chunks - 1; c >= 0; --c) chunk(ctx, c);
}

void check_each_task_once(const char* what, int64_t tasks, int threads) {
  std::vector<std::atomic<int>> seen(tasks);
  for (auto& s : seen) s.store(0);
  bmx::parallel_for(tasks, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) seen[i].fetch_add(1);
  });
  int64_t wrong = 0;
  for (auto& s : seen) wrong += s.load() != 1;
  CHECK(wrong == 0, "%s: %lld of %lld tasks did not run exactly once (threads %d)", what,
        static_cast<long long>(wrong), static_cast<long long>(tasks), threads);
}

std::vector<float> conv_output(int threads) {
  bmx::BConv2DShape s;
  s.batch = 2, s.in_channels = 65, s.in_h = 9, s.in_w = 7, s.out_channels = 33;
  s.kernel_h = s.kernel_w = 3, s.pad_h = s.pad_w = 1, s.pad_value = 0;
  s.layout = bmx::Layout::kNHWC;
  std::vector<float> x(s.batch * s.in_channels * s.in_h * s.in_w);
  for (size_t i = 0; i < x.size(); ++i) x[i] = ((i * 7919) % 13) - 6.0f;
  std::vector<uint32_t> w(s.out_channels * 9 * s.words());
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint32_t>(i * 2654435761u);
  const bmx::PackedWeights pw = bmx::pack_conv_weights(bmx::default_isa(), s, w.data());
  std::vector<float> out(s.batch * s.out_channels * s.out_h() * s.out_w());
  bmx::bconv2d_fast(s, x.data(), pw, nullptr, nullptr, nullptr, out.data(), threads);
  return out;
}

}  // namespace

int main() {
  const std::vector<float> expected = conv_output(1);
  for (int64_t tasks : {1, 2, 3, 31, 32, 33, 1000}) check_each_task_once("default", tasks, 2);

  int calls = 0;
  {
    bmx::ParallelScope scope(reverse_runner, &pool_tag);
    for (int64_t tasks : {1, 2, 3, 31, 32, 33, 1000}) check_each_task_once("runner", tasks, 2);
    CHECK(runner_calls.load() > 0, "the scope's runner was never called");
    CHECK(runner_got_pool.load(), "the runner did not receive the scope's pool");
    CHECK(runner_threads.load() == 2, "the runner was asked for %d threads, not 2",
          runner_threads.load());
    CHECK(conv_output(2) == expected, "conv on the scope's runner differs from 1 thread");
    // Another thread does not see this thread's scope.
    calls = runner_calls.load();
    std::thread other([] { check_each_task_once("other thread", 1000, 2); });
    other.join();
    CHECK(runner_calls.load() == calls, "a scope reached a thread that did not open it");
    {
      bmx::ParallelScope inline_scope(nullptr, nullptr);
      check_each_task_once("nested null scope", 1000, 2);
      CHECK(runner_calls.load() == calls, "a nested null scope still used the outer runner");
    }
    check_each_task_once("outer again", 1000, 2);
    CHECK(runner_calls.load() > calls, "the outer scope was not restored after a nested one");
  }
  calls = runner_calls.load();
  check_each_task_once("default again", 1000, 2);
  CHECK(runner_calls.load() == calls, "the runner was still called after its scope ended");
  CHECK(conv_output(2) == expected, "conv on OpenMP differs from 1 thread");

  std::printf("test_parallel: %d passed, %d failed\n", test::passed, test::failed);
  return test::failed == 0 ? 0 : 1;
}

// parallel_for: every task runs exactly once, on OpenMP / std::thread or on a runner an
// embedder installs (the runtime installs XNNPACK's thread pool), and the binary convolution
// gives the same bits on either.
#include <atomic>
#include <cstdio>
#include <vector>

#include "bconv2d.h"
#include "bitpack.h"
#include "fast_kernels.h"
#include "fast_test_util.h"
#include "parallel.h"

namespace {

std::atomic<int> runner_calls{0};
std::atomic<int> runner_threads{0};

// Runs the chunks on the caller's thread, last first (an order OpenMP never uses).
void reverse_runner(int threads, int64_t chunks, void (*chunk)(void*, int64_t), void* ctx) {
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

  bmx::set_parallel_runner(reverse_runner);
  for (int64_t tasks : {1, 2, 3, 31, 32, 33, 1000}) check_each_task_once("runner", tasks, 2);
  CHECK(runner_calls.load() > 0, "the installed runner was never called");
  CHECK(runner_threads.load() == 2, "the runner was asked for %d threads, not 2",
        runner_threads.load());
  CHECK(conv_output(2) == expected, "conv on the installed runner differs from 1 thread");

  bmx::set_parallel_runner(nullptr);
  const int calls = runner_calls.load();
  check_each_task_once("default again", 1000, 2);
  CHECK(runner_calls.load() == calls, "the runner was still called after it was removed");
  CHECK(conv_output(2) == expected, "conv on OpenMP differs from 1 thread");

  std::printf("test_parallel: %d passed, %d failed\n", test::passed, test::failed);
  return test::failed == 0 ? 0 : 1;
}

// Does this VM's second CPU share a physical core with the first? Thread A (pinned to CPU a)
// runs an ALU-bound loop and measures its rate in 1 ms windows; thread B (pinned to CPU b)
// alternates 5 ms of the same loop with 5 ms of sleep. Where the two vCPUs run on separate
// cores, A's rate does not depend on B; where the host has put them on the two hardware threads
// of one core, A slows while B runs (and a 2-thread kernel gains little over 1 thread). Prints,
// per second, A's median rate with B running and with B sleeping, and their ratio.
// Usage: bmx_smt_probe [seconds] [cpu_a cpu_b]   (defaults: 20, the first two CPUs this process
// may run on)
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Eight independent add chains: bound by the integer ALUs, which SMT siblings share. The empty
// asm statements keep the compiler from folding the chains.
void burn(long n) {
  unsigned long a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8;
  for (long i = 0; i < n; ++i) {
    a += a; b += b; c += c; d += d; e += e; f += f; g += g; h += h;
    asm volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f), "+r"(g), "+r"(h));
  }
}

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

double median(std::vector<double> v) {  // v is not empty
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::atoi(argv[1]) : 20;
  if (seconds < 1) {
    std::fprintf(stderr, "bmx_smt_probe: seconds must be at least 1\n");
    return 2;
  }
  if (argc == 3 || argc > 4) {
    std::fprintf(stderr, "bmx_smt_probe: give both CPUs (cpu_a cpu_b) or neither\n");
    return 2;
  }
  std::vector<int> allowed;
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) allowed.push_back(c);
  }
  if (argc <= 3 && allowed.size() < 2) {
    std::printf("bmx_smt_probe: needs two CPUs, this process may run on %zu; nothing to measure\n",
                allowed.size());
    return 0;
  }
  const int cpu_a = argc > 3 ? std::atoi(argv[2]) : allowed[0];
  const int cpu_b = argc > 3 ? std::atoi(argv[3]) : allowed[1];
  for (const int cpu : {cpu_a, cpu_b}) {
    if (std::find(allowed.begin(), allowed.end(), cpu) == allowed.end()) {
      std::fprintf(stderr, "bmx_smt_probe: CPU %d is not one this process may run on "
                   "(see taskset -p $$)\n", cpu);
      return 2;
    }
  }
  if (cpu_a == cpu_b) {
    std::fprintf(stderr, "bmx_smt_probe: cpu_a and cpu_b must differ\n");
    return 2;
  }
  std::atomic<int> b_running{0};
  std::atomic<bool> stop{false};
  std::atomic<int> b_pinned{0};  // 1 pinned, -1 failed
  std::thread other([&] {
    b_pinned.store(pin(cpu_b) ? 1 : -1);
    while (!stop.load()) {
      b_running.store(1);
      const auto t0 = Clock::now();
      while (Clock::now() - t0 < std::chrono::milliseconds(5)) burn(2000);
      b_running.store(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  while (b_pinned.load() == 0) std::this_thread::yield();
  if (!pin(cpu_a) || b_pinned.load() < 0) {  // unpinned, B could share A's CPU and fake a result
    stop.store(true);
    other.join();
    std::fprintf(stderr, "bmx_smt_probe: cannot pin the threads to CPUs %d and %d\n", cpu_a,
                 cpu_b);
    return 1;
  }
  std::printf("bmx_smt_probe: CPU %d's loop rate (M iterations/s) while CPU %d runs the same loop "
              "or sleeps, per second\n", cpu_a, cpu_b);
  int shared = 0;
  for (int s = 0; s < seconds; ++s) {
    std::vector<double> on, off;
    const auto second = Clock::now();
    while (Clock::now() - second < std::chrono::seconds(1)) {
      const int before = b_running.load();
      const auto t0 = Clock::now();
      long iters = 0;
      while (Clock::now() - t0 < std::chrono::milliseconds(1)) {
        burn(500);
        iters += 500;
      }
      const double rate =
          iters / std::chrono::duration<double>(Clock::now() - t0).count() / 1e6;
      if (b_running.load() == before) (before ? on : off).push_back(rate);  // B did not switch
    }
    if (on.empty() || off.empty()) {  // B did not get to run, or to sleep, within the second
      std::printf("%3d s: no windows with B %s\n", s, on.empty() ? "running" : "sleeping");
      continue;
    }
    const double r_on = median(on), r_off = median(off), ratio = r_on / r_off;
    if (ratio < 0.8) ++shared;
    std::printf("%3d s: B running %7.1f  B sleeping %7.1f  ratio %.2f%s\n", s, r_on, r_off, ratio,
                ratio < 0.8 ? "  (sharing a core)" : "");
    std::fflush(stdout);
  }
  stop.store(true);
  other.join();
  std::printf("%d of %d seconds with CPU %d at under 0.8x its speed while CPU %d was busy\n", shared,
              seconds, cpu_a, cpu_b);
  return 0;
}

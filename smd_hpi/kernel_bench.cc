// Raw kernel speed, without MXNet: the benchmarked ResNet-18 conv layers, the 4096 dense layer
// and square bgemm, on the path BMXNET_KERNEL_ISA selects (default: the best one), at the thread
// count given (default: OMP_NUM_THREADS).
//
// Every case is measured in `rounds` sweeps over all cases (so that a burst of other load on
// the machine hits a few samples of many cases rather than all samples of one), `repeat`
// samples per case and sweep, after a warm-up; the median of all samples is printed.
// Build target bmx_kernel_bench; run: BMXNET_KERNEL_ISA=avx2 build/cmake/bmx_kernel_bench
// [threads] [repeat] [rounds]
//
// bmx_kernel_bench --scaling T [repeat] [rounds]: the batch-8 conv layers at 1 and at T threads,
// sampled in alternating pairs (so that both see the same machine load), with the median of the
// per-pair speedups.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bitpack.h"
#include "fast_kernels.h"

using namespace bmx;

namespace {

struct Case {
  std::string name;
  int64_t batch;
  double macs;
  int repeat;
  std::function<void(int threads)> run;
  std::vector<double> ms;
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const bool scaling = argc > 1 && std::string(argv[1]) == "--scaling";
  if (scaling) {
    --argc;
    ++argv;
  }
  const int threads = argc > 1 ? std::atoi(argv[1]) : kernel_threads();
  const int repeat = argc > 2 ? std::atoi(argv[2]) : 11;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  const Isa isa = default_isa();
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<std::shared_ptr<void>> keep;  // inputs, weights, outputs of every case
  std::vector<Case> cases;

  struct Conv {
    const char* name;
    int c, o, h, stride;
  } convs[] = {{"conv C=64 56x56", 64, 64, 56, 1},          {"conv C=128 28x28", 128, 128, 28, 1},
               {"conv C=256 14x14", 256, 256, 14, 1},       {"conv C=512 7x7", 512, 512, 7, 1},
               {"conv C=64->128 56x56 /2", 64, 128, 56, 2}, {"conv C=128->256 28x28 /2", 128, 256, 28, 2},
               {"conv C=256->512 14x14 /2", 256, 512, 14, 2}};
  for (const Conv& c : convs) {
    for (int n : {1, 8}) {
      struct Data {
        BConv2DShape s;
        std::vector<float> x, out;
        PackedWeights w;
        Workspace ws;
      };
      auto d = std::make_shared<Data>();
      BConv2DShape& s = d->s;
      s.batch = n, s.in_channels = c.c, s.in_h = s.in_w = c.h, s.out_channels = c.o;
      s.kernel_h = s.kernel_w = 3, s.stride_h = s.stride_w = c.stride, s.pad_h = s.pad_w = 1;
      d->x.resize(static_cast<size_t>(n) * c.c * c.h * c.h);
      for (float& v : d->x) v = normal(rng);
      std::vector<uint32_t> w(static_cast<size_t>(c.o) * 9 * s.words());
      for (uint32_t& v : w) v = rng();
      d->w = pack_conv_weights(isa, s, w.data());
      d->out.resize(static_cast<size_t>(n) * c.o * s.out_h() * s.out_w());
      keep.push_back(d);
      Data* p = d.get();
      cases.push_back({c.name, n, double(n) * c.o * s.out_h() * s.out_w() * c.c * 9, repeat,
                       [p](int t) {
                         bconv2d_fast(p->s, p->x.data(), p->w, nullptr, nullptr, nullptr, p->out.data(),
                                      t, &p->ws);
                       },
                       {}});
    }
  }
  for (int m : {1, 8}) {
    const int64_t k = 4096, nout = 4096;
    struct Data {
      std::vector<float> x, out;
      PackedWeights w;
      Workspace ws;
    };
    auto d = std::make_shared<Data>();
    d->x.resize(m * k);
    for (float& v : d->x) v = normal(rng);
    std::vector<uint32_t> w(nout * packed_words(k));
    for (uint32_t& v : w) v = rng();
    d->w = pack_dense_weights(isa, nout, k, w.data());
    d->out.resize(m * nout);
    keep.push_back(d);
    Data* p = d.get();
    cases.push_back({"dense K=N=4096", m, double(m) * k * nout, repeat,
                     [p, m, k](int t) {
                       bdense_fast(m, k, p->x.data(), p->w, nullptr, nullptr, p->out.data(), t,
                                   &p->ws);
                     },
                     {}});
  }
  for (int size : {1024, 4096}) {
    struct Data {
      std::vector<uint32_t> a, b;
      std::vector<int32_t> c;
    };
    auto d = std::make_shared<Data>();
    d->a.resize(static_cast<size_t>(size) * packed_words(size));
    d->b.resize(d->a.size());
    for (uint32_t& v : d->a) v = rng();
    for (uint32_t& v : d->b) v = rng();
    d->c.resize(static_cast<size_t>(size) * size);
    keep.push_back(d);
    Data* p = d.get();
    cases.push_back({"bgemm M=N=K (B repacked per call)", size, double(size) * size * size,
                     size > 1024 ? 1 : repeat,
                     [p, size, isa](int t) {
                       bgemm_fast(isa, size, size, size, p->a.data(), p->b.data(), p->c.data(), t);
                     },
                     {}});
  }

  // Warm-up: let the clock ramp up and every case touch its memory once.
  const double start = now_ms();
  while (now_ms() - start < 300) cases[0].run(threads);
  for (Case& c : cases) c.run(threads);
  if (scaling) {
    std::printf("bmx_kernel_bench: %s path, 1 vs %d threads in alternating pairs, median of %d "
                "pairs (%d sweeps)\n", isa_name(isa), threads, repeat * rounds, rounds);
    std::printf("%-34s %6s %10s %10s %9s\n", "kernel", "batch", "1 thr ms", "T thr ms", "speedup");
    std::vector<Case*> convs;
    for (Case& c : cases) {
      if (c.name.rfind("conv", 0) == 0 && c.batch == 8) convs.push_back(&c);
    }
    std::vector<std::vector<double>> one(convs.size()), many(convs.size()), ratio(convs.size());
    for (int r = 0; r < rounds; ++r) {
      for (size_t k = 0; k < convs.size(); ++k) {
        for (int i = 0; i < repeat; ++i) {
          const double t0 = now_ms();
          convs[k]->run(1);
          const double t1 = now_ms();
          convs[k]->run(threads);
          const double t2 = now_ms();
          one[k].push_back(t1 - t0), many[k].push_back(t2 - t1), ratio[k].push_back((t1 - t0) / (t2 - t1));
        }
      }
    }
    for (size_t k = 0; k < convs.size(); ++k) {
      std::printf("%-34s %6lld %10.3f %10.3f %8.2fx\n", convs[k]->name.c_str(),
                  static_cast<long long>(convs[k]->batch), median(one[k]), median(many[k]),
                  median(ratio[k]));
    }
    return 0;
  }
  for (int r = 0; r < rounds; ++r) {
    for (Case& c : cases) {
      for (int i = 0; i < c.repeat; ++i) {
        const double t0 = now_ms();
        c.run(threads);
        c.ms.push_back(now_ms() - t0);
      }
    }
  }
  std::printf("bmx_kernel_bench: %s path, %d thread(s), median of %d samples (%d sweeps)\n",
              isa_name(isa), threads, repeat * rounds, rounds);
  std::printf("%-34s %6s %10s %10s\n", "kernel", "batch", "ms", "GMAC/s");
  for (Case& c : cases) {
    const double ms = median(c.ms);
    std::printf("%-34s %6lld %10.3f %10.1f\n", c.name.c_str(), static_cast<long long>(c.batch), ms,
                c.macs / ms / 1e6);
  }
  return 0;
}

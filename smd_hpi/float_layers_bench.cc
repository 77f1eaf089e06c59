// Float layer timings per backend (XNNPACK, portable, reference), batch 1, on ResNet-18's
// float layers: the stem (7x7/2, 3->64, 224x224), a 3x3 64->64 conv at 56x56, the 1x1/2
// 256->512 projection (14x14 in), the 3x3/2 max pool after the stem and the 512->1000 dense.
// A timing tool, not a test:  bmx_float_layers_bench [threads=1] [runs=20]
// Prints the best milliseconds of the runs per layer and backend.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "float_backends.h"
#include "float_kernels.h"
#include "float_reference.h"

using namespace bmx::rt;

namespace {

std::vector<float> random_floats(size_t n) {
  static std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// The clock: the calling thread's CPU time with 1 thread where the system has one
// (everything runs on that thread, and on a shared machine time spent waiting for a CPU is
// not the layer's), else the wall clock.
clockid_t bench_clock(int threads) {
  timespec t;
  if (threads == 1 && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0 &&
      (t.tv_sec > 0 || t.tv_nsec > 0))
    return CLOCK_THREAD_CPUTIME_ID;
  return CLOCK_MONOTONIC;
}

double now_ms(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

// The fastest of `runs` runs, after one set-up and warm-up run: on a shared machine the
// minimum is the figure least disturbed by other processes.
double best_ms(FloatLayer& layer, const std::vector<float>& in, std::vector<float>& out,
               int threads, int runs, clockid_t clock) {
  layer.run(in.data(), out.data(), threads);
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const double t0 = now_ms(clock);
    layer.run(in.data(), out.data(), threads);
    best = std::min(best, now_ms(clock) - t0);
  }
  return best;
}

struct Layer {
  std::string name;
  int64_t in_elems, out_elems;
  std::function<std::unique_ptr<FloatLayer>(const std::string& backend)> make;
};

Conv2DParams conv(int64_t hw, int64_t ic, int64_t oc, int64_t k, int64_t s, int64_t pad) {
  Conv2DParams p;
  p.in_h = p.in_w = hw, p.in_channels = ic, p.out_channels = oc;
  p.kernel_h = p.kernel_w = k, p.stride_h = p.stride_w = s, p.pad_h = p.pad_w = pad;
  p.activation = FusedActivation::kRelu;
  return p;
}

Layer conv_layer(const std::string& name, const Conv2DParams& p) {
  auto w = std::make_shared<std::vector<float>>(
      random_floats(p.out_channels * p.in_channels / p.groups * p.kernel_h * p.kernel_w));
  auto b = std::make_shared<std::vector<float>>(random_floats(p.out_channels));
  return {name, p.in_h * p.in_w * p.in_channels, p.out_h() * p.out_w() * p.out_channels,
          [p, w, b](const std::string& backend) -> std::unique_ptr<FloatLayer> {
            if (backend == "xnnpack") return make_conv2d_xnnpack(p, w->data(), b->data());
            if (backend == "portable") return make_conv2d_portable(p, w->data(), b->data());
            if (backend == "reference") return make_conv2d_reference(p, w->data(), b->data());
            return nullptr;
          }};
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 20;
  if (argc > 3 || threads < 1 || runs < 1) {
    std::fprintf(stderr, "usage: %s [threads >= 1] [runs >= 1]\n", argv[0]);
    return 2;
  }
  std::vector<Layer> layers = {
      conv_layer("stem conv 7x7/2 3->64 @224", conv(224, 3, 64, 7, 2, 3)),
      conv_layer("conv 3x3 64->64 @56", conv(56, 64, 64, 3, 1, 1)),
      conv_layer("conv 1x1/2 256->512 @14", conv(14, 256, 512, 1, 2, 0)),
  };
  {
    Pool2DParams p;
    p.in_h = p.in_w = 112, p.channels = 64, p.kernel_h = p.kernel_w = 3;
    p.stride_h = p.stride_w = 2, p.pad_h = p.pad_w = 1, p.out_h = p.out_w = 56;
    layers.push_back({"max pool 3x3/2 64 @112", 112 * 112 * 64, 56 * 56 * 64,
                      [p](const std::string& backend) -> std::unique_ptr<FloatLayer> {
                        if (backend == "xnnpack") return make_pool2d_xnnpack(p);
                        if (backend == "portable") return make_pool2d_portable(p);
                        if (backend == "reference") return make_pool2d_reference(p);
                        return nullptr;
                      }});
  }
  {
    auto w = std::make_shared<std::vector<float>>(random_floats(1000 * 512));
    auto b = std::make_shared<std::vector<float>>(random_floats(1000));
    layers.push_back({"dense 512->1000", 512, 1000,
                      [w, b](const std::string& backend) -> std::unique_ptr<FloatLayer> {
                        const auto none = FusedActivation::kNone;
                        if (backend == "xnnpack")
                          return make_dense_xnnpack(1, 512, 1000, w->data(), b->data(), none);
                        if (backend == "portable")
                          return make_dense_portable(1, 512, 1000, w->data(), b->data(), none);
                        if (backend == "reference")
                          return make_dense_reference(1, 512, 1000, w->data(), b->data(), none);
                        return nullptr;
                      }});
  }
  const std::vector<std::string> backends = {"xnnpack", "portable", "reference"};
  const clockid_t clock = bench_clock(threads);
  std::printf("batch 1, %d thread%s, best of %d runs, ms (%s)\n", threads,
              threads > 1 ? "s" : "", runs,
              clock == CLOCK_THREAD_CPUTIME_ID ? "thread CPU time" : "wall clock");
  std::printf("%-30s", "layer");
  for (const auto& b : backends) std::printf(" %10s", b.c_str());
  std::printf("\n");
  for (const Layer& l : layers) {
    std::printf("%-30s", l.name.c_str());
    const int64_t slack = kFloatInputSlackBytes / sizeof(float) + 1;
    std::vector<float> in = random_floats(l.in_elems + slack), out(l.out_elems);
    for (const auto& b : backends) {
      auto layer = l.make(b);
      if (!layer) {
        std::printf(" %10s", "-");
        continue;
      }
      // The reference loops are slow: fewer runs.
      const int n = b == "reference" ? std::max(1, runs / 10) : runs;
      std::printf(" %10.3f", best_ms(*layer, in, out, threads, n, clock));
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  return 0;
}

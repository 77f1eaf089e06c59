// Forward allocates nothing once the first call has run: this test counts every operator new
// of the process while a graph of the runtime's own ops and float layers runs again. (The
// binary kernels, bconv2d_fast and bdense_fast, keep a few small per-call vectors of their own
// and are not part of this graph.)
#include <atomic>
#include <cstdlib>
#include <new>

#include "runtime_test_util.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

void* operator new(size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

using rtest::Graph;
using rtest::Params;

int main() {
  // conv -> relu -> pool -> concat -> slice -> BatchNorm -> reshape -> flatten ->
  // FullyConnected -> softmax, with an elementwise add and a pad on the way.
  Graph g;
  const int data = g.var("data");
  const int conv = g.op("Convolution", "conv", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"num_filter", "32"}},
                        {data, g.var("conv_weight"), g.var("conv_bias")});
  const int relu = g.op("Activation", "relu", {{"act_type", "relu"}}, {conv});
  const int pool = g.op("Pooling", "pool", {{"kernel", "(2, 2)"}, {"stride", "(2, 2)"}, {"pool_type", "max"}}, {relu});
  const int sig = g.op("Activation", "sig", {{"act_type", "sigmoid"}}, {pool});
  const int add = g.op("broadcast_add", "add", {}, {pool, sig});
  const int cat = g.op("Concat", "cat", {{"dim", "1"}}, {add, pool});
  const int sl = g.op("slice_axis", "sl", {{"axis", "1"}, {"begin", "0"}, {"end", "48"}}, {cat});
  const int bn = g.op("BatchNorm", "bn", {{"fix_gamma", "False"}},
                      {sl, g.var("bn_gamma"), g.var("bn_beta"), g.var("bn_moving_mean"), g.var("bn_moving_var")});
  const int pad = g.op("Pad", "pad", {{"mode", "edge"}, {"pad_width", "(0, 0, 0, 0, 1, 1, 1, 1)"}}, {bn});
  const int rs = g.op("Reshape", "rs", {{"shape", "(0, 48, -1)"}}, {pad});
  const int fl = g.op("Flatten", "fl", {}, {rs});
  const int fc = g.op("FullyConnected", "fc", {{"num_hidden", "10"}}, {fl, g.var("fc_weight"), g.var("fc_bias")});
  const int sm = g.op("softmax", "sm", {}, {fc});
  Params p;
  p.f32("arg:conv_weight", {32, 3, 3, 3}, rtest::random_floats(32 * 27));
  p.f32("arg:conv_bias", {32}, rtest::random_floats(32));
  p.f32("arg:bn_gamma", {48}, rtest::random_floats(48, 0.5f, 1.5f));
  p.f32("arg:bn_beta", {48}, rtest::random_floats(48));
  p.f32("aux:bn_moving_mean", {48}, rtest::random_floats(48));
  p.f32("aux:bn_moving_var", {48}, rtest::random_floats(48, 0.5f, 1.5f));
  const int64_t k = 48 * 8 * 8;
  p.f32("arg:fc_weight", {10, k}, rtest::random_floats(10 * k));
  p.f32("arg:fc_bias", {10}, rtest::random_floats(10));
  for (int threads : {1, 2}) {
    BMXPredictorHandle h = rtest::create(g.json({sm}), p.bytes(), {1, 3, 12, 12});
    CHECK(h != nullptr, "create: %s", BMXGetLastError());
    if (!h) break;
    const std::vector<float> x = rtest::random_floats(3 * 12 * 12);
    std::vector<float> y(10);
    bool ok = BMXPredSetNumThreads(h, threads) == 0 && BMXPredSetInput(h, "data", x.data(), 432) == 0 &&
              BMXPredForward(h) == 0;
    const long before = allocations.load();
    for (int i = 0; i < 3; ++i) ok = ok && BMXPredForward(h) == 0;
    const long during = allocations.load() - before;
    ok = ok && BMXPredGetOutput(h, 0, y.data(), 10) == 0;
    CHECK(ok, "run: %s", BMXGetLastError());
    CHECK(during == 0, "%d thread(s): %ld allocations during 3 forwards", threads, during);
    float sum = 0;
    for (float v : y) sum += v;
    CHECK(std::fabs(sum - 1.0f) < 1e-5f, "softmax output sums to %g", sum);
    BMXPredFree(h);
  }
  return rtest::finish("test_runtime_no_allocation");
}

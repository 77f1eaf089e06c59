// Forward allocates nothing: this test counts every operator new of the process, and with
// glibc (outside the sanitizer builds, whose allocator must stay in place) every malloc,
// calloc, realloc and aligned allocation too, while a planned graph runs forward, with 1 and 2
// threads: one graph of the runtime's own ops and float layers, one of binary convolutions
// (every pad_value, groups, a residual) and binary dense layers (flatten true and false).
// The binary kernels' workspace is sized when the predictor is made (and when its thread
// count changes), so even the first forward allocates nothing.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "bitpack.h"
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

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define BMX_SANITIZED_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BMX_SANITIZED_ALLOCATOR 1
#endif

#if defined(__GLIBC__) && !defined(BMX_SANITIZED_ALLOCATOR)
// glibc's own allocator under its internal names; these definitions replace malloc & co for the
// whole process (libgomp, XNNPACK and the runtime's aligned_alloc included).
#define BMX_COUNTS_MALLOC 1
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  ++allocations;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  ++allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  ++allocations;
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t alignment, size_t n) {
  ++allocations;
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  ++allocations;
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** p, size_t alignment, size_t n) {
  ++allocations;
  *p = __libc_memalign(alignment, n);
  return *p ? 0 : 12;  // ENOMEM
}
}  // extern "C"
#endif

using rtest::Graph;
using rtest::Params;
using Vec = std::vector<float>;

namespace {

std::string str(int64_t v) { return std::to_string(v); }
std::string pair(int64_t v) { return "(" + str(v) + ", " + str(v) + ")"; }

// Random ±1 weights, `rows` rows of `bits` signs each, packed as the converter writes them.
std::vector<uint32_t> random_packed(int64_t rows, int64_t bits) {
  const Vec f = rtest::random_floats(rows * bits);
  std::vector<uint32_t> w(rows * bmx::packed_words(bits));
  bmx::pack_signs(f.data(), rows, bits, w.data());
  return w;
}

// Runs `forwards` forwards of a predictor for the graph at 1 and 2 threads (the first
// forward included: nothing in forward may allocate, not even the first time) and checks
// that none allocates and that every forward gives the same softmax output.
void check_forward(const char* what, const std::string& json, const std::string& params,
                   const std::vector<uint32_t>& shape, size_t outputs) {
  size_t n = 1;
  for (uint32_t d : shape) n *= d;
  const Vec x = rtest::random_floats(n);
  Vec first;
  for (int threads : {1, 2}) {
    BMXPredictorHandle h = rtest::create(json, params, shape);
    CHECK(h != nullptr, "%s: create: %s", what, BMXGetLastError());
    if (!h) return;
    bool ok = BMXPredSetNumThreads(h, threads) == 0 &&
              BMXPredSetInput(h, "data", x.data(), static_cast<uint32_t>(n)) == 0;
    Vec y(outputs), previous;
    long most = 0;
    for (int i = 0; i < 4 && ok; ++i) {
      const long before = allocations.load();
      ok = BMXPredForward(h) == 0;
      most = std::max(most, allocations.load() - before);
      ok = ok && BMXPredGetOutput(h, 0, y.data(), static_cast<uint32_t>(outputs)) == 0;
      CHECK(previous.empty() || y == previous, "%s, %d thread(s): forward %d differs", what,
            threads, i);
      previous = y;
    }
    CHECK(ok, "%s, %d thread(s): run: %s", what, threads, BMXGetLastError());
    CHECK(most == 0, "%s, %d thread(s): a forward made %ld allocation(s)", what, threads, most);
    float sum = 0;
    for (float v : y) sum += v;
    CHECK(std::fabs(sum - static_cast<float>(shape[0])) < 1e-5f * shape[0],
          "%s: the softmax rows sum to %g", what, sum);
    if (first.empty()) first = y;
    CHECK(rtest::max_diff(first, y) < 1e-5f, "%s: %d threads differ from 1 by %g", what, threads,
          rtest::max_diff(first, y));
    BMXPredFree(h);
  }
}

// conv -> relu -> pool -> concat -> slice -> BatchNorm -> reshape -> flatten ->
// FullyConnected -> softmax, with an elementwise add and a pad on the way.
void test_float_graph() {
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
  check_forward("float graph", g.json({sm}), p.bytes(), {1, 3, 12, 12}, 10);
}

// Binary convolutions (pad_value 0, -1 and 1; groups; a residual; stride 2) and binary dense
// layers (flatten false on a 4-D input, then flatten true on it), batch 2.
void test_binary_graph() {
  Graph g;
  Params p;
  const int data = g.var("data");
  struct Conv {
    const char* name;
    int64_t in, out, stride, groups, pad_value;
    bool residual;
  };
  int x = data;
  for (const Conv& c : {Conv{"bc1", 16, 32, 1, 1, 0, false}, Conv{"bc2", 32, 32, 1, 2, -1, true},
                        Conv{"bc3", 32, 48, 2, 1, 1, false}}) {
    const std::string n = c.name;
    const int64_t cg = c.in / c.groups;
    p.i32("arg:" + n + "_weight", {c.out, 3, 3, bmx::packed_words(cg)}, random_packed(c.out * 9, cg));
    p.f32("arg:" + n + "_scale", {c.out}, rtest::random_floats(c.out, 0.01f, 0.1f));
    p.f32("arg:" + n + "_bias", {c.out}, rtest::random_floats(c.out));
    std::vector<int> ins = {x, g.var(n + "_weight"), g.var(n + "_scale"), g.var(n + "_bias")};
    if (c.residual) ins.push_back(x);
    x = g.op("bmx_binary_conv2d", n,
             {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"}, {"stride", pair(c.stride)},
              {"num_filter", str(c.out)}, {"num_group", str(c.groups)},
              {"pad_value", str(c.pad_value)}, {"use_scale", "True"},
              {"add_residual", c.residual ? "True" : "False"}},
             ins);
  }
  // x: (2, 48, 5, 5). Dense over its last axis (flatten false), then over all of it.
  p.i32("arg:bd1_weight", {8, 1}, random_packed(8, 5));
  p.f32("arg:bd1_bias", {8}, rtest::random_floats(8));
  x = g.op("bmx_binary_dense", "bd1", {{"num_hidden", "8"}, {"flatten", "False"}},
           {x, g.var("bd1_weight"), g.var("bd1_bias")});
  const int64_t k = 48 * 5 * 8;
  p.i32("arg:bd2_weight", {10, bmx::packed_words(k)}, random_packed(10, k));
  p.f32("arg:bd2_scale", {10}, rtest::random_floats(10, 0.001f, 0.01f));
  x = g.op("bmx_binary_dense", "bd2", {{"num_hidden", "10"}, {"use_scale", "True"}, {"no_bias", "True"}},
           {x, g.var("bd2_weight"), g.var("bd2_scale")});
  const int sm = g.op("softmax", "sm", {}, {x});
  check_forward("binary graph", g.json({sm}), p.bytes(), {2, 16, 9, 9}, 20);
}

}  // namespace

int main() {
#ifndef BMX_COUNTS_MALLOC
  std::printf("test_runtime_no_allocation: counting operator new only (no glibc, or a sanitizer build)\n");
#endif
  test_float_graph();
  test_binary_graph();
  return rtest::finish("test_runtime_no_allocation");
}

// The runtime's memory at creation: a model is planned before its memory is allocated, so one
// refused (at a later node, or by the memory limit) costs next to nothing even for an absurd
// input shape; the memory limit (BMXNET_MEMORY_LIMIT, BMXSetMemoryLimit) refuses a plan over it
// with a sentence naming both figures; a symbol padded with whitespace costs no copy of it.
// Peak memory is measured in a child process (its VmHWM starts at its RSS when forked).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

#include "runtime_test_util.h"

namespace {

using rtest::Attrs;

// VmHWM (peak resident memory) of this process in KiB, -1 when unreadable.
long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

struct Measured {
  long growth_kib = -1;  // how far the peak rose while `body` ran
  std::string error;     // what body returned (the runtime's error, empty on success)
};

// Runs body in a forked child and returns its peak memory growth and its result.
Measured in_child(const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const long before = peak_rss_kib();
    const std::string error = body();
    const long after = peak_rss_kib();
    const std::string out = std::to_string(before < 0 || after < 0 ? -1 : after - before) + "\n" + error;
    if (write(fds[1], out.data(), out.size()) < 0) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Measured m;
  const size_t eol = text.find('\n');
  if (eol == std::string::npos) return m;
  m.growth_kib = std::atol(text.substr(0, eol).c_str());
  m.error = text.substr(eol + 1);
  return m;
}

struct Model {
  std::string json, params;
};

// LeNet's first layer: a 5x5 convolution padded by 2 (the portable backend reads it from a
// padded copy of the input) and a relu; with `dense`, a FullyConnected layer whose weights fit
// a 28x28 input only, so any other input shape is refused at that node, after the convolution
// has been planned.
Model lenet_head(bool dense) {
  rtest::Graph g;
  rtest::Params p;
  const int data = g.var("data"), w = g.var("conv_weight"), b = g.var("conv_bias");
  const int conv = g.op("Convolution", "conv",
                        {{"kernel", "(5, 5)"}, {"pad", "(2, 2)"}, {"num_filter", "4"}},
                        {data, w, b});
  int head = g.op("Activation", "relu", {{"act_type", "relu"}}, {conv});
  p.f32("arg:conv_weight", {4, 1, 5, 5}, rtest::random_floats(100));
  p.f32("arg:conv_bias", {4}, rtest::random_floats(4));
  if (dense) {
    const int fw = g.var("fc_weight"), fb = g.var("fc_bias");
    head = g.op("FullyConnected", "fc", {{"num_hidden", "10"}}, {head, fw, fb});
    p.f32("arg:fc_weight", {10, 4 * 28 * 28}, rtest::random_floats(10 * 4 * 28 * 28));
    p.f32("arg:fc_bias", {10}, rtest::random_floats(10));
  }
  return {g.json({head}), p.bytes()};
}

// The error of creating `m` for `shape` (empty when it was created; then it is freed).
std::string create_error(const Model& m, const std::vector<uint32_t>& shape) {
  std::string error;
  BMXPredictorHandle h = rtest::create(m.json, m.params, shape, &error);
  BMXPredFree(h);
  return error;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// 20000x20000 floats are 1.6 GB: a refused creation must not touch them.
constexpr long kSmallGrowthKib = 64 * 1024;

void refused_at_a_later_node_allocates_nothing() {
  const Model m = lenet_head(true);
  const Measured r = in_child([&] { return create_error(m, {1, 1, 20000, 20000}); });
  CHECK(contains(r.error, "'fc_weight'"), "huge LeNet input: refused at the dense layer, got '%s'",
        r.error.c_str());
  CHECK(r.growth_kib >= 0 && r.growth_kib < kSmallGrowthKib,
        "huge LeNet input: the refused creation raised peak memory by %ld KiB", r.growth_kib);
  std::printf("  refused LeNet [1,1,20000,20000]: peak grew by %ld KiB\n", r.growth_kib);
}

void lenet_at_its_own_shape_runs() {
  const Model m = lenet_head(true);
  const std::vector<float> y = rtest::run(m.json, m.params, {1, 1, 28, 28},
                                          rtest::random_floats(28 * 28));
  CHECK(y.size() == 10, "LeNet at 28x28: %zu outputs", y.size());
}

void refused_by_the_default_limit_allocates_nothing() {
  // A plan that every node accepts, of about 8 GB: over the default limit of 4 GiB.
  const Model m = lenet_head(false);
  const Measured r = in_child([&] { return create_error(m, {1, 1, 20000, 20000}); });
  CHECK(contains(r.error, "more than the memory limit of 4294967296 bytes") &&
            contains(r.error, "input 'data' of shape (1, 1, 20000, 20000)"),
        "8 GB plan: %s", r.error.c_str());
  CHECK(r.growth_kib >= 0 && r.growth_kib < kSmallGrowthKib,
        "8 GB plan: the refused creation raised peak memory by %ld KiB", r.growth_kib);
}

void limit_set_through_the_api_and_the_environment() {
  const Model m = lenet_head(false);
  const std::vector<uint32_t> shape = {1, 1, 256, 256};  // about 1.6 MB of activations
  CHECK(create_error(m, shape).empty(), "256x256 under the default limit: %s",
        create_error(m, shape).c_str());
  CHECK(BMXSetMemoryLimit(1 << 20) == 0, "BMXSetMemoryLimit: %s", BMXGetLastError());
  std::string e = create_error(m, shape);
  CHECK(contains(e, "more than the memory limit of 1048576 bytes") && contains(e, " needs "),
        "1 MiB limit: %s", e.c_str());
  CHECK(create_error(m, {1, 1, 28, 28}).empty(), "28x28 under 1 MiB");
  BMXSetMemoryLimit(0);
  CHECK(create_error(m, shape).empty(), "back to the default limit");

  setenv("BMXNET_MEMORY_LIMIT", "1M", 1);
  e = create_error(m, shape);
  CHECK(contains(e, "memory limit of 1048576 bytes"), "BMXNET_MEMORY_LIMIT=1M: %s", e.c_str());
  BMXSetMemoryLimit(uint64_t{64} << 20);  // the API's limit overrides the environment's
  CHECK(create_error(m, shape).empty(), "BMXSetMemoryLimit over BMXNET_MEMORY_LIMIT");
  BMXSetMemoryLimit(0);
  setenv("BMXNET_MEMORY_LIMIT", "lots", 1);
  e = create_error(m, shape);
  CHECK(e == "BMXNET_MEMORY_LIMIT is 'lots', not a positive byte count (such as 2147483648 or 2G).",
        "BMXNET_MEMORY_LIMIT=lots: %s", e.c_str());
  setenv("BMXNET_MEMORY_LIMIT", "3000000", 1);
  CHECK(create_error(m, shape).empty(), "BMXNET_MEMORY_LIMIT=3000000");
  unsetenv("BMXNET_MEMORY_LIMIT");
}

void whitespace_costs_no_copy() {
  // 256 MiB of spaces inside a valid symbol: parsing it must not copy the text.
  const Model m = lenet_head(false);
  const size_t spaces = size_t{256} << 20;
  Model padded = m;
  padded.json.insert(1, spaces, ' ');
  const Measured r = in_child([&] { return create_error(padded, {1, 1, 28, 28}); });
  CHECK(r.error.empty(), "whitespace-padded symbol: %s", r.error.c_str());
  CHECK(r.growth_kib >= 0 && r.growth_kib < kSmallGrowthKib,
        "a symbol with 256 MiB of whitespace raised peak memory by %ld KiB", r.growth_kib);
  std::printf("  symbol with 256 MiB of spaces: peak grew by %ld KiB\n", r.growth_kib);
}

}  // namespace

int main() {
  // The portable float layers keep a padded copy of a padded convolution's input; XNNPACK
  // needs none. Both names: the variable was renamed, the older one is still read.
  setenv("BMX_FLOAT_BACKEND", "portable", 1);
  setenv("BMXNET_FLOAT_BACKEND", "portable", 1);
  // The children fork before this process starts any thread.
  refused_at_a_later_node_allocates_nothing();
  refused_by_the_default_limit_allocates_nothing();
  whitespace_costs_no_copy();
  lenet_at_its_own_shape_runs();
  limit_set_through_the_api_and_the_environment();
  return rtest::finish("test_runtime_memory");
}

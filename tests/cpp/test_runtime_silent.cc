// The C API never prints: with BMXNET_KERNEL_ISA naming no known path (which the op library
// warns about on stderr), creating, running and failing predictors writes nothing to stdout
// or stderr, and the plan (BMXPredGetPlan) says which path runs and why.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "runtime_test_util.h"

using rtest::Graph;
using rtest::Params;

namespace {

// Runs f() with stdout and stderr sent to a file, and returns what was written there.
template <typename F>
std::string captured(F f) {
  std::fflush(stdout);
  std::fflush(stderr);
  char path[] = "/tmp/bmx_silent_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return "(mkstemp failed)";
  const int out = dup(1), err = dup(2);
  dup2(fd, 1);
  dup2(fd, 2);
  f();
  std::fflush(stdout);
  std::fflush(stderr);
  dup2(out, 1);
  dup2(err, 2);
  close(out);
  close(err);
  std::string text;
  char buf[256];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, n);
  close(fd);
  unlink(path);
  return text;
}

}  // namespace

int main() {
  setenv("BMXNET_KERNEL_ISA", "no_such_isa", 1);
  Graph g;
  const int conv = g.op("bmx_binary_conv2d", "bc", {{"kernel", "(3, 3)"}, {"pad", "(1, 1)"},
                                                   {"num_filter", "8"}, {"no_bias", "True"}},
                        {g.var("data"), g.var("bc_weight")});
  Params p;
  p.i32("arg:bc_weight", {8, 3, 3, 1}, std::vector<uint32_t>(72, 0x5555u));
  const std::vector<float> x = rtest::random_floats(32 * 25);
  std::vector<float> y(8 * 25);
  std::string plan, errors;
  bool ok = false;
  const std::string printed = captured([&] {
    BMXPredictorHandle h = rtest::create(g.json({conv}), p.bytes(), {1, 32, 5, 5});
    const char* json = nullptr;
    ok = h != nullptr && BMXPredSetInput(h, "data", x.data(), 800) == 0 &&
         BMXPredForward(h) == 0 && BMXPredGetOutput(h, 0, y.data(), 200) == 0 &&
         BMXPredGetPlan(h, &json) == 0;
    if (json) plan = json;
    // Failures: a bad symbol, a bad key, a null handle, a wrong size.
    std::string error;
    if (rtest::create("{", p.bytes(), {1, 32, 5, 5}, &error) == nullptr) errors += error + "\n";
    if (BMXPredSetInput(h, "nope", x.data(), 800) != 0) errors += std::string(BMXGetLastError()) + "\n";
    if (BMXPredForward(nullptr) != 0) errors += std::string(BMXGetLastError()) + "\n";
    if (BMXPredGetOutput(h, 0, y.data(), 3) != 0) errors += std::string(BMXGetLastError()) + "\n";
    BMXPredFree(h);
  });
  CHECK(ok, "the predictor runs: %s", BMXGetLastError());
  CHECK(printed.empty(), "the C API printed: '%s'", printed.c_str());
  CHECK(std::count(errors.begin(), errors.end(), '\n') == 4, "four calls failed: %s", errors.c_str());
  CHECK(plan.find("\"isa_note\":\"BMXNET_KERNEL_ISA=no_such_isa is unknown") != std::string::npos,
        "the plan notes the unknown BMXNET_KERNEL_ISA: %s", plan.c_str());
  CHECK(plan.find("\"isa\":\"ref\"") == std::string::npos, "the best path runs: %s", plan.c_str());
  return rtest::finish("test_runtime_silent");
}

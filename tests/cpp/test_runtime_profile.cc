// BMXPredForwardProfiled: the same outputs as BMXPredForward, one row per planned step (the
// plan's nodes, their kind and MACs), step times that lie inside the forward's, and one
// sentence for bad calls.
#include <cstring>
#include <string>

#include "small_binary_model.h"

using rtest::small_binary_model;

int main() {
  const rtest::Model model = small_binary_model();
  BMXPredictorHandle h = rtest::create(model.json, model.params, {1, 3, 12, 12});
  CHECK(h != nullptr, "create: %s", BMXGetLastError());
  if (h == nullptr) return check_counts::summary("test_runtime_profile");

  const BMXStepProfile* rows = nullptr;
  uint32_t n = 0;
  double forward = -1.0;
  // Before the input is set: the forward's own sentence.
  CHECK(BMXPredForwardProfiled(h, &rows, &n, &forward) != 0 &&
            std::strstr(BMXGetLastError(), "has not been set") != nullptr,
        "a profiled forward before BMXPredSetInput fails: %s", BMXGetLastError());

  const std::vector<float> x = rtest::random_floats(3 * 12 * 12);
  const std::vector<float> plain = rtest::predict(h, x);
  CHECK(BMXPredForwardProfiled(h, &rows, &n, &forward) == 0, "profiled forward: %s",
        BMXGetLastError());
  std::vector<float> profiled(10);
  CHECK(BMXPredGetOutput(h, 0, profiled.data(), 10) == 0, "output: %s", BMXGetLastError());
  CHECK(!plain.empty() && std::memcmp(plain.data(), profiled.data(), 10 * sizeof(float)) == 0,
        "a profiled forward computes the same outputs bit for bit");

  const char* plan = nullptr;
  CHECK(BMXPredGetPlan(h, &plan) == 0, "plan: %s", BMXGetLastError());
  size_t plan_nodes = 0;
  for (const char* p = plan; (p = std::strstr(p, "\"name\":")) != nullptr; ++p) ++plan_nodes;
  CHECK(n == plan_nodes && n >= 3, "%u rows for the plan's %zu nodes", n, plan_nodes);

  double sum = 0.0, previous_start = -1.0;
  int conv = -1, bconv = -1, dense = -1;
  for (uint32_t s = 0; s < n; ++s) {
    const BMXStepProfile& r = rows[s];
    CHECK(std::strstr(plan, (std::string("\"name\":\"") + r.node + "\"").c_str()) != nullptr,
          "row %u names a node of the plan: %s", s, r.node);
    CHECK(r.seconds >= 0.0 && r.start_seconds >= previous_start,
          "row %u: times in run order (%g s at %g s)", s, r.seconds, r.start_seconds);
    CHECK(r.start_seconds + r.seconds <= forward + 1e-9, "row %u ends inside the forward", s);
    previous_start = r.start_seconds;
    sum += r.seconds;
    if (std::strcmp(r.node, "c0") == 0) conv = static_cast<int>(s);
    if (std::strcmp(r.node, "bc") == 0) bconv = static_cast<int>(s);
    if (std::strcmp(r.node, "fc") == 0) dense = static_cast<int>(s);
  }
  CHECK(sum <= forward + 1e-9 && forward > 0.0, "steps %g s within the forward's %g s", sum,
        forward);
  CHECK(conv >= 0 && bconv >= 0 && dense >= 0, "rows for c0, bc and fc");
  if (conv >= 0 && bconv >= 0 && dense >= 0) {
    const BMXStepProfile &c = rows[conv], &b = rows[bconv], &d = rows[dense];
    CHECK(std::strcmp(c.kind, "float") == 0 && std::strncmp(c.kernel, "float-", 6) == 0 &&
              std::strcmp(c.op, "Convolution") == 0,
          "c0: a float layer (%s, %s, %s)", c.kind, c.kernel, c.op);
    CHECK(c.float_macs == 32 * 144 * 27 && c.binary_macs == 0, "c0 MACs %lld / %lld",
          static_cast<long long>(c.float_macs), static_cast<long long>(c.binary_macs));
    CHECK(std::strcmp(b.kind, "binary") == 0 && std::strncmp(b.kernel, "binary-", 7) == 0,
          "bc: a binary layer (%s, %s)", b.kind, b.kernel);
    CHECK(b.binary_macs == 32 * 144 * 32 * 9 && b.float_macs == 0, "bc MACs %lld / %lld",
          static_cast<long long>(b.binary_macs), static_cast<long long>(b.float_macs));
    CHECK(b.output_ndim == 4 && b.output_shape[0] == 1 && b.output_shape[1] == 32 &&
              b.output_shape[2] == 12 && b.output_shape[3] == 12,
          "bc's output shape (1, 32, 12, 12), NCHW");
    CHECK(std::strcmp(d.kind, "float") == 0 && d.float_macs == 10 * 32 * 144 &&
              d.output_ndim == 2 && d.output_shape[1] == 10,
          "fc: a float layer of 10 outputs (%s)", d.kind);
  }

  // The rows stay valid across profiled forwards (the same array, new times).
  const BMXStepProfile* again = nullptr;
  uint32_t m = 0;
  CHECK(BMXPredForwardProfiled(h, &again, &m, nullptr) == 0 && again == rows && m == n,
        "a second profiled forward (forward_seconds null) fills the same rows");

  CHECK(BMXPredForwardProfiled(h, nullptr, &m, nullptr) != 0 &&
            std::strstr(BMXGetLastError(), "must not be null") != nullptr,
        "null steps: %s", BMXGetLastError());
  CHECK(BMXPredForwardProfiled(nullptr, &again, &m, nullptr) != 0 &&
            std::strstr(BMXGetLastError(), "handle is null") != nullptr,
        "null handle: %s", BMXGetLastError());
  BMXPredFree(h);
  return check_counts::summary("test_runtime_profile");
}

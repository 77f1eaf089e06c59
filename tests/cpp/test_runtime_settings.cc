// Each predictor's own settings (BMXPredCreateEx options): two predictors with different
// instruction sets and float backends in one process, run at the same time, each report and
// use their own, and agree on the outputs (bit for bit across instruction sets, within float
// rounding across float backends); bad options fail with a sentence naming them; the
// environment gives the default, under its deprecated name too.
#include <cmath>
#include <cstdlib>
#include <thread>

#include "float/float_backends.h"
#include "predictor.h"
#include "runtime_test_util.h"
#include "small_binary_model.h"

using Vec = std::vector<float>;

namespace {

const std::vector<uint32_t> kShape = {1, 3, 12, 12};

using rtest::Model;
using rtest::predict;

Model make_model() { return rtest::small_binary_model(); }

// The handle, or null with *error set.
BMXPredictorHandle create(const Model& m, const char* options, std::string* error = nullptr) {
  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, 4};
  BMXPredictorHandle h = nullptr;
  const int rc = BMXPredCreateEx(m.json.c_str(), m.params.data(), static_cast<int>(m.params.size()),
                                 1, 0, 1, keys, indptr, kShape.data(), 0, nullptr, options, &h);
  if (error) *error = rc == 0 ? "" : BMXGetLastError();
  return rc == 0 ? h : nullptr;
}


std::string plan_of(BMXPredictorHandle h) {
  const char* json = nullptr;
  return BMXPredGetPlan(h, &json) == 0 ? json : "";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void test_two_settings(const Model& m) {
  const bool xnnpack = bmx::rt::xnnpack_available();
  const std::string best = bmx::isa_name(bmx::best_isa());
  // A: the portable paths everywhere. B: the best instruction set and XNNPACK where it runs.
  BMXPredictorHandle a = create(m, "isa=portable; float_backend=portable; threads=2");
  const std::string b_options =
      std::string("isa=best,float_backend=") + (xnnpack ? "xnnpack" : "reference") + ",threads=1";
  BMXPredictorHandle b = create(m, b_options.c_str());
  CHECK(a != nullptr && b != nullptr, "create: %s", BMXGetLastError());
  if (a == nullptr || b == nullptr) return;
  const std::string pa = plan_of(a), pb = plan_of(b);
  CHECK(has(pa, "\"isa\":\"portable\"") && has(pa, "\"float_backend\":\"portable\""),
        "A's plan reports its settings: %s", pa.c_str());
  CHECK(has(pa, "\"kernel\":\"float-portable\"") && !has(pa, "float-xnnpack"),
        "A's float layers are portable: %s", pa.c_str());
  const std::string b_backend = xnnpack ? "xnnpack" : "reference";
  CHECK(has(pb, "\"isa\":\"" + best + "\"") &&
            has(pb, "\"float_backend\":\"" + b_backend + "\""),
        "B's plan reports its settings: %s", pb.c_str());
  if (xnnpack) CHECK(has(pb, "\"kernel\":\"float-xnnpack\""), "B's float layers: %s", pb.c_str());
  const Vec x = rtest::random_floats(3 * 12 * 12);
  const Vec ya = predict(a, x), yb = predict(b, x);
  CHECK(ya.size() == 10 && yb.size() == 10, "predict: %s", BMXGetLastError());
  float scale = 0.0f;
  for (float v : ya) scale = std::max(scale, std::fabs(v));
  CHECK(rtest::max_diff(ya, yb) <= 1e-4f * std::max(1.0f, scale),
        "A and B differ by %g (scale %g)", rtest::max_diff(ya, yb), scale);
  // Same float backend, different instruction sets: the binary kernels agree bit for bit.
  BMXPredictorHandle c = create(m, "isa=best; float_backend=portable");
  CHECK(c != nullptr && predict(c, x) == ya, "isa=best with portable floats differs from "
        "isa=portable: %s", c == nullptr ? BMXGetLastError() : "outputs differ");
  // Both at once on their own threads: each keeps giving its own output.
  int wrong_a = 0, wrong_b = 0;
  std::thread ta([&] { for (int i = 0; i < 100; ++i) wrong_a += predict(a, x) != ya; });
  std::thread tb([&] { for (int i = 0; i < 100; ++i) wrong_b += predict(b, x) != yb; });
  ta.join();
  tb.join();
  CHECK(wrong_a == 0 && wrong_b == 0, "concurrent runs differ: A %d, B %d of 100", wrong_a,
        wrong_b);
  // A clone keeps its source's settings.
  BMXPredictorHandle a2 = nullptr;
  CHECK(BMXPredClone(a, &a2) == 0 && plan_of(a2) == pa, "A's clone plans as A: %s",
        a2 ? plan_of(a2).c_str() : BMXGetLastError());
  CHECK(static_cast<bmx::rt::Predictor*>(a2)->threads() == 2, "A's clone has 2 threads");
  for (auto h : {a, b, c, a2}) BMXPredFree(h);
}

void test_bad_options(const Model& m) {
  const struct {
    const char* options;
    const char* error;
  } cases[] = {
      {"isa=foo", "option isa=foo is unknown: use ref, portable, avx2, avx512, neon, "
                  "wasm_simd128 or best."},
      {"float_backend=fast", "option float_backend=fast is unknown: use auto, xnnpack, portable "
                             "or reference."},
      {"threads=0", "option threads=0 is not a positive thread count."},
      {"threads=2x", "option threads=2x is not a positive thread count."},
      {"colour=red", "option 'colour' is unknown: the options are isa, float_backend and "
                     "threads."},
      {"isa", "option 'isa' has no value: write key=value."},
  };
  for (const auto& c : cases) {
    std::string error;
    BMXPredictorHandle h = create(m, c.options, &error);
    CHECK(h == nullptr && error == c.error, "'%s': %s", c.options, error.c_str());
    BMXPredFree(h);
  }
  // An instruction set this CPU lacks names the best one here.
  for (bmx::Isa isa : {bmx::Isa::kAvx2, bmx::Isa::kAvx512, bmx::Isa::kNeon,
                       bmx::Isa::kWasmSimd128}) {
    if (bmx::isa_available(isa)) continue;
    const std::string options = std::string("isa=") + bmx::isa_name(isa);
    std::string error;
    BMXPredictorHandle h = create(m, options.c_str(), &error);
    CHECK(h == nullptr && error == "option " + options + " is not available on this CPU or "
                                   "build (the best here is " +
                                       bmx::isa_name(bmx::best_isa()) + ").",
          "'%s': %s", options.c_str(), error.c_str());
    BMXPredFree(h);
  }
  // Empty and null options: the defaults.
  for (const char* options : {"", " ; ,", static_cast<const char*>(nullptr)}) {
    std::string error;
    BMXPredictorHandle h = create(m, options, &error);
    CHECK(h != nullptr, "options '%s': %s", options ? options : "(null)", error.c_str());
    BMXPredFree(h);
  }
}

}  // namespace

int main() {
  // The environment's default under its deprecated name (read at the first creation).
  unsetenv("BMXNET_FLOAT_BACKEND");
  setenv("BMX_FLOAT_BACKEND", "portable", 1);
  const Model m = make_model();
  BMXPredictorHandle d = create(m, nullptr);
  CHECK(d != nullptr && has(plan_of(d), "\"float_backend\":\"portable\""),
        "BMX_FLOAT_BACKEND=portable is the default: %s", d ? plan_of(d).c_str() : "");
  BMXPredFree(d);
  test_two_settings(m);
  test_bad_options(m);
  return rtest::finish("test_runtime_settings");
}

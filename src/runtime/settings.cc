#include "settings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "attr_text.h"
#include "error.h"

namespace bmx {
namespace rt {
namespace {

using attr_text::trim;

void apply(Settings* s, const std::string& key, const std::string& value) {
  if (key == "isa") {
    Isa isa;
    if (value == "best") {
      isa = best_isa();
    } else if (!parse_isa(value, &isa)) {
      fail("option isa=" + value + " is unknown: use ref, portable, avx2, avx512, neon, "
           "wasm_simd128 or best.");
    } else if (!isa_available(isa)) {
      fail(std::string("option isa=") + value + " is not available on this CPU or build (the "
           "best here is " + isa_name(best_isa()) + ").");
    }
    s->isa = isa;
    s->isa_note.clear();
  } else if (key == "float_backend") {
    FloatBackend b;
    if (!parse_float_backend(value, &b)) {
      fail("option float_backend=" + value + " is unknown: use auto, xnnpack, portable or "
           "reference.");
    }
    const std::string problem = float_backend_problem(b);
    if (!problem.empty()) fail("option float_backend=" + value + ": " + problem + ".");
    s->float_backend = b;
  } else if (key == "threads") {
    char* end = nullptr;
    const long n = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < 1) {
      fail("option threads=" + value + " is not a positive thread count.");
    }
    s->threads = static_cast<int>(std::min<long>(n, max_kernel_threads()));
  } else {
    fail("option '" + key + "' is unknown: the options are isa, float_backend and threads.");
  }
}

}  // namespace

Settings default_settings() {
  Settings s;
  s.isa = isa_choice().isa;
  s.isa_note = isa_choice().note;
  s.float_backend = default_float_backend();
  return s;
}

Settings parse_settings(const char* options) {
  Settings s = default_settings();
  if (options == nullptr) return s;
  std::string item;
  for (const char* c = options;; ++c) {
    if (*c != ';' && *c != ',' && *c != '\0') {
      item += *c;
      continue;
    }
    const std::string pair = trim(item);
    item.clear();
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      if (eq == std::string::npos) fail("option '" + pair + "' has no value: write key=value.");
      apply(&s, trim(pair.substr(0, eq)), trim(pair.substr(eq + 1)));
    }
    if (*c == '\0') break;
  }
  return s;
}

}  // namespace rt
}  // namespace bmx

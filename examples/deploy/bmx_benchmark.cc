// bmx_benchmark: how fast a converted model runs through libbmx_runtime on this machine, and
// where the time goes, layer by layer (no MXNet, no Python).
//
//   bmx_benchmark MODEL [INPUT] [--shape N,C,H,W] [--threads N] [--warmup N] [--runs N]
//                 [--min-seconds S] [--profile] [--trace OUT.json] [--json] [--top K]
//                 [--mean M,...] [--std S,...]
//
// INPUT is any file bmx_run takes, made the model's input tensor by the same rules
// (BMXInputFromFile / BMXInputFromPixels in bmx_predict.h): a .npy array, a PGM/PPM image, a PNG
// image when built with libpng, or raw little-endian float32; without it, random values.
//
// Exit status: 0 on success, 2 on bad input (options, a missing or unconverted model, a shape
// the model does not take, an input file of the wrong size), 1 on any other failure; errors
// are one line on stderr. Built for Linux (x86-64, aarch64) and for Node (web/web.mk).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <glob.h>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <bmx_predict.h>
#include <nlohmann/json.hpp>

#ifdef BMX_RUN_HAVE_PNG
#include "png_pixels.h"
#define IMAGE_FORMATS "PGM/PPM/PNG"
#else
#define IMAGE_FORMATS "PGM/PPM"
#endif

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* const kProg = "bmx_benchmark";
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

[[noreturn]] void fail(int status, const std::string& message) {
  std::fprintf(stderr, "%s: error: %s%s\n", kProg, message.c_str(),
               status == kExitUsage ? " (see bmx_benchmark --help)" : "");
  std::exit(status);
}

// A refused input file: the runtime's sentence names the file, what it holds and the shape the
// model takes, so it stands alone (no pointer to --help); a usage error all the same.
[[noreturn]] void input_error() {
  const char* msg = BMXGetLastError();
  std::fprintf(stderr, "%s: error: %s\n", kProg,
               msg && *msg ? msg : "the input does not fit the model");
  std::exit(kExitUsage);
}

void usage() {
  std::printf(
      "usage: %s MODEL [INPUT] [--shape N,C,H,W] [--threads N] [--warmup N] [--runs N]\n"
      "                     [--min-seconds S] [--profile] [--trace OUT.json] [--json]\n"
      "                     [--top K] [--mean M,...] [--std S,...]\n"
      "\n"
      "Times a converted model's forward pass through libbmx_runtime and says where the time\n"
      "goes.\n"
      "\n"
      "  MODEL          model prefix (PREFIX-symbol.json + highest PREFIX-NNNN.params), or the\n"
      "                 path of either file; convert a trained model with model-converter first\n"
      "  INPUT          the input, as bmx_run reads it: a .npy array, a " IMAGE_FORMATS " image\n"
      "                 (pixels scaled to [0, 1], resized to the input shape), or raw\n"
      "                 little-endian float32 (default: random values in [-1, 1])\n"
      "  --shape        input shape, batch first (default: the shape recorded at export or\n"
      "                 conversion)\n"
      "  --mean         per-channel mean subtracted from image pixels scaled to [0, 1]\n"
      "  --std          per-channel standard deviation the pixels are divided by\n"
      "  --threads      kernel threads (default: OMP_NUM_THREADS, else all hardware threads)\n"
      "  --warmup       untimed forwards first (default 3)\n"
      "  --runs         timed forwards (default 10; with --min-seconds: at least this many)\n"
      "  --min-seconds  time forwards until this many seconds have passed (default 1 unless\n"
      "                 --runs is given)\n"
      "  --profile      per-layer table: node, op, kernel (binary instruction set or float\n"
      "                 library), output shape, binary and float MACs, median time and share,\n"
      "                 and totals per kind (binary layers, float layers, data movement) with\n"
      "                 their MACs per second; the profiled forwards run after the timed\n"
      "                 ones, as many, so the latency figures are of forwards that time nothing\n"
      "  --trace FILE   write the profiled forwards as a Chrome trace-event file (JSON) that\n"
      "                 Perfetto (ui.perfetto.dev) and chrome://tracing open; implies the\n"
      "                 profiled runs\n"
      "  --json         print one JSON object instead of the text report\n"
      "  --top          classes reported per sample of the output (default 5)\n"
      "\n"
      "Reports load time (reading the files and planning), latency (min, median, p90, max),\n"
      "peak memory (the process's maximum resident set; under Node, the WebAssembly memory) and\n"
      "the output: its shape and, per sample, its top-K classes with their scores, as bmx_run\n"
      "prints them.\n"
      "Exit status: 0 on success, 2 on bad input, 1 on any other failure.\n",
      kProg);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// MODEL -> its symbol and params paths, as bmx_run resolves it.
void resolve_model(const std::string& model, std::string* symbol, std::string* params) {
  std::string prefix = model;
  params->clear();
  const size_t n = model.size();
  if (ends_with(model, "-symbol.json")) {
    prefix = model.substr(0, n - std::strlen("-symbol.json"));
  } else if (n > 12 && ends_with(model, ".params") && model[n - 12] == '-' &&
             std::all_of(model.begin() + n - 11, model.begin() + n - 7,
                         [](char c) { return c >= '0' && c <= '9'; })) {
    *params = model;
    prefix = model.substr(0, n - 12);
  }
  *symbol = prefix + "-symbol.json";
  if (!std::ifstream(*symbol).good()) {
    fail(kExitUsage, "cannot open " + *symbol + " (give a model prefix, its -symbol.json or its "
                     "-NNNN.params)");
  }
  if (params->empty()) {
    glob_t found;
    const std::string pattern = prefix + "-[0-9][0-9][0-9][0-9].params";
    if (glob(pattern.c_str(), 0, nullptr, &found) != 0 || found.gl_pathc == 0) {
      fail(kExitUsage, "no " + prefix + "-NNNN.params next to " + *symbol);
    }
    *params = found.gl_pathv[found.gl_pathc - 1];  // sorted: the highest epoch
    globfree(&found);
  }
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(kExitUsage, std::string("cannot open ") + what + " file " + path);
  std::ostringstream out;
  out << f.rdbuf();
  if (f.bad()) fail(kExitFailure, std::string("cannot read ") + what + " file " + path);
  return out.str();
}

// "N,C,H,W" -> dims; empty when malformed.
std::vector<uint32_t> parse_dims(const std::string& text) {
  std::vector<uint32_t> dims;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty() || part.size() > 9 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return {};
    }
    const unsigned long v = std::stoul(part);
    if (v == 0) return {};
    dims.push_back(static_cast<uint32_t>(v));
  }
  if (dims.size() > 8 || text.empty() || text.back() == ',') return {};
  return dims;
}

// The shape recorded in the symbol (bmx_input_shape on its data node, as bmxnet.export writes
// it; read by the runtime, as bmx_run reads it); empty when none is recorded.
std::vector<uint32_t> recorded_shape(const std::string& symbol_json, const std::string& path) {
  uint32_t dims[32];
  uint32_t ndim = 0;
  if (BMXSymbolInputShape(symbol_json.c_str(), dims, 32, &ndim) != 0) {
    fail(kExitUsage, path + ": " + BMXGetLastError());
  }
  return std::vector<uint32_t>(dims, dims + ndim);
}

std::string dims_str(const uint32_t* dims, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s;
}

long parse_count(const std::string& text, const std::string& option, long min) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < min || v > 1000000000L) {
    fail(kExitUsage, "bad " + option + " '" + text + "': expected an integer of at least " +
                         std::to_string(min));
  }
  return v;
}

void check(int rc, const std::string& what, int status = kExitFailure) {
  if (rc != 0) {
    const char* msg = BMXGetLastError();
    fail(status, what + " failed: " + (msg && *msg ? msg : "no message from the runtime"));
  }
}

double quantile(const std::vector<double>& sorted, double q) {
  // The nearest rank: the smallest value with at least q of the values at or below it.
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[rank == 0 ? 0 : rank - 1];
}

struct StepTotals {
  std::string node, op, kernel, kind, shape;
  int64_t binary_macs = 0, float_macs = 0;
  std::vector<double> runs;  // its time in each profiled forward
  double seconds = 0.0;      // the median of runs
};

const char* const kKinds[] = {"binary", "float", "data"};
const char* kind_label(const std::string& kind) {
  if (kind == "binary") return "binary layers";
  if (kind == "float") return "float layers";
  return "data movement";
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// 1234567 -> "1.23M": MAC counts in the table.
std::string count_str(int64_t n) {
  if (n == 0) return "-";
  if (n >= 1000000000) return fmt("%.2fG", static_cast<double>(n) / 1e9);
  if (n >= 1000000) return fmt("%.2fM", static_cast<double>(n) / 1e6);
  if (n >= 1000) return fmt("%.1fK", static_cast<double>(n) / 1e3);
  return std::to_string(n);
}

// A kind's multiply-accumulates per second (binary and float apart: a kind holds one of them);
// 0 without MACs or time.
double macs_per_second(const StepTotals& k) {
  const int64_t macs = k.binary_macs + k.float_macs;
  return macs > 0 && k.seconds > 0 ? static_cast<double>(macs) / k.seconds : 0.0;
}

// "M,..." -> 1 to 8 finite floats (--mean, --std).
std::vector<float> parse_floats(const std::string& text, const std::string& option) {
  std::vector<float> values;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(part.c_str(), &end);
    if (part.empty() || end == part.c_str() || *end != '\0' || errno != 0 || !std::isfinite(v) ||
        values.size() == 8) {
      fail(kExitUsage, "bad " + option + " '" + text + "': expected 1 to 8 numbers separated by "
                       "commas");
    }
    values.push_back(static_cast<float>(v));
  }
  if (values.empty() || text.back() == ',') {
    fail(kExitUsage, "bad " + option + " '" + text + "': expected 1 to 8 numbers separated by "
                     "commas");
  }
  return values;
}

// INPUT as the model's input tensor, by the rules bmx_run and `bmxnet predict` share
// (BMXInputFromFile / BMXInputFromPixels). shape: --shape, else the recorded one (empty: neither).
BMXInputHandle load_input(const std::string& path, const std::string& bytes,
                          const std::vector<uint32_t>& shape, const std::vector<float>& mean,
                          const std::vector<float>& std_dev) {
  BMXInputHandle in = nullptr;
  const char* format = "";
  int needs_decoding = 0;
  check(BMXInputFormat(bytes.data(), bytes.size(), &format, &needs_decoding),
        "reading the input");
  const uint32_t ndim = static_cast<uint32_t>(shape.size());
  const uint32_t n_mean = static_cast<uint32_t>(mean.size());
  const uint32_t n_std = static_cast<uint32_t>(std_dev.size());
  if (needs_decoding) {
#ifdef BMX_RUN_HAVE_PNG
    if (std::strcmp(format, "png") == 0) {
      unsigned char* pixels = nullptr;
      uint32_t height = 0, width = 0, channels = 0;
      char reason[128];
      const bmx_png_status status =
          bmx_png_pixels(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                         &pixels, &height, &width, &channels, reason, sizeof reason);
      if (status == BMX_PNG_OUT_OF_MEMORY) fail(kExitFailure, "out of memory for the image");
      if (status != BMX_PNG_OK) {
        fail(kExitUsage, path + " is not a readable PNG image (" + reason + ")");
      }
      const int rc = BMXInputFromPixels(path.c_str(), pixels, height, width, channels,
                                        shape.data(), ndim, mean.data(), n_mean, std_dev.data(),
                                        n_std, &in);
      std::free(pixels);
      if (rc != 0) input_error();
      return in;
    }
#endif
    fail(kExitUsage, path + " is a " + format + " image, which this bmx_benchmark does not "
                     "decode; convert it to " IMAGE_FORMATS " or to .npy");
  }
  if (std::strcmp(format, "raw") == 0 && shape.empty()) {
    fail(kExitUsage, path + " is not a .npy array or a " IMAGE_FORMATS " image, so it is read "
                     "as raw float32, and the model records no input shape: give it with "
                     "--shape");
  }
  if (BMXInputFromFile(path.c_str(), bytes.data(), bytes.size(), shape.data(), ndim, mean.data(),
                       n_mean, std_dev.data(), n_std, &in) != 0) {
    input_error();
  }
  return in;
}

// The k best classes of each sample of an output (batch first): (class, score) pairs, best
// first; ties keep the lower class first, as bmx_run's list does.
std::vector<std::vector<std::pair<uint32_t, float>>> top_classes(const std::vector<float>& out,
                                                                 uint32_t batch, long k) {
  std::vector<std::vector<std::pair<uint32_t, float>>> tops;
  const size_t classes = batch ? out.size() / batch : 0;
  if (classes == 0) return tops;
  for (uint32_t s = 0; s < batch; ++s) {
    std::vector<uint32_t> order(classes);
    for (uint32_t i = 0; i < classes; ++i) order[i] = i;
    const float* row = out.data() + s * classes;
    const size_t n = std::min<size_t>(static_cast<size_t>(k), classes);
    std::stable_sort(order.begin(), order.end(),
                     [row](uint32_t a, uint32_t b) { return row[a] > row[b]; });
    tops.emplace_back();
    for (size_t j = 0; j < n; ++j) tops.back().emplace_back(order[j], row[order[j]]);
  }
  return tops;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string shape_text, trace_path;
  std::vector<float> mean_values, std_values;
  long threads = 0, warmup = 3, runs = -1, top = 5;
  double min_seconds = -1.0;
  bool profile = false, as_json = false;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    }
    if (arg == "--profile") {
      profile = true;
      continue;
    }
    if (arg == "--json") {
      as_json = true;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      // The name first: a misspelt option at the end is unknown, not missing its value.
      if (arg != "--shape" && arg != "--threads" && arg != "--warmup" && arg != "--runs" &&
          arg != "--min-seconds" && arg != "--trace" && arg != "--top" && arg != "--mean" &&
          arg != "--std") {
        fail(kExitUsage, "unknown option '" + arg + "'");
      }
      if (i + 1 >= argc) fail(kExitUsage, arg + " needs a value");
      const std::string value = argv[++i];
      if (arg == "--shape") shape_text = value;
      else if (arg == "--threads") threads = parse_count(value, arg, 1);
      else if (arg == "--warmup") warmup = parse_count(value, arg, 0);
      else if (arg == "--runs") runs = parse_count(value, arg, 1);
      else if (arg == "--trace") trace_path = value;
      else if (arg == "--top") top = parse_count(value, arg, 1);
      else if (arg == "--mean") mean_values = parse_floats(value, arg);
      else if (arg == "--std") std_values = parse_floats(value, arg);
      else {
        char* end = nullptr;
        min_seconds = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end != '\0' || !(min_seconds > 0.0) || min_seconds > 1e6) {
          fail(kExitUsage, "bad --min-seconds '" + value + "': expected a positive number");
        }
      }
      continue;
    }
    if (positional.size() == 2) fail(kExitUsage, "unexpected argument '" + arg + "'");
    positional.push_back(arg);
  }
  if (positional.empty()) fail(kExitUsage, "MODEL is required");
  if (runs < 0 && min_seconds < 0) min_seconds = 1.0;
  if (runs < 0) runs = 10;
  const bool profiled = profile || !trace_path.empty();

  // Loading: the files read and the model planned, as an application does at start.
  const Clock::time_point load_start = Clock::now();
  std::string symbol_path, params_path;
  resolve_model(positional[0], &symbol_path, &params_path);
  const std::string symbol_json = read_file(symbol_path, "symbol");
  const std::string params = read_file(params_path, "params");
  if (params.size() > 0x7fffffffu) {
    fail(kExitUsage, "params file " + params_path + " is over 2 GiB");
  }
  std::vector<uint32_t> shape;
  if (!shape_text.empty()) {
    shape = parse_dims(shape_text);
    if (shape.empty()) {
      fail(kExitUsage, "bad --shape '" + shape_text + "': expected 1 to 8 positive integers "
                       "separated by commas, batch first (e.g. 1,3,224,224)");
    }
  } else {
    shape = recorded_shape(symbol_json, symbol_path);
    if (shape.empty() && positional.size() < 2) {
      fail(kExitUsage, symbol_path + " records no input shape; give it with --shape N,C,H,W");
    }
  }
  std::vector<float> input;
  std::string input_desc;
  if (positional.size() == 2) {
    // The file's tensor sets the shape: a .npy may hold a batch, an image keeps its own size
    // when the model records none.
    const std::string bytes = read_file(positional[1], "input");
    BMXInputHandle in = load_input(positional[1], bytes, shape, mean_values, std_values);
    const uint32_t* dims = nullptr;
    uint32_t ndim = 0, size = 0;
    const float* data = nullptr;
    check(BMXInputGetShape(in, &dims, &ndim), "reading the input shape");
    check(BMXInputGetData(in, &data, &size), "reading the input");
    shape.assign(dims, dims + ndim);
    input.assign(data, data + size);
    BMXInputFree(in);
    input_desc = positional[1];
  } else {
    uint64_t count = 1;
    for (uint32_t d : shape) {
      count *= d;
      if (count > 0x3fffffffu) {
        fail(kExitUsage, "input shape " + dims_str(shape.data(), shape.size()) + " is too large");
      }
    }
    input.resize(count);
    std::mt19937 rng(0);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& v : input) v = uniform(rng);
    input_desc = "random";
  }
  const char* keys[] = {"data"};
  const uint32_t indptr[] = {0, static_cast<uint32_t>(shape.size())};
  BMXPredictorHandle pred = nullptr;
  if (BMXPredCreate(symbol_json.c_str(), params.data(), static_cast<int>(params.size()), 1, 0, 1,
                    keys, indptr, shape.data(), &pred) != 0) {
    fail(kExitUsage, "loading " + symbol_path + " with input shape " +
                         dims_str(shape.data(), shape.size()) + " failed: " + BMXGetLastError());
  }
  if (threads > 0) {
    check(BMXPredSetNumThreads(pred, static_cast<int>(threads)), "setting --threads");
  }
  const double load_seconds = std::chrono::duration<double>(Clock::now() - load_start).count();
  check(BMXPredSetInput(pred, "data", input.data(), static_cast<uint32_t>(input.size())),
        "setting the input", kExitUsage);
  const char* plan_text = nullptr;
  check(BMXPredGetPlan(pred, &plan_text), "reading the plan");
  const json plan = json::parse(plan_text);

  for (long i = 0; i < warmup; ++i) check(BMXPredForward(pred), "the forward pass");
  std::vector<double> latencies;
  const Clock::time_point timed_start = Clock::now();
  for (;;) {
    const Clock::time_point start = Clock::now();
    check(BMXPredForward(pred), "the forward pass");
    const Clock::time_point end = Clock::now();
    latencies.push_back(std::chrono::duration<double>(end - start).count());
    if (static_cast<long>(latencies.size()) >= runs &&
        (min_seconds < 0 ||
         std::chrono::duration<double>(end - timed_start).count() >= min_seconds)) {
      break;
    }
  }
  std::vector<double> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0.0;
  for (double v : latencies) mean += v / static_cast<double>(latencies.size());

  // Profiled forwards: as many as the timed ones.
  std::vector<StepTotals> steps;
  std::vector<double> profiled_forwards;
  json trace_events = json::array();
  if (profiled) {
    trace_events.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1},
                            {"args", {{"name", "bmx_benchmark " + symbol_path}}}});
    trace_events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", 1},
                            {"args", {{"name", "forward"}}}});
    const Clock::time_point origin = Clock::now();
    for (size_t r = 0; r < latencies.size(); ++r) {
      const BMXStepProfile* rows = nullptr;
      uint32_t n = 0;
      double forward_seconds = 0.0;
      const Clock::time_point start = Clock::now();
      check(BMXPredForwardProfiled(pred, &rows, &n, &forward_seconds), "the profiled forward pass");
      profiled_forwards.push_back(forward_seconds);
      const double base_us = std::chrono::duration<double>(start - origin).count() * 1e6;
      if (steps.empty()) {
        steps.resize(n);
        for (uint32_t s = 0; s < n; ++s) {
          steps[s].node = rows[s].node;
          steps[s].op = rows[s].op;
          steps[s].kernel = rows[s].kernel;
          steps[s].kind = rows[s].kind;
          steps[s].shape = dims_str(rows[s].output_shape, rows[s].output_ndim);
          steps[s].binary_macs = rows[s].binary_macs;
          steps[s].float_macs = rows[s].float_macs;
        }
      }
      for (uint32_t s = 0; s < n; ++s) steps[s].runs.push_back(rows[s].seconds);
      if (!trace_path.empty()) {
        trace_events.push_back({{"name", "forward"}, {"cat", "forward"}, {"ph", "X"},
                                {"ts", base_us}, {"dur", forward_seconds * 1e6}, {"pid", 1},
                                {"tid", 1}, {"args", {{"run", r}}}});
        for (uint32_t s = 0; s < n; ++s) {
          trace_events.push_back(
              {{"name", steps[s].node}, {"cat", steps[s].kind}, {"ph", "X"},
               {"ts", base_us + rows[s].start_seconds * 1e6}, {"dur", rows[s].seconds * 1e6},
               {"pid", 1}, {"tid", 1},
               {"args", {{"op", steps[s].op}, {"kernel", steps[s].kernel},
                         {"output_shape", steps[s].shape}, {"binary_macs", steps[s].binary_macs},
                         {"float_macs", steps[s].float_macs}, {"run", r}}}});
        }
      }
    }
  }

  // The output of the last forward, as bmx_run reports it: its shape and each sample's best
  // classes.
  uint32_t* out_dims = nullptr;
  uint32_t out_ndim = 0;
  check(BMXPredGetOutputShape(pred, 0, &out_dims, &out_ndim), "reading the output shape");
  const std::vector<uint32_t> out_shape(out_dims, out_dims + out_ndim);
  uint64_t out_count = 1;
  for (uint32_t d : out_shape) out_count *= d;
  std::vector<float> output(out_count);
  check(BMXPredGetOutput(pred, 0, output.data(), static_cast<uint32_t>(out_count)),
        "reading the output");
  const auto tops = top_classes(output, out_ndim ? out_shape[0] : 0, top);

  long peak_kib = 0;
#ifdef __EMSCRIPTEN__
  // The WebAssembly memory: it grows when the heap needs more and never shrinks.
  peak_kib = static_cast<long>(__builtin_wasm_memory_size(0) * 64);
#else
  struct rusage usage_now;
  if (getrusage(RUSAGE_SELF, &usage_now) == 0) peak_kib = usage_now.ru_maxrss;  // KiB on Linux
#endif

  if (!trace_path.empty()) {
    const json trace = {{"traceEvents", trace_events}, {"displayTimeUnit", "ms"},
                        {"otherData", {{"model", symbol_path},
                                       {"input_shape", dims_str(shape.data(), shape.size())},
                                       {"isa", plan.value("isa", "")},
                                       {"float_backend", plan.value("float_backend", "")}}}};
    std::ofstream out(trace_path);
    out << trace.dump() << "\n";
    if (!out.good()) fail(kExitFailure, "cannot write trace file " + trace_path);
  }

  // Medians, per step and per forward: on a shared machine a few forwards are preempted, and
  // a mean would charge that wait to whichever steps it hit.
  std::map<std::string, StepTotals> by_kind;
  std::map<std::string, int> layers_of_kind;
  double step_sum = 0.0, profiled_median = 0.0;
  if (profiled) {
    std::sort(profiled_forwards.begin(), profiled_forwards.end());
    profiled_median = quantile(profiled_forwards, 0.5);
  }
  for (StepTotals& s : steps) {
    std::sort(s.runs.begin(), s.runs.end());
    s.seconds = quantile(s.runs, 0.5);
    step_sum += s.seconds;
    StepTotals& k = by_kind[s.kind];
    k.binary_macs += s.binary_macs;
    k.float_macs += s.float_macs;
    k.seconds += s.seconds;
    ++layers_of_kind[s.kind];
  }

  const std::string shape_str = dims_str(shape.data(), shape.size());
  if (as_json) {
    json report = {
        {"model", symbol_path},
        {"params", params_path},
        {"input_shape", shape},
        {"input", input_desc},
        {"threads", threads > 0 ? json(threads) : json(nullptr)},
        {"isa", plan.value("isa", "")},
        {"float_backend", plan.value("float_backend", "")},
        {"load_seconds", load_seconds},
        {"warmup", warmup},
        {"runs", latencies.size()},
        {"latency_seconds",
         {{"min", sorted.front()}, {"median", quantile(sorted, 0.5)},
          {"p90", quantile(sorted, 0.9)}, {"max", sorted.back()}, {"mean", mean}}},
        {"peak_rss_bytes", static_cast<int64_t>(peak_kib) * 1024},
        {"arena_bytes", plan.value("arena_bytes", 0)},
        {"weight_bytes", plan.value("weight_bytes", 0)}};
    json samples = json::array();
    for (const auto& sample : tops) {
      json best = json::array();
      for (const auto& c : sample) best.push_back({{"class", c.first}, {"score", c.second}});
      samples.push_back(best);
    }
    report["output"] = {{"shape", out_shape}, {"top", samples}};
    if (profiled) {
      json rows = json::array();
      for (const StepTotals& s : steps) {
        rows.push_back({{"node", s.node}, {"op", s.op}, {"kernel", s.kernel}, {"kind", s.kind},
                        {"output_shape", s.shape}, {"binary_macs", s.binary_macs},
                        {"float_macs", s.float_macs}, {"seconds", s.seconds},
                        {"share", step_sum > 0 ? s.seconds / step_sum : 0.0}});
      }
      json totals = json::object();
      for (const char* kind : kKinds) {
        const StepTotals& k = by_kind[kind];
        totals[kind] = {{"layers", layers_of_kind[kind]}, {"binary_macs", k.binary_macs},
                        {"float_macs", k.float_macs}, {"seconds", k.seconds},
                        {"share", step_sum > 0 ? k.seconds / step_sum : 0.0},
                        {"macs_per_second", macs_per_second(k)}};
      }
      report["profile"] = {{"runs", profiled_forwards.size()},
                           {"forward_seconds_median", profiled_median},
                           {"steps_seconds_sum", step_sum},
                           {"steps", rows},
                           {"totals", totals}};
    }
    if (!trace_path.empty()) report["trace"] = trace_path;
    std::printf("%s\n", report.dump(2).c_str());
  } else {
    std::printf("model:        %s\n", symbol_path.c_str());
    std::printf("input:        data %s (%s)\n", shape_str.c_str(), input_desc.c_str());
    std::printf("kernels:      binary %s, float %s, threads %s\n",
                plan.value("isa", "?").c_str(), plan.value("float_backend", "?").c_str(),
                threads > 0 ? std::to_string(threads).c_str() : "default");
    std::printf("load:         %.2f ms (read and plan)\n", load_seconds * 1e3);
    std::printf("latency:      min %.3f ms, median %.3f ms, p90 %.3f ms, max %.3f ms "
                "(%zu runs after %ld warm-up)\n",
                sorted.front() * 1e3, quantile(sorted, 0.5) * 1e3, quantile(sorted, 0.9) * 1e3,
                sorted.back() * 1e3, latencies.size(), warmup);
    std::printf("peak memory:  %.1f MiB (%s; arena %.1f MiB, weights %.1f MiB)\n",
                static_cast<double>(peak_kib) / 1024.0,
#ifdef __EMSCRIPTEN__
                "WebAssembly memory",
#else
                "maximum resident set",
#endif
                plan.value("arena_bytes", 0.0) / 1048576.0,
                plan.value("weight_bytes", 0.0) / 1048576.0);
    std::printf("output:       %s\n", dims_str(out_shape.data(), out_shape.size()).c_str());
    for (size_t s = 0; s < tops.size(); ++s) {
      std::printf("  sample %zu: top-%zu classes", s, tops[s].size());
      for (const auto& c : tops[s]) std::printf(" %u(%.6g)", c.first, c.second);
      std::printf("\n");
    }
    if (profile) {
      size_t w = 4;
      for (const StepTotals& s : steps) w = std::max(w, s.node.size());
      w = std::min<size_t>(w, 48);
      std::printf("\nper layer (median of %zu profiled forwards):\n", profiled_forwards.size());
      std::printf("%-*s  %-22s %-15s %-14s %10s %10s %10s %6s\n", static_cast<int>(w), "node",
                  "op", "kernel", "output", "bin MACs", "float MACs", "time ms", "share");
      for (const StepTotals& s : steps) {
        std::printf("%-*s  %-22s %-15s %-14s %10s %10s %10.4f %5.1f%%\n", static_cast<int>(w),
                    s.node.c_str(), s.op.c_str(), s.kernel.c_str(), s.shape.c_str(),
                    count_str(s.binary_macs).c_str(), count_str(s.float_macs).c_str(),
                    s.seconds * 1e3, step_sum > 0 ? 100.0 * s.seconds / step_sum : 0.0);
      }
      std::printf("\ntotals per kind:\n");
      for (const char* kind : kKinds) {
        const StepTotals& k = by_kind[kind];
        const double rate = macs_per_second(k);
        std::printf("  %-14s %4d layers %10s bin MACs %10s float MACs %10.4f ms %5.1f%%%s\n",
                    kind_label(kind), layers_of_kind[kind], count_str(k.binary_macs).c_str(),
                    count_str(k.float_macs).c_str(), k.seconds * 1e3,
                    step_sum > 0 ? 100.0 * k.seconds / step_sum : 0.0,
                    rate > 0 ? fmt(" %8.1f GMAC/s", rate / 1e9).c_str() : "");
      }
      std::printf("  layers sum     %.4f ms = %.1f%% of the median forward (%.4f ms profiled, "
                  "%.4f ms unprofiled)\n",
                  step_sum * 1e3, 100.0 * step_sum / quantile(sorted, 0.5), profiled_median * 1e3,
                  quantile(sorted, 0.5) * 1e3);
    }
    if (!trace_path.empty()) std::printf("trace:        %s\n", trace_path.c_str());
  }
  if (std::fflush(stdout) != 0) fail(kExitFailure, "cannot write to stdout");
  BMXPredFree(pred);
  return 0;
}

// One input file -> a model's input tensor (input_file.h, BMXInputFromFile/FromPixels): each
// format by its first bytes, .npy dtypes and byte orders, 8- and 16-bit PGM/PPM, raw float32
// batches, the fitting rules (batch and channel axes, gray <-> RGB, bilinear resize, mean/std)
// and the recorded input shape; and what cannot fit, refused with the shape the model takes.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "error.h"
#include "input_file.h"
#include "runtime_test_util.h"

namespace {

using bmx::rt::InputTensor;
using bmx::rt::Normalization;
using Bytes = std::vector<uint8_t>;
using Shape = std::vector<uint32_t>;

const Shape kGray = {1, 1, 4, 4};

Bytes bytes_of(const std::string& text) { return Bytes(text.begin(), text.end()); }

void append(Bytes* out, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + n);
}

// A version-1 .npy file: header dict, padded as numpy pads it, then the data bytes.
Bytes npy(const std::string& descr, const std::string& shape, const Bytes& data,
          const std::string& order = "False") {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + order +
                       ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  Bytes out = bytes_of("\x93NUMPY");
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(header.size() & 0xff));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  append(&out, header.data(), header.size());
  append(&out, data.data(), data.size());
  return out;
}

Bytes floats(const std::vector<float>& v) {
  Bytes out;
  append(&out, v.data(), v.size() * sizeof(float));
  return out;
}

// The tensor, or the error's sentence in *error.
InputTensor from_file(const Bytes& b, const Shape& model, std::string* error = nullptr,
                      const Normalization& norm = {}) {
  try {
    if (error) error->clear();
    return bmx::rt::input_from_file("f", b.data(), b.size(), model, norm);
  } catch (const bmx::rt::Error& e) {
    if (error) *error = e.what();
    return {};
  }
}

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

void test_formats() {
  using bmx::rt::input_format;
  using bmx::rt::input_format_name;
  const std::pair<std::string, const char*> cases[] = {
      {std::string("\x93NUMPY\x01\x00", 8), "npy"}, {"P5 2 2 255\n", "pgm"},
      {"P6\n2 2 255\n", "ppm"}, {"\x89PNG\r\n\x1a\n....", "png"}, {"\xff\xd8\xff\xe0", "jpeg"},
      {"GIF89a", "gif"}, {"RIFF....WEBPVP8 ", "webp"}, {std::string("II*\0", 4), "tiff"},
      {"P5", "raw"}, {"", "raw"}, {"\x01\x02\x03\x04", "raw"}};
  for (const auto& c : cases) {
    const Bytes b = bytes_of(c.first);
    const char* got = input_format_name(input_format(b.data(), b.size()));
    CHECK(std::strcmp(got, c.second) == 0, "format of '%s': %s, expected %s", c.first.c_str(),
          got, c.second);
  }
  std::string error;
  from_file(bytes_of("\x89PNG\r\n\x1a\n...."), kGray, &error);
  CHECK(has(error, "f is a PNG image") && has(error, "BMXInputFromPixels"), "%s", error.c_str());
}

void test_npy() {
  // uint8 (4, 4): the values as they are, batch and channel axes added.
  Bytes u8(16);
  for (int i = 0; i < 16; ++i) u8[i] = static_cast<uint8_t>(i * 10);
  InputTensor t = from_file(npy("|u1", "(4, 4)", u8), kGray);
  CHECK(t.shape == Shape({1, 1, 4, 4}) && t.values.size() == 16 && t.values[15] == 150.0f,
        "uint8 (4, 4) -> (1, 1, 4, 4) as it is");
  // big-endian float64, a batch of 3 of (1, 4, 4)
  Bytes be;
  for (int i = 0; i < 48; ++i) {
    const double d = i * 0.5;
    uint8_t b[8];
    std::memcpy(b, &d, 8);
    for (int k = 7; k >= 0; --k) be.push_back(b[k]);
  }
  t = from_file(npy(">f8", "(3, 1, 4, 4)", be), kGray);
  CHECK(t.shape == Shape({3, 1, 4, 4}) && t.values[47] == 23.5f, ">f8 batch of 3");
  // int16, bool
  Bytes i16;
  for (int16_t v : {-3, 7}) append(&i16, &v, 2);
  t = from_file(npy("<i2", "(2,)", i16), {1, 2});
  CHECK(t.shape == Shape({1, 2}) && t.values == std::vector<float>({-3.0f, 7.0f}), "<i2");
  t = from_file(npy("|b1", "(2,)", Bytes{0, 1}), {1, 2});
  CHECK(t.values == std::vector<float>({0.0f, 1.0f}), "|b1");
  // no model shape: a 3-d array gets a batch axis, others stay
  t = from_file(npy("<f4", "(1, 4, 4)", floats(std::vector<float>(16))), {});
  CHECK(t.shape == Shape({1, 1, 4, 4}), "3-d array, no model shape: batch added");

  std::string error;
  from_file(npy("<f4", "(5, 5)", floats(std::vector<float>(25))), kGray, &error);
  CHECK(error == "f holds an array of shape (5, 5), but the model's input is (1, 1, 4, 4): give "
                 "one sample of shape (1, 4, 4) or (4, 4), or a batch (N, 1, 4, 4).",
        "cannot fit: %s", error.c_str());
  from_file(npy("<c8", "(2,)", Bytes(16)), {1, 2}, &error);
  CHECK(has(error, "dtype <c8") && has(error, "float32"), "complex: %s", error.c_str());
  from_file(npy("<f4", "(2, 2)", floats({1, 2, 3, 4}), "True"), {1, 2, 2}, &error);
  CHECK(has(error, "Fortran order"), "fortran: %s", error.c_str());
  from_file(npy("<f4", "(4, 4)", floats({1, 2})), kGray, &error);
  CHECK(has(error, "truncated .npy"), "truncated: %s", error.c_str());
  Normalization norm;
  norm.mean = {0.5f};
  from_file(npy("<f4", "(4, 4)", floats(std::vector<float>(16))), kGray, &error, norm);
  CHECK(has(error, "apply to images only"), "mean on an array: %s", error.c_str());
}

void test_raw() {
  std::vector<float> v(32);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) - 3.5f;
  InputTensor t = from_file(floats(v), kGray);
  CHECK(t.shape == Shape({2, 1, 4, 4}) && t.values == v, "raw: two whole samples");
  std::string error;
  from_file(floats(std::vector<float>(20)), kGray, &error);
  CHECK(error == "f holds 80 bytes of raw float32 values, not whole samples of the model's input "
                 "(1, 1, 4, 4) (64 bytes each).", "raw, not whole: %s", error.c_str());
  from_file(floats(v), {}, &error);
  CHECK(has(error, "records no input shape"), "raw, no shape: %s", error.c_str());
}

void test_images() {
  // 16-bit PGM: big-endian values over maxval
  Bytes pgm = bytes_of("P5 2 1 1000\n");
  for (uint8_t b : {0x01, 0xf4, 0x03, 0xe8}) pgm.push_back(b);  // 500, 1000
  InputTensor t = from_file(pgm, {});
  CHECK(t.shape == Shape({1, 1, 1, 2}) && t.values == std::vector<float>({0.5f, 1.0f}),
        "16-bit PGM at its own size");
  // A gray PPM (R = G = B) to a gray model: the luma gives each value back exactly.
  Bytes ppm = bytes_of("P6 4 4 255\n"), gray = bytes_of("P5 4 4 255\n");
  std::vector<float> want;
  for (int i = 0; i < 16; ++i) {
    const uint8_t v = static_cast<uint8_t>(i * 17 + 3);
    for (int c = 0; c < 3; ++c) ppm.push_back(v);
    gray.push_back(v);
    want.push_back(static_cast<float>(v) / 255.0f);
  }
  t = from_file(ppm, kGray);
  CHECK(t.shape == kGray && t.values == want, "gray PPM -> gray model, exactly");
  // gray -> RGB model, resized 4x4 -> 2x2 (half-pixel: each output the mean of a 2x2 block)
  t = from_file(gray, {1, 3, 2, 2});
  const float block = (want[0] + want[1] + want[4] + want[5]) / 4;
  CHECK(t.shape == Shape({1, 3, 2, 2}) && std::fabs(t.values[0] - block) < 1e-6f &&
            t.values[0] == t.values[4] && t.values[4] == t.values[8],
        "gray -> RGB, resized: %g vs %g", t.values.empty() ? -1.0 : t.values[0], block);
  // upscaling 2 -> 4 on a row: half-pixel centres, edges clamped
  const uint8_t row[] = {0, 255};
  t = bmx::rt::input_from_pixels("p", row, 1, 2, 1, {1, 1, 1, 4}, {});
  CHECK(t.values == std::vector<float>({0.0f, 0.25f, 0.75f, 1.0f}), "bilinear 2 -> 4: %g %g %g %g",
        t.values[0], t.values[1], t.values[2], t.values[3]);
  // RGB + alpha: alpha dropped; mean / std per channel
  const uint8_t rgba[] = {255, 0, 51, 7};
  Normalization norm;
  norm.mean = {0.5f, 0.0f, 0.0f};
  norm.std = {0.5f};
  t = bmx::rt::input_from_pixels("p", rgba, 1, 1, 4, {1, 3, 1, 1}, norm);
  CHECK(t.values == std::vector<float>({1.0f, 0.0f, 0.4f}), "RGBA, mean/std: %g %g %g",
        t.values[0], t.values[1], t.values[2]);

  std::string error;
  try {
    bmx::rt::input_from_pixels("p", rgba, 1, 1, 4, {1, 784}, {});
  } catch (const bmx::rt::Error& e) {
    error = e.what();
  }
  CHECK(has(error, "p holds a 1x1 RGB image, but the model's input is (1, 784)"), "%s",
        error.c_str());
  norm.mean = {0.1f, 0.2f};
  from_file(ppm, kGray, &error, norm);
  CHECK(error == "the mean and std take 1 value (one channel), got 2 for f.",
        "mean count: %s", error.c_str());
  from_file(bytes_of("P5 28 28 255\n" + std::string(100, '\0')), kGray, &error);
  CHECK(has(error, "truncated PGM/PPM"), "short PGM: %s", error.c_str());
}

void test_recorded_shape_and_c_api() {
  const char* with = "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"attrs\": "
                     "{\"bmx_input_shape\": \"(1, 3, 32, 32)\"}, \"inputs\": []}], "
                     "\"arg_nodes\": [0], \"heads\": [[0, 0, 0]]}";
  const char* without = "{\"nodes\": [{\"op\": \"null\", \"name\": \"data\", \"inputs\": []}], "
                        "\"arg_nodes\": [0], \"heads\": [[0, 0, 0]]}";
  uint32_t dims[8], ndim = 99;
  CHECK(BMXSymbolInputShape(with, dims, 8, &ndim) == 0 && ndim == 4 && dims[1] == 3 &&
            dims[3] == 32, "recorded (1, 3, 32, 32): %s", BMXGetLastError());
  CHECK(BMXSymbolInputShape(without, dims, 8, &ndim) == 0 && ndim == 0, "none recorded");
  CHECK(BMXSymbolInputShape(with, dims, 2, &ndim) != 0, "capacity too small is an error");

  const char* format = nullptr;
  int decode = -1;
  CHECK(BMXInputFormat("\x89PNG\r\n\x1a\n", 8, &format, &decode) == 0 &&
            std::strcmp(format, "png") == 0 && decode == 1, "BMXInputFormat png");
  const std::vector<float> v(16, 0.25f);
  const Bytes raw = floats(v);
  BMXInputHandle h = nullptr;
  CHECK(BMXInputFromFile("x.f32", raw.data(), raw.size(), kGray.data(), 4, nullptr, 0, nullptr,
                         0, &h) == 0, "BMXInputFromFile: %s", BMXGetLastError());
  const uint32_t* shape = nullptr;
  const float* data = nullptr;
  uint32_t size = 0;
  CHECK(BMXInputGetShape(h, &shape, &ndim) == 0 && ndim == 4 && shape[0] == 1 && shape[2] == 4,
        "BMXInputGetShape");
  CHECK(BMXInputGetData(h, &data, &size) == 0 && size == 16 && data[15] == 0.25f,
        "BMXInputGetData");
  CHECK(BMXInputFree(h) == 0 && BMXInputFree(nullptr) == 0, "BMXInputFree");
  h = reinterpret_cast<BMXInputHandle>(1);
  CHECK(BMXInputFromFile("x.f32", raw.data(), 12, kGray.data(), 4, nullptr, 0, nullptr, 0,
                         &h) != 0 && h == nullptr &&
            has(BMXGetLastError(), "x.f32 holds 12 bytes"), "refused: %s", BMXGetLastError());
  CHECK(BMXInputFromFile("x", raw.data(), raw.size(), kGray.data(), 4, nullptr, 0, nullptr, 0,
                         nullptr) != 0, "a null output handle is an error");
}

}  // namespace

int main() {
  test_formats();
  test_npy();
  test_raw();
  test_images();
  test_recorded_shape_and_c_api();
  return rtest::finish("test_runtime_input_file");
}

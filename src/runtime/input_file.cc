#include "input_file.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "error.h"
#include "symbol.h"

// The resize's multiply-adds are never fused into FMAs (aarch64's compilers fuse them by
// default), so that every target makes the same tensor of the same file. The file runs once per
// input, not per layer: GCC compiles it for size (half the code of -O3).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("Os", "fp-contract=off")
#endif

namespace bmx {
namespace rt {
namespace {

constexpr uint64_t kMaxElements = std::numeric_limits<uint32_t>::max() / sizeof(float);

bool starts_with(const uint8_t* bytes, size_t size, const char* magic, size_t n) {
  return size >= n && std::memcmp(bytes, magic, n) == 0;
}

// "(1, 1, 28, 28)", as bmxnet and MXNet write shapes.
std::string shape_text(const std::vector<uint32_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

// True on a little-endian host (the order of .npy "<" data and of raw float32 files).
bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t low;
  std::memcpy(&low, &one, 1);
  return low == 1;
}

uint64_t element_count(const std::vector<uint32_t>& shape) {
  uint64_t n = 1;
  for (uint32_t d : shape) {
    n *= d;
    if (n > kMaxElements) fail("the input shape " + shape_text(shape) + " is too large (over 4 GiB).");
  }
  return n;
}

// The model's sample shape (its input shape without the batch axis).
std::vector<uint32_t> sample_of(const std::vector<uint32_t>& model_shape) {
  return std::vector<uint32_t>(model_shape.begin() + 1, model_shape.end());
}

// True when `shape` is `sample` with some of its leading axes of size 1 left out.
bool is_sample(const std::vector<uint32_t>& shape, const std::vector<uint32_t>& sample) {
  if (shape.size() > sample.size()) return false;
  const size_t skip = sample.size() - shape.size();
  for (size_t i = 0; i < skip; ++i) {
    if (sample[i] != 1) return false;
  }
  return std::equal(shape.begin(), shape.end(), sample.begin() + static_cast<long>(skip));
}

// ---- images ---------------------------------------------------------------------------------

// Planar float pixels in [0, 1].
struct Image {
  uint32_t height = 0, width = 0, channels = 0;  // channels 1 (gray) or 3 (RGB)
  std::vector<float> planes;                     // channels x height x width
};

std::string describe(const Image& image) {
  return "a " + std::to_string(image.width) + "x" + std::to_string(image.height) + " " +
         (image.channels == 1 ? "gray" : "RGB") + " image";
}

// Source index pair and weight for output coordinate f (in source pixels).
void linear_taps(float f, uint32_t n, uint32_t* i0, uint32_t* i1, float* weight) {
  if (f <= 0.0f) {
    *i0 = *i1 = 0;
    *weight = 0.0f;
    return;
  }
  const uint32_t a = static_cast<uint32_t>(f);
  if (a >= n - 1) {
    *i0 = *i1 = n - 1;
    *weight = 0.0f;
    return;
  }
  *i0 = a;
  *i1 = a + 1;
  *weight = f - static_cast<float>(a);
}

// Bilinear resize of each plane, half-pixel centres (OpenCV's INTER_LINEAR, in float).
void resize_bilinear(Image* image, uint32_t oh, uint32_t ow) {
  const uint32_t h = image->height, w = image->width;
  std::vector<float> out(static_cast<size_t>(image->channels) * oh * ow);
  std::vector<uint32_t> x0(ow), x1(ow);
  std::vector<float> wx(ow);
  for (uint32_t x = 0; x < ow; ++x) {
    linear_taps((static_cast<float>(x) + 0.5f) * static_cast<float>(w) / static_cast<float>(ow) -
                    0.5f, w, &x0[x], &x1[x], &wx[x]);
  }
  for (uint32_t c = 0; c < image->channels; ++c) {
    const float* plane = image->planes.data() + static_cast<size_t>(c) * h * w;
    for (uint32_t y = 0; y < oh; ++y) {
      uint32_t y0, y1;
      float wy;
      linear_taps((static_cast<float>(y) + 0.5f) * static_cast<float>(h) /
                      static_cast<float>(oh) - 0.5f, h, &y0, &y1, &wy);
      const float* r0 = plane + static_cast<size_t>(y0) * w;
      const float* r1 = plane + static_cast<size_t>(y1) * w;
      float* dst = out.data() + (static_cast<size_t>(c) * oh + y) * ow;
      for (uint32_t x = 0; x < ow; ++x) {
        dst[x] = (1 - wy) * ((1 - wx[x]) * r0[x0[x]] + wx[x] * r0[x1[x]]) +
                 wy * ((1 - wx[x]) * r1[x0[x]] + wx[x] * r1[x1[x]]);
      }
    }
  }
  image->planes.swap(out);
  image->height = oh;
  image->width = ow;
}

// Gray <-> RGB. The luma is (299 R + 587 G + 114 B) / 1000 in double: each product is exact,
// so no target rounds it differently (fused or not), and a gray image given as RGB comes back
// exactly.
void convert_channels(Image* image, uint32_t channels) {
  const size_t plane = static_cast<size_t>(image->height) * image->width;
  std::vector<float> out(channels * plane);
  const float* in = image->planes.data();
  for (size_t i = 0; i < plane; ++i) {
    if (channels == 1) {
      const double sum = 299.0 * in[i] + 587.0 * in[plane + i] + 114.0 * in[2 * plane + i];
      out[i] = static_cast<float>(sum / 1000.0);
    } else {
      out[i] = out[plane + i] = out[2 * plane + i] = in[i];
    }
  }
  image->planes.swap(out);
  image->channels = channels;
}

InputTensor fit_image(const std::string& name, Image image,
                      const std::vector<uint32_t>& model_shape,
                      const Normalization& normalization) {
  if (!model_shape.empty()) {
    if (model_shape.size() != 4 || (model_shape[1] != 1 && model_shape[1] != 3)) {
      fail(name + " holds " + describe(image) + ", but the model's input is " +
           shape_text(model_shape) + ": an image fits a model whose input is (N, 1 or 3, H, W); "
           "give it a .npy array or raw float32 values of that shape.");
    }
    if (image.channels != model_shape[1]) convert_channels(&image, model_shape[1]);
    if (image.height != model_shape[2] || image.width != model_shape[3]) {
      element_count(model_shape);
      resize_bilinear(&image, model_shape[2], model_shape[3]);
    }
  }
  const size_t plane = static_cast<size_t>(image.height) * image.width;
  for (const std::vector<float>* values : {&normalization.mean, &normalization.std}) {
    if (values->size() > 1 && values->size() != image.channels) {
      fail("the mean and std take 1 value" +
           (image.channels == 1 ? std::string(" (one channel)")
                                : ", or one per channel (" + std::to_string(image.channels) + ")") +
           ", got " + std::to_string(values->size()) + " for " + name + ".");
    }
  }
  for (float s : normalization.std) {
    if (s == 0.0f) fail("the std values must not be 0.");
  }
  for (uint32_t c = 0; c < image.channels; ++c) {
    const auto& m = normalization.mean;
    const auto& s = normalization.std;
    const float mean = m.empty() ? 0.0f : m[m.size() == 1 ? 0 : c];
    const float std = s.empty() ? 1.0f : s[s.size() == 1 ? 0 : c];
    if (m.empty() && s.empty()) break;
    float* p = image.planes.data() + c * plane;
    for (size_t i = 0; i < plane; ++i) p[i] = (p[i] - mean) / std;
  }
  InputTensor out;
  out.shape = {1, image.channels, image.height, image.width};
  out.values.swap(image.planes);
  return out;
}

// Skips whitespace and '#' comments in a PNM header; reads one unsigned integer.
uint32_t pnm_number(const std::string& name, const uint8_t* bytes, size_t size, size_t* pos) {
  for (;;) {
    if (*pos >= size) fail(name + " is a truncated PGM/PPM image (its header ends early).");
    if (bytes[*pos] == '#') {
      while (*pos < size && bytes[*pos] != '\n') ++*pos;
    } else if (std::isspace(bytes[*pos])) {
      ++*pos;
    } else {
      break;
    }
  }
  uint32_t v = 0;
  int digits = 0;
  while (*pos < size && std::isdigit(bytes[*pos])) {
    v = v * 10 + static_cast<uint32_t>(bytes[(*pos)++] - '0');
    if (v > 1000000) fail(name + " is a PGM/PPM image whose header holds a value over 1000000.");
    ++digits;
  }
  if (!digits) fail(name + " is a PGM/PPM image with a malformed header.");
  return v;
}

// Binary PGM (P5, gray) / PPM (P6, RGB), 8 or 16 bits (big-endian).
Image read_pnm(const std::string& name, const uint8_t* bytes, size_t size) {
  size_t pos = 2;
  Image image;
  image.channels = bytes[1] == '6' ? 3 : 1;
  image.width = pnm_number(name, bytes, size, &pos);
  image.height = pnm_number(name, bytes, size, &pos);
  const uint32_t maxval = pnm_number(name, bytes, size, &pos);
  if (image.width == 0 || image.height == 0 || maxval == 0 || maxval > 65535) {
    fail(name + " is a PGM/PPM image without a positive width and height and a maxval of 1 "
         "to 65535.");
  }
  if (pos >= size || !std::isspace(bytes[pos])) fail(name + " is a PGM/PPM image with a malformed header.");
  ++pos;  // exactly one whitespace byte before the pixels
  const size_t bpp = maxval > 255 ? 2 : 1;
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  if (pixels * image.channels > kMaxElements) fail(name + " is a PGM/PPM image too large to read.");
  const size_t need = pixels * image.channels * bpp;
  if (size - pos < need) {
    fail(name + " is a truncated PGM/PPM image: it holds " + std::to_string(size - pos) +
         " pixel bytes, " + std::to_string(image.width) + "x" + std::to_string(image.height) +
         " needs " + std::to_string(need) + ".");
  }
  image.planes.resize(pixels * image.channels);
  for (size_t i = 0; i < pixels; ++i) {
    for (uint32_t c = 0; c < image.channels; ++c) {
      const uint8_t* p = bytes + pos + (i * image.channels + c) * bpp;
      const uint32_t v = bpp == 2 ? static_cast<uint32_t>(p[0]) << 8 | p[1] : p[0];
      image.planes[c * pixels + i] = static_cast<float>(v) / static_cast<float>(maxval);
    }
  }
  return image;
}

// ---- arrays ---------------------------------------------------------------------------------

std::string describe_array(const std::vector<uint32_t>& shape) {
  return "an array of shape " + shape_text(shape);
}

InputTensor fit_array(const std::string& name, std::vector<uint32_t> shape,
                      std::vector<float> values, const std::vector<uint32_t>& model_shape) {
  InputTensor out;
  out.values.swap(values);
  if (model_shape.empty()) {
    if (shape.size() == 3) shape.insert(shape.begin(), 1);  // one (C, H, W) sample
    out.shape = shape;
    return out;
  }
  const std::vector<uint32_t> sample = sample_of(model_shape);
  out.shape = sample;
  if (is_sample(shape, sample)) {
    out.shape.insert(out.shape.begin(), 1);
    return out;
  }
  if (!shape.empty() &&
      is_sample(std::vector<uint32_t>(shape.begin() + 1, shape.end()), sample)) {
    out.shape.insert(out.shape.begin(), shape[0]);
    return out;
  }
  std::string ones;  // the sample without its leading axes of size 1, when it has some
  size_t lead = 0;
  while (lead < sample.size() && sample[lead] == 1) ++lead;
  if (lead > 0) {
    ones = " or " + shape_text(std::vector<uint32_t>(sample.begin() + static_cast<long>(lead),
                                                     sample.end()));
  }
  std::vector<uint32_t> batch = sample;
  batch.insert(batch.begin(), 0);
  std::string batch_text = shape_text(batch);
  batch_text.replace(1, 1, "N");
  fail(name + " holds " + describe_array(shape) + ", but the model's input is " +
       shape_text(model_shape) + ": give one sample of shape " + shape_text(sample) + ones +
       ", or a batch " + batch_text + ".");
}

// A .npy header value: the text after 'key': up to the next top-level comma or brace.
std::string npy_field(const std::string& name, const std::string& header, const char* key) {
  const std::string quoted = std::string("'") + key + "':";
  const size_t at = header.find(quoted);
  if (at == std::string::npos) fail(name + " is a .npy file whose header has no '" + key + "'.");
  size_t p = at + quoted.size();
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) fail(name + " is a .npy file with a malformed header.");
  const size_t end = header[p] == '(' ? header.find(')', p) + 1
                                      : header.find_first_of(",}", p);
  if (end == std::string::npos || end == 0) fail(name + " is a .npy file with a malformed header.");
  return header.substr(p, end - p);
}

// .npy versions 1 to 3: magic, version, header length, a Python dict literal, C-order data.
// Any real dtype (float, integer, bool), its values converted to float32 as they are.
InputTensor read_npy(const std::string& name, const uint8_t* bytes, size_t size,
                     const std::vector<uint32_t>& model_shape) {
  size_t header_len, offset;
  if (size < 10) fail(name + " is a truncated .npy file.");
  if (bytes[6] == 1) {
    header_len = bytes[8] | static_cast<size_t>(bytes[9]) << 8;
    offset = 10;
  } else if (bytes[6] == 2 || bytes[6] == 3) {
    if (size < 12) fail(name + " is a truncated .npy file.");
    header_len = bytes[8] | static_cast<size_t>(bytes[9]) << 8 |
                 static_cast<size_t>(bytes[10]) << 16 | static_cast<size_t>(bytes[11]) << 24;
    offset = 12;
  } else {
    fail(name + " is a .npy file of format version " + std::to_string(bytes[6]) +
         "; versions 1 to 3 are read.");
  }
  if (header_len > size - offset) fail(name + " is a truncated .npy file.");
  const std::string header(reinterpret_cast<const char*>(bytes) + offset, header_len);
  offset += header_len;

  std::string descr = npy_field(name, header, "descr");
  if (descr.size() < 4 || descr.front() != '\'' || descr.back() != '\'') {
    fail(name + " is a .npy file with a malformed dtype " + descr + ".");
  }
  descr = descr.substr(1, descr.size() - 2);
  const char order = descr[0], kind = descr[1];
  const int width = std::atoi(descr.c_str() + 2);
  const bool known = (order == '<' || order == '>' || order == '|' || order == '=') &&
                     ((kind == 'f' && (width == 4 || width == 8)) ||
                      ((kind == 'i' || kind == 'u') &&
                       (width == 1 || width == 2 || width == 4 || width == 8)) ||
                      (kind == 'b' && width == 1)) &&
                     descr.size() == 2 + std::to_string(width).size();
  if (!known) {
    fail(name + " holds a .npy array of dtype " + descr + ", which is not a real number type; "
         "save it as float32 (x.astype('float32')).");
  }
  if (npy_field(name, header, "fortran_order") != "False") {
    fail(name + " holds a .npy array in Fortran order; save it in C order "
         "(np.ascontiguousarray).");
  }
  const std::string shape_field = npy_field(name, header, "shape");
  std::vector<uint32_t> shape;
  uint64_t count = 1;
  for (size_t p = 1; p < shape_field.size();) {
    const char c = shape_field[p];
    if (c == ' ' || c == ',' || c == ')') {
      ++p;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      fail(name + " is a .npy file with a malformed shape " + shape_field + ".");
    }
    uint64_t v = 0;
    while (p < shape_field.size() && std::isdigit(static_cast<unsigned char>(shape_field[p]))) {
      v = v * 10 + static_cast<uint64_t>(shape_field[p++] - '0');
      if (v > kMaxElements) fail(name + " holds a .npy array too large to read (over 4 GiB).");
    }
    if (v == 0) fail(name + " holds an empty .npy array of shape " + shape_field + ".");
    shape.push_back(static_cast<uint32_t>(v));
    count *= v;
    if (count > kMaxElements || shape.size() > 32) {
      fail(name + " holds a .npy array too large to read (over 4 GiB).");
    }
  }
  if (shape.empty()) fail(name + " holds a .npy scalar, not an input array.");
  if (size - offset != count * static_cast<size_t>(width)) {
    fail(name + " is a truncated .npy file: its data has " + std::to_string(size - offset) +
         " bytes, its shape " + shape_field + " needs " +
         std::to_string(count * static_cast<size_t>(width)) + ".");
  }
  const bool host_little = host_is_little_endian();
  const bool swap = (order == '<' && !host_little) || (order == '>' && host_little);
  std::vector<float> values(static_cast<size_t>(count));
  for (size_t i = 0; i < values.size(); ++i) {
    uint8_t b[8];
    std::memcpy(b, bytes + offset + i * static_cast<size_t>(width), static_cast<size_t>(width));
    if (swap) std::reverse(b, b + width);
    float v = 0;
    if (kind == 'f' && width == 4) { float f; std::memcpy(&f, b, 4); v = f; }
    else if (kind == 'f') { double d; std::memcpy(&d, b, 8); v = static_cast<float>(d); }
    else if (kind == 'b') v = b[0] ? 1.0f : 0.0f;
    else if (kind == 'u' && width == 1) v = b[0];
    else if (kind == 'u' && width == 2) { uint16_t u; std::memcpy(&u, b, 2); v = u; }
    else if (kind == 'u' && width == 4) { uint32_t u; std::memcpy(&u, b, 4); v = static_cast<float>(u); }
    else if (kind == 'u') { uint64_t u; std::memcpy(&u, b, 8); v = static_cast<float>(u); }
    else if (width == 1) v = static_cast<int8_t>(b[0]);
    else if (width == 2) { int16_t s; std::memcpy(&s, b, 2); v = s; }
    else if (width == 4) { int32_t s; std::memcpy(&s, b, 4); v = static_cast<float>(s); }
    else { int64_t s; std::memcpy(&s, b, 8); v = static_cast<float>(s); }
    values[i] = v;
  }
  return fit_array(name, std::move(shape), std::move(values), model_shape);
}

// ---- raw float32 ----------------------------------------------------------------------------

InputTensor read_raw(const std::string& name, const uint8_t* bytes, size_t size,
                     const std::vector<uint32_t>& model_shape) {
  if (model_shape.empty()) {
    fail(name + " is not a .npy array or an image, so it is read as raw float32 values, and "
         "the model records no input shape to lay them out: give the input shape.");
  }
  const uint64_t per_sample = element_count(sample_of(model_shape));
  if (size == 0 || size % sizeof(float) != 0 || (size / sizeof(float)) % per_sample != 0) {
    fail(name + " holds " + std::to_string(size) + " bytes of raw float32 values, not whole "
         "samples of the model's input " + shape_text(model_shape) + " (" +
         std::to_string(per_sample * sizeof(float)) + " bytes each).");
  }
  if (size / sizeof(float) > kMaxElements) fail(name + " is too large to read (over 4 GiB).");
  InputTensor out;
  out.values.resize(size / sizeof(float));
  std::memcpy(out.values.data(), bytes, size);
  if (!host_is_little_endian()) {
    for (float& v : out.values) {
      uint8_t* b = reinterpret_cast<uint8_t*>(&v);
      std::reverse(b, b + sizeof(float));
    }
  }
  out.shape = sample_of(model_shape);
  out.shape.insert(out.shape.begin(), static_cast<uint32_t>(out.values.size() / per_sample));
  return out;
}

void check_model_shape(const std::vector<uint32_t>& model_shape) {
  if (model_shape.size() == 1 || model_shape.size() > 32) {
    fail("the model's input shape " + shape_text(model_shape) + " needs a batch axis and 1 to "
         "31 more.");
  }
  for (uint32_t d : model_shape) {
    if (d == 0) fail("the model's input shape " + shape_text(model_shape) + " has an axis of 0.");
  }
}

}  // namespace

InputFormat input_format(const uint8_t* bytes, size_t size) {
  if (starts_with(bytes, size, "\x93NUMPY", 6)) return InputFormat::kNpy;
  if (size >= 3 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '6') &&
      std::isspace(bytes[2])) {
    return bytes[1] == '5' ? InputFormat::kPgm : InputFormat::kPpm;
  }
  if (starts_with(bytes, size, "\x89PNG\r\n\x1a\n", 8)) return InputFormat::kPng;
  if (starts_with(bytes, size, "\xff\xd8\xff", 3)) return InputFormat::kJpeg;
  if (starts_with(bytes, size, "GIF87a", 6) || starts_with(bytes, size, "GIF89a", 6)) {
    return InputFormat::kGif;
  }
  if (starts_with(bytes, size, "BM", 2) && size >= 26) return InputFormat::kBmp;
  if (starts_with(bytes, size, "RIFF", 4) && size >= 12 && std::memcmp(bytes + 8, "WEBP", 4) == 0) {
    return InputFormat::kWebp;
  }
  if (starts_with(bytes, size, "II*\0", 4) || starts_with(bytes, size, "MM\0*", 4)) {
    return InputFormat::kTiff;
  }
  return InputFormat::kRaw;
}

const char* input_format_name(InputFormat format) {
  switch (format) {
    case InputFormat::kNpy: return "npy";
    case InputFormat::kPgm: return "pgm";
    case InputFormat::kPpm: return "ppm";
    case InputFormat::kPng: return "png";
    case InputFormat::kJpeg: return "jpeg";
    case InputFormat::kGif: return "gif";
    case InputFormat::kBmp: return "bmp";
    case InputFormat::kWebp: return "webp";
    case InputFormat::kTiff: return "tiff";
    case InputFormat::kRaw: break;
  }
  return "raw";
}

bool is_compressed_image(InputFormat format) {
  return format != InputFormat::kNpy && format != InputFormat::kPgm &&
         format != InputFormat::kPpm && format != InputFormat::kRaw;
}

InputTensor input_from_file(const std::string& name, const uint8_t* bytes, size_t size,
                            const std::vector<uint32_t>& model_shape,
                            const Normalization& normalization) {
  check_model_shape(model_shape);
  const InputFormat format = input_format(bytes, size);
  if (is_compressed_image(format)) {
    std::string upper = input_format_name(format);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    fail(name + " is a " + upper + " image, which the runtime does not decode: decode it to "
         "pixels and give those (BMXInputFromPixels).");
  }
  if (format == InputFormat::kPgm || format == InputFormat::kPpm) {
    return fit_image(name, read_pnm(name, bytes, size), model_shape, normalization);
  }
  if (!normalization.mean.empty() || !normalization.std.empty()) {
    fail("the mean and std apply to images only, and " + name + " is " +
         (format == InputFormat::kNpy ? "a .npy array" : "raw float32 values") +
         ", used as they are.");
  }
  if (format == InputFormat::kNpy) return read_npy(name, bytes, size, model_shape);
  return read_raw(name, bytes, size, model_shape);
}

InputTensor input_from_pixels(const std::string& name, const uint8_t* pixels, uint32_t height,
                              uint32_t width, uint32_t channels,
                              const std::vector<uint32_t>& model_shape,
                              const Normalization& normalization) {
  check_model_shape(model_shape);
  if (channels < 1 || channels > 4) {
    fail("an image has 1 to 4 channels (gray, gray + alpha, RGB, RGB + alpha), " + name +
         " has " + std::to_string(channels) + ".");
  }
  if (height == 0 || width == 0) fail(name + " is an empty image.");
  Image image;
  image.height = height;
  image.width = width;
  image.channels = channels >= 3 ? 3 : 1;  // alpha dropped
  if (static_cast<uint64_t>(height) * width > kMaxElements / channels) {
    fail(name + " is an image too large to read (over 4 GiB).");
  }
  const size_t plane = static_cast<size_t>(height) * width;
  image.planes.resize(plane * image.channels);
  for (size_t i = 0; i < plane; ++i) {
    for (uint32_t c = 0; c < image.channels; ++c) {
      image.planes[c * plane + i] = static_cast<float>(pixels[i * channels + c]) / 255.0f;
    }
  }
  return fit_image(name, std::move(image), model_shape, normalization);
}

std::vector<uint32_t> recorded_input_shape(const char* symbol_json) {
  const Symbol symbol = parse_symbol(symbol_json);
  for (const SymbolNode& node : symbol.nodes) {
    if (!node.is_variable() || node.name != "data") continue;
    auto attr = node.attrs.find("bmx_input_shape");
    if (attr == node.attrs.end()) return {};
    const std::string& text = attr->second;
    std::vector<uint32_t> shape;
    size_t p = text.find('(');
    const size_t end = text.find(')');
    if (p == std::string::npos || end == std::string::npos || end < p) {
      fail("the symbol's bmx_input_shape '" + text + "' is not a shape such as (1, 3, 224, 224).");
    }
    for (++p; p < end;) {
      if (text[p] == ' ' || text[p] == ',') {
        ++p;
        continue;
      }
      uint64_t v = 0;
      const size_t start = p;
      while (p < end && std::isdigit(static_cast<unsigned char>(text[p])) && v <= kMaxElements) {
        v = v * 10 + static_cast<uint64_t>(text[p++] - '0');
      }
      if (p == start || v == 0 || v > kMaxElements || shape.size() == 32) {
        fail("the symbol's bmx_input_shape '" + text +
             "' is not a shape such as (1, 3, 224, 224).");
      }
      shape.push_back(static_cast<uint32_t>(v));
    }
    if (shape.empty()) {
      fail("the symbol's bmx_input_shape '" + text + "' is not a shape such as (1, 3, 224, 224).");
    }
    return shape;
  }
  return {};
}

}  // namespace rt
}  // namespace bmx

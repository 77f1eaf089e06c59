// One input file -> a model's input tensor: the rules that bmx_run and `bmxnet predict` (its
// MXNet path and --runtime) share, through BMXInputFromFile / BMXInputFromPixels
// (include/bmx_predict.h).
//
// A file is recognised by its first bytes (input_format): a .npy array, a binary PGM/PPM image,
// an image in a compressed format (PNG, JPEG, ...) that the caller decodes to 8-bit pixels, or
// anything else: raw little-endian float32 values. The data is then fitted to the model's input
// shape (N, ...), the shape given by the caller or recorded in the symbol
// (recorded_input_shape); the batch axis N is free:
//   - an image (H x W, gray, RGB, with or without alpha): pixels scaled to [0, 1], alpha
//     dropped, converted to the model's channels (gray -> RGB by copying, RGB -> gray by
//     ITU-R BT.601 luma), resized bilinearly (half-pixel centres, as OpenCV's INTER_LINEAR) to
//     the model's H x W, then per channel (x - mean) / std; one sample (1, C, H, W). The model's
//     input must be (N, 1 or 3, H, W).
//   - an array (.npy, any real dtype, values as they are): one sample when its shape is the
//     model's sample shape (the input shape without N), leading axes of size 1 optional (a
//     (28, 28) array for a (1, 1, 28, 28) model); a batch of n when it is n such samples.
//   - raw float32: as many whole samples as it holds, in order.
// With no model shape known, an image is taken at its own size and channels, an array as it is
// (a 3-d one given a batch axis), and raw values are refused. What does not fit is refused
// with one sentence naming the file, what it holds and the shape the model expects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bmx {
namespace rt {

enum class InputFormat { kNpy, kPgm, kPpm, kPng, kJpeg, kGif, kBmp, kWebp, kTiff, kRaw };

// The format of a file from its first bytes.
InputFormat input_format(const uint8_t* bytes, size_t size);

// "npy", "pgm", "ppm", "png", "jpeg", "gif", "bmp", "webp", "tiff" or "raw".
const char* input_format_name(InputFormat format);

// True for the formats the caller decodes to pixels (PNG, JPEG, GIF, BMP, WebP, TIFF).
bool is_compressed_image(InputFormat format);

// Per-channel normalization of image pixels scaled to [0, 1]: 0 values (none), 1 (every
// channel) or one per channel of the model's input.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

struct InputTensor {
  std::vector<uint32_t> shape;  // batch first
  std::vector<float> values;    // C order
};

// The tensor for the model from a whole file's bytes (a .npy, PGM/PPM or raw float32 file;
// a compressed image is refused with a sentence saying to decode it). name: the file, for
// messages. model_shape: the model's input shape, batch first; empty when not known.
InputTensor input_from_file(const std::string& name, const uint8_t* bytes, size_t size,
                            const std::vector<uint32_t>& model_shape,
                            const Normalization& normalization);

// The tensor for the model from an image decoded elsewhere: height x width x channels 8-bit
// values, interleaved (channels 1 gray, 2 gray + alpha, 3 RGB, 4 RGB + alpha).
InputTensor input_from_pixels(const std::string& name, const uint8_t* pixels, uint32_t height,
                              uint32_t width, uint32_t channels,
                              const std::vector<uint32_t>& model_shape,
                              const Normalization& normalization);

// The input shape recorded in a symbol JSON (the bmx_input_shape attribute of its input
// variable "data", which bmxnet.export writes); empty when it records none.
std::vector<uint32_t> recorded_input_shape(const char* symbol_json);

}  // namespace rt
}  // namespace bmx

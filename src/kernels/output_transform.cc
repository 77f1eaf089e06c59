#include "output_transform.h"

namespace bmx {

void output_transform(const int32_t* dots, int64_t rows, int64_t channels, const float* scale,
                      const float* bias, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t i = r * channels + c;
      out[i] = (scale ? scale[c] : 1.0f) * static_cast<float>(dots[i]) + (bias ? bias[c] : 0.0f);
    }
  }
}

}  // namespace bmx

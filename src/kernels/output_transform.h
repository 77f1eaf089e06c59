// Output transform of a binary layer: y = scale[c] * dot + bias[c] per output channel.
#pragma once

#include <cstdint>

namespace bmx {

// dots and out are (rows, channels); scale and bias may be null (1 and 0).
void output_transform(const int32_t* dots, int64_t rows, int64_t channels, const float* scale,
                      const float* bias, float* out);

}  // namespace bmx

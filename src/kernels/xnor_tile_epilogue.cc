// The generic tile epilogue: dot = ktot - 2 * ones - corr, then the int32 dot or
// scale * dot + bias (+ residual), written at any strides. Every path uses it for partial tiles.
#include "microkernel.h"

namespace bmx {

void tile_epilogue_generic(const TileArgs& t, int nr, const int32_t* ones) {
  for (int i = 0; i < t.m; ++i) {
    for (int j = 0; j < t.n_valid; ++j) {
      int32_t dot = t.ktot - 2 * ones[i * nr + j];
      if (t.corr) dot -= t.corr[i * nr + j];
      const int64_t at = i * t.row_stride + j * t.col_stride;
      if (t.int_out) {
        static_cast<int32_t*>(t.out)[at] = dot;
      } else {
        // Same operations as the reference: scale * float(dot) + bias, no fused multiply-add.
        float y = static_cast<float>(dot);
        if (t.scale) y = t.scale[j] * y;
        y = y + (t.bias ? t.bias[j] : 0.0f);
        if (t.residual) y = y + t.residual[at];  // after rounding the layer's output
        static_cast<float*>(t.out)[at] = y;
      }
    }
  }
}

}  // namespace bmx

// Portable xnor/popcount tile: plain layout, 64-bit xor + popcount, register-blocked 4 x 4
// tiles. Plain C++ (no intrinsics), so it builds and runs on any 64-bit target.
#include "microkernel.h"

namespace bmx {

namespace {

inline int popcount64(uint64_t v) {
  // SWAR popcount (compilers turn it into popcnt where the target has it).
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
}

constexpr int kMr = 4, kNr = 4;

template <int M>
void tile_rows(const TileArgs& t) {
  int64_t ones[M][kNr] = {};
  const uint64_t* b = t.b;
  for (int tap = 0; tap < t.taps; ++tap) {
    const uint64_t* a[M];
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + t.tap_off[tap];
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      for (int i = 0; i < M; ++i) {
        const uint64_t ai = a[i][s];
        for (int j = 0; j < kNr; ++j) ones[i][j] += popcount64(ai ^ b[j]);
      }
    }
  }
  int32_t o[kMr * kNr];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNr; ++j) o[i * kNr + j] = static_cast<int32_t>(ones[i][j]);
  }
  tile_epilogue_generic(t, kNr, o);
}

void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_rows<1>(t);
    case 2: return tile_rows<2>(t);
    case 3: return tile_rows<3>(t);
    default: return tile_rows<4>(t);
  }
}

}  // namespace

const MicroKernels* portable_kernels() {
  static const MicroKernels k{"portable", kMr, kNr, false, tile, pack_planes_generic,
                              pack_rows_generic};
  return &k;
}

}  // namespace bmx

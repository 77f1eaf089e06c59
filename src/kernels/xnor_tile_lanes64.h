// The xnor/popcount tile shared by the 128-bit instruction sets whose byte popcount is one
// instruction (NEON's vcntq_u8, WebAssembly's i8x16.popcnt): plain layout, 4 x 4 tiles, each
// 64-bit lane of a vector one output channel (A is broadcast), popcount(a ^ b) accumulated
// pairwise into 16-bit lanes (at most 16 per lane and step), which are widened into 64-bit
// per-channel sums every kFlushSteps steps and at the end.
//
// `Ops` gives the instruction set's vectors and operations:
//   Bytes load(const uint64_t* p)          two 64-bit words (two channels' steps)
//   Bytes splat(const uint64_t* p)         one 64-bit word in both lanes
//   Acc zero_acc(); Sum zero_sum()
//   Acc count(Acc acc, Bytes a, Bytes b)   acc + pairwise sums of popcount(a ^ b) per byte
//   Sum widen(Sum sum, Acc acc)            sum + the 16-bit lanes of each 64-bit half of acc
//   uint64_t lane(Sum sum, int i)          64-bit lane i (0 or 1)
// Included only by the files that define such an Ops (xnor_tile_neon.cc,
// xnor_tile_wasm_simd128.cc).
#pragma once

#include <cstdint>

#include "microkernel.h"

namespace bmx {
namespace lanes64 {

constexpr int kMr = 4, kNv = 2, kNr = 4;
constexpr int kFlushSteps = 4000;  // 4000 * 16 < 65536

template <class Ops, int M>
void tile_m(const TileArgs& t) {
  typename Ops::Acc acc[M][kNv];
  typename Ops::Sum sums[M][kNv];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) {
      acc[i][j] = Ops::zero_acc();
      sums[i][j] = Ops::zero_sum();
    }
  }
  auto flush = [&] {
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < kNv; ++j) {
        sums[i][j] = Ops::widen(sums[i][j], acc[i][j]);
        acc[i][j] = Ops::zero_acc();
      }
    }
  };
  const uint64_t* b = t.b;
  int budget = kFlushSteps;
  for (int tap = 0; tap < t.taps; ++tap) {
    const uint64_t* a[M];
    for (int i = 0; i < M; ++i) a[i] = t.a[i] + t.tap_off[tap];
    for (int s = 0; s < t.steps; ++s, b += kNr) {
      const typename Ops::Bytes b0 = Ops::load(b);
      const typename Ops::Bytes b1 = Ops::load(b + 2);
      for (int i = 0; i < M; ++i) {
        const typename Ops::Bytes ai = Ops::splat(a[i] + s);
        acc[i][0] = Ops::count(acc[i][0], ai, b0);
        acc[i][1] = Ops::count(acc[i][1], ai, b1);
      }
      if (--budget == 0) {
        flush();
        budget = kFlushSteps;
      }
    }
  }
  flush();
  int32_t ones[kMr * kNr];
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < kNv; ++j) {
      ones[i * kNr + 2 * j] = static_cast<int32_t>(Ops::lane(sums[i][j], 0));
      ones[i * kNr + 2 * j + 1] = static_cast<int32_t>(Ops::lane(sums[i][j], 1));
    }
  }
  tile_epilogue_generic(t, kNr, ones);
}

template <class Ops>
void tile(const TileArgs& t) {
  switch (t.m) {
    case 1: return tile_m<Ops, 1>(t);
    case 2: return tile_m<Ops, 2>(t);
    case 3: return tile_m<Ops, 3>(t);
    default: return tile_m<Ops, 4>(t);
  }
}

}  // namespace lanes64
}  // namespace bmx

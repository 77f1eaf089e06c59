// Fast binary dense layer and GEMM: rows binarized (or taken packed) into the microkernel's A
// layout, then (block of row tiles, weight panel) jobs on kernel threads.
#include <algorithm>
#include <stdexcept>

#include "bgemm.h"
#include "bitpack.h"
#include "fast_kernels.h"
#include "microkernel.h"
#include "output_transform.h"

namespace bmx {

namespace {

// How the rows are packed: chunks of `chunk` rows, each binarized (from float) into its own
// part of ws->pack_tmp, then put into the A layout in ws->act.
struct RowPacking {
  int64_t words, pix, chunk, chunks;
  uint64_t* act;
  uint32_t* tmp;  // null for packed input

  RowPacking(int64_t m, int64_t k, const PackedWeights& w, bool from_float, Workspace* ws)
      : words(packed_words(k)), pix(w.steps() * (w.kernels()->split ? 2 : 1)),
        chunk(std::max<int64_t>(1, 1024 / std::max<int64_t>(1, words))),
        chunks((m + chunk - 1) / chunk) {
    act = ws->act.reserve(m * pix + 1);
    tmp = from_float ? ws->pack_tmp.reserve(chunks * chunk * words) : nullptr;
  }
};

// Rows from float (xf) or packed words (xw) times the packed weights: float out = scale * dot
// + bias, or the int32 dot when int_out.
void rows_fast(int64_t m, int64_t k, const float* xf, const uint32_t* xw, const PackedWeights& w,
               const float* scale, const float* bias, void* out, bool int_out, int threads,
               Workspace* ws) {
  const MicroKernels& mk = *w.kernels();
  const bool split = mk.split;
  const int mr = mk.mr, nr = mk.nr;
  const int64_t steps = w.steps();
  const int64_t n = w.out_channels();
  Workspace local;
  if (ws == nullptr) ws = &local;
  const RowPacking rp(m, k, w, xf != nullptr, ws);
  const int64_t words = rp.words, pix = rp.pix, chunk = rp.chunk;
  uint64_t* act = rp.act;

  // 1. Binarize (or take) and pack the rows.
  parallel_for(rp.chunks, threads, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t r0 = c * chunk, r1 = std::min(m, r0 + chunk);
      uint32_t* tmp = xf ? rp.tmp + c * chunk * words : nullptr;
      const uint32_t* src = xw ? xw + r0 * words : tmp;
      if (xf) mk.pack_rows(xf + r0 * k, r1 - r0, k, tmp);
      for (int64_t r = r0; r < r1; ++r) {
        put_row(src + (r - r0) * words, words, steps, split, act + r * pix);
      }
    }
  });

  // 2. Tiles: (block of row tiles, panel) jobs.
  const int64_t tiles = (m + mr - 1) / mr;
  const int64_t tb = tiles_per_block(mk, pix);
  const int64_t tblocks = (tiles + tb - 1) / tb;
  const int64_t panels = w.panels();
  const int64_t zero = 0;
  parallel_for(tblocks * panels, threads, [&](int64_t begin, int64_t end) {
    const uint64_t* rows[16];
    TileArgs t;
    t.tap_off = &zero;
    t.taps = 1;
    t.steps = static_cast<int>(steps);
    t.ktot = static_cast<int32_t>(k);
    t.a = rows;
    t.int_out = int_out;
    t.row_stride = n;
    t.col_stride = 1;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t pn = job % panels, tbk = job / panels;
      const int64_t o0 = pn * nr;
      t.b = w.panel(0, pn);
      t.n_valid = static_cast<int>(std::min<int64_t>(nr, n - o0));
      t.scale = scale ? scale + o0 : nullptr;
      t.bias = bias ? bias + o0 : nullptr;
      const int64_t tile_end = std::min(tiles, (tbk + 1) * tb);
      for (int64_t tile = tbk * tb; tile < tile_end; ++tile) {
        const int64_t r0 = tile * mr;
        t.m = static_cast<int>(std::min<int64_t>(mr, m - r0));
        for (int i = 0; i < t.m; ++i) rows[i] = act + (r0 + i) * pix;
        t.out = int_out ? static_cast<void*>(static_cast<int32_t*>(out) + r0 * n + o0)
                        : static_cast<void*>(static_cast<float*>(out) + r0 * n + o0);
        mk.tile(t);
      }
    }
  });
}

}  // namespace

void bdense_fast(int64_t m, int64_t k, const float* x, const PackedWeights& w, const float* scale,
                 const float* bias, float* out, int threads, Workspace* ws) {
  if (w.groups() != 1 || w.taps() != 1 || w.bits_per_tap() != k) {
    throw std::invalid_argument("bdense_fast: packed weights do not match the shape");
  }
  if (m == 0) return;
  const int64_t n = w.out_channels();
  Workspace local;
  if (ws == nullptr) ws = &local;
  if (w.isa() == Isa::kRef) {
    uint32_t* packed = ws->pack_tmp.reserve(m * packed_words(k));
    pack_signs(x, m, k, packed);
    int32_t* dots = ws->dots.reserve(m * n);
    bgemm_ref(m, n, k, packed, w.raw(), dots);
    output_transform(dots, m, n, scale, bias, out);
    return;
  }
  rows_fast(m, k, x, nullptr, w, scale, bias, out, false, threads, ws);
}

void bdense_reserve(int64_t m, int64_t k, const PackedWeights& w, int threads, Workspace* ws) {
  (void)threads;  // the dense layer's scratch does not depend on it
  if (w.groups() != 1 || w.taps() != 1 || w.bits_per_tap() != k) {
    throw std::invalid_argument("bdense_fast: packed weights do not match the shape");
  }
  if (m == 0) return;
  if (w.isa() == Isa::kRef) {
    ws->pack_tmp.reserve(m * packed_words(k));
    ws->dots.reserve(m * w.out_channels());
    return;
  }
  RowPacking(m, k, w, true, ws);
}

void bgemm_fast(int64_t m, int64_t k, const uint32_t* a, const PackedWeights& w, int32_t* c,
                int threads, Workspace* ws) {
  if (w.groups() != 1 || w.taps() != 1 || w.bits_per_tap() != k) {
    throw std::invalid_argument("bgemm_fast: packed weights do not match the shape");
  }
  if (m == 0) return;
  if (w.isa() == Isa::kRef) {
    bgemm_ref(m, w.out_channels(), k, a, w.raw(), c);
    return;
  }
  rows_fast(m, k, nullptr, a, w, nullptr, nullptr, c, true, threads, ws);
}

void bgemm_fast(Isa isa, int64_t m, int64_t n, int64_t k, const uint32_t* a, const uint32_t* b,
                int32_t* c, int threads) {
  if (isa == Isa::kRef) {
    bgemm_ref(m, n, k, a, b, c);
    return;
  }
  const PackedWeights w = pack_dense_weights(isa, n, k, b);
  bgemm_fast(m, k, a, w, c, threads);
}

}  // namespace bmx

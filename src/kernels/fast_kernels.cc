// Driver of the fast kernels: weight repacking, fused binarize + pack of activations into the
// microkernel layout, tiling, threading and pad_value=0 corrections. The per-instruction-set
// inner loops live in bgemm_<isa>.cc behind MicroKernels (microkernel.h).
#include "fast_kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "bgemm.h"
#include "bitpack.h"
#include "microkernel.h"
#include "output_transform.h"

namespace bmx {

namespace {

const MicroKernels* kernels_for(Isa isa) {
  if (!isa_available(isa)) return nullptr;
  switch (isa) {
    case Isa::kPortable: return portable_kernels();
    case Isa::kAvx2: return avx2_kernels();
    case Isa::kAvx512: return avx512_kernels();
    case Isa::kNeon: return neon_kernels();
    case Isa::kRef: return nullptr;
  }
  return nullptr;
}

constexpr uint64_t kLowNibbles = 0x0F0F0F0F0F0F0F0Full;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// 64-bit step s of a row of `words` packed words.
inline uint64_t step_of(const uint32_t* row, int64_t words, int64_t s) {
  const uint64_t lo = row[2 * s];
  const uint64_t hi = 2 * s + 1 < words ? row[2 * s + 1] : 0;
  return lo | (hi << 32);
}

// Writes one A element (one step) in the microkernel's layout.
inline void put_element(uint64_t v, bool split, uint64_t* dst) {
  if (split) {
    dst[0] = v & kLowNibbles;
    dst[1] = (v >> 4) & kLowNibbles;
  } else {
    dst[0] = v;
  }
}

// Converts one row of plain packed words into `steps` elements.
inline void put_row(const uint32_t* words_row, int64_t words, int64_t steps, bool split,
                    uint64_t* dst) {
  const int elem = split ? 2 : 1;
  for (int64_t s = 0; s < steps; ++s) put_element(step_of(words_row, words, s), split, dst + s * elem);
}

// out[i * row_stride + j * col_stride] += res[same] for `pixels` x `channels` outputs: the
// fused residual add, after the tile has rounded scale * dot + bias to float.
inline void add_residual(float* out, const float* res, int64_t row_stride, int64_t col_stride,
                         int channels, int pixels) {
  for (int j = 0; j < channels; ++j) {
    float* o = out + j * col_stride;
    const float* r = res + j * col_stride;
    for (int i = 0; i < pixels; ++i) o[i * row_stride] += r[i * row_stride];
  }
}

int64_t tiles_per_block(const MicroKernels& mk, int64_t row_u64) {
  // Keep the rows of one block (read once per panel) within about 128 KiB of L2.
  const int64_t tile_bytes = std::max<int64_t>(1, mk.mr * row_u64 * 8);
  return std::max<int64_t>(1, (128 << 10) / tile_bytes);
}

}  // namespace

size_t PackedWeights::bytes() const {
  return data_.size() * sizeof(uint64_t) + tap_sums_.size() * sizeof(int32_t) +
         raw_.size() * sizeof(uint32_t);
}

PackedWeights pack_weights(Isa isa, int64_t out_channels, int64_t groups, int64_t taps,
                           int64_t bits, const uint32_t* w) {
  if (out_channels < 1 || groups < 1 || out_channels % groups != 0 || taps < 1 || bits < 1) {
    throw std::invalid_argument("pack_weights: invalid weight shape");
  }
  PackedWeights p;
  p.isa_ = isa;
  p.out_channels_ = out_channels, p.groups_ = groups, p.taps_ = taps, p.bits_ = bits;
  const int64_t words = packed_words(bits);
  if (isa == Isa::kRef) {
    p.raw_.assign(w, w + out_channels * taps * words);
    return p;
  }
  const MicroKernels* mk = kernels_for(isa);
  if (mk == nullptr) {
    throw std::runtime_error(std::string("pack_weights: instruction set ") + isa_name(isa) +
                             " is not available");
  }
  p.mk_ = mk;
  const int nr = mk->nr, elem = mk->split ? 2 : 1;
  const int64_t og = out_channels / groups;
  p.steps_ = (words + 1) / 2;
  p.panels_ = (og + nr - 1) / nr;
  p.panel_stride_ = taps * p.steps_ * elem * nr;
  uint64_t* data = p.data_.reserve(groups * p.panels_ * p.panel_stride_);
  std::memset(data, 0, sizeof(uint64_t) * p.data_.size());
  p.tap_sums_.assign(groups * p.panels_ * taps * nr, 0);
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t pn = 0; pn < p.panels_; ++pn) {
      uint64_t* panel = data + (g * p.panels_ + pn) * p.panel_stride_;
      int32_t* sums = p.tap_sums_.data() + (g * p.panels_ + pn) * taps * nr;
      for (int j = 0; j < nr; ++j) {
        const int64_t o = pn * nr + j;
        if (o >= og) break;
        const uint32_t* wo = w + (g * og + o) * taps * words;
        for (int64_t t = 0; t < taps; ++t) {
          const uint32_t* wt = wo + t * words;
          int64_t ones = 0;
          for (int64_t i = 0; i < words; ++i) ones += __builtin_popcount(wt[i]);
          sums[t * nr + j] = static_cast<int32_t>(bits - 2 * ones);
          for (int64_t s = 0; s < p.steps_; ++s) {
            uint64_t* at = panel + (t * p.steps_ + s) * elem * nr;
            const uint64_t v = step_of(wt, words, s);
            if (mk->split) {
              at[j] = v & kLowNibbles;
              at[nr + j] = (v >> 4) & kLowNibbles;
            } else {
              at[j] = v;
            }
          }
        }
      }
    }
  }
  return p;
}

// Friend of PackedWeights: the three entry points share it.
struct FastDriver {
  // Runs all tiles of a GEMM-like problem whose rows are given by `row_ptr(i)` for the A
  // matrix (one "image" at a time for conv). See bconv2d_fast / bgemm_rows below.
  static void conv(const BConv2DShape& s, const float* x, const PackedWeights& w,
                   const float* scale, const float* bias, const float* residual, float* out,
                   int threads, Workspace* ws);
  static void rows(int64_t m, int64_t k, const float* xf, const uint32_t* xw,
                   const PackedWeights& w, const float* scale, const float* bias, void* out,
                   bool int_out, int threads, Workspace* ws);
};

void FastDriver::conv(const BConv2DShape& s, const float* x, const PackedWeights& w,
                      const float* scale, const float* bias, const float* residual, float* out,
                      int threads, Workspace* ws) {
  const MicroKernels& mk = *w.mk_;
  const bool split = mk.split;
  const int elem = split ? 2 : 1, mr = mk.mr, nr = mk.nr;
  const int64_t cg = s.group_in_channels(), og = s.group_out_channels(), words = s.words();
  const int64_t steps = w.steps_, pix = steps * elem;
  const int64_t H = s.in_h, W = s.in_w, Hp = H + 2 * s.pad_h, Wp = W + 2 * s.pad_w;
  const int64_t OH = s.out_h(), OW = s.out_w(), P = OH * OW, plane = H * W;
  const int64_t img = Hp * Wp * pix;
  const int64_t images = s.batch * s.groups;  // an "image" is one (sample, group)
  const bool nhwc = s.layout == Layout::kNHWC;
  const int64_t C = s.in_channels, OC = s.out_channels;
  // Float input of image (n, g): NCHW, cg planes from `first`; NHWC, cg channels from
  // `first` in each pixel of C.
  auto image_input = [&](int64_t n, int64_t g) {
    return nhwc ? x + n * plane * C + g * cg : x + (n * C + g * cg) * plane;
  };
  threads = std::max(1, threads);

  Workspace local;
  if (ws == nullptr) ws = &local;
  uint64_t* act = ws->act.reserve(images * img + 1);

  // Pad element: -1 sets the bits of every real channel, +1 and 0 (corrected below) clear them.
  std::vector<uint64_t> pad_elem(pix, 0);
  if (s.pad_value == -1) {
    std::vector<uint32_t> ones(words, 0xFFFFFFFFu);
    ones[words - 1] = tail_mask(cg);
    put_row(ones.data(), words, steps, split, pad_elem.data());
  }

  // Packing tasks: blocks of padded rows of one image, about 4096 pixels. With threads, an
  // image is split into about two tasks per thread (not below ~512 pixels a task: smaller
  // ones fall off the fast packing path), so that no thread waits while another packs the
  // first image alone, and later images are packed by several threads at once.
  int64_t row_block = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, W));
  if (threads > 1) {
    const int64_t min_rows = (512 + W - 1) / std::max<int64_t>(1, W);
    row_block = std::max(min_rows, std::min(row_block, (Hp + 2 * threads - 1) / (2 * threads)));
  }
  const int64_t blocks = (Hp + row_block - 1) / row_block;

  // Binarize + pack + pad rows [y0, y1) of the padded image `im`.
  auto pack_task = [&](int64_t im, int64_t b, uint32_t* tmp) {
    const int64_t n = im / s.groups, g = im % s.groups;
    const float* src = image_input(n, g);
    uint64_t* dst = act + im * img;
    const int64_t y0 = b * row_block, y1 = std::min(Hp, y0 + row_block);
    // Interior rows of this block: [iy0, iy1) in input coordinates.
    const int64_t iy0 = std::max<int64_t>(y0 - s.pad_h, 0);
    const int64_t iy1 = std::min<int64_t>(y1 - s.pad_h, H);
    if (iy0 < iy1) {
      if (!nhwc) {
        mk.pack_planes(src, cg, plane, iy0 * W, iy1 * W, tmp);
      } else if (s.groups == 1) {  // the pixels of these rows are one run of floats
        mk.pack_rows(src + iy0 * W * C, (iy1 - iy0) * W, C, tmp);
      } else {  // a group's channels are a run of cg floats in each pixel
        for (int64_t p = iy0 * W; p < iy1 * W; ++p) {
          mk.pack_rows(src + p * C, 1, cg, tmp + (p - iy0 * W) * words);
        }
      }
    }
    auto fill_pad = [&](uint64_t* e, int64_t count) {
      if (pix == 1) {
        std::fill(e, e + count, pad_elem[0]);
      } else {
        for (int64_t i = 0; i < count; ++i) std::memcpy(e + i * pix, pad_elem.data(), sizeof(uint64_t) * pix);
      }
    };
    // Plain layout with an even word count: a pixel's steps are its words, byte for byte.
    const bool copy_rows = !split && words % 2 == 0;
    for (int64_t yp = y0; yp < y1; ++yp) {
      uint64_t* row = dst + yp * Wp * pix;
      const int64_t iy = yp - s.pad_h;
      if (iy < 0 || iy >= H) {
        fill_pad(row, Wp);
        continue;
      }
      fill_pad(row, s.pad_w);
      fill_pad(row + (s.pad_w + W) * pix, Wp - s.pad_w - W);
      const uint32_t* src_row = tmp + (iy - iy0) * W * words;
      uint64_t* e = row + s.pad_w * pix;
      if (copy_rows) {
        std::memcpy(e, src_row, sizeof(uint32_t) * W * words);
      } else {
        for (int64_t ix = 0; ix < W; ++ix) put_row(src_row + ix * words, words, steps, split, e + ix * pix);
      }
    }
  };

  // Tiles: mr output pixels x one panel of nr channels; jobs are blocks of tiles of one panel.
  const int64_t taps = s.kernel_h * s.kernel_w;
  std::vector<int64_t> tap_off(taps);
  for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
    for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
      tap_off[ky * s.kernel_w + kx] = (ky * s.dilate_h * Wp + kx * s.dilate_w) * pix;
    }
  }
  const bool correct = s.pad_value == 0 && (s.pad_h > 0 || s.pad_w > 0);
  const int64_t tiles = (P + mr - 1) / mr;
  const int64_t tb = tiles_per_block(mk, pix * s.kernel_h * s.kernel_w);
  const int64_t tblocks = (tiles + tb - 1) / tb;
  const int64_t panels = w.panels_;
  const int64_t jobs = tblocks * panels;  // per image
  const int32_t ktot = static_cast<int32_t>(taps * cg);
  // Offset of every output pixel's receptive field in the padded image, and (pad_value 0)
  // whether it reaches into the padding; shared by all images and panels.
  int64_t* pix_off = ws->pix_off.reserve(P);
  uint8_t* at_border = ws->at_border.reserve(correct ? P : 0);
  for (int64_t oy = 0, p = 0; oy < OH; ++oy) {
    const int64_t iy = oy * s.stride_h - s.pad_h;
    const bool y_in = iy >= 0 && iy + (s.kernel_h - 1) * s.dilate_h < H;
    for (int64_t ox = 0; ox < OW; ++ox, ++p) {
      pix_off[p] = (oy * s.stride_h * Wp + ox * s.stride_w) * pix;
      if (correct) {
        const int64_t ix = ox * s.stride_w - s.pad_w;
        at_border[p] = !(y_in && ix >= 0 && ix + (s.kernel_w - 1) * s.dilate_w < W);
      }
    }
  }
  // While image im is computed, the float input of image im + 1 is prefetched into L2 by the
  // jobs of the first half of every thread's own range (slots 0 .. jobs / 2 - 1 interleave the
  // threads; each slot's lines are spread over its tiles), so that packing it, which starts
  // past that half, does not wait for memory.
  // NHWC with groups: the groups of a sample are interleaved, so the whole sample is
  // prefetched ahead of its first group.
  const int64_t in_floats = (nhwc ? C : cg) * plane;
  const int64_t in_lines = (in_floats * static_cast<int64_t>(sizeof(float)) + 63) / 64;
  const int64_t slots = std::max<int64_t>(1, jobs / 2);
  const int64_t lines_per_slot = (in_lines + slots - 1) / slots;

  // Distance between neighbouring output pixels and channels.
  const int64_t out_pixel = nhwc ? OC : 1, out_channel = nhwc ? 1 : P;
  struct Scratch {
    const uint64_t* rows[16];
    int32_t corr[16 * 64];
    TileArgs t;
  };
  // `slot` >= 0: this job's share of the next image's prefetch (see the scheduling below).
  auto compute_job = [&](int64_t im, int64_t job, int64_t slot, Scratch& sc) {
    TileArgs& t = sc.t;
    const int64_t pn = job % panels, tbk = job / panels;
    const int64_t n = im / s.groups, g = im % s.groups;
    const uint64_t* base = act + im * img;
    const int64_t o0 = g * og + pn * nr;
    t.b = w.data_.data() + (g * panels + pn) * w.panel_stride_;
    t.n_valid = static_cast<int>(std::min<int64_t>(nr, og - pn * nr));
    t.scale = scale ? scale + o0 : nullptr;
    t.bias = bias ? bias + o0 : nullptr;
    const int32_t* sums = w.tap_sums_.data() + (g * panels + pn) * taps * nr;
    const int64_t out_at = nhwc ? n * P * OC + o0 : (n * OC + o0) * P;
    float* out_base = out + out_at;
    const float* res_base = residual ? residual + out_at : nullptr;
    const int64_t tile_end = std::min(tiles, (tbk + 1) * tb);
    // This job's share of the next image's lines, [l0, l1), in runs of per_tile per tile.
    const char* next = nullptr;
    int64_t l0 = 0, l1 = 0, per_tile = 0;
    const int64_t nn = (im + 1) / s.groups, ng = (im + 1) % s.groups;
    if (im + 1 < images && slot >= 0 && (!nhwc || ng == 0)) {
      next = reinterpret_cast<const char*>(image_input(nn, ng));
      l0 = std::min(in_lines, slot * lines_per_slot);
      l1 = std::min(in_lines, l0 + lines_per_slot);
      const int64_t ntiles = tile_end - tbk * tb;
      per_tile = (l1 - l0 + ntiles - 1) / ntiles;
    }
    for (int64_t tile = tbk * tb; tile < tile_end; ++tile) {
      const int64_t p0 = tile * mr;
      t.m = static_cast<int>(std::min<int64_t>(mr, P - p0));
      bool any_corr = false;
      for (int i = 0; i < t.m; ++i) {
        sc.rows[i] = base + pix_off[p0 + i];
        if (!correct || !at_border[p0 + i]) continue;
        // Taps of this pixel that fall into the padding: their +1 contribution is removed.
        if (!any_corr) {
          std::memset(sc.corr, 0, sizeof(int32_t) * nr * mr);
          any_corr = true;
        }
        const int64_t oy = (p0 + i) / OW, ox = (p0 + i) % OW;
        const int64_t iy = oy * s.stride_h - s.pad_h, ix = ox * s.stride_w - s.pad_w;
        int32_t* c = sc.corr + i * nr;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
          const int64_t yy = iy + ky * s.dilate_h;
          const bool row_out = yy < 0 || yy >= H;
          for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
            const int64_t xx = ix + kx * s.dilate_w;
            if (!row_out && xx >= 0 && xx < W) continue;
            const int32_t* st = sums + (ky * s.kernel_w + kx) * nr;
            for (int j = 0; j < nr; ++j) c[j] += st[j];
          }
        }
      }
      t.corr = any_corr ? sc.corr : nullptr;
      t.out = out_base + p0 * out_pixel;
      if (next) {
        const int64_t first = l0 + (tile - tbk * tb) * per_tile;
        for (int64_t l = first; l < std::min(l1, first + per_tile); ++l) {
          __builtin_prefetch(next + 64 * l, 0, 2);
        }
      }
      mk.tile(t);
      if (res_base) {
        add_residual(out_base + p0 * out_pixel, res_base + p0 * out_pixel, out_pixel,
                     out_channel, t.n_valid, t.m);
      }
    }
  };

  // Scheduling. Every image's jobs are split into one contiguous range (of panels) per
  // thread, so a thread keeps the same weight panels in its cache from image to image; a
  // thread that finishes its range steals from the others' (same atomic cursors, so no job
  // runs twice). The next image is packed by whichever thread is past half of its own range
  // (its input has been prefetched by then), so packing overlaps computing; a thread only
  // waits (spinning: packing tasks are short) when an image's packing is claimed but not
  // finished and no later image is left to pack. One fork-join per call, no barrier between
  // images.
  const int nt = static_cast<int>(std::min<int64_t>(threads, std::max<int64_t>(1, jobs)));
  struct alignas(64) Cursor {
    std::atomic<int64_t> next{0};
  };
  std::unique_ptr<Cursor[]> job_cursor(new Cursor[images * nt]);  // per (image, range)
  std::unique_ptr<Cursor[]> pack_cursor(new Cursor[images]);      // tasks claimed
  std::unique_ptr<Cursor[]> packed(new Cursor[images]);           // tasks finished
  auto range_begin = [&](int r) { return jobs * r / nt; };
  const int64_t pack_tmp_size = row_block * W * words;  // binarized rows before padding
  uint32_t* pack_tmp = ws->pack_tmp.reserve(nt * pack_tmp_size);
  parallel_for(nt, nt, [&](int64_t first, int64_t last) {
    uint32_t* tmp = pack_tmp + first * pack_tmp_size;
    Scratch sc;
    TileArgs& t = sc.t;
    t.tap_off = tap_off.data();
    t.taps = static_cast<int>(taps);
    t.steps = static_cast<int>(steps);
    t.ktot = ktot;
    t.a = sc.rows;
    t.row_stride = out_pixel;
    t.col_stride = out_channel;
    // Claims and runs one packing task of image im; false when none is left to claim.
    auto pack_one = [&](int64_t im) {
      if (im >= images) return false;
      const int64_t b = pack_cursor[im].next.fetch_add(1);
      if (b >= blocks) return false;
      pack_task(im, b, tmp);
      packed[im].next.fetch_add(1, std::memory_order_release);
      return true;
    };
    for (int64_t self = first; self < last; ++self) {  // once per thread (more if the
      const int r = static_cast<int>(self);             // runtime gave fewer threads)
      for (int64_t im = 0; im < images; ++im) {
        // Wait for this image's input: help packing it; while another thread finishes its
        // last task (slowed down, or sharing this CPU), pack later images instead of spinning.
        while (packed[im].next.load(std::memory_order_acquire) < blocks) {
          if (pack_one(im)) continue;
          bool ahead = false;
          for (int64_t k = im + 1; k < images && !ahead; ++k) ahead = pack_one(k);
          if (!ahead) cpu_relax();
        }
        // Own range first, helping with the next image's packing once half-way through.
        const int64_t own0 = range_begin(r), own1 = range_begin(r + 1);
        const int64_t half = own0 + (own1 - own0) / 2;
        for (int64_t j = job_cursor[im * nt + r].next.fetch_add(1); own0 + j < own1;
             j = job_cursor[im * nt + r].next.fetch_add(1)) {
          compute_job(im, own0 + j, j * nt + r, sc);
          if (own0 + j >= half) pack_one(im + 1);
        }
        // Then the others' leftovers.
        for (int d = 1; d < nt; ++d) {
          const int o = (r + d) % nt;
          const int64_t b0 = range_begin(o), b1 = range_begin(o + 1);
          for (int64_t j = job_cursor[im * nt + o].next.fetch_add(1); b0 + j < b1;
               j = job_cursor[im * nt + o].next.fetch_add(1)) {
            compute_job(im, b0 + j, -1, sc);
          }
        }
        while (pack_one(im + 1)) {
        }
      }
    }
  });
}

void FastDriver::rows(int64_t m, int64_t k, const float* xf, const uint32_t* xw,
                      const PackedWeights& w, const float* scale, const float* bias, void* out,
                      bool int_out, int threads, Workspace* ws) {
  const MicroKernels& mk = *w.mk_;
  const bool split = mk.split;
  const int elem = split ? 2 : 1, mr = mk.mr, nr = mk.nr;
  const int64_t words = packed_words(k), steps = w.steps_, pix = steps * elem;
  const int64_t n = w.out_channels_;
  Workspace local;
  if (ws == nullptr) ws = &local;
  uint64_t* act = ws->act.reserve(m * pix + 1);

  // 1. Binarize (or take) and pack the rows.
  const int64_t chunk = std::max<int64_t>(1, 1024 / std::max<int64_t>(1, words));
  parallel_for((m + chunk - 1) / chunk, threads, [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> tmp(xf ? chunk * words : 0);
    for (int64_t c = begin; c < end; ++c) {
      const int64_t r0 = c * chunk, r1 = std::min(m, r0 + chunk);
      const uint32_t* src = xw ? xw + r0 * words : tmp.data();
      if (xf) mk.pack_rows(xf + r0 * k, r1 - r0, k, tmp.data());
      for (int64_t r = r0; r < r1; ++r) {
        put_row(src + (r - r0) * words, words, steps, split, act + r * pix);
      }
    }
  });

  // 2. Tiles: (block of row tiles, panel) jobs.
  const int64_t tiles = (m + mr - 1) / mr;
  const int64_t tb = tiles_per_block(mk, pix);
  const int64_t tblocks = (tiles + tb - 1) / tb;
  const int64_t panels = w.panels_;
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
      t.b = w.data_.data() + pn * w.panel_stride_;
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

void bconv2d_fast(const BConv2DShape& s, const float* x, const PackedWeights& w,
                  const float* scale, const float* bias, const float* residual, float* out,
                  int threads, Workspace* ws) {
  if (w.out_channels() != s.out_channels || w.groups() != s.groups ||
      w.taps() != s.kernel_h * s.kernel_w || w.bits_per_tap() != s.group_in_channels()) {
    throw std::invalid_argument("bconv2d_fast: packed weights do not match the shape");
  }
  if (s.batch == 0) return;
  if (w.isa() == Isa::kRef) {
    std::vector<uint32_t> packed(s.batch * s.groups * s.in_h * s.in_w * s.words());
    pack_input(s, x, packed.data());
    bconv2d_ref(s, packed.data(), w.raw(), scale, bias, residual, out);
    return;
  }
  FastDriver::conv(s, x, w, scale, bias, residual, out, threads, ws);
}

void bdense_fast(int64_t m, int64_t k, const float* x, const PackedWeights& w, const float* scale,
                 const float* bias, float* out, int threads, Workspace* ws) {
  if (w.groups() != 1 || w.taps() != 1 || w.bits_per_tap() != k) {
    throw std::invalid_argument("bdense_fast: packed weights do not match the shape");
  }
  if (m == 0) return;
  const int64_t n = w.out_channels();
  if (w.isa() == Isa::kRef) {
    std::vector<uint32_t> packed(m * packed_words(k));
    pack_signs(x, m, k, packed.data());
    std::vector<int32_t> dots(m * n);
    bgemm_ref(m, n, k, packed.data(), w.raw(), dots.data());
    output_transform(dots.data(), m, n, scale, bias, out);
    return;
  }
  FastDriver::rows(m, k, x, nullptr, w, scale, bias, out, false, threads, ws);
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
  FastDriver::rows(m, k, nullptr, a, w, nullptr, nullptr, c, true, threads, ws);
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

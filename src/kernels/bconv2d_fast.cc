// Fast binary convolution: binarized, padded activations (conv_activation_packing.h) times
// the repacked weights, in tiles of mr output pixels x one panel of nr output channels, with
// the output transform, the zero-padding correction (zero_padding_correction.h) and the
// residual fused per tile; jobs are blocks of tiles of one panel of one image, run by the
// conv scheduler (conv_scheduler.h).
#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "bitpack.h"
#include "conv_activation_packing.h"
#include "conv_scheduler.h"
#include "fast_kernels.h"
#include "microkernel.h"
#include "zero_padding_correction.h"

namespace bmx {

namespace {

// out[i * row_stride + j * col_stride] += res[same] for `pixels` x `channels` outputs, after
// the tile has rounded scale * dot + bias to float. NCHW only: with NHWC output (col_stride 1)
// the tile's epilogue adds the residual itself (TileArgs::residual), before its stores.
inline void add_residual(float* out, const float* res, int64_t row_stride, int64_t col_stride,
                         int channels, int pixels) {
  for (int j = 0; j < channels; ++j) {
    float* o = out + j * col_stride;
    const float* r = res + j * col_stride;
    for (int i = 0; i < pixels; ++i) o[i * row_stride] += r[i * row_stride];
  }
}

// The convolution's work for the scheduler: packing tasks and tile jobs. Everything it needs
// besides its own members lives in the workspace, so that a call whose workspace is large
// enough allocates nothing.
class ConvTiles : public ConvWork {
 public:
  // Takes its scratch from ws, growing it where it is too small.
  ConvTiles(const BConv2DShape& s, const float* x, const PackedWeights& w, const float* scale,
            const float* bias, const float* residual, float* out, int threads, Workspace* ws);

  void run() {
    run_conv_schedule(packing_.images(), packing_.tasks_per_image(), jobs_, threads_, *this,
                      schedule_);
  }

  void pack(int worker, int64_t im, int64_t task) override {
    packing_.pack(x_, im, task, pack_tmp_ + worker * packing_.scratch_words(), act_);
  }
  void compute(int worker, int64_t im, int64_t job, int64_t slot) override;

 private:
  // A worker's tile arguments and row pointers.
  struct alignas(64) Scratch {
    const uint64_t* rows[16];
    int32_t corr[16 * 64];
    TileArgs t;
  };

  // Points the tile's rows at output pixels p0 .. p0 + t.m - 1 of `image` and sets their
  // zero-padding correction.
  void set_rows(Scratch& sc, const uint64_t* image, const int32_t* tap_sums, int64_t p0) const;

  const BConv2DShape& s_;
  const float* x_;
  const PackedWeights& w_;
  const float *scale_, *bias_, *residual_;
  float* out_;
  const MicroKernels& mk_;
  ConvActivationPacking packing_;
  ZeroPaddingCorrection correction_;
  int threads_;
  int64_t* tap_off_;  // each tap's offset from the start of a receptive field
  int64_t* pix_off_;  // where each output pixel's receptive field starts in its image
  uint64_t* act_;     // the packed images
  uint32_t* pack_tmp_;
  int64_t pixels_, tiles_, tiles_per_job_, panels_, jobs_;
  int64_t out_pixel_, out_channel_;  // distance between neighbouring output pixels, channels
  int64_t lines_per_slot_;           // prefetch share of one slot
  Scratch* scratch_;                 // per worker
  void* schedule_;                   // the scheduler's counters
};
static_assert(std::is_trivially_destructible<TileArgs>::value, "tile arguments live in a workspace");

ConvTiles::ConvTiles(const BConv2DShape& s, const float* x, const PackedWeights& w,
                     const float* scale, const float* bias, const float* residual, float* out,
                     int threads, Workspace* ws)
    : s_(s), x_(x), w_(w), scale_(scale), bias_(bias), residual_(residual), out_(out),
      mk_(*w.kernels()),
      packing_(s, *w.kernels(), w.steps(), std::max(1, threads), ws),
      correction_(s, &ws->at_border),
      threads_(threads) {
  const int64_t taps = s.kernel_h * s.kernel_w;
  tap_off_ = ws->tap_off.reserve(taps);
  packing_.tap_offsets(tap_off_);
  const bool nhwc = s.layout == Layout::kNHWC;
  pixels_ = s.out_h() * s.out_w();
  out_pixel_ = nhwc ? s.out_channels : 1;
  out_channel_ = nhwc ? 1 : pixels_;
  act_ = ws->act.reserve(packing_.images() * packing_.image_u64() + 1);
  pix_off_ = ws->pix_off.reserve(pixels_);
  packing_.receptive_field_offsets(pix_off_);

  tiles_ = (pixels_ + mk_.mr - 1) / mk_.mr;
  tiles_per_job_ = tiles_per_block(mk_, packing_.pixel_u64() * s.kernel_h * s.kernel_w);
  panels_ = w.panels();
  jobs_ = (tiles_ + tiles_per_job_ - 1) / tiles_per_job_ * panels_;  // per image
  const int64_t slots = std::max<int64_t>(1, jobs_ / 2);
  lines_per_slot_ = (packing_.prefetch_lines() + slots - 1) / slots;

  const int workers = conv_workers(jobs_, threads);
  pack_tmp_ = ws->pack_tmp.reserve(workers * packing_.scratch_words());
  scratch_ = reinterpret_cast<Scratch*>(ws->workers.reserve(workers * sizeof(Scratch)));
  schedule_ = ws->schedule.reserve(conv_schedule_bytes(packing_.images(), jobs_, threads));
  for (int r = 0; r < workers; ++r) {
    Scratch& sc = *new (scratch_ + r) Scratch;
    TileArgs& t = sc.t;
    t.tap_off = tap_off_;
    t.taps = static_cast<int>(taps);
    t.steps = static_cast<int>(w.steps());
    t.ktot = static_cast<int32_t>(taps * s.group_in_channels());
    t.a = sc.rows;
    t.row_stride = out_pixel_;
    t.col_stride = out_channel_;
  }
}

void ConvTiles::set_rows(Scratch& sc, const uint64_t* image, const int32_t* tap_sums,
                         int64_t p0) const {
  const int nr = mk_.nr;
  bool any_corr = false;
  for (int i = 0; i < sc.t.m; ++i) {
    sc.rows[i] = image + pix_off_[p0 + i];
    if (!correction_.at_border(p0 + i)) continue;
    if (!any_corr) {
      std::memset(sc.corr, 0, sizeof(int32_t) * nr * mk_.mr);
      any_corr = true;
    }
    correction_.add(p0 + i, tap_sums, nr, sc.corr + i * nr);
  }
  sc.t.corr = any_corr ? sc.corr : nullptr;
}

void ConvTiles::compute(int worker, int64_t im, int64_t job, int64_t slot) {
  Scratch& sc = scratch_[worker];
  TileArgs& t = sc.t;
  const int mr = mk_.mr, nr = mk_.nr;
  const int64_t pn = job % panels_, block = job / panels_;
  const int64_t n = im / s_.groups, g = im % s_.groups, og = s_.group_out_channels();
  const uint64_t* image = act_ + im * packing_.image_u64();
  const int64_t o0 = g * og + pn * nr;
  t.b = w_.panel(g, pn);
  t.n_valid = static_cast<int>(std::min<int64_t>(nr, og - pn * nr));
  t.scale = scale_ ? scale_ + o0 : nullptr;
  t.bias = bias_ ? bias_ + o0 : nullptr;
  const int32_t* tap_sums = w_.tap_sums(g, pn);
  const int64_t out_at = s_.layout == Layout::kNHWC ? n * pixels_ * s_.out_channels + o0
                                                     : (n * s_.out_channels + o0) * pixels_;
  float* out_base = out_ + out_at;
  const float* res_base = residual_ ? residual_ + out_at : nullptr;
  const int64_t tile0 = block * tiles_per_job_;
  const int64_t tile_end = std::min(tiles_, tile0 + tiles_per_job_);
  // This job's share of the next image's input, lines [l0, l1), in runs of per_tile a tile.
  const char* next = nullptr;
  int64_t l0 = 0, l1 = 0, per_tile = 0;
  if (im + 1 < packing_.images() && slot >= 0) next = packing_.prefetch_start(x_, im + 1);
  if (next) {
    const int64_t lines = packing_.prefetch_lines();
    l0 = std::min(lines, slot * lines_per_slot_);
    l1 = std::min(lines, l0 + lines_per_slot_);
    per_tile = (l1 - l0 + (tile_end - tile0) - 1) / (tile_end - tile0);
  }
  for (int64_t tile = tile0; tile < tile_end; ++tile) {
    const int64_t p0 = tile * mr;
    t.m = static_cast<int>(std::min<int64_t>(mr, pixels_ - p0));
    set_rows(sc, image, tap_sums, p0);
    t.out = out_base + p0 * out_pixel_;
    t.residual = res_base && out_channel_ == 1 ? res_base + p0 * out_pixel_ : nullptr;
    if (next) {
      const int64_t first = l0 + (tile - tile0) * per_tile;
      for (int64_t l = first; l < std::min(l1, first + per_tile); ++l) {
        __builtin_prefetch(next + 64 * l, 0, 2);
      }
    }
    mk_.tile(t);
    if (res_base && !t.residual) {
      add_residual(out_base + p0 * out_pixel_, res_base + p0 * out_pixel_, out_pixel_,
                   out_channel_, t.n_valid, t.m);
    }
  }
}

}  // namespace

namespace {

void check_weights(const BConv2DShape& s, const PackedWeights& w) {
  if (w.out_channels() != s.out_channels || w.groups() != s.groups ||
      w.taps() != s.kernel_h * s.kernel_w || w.bits_per_tap() != s.group_in_channels()) {
    throw std::invalid_argument("bconv2d_fast: packed weights do not match the shape");
  }
}

}  // namespace

void bconv2d_fast(const BConv2DShape& s, const float* x, const PackedWeights& w,
                  const float* scale, const float* bias, const float* residual, float* out,
                  int threads, Workspace* ws) {
  check_weights(s, w);
  if (s.batch == 0) return;
  Workspace local;
  if (ws == nullptr) ws = &local;
  if (w.isa() == Isa::kRef) {
    uint32_t* packed = ws->pack_tmp.reserve(s.batch * s.groups * s.in_h * s.in_w * s.words());
    pack_input(s, x, packed);
    bconv2d_ref(s, packed, w.raw(), scale, bias, residual, out);
    return;
  }
  ConvTiles(s, x, w, scale, bias, residual, out, threads, ws).run();
}

void bconv2d_reserve(const BConv2DShape& s, const PackedWeights& w, int threads, Workspace* ws) {
  check_weights(s, w);
  if (s.batch == 0) return;
  if (w.isa() == Isa::kRef) {
    ws->pack_tmp.reserve(s.batch * s.groups * s.in_h * s.in_w * s.words());
    return;
  }
  // The call's own set-up, which takes (and grows) its scratch from ws; nothing runs.
  ConvTiles(s, nullptr, w, nullptr, nullptr, nullptr, nullptr, threads, ws);
}

}  // namespace bmx

// Fast binary GEMM, dense and 2-D convolution (DESIGN.md sections 3 and 5).
//
// Results equal the reference kernels (bgemm_ref, bconv2d_ref + pack_input,
// output_transform) bit for bit, for every instruction set, shape and thread count.
//
// How they are fast: weights are repacked ONCE (PackedWeights) into panels of nr output
// channels, in the layout of the chosen instruction set's microkernel; activations are
// binarized and packed in one pass straight from float (NCHW or NHWC for conv, rows for dense) into
// a spatially padded image, which the convolution reads through per-tap offsets (indirect
// convolution, no im2col copy); a register-blocked xnor/popcount microkernel (AVX2: nibble
// lookup with vpshufb and vpsadbw; AVX-512: vpopcntq; NEON: vcntq_u8) computes mr x nr
// outputs at a time with the output transform (scale, bias, exact pad_value=0 correction)
// fused in its epilogue; work is split over output tiles on kernel_threads() threads.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "bconv2d.h"
#include "isa.h"

namespace bmx {

struct MicroKernels;

// 64-byte aligned, growable, uninitialised storage.
template <typename T>
class AlignedBuffer {
 public:
  T* data() { return ptr_.get(); }
  const T* data() const { return ptr_.get(); }
  size_t size() const { return size_; }
  // Makes room for n elements (contents are not kept when it grows).
  T* reserve(size_t n) {
    if (n > capacity_) {
      const size_t bytes = ((n * sizeof(T) + 63) / 64) * 64;
      T* p = static_cast<T*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64));
      if (p == nullptr) throw std::bad_alloc();
      ptr_.reset(p);
      capacity_ = n;
    }
    size_ = n;
    return ptr_.get();
  }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> ptr_;
  size_t size_ = 0, capacity_ = 0;
};

// Scratch memory reused across calls (an op keeps one; not for concurrent calls). A call only
// ever grows it, so once it is large enough for a call (bconv2d_reserve / bdense_reserve size
// it ahead, or an earlier call of the same shape did), the call allocates nothing at all.
struct Workspace {
  AlignedBuffer<uint64_t> act;        // packed activations
  AlignedBuffer<uint32_t> pack_tmp;   // binarized rows before the A layout (conv: per worker;
                                      // dense: per chunk of rows); Isa::kRef: the packed input
  AlignedBuffer<int64_t> pix_off;     // conv: where each output pixel's receptive field starts
  AlignedBuffer<int64_t> tap_off;     // conv: each tap's offset from there
  AlignedBuffer<uint8_t> at_border;   // conv, pad_value 0: whether it reaches into the padding
  AlignedBuffer<uint64_t> pad_elem;   // conv: one padding pixel in the A layout
  AlignedBuffer<uint32_t> pad_words;  // conv: the same pixel as plain packed words
  AlignedBuffer<uint8_t> workers;     // conv: each worker's tile arguments
  AlignedBuffer<uint8_t> schedule;    // conv: the work scheduler's counters
  AlignedBuffer<int32_t> dots;        // Isa::kRef dense: the integer dot products
};

// Weights repacked for one instruction set. For Isa::kRef it keeps the packed words as given.
class PackedWeights {
 public:
  PackedWeights() = default;
  bool empty() const { return out_channels_ == 0; }
  Isa isa() const { return isa_; }
  int64_t out_channels() const { return out_channels_; }
  int64_t groups() const { return groups_; }
  int64_t taps() const { return taps_; }
  int64_t bits_per_tap() const { return bits_; }
  size_t bytes() const;
  const uint32_t* raw() const { return raw_.data(); }  // Isa::kRef only

  // The microkernel layout (fast paths only; microkernel.h): the microkernels, 64-bit steps
  // per tap, panels of nr output channels per group, panel pn of group g, and its tap sums
  // (taps x nr: bits - 2 * popcount(w), what a tap adds to the dot product of an all +1 input).
  const MicroKernels* kernels() const { return mk_; }
  int64_t steps() const { return steps_; }
  int64_t panels() const { return panels_; }
  const uint64_t* panel(int64_t g, int64_t pn) const {
    return data_.data() + (g * panels_ + pn) * panel_stride_;
  }
  const int32_t* tap_sums(int64_t g, int64_t pn) const {
    return tap_sums_.data() + (g * panels_ + pn) * taps_ * nr_;
  }

 private:
  friend PackedWeights pack_weights(Isa, int64_t, int64_t, int64_t, int64_t, const uint32_t*);
  Isa isa_ = Isa::kRef;
  const MicroKernels* mk_ = nullptr;
  int64_t out_channels_ = 0, groups_ = 1, taps_ = 1, bits_ = 0;
  int nr_ = 0;                    // channels per panel
  int64_t steps_ = 0;             // 64-bit steps per tap
  int64_t panels_ = 0;            // panels per group
  int64_t panel_stride_ = 0;      // uint64 per panel
  AlignedBuffer<uint64_t> data_;  // [groups][panels][taps][steps][elem * nr]
  std::vector<int32_t> tap_sums_;  // [groups][panels][taps][nr]: bits - 2 * popcount(w)
  std::vector<uint32_t> raw_;      // Isa::kRef: the words as given
};

// Repacks `out_channels` rows of `taps` x words(bits) packed words each (OHWI for conv:
// taps = kh * kw, bits = in_channels / groups; dense: taps = 1, bits = K), split into
// `groups` equal groups of rows.
PackedWeights pack_weights(Isa isa, int64_t out_channels, int64_t groups, int64_t taps,
                           int64_t bits, const uint32_t* w);
inline PackedWeights pack_conv_weights(Isa isa, const BConv2DShape& s, const uint32_t* w) {
  return pack_weights(isa, s.out_channels, s.groups, s.kernel_h * s.kernel_w,
                      s.group_in_channels(), w);
}
inline PackedWeights pack_dense_weights(Isa isa, int64_t n, int64_t k, const uint32_t* w) {
  return pack_weights(isa, n, 1, 1, k, w);
}

// Grow ws to what bconv2d_fast / bdense_fast (float input) with these arguments need, so that
// such calls on ws allocate nothing (with threads > 1, see also start_threads in parallel.h).
void bconv2d_reserve(const BConv2DShape& s, const PackedWeights& w, int threads, Workspace* ws);
void bdense_reserve(int64_t m, int64_t k, const PackedWeights& w, int threads, Workspace* ws);

// Binary convolution from float input: out = scale * dot + bias [+ residual], x, out and
// residual in s.layout (NCHW or NHWC), as bconv2d_ref(pack_input(x)). `w` must come from
// pack_conv_weights with the same shape; `residual` (null, or shaped as out) is added to each
// tile while it is in cache.
void bconv2d_fast(const BConv2DShape& s, const float* x, const PackedWeights& w,
                  const float* scale, const float* bias, const float* residual, float* out,
                  int threads, Workspace* ws = nullptr);

// Binary dense layer from float rows x (m x k): out (m x n) = scale * dot + bias, as
// output_transform(bgemm_ref(pack_signs(x), w)). `w` from pack_dense_weights(n, k).
void bdense_fast(int64_t m, int64_t k, const float* x, const PackedWeights& w, const float* scale,
                 const float* bias, float* out, int threads, Workspace* ws = nullptr);

// Binary GEMM on packed operands, as bgemm_ref: C (m x n) = dot(A row, W row).
void bgemm_fast(int64_t m, int64_t k, const uint32_t* a, const PackedWeights& w, int32_t* c,
                int threads, Workspace* ws = nullptr);
// The same, repacking B (n x words(k)) on every call.
void bgemm_fast(Isa isa, int64_t m, int64_t n, int64_t k, const uint32_t* a, const uint32_t* b,
                int32_t* c, int threads);

}  // namespace bmx

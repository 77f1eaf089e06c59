// Weight repacking for the fast paths: panels of nr output channels in the chosen
// microkernel's B layout, with each tap's weight sum for the pad_value = 0 correction.
#include <cstring>
#include <stdexcept>
#include <string>

#include "bitpack.h"
#include "fast_kernels.h"
#include "microkernel.h"

namespace bmx {

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
  p.nr_ = mk->nr;
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

}  // namespace bmx

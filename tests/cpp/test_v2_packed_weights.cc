// BMXNet v2's packed weights rewritten into ours (v2_packed_weights.h) against the float weights
// packed by pack_signs, the reference packer: the v2 words are made here from the floats as the
// fork's model-converter makes them (conv: rows of (c, y, x) bits; dense: transposed, packed
// along the inputs), for 32- and 64-bit words and sizes that put the word edges of both layouts
// in different places.
#include <cstdint>
#include <vector>

#include "bitpack.h"
#include "fast_test_util.h"
#include "v2_packed_weights.h"

namespace {

using test::failed;
using test::passed;

// v2's packer: `n` floats -> n / word_bits words, element j of a word at bit j, 1 = (x >= 0).
// Words are stored as 32-bit halves (little-endian), as a float64 array holds a uint64 word.
std::vector<uint32_t> v2_pack(const std::vector<float>& x, int word_bits) {
  std::vector<uint32_t> halves(x.size() / 32, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] >= 0.0f) halves[i / 32] |= uint32_t{1} << (i % 32);
  }
  (void)word_bits;  // a 64-bit word j is halves 2j (bits 0..31) and 2j + 1 (bits 32..63)
  return halves;
}

void test_conv() {
  for (int word_bits : {32, 64}) {
    for (int64_t c : {32, 64, 96, 160, 192, 256}) {
      if (c % word_bits) continue;
      for (int64_t o : {1, 3, 33}) {
        for (auto [kh, kw] : {std::pair<int64_t, int64_t>{1, 1}, {3, 3}, {2, 5}}) {
          const auto w = test::random_floats(o * c * kh * kw);  // (O, C, kh, kw)
          const auto v2 = v2_pack(w, word_bits);
          const auto got = bmx::v2_conv_weight_to_ohwi(v2.data(), word_bits, o, c, kh, kw);
          std::vector<float> ohwi(w.size());
          for (int64_t a = 0; a < o; ++a)
            for (int64_t ch = 0; ch < c; ++ch)
              for (int64_t t = 0; t < kh * kw; ++t)
                ohwi[(a * kh * kw + t) * c + ch] = w[(a * c + ch) * kh * kw + t];
          std::vector<uint32_t> expected(o * kh * kw * bmx::packed_words(c));
          bmx::pack_signs(ohwi.data(), o * kh * kw, c, expected.data());
          CHECK(test::same_bits(got, expected), "conv word_bits=%d C=%ld O=%ld kernel=%ldx%ld",
                word_bits, static_cast<long>(c), static_cast<long>(o), static_cast<long>(kh),
                static_cast<long>(kw));
        }
      }
    }
  }
}

void test_dense() {
  for (int word_bits : {32, 64}) {
    for (int64_t k : {32, 64, 96, 1024, 1056}) {
      if (k % word_bits) continue;
      for (int64_t o : {1, 10, 13}) {
        const auto w = test::random_floats(o * k);  // (O, K)
        std::vector<float> transposed(w.size());   // (K, O), then packed along K per unit
        for (int64_t a = 0; a < o; ++a)
          for (int64_t i = 0; i < k; ++i) transposed[i * o + a] = w[a * k + i];
        // Word (i, a) of v2's (K / word_bits, O) array: inputs i * word_bits ... of unit a.
        std::vector<float> column_words(w.size());
        for (int64_t i = 0; i < k / word_bits; ++i)
          for (int64_t a = 0; a < o; ++a)
            for (int64_t b = 0; b < word_bits; ++b)
              column_words[(i * o + a) * word_bits + b] = transposed[(i * word_bits + b) * o + a];
        const auto v2 = v2_pack(column_words, word_bits);
        const auto got = bmx::v2_dense_weight_to_rows(v2.data(), word_bits, o, k);
        std::vector<uint32_t> expected(o * bmx::packed_words(k));
        bmx::pack_signs(w.data(), o, k, expected.data());
        CHECK(test::same_bits(got, expected), "dense word_bits=%d K=%ld O=%ld", word_bits,
              static_cast<long>(k), static_cast<long>(o));
      }
    }
  }
}

void test_fits() {
  CHECK(bmx::v2_row_fits(32, 32) && bmx::v2_row_fits(96, 32) && bmx::v2_row_fits(128, 64),
        "multiples of the word size fit");
  CHECK(!bmx::v2_row_fits(33, 32) && !bmx::v2_row_fits(96, 64) && !bmx::v2_row_fits(0, 32) &&
            !bmx::v2_row_fits(64, 16),
        "other sizes and word sizes do not");
}

}  // namespace

int main() {
  test_conv();
  test_dense();
  test_fits();
  return test::summary();
}

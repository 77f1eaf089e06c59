// Fast bgemm and dense kernels against their reference twins, bit for bit, for every
// instruction set this machine runs, over sizes that hit word (32/64 bits), vector, flush
// (31 steps) and tile (m, n) edges, and thread counts 1, 2, 3.
#include <cstdio>
#include <vector>

#include "bgemm.h"
#include "bitpack.h"
#include "fast_kernels.h"
#include "fast_test_util.h"
#include "output_transform.h"

using bmx::Isa;

namespace {

const int64_t kSizesK[] = {1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257,
                           1000, 1984, 1985, 2048, 4096 + 33};

void test_bgemm_packed() {
  for (Isa isa : test::fast_isas()) {
    for (int64_t k : kSizesK) {
      for (auto mn : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {4, 8}, {5, 9}, {13, 17}}) {
        const int64_t m = mn.first, n = mn.second, words = bmx::packed_words(k);
        auto a = test::random_words(m * words), b = test::random_words(n * words);
        test::clear_tails(a, k);
        test::clear_tails(b, k);
        std::vector<int32_t> ref(m * n), fast(m * n, 12345);
        bmx::bgemm_ref(m, n, k, a.data(), b.data(), ref.data());
        for (int threads : {1, 2, 3}) {
          std::fill(fast.begin(), fast.end(), 12345);
          bmx::bgemm_fast(isa, m, n, k, a.data(), b.data(), fast.data(), threads);
          CHECK(test::same_bits(ref, fast), "bgemm %s m=%lld n=%lld k=%lld threads=%d",
                bmx::isa_name(isa), (long long)m, (long long)n, (long long)k, threads);
        }
      }
    }
  }
}

void test_bgemm_extremes() {
  // All ones against all zeros (dot = -k) and equal rows (dot = k), with 67 rows: many tiles.
  for (Isa isa : test::fast_isas()) {
    for (int64_t k : {64, 2000, 4097}) {
      const int64_t m = 67, n = 19, words = bmx::packed_words(k);
      std::vector<uint32_t> a(m * words, 0xFFFFFFFFu), b(n * words, 0);
      for (int64_t j = 0; j < n; j += 2) std::fill(b.begin() + j * words, b.begin() + (j + 1) * words, 0xFFFFFFFFu);
      test::clear_tails(a, k);
      test::clear_tails(b, k);
      std::vector<int32_t> ref(m * n), fast(m * n);
      bmx::bgemm_ref(m, n, k, a.data(), b.data(), ref.data());
      bmx::bgemm_fast(isa, m, n, k, a.data(), b.data(), fast.data(), 2);
      CHECK(test::same_bits(ref, fast) && ref[0] == k && ref[1] == -k, "bgemm extremes %s k=%lld",
            bmx::isa_name(isa), (long long)k);
    }
  }
}

void test_dense() {
  for (Isa isa : test::fast_isas()) {
    for (int64_t k : {1, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1000}) {
      for (auto mn : {std::pair<int64_t, int64_t>{1, 1}, {1, 8}, {2, 7}, {4, 16}, {8, 33}, {9, 10}}) {
        const int64_t m = mn.first, n = mn.second;
        const auto x = test::random_floats(m * k), wf = test::random_floats(n * k);
        std::vector<uint32_t> wp(n * bmx::packed_words(k)), xp(m * bmx::packed_words(k));
        bmx::pack_signs(wf.data(), n, k, wp.data());
        bmx::pack_signs(x.data(), m, k, xp.data());
        const auto scale = test::random_floats(n), bias = test::random_floats(n);
        std::vector<int32_t> dots(m * n);
        bmx::bgemm_ref(m, n, k, xp.data(), wp.data(), dots.data());
        const bmx::PackedWeights w = bmx::pack_dense_weights(isa, n, k, wp.data());
        for (int variant = 0; variant < 4; ++variant) {
          const float* sc = (variant & 1) ? scale.data() : nullptr;
          const float* bs = (variant & 2) ? bias.data() : nullptr;
          std::vector<float> ref(m * n), fast(m * n, -7.0f);
          bmx::output_transform(dots.data(), m, n, sc, bs, ref.data());
          for (int threads : {1, 3}) {
            bmx::Workspace ws;
            bmx::bdense_fast(m, k, x.data(), w, sc, bs, fast.data(), threads, &ws);
            CHECK(test::same_bits(ref, fast), "dense %s m=%lld n=%lld k=%lld scale=%d bias=%d threads=%d",
                  bmx::isa_name(isa), (long long)m, (long long)n, (long long)k, sc != nullptr,
                  bs != nullptr, threads);
          }
        }
      }
    }
  }
}

void test_ref_path_and_dispatch() {
  // Isa::kRef through the fast API is the reference itself.
  const int64_t m = 3, n = 4, k = 70;
  const auto x = test::random_floats(m * k), wf = test::random_floats(n * k);
  std::vector<uint32_t> wp(n * bmx::packed_words(k));
  bmx::pack_signs(wf.data(), n, k, wp.data());
  std::vector<float> a(m * n), b(m * n);
  bmx::bdense_fast(m, k, x.data(), bmx::pack_dense_weights(Isa::kRef, n, k, wp.data()), nullptr,
                   nullptr, a.data(), 1);
  bmx::bdense_fast(m, k, x.data(), bmx::pack_dense_weights(bmx::best_isa(), n, k, wp.data()),
                   nullptr, nullptr, b.data(), 2);
  CHECK(test::same_bits(a, b), "dense ref path == best path (%s)", bmx::isa_name(bmx::best_isa()));
  Isa parsed;
  CHECK(bmx::parse_isa("AVX2", &parsed) && parsed == Isa::kAvx2, "parse_isa AVX2");
  CHECK(!bmx::parse_isa("sse9", &parsed), "parse_isa rejects unknown names");
  CHECK(bmx::isa_available(Isa::kPortable) && bmx::isa_available(Isa::kRef), "portable and ref always run");
  bmx::set_kernel_threads(3);
  CHECK(bmx::kernel_threads() == 3, "set_kernel_threads overrides OMP_NUM_THREADS");
  bmx::set_kernel_threads(0);
  CHECK(bmx::kernel_threads() >= 1, "kernel_threads from the environment");
}

}  // namespace

int main() {
  test::print_isas();
  test_bgemm_packed();
  test_bgemm_extremes();
  test_dense();
  test_ref_path_and_dispatch();
  return test::summary();
}

// Reference kernels (bit packing, bgemm, bconv2d) against plain ±1 integer arithmetic.
#include <cstdio>
#include <random>
#include <vector>

#include "bconv2d.h"
#include "bgemm.h"
#include "bitpack.h"

namespace {

int passed = 0, failed = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (cond) {                                            \
      ++passed;                                            \
    } else {                                               \
      ++failed;                                            \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__);     \
      std::printf(__VA_ARGS__);                            \
      std::printf("\n");                                   \
    }                                                      \
  } while (0)

std::mt19937 rng(42);

std::vector<float> random_floats(size_t n) {
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  if (n) v[0] = 0.0f;  // sign(0) = +1
  return v;
}

int sgn(float x) { return x >= 0.0f ? 1 : -1; }

void test_pack() {
  for (int64_t n : {1, 5, 31, 32, 33, 63, 64, 65, 255, 256, 257}) {
    const auto x = random_floats(2 * n);
    std::vector<uint32_t> packed(2 * bmx::packed_words(n), 0xDEADBEEF);
    bmx::pack_signs(x.data(), 2, n, packed.data());
    bool ok = true;
    for (int64_t r = 0; r < 2; ++r) {
      const uint32_t* row = packed.data() + r * bmx::packed_words(n);
      for (int64_t c = 0; c < bmx::packed_words(n) * 32; ++c) {
        const int bit = (row[c / 32] >> (c % 32)) & 1;
        const int expected = c < n ? (x[r * n + c] < 0.0f) : 0;  // tail bits are 0
        ok = ok && bit == expected;
      }
    }
    CHECK(ok, "pack_signs n=%lld", static_cast<long long>(n));
  }
}

void test_bgemm() {
  for (int64_t k : {1, 31, 32, 33, 63, 64, 65, 255, 256, 257, 1000}) {
    const int64_t m = 3, n = 5;
    const auto a = random_floats(m * k), b = random_floats(n * k);
    std::vector<uint32_t> pa(m * bmx::packed_words(k)), pb(n * bmx::packed_words(k));
    bmx::pack_signs(a.data(), m, k, pa.data());
    bmx::pack_signs(b.data(), n, k, pb.data());
    std::vector<int32_t> c(m * n);
    bmx::bgemm_ref(m, n, k, pa.data(), pb.data(), c.data());
    bool ok = true;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int32_t dot = 0;
        for (int64_t t = 0; t < k; ++t) dot += sgn(a[i * k + t]) * sgn(b[j * k + t]);
        ok = ok && c[i * n + j] == dot;
      }
    CHECK(ok, "bgemm_ref k=%lld", static_cast<long long>(k));
  }
}

// Direct ±1 convolution with an explicit padded border value (0 contributes nothing).
std::vector<float> naive_conv(const bmx::BConv2DShape& s, const std::vector<float>& x,
                              const std::vector<float>& w) {
  const int64_t cg = s.group_in_channels(), og = s.group_out_channels();
  std::vector<float> out(s.batch * s.out_channels * s.out_h() * s.out_w());
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t y = 0; y < s.out_h(); ++y)
        for (int64_t xo = 0; xo < s.out_w(); ++xo) {
          int64_t acc = 0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < s.kernel_h; ++ky)
              for (int64_t kx = 0; kx < s.kernel_w; ++kx) {
                const int64_t iy = y * s.stride_h - s.pad_h + ky * s.dilate_h;
                const int64_t ix = xo * s.stride_w - s.pad_w + kx * s.dilate_w;
                const int64_t ic = (o / og) * cg + c;
                const bool inside = iy >= 0 && iy < s.in_h && ix >= 0 && ix < s.in_w;
                const int v = inside ? sgn(x[((n * s.in_channels + ic) * s.in_h + iy) * s.in_w + ix])
                                     : s.pad_value;
                acc += v * sgn(w[((o * cg + c) * s.kernel_h + ky) * s.kernel_w + kx]);
              }
          out[((n * s.out_channels + o) * s.out_h() + y) * s.out_w() + xo] = static_cast<float>(acc);
        }
  return out;
}

void test_bconv2d() {
  for (int64_t cg : {1, 31, 32, 33, 64, 65})
    for (int groups : {1, 2})
      for (int k : {1, 3})
        for (int stride : {1, 2})
          for (int pad_value : {-1, 0, 1}) {
            bmx::BConv2DShape s;
            s.batch = 2, s.in_channels = cg * groups, s.in_h = 6, s.in_w = 5;
            s.out_channels = 2 * groups, s.kernel_h = s.kernel_w = k;
            s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = k / 2 + (pad_value != 0);
            s.dilate_h = 1, s.dilate_w = 1 + (k == 3), s.groups = groups, s.pad_value = pad_value;
            CHECK(s.validate().empty(), "shape invalid: %s", s.validate().c_str());
            const auto x = random_floats(s.batch * s.in_channels * s.in_h * s.in_w);
            const auto w = random_floats(s.out_channels * cg * k * k);
            // weights OHWI, packed along input channels
            std::vector<float> ohwi(w.size());
            for (int64_t o = 0; o < s.out_channels; ++o)
              for (int64_t c = 0; c < cg; ++c)
                for (int64_t t = 0; t < k * k; ++t) ohwi[(o * k * k + t) * cg + c] = w[(o * cg + c) * k * k + t];
            std::vector<uint32_t> pw(s.out_channels * k * k * s.words());
            bmx::pack_signs(ohwi.data(), s.out_channels * k * k, cg, pw.data());
            std::vector<uint32_t> px(s.batch * groups * s.in_h * s.in_w * s.words());
            bmx::pack_input_nchw(s, x.data(), px.data());
            std::vector<float> out(s.batch * s.out_channels * s.out_h() * s.out_w());
            bmx::bconv2d_ref(s, px.data(), pw.data(), nullptr, nullptr, nullptr, out.data());
            CHECK(out == naive_conv(s, x, w), "bconv2d_ref cg=%lld groups=%d k=%d stride=%d pad_value=%d",
                  static_cast<long long>(cg), groups, k, stride, pad_value);
          }
}

}  // namespace

int main() {
  test_pack();
  test_bgemm();
  test_bconv2d();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

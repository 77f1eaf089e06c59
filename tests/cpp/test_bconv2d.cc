// Fast binary convolution against the reference (pack_input + bconv2d_ref), bit for bit,
// for every instruction set this machine runs: channel counts at word/step edges, pad values
// -1/0/+1, strides 1/2, dilation, groups 1/2, scale/bias, pixel counts that leave partial
// tiles, output channels that leave partial panels, and thread counts 1, 2, 3. NHWC is
// checked against the NCHW reference, transposed.
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "bconv2d.h"
#include "bitpack.h"
#include "fast_kernels.h"
#include "fast_test_util.h"

using bmx::BConv2DShape;
using bmx::Isa;

namespace {

struct Case {
  int64_t n, c, h, w, o, k, stride, pad, dilate, groups;
};

std::vector<uint32_t> random_conv_weights(const BConv2DShape& s) {
  const int64_t cg = s.group_in_channels(), words = s.words();
  const auto wf = test::random_floats(s.out_channels * s.kernel_h * s.kernel_w * cg);
  std::vector<uint32_t> w(s.out_channels * s.kernel_h * s.kernel_w * words);
  bmx::pack_signs(wf.data(), s.out_channels * s.kernel_h * s.kernel_w, cg, w.data());
  return w;
}

int run_case(const Case& c, int pad_value, bool full) {
  BConv2DShape s;
  s.batch = c.n, s.in_channels = c.c, s.in_h = c.h, s.in_w = c.w;
  s.out_channels = c.o, s.kernel_h = s.kernel_w = c.k;
  s.stride_h = s.stride_w = c.stride, s.pad_h = s.pad_w = c.pad;
  s.dilate_h = s.dilate_w = c.dilate, s.groups = c.groups, s.pad_value = pad_value;
  if (!s.validate().empty()) return 0;
  const auto x = test::random_floats(s.batch * s.in_channels * s.in_h * s.in_w);
  const auto w = random_conv_weights(s);
  const auto scale = test::random_floats(s.out_channels), bias = test::random_floats(s.out_channels);
  const auto residual = test::random_floats(s.batch * s.out_channels * s.out_h() * s.out_w());
  std::vector<uint32_t> packed(s.batch * s.groups * s.in_h * s.in_w * s.words());
  bmx::pack_input_nchw(s, x.data(), packed.data());
  const int64_t out_size = s.batch * s.out_channels * s.out_h() * s.out_w();
  int checks = 0;
  for (Isa isa : test::fast_isas()) {
    const bmx::PackedWeights pw = bmx::pack_conv_weights(isa, s, w.data());
    bmx::Workspace ws;  // reused across calls, as an op does
    for (int variant = 0; variant < 8; ++variant) {
      if (!full && variant != 7) continue;
      const float* sc = (variant & 1) ? scale.data() : nullptr;
      const float* bs = (variant & 2) ? bias.data() : nullptr;
      const float* res = (variant & 4) ? residual.data() : nullptr;
      std::vector<float> ref(out_size), fast(out_size, -99.0f);
      bmx::bconv2d_ref(s, packed.data(), w.data(), sc, bs, res, ref.data());
      if (res) {  // the reference adds the residual after rounding the layer's output
        std::vector<float> plain(out_size);
        bmx::bconv2d_ref(s, packed.data(), w.data(), sc, bs, nullptr, plain.data());
        for (int64_t i = 0; i < out_size; ++i) plain[i] += res[i];
        CHECK(test::same_bits(plain, ref), "bconv2d_ref residual is not layer output + residual");
      }
      for (int threads : {1, 2, 3}) {
        if (!full && threads == 3) continue;
        std::fill(fast.begin(), fast.end(), -99.0f);
        bmx::bconv2d_fast(s, x.data(), pw, sc, bs, res, fast.data(), threads, &ws);
        ++checks;
        CHECK(test::same_bits(ref, fast),
              "conv %s n=%lld c=%lld %lldx%lld o=%lld k=%lld stride=%lld pad=%lld dilate=%lld "
              "groups=%lld pad_value=%d scale=%d bias=%d residual=%d threads=%d",
              bmx::isa_name(isa), (long long)c.n, (long long)c.c, (long long)c.h, (long long)c.w,
              (long long)c.o, (long long)c.k, (long long)c.stride, (long long)c.pad,
              (long long)c.dilate, (long long)c.groups, pad_value, sc != nullptr, bs != nullptr,
              res != nullptr, threads);
      }
    }
  }
  return checks;
}

void test_edges() {
  // Channels per group across word (32) and step (64) edges; odd pixel counts; partial panels.
  for (int64_t c : {1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 256, 257}) {
    for (int pad_value : {-1, 0, 1}) {
      run_case({1, c, 5, 7, 9, 3, 1, 1, 1, 1}, pad_value, true);
      run_case({2, c, 6, 6, 17, 3, 2, 1, 1, 1}, pad_value, false);
    }
  }
}

void test_shapes() {
  const Case cases[] = {
      {1, 64, 9, 9, 8, 3, 1, 1, 1, 1},     {1, 64, 9, 9, 8, 3, 2, 1, 1, 1},
      {2, 64, 8, 10, 16, 3, 1, 2, 2, 1},   {1, 128, 7, 7, 33, 3, 1, 1, 1, 2},
      {3, 66, 5, 4, 10, 3, 1, 1, 1, 2},    {1, 96, 11, 13, 24, 5, 2, 2, 1, 1},
      {1, 40, 6, 6, 12, 1, 1, 0, 1, 1},    {1, 40, 6, 6, 12, 1, 2, 0, 1, 1},
      {2, 70, 9, 5, 7, 3, 3, 0, 1, 1},     {1, 512, 7, 7, 20, 3, 1, 1, 1, 1},
      {1, 64, 1, 1, 8, 3, 1, 1, 1, 1},     {1, 64, 2, 3, 8, 3, 1, 2, 1, 1},
      {1, 2048, 3, 3, 9, 3, 1, 1, 1, 1},   {1, 4160, 2, 2, 5, 1, 1, 0, 1, 1},
      {1, 32, 12, 12, 8, 3, 1, 3, 3, 1},   {2, 64, 5, 5, 16, 2, 1, 1, 2, 2},
      // One step per tap, up to and past the 31 taps that the byte accumulators hold.
      {1, 48, 9, 9, 8, 5, 1, 2, 1, 1},     {1, 64, 10, 10, 12, 6, 1, 2, 1, 1},
      {1, 64, 12, 12, 8, 7, 1, 3, 1, 1},
  };
  for (const Case& c : cases) {
    for (int pad_value : {-1, 0, 1}) run_case(c, pad_value, true);
  }
}

void test_resnet_shapes() {
  // The benchmarked ResNet-18 layers (smaller batch), once each, pad 1, pad_value -1 and 0.
  const Case cases[] = {
      {1, 64, 56, 56, 64, 3, 1, 1, 1, 1},   {1, 128, 28, 28, 128, 3, 1, 1, 1, 1},
      {1, 256, 14, 14, 256, 3, 1, 1, 1, 1}, {2, 512, 7, 7, 512, 3, 1, 1, 1, 1},
      {1, 64, 56, 56, 128, 3, 2, 1, 1, 1},  {1, 128, 28, 28, 256, 3, 2, 1, 1, 1},
      {1, 256, 14, 14, 512, 3, 2, 1, 1, 1},
  };
  for (const Case& c : cases) {
    run_case(c, -1, false);
    run_case(c, 0, false);
  }
}

// (n, c, h, w) -> (n, h, w, c).
std::vector<float> to_nhwc(const std::vector<float>& v, int64_t n, int64_t c, int64_t hw) {
  std::vector<float> t(v.size());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t p = 0; p < hw; ++p) t[(b * hw + p) * c + ch] = v[(b * c + ch) * hw + p];
    }
  }
  return t;
}

// NHWC input, output and residual, for the reference and every fast path, against the NCHW
// reference transposed. `c` is the channel count per group.
int run_nhwc_case(const Case& c, int pad_value) {
  BConv2DShape s;
  s.batch = c.n, s.in_channels = c.c * c.groups, s.in_h = c.h, s.in_w = c.w;
  s.out_channels = c.o * c.groups, s.kernel_h = s.kernel_w = c.k;
  s.stride_h = s.stride_w = c.stride, s.pad_h = s.pad_w = c.pad;
  s.dilate_h = s.dilate_w = c.dilate, s.groups = c.groups, s.pad_value = pad_value;
  CHECK(s.validate().empty(), "NHWC case shape: %s", s.validate().c_str());
  if (!s.validate().empty()) return 0;
  const int64_t in_pixels = s.in_h * s.in_w, out_pixels = s.out_h() * s.out_w();
  const auto x = test::random_floats(s.batch * s.in_channels * in_pixels);
  const auto w = random_conv_weights(s);
  const auto scale = test::random_floats(s.out_channels), bias = test::random_floats(s.out_channels);
  const auto residual = test::random_floats(s.batch * s.out_channels * out_pixels);
  const int64_t out_size = s.batch * s.out_channels * out_pixels;
  std::vector<uint32_t> packed(s.batch * s.groups * in_pixels * s.words());
  bmx::pack_input_nchw(s, x.data(), packed.data());

  BConv2DShape t = s;
  t.layout = bmx::Layout::kNHWC;
  const auto x_t = to_nhwc(x, s.batch, s.in_channels, in_pixels);
  const auto residual_t = to_nhwc(residual, s.batch, s.out_channels, out_pixels);
  std::vector<uint32_t> packed_t(packed.size(), 0xDEADBEEFu);
  bmx::pack_input(t, x_t.data(), packed_t.data());
  CHECK(test::same_bits(packed, packed_t), "pack_input NHWC c=%lld groups=%lld", (long long)c.c,
        (long long)c.groups);

  std::vector<Isa> isas = test::fast_isas();
  isas.insert(isas.begin(), Isa::kRef);
  int checks = 0;
  for (bool with_residual : {false, true}) {
    const float* res = with_residual ? residual.data() : nullptr;
    const float* res_t = with_residual ? residual_t.data() : nullptr;
    std::vector<float> ref(out_size), ref_nhwc(out_size, -99.0f);
    bmx::bconv2d_ref(s, packed.data(), w.data(), scale.data(), bias.data(), res, ref.data());
    const auto expected = to_nhwc(ref, s.batch, s.out_channels, out_pixels);
    bmx::bconv2d_ref(t, packed_t.data(), w.data(), scale.data(), bias.data(), res_t,
                     ref_nhwc.data());
    CHECK(test::same_bits(expected, ref_nhwc), "bconv2d_ref NHWC c=%lld groups=%lld residual=%d",
          (long long)c.c, (long long)c.groups, with_residual);
    for (Isa isa : isas) {
      const bmx::PackedWeights pw = bmx::pack_conv_weights(isa, t, w.data());
      bmx::Workspace ws;
      for (int threads : {1, 2}) {
        std::vector<float> fast(out_size, -99.0f);
        bmx::bconv2d_fast(t, x_t.data(), pw, scale.data(), bias.data(), res_t, fast.data(),
                          threads, &ws);
        ++checks;
        CHECK(test::same_bits(expected, fast),
              "NHWC conv %s n=%lld c=%lld/group %lldx%lld o=%lld/group k=%lld stride=%lld "
              "pad=%lld dilate=%lld groups=%lld pad_value=%d residual=%d threads=%d",
              bmx::isa_name(isa), (long long)c.n, (long long)c.c, (long long)c.h, (long long)c.w,
              (long long)c.o, (long long)c.k, (long long)c.stride, (long long)c.pad,
              (long long)c.dilate, (long long)c.groups, pad_value, with_residual, threads);
      }
    }
  }
  return checks;
}

void test_nhwc() {
  // Channels per group across word (32) and step (64) edges; groups 1 and 2; batch 1 and 3;
  // strides, pads and dilation; output channels that leave partial panels.
  int checks = 0;
  for (int64_t c : {1, 31, 32, 33, 63, 64, 65, 128, 257}) {
    for (int64_t groups : {1, 2}) {
      for (int pad_value : {-1, 0, 1}) {
        checks += run_nhwc_case({1, c, 5, 7, 9, 3, 1, 1, 1, groups}, pad_value);
        checks += run_nhwc_case({3, c, 7, 6, 17, 3, 2, 2, 2, groups}, pad_value);
        checks += run_nhwc_case({3, c, 4, 5, 16, 1, 1, 0, 1, groups}, pad_value);
      }
    }
  }
  checks += run_nhwc_case({1, 64, 9, 11, 32, 3, 1, 1, 1, 1}, 0);
  checks += run_nhwc_case({2, 128, 14, 14, 64, 3, 2, 1, 1, 1}, -1);
  CHECK(checks > 0, "NHWC cases ran");
}

void test_saturated() {
  // Every input negative and every weight +1: each byte of every step counts 8, which
  // overflows 8-bit accumulators unless they are flushed in time (C=512: 72 steps per pixel).
  for (int64_t c : {512, 2048}) {
    BConv2DShape s;
    s.in_channels = c, s.in_h = 5, s.in_w = 6, s.out_channels = 9, s.kernel_h = s.kernel_w = 3;
    s.pad_h = s.pad_w = 1;
    const std::vector<float> x(c * 30, -1.0f);
    const std::vector<uint32_t> w(9 * 9 * s.words(), 0u);
    std::vector<uint32_t> packed(30 * s.words());
    bmx::pack_input_nchw(s, x.data(), packed.data());
    std::vector<float> ref(9 * 30), fast(9 * 30);
    bmx::bconv2d_ref(s, packed.data(), w.data(), nullptr, nullptr, nullptr, ref.data());
    for (Isa isa : test::fast_isas()) {
      bmx::bconv2d_fast(s, x.data(), bmx::pack_conv_weights(isa, s, w.data()), nullptr, nullptr, nullptr,
                        fast.data(), 2);
      CHECK(test::same_bits(ref, fast) && ref[0] == -9.0f * c, "saturated conv %s c=%lld",
            bmx::isa_name(isa), (long long)c);
    }
  }
}

void test_mismatch_rejected() {
  BConv2DShape s;
  s.in_channels = 64, s.in_h = s.in_w = 4, s.out_channels = 8, s.kernel_h = s.kernel_w = 3;
  const auto w = random_conv_weights(s);
  const bmx::PackedWeights pw = bmx::pack_conv_weights(bmx::best_isa(), s, w.data());
  BConv2DShape other = s;
  other.kernel_h = other.kernel_w = 1;
  std::vector<float> x(64 * 16), out(8 * 16);
  bool threw = false;
  try {
    bmx::bconv2d_fast(other, x.data(), pw, nullptr, nullptr, nullptr, out.data(), 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "weights packed for another shape are rejected");
}

// A (dilated) kernel larger than the padded input has no output pixel, with any stride
// (integer division rounds (in + 2 pad - extent) / stride up to 0 for a small overshoot).
void test_kernel_past_the_input_refused() {
  struct Case { int64_t in, pad, k, dilate, stride; bool ok; };
  for (const Case& c : {Case{4, 0, 5, 1, 3, false}, Case{6, 0, 3, 3, 2, false},
                        Case{2, 0, 3, 1, 2, false}, Case{3, 1, 5, 1, 1, true},
                        Case{1, 1, 3, 1, 2, true}, Case{3, 0, 2, 3, 1, false}}) {
    BConv2DShape s;
    s.in_channels = 8, s.out_channels = 4, s.in_h = c.in, s.in_w = 5 + 2 * c.pad;
    s.kernel_h = c.k, s.kernel_w = 1, s.pad_h = c.pad, s.dilate_h = c.dilate, s.stride_h = c.stride;
    const std::string problem = s.validate();
    if (c.ok) {
      CHECK(problem.empty(), "in %lld pad %lld k %lld dilate %lld stride %lld: %s",
            (long long)c.in, (long long)c.pad, (long long)c.k, (long long)c.dilate,
            (long long)c.stride, problem.c_str());
    } else {
      CHECK(problem.find("is larger than the padded input") != std::string::npos,
            "in %lld pad %lld k %lld dilate %lld stride %lld refused: '%s'", (long long)c.in,
            (long long)c.pad, (long long)c.k, (long long)c.dilate, (long long)c.stride,
            problem.c_str());
    }
  }
}

}  // namespace

int main() {
  test::print_isas();
  test_edges();
  test_shapes();
  test_resnet_shapes();
  test_nhwc();
  test_saturated();
  test_mismatch_rejected();
  test_kernel_past_the_input_refused();
  return test::summary();
}

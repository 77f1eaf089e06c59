// The edge copies between the caller's NCHW data and the runtime's
// NHWC storage.
// Each against the index formula, and back again.
#include "layout.h"
#include "runtime_ops_test_util.h"

namespace {

// The edge copies between the caller's NCHW and the NHWC storage, against the index formula,
// over sizes on both sides of the transpose's 16 x 16 blocks; and back again.
void test_layout_copies() {
  for (int64_t n : {1, 2})
    for (int64_t c : {1, 3, 16, 17, 64})
      for (int64_t hw : {1, 15, 16, 33, 49}) {
        Vec nchw(n * c * hw), nhwc(nchw.size()), back(nchw.size());
        for (size_t i = 0; i < nchw.size(); ++i) nchw[i] = static_cast<float>(i);
        bmx::rt::nchw_to_nhwc(nchw.data(), n, c, hw, nhwc.data());
        bool ok = true;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < hw; ++p)
              ok = ok && nhwc[(b * hw + p) * c + ch] == nchw[(b * c + ch) * hw + p];
        bmx::rt::nhwc_to_nchw(nhwc.data(), n, c, hw, back.data());
        CHECK(ok && back == nchw, "layout copies n=%lld c=%lld hw=%lld", (long long)n,
              (long long)c, (long long)hw);
      }
}

}  // namespace

int main() {
  test_layout_copies();
  return rtest::finish("test_runtime_ops_layout");
}

// The runtime's ops that move data: reshape / flatten / concat and friends, slices, transposes
// and axes, padding.
// Each against a plain NCHW loop (runtime_ops_test_util.h).
#include "runtime_ops_test_util.h"

namespace {

void test_shape_ops() {
  const Dims s = {2, 3, 4, 5};
  const Vec x = rtest::random_floats(count(s));
  {
    Graph g;
    const int f = g.op("Flatten", "f", {}, {g.var("data")});
    check("Flatten 4-D (C, H, W order)", g.json({f}), Params().bytes(), s, x, {2, 60}, x);
  }
  struct R {
    const char* shape;
    Dims out;
    const char* reverse;
  };
  const R reshapes[] = {
      {"(0, -1)", {2, 60}, "False"},
      {"(-1, 5)", {24, 5}, "False"},
      {"(0, -3, 0)", {2, 12, 5}, "False"},
      {"(-2,)", {2, 3, 4, 5}, "False"},
      {"(0, 0, -4, 2, -1, 0)", {2, 3, 2, 2, 5}, "False"},
      {"(2, 12, 5, 1)", {2, 12, 5, 1}, "False"},
      {"(6, 2, 10, 1)", {6, 2, 10, 1}, "False"},
      {"(-1, 0)", {24, 5}, "True"},
  };
  for (const R& r : reshapes) {
    Graph g;
    const int node = g.op("Reshape", "r", {{"shape", r.shape}, {"reverse", r.reverse}}, {g.var("data")});
    std::string what = std::string("Reshape ") + r.shape;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, r.out, x);
  }
  // Reshape of a 4-D value into another 4-D value and back through a conv-free chain.
  {
    Graph g;
    const int r1 = g.op("Reshape", "r1", {{"shape", "(2, 6, 2, 5)"}}, {g.var("data")});
    const int a = g.op("_mul_scalar", "m", {{"scalar", "2"}}, {r1});
    const int r2 = g.op("Reshape", "r2", {{"shape", "(0, 3, 4, 5)"}}, {a});
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = 2 * x[i];
    check("Reshape 4-D -> 4-D -> 4-D", g.json({r2}), Params().bytes(), s, x, s, y);
  }
  // Concat along each axis of two branches (data and data + 1).
  for (int dim : {0, 1, 2, 3, -1}) {
    Graph g;
    const int data = g.var("data");
    const int b = g.op("_plus_scalar", "b", {{"scalar", "1"}}, {data});
    const int c = g.op("Concat", "c", {{"dim", str(dim)}, {"num_args", "2"}}, {data, b});
    const int d = dim < 0 ? dim + 4 : dim;
    Dims out = s;
    out[d] *= 2;
    Vec y(x.size() * 2);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < d; ++i) outer *= s[i];
    for (int i = d; i < 4; ++i) inner *= s[i];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        y[o * 2 * inner + i] = x[o * inner + i];
        y[o * 2 * inner + inner + i] = x[o * inner + i] + 1;
      }
    std::string what = "Concat dim " + std::to_string(dim);
    check(what.c_str(), g.json({c}), Params().bytes(), s, x, out, y);
  }
}

// Reads x (logical NCHW, shape s) at box begin..begin+out.
Vec box(const Vec& x, const Dims& s, const Dims& begin, const Dims& out) {
  Vec y;
  for (int64_t n = 0; n < out[0]; ++n)
    for (int64_t c = 0; c < out[1]; ++c)
      for (int64_t h = 0; h < out[2]; ++h)
        for (int64_t w = 0; w < out[3]; ++w)
          y.push_back(x[(((n + begin[0]) * s[1] + c + begin[1]) * s[2] + h + begin[2]) * s[3] + w + begin[3]]);
  return y;
}

void test_slice() {
  const Dims s = {2, 6, 4, 5};
  const Vec x = rtest::random_floats(count(s));
  struct A {
    const char* axis;
    const char* begin;
    const char* end;
    Dims b, out;
  };
  const A axes[] = {
      {"1", "0", "4", {0, 0, 0, 0}, {2, 4, 4, 5}},
      {"1", "2", "None", {0, 2, 0, 0}, {2, 4, 4, 5}},
      {"-1", "1", "-1", {0, 0, 0, 1}, {2, 6, 4, 3}},
      {"2", "-3", "4", {0, 0, 1, 0}, {2, 6, 3, 5}},
      {"0", "1", "2", {1, 0, 0, 0}, {1, 6, 4, 5}},
  };
  for (const A& t : axes) {
    Graph g;
    const int node = g.op("slice_axis", "sl", {{"axis", t.axis}, {"begin", t.begin}, {"end", t.end}}, {g.var("data")});
    std::string what = std::string("slice_axis axis ") + t.axis + " " + t.begin + ":" + t.end;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, t.out, box(x, s, t.b, t.out));
  }
  Graph g;
  const int node = g.op("slice", "sl", {{"begin", "(None, 1, 1)"}, {"end", "(None, 5, -1)"}}, {g.var("data")});
  check("slice (None, 1, 1):(None, 5, -1)", g.json({node}), Params().bytes(), s, x, {2, 4, 2, 5},
        box(x, s, {0, 1, 1, 0}, {2, 4, 2, 5}));
}

void test_transpose_and_axes() {
  const Dims s = {2, 3, 4, 5};
  const Vec x = rtest::random_floats(count(s));
  const std::vector<std::vector<int>> perms = {{0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}};
  for (const auto& perm : perms) {
    Graph g;
    const std::string axes = "(" + str(perm[0]) + ", " + str(perm[1]) + ", " + str(perm[2]) + ", " + str(perm[3]) + ")";
    const int node = g.op("transpose", "t", {{"axes", axes}}, {g.var("data")});
    Dims out;
    for (int a : perm) out.push_back(s[a]);
    Vec y(x.size());
    int64_t i = 0;
    int64_t idx[4];
    for (idx[0] = 0; idx[0] < out[0]; ++idx[0])
      for (idx[1] = 0; idx[1] < out[1]; ++idx[1])
        for (idx[2] = 0; idx[2] < out[2]; ++idx[2])
          for (idx[3] = 0; idx[3] < out[3]; ++idx[3]) {
            int64_t in_idx[4];
            for (int a = 0; a < 4; ++a) in_idx[perm[a]] = idx[a];
            y[i++] = x[((in_idx[0] * s[1] + in_idx[1]) * s[2] + in_idx[2]) * s[3] + in_idx[3]];
          }
    std::string what = "transpose " + axes;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, out, y);
    if (perm == std::vector<int>{1, 0, 2, 3}) {
      Graph g2;
      const int sw = g2.op("SwapAxis", "sw", {{"dim1", "0"}, {"dim2", "1"}}, {g2.var("data")});
      check("SwapAxis 0 1", g2.json({sw}), Params().bytes(), s, x, out, y);
    }
  }
  {
    Graph g;
    const int e = g.op("expand_dims", "e", {{"axis", "2"}}, {g.var("data")});
    const int q = g.op("squeeze", "q", {{"axis", "(2,)"}}, {e});
    const int e2 = g.op("expand_dims", "e2", {{"axis", "-1"}}, {q});
    check("expand_dims 2, squeeze 2, expand_dims -1", g.json({e2}), Params().bytes(), s, x, {2, 3, 4, 5, 1}, x);
    Graph g2;
    const int q2 = g2.op("squeeze", "q", {}, {g2.var("data")});
    check("squeeze all", g2.json({q2}), Params().bytes(), {1, 3, 1, 5}, Vec(x.begin(), x.begin() + 15), {3, 5},
          Vec(x.begin(), x.begin() + 15));
  }
}

void test_pad() {
  const Dims s = {1, 2, 3, 4};
  const Vec x = rtest::random_floats(count(s));
  for (const char* mode : {"constant", "edge", "reflect"}) {
    Graph g;
    const int node = g.op("Pad", "p", {{"mode", mode}, {"pad_width", "(0, 0, 0, 0, 1, 2, 2, 1)"},
                                        {"constant_value", "0.75"}}, {g.var("data")});
    const int64_t oh = 6, ow = 7;
    Vec y(2 * oh * ow);
    auto src = [&](int64_t o, int64_t before, int64_t n) -> int64_t {
      int64_t i = o - before;
      if (i >= 0 && i < n) return i;
      if (std::string(mode) == "constant") return -1;
      if (std::string(mode) == "edge") return i < 0 ? 0 : n - 1;
      return i < 0 ? -i : 2 * (n - 1) - i;
    };
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t yy = 0; yy < oh; ++yy)
        for (int64_t xx = 0; xx < ow; ++xx) {
          const int64_t sy = src(yy, 1, 3), sx = src(xx, 2, 4);
          y[(c * oh + yy) * ow + xx] = sy < 0 || sx < 0 ? 0.75f : x[(c * 3 + sy) * 4 + sx];
        }
    std::string what = std::string("Pad ") + mode;
    check(what.c_str(), g.json({node}), Params().bytes(), s, x, {1, 2, oh, ow}, y);
  }
}

}  // namespace

int main() {
  test_shape_ops();
  test_slice();
  test_transpose_and_axes();
  test_pad();
  return rtest::finish("test_runtime_ops_shape");
}

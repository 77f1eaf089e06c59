// Shared helpers for the fast-kernel tests: CHECK (check.h), random data, the paths to test.
#pragma once

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "check.h"
#include "isa.h"

namespace test {

using check_counts::failed;
using check_counts::passed;

inline std::mt19937& rng() {
  static std::mt19937 r(1234);
  return r;
}

// Normal floats with exact zeros and negative zeros sprinkled in (sign(0) = sign(-0) = +1).
inline std::vector<float> random_floats(size_t n) {
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng());
  for (size_t i = 0; i < n; i += 7) v[i] = (i % 2) ? 0.0f : -0.0f;
  return v;
}

inline std::vector<uint32_t> random_words(size_t n) {
  std::vector<uint32_t> v(n);
  for (auto& x : v) x = rng()();
  return v;
}

// Zeroes the tail bits of rows of `bits` bits (packed words).
inline void clear_tails(std::vector<uint32_t>& v, int64_t bits) {
  const int64_t words = (bits + 31) / 32, r = bits % 32;
  if (r == 0) return;
  for (size_t i = words - 1; i < v.size(); i += words) v[i] &= (1u << r) - 1u;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Every fast path this build and CPU can run.
inline std::vector<bmx::Isa> fast_isas() {
  std::vector<bmx::Isa> out;
  for (bmx::Isa i : {bmx::Isa::kPortable, bmx::Isa::kAvx2, bmx::Isa::kAvx512, bmx::Isa::kNeon,
                     bmx::Isa::kWasmSimd128}) {
    if (bmx::isa_available(i)) out.push_back(i);
  }
  return out;
}

inline void print_isas() {
  std::printf("fast paths tested:");
  for (bmx::Isa i : fast_isas()) std::printf(" %s", bmx::isa_name(i));
  std::printf(" (default %s)\n", bmx::isa_name(bmx::default_isa()));
}

inline int summary() { return check_counts::summary(); }

}  // namespace test

// The C++ tests' CHECK(cond, printf-format, ...): counts passes and failures and prints each
// failure with its file and line; check_counts::summary() prints the counts and gives the
// exit code. One definition for the kernel tests (fast_test_util.h) and the runtime's tests
// (runtime_test_util.h).
#pragma once

#include <cstdio>

namespace check_counts {

inline int passed = 0, failed = 0;

// "<name>: P passed, F failed" (without the name when it is null); 0 when nothing failed.
inline int summary(const char* name = nullptr) {
  if (name != nullptr) std::printf("%s: ", name);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace check_counts

#define CHECK(cond, ...)                               \
  do {                                                 \
    if (cond) {                                        \
      ++check_counts::passed;                          \
    } else {                                           \
      ++check_counts::failed;                          \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      std::printf(__VA_ARGS__);                        \
      std::printf("\n");                               \
    }                                                  \
  } while (0)

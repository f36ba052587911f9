#pragma once
// FUZZ_CHECK(condition): a broken invariant in a fuzz target. Prints where and what, then
// aborts, which libFuzzer reports as a crash (saving the input) and the replay test as a
// failure. Active in every build type: fuzz targets never compile it out.

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                     \
  do {                                                                                            \
    if (!(condition)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (false)

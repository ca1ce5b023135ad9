// Shared by mayfly's fuzz targets: FUZZ_CHECK asserts a property and aborts
// (so libFuzzer and the standalone driver report a crash) when it fails.

#ifndef MAYFLY_TESTS_FUZZ_FUZZ_CHECK_H_
#define MAYFLY_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// FUZZ_CHECK aborts with `what` when `cond` is false.
#define FUZZ_CHECK(cond, what)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s (%s)\n", __FILE__, \
                   __LINE__, what, #cond);                                     \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

namespace mayfly {
namespace fuzz {

// IsOneOf reports whether `status` failed with `a` or `b`: what a header
// documents as a function's failure codes.
inline bool IsOneOf(const absl::Status& status, absl::StatusCode a,
                    absl::StatusCode b = absl::StatusCode::kOk) {
  return !status.ok() && (status.code() == a || status.code() == b);
}

// AsText views fuzz input bytes as a string.
inline absl::string_view AsText(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace fuzz
}  // namespace mayfly

#endif  // MAYFLY_TESTS_FUZZ_FUZZ_CHECK_H_

// Shared plumbing of the C ABI implementation. Private to capi/.

#ifndef MAYFLY_CAPI_INTERNAL_H_
#define MAYFLY_CAPI_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "mayfly/c.h"

struct mayfly_error {
  int code;
  std::string message;
};

namespace mayfly {
namespace capi {

// HandleStatus turns `status` into the C return value and, on failure and
// when `err` is not NULL, a new error object in *err. Every entry point
// returns through it.
int HandleStatus(const absl::Status& status, mayfly_error_t** err);

// CopyOut returns a malloc'ed, NUL-terminated copy of `s` for the caller to
// release with mayfly_free, or NULL when out of memory.
char* CopyOut(absl::string_view s);

}  // namespace capi
}  // namespace mayfly

// MAYFLY_CAPI_GUARD wraps an entry point's body so that nothing thrown (by a
// dependency, or std::bad_alloc) crosses the C boundary.
#define MAYFLY_CAPI_GUARD(err, body)                                     \
  try {                                                                  \
    body                                                                 \
  } catch (...) {                                                        \
    return ::mayfly::capi::HandleStatus(                                 \
        ::absl::InternalError("unexpected exception in mayfly"), (err)); \
  }

#endif  // MAYFLY_CAPI_INTERNAL_H_

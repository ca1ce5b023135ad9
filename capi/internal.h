// Shared plumbing of the C ABI implementation. Private to capi/.

#ifndef MAYFLY_CAPI_INTERNAL_H_
#define MAYFLY_CAPI_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mayfly/c.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"

struct mayfly_error {
  int code;
  std::string message;
};

// The immutable value objects wrap the C++ values, which share their
// BoringSSL objects by reference, so copies are cheap.
struct mayfly_key {
  mayfly::PrivateKey key;
};

struct mayfly_csr {
  mayfly::CertificateRequest csr;
};

struct mayfly_cert {
  mayfly::Certificate cert;
};

// A chain keeps one mayfly_cert per certificate so that mayfly_chain_get
// can lend stable pointers.
struct mayfly_chain {
  std::vector<mayfly_cert> certs;

  std::vector<mayfly::Certificate> ToVector() const;
  static mayfly_chain* FromVector(const std::vector<mayfly::Certificate>& v);
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

// ---- capi-ca helpers (capi/objects.cc, authority.cc, token.cc, server.cc) --
//
// Small helpers so that every entry point checks and writes its arguments the
// same way, in one line each.

// MAYFLY_CAPI_REQUIRE returns INVALID_ARGUMENT naming `arg` when it is NULL.
#define MAYFLY_CAPI_REQUIRE(arg, err)                                       \
  do {                                                                      \
    if ((arg) == nullptr) {                                                 \
      return ::mayfly::capi::HandleStatus(                                  \
          ::absl::InvalidArgumentError(#arg " must not be NULL"), (err));   \
    }                                                                       \
  } while (0)

// MAYFLY_CAPI_RETURN_IF_ERROR returns the C code of a failed expression.
#define MAYFLY_CAPI_RETURN_IF_ERROR(expr, err)                    \
  do {                                                            \
    ::absl::Status mayfly_capi_status_ = (expr);                  \
    if (!mayfly_capi_status_.ok()) {                              \
      return ::mayfly::capi::HandleStatus(mayfly_capi_status_, (err)); \
    }                                                             \
  } while (0)

namespace mayfly {
namespace capi {

// Bytes returns (in, in_len) as a span; InvalidArgument if in is NULL with a
// nonzero length.
absl::Status CheckBytes(const uint8_t* in, size_t in_len);
inline absl::string_view BytesText(const uint8_t* in, size_t in_len) {
  return absl::string_view(reinterpret_cast<const char*>(in), in_len);
}

// OutText copies `s` to *out (and its length to *out_len when out_len is not
// NULL). ResourceExhausted, with the outputs untouched, when out of memory.
int OutText(absl::string_view s, char** out, size_t* out_len,
            mayfly_error_t** err);
// OutBytes is OutText for binary outputs.
int OutBytes(absl::Span<const uint8_t> b, uint8_t** out, size_t* out_len,
             mayfly_error_t** err);

// OutObject hands a new object to the caller: *out = new T{value}.
template <typename T, typename V>
int OutObject(V&& value, T** out, mayfly_error_t** err) {
  T* obj = new (std::nothrow) T{std::forward<V>(value)};
  if (obj == nullptr) {
    return HandleStatus(absl::ResourceExhaustedError("out of memory"), err);
  }
  *out = obj;
  return MAYFLY_OK;
}

// OutChain hands a new chain of `certs` to the caller.
int OutChain(const std::vector<Certificate>& certs, mayfly_chain_t** out,
             mayfly_error_t** err);

// Millis converts an absl::Time to milliseconds since the epoch (the ABI's
// time unit), and back for durations.
inline int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }

// CallbackHolder owns a host's user_data: its destructor calls
// destroy(user_data) once. Options objects and the objects built from them
// share it through a std::shared_ptr, so the host's destroy runs exactly once,
// when the last of them is freed (or when a registering call fails and the
// last reference goes). `fn` is the host's function, cast to the type the
// user knows.
template <typename Fn>
struct CallbackHolder {
  CallbackHolder(Fn fn, void* user_data, void (*destroy)(void*))
      : fn(fn), user_data(user_data), destroy(destroy) {}
  ~CallbackHolder() {
    if (destroy != nullptr) {
      destroy(user_data);
    }
  }
  CallbackHolder(const CallbackHolder&) = delete;
  CallbackHolder& operator=(const CallbackHolder&) = delete;

  Fn fn;
  void* user_data;
  void (*destroy)(void*);
};

// MakeCallback returns a holder for (fn, user_data, destroy), or NULL when
// out of memory, in which case destroy(user_data) has already run (the
// registering call failed).
template <typename Fn>
std::shared_ptr<CallbackHolder<Fn>> MakeCallback(Fn fn, void* user_data,
                                                 void (*destroy)(void*)) {
  std::shared_ptr<CallbackHolder<Fn>> holder;
  try {
    holder = std::make_shared<CallbackHolder<Fn>>(fn, user_data, destroy);
  } catch (const std::bad_alloc&) {
    if (destroy != nullptr) {
      destroy(user_data);
    }
  }
  return holder;
}

}  // namespace capi
}  // namespace mayfly
// ---- end of capi-ca helpers ----------------------------------------------

#endif  // MAYFLY_CAPI_INTERNAL_H_

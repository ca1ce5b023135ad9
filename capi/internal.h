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
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mayfly/authority.h"
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
#define MAYFLY_CAPI_REQUIRE(arg, err)                                     \
  do {                                                                    \
    if ((arg) == nullptr) {                                               \
      return ::mayfly::capi::HandleStatus(                                \
          ::absl::InvalidArgumentError(#arg " must not be NULL"), (err)); \
    }                                                                     \
  } while (0)

// MAYFLY_CAPI_RETURN_IF_ERROR returns the C code of a failed expression.
#define MAYFLY_CAPI_RETURN_IF_ERROR(expr, err)                         \
  do {                                                                 \
    ::absl::Status mayfly_capi_status_ = (expr);                       \
    if (!mayfly_capi_status_.ok()) {                                   \
      return ::mayfly::capi::HandleStatus(mayfly_capi_status_, (err)); \
    }                                                                  \
  } while (0)

// mayfly_ca owns the Authority, which owns its store. Every mayfly_ca_* call
// is thread-safe because the Authority is.
struct mayfly_ca {
  std::unique_ptr<mayfly::Authority> authority;
};

namespace mayfly {
namespace capi {

// OutOfMemory is the failure of an output that could not be allocated.
inline int OutOfMemory(mayfly_error_t** err) {
  return HandleStatus(absl::ResourceExhaustedError("out of memory"), err);
}

// InvalidArgument fails a call for a bad argument; setters, which have no
// error object, pass err = NULL.
inline int InvalidArgument(const char* what, mayfly_error_t** err = nullptr) {
  return HandleStatus(absl::InvalidArgumentError(what), err);
}

// NewOptions returns a default-constructed options object, or NULL when out
// of memory (the mayfly_*_options_new functions).
template <typename T>
T* NewOptions() noexcept {
  try {
    return new T;
  } catch (...) {
    return nullptr;
  }
}

// SetOption is the shape of every options setter, which has no error
// object: NULL `opts` is INVALID_ARGUMENT, else set(*opts) runs. Setters
// check their values before calling it, so a refused value changes nothing.
template <typename Opts, typename Set>
int SetOption(Opts* opts, Set&& set) {
  if (opts == nullptr) {
    return InvalidArgument("opts must not be NULL");
  }
  try {
    set(*opts);
  } catch (const std::bad_alloc&) {
    return OutOfMemory(nullptr);
  }
  return MAYFLY_OK;
}

// SetTextOption stores `text`, which must not be NULL, in the string that
// field(*opts) returns.
template <typename Opts, typename Field>
int SetTextOption(Opts* opts, const char* text, Field&& field) {
  if (text == nullptr) {
    return InvalidArgument("the text argument must not be NULL");
  }
  return SetOption(opts, [&](Opts& o) { field(o) = text; });
}

// KeyTypeFromC maps MAYFLY_KEY_* to KeyType; InvalidArgument otherwise.
absl::StatusOr<KeyType> KeyTypeFromC(int type);

// CheckBytes accepts (in, in_len) as the ABI passes bytes: InvalidArgument if
// `in` is NULL with a nonzero length. BytesText views them as text.
absl::Status CheckBytes(const uint8_t* in, size_t in_len);
inline absl::string_view BytesText(const uint8_t* in, size_t in_len) {
  return absl::string_view(reinterpret_cast<const char*>(in), in_len);
}

// OutText copies `s` to *out (and its length to *out_len when out_len is not
// NULL). ResourceExhausted, with the outputs untouched, when out of memory.
int OutText(absl::string_view s, char** out, size_t* out_len,
            mayfly_error_t** err);
// OutTextResult is OutText for a result that may have failed.
inline int OutTextResult(const absl::StatusOr<std::string>& s, char** out,
                         size_t* out_len, mayfly_error_t** err) {
  if (!s.ok()) {
    return HandleStatus(s.status(), err);
  }
  return OutText(*s, out, out_len, err);
}

// OutBytes is OutText for binary outputs.
int OutBytes(absl::Span<const uint8_t> b, uint8_t** out, size_t* out_len,
             mayfly_error_t** err);

// OutObject hands a new object to the caller: *out = new T{value}.
template <typename T, typename V>
int OutObject(V&& value, T** out, mayfly_error_t** err) {
  T* obj = new (std::nothrow) T{std::forward<V>(value)};
  if (obj == nullptr) {
    return OutOfMemory(err);
  }
  *out = obj;
  return MAYFLY_OK;
}

// OutResult is OutObject for a result that may have failed.
template <typename T, typename V>
int OutResult(absl::StatusOr<V>&& value, T** out, mayfly_error_t** err) {
  if (!value.ok()) {
    return HandleStatus(value.status(), err);
  }
  return OutObject(*std::move(value), out, err);
}

// TextOf is the shape of every getter with a text output: `obj` (named
// `obj_name` in the error) and `out` must not be NULL, then field(*obj) is
// copied out.
template <typename Obj, typename Field>
int TextOf(const Obj* obj, const char* obj_name, char** out, size_t* out_len,
           mayfly_error_t** err, Field field) {
  MAYFLY_CAPI_GUARD(err, {
    if (obj == nullptr) {
      return InvalidArgument(
          absl::StrCat(obj_name, " must not be NULL").c_str(), err);
    }
    MAYFLY_CAPI_REQUIRE(out, err);
    return OutText(field(*obj), out, out_len, err);
  })
}

// OutChain hands a new chain of `certs` to the caller.
int OutChain(const std::vector<Certificate>& certs, mayfly_chain_t** out,
             mayfly_error_t** err);

// Millis converts an absl::Time to milliseconds since the epoch, the ABI's
// unit of time.
inline int64_t Millis(absl::Time t) { return absl::ToUnixMillis(t); }

// CallbackHolder is a host callback (fn, user_data, destroy) and owns
// user_data: its destructor calls destroy(user_data). An options object and
// every object built from it share one holder through a std::shared_ptr, so
// destroy runs exactly once, when the last of them lets go: when the last
// is freed, or at once when a registering call fails and drops the only
// reference. Whoever drops the last reference must have stopped every
// thread that may still call fn (see capi/server.cc).
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

// ---- capi-client helpers (capi/client.cc, capi/renewal.cc) ----------------

namespace mayfly {
class Authority;
class CaClient;
}  // namespace mayfly

// A client is held by shared ownership: a scheduler that renews through it
// keeps it too, so a renewal under way never finds it freed.
struct mayfly_client {
  std::shared_ptr<mayfly::CaClient> client;
};

namespace mayfly {
namespace capi {

// CaAuthority returns the authority inside `ca` (not NULL), for the
// scheduler's in-process renewals. Defined next to struct mayfly_ca.
Authority* CaAuthority(mayfly_ca_t* ca);

}  // namespace capi
}  // namespace mayfly
// ---- end of capi-client helpers -------------------------------------------

#endif  // MAYFLY_CAPI_INTERNAL_H_

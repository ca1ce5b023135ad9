// File: mayfly/tls.h
//
// In-process certificate rotation for TLS. RotatingCredentials holds the
// current certificate chain and private key; Set swaps in a new pair
// atomically, so a handshake sees either the old pair or the new one, never
// a torn mix, and readers never wait for writers. TrustedRoots holds the
// roots a peer must chain to, rotatable the same way.
//
// The SSL_CTX helpers install callbacks that read these objects on every
// handshake, so a renewed certificate is served by the next handshake with
// no restart and no failed handshake:
//
//   auto creds = std::make_shared<RotatingCredentials>();
//   MAYFLY_RETURN_IF_ERROR(creds->Set(issued.chain, key));
//   auto roots = std::make_shared<TrustedRoots>(ca_roots);
//   MAYFLY_RETURN_IF_ERROR(ConfigureServerContext(ctx, creds, roots,
//                                                 ClientAuth::kOptional));
//   ...
//   MAYFLY_RETURN_IF_ERROR(creds->Set(renewed.chain, key));  // live at once
//
// The SSL_CTX must come from the BoringSSL that mayfly is built with (the
// C++ API, static library); hosts on the shared library or another TLS
// stack use Current() and their own stack's hooks instead.

#ifndef MAYFLY_TLS_H_
#define MAYFLY_TLS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"

struct ssl_ctx_st;  // BoringSSL's SSL_CTX

namespace mayfly {

// Credentials are one certificate chain (leaf first, root not included) and
// the leaf's private key.
struct Credentials {
  std::vector<Certificate> chain;
  PrivateKey key;
  uint64_t generation = 0;  // 1 for the first Set, then +1 per Set
};

// RotatingCredentials is the current Credentials, swapped atomically.
// Thread-safe.
class RotatingCredentials {
 public:
  RotatingCredentials() = default;
  RotatingCredentials(const RotatingCredentials&) = delete;
  RotatingCredentials& operator=(const RotatingCredentials&) = delete;

  // Set replaces the credentials. InvalidArgument if `chain` is empty or
  // `key` is not the leaf's key; the current pair is kept then.
  absl::Status Set(std::vector<Certificate> chain, PrivateKey key)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Current returns the newest credentials, or NULL before the first Set.
  // The returned object stays valid (and unchanged) while held.
  std::shared_ptr<const Credentials> Current() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Credentials> current_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

// TrustedRoots is a rotatable set of trust anchors. Thread-safe.
class TrustedRoots {
 public:
  TrustedRoots() = default;
  explicit TrustedRoots(std::vector<Certificate> roots);
  TrustedRoots(const TrustedRoots&) = delete;
  TrustedRoots& operator=(const TrustedRoots&) = delete;

  void Set(std::vector<Certificate> roots) ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<const std::vector<Certificate>> Current() const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::vector<Certificate>> roots_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<const std::vector<Certificate>>();
};

// ClientAuth says what a server asks of clients.
enum class ClientAuth {
  kNone,      // no certificate requested
  kOptional,  // requested; verified against the roots if one is sent
  kRequired,  // requested and required
};

// ConfigureServerContext sets up `ctx` for a server: TLS 1.2 and 1.3 only,
// ECDHE with AEAD suites only, a certificate callback serving
// `credentials->Current()` on every handshake, and, unless `client_auth` is
// kNone, client certificates verified against `client_roots->Current()`
// (intermediates taken from the client's chain) for client authentication.
// The context keeps both objects alive. FailedPrecondition if `credentials`
// has never been Set.
absl::Status ConfigureServerContext(
    ssl_ctx_st* ctx, std::shared_ptr<RotatingCredentials> credentials,
    std::shared_ptr<TrustedRoots> client_roots, ClientAuth client_auth);

// ConfigureClientContext sets up `ctx` for a client: TLS 1.2 and 1.3 only,
// the server's chain verified against `roots->Current()` for server
// authentication (the host name is checked by the caller, e.g. with
// SSL_set1_host), and, if `credentials` is not NULL, the newest client
// certificate sent when the server asks for one.
absl::Status ConfigureClientContext(
    ssl_ctx_st* ctx, std::shared_ptr<TrustedRoots> roots,
    std::shared_ptr<RotatingCredentials> credentials);

}  // namespace mayfly

#endif  // MAYFLY_TLS_H_

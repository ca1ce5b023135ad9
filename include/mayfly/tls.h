// File: mayfly/tls.h
//
// In-process certificate rotation for TLS. RotatingCredentials holds the
// current certificate chain and private key; Set swaps in a new pair
// atomically, so a handshake sees either the old pair or the new one, never
// a torn mix, and readers never wait for a writer's checks. TrustedRoots
// holds the roots a peer must chain to, rotatable the same way.
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
// Both helpers allow TLS 1.2 and 1.3 only; in TLS 1.2 only ECDHE key
// exchange with AEAD ciphers (AES-GCM, ChaCha20-Poly1305), no CBC, no RSA
// key exchange, no SHA-1 signatures. Servers keep no session cache and
// issue no tickets, so every connection is authenticated afresh against the
// current credentials and roots.
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
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"

struct ssl_ctx_st;  // BoringSSL's SSL_CTX
struct ssl_st;      // BoringSSL's SSL

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
  kOptional,  // requested; if one is sent it must verify, or the handshake
              // fails (Go's VerifyClientCertIfGiven)
  kRequired,  // requested, required, and verified
  // kRequest: requested but not verified by the TLS layer, so no client
  // certificate ever fails the handshake. The handshake still proves that
  // the client holds the leaf's private key; the application must verify
  // the chain itself before trusting it (CaServer's Authority does, at its
  // own clock, for the routes that use the certificate).
  kRequest,
};

// ConfigureServerContext sets up `ctx` for a server: the protocol and
// cipher policy above, a certificate callback serving
// `credentials->Current()` on every handshake, and, unless `client_auth` is
// kNone, a certificate request naming the subjects of
// `client_roots->Current()` as acceptable issuers. For kOptional and
// kRequired a client chain must verify (VerifyChain with the intermediates
// the client sent, purpose clientAuth) against `client_roots->Current()` at
// `clock.Now()`. The context keeps both objects alive; `clock` must outlive
// it. Calling it again on the same context replaces the configuration.
// FailedPrecondition if `credentials` has never been Set; InvalidArgument
// if `credentials` is NULL, or `client_roots` is NULL when `client_auth` is
// not kNone.
absl::Status ConfigureServerContext(
    ssl_ctx_st* ctx, std::shared_ptr<RotatingCredentials> credentials,
    std::shared_ptr<TrustedRoots> client_roots, ClientAuth client_auth,
    const Clock& clock = Clock::Real());

// ConfigureClientContext sets up `ctx` for a client: the protocol and
// cipher policy above, and the server's chain verified against
// `roots->Current()` at `clock.Now()` for serverAuth. The server's name is
// checked too: the name each connection sets with SSL_set_tlsext_host_name
// must match a DNS subjectAltName of the leaf (a "*." wildcard matches one
// label), or, when it is an IP address literal, an IP subjectAltName; a
// connection that sets no name fails verification. (SSL_set1_host has no
// effect on these contexts.) If `credentials` is not NULL, the newest
// client certificate is sent whenever the server asks for one. The context
// keeps both objects alive; `clock` must outlive it. InvalidArgument if
// `roots` is NULL.
absl::Status ConfigureClientContext(
    ssl_ctx_st* ctx, std::shared_ptr<TrustedRoots> roots,
    std::shared_ptr<RotatingCredentials> credentials,
    const Clock& clock = Clock::Real());

// PeerCertificates returns the certificate chain the peer of `ssl` sent
// (leaf first), parsed, or an empty vector if it sent none. On a server
// this chain is verified only if the context asked for it (see
// ClientAuth). InvalidArgument if a certificate does not parse.
absl::StatusOr<std::vector<Certificate>> PeerCertificates(const ssl_st* ssl);

}  // namespace mayfly

#endif  // MAYFLY_TLS_H_

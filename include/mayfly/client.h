// File: mayfly/client.h
//
// CaClient talks to a CA that speaks step-ca's HTTP API (mayfly-ca or a
// real step-ca) over HTTPS. It trusts only the CA's root: either given, or
// fetched once by its SHA-256 fingerprint (bootstrap) and pinned.
//
//   MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca,
//       CaClient::Bootstrap("https://ca.internal:9000", fingerprint, {}));
//   MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
//   MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate cert,
//       ca->Sign(key, token, {}));            // CSR made from the token
//   ...
//   MAYFLY_ASSIGN_OR_RETURN(cert, ca->Renew(cert.chain, key));  // mTLS
//
// Errors say what happened, so a renewal loop can decide: the CA refused
// the credentials (revoked, expired, renewal disabled, a replayed token;
// HTTP 401, or a TLS alert refusing the client certificate) →
// Unauthenticated; a request a valid credential may not make (403) →
// PermissionDenied; the request was bad (400, 405, 413, 415, other 4xx) →
// InvalidArgument, 404 → NotFound, 409 → AlreadyExists; the CA could not
// be reached, timed out or answered 5xx → Unavailable (retry later), except
// 501 → Unimplemented; the CA's TLS certificate did not verify against the
// pinned roots or does not name the URL's host, or a bootstrap fingerprint
// did not match → FailedPrecondition; a success response that does not
// parse, or a certificate that is not for the key sent → Internal.
// Messages carry the method, path, the CA's `message` and the request id
// (X-Request-Id, sent with every request).
//
// Retries: only requests that change nothing are retried (GET routes, and
// connection failures before a request was sent); sign, renew, rekey and
// revoke are sent once, since a token is single use and a renewal that
// reached the CA issued a certificate.
//
// Each request uses a new HTTP/1.1 connection (no keep-alive), TLS 1.2 or
// 1.3 with the policy of mayfly/tls.h. While a request runs, SIGPIPE is
// blocked on the calling thread (a write to a closed socket must not kill
// the host process) and a SIGPIPE it raised is discarded.
//
// Thread-safe: one client may serve many threads.

#ifndef MAYFLY_CLIENT_H_
#define MAYFLY_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"

namespace mayfly {

struct ClientOptions {
  // connect_timeout bounds the TCP connect and the TLS handshake;
  // request_timeout each read and each write of a request.
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(15);
  // get_attempts (>= 1) tries a request that failed in transport: any
  // request whose connection could not be made, a GET whatever failed.
  // Attempts are 100 ms, 200 ms, ... apart.
  int get_attempts = 3;
  std::string user_agent;  // "" = "mayfly/<version>"
  // clock gives the time at which the CA's TLS certificate is verified and
  // renew tokens are dated; NULL = Clock::Real(). Must outlive the client.
  const Clock* clock = nullptr;
};

// ProvisionerInfo is one entry of the CA's /provisioners list.
struct ProvisionerInfo {
  std::string type;  // "JWK"; other types are listed with type and name
  std::string name;
  std::string kid;            // JWK only: key.kid
  std::string encrypted_key;  // JWK only: compact JWE, may be ""
  std::string json;           // the entry as the CA sent it
};

class CaClient {
 public:
  // Create makes a client for `ca_url` ("https://host[:port]", host a DNS
  // name, an IPv4 address or a bracketed IPv6 address; port 443 if absent)
  // trusting only `roots`. Nothing is sent yet. InvalidArgument for a URL
  // that is not https, has user info, a path (other than "/"), a query or a
  // fragment, for empty `roots` or get_attempts < 1.
  static absl::StatusOr<std::unique_ptr<CaClient>> Create(
      absl::string_view ca_url, std::vector<Certificate> roots,
      ClientOptions options = {});

  // Bootstrap fetches /root/{fingerprint} without verifying the server (as
  // `step ca bootstrap` does), checks that the SHA-256 of the root's DER is
  // `fingerprint` (64 hex digits, any case; compared in constant time), and
  // returns a client pinned to that root, after one verified GET /health
  // has shown that the CA's TLS certificate chains to it. InvalidArgument
  // for a malformed fingerprint; FailedPrecondition on a mismatch, when the
  // CA has no root with that fingerprint (404), or when the CA's
  // certificate does not chain to the pinned root.
  static absl::StatusOr<std::unique_ptr<CaClient>> Bootstrap(
      absl::string_view ca_url, absl::string_view fingerprint,
      ClientOptions options = {});

  CaClient(const CaClient&) = delete;
  CaClient& operator=(const CaClient&) = delete;
  ~CaClient();

  const std::string& url() const;
  const std::vector<Certificate>& roots() const;

  // Health returns OK when /health answers {"status":"ok"}.
  absl::Status Health();

  // Roots returns the CA's roots (/roots).
  absl::StatusOr<std::vector<Certificate>> Roots();

  // Provisioners lists every provisioner, following the cursor.
  absl::StatusOr<std::vector<ProvisionerInfo>> Provisioners();

  // ProvisionerKey returns /provisioners/{kid}/encrypted-key.
  absl::StatusOr<std::string> ProvisionerKey(absl::string_view kid);

  // Sign sends `csr` with the sign token `ott` (POST /sign).
  absl::StatusOr<IssuedCertificate> Sign(const CertificateRequest& csr,
                                         absl::string_view ott,
                                         const SignOptions& options = {});

  // Sign makes the CSR itself for `key`: CN = the token's subject, SANs =
  // the token's sans (what `step ca certificate` does).
  absl::StatusOr<IssuedCertificate> Sign(const PrivateKey& key,
                                         absl::string_view ott,
                                         const SignOptions& options = {});

  // Renew renews `chain` (leaf first; the intermediates are sent too) over
  // mTLS with its `key`: POST /renew, empty body.
  absl::StatusOr<IssuedCertificate> Renew(const std::vector<Certificate>& chain,
                                          const PrivateKey& key);

  // RenewWithToken renews without mTLS: a renew token (x5cInsecure, signed
  // by `key`, as `step ca renew --mtls=false` makes) in the Authorization
  // header. This is how an expired certificate is renewed when the CA's
  // provisioner allows renewal after expiry.
  absl::StatusOr<IssuedCertificate> RenewWithToken(
      const std::vector<Certificate>& chain, const PrivateKey& key);

  // Rekey renews `chain` over mTLS with `key`, for `new_key` (POST /rekey
  // with a CSR for `new_key` with an empty subject, as step sends).
  absl::StatusOr<IssuedCertificate> Rekey(const std::vector<Certificate>& chain,
                                          const PrivateKey& key,
                                          const PrivateKey& new_key);

  // Revoke revokes `serial` (decimal, or 0x-prefixed hex) passively:
  // with a revoke token (`ott`, `chain` empty), or over mTLS with `chain`
  // and `key` (`ott` empty; an empty `serial` then means the leaf's).
  // `reason_code` is an RFC 5280 CRLReason, 0..10. InvalidArgument, before
  // anything is sent, for both or neither authorisation, a missing key or
  // serial, or a reason code out of range.
  absl::Status Revoke(absl::string_view serial, int reason_code,
                      absl::string_view reason, absl::string_view ott,
                      const std::vector<Certificate>& chain,
                      const PrivateKey* key);

 private:
  class Impl;
  explicit CaClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mayfly

#endif  // MAYFLY_CLIENT_H_

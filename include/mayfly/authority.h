// File: mayfly/authority.h
//
// The certificate authority: root and intermediate certificates, the
// intermediate's signing key, the JWK provisioners, a Store and a Clock. It
// is the only place that decides who gets a certificate.
//
// Short-lived certificates, passively revoked: Sign issues a certificate
// authorised by a one-time token; Renew re-issues it over mTLS before it
// expires; Revoke records a serial so that neither it nor anything renewed
// from it (its lineage) is renewed again, and so it dies within one
// lifetime. Formats and checks follow step-ca (STEP-PROTOCOL.md), and are
// stricter where step-ca is weak (signature before replay record, lineage).
//
//   MAYFLY_ASSIGN_OR_RETURN(InitResult pki, InitPki(options, clock));
//   MAYFLY_ASSIGN_OR_RETURN(CaConfig config, LoadConfig(pki.config_path));
//   MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<Authority> ca,
//       Authority::Create(config, password, nullptr, clock));
//   MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate cert, ca->Sign(csr, ott, {}));
//   ...
//   MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate next, ca->Renew(cert.chain));
//
// Errors: a token or certificate that does not authorise the request is
// Unauthenticated (HTTP 401); malformed input is InvalidArgument (400); a
// request a valid token may not make (names it does not cover) is
// PermissionDenied (403), but a duration beyond the provisioner's bounds is
// InvalidArgument (400), as step-ca answers it; already revoked is
// AlreadyExists; a failing store is Unavailable or Internal. Messages say
// why, for logs; they never contain tokens or keys.
//
// Every method is thread-safe.

#ifndef MAYFLY_AUTHORITY_H_
#define MAYFLY_AUTHORITY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/config.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"

namespace mayfly {

// InitOptions say what PKI InitPki writes (what `step ca init` asks for).
struct InitOptions {
  std::string dir;   // the CA folder ($STEPPATH)
  std::string name;  // "<name> Root CA", "<name> Intermediate CA"
  std::vector<std::string> dns_names = {"localhost"};
  std::string address = ":9000";
  std::string provisioner_name = "admin";
  std::string password;  // encrypts the CA keys
  std::string
      provisioner_password;  // encrypts the provisioner key; "" = password
  KeyType key_type = KeyType::kP256;
  std::string store;                  // store URL written to ca.json
  bool overwrite = false;             // replace an existing PKI
  uint32_t provisioner_p2c = 600000;  // PBES2 iterations for the JWE
  // authority.backdate: how far before the issuance time certificates
  // start, to absorb clock skew (default 1m). A certificate lives its
  // requested lifetime plus the backdate, so lifetimes of seconds want a
  // backdate of about a second.
  std::optional<absl::Duration> backdate;
};

// InitResult tells where things went.
struct InitResult {
  std::string config_path;    // <dir>/config/ca.json
  std::string defaults_path;  // <dir>/config/defaults.json
  std::string root_path;
  std::string intermediate_path;
  std::string root_fingerprint;  // lowercase hex SHA-256 of the root DER
  std::string provisioner_kid;
};

// InitPki writes a new PKI in the layout of STEP-PROTOCOL.md section 7:
// certs/root_ca.crt (10 years, pathlen 1), certs/intermediate_ca.crt
// (pathlen 0), secrets/root_ca_key and secrets/intermediate_ca_key
// (encrypted PKCS#8, 0600), config/ca.json with one JWK provisioner whose
// private key is stored as a JWE, config/defaults.json; directories 0700.
// AlreadyExists if any of these files exists and !overwrite (nothing is
// written then); InvalidArgument for an empty name, password or dns_names.
absl::StatusOr<InitResult> InitPki(const InitOptions& options,
                                   const Clock& clock);

// SignOptions carry the requested validity, as step's TimeDuration strings:
// "" (unset), an RFC 3339 time, or a Go duration ("90m"); a duration
// notBefore is relative to now, a duration notAfter relative to notBefore.
struct SignOptions {
  std::string not_before;
  std::string not_after;
};

// IssuedCertificate is a new certificate and the chain to send with it.
struct IssuedCertificate {
  Certificate leaf;
  std::vector<Certificate> chain;  // leaf, then the intermediate
};

// RevokeRequest asks to revoke `serial` (decimal, or 0x-prefixed hex).
// Exactly one authorisation: a revoke token (`ott`), or `peer_chain`, the
// TLS client chain of the request (proof of possession of the certificate).
struct RevokeRequest {
  std::string serial;
  int reason_code = 0;  // 0..10
  std::string reason;
  bool passive = true;  // only passive revocation is supported
  std::string ott;
  std::vector<Certificate> peer_chain;
};

// Crl is the current certificate revocation list.
struct Crl {
  std::vector<uint8_t> der;
  int64_t number = 0;
  absl::Time this_update;
  absl::Time next_update;
  std::string ToPem() const;
};

// AuthorityParts build an authority in code, without files.
struct AuthorityParts {
  std::vector<Certificate> roots;
  Certificate intermediate;
  PrivateKey intermediate_key;
  CaConfig config;  // dns_names, provisioners, claims, backdate, crl, tls
};

class Authority {
 public:
  // Create loads the CA from `config`: reads the root(s), the federated
  // roots, the intermediate and its key (decrypted with `password`), checks
  // they belong together, and
  // opens `store` (or, if NULL, the store named by config.store, "memory:"
  // when empty). `clock` must outlive the authority.
  static absl::StatusOr<std::unique_ptr<Authority>> Create(
      const CaConfig& config, absl::string_view password,
      std::unique_ptr<Store> store, const Clock& clock);

  // FromParts builds an authority from objects in memory.
  static absl::StatusOr<std::unique_ptr<Authority>> FromParts(
      AuthorityParts parts, std::unique_ptr<Store> store, const Clock& clock);

  Authority(const Authority&) = delete;
  Authority& operator=(const Authority&) = delete;
  ~Authority();

  // Sign issues a certificate for `csr` authorised by the sign token `ott`.
  // The CSR must be self-signed; its names must equal the token's SANs (per
  // SAN type present in the CSR) and its CN, if any, the token's subject or
  // one of its SANs; the validity must lie within the provisioner's claims.
  // Only when every check passed is the certificate signed, then the
  // token's jti consumed and the certificate recorded in one atomic store
  // write (a replay loses there, and its certificate is never returned).
  absl::StatusOr<IssuedCertificate> Sign(const CertificateRequest& csr,
                                         absl::string_view ott,
                                         const SignOptions& options);

  // Renew re-issues the leaf of `peer_chain` (the verified TLS client
  // chain): same subject, SANs, extensions and key, new serial, same
  // lifetime from now, renewed_from = the old serial. Unauthenticated if the
  // leaf does not chain to this CA, is outside its validity (beyond the
  // grace period when the provisioner allows renewal after expiry), its
  // provisioner is gone or disables renewal, or it or any certificate it was
  // renewed from is revoked.
  absl::StatusOr<IssuedCertificate> Renew(
      absl::Span<const Certificate> peer_chain);

  // RenewWithToken renews with step's x5cInsecure renew token (sent as
  // "Authorization: Bearer"): the token carries the certificate chain and is
  // signed by the certificate's key; allowed for expired certificates only
  // when the provisioner allows renewal after expiry.
  absl::StatusOr<IssuedCertificate> RenewWithToken(absl::string_view token);

  // Rekey is Renew with the public key of `csr` (which must be self-signed).
  absl::StatusOr<IssuedCertificate> Rekey(
      absl::Span<const Certificate> peer_chain, const CertificateRequest& csr);

  // Revoke records a passive revocation, durably, before it returns.
  // InvalidArgument for a bad serial or reason code, Unimplemented for
  // passive = false, Unauthenticated for a bad token, PermissionDenied when
  // the token subject or the client certificate's serial is not `serial`,
  // AlreadyExists if already revoked.
  absl::Status Revoke(const RevokeRequest& request);

  // GetCrl returns the CRL, signed by the intermediate: every revoked
  // serial whose certificate has not expired, with reason codes, a CRL
  // number that increases with every rebuild, and nextUpdate = thisUpdate +
  // crl.cache_duration. Rebuilt when revocations changed or it is older than
  // half its cache duration. It is built whatever config.crl.enabled says:
  // whether to publish it is the server's decision.
  absl::StatusOr<Crl> GetCrl();

  // IssueServerCertificate issues the CA's own TLS certificate for `key`:
  // CN config.common_name, SANs = dns_names, EKU serverAuth + clientAuth,
  // `lifetime` from now - backdate. Not recorded as a renewable leaf.
  absl::StatusOr<IssuedCertificate> IssueServerCertificate(
      const PublicKey& key, absl::Duration lifetime);

  // Provisioners at run time. AddProvisioner: AlreadyExists for a name or
  // kid in use; InvalidArgument for bad claims. RemoveProvisioner: NotFound.
  absl::Status AddProvisioner(const Provisioner& provisioner);
  absl::Status RemoveProvisioner(absl::string_view name);
  std::vector<Provisioner> Provisioners() const;

  // ReplaceConfig swaps in a new provisioner list and claims (a reload),
  // checked as a whole; the old ones stay on error.
  absl::Status ReplaceProvisioners(std::vector<Provisioner> provisioners,
                                   const Claims& authority_claims);

  const std::vector<Certificate>& roots() const;
  const Certificate& intermediate() const;
  // ca_chain is what follows a leaf in a chain sent to clients: the
  // intermediate, then the rest of the crt file.
  const std::vector<Certificate>& ca_chain() const;
  // federated_roots are the roots of other CAs this one federates with
  // (config.federated_roots files); served by /federation and /root/{sha}.
  const std::vector<Certificate>& federated_roots() const;
  // config returns the configuration as given at creation; its provisioners
  // and claims are not updated by the methods above (Provisioners() is the
  // current list).
  const CaConfig& config() const;
  Store& store();
  const Clock& clock() const;

 private:
  class Impl;
  explicit Authority(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mayfly

#endif  // MAYFLY_AUTHORITY_H_

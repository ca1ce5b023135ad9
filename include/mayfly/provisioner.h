// File: mayfly/provisioner.h
//
// JWK provisioners: the parties allowed to authorise certificates by signing
// one-time tokens (STEP-PROTOCOL.md section 5). Each has a name, a public
// JWK (whose `kid` tokens name), optionally its private key encrypted as a
// JWE (served to the step CLI so it can mint tokens with a password), and
// claims bounding the certificates it may authorise.
//
//   MAYFLY_ASSIGN_OR_RETURN(Provisioner p, Provisioner::FromPrivateKey(
//       "ci@example.com", key, password, {}));  // public JWK + encrypted key
//   MAYFLY_RETURN_IF_ERROR(authority->AddProvisioner(p));
//
// Values; thread-safe to read concurrently.

#ifndef MAYFLY_PROVISIONER_H_
#define MAYFLY_PROVISIONER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/key.h"

namespace mayfly {

// Claims as configured: each unset member falls back to the authority's,
// then to the built-in default (ResolvedClaims).
struct Claims {
  std::optional<absl::Duration> min_tls_duration;
  std::optional<absl::Duration> max_tls_duration;
  std::optional<absl::Duration> default_tls_duration;
  std::optional<bool> disable_renewal;
  std::optional<bool> allow_renewal_after_expiry;
  // How long after notAfter an expired certificate may still be renewed
  // when allow_renewal_after_expiry is on (mayfly's "renewalGracePeriod";
  // step-ca has no bound).
  std::optional<absl::Duration> renewal_grace_period;
};

// ResolvedClaims are the claims in force for one provisioner.
struct ResolvedClaims {
  absl::Duration min_tls_duration = absl::Minutes(5);
  absl::Duration max_tls_duration = absl::Hours(24);
  absl::Duration default_tls_duration = absl::Hours(24);
  bool disable_renewal = false;
  bool allow_renewal_after_expiry = false;
  absl::Duration renewal_grace_period = absl::Hours(24);
};

// ResolveClaims merges provisioner claims over authority claims over the
// built-in defaults. If only the default duration is set outside the
// inherited bounds, the bound follows it (as step-ca does). InvalidArgument
// unless 0 < min <= default <= max.
absl::StatusOr<ResolvedClaims> ResolveClaims(const Claims& provisioner,
                                             const Claims& authority);

// Provisioner is one JWK provisioner.
struct Provisioner {
  explicit Provisioner(PublicKey k) : key(std::move(k)) {}

  std::string name;           // the token `iss`
  std::string kid;            // the key's `kid`, matched against tokens
  PublicKey key;              // verifies tokens
  std::string key_json;       // the public JWK as configured
  std::string encrypted_key;  // compact JWE of the private JWK, or ""
  Claims claims;

  // FromPrivateKey makes a provisioner for `key`: kid = the RFC 7638
  // thumbprint, public JWK with use "sig" and the key's alg, and the private
  // JWK encrypted under `password` (PBES2, p2c as given). InvalidArgument for
  // an empty name or password, or an RSA key.
  static absl::StatusOr<Provisioner> FromPrivateKey(absl::string_view name,
                                                    const PrivateKey& key,
                                                    absl::string_view password,
                                                    const Claims& claims,
                                                    uint32_t p2c = 600000);

  // DecryptKey decrypts `encrypted_key` with `password` and checks it is the
  // private half of `key`. FailedPrecondition if there is no encrypted key;
  // Unauthenticated for a wrong password.
  absl::StatusOr<PrivateKey> DecryptKey(absl::string_view password) const;

  // Parse reads a provisioner object as ca.json holds it:
  // {"type":"JWK","name":...,"key":{JWK},"encryptedKey":...,"claims":{...}}.
  // InvalidArgument for another type, a missing name or key, bad claims.
  static absl::StatusOr<Provisioner> Parse(absl::string_view json);

  // ToJson writes it back in the same shape (members in step's order: type,
  // name, key, encryptedKey, claims; empty ones omitted).
  std::string ToJson() const;
};

// FormatDuration writes a duration as Go does ("24h0m0s", "5m0s", "1m30s"),
// the form step's JSON uses; ParseGoDuration reads Go duration text
// ("90m", "1h30m", "-5m", units ns, us, µs, ms, s, m, h). InvalidArgument
// for anything else.
// Call it qualified, as mayfly::FormatDuration(d): argument-dependent lookup
// also finds absl::FormatDuration, so the unqualified call is ambiguous.
std::string FormatDuration(absl::Duration d);
absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text);

}  // namespace mayfly

#endif  // MAYFLY_PROVISIONER_H_

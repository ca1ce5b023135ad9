// File: mayfly/token.h
//
// One-time tokens (OTTs): the JWTs a provisioner signs to authorise one
// certificate (or one revocation), exactly as `step ca token` makes them
// (STEP-PROTOCOL.md section 4), and their validation on the CA side.
//
// Validation order, stricter than step-ca's: size cap, strict JWS parse,
// provisioner by `kid` and `iss`, signature, then `aud`, times (1 minute
// leeway, bounded lifetime), root fingerprint, and only then may the caller
// consume the `jti` (Authority does so after its own CSR checks). A token
// with a bad signature therefore never burns its `jti`.
//
//   TokenSigner signer(provisioner_key, kid, "admin@example.com", clock);
//   TokenRequest req;
//   req.subject = "svc.example.com";
//   req.audience = SignAudience("https://ca.internal:9000");
//   req.root_fingerprint = root.FingerprintHex();
//   MAYFLY_ASSIGN_OR_RETURN(std::string ott, signer.Sign(req));

#ifndef MAYFLY_TOKEN_H_
#define MAYFLY_TOKEN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"

namespace mayfly {

// SignAudience / RevokeAudience / RenewAudience return the `aud` step puts in
// tokens for a CA URL: "https://host[:port]/1.0/sign", ".../1.0/revoke",
// and ".../renew" (no /1.0) for renew tokens. The scheme is forced to https,
// any path of `ca_url` is dropped. InvalidArgument for a URL without host.
absl::StatusOr<std::string> SignAudience(absl::string_view ca_url);
absl::StatusOr<std::string> RevokeAudience(absl::string_view ca_url);
absl::StatusOr<std::string> RenewAudience(absl::string_view ca_url);

// TokenClaims are the claims of a one-time token.
struct TokenClaims {
  std::string issuer;    // iss: the provisioner name
  std::string subject;   // sub: CN (sign) or decimal serial (revoke)
  std::string audience;  // aud (a single string, as step writes it)
  absl::Time not_before;
  absl::Time issued_at;
  absl::Time expiry;
  std::string id;                 // jti: 64 random lowercase hex characters
  std::string root_fingerprint;   // sha: lowercase hex SHA-256 of the root
  std::vector<std::string> sans;  // sign tokens only
};

// TokenRequest says what token to mint.
struct TokenRequest {
  std::string subject;
  std::string audience;  // from SignAudience / RevokeAudience
  std::vector<std::string> sans;  // sign tokens: defaults to {subject}
  std::string root_fingerprint;   // "" omits `sha`
  absl::Duration lifetime = absl::Minutes(5);
  bool revoke = false;  // revoke tokens carry no `sans`
};

// TokenSigner mints tokens for one provisioner. Thread-safe.
class TokenSigner {
 public:
  // `key` is the provisioner's private key, `kid` its configured key id,
  // `issuer` its name.
  TokenSigner(PrivateKey key, std::string kid, std::string issuer,
              const Clock& clock);

  // Sign returns a compact JWS with header {"alg","kid","typ":"JWT"} and the
  // claims iss, sub, aud, nbf = iat = now, exp = now + lifetime, a fresh
  // jti, sha and sans. InvalidArgument for an empty subject or audience, or
  // a lifetime outside 10 s .. 1 h (step's bounds).
  absl::StatusOr<std::string> Sign(const TokenRequest& request) const;

 private:
  PrivateKey key_;
  std::string kid_;
  std::string issuer_;
  const Clock& clock_;
};

// TokenPurpose is what a token is presented for.
enum class TokenPurpose { kSign, kRevoke };

// TokenValidatorOptions describe the CA the tokens are meant for.
struct TokenValidatorOptions {
  // Host names (and IPs) the CA answers to; each yields the accepted
  // audiences https://<name>[:port]/1.0/<op> and https://<name>[:port]/<op>
  // (compared with the port removed, as step-ca does; IPv6 names are
  // bracketed). Sign tokens may also carry step-ca's legacy audience
  // "step-certificate-authority"; revoke tokens may not.
  std::vector<std::string> dns_names;
  absl::Duration leeway = absl::Minutes(1);
  // Tokens living longer than this (exp - nbf, or exp - iat) are refused.
  absl::Duration max_lifetime = absl::Hours(1);
  // Lowercase hex SHA-256 of the CA's roots; a token's `sha`, when present,
  // must be one of them.
  std::vector<std::string> root_fingerprints;
  // Tokens issued before this time are refused (step-ca: the CA's start).
  absl::Time not_issued_before = absl::InfinitePast();
  size_t max_token_bytes = 16 * 1024;
};

// ValidatedToken is a token whose signature and claims checked out; its jti
// is not consumed yet.
struct ValidatedToken {
  const Provisioner* provisioner = nullptr;  // borrowed from the set given
  TokenClaims claims;
};

// ValidateToken runs every check except jti consumption, in the order of the
// file comment, against `provisioners`. Every failure is Unauthenticated,
// with a message saying which check failed (for logs; never echo tokens).
// Stricter than step-ca: `aud` must be one string, and nbf, iat, exp and
// jti (1 to 256 bytes) are required. A sign token without `sans` gets
// claims.sans = {sub}, as step-ca does.
absl::StatusOr<ValidatedToken> ValidateToken(
    absl::string_view token, TokenPurpose purpose,
    const std::vector<Provisioner>& provisioners,
    const TokenValidatorOptions& options, absl::Time now);

// ParseTokenClaims decodes the claims of a token without verifying it: for
// tools that display tokens, never for authorisation.
absl::StatusOr<TokenClaims> ParseTokenClaims(absl::string_view token);

}  // namespace mayfly

#endif  // MAYFLY_TOKEN_H_

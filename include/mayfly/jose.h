// File: mayfly/jose.h
//
// The JOSE mayfly needs: compact JWS (RFC 7515) signed with ES256, ES384 or
// EdDSA and verified with those plus RS256/PS256, and the password-based JWE
// (RFC 7516/7518, PBES2-HS256+A128KW with A128GCM or A256GCM) in which step
// stores provisioner private keys.
//
// Parsing is strict, because every token arrives from outside:
// - sizes are capped before anything is decoded;
// - base64url must be the canonical unpadded encoding;
// - headers and payloads must be JSON objects without duplicate members;
// - `alg` must be one of the above and match the verifying key (no `none`,
//   no HMAC); ECDSA signatures must be the fixed-size R||S form;
// - `crit` is refused (mayfly understands no extensions), and so are the
//   key-carrying header members `jwk`, `jku`, `x5u` and `x5c`: a token never
//   chooses its own verification key.
//
//   MAYFLY_ASSIGN_OR_RETURN(std::string jws,
//                           SignJws(key, {.kid = kid, .typ = "JWT"}, claims));
//   MAYFLY_ASSIGN_OR_RETURN(Jws parsed, Jws::Parse(jws));
//   MAYFLY_RETURN_IF_ERROR(parsed.Verify(key.public_key()));
//
// Every function is thread-safe.

#ifndef MAYFLY_JOSE_H_
#define MAYFLY_JOSE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mayfly/key.h"

namespace mayfly {

// JwsAlgorithm is a signature algorithm mayfly accepts.
enum class JwsAlgorithm { kES256, kES384, kEdDSA, kRS256, kPS256 };

// JwsAlgorithmName returns the JOSE name ("ES256", ...).
absl::string_view JwsAlgorithmName(JwsAlgorithm alg);

// JwsHeader is what SignJws puts in the protected header besides `alg`
// (which always follows the key). Empty members are omitted. Members are
// written sorted by name, as step's JOSE library does.
struct JwsHeader {
  std::string kid;
  std::string typ;
  // x5cInsecure: standard-base64 DER certificates, leaf first; step's renew
  // token (STEP-PROTOCOL.md section 4.6).
  std::vector<std::string> x5c_insecure;
};

// SignJws signs `payload` (the bytes of the JWS payload, usually JSON
// claims) with `key` using the key's algorithm (P-256 -> ES256, P-384 ->
// ES384, Ed25519 -> EdDSA) and returns the compact serialization.
// InvalidArgument for an RSA key (mayfly signs with elliptic curves only).
absl::StatusOr<std::string> SignJws(const PrivateKey& key,
                                    const JwsHeader& header,
                                    absl::string_view payload);

// JwsLimits cap what Jws::Parse accepts.
struct JwsLimits {
  size_t max_bytes = 16 * 1024;  // whole compact token
};

// Jws is a parsed, not yet verified, compact JWS.
class Jws {
 public:
  // Parse splits and decodes a compact JWS and checks the header as the
  // file comment says. It does not verify the signature. InvalidArgument,
  // naming the rule broken, for anything else.
  static absl::StatusOr<Jws> Parse(absl::string_view compact,
                                   const JwsLimits& limits = {});

  JwsAlgorithm alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  const std::string& typ() const { return typ_; }
  // x5c_insecure returns the x5cInsecure header member (standard base64 DER
  // certificates, leaf first), empty if absent.
  const std::vector<std::string>& x5c_insecure() const { return x5c_insecure_; }

  // header_json / payload return the decoded protected header and payload.
  const std::string& header_json() const { return header_json_; }
  const std::string& payload() const { return payload_; }

  // Verify checks the signature with `key`. Unauthenticated if `alg` does
  // not fit the key type (ES256 needs P-256, ES384 P-384, EdDSA Ed25519,
  // RS256/PS256 RSA) or the signature does not verify.
  absl::Status Verify(const PublicKey& key) const;

 private:
  Jws() = default;
  JwsAlgorithm alg_ = JwsAlgorithm::kES256;
  std::string kid_;
  std::string typ_;
  std::vector<std::string> x5c_insecure_;
  std::string header_json_;
  std::string payload_;
  std::string signing_input_;  // ASCII of header "." payload
  std::string signature_;      // raw signature bytes
};

// JweEncryption is the content encryption of a PBES2 JWE.
enum class JweEncryption { kA128GCM, kA256GCM };

// JweEncryptOptions for EncryptJwe. The defaults match what current step
// writes (STEP-PROTOCOL.md section 5.2).
struct JweEncryptOptions {
  JweEncryption enc = JweEncryption::kA256GCM;
  uint32_t p2c = 600000;  // PBKDF2 iterations; 1000 to 1,000,000
  std::string cty = "jwk+json";  // empty omits it
};

// EncryptJwe encrypts `plaintext` under `password` with
// PBES2-HS256+A128KW and returns the compact serialization. InvalidArgument
// for an empty password or p2c out of range.
absl::StatusOr<std::string> EncryptJwe(absl::string_view plaintext,
                                       absl::string_view password,
                                       const JweEncryptOptions& options = {});

// JweLimits cap what DecryptJwe accepts.
struct JweLimits {
  size_t max_bytes = 64 * 1024;
  uint32_t max_p2c = 1000000;  // as go-jose: bounds the PBKDF2 work
  uint32_t min_p2c = 1000;
};

// DecryptJwe decrypts a PBES2-HS256+A128KW JWE given in the compact or the
// flattened JSON serialization (`step crypto jwk create` writes the latter).
// InvalidArgument for malformed input, another `alg`/`enc`, `p2c` outside
// the limits, or an empty `p2s`; Unauthenticated when the password is wrong
// or the ciphertext was altered (the two cannot be told apart).
absl::StatusOr<std::string> DecryptJwe(absl::string_view jwe,
                                       absl::string_view password,
                                       const JweLimits& limits = {});

}  // namespace mayfly

#endif  // MAYFLY_JOSE_H_

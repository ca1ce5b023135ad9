// File: mayfly/key.h
//
// Public and private keys: P-256 (the default), P-384 and Ed25519 for
// signing; RSA (2048 bits or more) for verifying what others signed.
// Keys move in and out as DER, PEM (plain, password-encrypted PKCS#8, and the
// legacy encrypted "EC PRIVATE KEY" PEM that `step ca init` writes) and JWK
// (RFC 7517), with the RFC 7638 thumbprint that step uses as a JWK's `kid`.
//
//   MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
//   MAYFLY_ASSIGN_OR_RETURN(std::string pem, key.ToEncryptedPem(password));
//   MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> sig, key.Sign(message));
//   MAYFLY_RETURN_IF_ERROR(key.public_key().Verify(message, sig));
//
// Keys are immutable values; copies share the underlying BoringSSL object and
// are cheap. Every method is thread-safe.

#ifndef MAYFLY_KEY_H_
#define MAYFLY_KEY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

// BoringSSL's key type, named without including its headers.
struct evp_pkey_st;

namespace mayfly {

// KeyType names the algorithm and curve of a key.
enum class KeyType {
  kP256,     // ECDSA over NIST P-256 with SHA-256 (ES256)
  kP384,     // ECDSA over NIST P-384 with SHA-384 (ES384)
  kEd25519,  // Ed25519 (EdDSA)
  kRsa,      // RSA, 2048 bits or more; PKCS#1 v1.5 with SHA-256 (RS256)
};

// KeyTypeName returns "P-256", "P-384", "Ed25519" or "RSA".
absl::string_view KeyTypeName(KeyType type);

// Limits shared by every importer: RSA keys below kMinRsaBits or above
// kMaxRsaBits are refused with InvalidArgument (weak, or a denial of service).
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;

// JwkMembers are the optional JWK members that describe a key rather than
// hold it. Empty strings are omitted on output.
struct JwkMembers {
  std::string kid;  // key id; step uses the RFC 7638 thumbprint
  std::string alg;  // "ES256", "ES384", "EdDSA", "RS256"
  std::string use;  // "sig"
};

// PublicKey is a public key of one of the KeyTypes. Valid keys only: every
// factory checks the point is on the curve, the curve is supported and the
// RSA modulus size is within bounds.
class PublicKey {
 public:
  // FromSpkiDer parses a DER SubjectPublicKeyInfo. InvalidArgument if it is
  // malformed, has trailing data, or holds an unsupported or weak key.
  static absl::StatusOr<PublicKey> FromSpkiDer(absl::Span<const uint8_t> der);

  // FromPem parses a single "PUBLIC KEY" PEM block. InvalidArgument otherwise.
  static absl::StatusOr<PublicKey> FromPem(absl::string_view pem);

  // FromJwk parses a JSON JWK (RFC 7517/7518/8037): EC P-256/P-384 (`x`, `y`
  // of exactly the curve's size), OKP Ed25519 (`x`), RSA (`n`, `e`). Private
  // members, if present, are ignored. On success `members`, if not NULL,
  // receives kid/alg/use. InvalidArgument for malformed JSON, duplicate
  // members, non-canonical base64url, wrong lengths, points not on the curve,
  // or an `alg` member that does not fit the key.
  static absl::StatusOr<PublicKey> FromJwk(absl::string_view json,
                                           JwkMembers* members = nullptr);

  KeyType type() const;

  // bits returns the key size: 256, 384, 255 for Ed25519, the modulus size
  // for RSA.
  int bits() const;

  // ToSpkiDer returns the DER SubjectPublicKeyInfo.
  std::vector<uint8_t> ToSpkiDer() const;

  // ToPem returns a "PUBLIC KEY" PEM block ending in a newline.
  std::string ToPem() const;

  // ToJwk returns the public JWK as compact JSON with members in step's
  // order (use, kty, kid, crv, alg, x, y / n, e).
  std::string ToJwk(const JwkMembers& members = {}) const;

  // JwkThumbprint returns the RFC 7638 SHA-256 thumbprint, base64url without
  // padding (43 characters).
  std::string JwkThumbprint() const;

  // DefaultJwsAlgorithm returns the JOSE `alg` for this key type: "ES256",
  // "ES384", "EdDSA" or "RS256".
  absl::string_view DefaultJwsAlgorithm() const;

  // Verify checks `signature` over `message` as X.509 and CSRs carry it:
  // ECDSA as a DER ECDSA-Sig-Value with the curve's hash (SHA-256 for P-256,
  // SHA-384 for P-384), Ed25519 over the message itself, RSA PKCS#1 v1.5
  // with SHA-256. Unauthenticated if the signature does not verify.
  absl::Status Verify(absl::Span<const uint8_t> message,
                      absl::Span<const uint8_t> signature) const;

  // Equals reports whether both hold the same key.
  bool Equals(const PublicKey& other) const;

  // native returns the BoringSSL EVP_PKEY, borrowed for the key's lifetime.
  // For mayfly's own modules; not a stable API.
  evp_pkey_st* native() const { return pkey_.get(); }

  // FromNative takes a reference to a validated EVP_PKEY. For mayfly's own
  // modules; InvalidArgument if the key is of an unsupported type.
  static absl::StatusOr<PublicKey> FromNative(evp_pkey_st* pkey);

 private:
  explicit PublicKey(std::shared_ptr<evp_pkey_st> pkey)
      : pkey_(std::move(pkey)) {}
  std::shared_ptr<evp_pkey_st> pkey_;
  friend class PrivateKey;
};

// PrivateKey is a private key of one of the KeyTypes.
class PrivateKey {
 public:
  // Generate makes a new key. kP256 (default), kP384 and kEd25519 only;
  // InvalidArgument for kRsa (mayfly signs with elliptic curves only).
  static absl::StatusOr<PrivateKey> Generate(KeyType type = KeyType::kP256);

  // FromDer parses an unencrypted DER private key: PKCS#8 PrivateKeyInfo,
  // SEC 1 ECPrivateKey or PKCS#1 RSAPrivateKey. InvalidArgument otherwise.
  static absl::StatusOr<PrivateKey> FromDer(absl::Span<const uint8_t> der);

  // FromPem parses one PEM private key: "PRIVATE KEY", "EC PRIVATE KEY",
  // "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY" (PKCS#8 with PBES2), or a
  // legacy RFC 1423 encrypted PEM ("Proc-Type: 4,ENCRYPTED" with an AES-CBC
  // "DEK-Info", as `step ca init` writes). `password` is used only for
  // encrypted keys. InvalidArgument for malformed input, other PKCS#8
  // schemes (PBES1, scrypt), or a PBKDF2 iteration count above 10,000,000;
  // Unauthenticated for an encrypted key with a missing or wrong password.
  static absl::StatusOr<PrivateKey> FromPem(absl::string_view pem,
                                            absl::string_view password = {});

  // FromJwk parses a private JWK (the public members plus `d`, or the RSA
  // private members). Same errors as PublicKey::FromJwk, and InvalidArgument
  // when `d` is missing or does not match the public members.
  static absl::StatusOr<PrivateKey> FromJwk(absl::string_view json,
                                            JwkMembers* members = nullptr);

  KeyType type() const;

  // public_key returns the matching public key.
  PublicKey public_key() const;

  // ToPkcs8Der returns the unencrypted PKCS#8 PrivateKeyInfo.
  // WARNING: the result is key material; wipe it when done.
  std::vector<uint8_t> ToPkcs8Der() const;

  // ToPem returns an unencrypted "PRIVATE KEY" (PKCS#8) PEM block.
  // WARNING: write it only where nothing else can read it.
  std::string ToPem() const;

  // ToEncryptedPem returns an "ENCRYPTED PRIVATE KEY" PEM block: PKCS#8 with
  // PBES2, PBKDF2-HMAC-SHA256 (600,000 iterations, as step writes) and
  // AES-256-CBC. InvalidArgument for an empty password.
  absl::StatusOr<std::string> ToEncryptedPem(absl::string_view password) const;

  // ToJwk returns the private JWK as compact JSON (public members plus `d`).
  // WARNING: the result is key material.
  std::string ToJwk(const JwkMembers& members = {}) const;

  // Sign signs `message` in the form PublicKey::Verify checks (DER ECDSA
  // with the curve's hash, Ed25519, RSA PKCS#1 v1.5 SHA-256). Internal only
  // if BoringSSL fails.
  absl::StatusOr<std::vector<uint8_t>> Sign(
      absl::Span<const uint8_t> message) const;

  // native returns the BoringSSL EVP_PKEY, borrowed for the key's lifetime.
  // For mayfly's own modules; not a stable API.
  evp_pkey_st* native() const { return pkey_.get(); }

 private:
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> pkey)
      : pkey_(std::move(pkey)) {}
  std::shared_ptr<evp_pkey_st> pkey_;
};

}  // namespace mayfly

#endif  // MAYFLY_KEY_H_

// Helpers shared by key.cc, key_pem.cc and jwk.cc. Private to mayfly.

#ifndef MAYFLY_LIB_KEY_INTERNAL_H_
#define MAYFLY_LIB_KEY_INTERNAL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mayfly/key.h"
#include "openssl/base.h"

namespace mayfly {
namespace internal {

// CheckKey returns the KeyType of `pkey` after checking it is one mayfly
// accepts: P-256 or P-384 with a valid public point (and, if present, a
// private scalar that matches it), Ed25519 with a public key that decodes to
// a curve point, or RSA of kMinRsaBits..kMaxRsaBits that passes
// RSA_check_key. With `need_private` the private half must be present.
// InvalidArgument otherwise.
absl::StatusOr<KeyType> CheckKey(const EVP_PKEY* pkey, bool need_private);

// PrivateKeyFormat is the DER structure a private key is stored in.
enum class PrivateKeyFormat {
  kPkcs8,  // PrivateKeyInfo (RFC 5208), "PRIVATE KEY"
  kSec1,   // ECPrivateKey (RFC 5915), "EC PRIVATE KEY"
  kPkcs1,  // RSAPrivateKey (RFC 8017), "RSA PRIVATE KEY"
};

// DetectPrivateKeyFormat looks at the first members of the outer SEQUENCE of
// `der` (the element after the version decides) without parsing the key.
// InvalidArgument if `der` is none of the three.
absl::StatusOr<PrivateKeyFormat> DetectPrivateKeyFormat(
    absl::Span<const uint8_t> der);

// ParsePrivateKeyDer parses `der` as `format` and checks it with CheckKey.
// InvalidArgument if it is malformed, has trailing data or holds an
// unsupported key.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDer(
    absl::Span<const uint8_t> der, PrivateKeyFormat format);

// JwsAlgorithmFor returns the JOSE `alg` for `type`: "ES256", "ES384",
// "EdDSA" or "RS256".
absl::string_view JwsAlgorithmFor(KeyType type);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_KEY_INTERNAL_H_

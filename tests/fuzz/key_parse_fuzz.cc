// Fuzz target: every key importer on the same untrusted bytes:
// PrivateKey::FromDer / FromPem (with the test password, for encrypted
// PEM), PublicKey::FromSpkiDer / FromPem.
//
// Properties: failures use the codes key.h documents; what parses
// serializes again (PKCS#8 or SPKI DER, PEM, JWK) and re-parses to an equal
// key whose serialization is the same bytes.
// Recommended -max_len: 4096 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "mayfly/key.h"

namespace {

// tests/testdata/step/password.txt: the encrypted seeds use it.
constexpr char kPassword[] = "mayfly-test-password";

void CheckPrivate(const mayfly::PrivateKey& key) {
  std::vector<uint8_t> der = key.ToPkcs8Der();
  absl::StatusOr<mayfly::PrivateKey> again = mayfly::PrivateKey::FromDer(der);
  FUZZ_CHECK(again.ok(), "exported PKCS#8 parses");
  FUZZ_CHECK(again->ToPkcs8Der() == der, "PKCS#8 DER round-trips exactly");
  FUZZ_CHECK(again->public_key().Equals(key.public_key()),
             "PKCS#8 round-trips to the same public key");
  absl::StatusOr<mayfly::PrivateKey> from_pem =
      mayfly::PrivateKey::FromPem(key.ToPem());
  FUZZ_CHECK(from_pem.ok(), "exported PEM parses");
  FUZZ_CHECK(from_pem->ToPkcs8Der() == der, "PEM round-trips exactly");
}

void CheckPublic(const mayfly::PublicKey& key) {
  std::vector<uint8_t> spki = key.ToSpkiDer();
  absl::StatusOr<mayfly::PublicKey> again =
      mayfly::PublicKey::FromSpkiDer(spki);
  FUZZ_CHECK(again.ok(), "exported SPKI parses");
  FUZZ_CHECK(again->Equals(key), "SPKI round-trips to an equal key");
  FUZZ_CHECK(again->ToSpkiDer() == spki, "SPKI DER round-trips exactly");
  absl::StatusOr<mayfly::PublicKey> from_pem =
      mayfly::PublicKey::FromPem(key.ToPem());
  FUZZ_CHECK(from_pem.ok() && from_pem->Equals(key), "PEM round-trips");
  absl::StatusOr<mayfly::PublicKey> from_jwk =
      mayfly::PublicKey::FromJwk(key.ToJwk());
  FUZZ_CHECK(from_jwk.ok() && from_jwk->Equals(key), "JWK round-trips");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> bytes(data, size);
  absl::string_view text = mayfly::fuzz::AsText(data, size);

  absl::StatusOr<mayfly::PrivateKey> priv = mayfly::PrivateKey::FromDer(bytes);
  if (priv.ok()) {
    CheckPrivate(*priv);
    CheckPublic(priv->public_key());
  } else {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(priv.status(),
                                     absl::StatusCode::kInvalidArgument),
               "PrivateKey::FromDer fails with InvalidArgument");
  }

  priv = mayfly::PrivateKey::FromPem(text, kPassword);
  if (priv.ok()) {
    CheckPrivate(*priv);
    CheckPublic(priv->public_key());
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(priv.status(), absl::StatusCode::kInvalidArgument,
                              absl::StatusCode::kUnauthenticated),
        "PrivateKey::FromPem fails with InvalidArgument or "
        "Unauthenticated");
  }

  absl::StatusOr<mayfly::PublicKey> pub = mayfly::PublicKey::FromSpkiDer(bytes);
  if (pub.ok()) {
    CheckPublic(*pub);
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(pub.status(), absl::StatusCode::kInvalidArgument),
        "PublicKey::FromSpkiDer fails with InvalidArgument");
  }

  pub = mayfly::PublicKey::FromPem(text);
  if (pub.ok()) {
    CheckPublic(*pub);
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(pub.status(), absl::StatusCode::kInvalidArgument),
        "PublicKey::FromPem fails with InvalidArgument");
  }
  return 0;
}

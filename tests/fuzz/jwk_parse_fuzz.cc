// Fuzz target: PublicKey::FromJwk and PrivateKey::FromJwk on untrusted JSON.
//
// Properties: failures are InvalidArgument (key.h); what parses exports
// again (ToJwk) and re-parses to an equal key with the same members and
// thumbprint, and its SPKI / PKCS#8 DER round-trips too; a private JWK's
// public half parses as a public JWK to the same key; a parsed elliptic
// curve private key signs what its public key verifies.
// Recommended -max_len: 4096 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "mayfly/key.h"

namespace {

bool SameMembers(const mayfly::JwkMembers& a, const mayfly::JwkMembers& b) {
  return a.kid == b.kid && a.alg == b.alg && a.use == b.use;
}

void CheckPublic(const mayfly::PublicKey& key,
                 const mayfly::JwkMembers& members) {
  std::string jwk = key.ToJwk(members);
  mayfly::JwkMembers again_members;
  absl::StatusOr<mayfly::PublicKey> again =
      mayfly::PublicKey::FromJwk(jwk, &again_members);
  FUZZ_CHECK(again.ok(), "an exported public JWK parses");
  FUZZ_CHECK(again->Equals(key), "a public JWK round-trips to an equal key");
  FUZZ_CHECK(SameMembers(members, again_members),
             "kid/alg/use round-trip through ToJwk");
  FUZZ_CHECK(again->ToJwk(again_members) == jwk, "ToJwk is stable");
  std::string thumbprint = key.JwkThumbprint();
  FUZZ_CHECK(thumbprint.size() == 43, "a thumbprint is 43 characters");
  FUZZ_CHECK(again->JwkThumbprint() == thumbprint,
             "equal keys have equal thumbprints");

  std::vector<uint8_t> spki = key.ToSpkiDer();
  absl::StatusOr<mayfly::PublicKey> from_spki =
      mayfly::PublicKey::FromSpkiDer(spki);
  FUZZ_CHECK(from_spki.ok(), "an exported SPKI parses");
  FUZZ_CHECK(from_spki->Equals(key), "SPKI round-trips to an equal key");
  FUZZ_CHECK(from_spki->type() == key.type() && from_spki->bits() == key.bits(),
             "type and size survive the round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view json = mayfly::fuzz::AsText(data, size);

  mayfly::JwkMembers members;
  absl::StatusOr<mayfly::PublicKey> pub =
      mayfly::PublicKey::FromJwk(json, &members);
  if (pub.ok()) {
    CheckPublic(*pub, members);
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(pub.status(), absl::StatusCode::kInvalidArgument),
        "PublicKey::FromJwk fails with InvalidArgument");
  }

  mayfly::JwkMembers private_members;
  absl::StatusOr<mayfly::PrivateKey> priv =
      mayfly::PrivateKey::FromJwk(json, &private_members);
  if (!priv.ok()) {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(priv.status(),
                                     absl::StatusCode::kInvalidArgument),
               "PrivateKey::FromJwk fails with InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(pub.ok(), "a private JWK is also a valid public JWK");
  FUZZ_CHECK(pub->Equals(priv->public_key()),
             "a private JWK's public members are its public key");
  FUZZ_CHECK(priv->type() == pub->type(), "private and public types agree");

  std::string jwk = priv->ToJwk(private_members);
  absl::StatusOr<mayfly::PrivateKey> again = mayfly::PrivateKey::FromJwk(jwk);
  FUZZ_CHECK(again.ok(), "an exported private JWK parses");
  std::vector<uint8_t> der = priv->ToPkcs8Der();
  FUZZ_CHECK(again->ToPkcs8Der() == der,
             "a private JWK round-trips to an equal key");
  absl::StatusOr<mayfly::PrivateKey> from_der =
      mayfly::PrivateKey::FromDer(der);
  FUZZ_CHECK(from_der.ok(), "exported PKCS#8 parses");
  FUZZ_CHECK(from_der->public_key().Equals(priv->public_key()),
             "PKCS#8 round-trips to the same key");

  if (priv->type() != mayfly::KeyType::kRsa) {
    static const uint8_t kMessage[] = {'f', 'u', 'z', 'z'};
    absl::StatusOr<std::vector<uint8_t>> sig = priv->Sign(kMessage);
    FUZZ_CHECK(sig.ok(), "a parsed private key signs");
    FUZZ_CHECK(priv->public_key().Verify(kMessage, *sig).ok(),
               "its public key verifies the signature");
  }
  return 0;
}

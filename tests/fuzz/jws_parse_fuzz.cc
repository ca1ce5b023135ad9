// Fuzz target: Jws::Parse on untrusted compact JWS, then Verify with fixed
// keys of every kind the seeds use.
//
// Properties: Parse fails only with InvalidArgument and Verify only with
// Unauthenticated (jose.h); a token verifies under at most one of the keys.
// Recommended -max_len: 4096 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.h"
#include "mayfly/jose.h"
#include "mayfly/key.h"

namespace {

// The JWK provisioner key that signed step's tokens in the seed corpus
// (tests/testdata/step/provisioners.json).
constexpr char kStepProvisionerKey[] =
    R"({"use":"sig","kty":"EC","kid":"c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE",)"
    R"("crv":"P-256","alg":"ES256","x":"S1CuGtn8SzGQFuivErjchOQDSrapHjuLna5oi1tSzX8",)"
    R"("y":"C8zYHVYCDJqqgwbtSM64mhFiinfkkpLKFK_5wa3slrc"})";
// RFC 7515 appendix A.3 (ES256).
constexpr char kRfc7515EcKey[] =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";
// RFC 8037 appendix A.4 (EdDSA).
constexpr char kRfc8037EdKey[] =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

const std::vector<mayfly::PublicKey>& Keys() {
  static const std::vector<mayfly::PublicKey>* keys = [] {
    auto* v = new std::vector<mayfly::PublicKey>();
    for (const char* jwk :
         {kStepProvisionerKey, kRfc7515EcKey, kRfc8037EdKey}) {
      absl::StatusOr<mayfly::PublicKey> key = mayfly::PublicKey::FromJwk(jwk);
      FUZZ_CHECK(key.ok(), "a fixed verification key parses");
      v->push_back(*key);
    }
    return v;
  }();
  return *keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<mayfly::PublicKey>& keys = Keys();
  absl::StatusOr<mayfly::Jws> jws =
      mayfly::Jws::Parse(mayfly::fuzz::AsText(data, size));
  if (!jws.ok()) {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(jws.status(), absl::StatusCode::kInvalidArgument),
        "Parse fails with InvalidArgument");
    return 0;
  }
  FUZZ_CHECK(!mayfly::JwsAlgorithmName(jws->alg()).empty(),
             "a parsed token names its algorithm");
  FUZZ_CHECK(!jws->header_json().empty(), "a parsed token has a header");

  int verified = 0;
  for (const mayfly::PublicKey& key : keys) {
    absl::Status status = jws->Verify(key);
    if (status.ok()) {
      verified++;
    } else {
      FUZZ_CHECK(
          mayfly::fuzz::IsOneOf(status, absl::StatusCode::kUnauthenticated),
          "Verify fails with Unauthenticated");
    }
  }
  FUZZ_CHECK(verified <= 1, "a token verifies under one key at most");
  return 0;
}

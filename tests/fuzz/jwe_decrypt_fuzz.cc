// Fuzz target: DecryptJwe on untrusted compact and flattened-JSON JWE, with
// the test password and a low PBKDF2 cap (p2c 1..1000) so each input is
// cheap.
//
// Properties: failures are InvalidArgument or Unauthenticated (jose.h);
// whatever decrypts does not decrypt under another password, and
// re-encrypts (EncryptJwe) to a JWE that decrypts to the same plaintext.
// Recommended -max_len: 2048 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "mayfly/jose.h"

namespace {

// tests/testdata/step/password.txt: the seed corpus is encrypted under it.
constexpr char kPassword[] = "mayfly-test-password";

mayfly::JweLimits FuzzLimits() {
  mayfly::JweLimits limits;
  limits.min_p2c = 1;
  limits.max_p2c = 1000;
  return limits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const mayfly::JweLimits limits = FuzzLimits();
  absl::string_view jwe = mayfly::fuzz::AsText(data, size);
  absl::StatusOr<std::string> plaintext =
      mayfly::DecryptJwe(jwe, kPassword, limits);
  if (!plaintext.ok()) {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(plaintext.status(),
                                     absl::StatusCode::kInvalidArgument,
                                     absl::StatusCode::kUnauthenticated),
               "DecryptJwe fails with InvalidArgument or Unauthenticated");
    return 0;
  }

  absl::StatusOr<std::string> wrong =
      mayfly::DecryptJwe(jwe, "not-the-test-password", limits);
  FUZZ_CHECK(
      mayfly::fuzz::IsOneOf(wrong.status(), absl::StatusCode::kUnauthenticated),
      "a wrong password is Unauthenticated");

  mayfly::JweEncryptOptions options;
  options.p2c = 1000;
  absl::StatusOr<std::string> again =
      mayfly::EncryptJwe(*plaintext, kPassword, options);
  FUZZ_CHECK(again.ok(), "decrypted plaintext encrypts again");
  absl::StatusOr<std::string> round_trip =
      mayfly::DecryptJwe(*again, kPassword, limits);
  FUZZ_CHECK(round_trip.ok() && *round_trip == *plaintext,
             "EncryptJwe output decrypts to the same plaintext");
  return 0;
}

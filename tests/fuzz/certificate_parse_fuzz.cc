// Fuzz target: Certificate::FromDer / FromPem / ParsePemBundle on untrusted
// bytes, then every accessor, Inspect, and the signature and chain checks.
//
// Properties: failures are InvalidArgument (certificate.h); a certificate
// parsed from DER keeps exactly the input as der(); PEM and DER round-trip
// to an equal certificate; every extension listed is found by its OID.
// Recommended -max_len: 8192 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz_check.h"
#include "mayfly/certificate.h"

namespace {

void Exercise(const mayfly::Certificate& cert) {
  absl::StatusOr<mayfly::Certificate> from_pem =
      mayfly::Certificate::FromPem(cert.ToPem());
  FUZZ_CHECK(from_pem.ok() && from_pem->Equals(cert),
             "ToPem round-trips to an equal certificate");
  absl::StatusOr<mayfly::Certificate> from_der =
      mayfly::Certificate::FromDer(cert.der());
  FUZZ_CHECK(from_der.ok() && from_der->der() == cert.der(),
             "der() round-trips exactly");

  // Every accessor runs on every parsed certificate, for ASan and UBSan.
  cert.Serial();
  FUZZ_CHECK(!cert.SerialDecimal().empty(), "a serial prints as decimal");
  cert.Subject();
  cert.Issuer();
  cert.CommonName();
  cert.RawSubject();
  cert.RawIssuer();
  cert.Sans();
  cert.KeyUsage();
  cert.ExtKeyUsage();
  cert.SubjectKeyId();
  cert.AuthorityKeyId();
  cert.SignatureAlgorithm();
  std::optional<mayfly::BasicConstraints> basic = cert.Basic();
  if (basic.has_value() && basic->path_len.has_value()) {
    FUZZ_CHECK(*basic->path_len >= 0, "a path length is not negative");
  }
  for (const mayfly::Extension& ext : cert.Extensions()) {
    FUZZ_CHECK(cert.FindExtension(ext.oid).has_value(),
               "every listed extension is found by its OID");
  }
  cert.FindExtension(mayfly::kOidStepProvisioner);
  FUZZ_CHECK(cert.Sha256Fingerprint().size() == 32, "SHA-256 is 32 bytes");
  FUZZ_CHECK(cert.FingerprintHex().size() == 64, "hex fingerprint is 64");

  mayfly::PublicKey key = cert.public_key();
  FUZZ_CHECK(!key.ToSpkiDer().empty(), "the subject key serializes");
  absl::Status self_signed = cert.VerifySignature(key);
  FUZZ_CHECK(
      self_signed.ok() || mayfly::fuzz::IsOneOf(
                              self_signed, absl::StatusCode::kUnauthenticated),
      "VerifySignature fails with Unauthenticated");
  absl::Time at = cert.NotBefore();
  cert.NotAfter();
  absl::Status chain = mayfly::VerifyChain(cert, {}, {cert}, at);
  FUZZ_CHECK(chain.ok() || mayfly::fuzz::IsOneOf(
                               chain, absl::StatusCode::kUnauthenticated),
             "VerifyChain fails with Unauthenticated");

  FUZZ_CHECK(!mayfly::Inspect(cert).empty(), "Inspect is not empty");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::Span<const uint8_t> bytes(data, size);
  absl::string_view text = mayfly::fuzz::AsText(data, size);

  absl::StatusOr<mayfly::Certificate> cert =
      mayfly::Certificate::FromDer(bytes);
  if (cert.ok()) {
    FUZZ_CHECK(cert->der() == std::vector<uint8_t>(data, data + size),
               "der() is exactly the parsed input");
    Exercise(*cert);
  } else {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(cert.status(),
                                     absl::StatusCode::kInvalidArgument),
               "Certificate::FromDer fails with InvalidArgument");
  }

  cert = mayfly::Certificate::FromPem(text);
  if (cert.ok()) {
    Exercise(*cert);
  } else {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(cert.status(),
                                     absl::StatusCode::kInvalidArgument),
               "Certificate::FromPem fails with InvalidArgument");
  }

  absl::StatusOr<std::vector<mayfly::Certificate>> bundle =
      mayfly::Certificate::ParsePemBundle(text);
  if (bundle.ok()) {
    FUZZ_CHECK(!bundle->empty(), "a parsed bundle is not empty");
    for (const mayfly::Certificate& c : *bundle) {
      Exercise(c);
    }
  } else {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(bundle.status(),
                                     absl::StatusCode::kInvalidArgument),
               "ParsePemBundle fails with InvalidArgument");
  }
  return 0;
}

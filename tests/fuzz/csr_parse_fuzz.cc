// Fuzz target: CertificateRequest::FromDer / FromPem on untrusted bytes,
// then every accessor, VerifySignature and Inspect.
//
// Properties: failures are InvalidArgument (certificate.h), including a
// signature that does not verify; a request parsed from DER keeps exactly
// the input as der(); PEM and DER round-trip exactly.
// Recommended -max_len: 4096 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "mayfly/certificate.h"

namespace {

void Exercise(const mayfly::CertificateRequest& csr) {
  absl::StatusOr<mayfly::CertificateRequest> from_pem =
      mayfly::CertificateRequest::FromPem(csr.ToPem());
  FUZZ_CHECK(from_pem.ok() && from_pem->der() == csr.der(),
             "ToPem round-trips exactly");
  absl::StatusOr<mayfly::CertificateRequest> from_der =
      mayfly::CertificateRequest::FromDer(csr.der());
  FUZZ_CHECK(from_der.ok() && from_der->der() == csr.der(),
             "der() round-trips exactly");

  // Every accessor runs on every parsed request, for ASan and UBSan.
  csr.Subject();
  csr.CommonName();
  csr.Sans();
  FUZZ_CHECK(!csr.public_key().ToSpkiDer().empty(),
             "the request's key serializes");
  absl::Status signature = csr.VerifySignature();
  FUZZ_CHECK(
      signature.ok() ||
          mayfly::fuzz::IsOneOf(signature, absl::StatusCode::kInvalidArgument),
      "VerifySignature fails with InvalidArgument");
  FUZZ_CHECK(!mayfly::Inspect(csr).empty(), "Inspect is not empty");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<mayfly::CertificateRequest> csr =
      mayfly::CertificateRequest::FromDer(
          absl::Span<const uint8_t>(data, size));
  if (csr.ok()) {
    FUZZ_CHECK(csr->der() == std::vector<uint8_t>(data, data + size),
               "der() is exactly the parsed input");
    Exercise(*csr);
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(csr.status(), absl::StatusCode::kInvalidArgument),
        "CertificateRequest::FromDer fails with InvalidArgument");
  }

  csr = mayfly::CertificateRequest::FromPem(mayfly::fuzz::AsText(data, size));
  if (csr.ok()) {
    Exercise(*csr);
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(csr.status(), absl::StatusCode::kInvalidArgument),
        "CertificateRequest::FromPem fails with InvalidArgument");
  }
  return 0;
}

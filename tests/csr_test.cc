#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "cert_test_util.h"
#include "internal/bssl.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::StatusIs;
using testing::Testdata;

CertificateRequest StepCsr(const std::string& path) {
  absl::StatusOr<CertificateRequest> csr =
      CertificateRequest::FromPem(Testdata(path));
  INFO(csr.status().ToString());
  REQUIRE(csr.ok());
  return *csr;
}

PrivateKey StepKey(const std::string& path) {
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(Testdata(path));
  INFO(key.status().ToString());
  REQUIRE(key.ok());
  return *key;
}

TEST_CASE("Csr: parses and verifies step's requests", "[csr]") {
  CertificateRequest p256 = StepCsr("step/csr.pem");
  CHECK(p256.Subject() == "CN=svc.example.com");
  CHECK(p256.CommonName() == "svc.example.com");
  CHECK(p256.Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "svc.example.com"},
                                    {SanType::kIp, "10.0.0.7"}});
  CHECK(p256.public_key().type() == KeyType::kP256);
  CHECK(p256.public_key().Equals(StepKey("step/csr.key").public_key()));
  CHECK(p256.VerifySignature().ok());

  CertificateRequest ed = StepCsr("step/ed-csr.pem");
  CHECK(ed.Subject() == "CN=ed.example.com");
  CHECK(ed.Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "ed.example.com"}});
  CHECK(ed.public_key().type() == KeyType::kEd25519);
  CHECK(ed.public_key().Equals(StepKey("step/ed-csr.key").public_key()));
  CHECK(ed.VerifySignature().ok());

  CertificateRequest rsa = StepCsr("step/rsa-csr.pem");
  CHECK(rsa.CommonName() == "rsa.example.com");
  CHECK(rsa.Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "rsa.example.com"}});
  CHECK(rsa.public_key().type() == KeyType::kRsa);
  CHECK(rsa.public_key().bits() == 2048);
  CHECK(rsa.public_key().Equals(StepKey("step/rsa-csr.key").public_key()));
  CHECK(rsa.VerifySignature().ok());

  // PEM round trip keeps the DER.
  absl::StatusOr<CertificateRequest> again =
      CertificateRequest::FromPem(p256.ToPem());
  REQUIRE(again.ok());
  CHECK(again->der() == p256.der());
}

TEST_CASE("Csr: Create makes requests with every kind of SAN", "[csr]") {
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    INFO("key type " << KeyTypeName(type));
    PrivateKey key = testing::NewKey(type);
    CsrOptions options;
    options.common_name = "svc.example.com";
    options.sans = {"svc.example.com", "10.0.0.7", "2001:db8::7",
                    "ops@example.com", "spiffe://example.org/svc"};
    absl::StatusOr<CertificateRequest> csr =
        CertificateRequest::Create(key, options);
    INFO(csr.status().ToString());
    REQUIRE(csr.ok());
    CHECK(csr->Subject() == "CN=svc.example.com");
    CHECK(csr->CommonName() == "svc.example.com");
    CHECK(csr->Sans() == std::vector<SubjectAltName>{
                             {SanType::kDns, "svc.example.com"},
                             {SanType::kIp, "10.0.0.7"},
                             {SanType::kIp, "2001:db8::7"},
                             {SanType::kEmail, "ops@example.com"},
                             {SanType::kUri, "spiffe://example.org/svc"}});
    CHECK(csr->public_key().Equals(key.public_key()));
    CHECK(csr->VerifySignature().ok());
    absl::StatusOr<CertificateRequest> parsed =
        CertificateRequest::FromDer(csr->der());
    REQUIRE(parsed.ok());
    CHECK(parsed->Sans() == csr->Sans());
  }

  SECTION("no subject, no SANs") {
    absl::StatusOr<CertificateRequest> csr =
        CertificateRequest::Create(testing::NewKey(), CsrOptions{});
    REQUIRE(csr.ok());
    CHECK(csr->Subject().empty());
    CHECK(csr->CommonName().empty());
    CHECK(csr->Sans().empty());
    CHECK(csr->VerifySignature().ok());
  }
  SECTION("SANs that cannot be encoded") {
    CsrOptions options;
    options.sans = {"b\xc3\xa4r.example.com"};
    CHECK(StatusIs(
        CertificateRequest::Create(testing::NewKey(), options).status(),
        absl::StatusCode::kInvalidArgument, "printable ASCII"));
    options.sans = {""};
    CHECK(StatusIs(
        CertificateRequest::Create(testing::NewKey(), options).status(),
        absl::StatusCode::kInvalidArgument, "san is empty"));
    options.sans = {};
    options.common_name = std::string(65, 'c');
    CHECK(StatusIs(
        CertificateRequest::Create(testing::NewKey(), options).status(),
        absl::StatusCode::kInvalidArgument, "common_name"));
  }
}

TEST_CASE("Csr: a tampered request does not verify", "[csr]") {
  CertificateRequest csr = StepCsr("step/csr.pem");
  std::vector<uint8_t> der = csr.der();

  SECTION("a flipped subject byte") {
    // "svc.example.com" in the subject becomes "tvc.example.com".
    std::string text(der.begin(), der.end());
    size_t at = text.find("svc.example.com");
    REQUIRE(at != std::string::npos);
    der[at] = 't';
    absl::StatusOr<CertificateRequest> tampered =
        CertificateRequest::FromDer(der);
    REQUIRE(tampered.ok());
    CHECK(tampered->CommonName() == "tvc.example.com");
    CHECK(StatusIs(tampered->VerifySignature(),
                   absl::StatusCode::kInvalidArgument,
                   "signature does not verify"));
  }
  SECTION("a flipped signature byte") {
    der[der.size() - 5] ^= 0x01;
    absl::StatusOr<CertificateRequest> tampered =
        CertificateRequest::FromDer(der);
    REQUIRE(tampered.ok());
    CHECK(StatusIs(tampered->VerifySignature(),
                   absl::StatusCode::kInvalidArgument));
  }
  SECTION("an Ed25519 request") {
    std::vector<uint8_t> ed = StepCsr("step/ed-csr.pem").der();
    ed[ed.size() - 1] ^= 0x80;
    absl::StatusOr<CertificateRequest> tampered =
        CertificateRequest::FromDer(ed);
    REQUIRE(tampered.ok());
    CHECK(StatusIs(tampered->VerifySignature(),
                   absl::StatusCode::kInvalidArgument));
  }
}

TEST_CASE("Csr: parsing is strict", "[csr]") {
  CertificateRequest csr = StepCsr("step/csr.pem");
  std::vector<uint8_t> der = csr.der();
  const auto kInvalid = absl::StatusCode::kInvalidArgument;

  std::vector<uint8_t> garbage = {0xde, 0xad, 0xbe, 0xef};
  CHECK(StatusIs(CertificateRequest::FromDer(garbage).status(), kInvalid));
  CHECK(StatusIs(CertificateRequest::FromDer({}).status(), kInvalid));

  std::vector<uint8_t> trailing = der;
  trailing.push_back(0);
  CHECK(StatusIs(CertificateRequest::FromDer(trailing).status(), kInvalid,
                 "trailing"));

  std::vector<uint8_t> cut(der.begin(), der.end() - 1);
  CHECK(StatusIs(CertificateRequest::FromDer(cut).status(), kInvalid));

  CHECK(
      StatusIs(CertificateRequest::FromPem(Testdata("step/leaf.crt")).status(),
               kInvalid, "no CERTIFICATE REQUEST"));
  CHECK(
      StatusIs(CertificateRequest::FromPem(csr.ToPem() + csr.ToPem()).status(),
               kInvalid, "more than one"));

  // The legacy label some tools write is accepted.
  absl::StatusOr<CertificateRequest> legacy = CertificateRequest::FromPem(
      internal::EncodePem("NEW CERTIFICATE REQUEST", der));
  REQUIRE(legacy.ok());
  CHECK(legacy->der() == der);

  // A certificate is not a request, even as DER.
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::ParsePemBundle(Testdata("step/leaf.crt"));
  REQUIRE(chain.ok());
  CHECK(StatusIs(CertificateRequest::FromDer((*chain)[0].der()).status(),
                 kInvalid));
}

TEST_CASE("Csr: Inspect shows the key fields", "[csr]") {
  std::string text = Inspect(StepCsr("step/csr.pem"));
  INFO(text);
  CHECK(absl::StartsWith(text, "Certificate Request:\n"));
  CHECK(absl::StrContains(text, "Subject: CN=svc.example.com"));
  CHECK(absl::StrContains(text, "DNS:svc.example.com"));
  CHECK(absl::StrContains(text, "IP Address:10.0.0.7"));
  CHECK(absl::StrContains(text, "Curve: P-256"));
  CHECK(absl::StrContains(text, "Signature Algorithm: ecdsa-with-SHA256"));
  CHECK(absl::StrContains(text, "Signature: valid"));

  std::string rsa = Inspect(StepCsr("step/rsa-csr.pem"));
  CHECK(absl::StrContains(rsa, "Public-Key: (2048 bit)"));
  CHECK(absl::StrContains(rsa, "sha256WithRSAEncryption"));

  PrivateKey key = testing::NewKey(KeyType::kEd25519);
  CsrOptions options;
  options.common_name = "ed.example.com";
  options.sans = {"ops@example.com", "spiffe://example.org/x"};
  absl::StatusOr<CertificateRequest> made =
      CertificateRequest::Create(key, options);
  REQUIRE(made.ok());
  std::string ed = Inspect(*made);
  CHECK(absl::StrContains(ed, "email:ops@example.com"));
  CHECK(absl::StrContains(ed, "URI:spiffe://example.org/x"));
  CHECK(absl::StrContains(ed, "Public Key Algorithm: Ed25519"));
}

}  // namespace
}  // namespace mayfly

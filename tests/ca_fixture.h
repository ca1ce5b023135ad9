// A certificate authority for tests: root, intermediate and one JWK
// provisioner made in memory, an Authority over the memory store, a
// FakeClock, and helpers to mint tokens and issue certificates. Header-only
// (inline) so the fixed test source list needs no new file.

#ifndef MAYFLY_TESTS_CA_FIXTURE_H_
#define MAYFLY_TESTS_CA_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"
#include "mayfly/token.h"

namespace mayfly {
namespace testing {

// FixtureStart is 2026-11-25T00:45:00Z, when tests/testdata/step was made.
inline absl::Time FixtureStart() { return absl::FromUnixSeconds(1795567500); }

inline constexpr char kFixtureCaUrl[] = "https://localhost:9000";
inline constexpr char kFixturePassword[] = "fixture-password";

// Unwrap returns the value of `s`, failing the test (with the status) if
// there is none.
template <typename T>
T Unwrap(absl::StatusOr<T> s) {
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return *std::move(s);
}

// CaCerts is a two-level PKI made in memory, shaped like InitPki's.
struct CaCerts {
  PrivateKey root_key;
  PrivateKey intermediate_key;
  Certificate root;
  Certificate intermediate;
};

inline std::vector<uint8_t> FixtureSerial(uint8_t tag) {
  return {0x4d, 0x61, 0x79, 0x66, 0x6c, 0x79, tag};
}

inline CaCerts MakeCaCerts(absl::Time now, const std::string& name = "Test") {
  PrivateKey root_key = Unwrap(PrivateKey::Generate());
  PrivateKey int_key = Unwrap(PrivateKey::Generate());
  CertificateTemplate root_tmpl;
  root_tmpl.serial = FixtureSerial(1);
  root_tmpl.common_name = name + " Root CA";
  root_tmpl.organization = name;
  root_tmpl.not_before = now - absl::Hours(1);
  root_tmpl.not_after = now + absl::Hours(87600);
  root_tmpl.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  root_tmpl.basic = BasicConstraints{true, 1};
  Certificate root = Unwrap(
      IssueCertificate(root_tmpl, root_key.public_key(), root_key, nullptr));
  CertificateTemplate int_tmpl = root_tmpl;
  int_tmpl.serial = FixtureSerial(2);
  int_tmpl.common_name = name + " Intermediate CA";
  int_tmpl.basic = BasicConstraints{true, 0};
  Certificate intermediate =
      Unwrap(IssueCertificate(int_tmpl, int_key.public_key(), root_key, &root));
  return CaCerts{root_key, int_key, root, intermediate};
}

// MakeProvisioner makes a JWK provisioner for `key` whose encrypted key
// uses few PBKDF2 iterations, to keep tests fast.
inline Provisioner MakeProvisioner(const std::string& name,
                                   const PrivateKey& key,
                                   const Claims& claims = {}) {
  return Unwrap(
      Provisioner::FromPrivateKey(name, key, kFixturePassword, claims, 1000));
}

struct TestCaOptions {
  absl::Time start = FixtureStart();
  Claims provisioner_claims;
  Claims authority_claims;
  std::vector<std::string> dns_names = {"localhost", "ca.internal"};
  std::string name = "Test";
};

// Issued is a certificate with its private key.
struct Issued {
  IssuedCertificate cert;
  PrivateKey key;
  const Certificate& leaf() const { return cert.leaf; }
  std::string serial() const { return cert.leaf.SerialDecimal(); }
};

// TestCa is an Authority with one provisioner, "admin", and a signer for
// it. Tokens are minted at the clock's time, so mint them after any clock
// change they should see.
class TestCa {
 public:
  explicit TestCa(TestCaOptions options = {})
      : clock(options.start),
        certs(MakeCaCerts(options.start, options.name)),
        provisioner_key(Unwrap(PrivateKey::Generate())),
        provisioner(MakeProvisioner("admin", provisioner_key,
                                    options.provisioner_claims)),
        signer(provisioner_key, provisioner.kid, provisioner.name, clock) {
    AuthorityParts parts{
        {certs.root}, certs.intermediate, certs.intermediate_key, {}};
    parts.config.dns_names = options.dns_names;
    parts.config.provisioners = {provisioner};
    parts.config.claims = options.authority_claims;
    parts.config.crl.enabled = true;
    ca = Unwrap(Authority::FromParts(parts, NewMemoryStore(), clock));
  }

  // SignToken mints a sign token for `subject` with `sans` (default
  // {subject}).
  std::string SignToken(const std::string& subject,
                        std::vector<std::string> sans = {},
                        absl::Duration lifetime = absl::Minutes(5)) const {
    TokenRequest req;
    req.subject = subject;
    req.audience = Unwrap(SignAudience(kFixtureCaUrl));
    req.sans = std::move(sans);
    req.root_fingerprint = certs.root.FingerprintHex();
    req.lifetime = lifetime;
    return Unwrap(signer.Sign(req));
  }

  // RevokeToken mints a revoke token for `serial`.
  std::string RevokeToken(const std::string& serial) const {
    TokenRequest req;
    req.subject = serial;
    req.audience = Unwrap(RevokeAudience(kFixtureCaUrl));
    req.root_fingerprint = certs.root.FingerprintHex();
    req.revoke = true;
    return Unwrap(signer.Sign(req));
  }

  // Csr makes a request for `key` with `cn` and `sans`.
  static CertificateRequest Csr(const PrivateKey& key, const std::string& cn,
                                std::vector<std::string> sans) {
    CsrOptions o;
    o.common_name = cn;
    o.sans = std::move(sans);
    return Unwrap(CertificateRequest::Create(key, o));
  }

  // Issue signs a fresh key for `subject` (SANs default to {subject}).
  Issued Issue(const std::string& subject, std::vector<std::string> sans = {},
               KeyType type = KeyType::kP256,
               const SignOptions& sign_options = {}) {
    PrivateKey key = Unwrap(PrivateKey::Generate(type));
    std::vector<std::string> names =
        sans.empty() ? std::vector<std::string>{subject} : sans;
    CertificateRequest csr = Csr(key, subject, names);
    std::string ott = SignToken(subject, sans);
    IssuedCertificate cert = Unwrap(ca->Sign(csr, ott, sign_options));
    return Issued{cert, key};
  }

  StoreCounts Counts() { return Unwrap(ca->store().Counts()); }

  // Revoke revokes `serial` with a revoke token (reason `code`).
  absl::Status Revoke(const std::string& serial, int code = 0) {
    RevokeRequest req;
    req.serial = serial;
    req.reason_code = code;
    req.ott = RevokeToken(serial);
    return ca->Revoke(req);
  }

  FakeClock clock;
  CaCerts certs;
  PrivateKey provisioner_key;
  Provisioner provisioner;
  TokenSigner signer;
  std::unique_ptr<Authority> ca;
};

}  // namespace testing
}  // namespace mayfly

#endif  // MAYFLY_TESTS_CA_FIXTURE_H_

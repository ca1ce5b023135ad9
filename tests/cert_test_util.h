// Helpers shared by the certificate, CSR and interop tests: a small PKI
// (root -> intermediate -> leaf) built with IssueCertificate.

#ifndef MAYFLY_TESTS_CERT_TEST_UTIL_H_
#define MAYFLY_TESTS_CERT_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "mayfly/certificate.h"
#include "mayfly/key.h"

namespace mayfly {
namespace testing {

// TestSerial returns a 16-byte serial that starts with `first`.
inline std::vector<uint8_t> TestSerial(uint8_t first) {
  std::vector<uint8_t> serial(16, 0x5a);
  serial[0] = first;
  return serial;
}

inline PrivateKey NewKey(KeyType type = KeyType::kP256) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate(type);
  REQUIRE(key.ok());
  return *key;
}

inline CertificateTemplate CaTemplate(const std::string& cn, int path_len,
                                      absl::Time now) {
  CertificateTemplate t;
  t.serial = TestSerial(0x11);
  t.common_name = cn;
  t.organization = "Mayfly Test";
  t.not_before = now - absl::Hours(1);
  t.not_after = now + absl::Hours(24 * 365);
  t.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  t.basic = BasicConstraints{true, path_len};
  return t;
}

inline CertificateTemplate LeafTemplate(const std::string& cn, absl::Time now) {
  CertificateTemplate t;
  t.serial = TestSerial(0x22);
  t.common_name = cn;
  t.sans = {ClassifySan(cn), ClassifySan("10.0.0.7"),
            ClassifySan("2001:db8::1"), ClassifySan("ops@example.com"),
            ClassifySan("spiffe://example.org/svc")};
  t.not_before = now - absl::Minutes(1);
  t.not_after = now + absl::Hours(24);
  t.key_usage = kKeyUsageDigitalSignature;
  t.ext_key_usage = {kOidServerAuth, kOidClientAuth};
  return t;
}

// TestPki is a root, an intermediate and a leaf, each with its key.
struct TestPki {
  PrivateKey root_key, inter_key, leaf_key;
  Certificate root, inter, leaf;
};

inline Certificate Issue(const CertificateTemplate& t, const PublicKey& subject,
                         const PrivateKey& issuer_key,
                         const Certificate* issuer) {
  absl::StatusOr<Certificate> cert =
      IssueCertificate(t, subject, issuer_key, issuer);
  INFO(cert.status().ToString());
  REQUIRE(cert.ok());
  return *cert;
}

// MakePki builds root (pathlen 1) -> intermediate (pathlen 0) -> leaf for
// "svc.example.com", valid around `now`.
inline TestPki MakePki(absl::Time now, KeyType root_type = KeyType::kP256,
                       KeyType inter_type = KeyType::kP256,
                       KeyType leaf_type = KeyType::kP256) {
  PrivateKey root_key = NewKey(root_type);
  PrivateKey inter_key = NewKey(inter_type);
  PrivateKey leaf_key = NewKey(leaf_type);
  Certificate root = Issue(CaTemplate("Mayfly Test Root CA", 1, now),
                           root_key.public_key(), root_key, nullptr);
  CertificateTemplate it = CaTemplate("Mayfly Test Intermediate CA", 0, now);
  it.serial = TestSerial(0x33);
  Certificate inter = Issue(it, inter_key.public_key(), root_key, &root);
  Certificate leaf = Issue(LeafTemplate("svc.example.com", now),
                           leaf_key.public_key(), inter_key, &inter);
  return TestPki{root_key, inter_key, leaf_key, root, inter, leaf};
}

}  // namespace testing
}  // namespace mayfly

#endif  // MAYFLY_TESTS_CERT_TEST_UTIL_H_

// Authority: the seed walkthrough in-process, Sign's checks (token abuse,
// names, durations), independent verification of what it issues, and
// concurrency with revocations.

#include "mayfly/authority.h"

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/x509.h"
#include "mayfly/config.h"
#include "mayfly/token.h"
#include "openssl/bn.h"
#include "openssl/bytestring.h"
#include "openssl/digest.h"
#include "openssl/ecdsa.h"
#include "openssl/hmac.h"
#include "openssl/mem.h"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::Base64UrlDecode;
using internal::Base64UrlEncode;
using internal::Bytes;
using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

// SignEs256 signs `header` "." `payload` (JSON texts) as a compact JWS with
// a P-256 key, whatever the header says: for tokens SignJws refuses to
// make.
std::string SignEs256(const PrivateKey& key, absl::string_view header,
                      absl::string_view payload) {
  std::string input =
      absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  std::vector<uint8_t> der = Unwrap(key.Sign(Bytes(input)));
  bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_from_bytes(der.data(), der.size()));
  REQUIRE(sig != nullptr);
  uint8_t raw[64];
  REQUIRE(BN_bn2bin_padded(raw, 32, sig->r));
  REQUIRE(BN_bn2bin_padded(raw + 32, 32, sig->s));
  return absl::StrCat(input, ".",
                      Base64UrlEncode(absl::Span<const uint8_t>(raw, 64)));
}

// Parts splits a compact JWS and decodes its header and payload.
struct Parts {
  std::string header;
  std::string payload;
  std::string signature_b64;
};

Parts Split(absl::string_view token) {
  std::vector<std::string> p = absl::StrSplit(token, '.');
  REQUIRE(p.size() == 3);
  return Parts{Unwrap(Base64UrlDecode(p[0], "header")),
               Unwrap(Base64UrlDecode(p[1], "payload")), p[2]};
}

// FlipChar changes one character in the middle of `s` to another base64url
// character (keeping the encoding canonical).
std::string FlipChar(std::string s, size_t pos) {
  s[pos] = s[pos] == 'A' ? 'B' : 'A';
  return s;
}

// ExpectRefused runs `attempt`, checks its code and message, and that the
// store did not change.
void ExpectRefused(TestCa& t, absl::StatusCode code,
                   const std::function<absl::Status()>& attempt,
                   absl::string_view fragment = {}) {
  StoreCounts before = t.Counts();
  absl::Status st = attempt();
  CHECK(StatusIs(st, code, fragment));
  CHECK(t.Counts() == before);
}

std::vector<std::string> Names(const Certificate& c) {
  std::vector<std::string> out;
  for (const SubjectAltName& s : c.Sans()) {
    out.push_back(s.value);
  }
  return out;
}

TEST_CASE("Authority: seed walkthrough, init to passive revocation",
          "[authority]") {
  testing::TempDir dir;
  FakeClock clock(testing::FixtureStart());
  InitOptions init;
  init.dir = absl::StrCat(dir.path(), "/ca");
  init.name = "Seed";
  init.dns_names = {"localhost"};
  init.password = "ca-password";
  init.provisioner_p2c = 1000;
  InitResult pki = Unwrap(InitPki(init, clock));
  CaConfig config = Unwrap(LoadConfig(pki.config_path));
  std::unique_ptr<Authority> ca =
      Unwrap(Authority::Create(config, "ca-password", nullptr, clock));

  // `step ca token`: the provisioner key comes from its JWE.
  REQUIRE(ca->Provisioners().size() == 1);
  Provisioner prov = ca->Provisioners()[0];
  CHECK(prov.kid == pki.provisioner_kid);
  PrivateKey prov_key = Unwrap(prov.DecryptKey("ca-password"));
  TokenSigner signer(prov_key, prov.kid, prov.name, clock);
  TokenRequest req;
  req.subject = "svc.example.com";
  req.sans = {"svc.example.com", "10.0.0.7"};
  req.audience = Unwrap(SignAudience("https://localhost:9000"));
  req.root_fingerprint = pki.root_fingerprint;
  std::string ott = Unwrap(signer.Sign(req));

  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr =
      TestCa::Csr(key, "svc.example.com", {"svc.example.com", "10.0.0.7"});
  IssuedCertificate cert = Unwrap(ca->Sign(csr, ott, {}));
  absl::Time now = clock.Now();

  const Certificate& leaf = cert.leaf;
  CHECK(leaf.NotBefore() == now - absl::Minutes(1));
  CHECK(leaf.NotAfter() - leaf.NotBefore() ==
        absl::Hours(24) + absl::Minutes(1));
  CHECK(leaf.Subject() == "CN=svc.example.com");
  CHECK(leaf.Issuer() == "CN=Seed Intermediate CA,O=Seed");
  REQUIRE(leaf.Sans().size() == 2);
  CHECK(leaf.Sans()[0] == SubjectAltName{SanType::kDns, "svc.example.com"});
  CHECK(leaf.Sans()[1] == SubjectAltName{SanType::kIp, "10.0.0.7"});
  CHECK(leaf.ExtKeyUsage() ==
        std::vector<std::string>{kOidServerAuth, kOidClientAuth});
  CHECK(leaf.KeyUsage() == kKeyUsageDigitalSignature);
  CHECK_FALSE(leaf.Basic().has_value());
  CHECK(leaf.Serial().size() <= 17);
  CHECK(leaf.public_key().Equals(key.public_key()));
  CHECK(leaf.AuthorityKeyId() == ca->intermediate().SubjectKeyId());
  std::optional<Extension> ext = leaf.FindExtension(kOidStepProvisioner);
  REQUIRE(ext.has_value());
  CHECK_FALSE(ext->critical);
  internal::StepProvisioner sp =
      Unwrap(internal::ParseStepProvisioner(ext->value));
  CHECK(sp.type == 1);
  CHECK(sp.name == "admin");
  CHECK(sp.credential_id == prov.kid);
  REQUIRE(cert.chain.size() == 2);
  CHECK(cert.chain[0].Equals(leaf));
  CHECK(cert.chain[1].Equals(ca->intermediate()));
  VerifyOptions server;
  server.purpose = kOidServerAuth;
  CHECK(VerifyChain(leaf, {cert.chain[1]}, ca->roots(), now, server).ok());
  CertificateRecord record =
      Unwrap(ca->store().GetCertificate(leaf.SerialDecimal()));
  CHECK(record.renewed_from.empty());
  CHECK(record.subject == "svc.example.com");
  CHECK(record.provisioner == "admin");
  CHECK(record.not_after == leaf.NotAfter());

  // Renewal at two thirds of the lifetime.
  clock.Advance(absl::Hours(16));
  IssuedCertificate renewed = Unwrap(ca->Renew(cert.chain));
  CHECK(renewed.leaf.SerialDecimal() != leaf.SerialDecimal());
  CHECK(renewed.leaf.NotBefore() == clock.Now() - absl::Minutes(1));
  CHECK(renewed.leaf.NotAfter() - renewed.leaf.NotBefore() ==
        absl::Hours(24) + absl::Minutes(1));
  CHECK(Names(renewed.leaf) == Names(leaf));
  CHECK(Unwrap(ca->store().GetCertificate(renewed.leaf.SerialDecimal()))
            .renewed_from == leaf.SerialDecimal());

  // Passive revocation of the current certificate with a revoke token.
  TokenRequest rev;
  rev.subject = renewed.leaf.SerialDecimal();
  rev.audience = Unwrap(RevokeAudience("https://localhost:9000"));
  rev.root_fingerprint = pki.root_fingerprint;
  rev.revoke = true;
  RevokeRequest revoke;
  revoke.serial = renewed.leaf.SerialDecimal();
  revoke.reason = "decommissioned";
  revoke.ott = Unwrap(signer.Sign(rev));
  REQUIRE(ca->Revoke(revoke).ok());

  // Nothing renews it any more; it expires.
  clock.Advance(absl::Hours(1));
  CHECK(StatusIs(ca->Renew(renewed.chain).status(),
                 absl::StatusCode::kUnauthenticated, "revoked"));
  clock.Advance(absl::Hours(24));
  CHECK(StatusIs(ca->Renew(renewed.chain).status(),
                 absl::StatusCode::kUnauthenticated));
}

TEST_CASE("Authority: Sign issues step's default leaf profile", "[authority]") {
  TestCa t;
  SECTION("rsa keys get keyEncipherment; key types") {
    Issued ed = t.Issue("ed.example.com", {}, KeyType::kEd25519);
    CHECK(ed.leaf().KeyUsage() == kKeyUsageDigitalSignature);
    Issued p384 = t.Issue("p384.example.com", {}, KeyType::kP384);
    CHECK(p384.leaf().public_key().type() == KeyType::kP384);
    CertificateRequest rsa = Unwrap(
        CertificateRequest::FromPem(testing::Testdata("step/rsa-csr.pem")));
    std::string cn = rsa.CommonName();
    std::vector<std::string> sans;
    for (const SubjectAltName& s : rsa.Sans()) {
      sans.push_back(s.value);
    }
    IssuedCertificate c = Unwrap(t.ca->Sign(rsa, t.SignToken(cn, sans), {}));
    CHECK(c.leaf.KeyUsage() ==
          (kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment));
  }
  SECTION("the subject is the token subject, not the csr's") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    // CN empty in the CSR: allowed, the certificate still gets sub.
    CertificateRequest csr = TestCa::Csr(key, "", {"a.example.com"});
    IssuedCertificate c = Unwrap(
        t.ca->Sign(csr, t.SignToken("a.example.com", {"a.example.com"}), {}));
    CHECK(c.leaf.CommonName() == "a.example.com");
  }
  SECTION("csr cn may be one of the token sans") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    CertificateRequest csr =
        TestCa::Csr(key, "b.example.com", {"a.example.com", "b.example.com"});
    IssuedCertificate c = Unwrap(t.ca->Sign(
        csr, t.SignToken("a.example.com", {"a.example.com", "b.example.com"}),
        {}));
    CHECK(c.leaf.CommonName() == "a.example.com");
  }
  SECTION("san types absent from the csr are not compared") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    CertificateRequest csr = TestCa::Csr(key, "svc", {"svc.example.com"});
    IssuedCertificate c =
        Unwrap(t.ca->Sign(csr,
                          t.SignToken("svc", {"svc.example.com", "10.1.2.3",
                                              "spiffe://example.com/svc"}),
                          {}));
    CHECK(c.leaf.Sans().size() == 3);
    CHECK(c.leaf.Sans()[2].type == SanType::kUri);
  }
  SECTION("explicit validity within bounds; no backdate") {
    SignOptions o;
    o.not_before =
        absl::FormatTime(absl::RFC3339_sec, t.clock.Now() + absl::Minutes(10),
                         absl::UTCTimeZone());
    o.not_after = "1h";
    Issued c = t.Issue("c.example.com", {}, KeyType::kP256, o);
    CHECK(c.leaf().NotBefore() == t.clock.Now() + absl::Minutes(10));
    CHECK(c.leaf().NotAfter() == t.clock.Now() + absl::Minutes(70));
    SignOptions rel;
    rel.not_after = "2h";
    Issued d = t.Issue("d.example.com", {}, KeyType::kP256, rel);
    CHECK(d.leaf().NotBefore() == t.clock.Now() - absl::Minutes(1));
    CHECK(d.leaf().NotAfter() == t.clock.Now() + absl::Hours(2));
    // The maximum is max + backdate, as step-ca allows.
    SignOptions max;
    max.not_after = "24h";
    CHECK(t.Issue("e.example.com", {}, KeyType::kP256, max).leaf().NotAfter() ==
          t.clock.Now() + absl::Hours(24));
  }
  SECTION("serials are distinct, positive and at most 128 bits") {
    std::set<std::string> serials;
    for (int i = 0; i < 20; i++) {
      Issued c = t.Issue("s.example.com");
      std::vector<uint8_t> s = c.leaf().Serial();
      CHECK(s.size() <= 16);
      CHECK(s[0] != 0);
      serials.insert(c.serial());
    }
    CHECK(serials.size() == 20);
  }
}

// Tbs returns the TBSCertificate of a DER certificate.
std::vector<uint8_t> Tbs(const Certificate& c) {
  CBS in, cert, tbs;
  CBS_init(&in, c.der().data(), c.der().size());
  REQUIRE(CBS_get_asn1(&in, &cert, CBS_ASN1_SEQUENCE));
  REQUIRE(CBS_get_asn1_element(&cert, &tbs, CBS_ASN1_SEQUENCE));
  return std::vector<uint8_t>(CBS_data(&tbs), CBS_data(&tbs) + CBS_len(&tbs));
}

// Sign builds leaves on a fast path of its own; they must be exactly what
// IssueCertificate makes of the same template.
TEST_CASE("Authority: Sign's leaves are IssueCertificate's, byte for byte",
          "[authority]") {
  TestCa t;
  std::vector<IssuedCertificate> issued;
  for (int i = 0; i < 8; i++) {
    issued.push_back(t.Issue("svc.example.com",
                             {"svc.example.com", "10.0.0.7", "2001:db8::1",
                              "ops@example.com", "spiffe://example.com/svc"})
                         .cert);
  }
  issued.push_back(t.Issue("ed.example.com", {}, KeyType::kEd25519).cert);
  issued.push_back(t.Issue("p384.example.com", {}, KeyType::kP384).cert);
  CertificateRequest rsa = Unwrap(
      CertificateRequest::FromPem(testing::Testdata("step/rsa-csr.pem")));
  std::vector<std::string> rsa_sans;
  for (const SubjectAltName& s : rsa.Sans()) {
    rsa_sans.push_back(s.value);
  }
  issued.push_back(
      Unwrap(t.ca->Sign(rsa, t.SignToken(rsa.CommonName(), rsa_sans), {})));
  for (const IssuedCertificate& c : issued) {
    const Certificate& leaf = c.leaf;
    CertificateTemplate tmpl;
    tmpl.serial = leaf.Serial();
    tmpl.common_name = leaf.CommonName();
    tmpl.sans = leaf.Sans();
    tmpl.not_before = leaf.NotBefore();
    tmpl.not_after = leaf.NotAfter();
    tmpl.key_usage = *leaf.KeyUsage();
    tmpl.ext_key_usage = leaf.ExtKeyUsage();
    tmpl.extra_extensions.push_back(*leaf.FindExtension(kOidStepProvisioner));
    Certificate reference = Unwrap(IssueCertificate(tmpl, leaf.public_key(),
                                                    t.certs.intermediate_key,
                                                    &t.certs.intermediate));
    INFO(Inspect(leaf));
    CHECK(Tbs(leaf) == Tbs(reference));
  }
}

TEST_CASE("Authority: token abuse is refused and changes nothing",
          "[authority]") {
  TestCa t;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr =
      TestCa::Csr(key, "svc.example.com", {"svc.example.com"});
  auto sign = [&](const std::string& ott) {
    return [&t, &csr, ott]() { return t.ca->Sign(csr, ott, {}).status(); };
  };
  const auto kUnauth = absl::StatusCode::kUnauthenticated;

  SECTION("replay") {
    std::string ott = t.SignToken("svc.example.com");
    REQUIRE(t.ca->Sign(csr, ott, {}).ok());
    ExpectRefused(t, kUnauth, sign(ott), "token already used");
  }
  SECTION("wrong audience") {
    TokenRequest req;
    req.subject = "svc.example.com";
    req.audience = Unwrap(SignAudience("https://other.example.com:9000"));
    ExpectRefused(t, kUnauth, sign(Unwrap(t.signer.Sign(req))));
    req.audience = Unwrap(RevokeAudience(testing::kFixtureCaUrl));
    ExpectRefused(t, kUnauth, sign(Unwrap(t.signer.Sign(req))));
  }
  SECTION("expired") {
    std::string ott = t.SignToken("svc.example.com");
    t.clock.Advance(absl::Minutes(5) + absl::Seconds(61));
    ExpectRefused(t, kUnauth, sign(ott));
  }
  SECTION("not yet valid") {
    FakeClock future(t.clock.Now() + absl::Minutes(10));
    TokenSigner s(t.provisioner_key, t.provisioner.kid, "admin", future);
    TokenRequest req;
    req.subject = "svc.example.com";
    req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
    ExpectRefused(t, kUnauth, sign(Unwrap(s.Sign(req))));
  }
  SECTION("signed by another key") {
    PrivateKey other = Unwrap(PrivateKey::Generate());
    TokenSigner s(other, t.provisioner.kid, "admin", t.clock);
    TokenRequest req;
    req.subject = "svc.example.com";
    req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
    ExpectRefused(t, kUnauth, sign(Unwrap(s.Sign(req))));
  }
  SECTION("kid of another provisioner") {
    PrivateKey other_key = Unwrap(PrivateKey::Generate());
    Provisioner other = testing::MakeProvisioner("other", other_key);
    REQUIRE(t.ca->AddProvisioner(other).ok());
    TokenRequest req;
    req.subject = "svc.example.com";
    req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
    // admin's key and name, other's kid.
    TokenSigner s1(t.provisioner_key, other.kid, "admin", t.clock);
    ExpectRefused(t, kUnauth, sign(Unwrap(s1.Sign(req))));
    // admin's key, other's kid and name.
    TokenSigner s2(t.provisioner_key, other.kid, "other", t.clock);
    ExpectRefused(t, kUnauth, sign(Unwrap(s2.Sign(req))));
  }
  SECTION("alg none, HS256, alg-key mismatch, unknown crit") {
    Parts real = Split(t.SignToken("svc.example.com"));
    std::string kid = t.provisioner.kid;
    std::string none =
        absl::StrCat(Base64UrlEncode(absl::StrCat(R"({"alg":"none","kid":")",
                                                  kid, R"(","typ":"JWT"})")),
                     ".", Base64UrlEncode(real.payload), ".");
    ExpectRefused(t, kUnauth, sign(none));
    // HS256 keyed with the public JWK, the classic confusion attack.
    std::string input =
        absl::StrCat(Base64UrlEncode(absl::StrCat(R"({"alg":"HS256","kid":")",
                                                  kid, R"(","typ":"JWT"})")),
                     ".", Base64UrlEncode(real.payload));
    std::string hmac_key = t.provisioner.key.ToJwk();
    uint8_t mac[32];
    unsigned mac_len = 0;
    REQUIRE(HMAC(EVP_sha256(), hmac_key.data(), hmac_key.size(),
                 reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                 mac, &mac_len) != nullptr);
    ExpectRefused(
        t, kUnauth,
        sign(absl::StrCat(
            input, ".", Base64UrlEncode(absl::Span<const uint8_t>(mac, 32)))));
    // ES384 header on a P-256 signature.
    ExpectRefused(t, kUnauth,
                  sign(SignEs256(t.provisioner_key,
                                 absl::StrCat(R"({"alg":"ES384","kid":")", kid,
                                              R"(","typ":"JWT"})"),
                                 real.payload)));
    // A correctly signed token with a critical extension mayfly cannot
    // understand.
    ExpectRefused(
        t, kUnauth,
        sign(SignEs256(t.provisioner_key,
                       absl::StrCat(R"({"alg":"ES256","crit":["exp"],"kid":")",
                                    kid, R"(","typ":"JWT"})"),
                       real.payload)));
  }
  SECTION("tampered claims") {
    std::string ott = t.SignToken("svc.example.com");
    std::vector<std::string> p = absl::StrSplit(ott, '.');
    std::string payload = Unwrap(Base64UrlDecode(p[1], "payload"));
    std::string tampered =
        absl::StrReplaceAll(payload, {{"svc.example.com", "evil.example.com"}});
    REQUIRE(tampered != payload);
    PrivateKey evil_key = Unwrap(PrivateKey::Generate());
    CertificateRequest evil =
        TestCa::Csr(evil_key, "evil.example.com", {"evil.example.com"});
    std::string forged =
        absl::StrCat(p[0], ".", Base64UrlEncode(tampered), ".", p[2]);
    ExpectRefused(t, kUnauth,
                  [&]() { return t.ca->Sign(evil, forged, {}).status(); });
    // The untouched token still works.
    CHECK(t.ca->Sign(csr, ott, {}).ok());
  }
  SECTION("san mismatch with the csr") {
    std::string ott = t.SignToken("svc.example.com");
    PrivateKey k = Unwrap(PrivateKey::Generate());
    auto with_csr = [&](std::string cn, std::vector<std::string> sans) {
      CertificateRequest c = TestCa::Csr(k, cn, std::move(sans));
      return [&t, c, &ott]() { return t.ca->Sign(c, ott, {}).status(); };
    };
    const auto kDenied = absl::StatusCode::kPermissionDenied;
    ExpectRefused(t, kDenied,
                  with_csr("svc.example.com", {"other.example.com"}),
                  "dns names");
    ExpectRefused(
        t, kDenied,
        with_csr("svc.example.com", {"svc.example.com", "extra.example.com"}));
    ExpectRefused(t, kDenied, with_csr("other.example.com", {}), "common name");
    ExpectRefused(t, kDenied,
                  with_csr("svc.example.com", {"svc.example.com", "10.0.0.1"}),
                  "ip names");
    ExpectRefused(
        t, kDenied,
        with_csr("svc.example.com", {"svc.example.com", "ops@example.com"}));
    // None of this burnt the token.
    CHECK(t.ca->Sign(csr, ott, {}).ok());
  }
  SECTION("oversized") {
    Parts real = Split(t.SignToken("svc.example.com"));
    std::string payload = real.payload;
    payload.insert(payload.size() - 1,
                   absl::StrCat(R"(,"user":{"pad":")",
                                std::string(20 * 1024, 'x'), R"("})"));
    ExpectRefused(t, kUnauth,
                  sign(SignEs256(t.provisioner_key, real.header, payload)));
  }
  SECTION("a bad signature does not burn the jti") {
    std::string ott = t.SignToken("svc.example.com");
    size_t sig_start = ott.rfind('.') + 1;
    std::string bad = FlipChar(ott, sig_start + 10);
    ExpectRefused(t, kUnauth, sign(bad));
    CHECK(t.ca->Sign(csr, ott, {}).ok());
  }
  SECTION("malformed requests") {
    ExpectRefused(t, absl::StatusCode::kInvalidArgument, sign(""),
                  "missing ott");
    ExpectRefused(t, kUnauth, sign("not.a.token"));
    // A CSR whose signature does not verify.
    std::vector<uint8_t> der = csr.der();
    der[der.size() - 5] ^= 1;
    absl::StatusOr<CertificateRequest> broken =
        CertificateRequest::FromDer(der);
    if (broken.ok()) {
      std::string ott = t.SignToken("svc.example.com");
      ExpectRefused(
          t, absl::StatusCode::kInvalidArgument,
          [&]() { return t.ca->Sign(*broken, ott, {}).status(); },
          "invalid csr");
    }
  }
  SECTION("names the certificate cannot carry do not burn the token") {
    // A CN over RFC 5280's 64 characters, and a DNS name with a space: both
    // refused when the certificate is encoded, before the token is used.
    std::string long_cn(65, 'a');
    PrivateKey k = Unwrap(PrivateKey::Generate());
    CertificateRequest no_names = TestCa::Csr(k, "", {});
    std::string ott = t.SignToken(long_cn, {"svc.example.com"});
    ExpectRefused(
        t, absl::StatusCode::kInvalidArgument,
        [&]() { return t.ca->Sign(no_names, ott, {}).status(); },
        "common_name");
    std::string bad = t.SignToken("svc.example.com", {"bad name.example"});
    ExpectRefused(t, absl::StatusCode::kInvalidArgument,
                  [&]() { return t.ca->Sign(no_names, bad, {}).status(); });
  }
  SECTION("a removed provisioner's tokens stop working") {
    std::string ott = t.SignToken("svc.example.com");
    REQUIRE(t.ca->RemoveProvisioner("admin").ok());
    ExpectRefused(t, kUnauth, sign(ott));
    REQUIRE(t.ca->AddProvisioner(t.provisioner).ok());
    CHECK(t.ca->Sign(csr, ott, {}).ok());
  }
}

TEST_CASE("Authority: durations outside the claims are refused",
          "[authority]") {
  TestCa t;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr =
      TestCa::Csr(key, "svc.example.com", {"svc.example.com"});
  std::string ott = t.SignToken("svc.example.com");
  auto with = [&](std::string nb, std::string na) {
    SignOptions o{std::move(nb), std::move(na)};
    return [&t, &csr, &ott, o]() { return t.ca->Sign(csr, ott, o).status(); };
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  auto at = [&](absl::Duration d) {
    return absl::FormatTime(absl::RFC3339_sec, t.clock.Now() + d,
                            absl::UTCTimeZone());
  };
  ExpectRefused(t, kInvalid, with("", "1m"), "minimum");
  ExpectRefused(t, kInvalid, with("", "48h"), "maximum");
  ExpectRefused(t, kInvalid, with("", "24h2m"), "maximum");
  ExpectRefused(t, kInvalid, with(at(absl::Hours(2)), at(absl::Hours(1))),
                "before not_before");
  ExpectRefused(t, kInvalid, with("", at(-absl::Hours(1))));
  ExpectRefused(t, kInvalid, with("", "-5m"));
  ExpectRefused(t, kInvalid, with("tomorrow", ""), "not_before");
  ExpectRefused(t, kInvalid, with("", "soon"), "not_after");
  // The token survived every refusal.
  CHECK(t.ca->Sign(csr, ott, {}).ok());
}

TEST_CASE("Authority: provisioner claims bound durations", "[authority]") {
  TestCaOptions o;
  o.provisioner_claims.min_tls_duration = absl::Minutes(1);
  o.provisioner_claims.max_tls_duration = absl::Hours(2);
  o.provisioner_claims.default_tls_duration = absl::Hours(1);
  TestCa t(o);
  Issued c = t.Issue("svc.example.com");
  CHECK(c.leaf().NotAfter() - c.leaf().NotBefore() ==
        absl::Hours(1) + absl::Minutes(1));
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr = TestCa::Csr(key, "x", {"x"});
  ExpectRefused(
      t, absl::StatusCode::kInvalidArgument,
      [&]() {
        return t.ca->Sign(csr, t.SignToken("x"), {"", "3h"}).status();
      },
      "maximum");
}

TEST_CASE("Authority: provisioners change at run time", "[authority]") {
  TestCa t;
  PrivateKey k2 = Unwrap(PrivateKey::Generate());
  Provisioner p2 = testing::MakeProvisioner("ci", k2);
  CHECK(t.ca->AddProvisioner(p2).ok());
  CHECK(StatusIs(t.ca->AddProvisioner(p2), absl::StatusCode::kAlreadyExists));
  Provisioner same_kid = t.provisioner;
  same_kid.name = "renamed";
  CHECK(StatusIs(t.ca->AddProvisioner(same_kid),
                 absl::StatusCode::kAlreadyExists, "kid"));
  Provisioner bad =
      testing::MakeProvisioner("bad", Unwrap(PrivateKey::Generate()));
  bad.claims.min_tls_duration = absl::Hours(48);
  CHECK(
      StatusIs(t.ca->AddProvisioner(bad), absl::StatusCode::kInvalidArgument));
  CHECK(t.ca->Provisioners().size() == 2);

  TokenSigner s(k2, p2.kid, "ci", t.clock);
  TokenRequest req;
  req.subject = "ci.example.com";
  req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
  PrivateKey key = Unwrap(PrivateKey::Generate());
  IssuedCertificate c =
      Unwrap(t.ca->Sign(TestCa::Csr(key, "ci.example.com", {"ci.example.com"}),
                        Unwrap(s.Sign(req)), {}));
  internal::StepProvisioner sp = Unwrap(internal::ParseStepProvisioner(
      c.leaf.FindExtension(kOidStepProvisioner)->value));
  CHECK(sp.name == "ci");

  CHECK(
      StatusIs(t.ca->RemoveProvisioner("nobody"), absl::StatusCode::kNotFound));
  CHECK(t.ca->RemoveProvisioner("ci").ok());
  CHECK(t.ca->Provisioners().size() == 1);

  // ReplaceProvisioners checks the whole list and keeps the old on error.
  Claims bad_global;
  bad_global.min_tls_duration = absl::Hours(30);
  CHECK(StatusIs(t.ca->ReplaceProvisioners({p2}, bad_global),
                 absl::StatusCode::kInvalidArgument));
  CHECK(StatusIs(t.ca->ReplaceProvisioners({p2, p2}, {}),
                 absl::StatusCode::kInvalidArgument));
  CHECK(t.ca->Provisioners()[0].name == "admin");
  CHECK(t.ca->ReplaceProvisioners({p2}, {}).ok());
  CHECK(t.ca->Provisioners()[0].name == "ci");
}

TEST_CASE("Authority: tokens minted before the CA started are refused",
          "[authority]") {
  TestCa t;
  FakeClock past(t.clock.Now() - absl::Seconds(30));
  TokenSigner s(t.provisioner_key, t.provisioner.kid, "admin", past);
  TokenRequest req;
  req.subject = "svc.example.com";
  req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr =
      TestCa::Csr(key, "svc.example.com", {"svc.example.com"});
  ExpectRefused(t, absl::StatusCode::kUnauthenticated, [&]() {
    return t.ca->Sign(csr, Unwrap(s.Sign(req)), {}).status();
  });
}

TEST_CASE("Authority: FromParts checks the parts belong together",
          "[authority]") {
  FakeClock clock(testing::FixtureStart());
  testing::CaCerts a = testing::MakeCaCerts(clock.Now(), "A");
  testing::CaCerts b = testing::MakeCaCerts(clock.Now(), "B");
  auto make = [&](std::vector<Certificate> roots, Certificate intermediate,
                  PrivateKey key) {
    AuthorityParts parts{
        std::move(roots), std::move(intermediate), std::move(key), {}};
    return Authority::FromParts(parts, NewMemoryStore(), clock).status();
  };
  CHECK(make({a.root}, a.intermediate, a.intermediate_key).ok());
  CHECK(StatusIs(make({a.root}, a.intermediate, b.intermediate_key),
                 absl::StatusCode::kInvalidArgument, "does not match"));
  CHECK(StatusIs(make({b.root}, a.intermediate, a.intermediate_key),
                 absl::StatusCode::kFailedPrecondition));
  CHECK(StatusIs(make({}, a.intermediate, a.intermediate_key),
                 absl::StatusCode::kInvalidArgument));
  // A leaf is not an intermediate.
  CertificateTemplate tmpl;
  tmpl.serial = {9};
  tmpl.common_name = "leaf";
  tmpl.not_before = clock.Now() - absl::Hours(1);
  tmpl.not_after = clock.Now() + absl::Hours(1);
  PrivateKey leaf_key = Unwrap(PrivateKey::Generate());
  Certificate leaf = Unwrap(
      IssueCertificate(tmpl, leaf_key.public_key(), a.root_key, &a.root));
  CHECK(StatusIs(make({a.root}, leaf, leaf_key),
                 absl::StatusCode::kInvalidArgument, "not a CA"));
}

TEST_CASE("Authority: IssueServerCertificate", "[authority]") {
  TestCa t;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  IssuedCertificate c =
      Unwrap(t.ca->IssueServerCertificate(key.public_key(), absl::Hours(24)));
  CHECK(c.leaf.CommonName() == "Step Online CA");
  CHECK(Names(c.leaf) == std::vector<std::string>{"localhost", "ca.internal"});
  CHECK(c.leaf.NotAfter() == t.clock.Now() + absl::Hours(24));
  CHECK_FALSE(c.leaf.FindExtension(kOidStepProvisioner).has_value());
  CHECK(t.Counts().certificates == 0);
  VerifyOptions server;
  server.purpose = kOidServerAuth;
  CHECK(VerifyChain(c.leaf, {c.chain[1]}, t.ca->roots(), t.clock.Now(), server)
            .ok());
}

// Independent verifiers use the real time: the fixture runs on it here.
TEST_CASE("Authority: openssl and python cryptography verify what we issue",
          "[authority]") {
  TestCaOptions o;
  o.start = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  TestCa t(o);
  Issued c = t.Issue("svc.example.com",
                     {"svc.example.com", "10.0.0.7", "ops@example.com"});
  IssuedCertificate renewed = Unwrap(t.ca->Renew(c.cert.chain));
  testing::TempDir dir;
  std::string root = dir.Write("root.pem", t.certs.root.ToPem());
  std::string inter = dir.Write("int.pem", t.certs.intermediate.ToPem());
  for (const Certificate* leaf : {&c.cert.leaf, &renewed.leaf}) {
    std::string path = dir.Write("leaf.pem", leaf->ToPem());
    for (const char* purpose : {"sslserver", "sslclient"}) {
      testing::CommandResult r = testing::Run(absl::StrCat(
          "openssl verify -x509_strict -purpose ", purpose, " -CAfile ",
          testing::ShellQuote(root), " -untrusted ", testing::ShellQuote(inter),
          " ", testing::ShellQuote(path)));
      INFO(r.output);
      CHECK(r.exit_code == 0);
      CHECK(r.output.find(": OK") != std::string::npos);
    }
    std::string script = dir.Write("check.py", R"(
import datetime, sys
from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID
load = lambda p: x509.load_pem_x509_certificate(open(p, 'rb').read())
root, inter, leaf = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
inter.verify_directly_issued_by(root)
leaf.verify_directly_issued_by(inter)
eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
assert ExtendedKeyUsageOID.SERVER_AUTH in eku and ExtendedKeyUsageOID.CLIENT_AUTH in eku
ext = leaf.extensions.get_extension_for_oid(x509.ObjectIdentifier('1.3.6.1.4.1.37476.9000.64.1'))
assert not ext.critical
store = verification.Store([root])
now = datetime.datetime.now(datetime.timezone.utc)
builder = verification.PolicyBuilder().store(store).time(now)
builder.build_server_verifier(x509.DNSName('svc.example.com')).verify(leaf, [inter])
builder.build_client_verifier().verify(leaf, [inter])
print('python ok')
)");
    testing::CommandResult r = testing::Run(absl::StrCat(
        "python3 ", testing::ShellQuote(script), " ", testing::ShellQuote(root),
        " ", testing::ShellQuote(inter), " ", testing::ShellQuote(path)));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("python ok") != std::string::npos);
  }
}

// Workers sign and renew while another thread revokes. A renewal that
// started after the revocation of its lineage's root completed must fail;
// a renewal that failed must belong to a revoked lineage.
TEST_CASE("Authority: concurrent issuance, renewal and revocation",
          "[authority]") {
  TestCa t;
  constexpr int kLineages = 8;
  constexpr int kWorkers = 2;
  constexpr int kRounds = 12;
  std::vector<Issued> roots;
  for (int i = 0; i < kLineages; i++) {
    roots.push_back(t.Issue(absl::StrCat("l", i, ".example.com")));
  }
  std::vector<std::atomic<bool>> revoked(kLineages);
  for (auto& r : revoked) {
    r.store(false);
  }
  std::atomic<int> violations{0};
  std::atomic<int> refused_unrevoked{0};
  std::atomic<int> renewals{0};
  std::atomic<int> issued{0};
  std::atomic<int> other_errors{0};

  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; w++) {
    threads.emplace_back([&, w]() {
      std::vector<IssuedCertificate> current;
      std::vector<int> lineage;
      for (int i = w; i < kLineages; i += kWorkers) {
        current.push_back(roots[i].cert);
        lineage.push_back(i);
      }
      for (int round = 0; round < kRounds; round++) {
        for (size_t j = 0; j < current.size(); j++) {
          bool was_revoked = revoked[lineage[j]].load();
          absl::StatusOr<IssuedCertificate> next =
              t.ca->Renew(current[j].chain);
          if (next.ok()) {
            renewals++;
            if (was_revoked) {
              violations++;
            }
            current[j] = *std::move(next);
          } else if (next.status().code() ==
                     absl::StatusCode::kUnauthenticated) {
            // Checked after the threads finish: the lineage must be revoked.
            if (!revoked[lineage[j]].load()) {
              refused_unrevoked++;
            }
          } else {
            other_errors++;
          }
        }
        PrivateKey key = *PrivateKey::Generate();
        std::string name = absl::StrCat("w", w, "r", round, ".example.com");
        absl::StatusOr<IssuedCertificate> c =
            t.ca->Sign(TestCa::Csr(key, name, {name}), t.SignToken(name), {});
        if (c.ok()) {
          issued++;
        } else {
          other_errors++;
        }
      }
    });
  }
  threads.emplace_back([&]() {
    for (int i = 0; i < kLineages; i += 2) {
      if (t.Revoke(roots[i].serial()).ok()) {
        revoked[i].store(true);
      } else {
        other_errors++;
      }
    }
  });
  for (std::thread& th : threads) {
    th.join();
  }
  CHECK(violations.load() == 0);
  CHECK(refused_unrevoked.load() == 0);
  CHECK(other_errors.load() == 0);
  CHECK(issued.load() == kWorkers * kRounds);
  // Unrevoked lineages renewed every round.
  CHECK(renewals.load() >= (kLineages / 2) * kRounds);
  CHECK(t.Counts().revocations == kLineages / 2);
}

}  // namespace
}  // namespace mayfly

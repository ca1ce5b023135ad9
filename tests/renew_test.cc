// Renew, Rekey and RenewWithToken (STEP-PROTOCOL.md sections 3.5, 3.6, 4.6,
// 6.4).

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/x509.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "mayfly/jose.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

const auto kUnauth = absl::StatusCode::kUnauthenticated;

struct RenewTokenOptions {
  std::string aud = "https://localhost:9000/renew";
  std::string iss = "step-ca-client/1.0";
  std::string sub;  // "" = the leaf's CN
  absl::Duration lifetime = absl::Minutes(5);
  const PrivateKey* key = nullptr;  // default: the certificate's
};

// RenewToken makes step's x5cInsecure renew token for `c` at `now`.
std::string RenewToken(const Issued& c, absl::Time now,
                       const RenewTokenOptions& o = {}) {
  JwsHeader h;
  h.kid = c.key.public_key().JwkThumbprint();
  h.typ = "JWT";
  for (const Certificate& cert : c.cert.chain) {
    h.x5c_insecure.push_back(internal::Base64Encode(cert.der()));
  }
  int64_t t = absl::ToUnixSeconds(now);
  std::string claims =
      absl::StrCat(R"({"aud":")", o.aud, R"(","exp":)",
                   absl::ToUnixSeconds(now + o.lifetime), R"(,"iat":)", t,
                   R"(,"iss":")", o.iss, R"(","nbf":)", t, R"(,"sub":")",
                   o.sub.empty() ? c.leaf().CommonName() : o.sub, R"("})");
  return Unwrap(SignJws(o.key != nullptr ? *o.key : c.key, h, claims));
}

std::set<std::tuple<std::string, bool, std::vector<uint8_t>>> ExtensionSet(
    const Certificate& c, bool with_key_ids) {
  std::set<std::tuple<std::string, bool, std::vector<uint8_t>>> out;
  for (const Extension& e : c.Extensions()) {
    if (!with_key_ids && (e.oid == internal::kOidSubjectKeyId ||
                          e.oid == internal::kOidAuthorityKeyId)) {
      continue;
    }
    out.emplace(e.oid, e.critical, e.value);
  }
  return out;
}

void ExpectRefused(TestCa& t, absl::StatusCode code,
                   const std::function<absl::Status()>& attempt,
                   absl::string_view fragment = {}) {
  StoreCounts before = t.Counts();
  CHECK(StatusIs(attempt(), code, fragment));
  CHECK(t.Counts() == before);
}

TEST_CASE("Renew: keeps names, key, extensions and lifetime", "[renew]") {
  TestCa t;
  SignOptions o;
  o.not_after = "2h";
  Issued c = t.Issue("svc.example.com",
                     {"svc.example.com", "10.0.0.7", "spiffe://example/svc"},
                     KeyType::kP256, o);
  t.clock.Advance(absl::Minutes(80));
  IssuedCertificate r = Unwrap(t.ca->Renew(c.cert.chain));
  const Certificate& old = c.leaf();
  CHECK(r.leaf.SerialDecimal() != old.SerialDecimal());
  CHECK(r.leaf.RawSubject() == old.RawSubject());
  CHECK(r.leaf.Sans() == old.Sans());
  CHECK(r.leaf.public_key().Equals(old.public_key()));
  CHECK(ExtensionSet(r.leaf, true) == ExtensionSet(old, true));
  CHECK(r.leaf.NotAfter() - r.leaf.NotBefore() ==
        old.NotAfter() - old.NotBefore());
  CHECK(r.leaf.NotBefore() == t.clock.Now() - absl::Minutes(1));
  REQUIRE(r.chain.size() == 2);
  CHECK(r.chain[1].Equals(t.certs.intermediate));
  CertificateRecord rec =
      Unwrap(t.ca->store().GetCertificate(r.leaf.SerialDecimal()));
  CHECK(rec.renewed_from == old.SerialDecimal());
  CHECK(rec.provisioner == "admin");
  // The renewal renews too, and the chain may omit the intermediate.
  t.clock.Advance(absl::Minutes(80));
  IssuedCertificate r2 = Unwrap(t.ca->Renew({r.leaf}));
  CHECK(Unwrap(t.ca->store().GetCertificate(r2.leaf.SerialDecimal()))
            .renewed_from == r.leaf.SerialDecimal());
}

TEST_CASE("Renew: outside the validity period is refused", "[renew]") {
  TestCa t;
  SECTION("before NotBefore") {
    SignOptions o;
    o.not_before = "1h";
    Issued c = t.Issue("svc.example.com", {}, KeyType::kP256, o);
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "not valid before");
  }
  SECTION("after expiry") {
    Issued c = t.Issue("svc.example.com");
    t.clock.Advance(absl::Hours(24) + absl::Seconds(1));
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "expired on");
    ExpectRefused(t, kUnauth, [&]() {
      return t.ca->RenewWithToken(RenewToken(c, t.clock.Now())).status();
    });
  }
}

TEST_CASE(
    "Renew: a chain verified before is still checked for time and "
    "revocation",
    "[renew]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com");
  // The first renewal verifies the chain and remembers it; the second
  // takes the remembered verification.
  IssuedCertificate first = Unwrap(t.ca->Renew(c.cert.chain));
  IssuedCertificate second = Unwrap(t.ca->Renew(c.cert.chain));
  CHECK(first.leaf.SerialDecimal() != second.leaf.SerialDecimal());
  // A chain with a foreign intermediate appended is verified in full, not
  // taken from what was remembered.
  std::vector<Certificate> odd = c.cert.chain;
  odd.push_back(c.leaf());
  CHECK(t.ca->Renew(odd).ok());
  SECTION("revoked after it was remembered") {
    REQUIRE(t.Revoke(c.serial()).ok());
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "revoked");
  }
  SECTION("expired after it was remembered") {
    t.clock.Advance(absl::Hours(24) + absl::Seconds(1));
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "expired on");
  }
}

TEST_CASE("Renew: allowRenewalAfterExpiry within the grace period", "[renew]") {
  TestCaOptions o;
  o.provisioner_claims.allow_renewal_after_expiry = true;
  o.provisioner_claims.renewal_grace_period = absl::Hours(1);
  TestCa t(o);
  Issued c = t.Issue("svc.example.com");
  t.clock.Advance(absl::Hours(24) + absl::Minutes(30));
  SECTION("mtls and token renewals within the grace period") {
    IssuedCertificate r = Unwrap(t.ca->Renew(c.cert.chain));
    CHECK(r.leaf.NotBefore() == t.clock.Now() - absl::Minutes(1));
    std::string token = RenewToken(c, t.clock.Now());
    IssuedCertificate r2 = Unwrap(t.ca->RenewWithToken(token));
    CHECK(Unwrap(t.ca->store().GetCertificate(r2.leaf.SerialDecimal()))
              .renewed_from == c.serial());
    // The renew token is single use.
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->RenewWithToken(token).status(); },
        "already used");
  }
  SECTION("beyond the grace period") {
    t.clock.Advance(absl::Minutes(31));
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "grace");
    ExpectRefused(t, kUnauth, [&]() {
      return t.ca->RenewWithToken(RenewToken(c, t.clock.Now())).status();
    });
  }
}

TEST_CASE("Renew: renew tokens are checked like step-ca checks them",
          "[renew]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com");
  t.clock.Advance(absl::Hours(1));
  absl::Time now = t.clock.Now();
  auto refused = [&](const std::string& token, absl::string_view fragment) {
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->RenewWithToken(token).status(); },
        fragment);
  };
  SECTION("a good token renews an unexpired certificate") {
    // The port is ignored, with and without /1.0, the provisioner name is
    // an accepted issuer.
    RenewTokenOptions o;
    o.aud = "https://ca.internal/1.0/renew";
    o.iss = "admin";
    CHECK(t.ca->RenewWithToken(RenewToken(c, now, o)).ok());
    CHECK(t.ca->RenewWithToken(RenewToken(c, now)).ok());
  }
  SECTION("refusals") {
    RenewTokenOptions o;
    o.aud = "https://other.example.com/renew";
    refused(RenewToken(c, now, o), "audience");
    o = {};
    o.aud = "https://localhost:9000/1.0/sign";
    refused(RenewToken(c, now, o), "audience");
    o = {};
    o.iss = "someone-else";
    refused(RenewToken(c, now, o), "issuer");
    o = {};
    o.sub = "other.example.com";
    refused(RenewToken(c, now, o), "subject");
    o = {};
    PrivateKey other = Unwrap(PrivateKey::Generate());
    o.key = &other;
    refused(RenewToken(c, now, o), "");
    o = {};
    o.lifetime = absl::Hours(2);
    refused(RenewToken(c, now, o), "longer");
    refused(RenewToken(c, now - absl::Minutes(7)), "expired");
    refused(RenewToken(c, now + absl::Minutes(2)), "not valid yet");
    refused("", "missing");
    refused("a.b.c", "");
    // A token from the provisioner (no x5cInsecure) is no renew token.
    refused(t.SignToken("svc.example.com"), "x5cInsecure");
  }
  SECTION("a forged chain does not help") {
    // Another CA's certificate with the same provisioner name, and a token
    // signed by its key.
    TestCa other;
    Issued foreign = other.Issue("svc.example.com");
    refused(RenewToken(foreign, now), "");
  }
}

TEST_CASE("Renew: provisioner rules", "[renew]") {
  SECTION("disableRenewal") {
    TestCaOptions o;
    o.provisioner_claims.disable_renewal = true;
    TestCa t(o);
    Issued c = t.Issue("svc.example.com");
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "disables renewal");
  }
  SECTION("authority-wide disableRenewal") {
    TestCaOptions o;
    o.authority_claims.disable_renewal = true;
    TestCa t(o);
    Issued c = t.Issue("svc.example.com");
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "disables renewal");
  }
  SECTION("provisioner removed") {
    TestCa t;
    Issued c = t.Issue("svc.example.com");
    REQUIRE(t.ca->RemoveProvisioner("admin").ok());
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(c.cert.chain).status(); },
        "does not exist");
  }
}

TEST_CASE("Renew: only this CA's leaves are renewed", "[renew]") {
  TestCa t;
  SECTION("another CA's certificate") {
    TestCa other;
    Issued foreign = other.Issue("svc.example.com");
    ExpectRefused(t, kUnauth,
                  [&]() { return t.ca->Renew(foreign.cert.chain).status(); });
  }
  SECTION("the intermediate or root presented as a leaf") {
    ExpectRefused(t, kUnauth, [&]() {
      return t.ca->Renew({t.certs.intermediate}).status();
    });
    ExpectRefused(t, kUnauth,
                  [&]() { return t.ca->Renew({t.certs.root}).status(); });
  }
  SECTION("a leaf without the provisioner extension") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    IssuedCertificate server =
        Unwrap(t.ca->IssueServerCertificate(key.public_key(), absl::Hours(1)));
    ExpectRefused(
        t, kUnauth, [&]() { return t.ca->Renew(server.chain).status(); },
        "provisioner extension");
  }
  SECTION("a leaf without clientAuth") {
    // Issued by this intermediate, with the provisioner extension, but
    // serverAuth only.
    PrivateKey key = Unwrap(PrivateKey::Generate());
    CertificateTemplate tmpl;
    tmpl.serial = {1, 2, 3};
    tmpl.common_name = "svc";
    tmpl.not_before = t.clock.Now() - absl::Minutes(1);
    tmpl.not_after = t.clock.Now() + absl::Hours(1);
    tmpl.key_usage = kKeyUsageDigitalSignature;
    tmpl.ext_key_usage = {kOidServerAuth};
    tmpl.extra_extensions.push_back(
        *Unwrap(t.ca->IssueServerCertificate(key.public_key(), absl::Hours(1)))
             .leaf.FindExtension(internal::kOidSubjectAltName));
    Issued issued = t.Issue("svc.example.com");
    tmpl.extra_extensions.push_back(
        *issued.leaf().FindExtension(kOidStepProvisioner));
    Certificate leaf = Unwrap(IssueCertificate(tmpl, key.public_key(),
                                               t.certs.intermediate_key,
                                               &t.certs.intermediate));
    ExpectRefused(t, kUnauth, [&]() { return t.ca->Renew({leaf}).status(); });
  }
  SECTION("an empty chain") {
    CHECK(
        StatusIs(t.ca->Renew({}).status(), absl::StatusCode::kInvalidArgument));
  }
}

TEST_CASE("Renew: Rekey issues the same certificate for a new key", "[renew]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com", {"svc.example.com", "10.0.0.7"});
  t.clock.Advance(absl::Hours(2));
  PrivateKey next_key = Unwrap(PrivateKey::Generate(KeyType::kP384));
  // step's CLI sends a CSR with an empty subject: only the key counts.
  CertificateRequest csr = TestCa::Csr(next_key, "", {});
  IssuedCertificate r = Unwrap(t.ca->Rekey(c.cert.chain, csr));
  CHECK(r.leaf.public_key().Equals(next_key.public_key()));
  CHECK(r.leaf.RawSubject() == c.leaf().RawSubject());
  CHECK(r.leaf.Sans() == c.leaf().Sans());
  CHECK(r.leaf.SubjectKeyId() != c.leaf().SubjectKeyId());
  CHECK(ExtensionSet(r.leaf, false) == ExtensionSet(c.leaf(), false));
  CHECK(Unwrap(t.ca->store().GetCertificate(r.leaf.SerialDecimal()))
            .renewed_from == c.serial());
  // A CSR that does not verify is malformed.
  std::vector<uint8_t> der = csr.der();
  der[der.size() - 3] ^= 1;
  absl::StatusOr<CertificateRequest> broken = CertificateRequest::FromDer(der);
  if (broken.ok()) {
    ExpectRefused(
        t, absl::StatusCode::kInvalidArgument,
        [&]() { return t.ca->Rekey(c.cert.chain, *broken).status(); },
        "invalid csr");
  }
}

TEST_CASE("Renew: renews a certificate step-ca issued", "[renew]") {
  testing::TempDir dir;
  std::string json = absl::StrReplaceAll(
      testing::Testdata("step/steppath/config/ca.json"),
      {{"${STEPPATH}", testing::TestdataPath("step/steppath")}});
  CaConfig config =
      Unwrap(ParseConfig(json, absl::StrCat(dir.path(), "/config")));
  // leaf.crt: 2026-11-25 00:44:39 .. 01:45:39.
  FakeClock clock(absl::FromUnixSeconds(1795567600));
  std::unique_ptr<Authority> ca = Unwrap(Authority::Create(
      config, testing::Testdata("step/password.txt"), nullptr, clock));
  std::vector<Certificate> chain =
      Unwrap(Certificate::ParsePemBundle(testing::Testdata("step/leaf.crt")));
  IssuedCertificate r = Unwrap(ca->Renew(chain));
  CHECK(r.leaf.RawSubject() == chain[0].RawSubject());
  CHECK(r.leaf.Sans() == chain[0].Sans());
  CHECK(ExtensionSet(r.leaf, true) == ExtensionSet(chain[0], true));
  CHECK(r.leaf.NotAfter() - r.leaf.NotBefore() ==
        chain[0].NotAfter() - chain[0].NotBefore());
  VerifyOptions server;
  server.purpose = kOidServerAuth;
  CHECK(
      VerifyChain(r.leaf, {r.chain[1]}, ca->roots(), clock.Now(), server).ok());
}

}  // namespace
}  // namespace mayfly

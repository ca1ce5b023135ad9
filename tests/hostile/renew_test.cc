// Hostile certificates presented for renewal (issue #9): forged, foreign,
// expired, revoked-by-lineage and wrong-purpose leaves, and renew tokens
// that do not prove possession. Each is presented in process (Renew, Rekey,
// RenewWithToken) and through the router's /1.0/renew (and /1.0/rekey) with
// ApiRequest::peer_chain or a Bearer token, as the HTTPS shell hands them
// over. Each must be refused (Unauthenticated in process; step-ca's JSON 401
// on the wire) with the store left exactly as it was.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/json.h"
#include "internal/x509.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/jose.h"
#include "mayfly/key.h"
#include "openssl/digest.h"
#include "openssl/mem.h"
#include "openssl/x509.h"
#include "server/api.h"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::Api;
using internal::ApiOptions;
using internal::ApiRequest;
using internal::ApiResponse;
using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

constexpr auto kUnauthenticated = absl::StatusCode::kUnauthenticated;
constexpr char kCodeSigning[] = "1.3.6.1.5.5.7.3.3";

// step-ca's 401 body: it says nothing about why (the reason is logged).
const std::string k401Body =
    "{\"status\":401,\"message\":\"The request lacked necessary authorization "
    "to be completed. Please see the certificate authority logs for more "
    "info.\"}\n";

// RenewToken is step's x5cInsecure renew token (STEP-PROTOCOL.md 4.6)
// carrying `chain` and signed by `signer`, which a legitimate client makes
// with the key of chain[0].
std::string RenewToken(const std::vector<Certificate>& chain,
                       const PrivateKey& signer, absl::Time now) {
  JwsHeader h;
  h.kid = signer.public_key().JwkThumbprint();
  h.typ = "JWT";
  for (const Certificate& cert : chain) {
    h.x5c_insecure.push_back(internal::Base64Encode(cert.der()));
  }
  const int64_t t = absl::ToUnixSeconds(now);
  std::string claims = absl::StrCat(
      R"({"aud":"https://localhost:9000/1.0/renew","exp":)", t + 300,
      R"(,"iat":)", t, R"(,"iss":"step-ca-client/1.0","nbf":)", t, R"(,"sub":)",
      internal::JsonString(chain.front().CommonName()), "}");
  return Unwrap(SignJws(signer, h, claims));
}

// CopyTemplate is a template that re-creates `leaf` as IssueCertificate
// would sign it: same serial, subject, validity and extensions (SANs, key
// usages, the provisioner extension); the key identifiers are left to
// IssueCertificate.
CertificateTemplate CopyTemplate(const Certificate& leaf) {
  CertificateTemplate tmpl;
  tmpl.serial = leaf.Serial();
  tmpl.raw_subject = leaf.RawSubject();
  tmpl.not_before = leaf.NotBefore();
  tmpl.not_after = leaf.NotAfter();
  for (Extension& e : leaf.Extensions()) {
    if (e.oid != internal::kOidSubjectKeyId &&
        e.oid != internal::kOidAuthorityKeyId) {
      tmpl.extra_extensions.push_back(std::move(e));
    }
  }
  return tmpl;
}

// Resigned returns `cert` unchanged but for its signature, made by `key`:
// same issuer name, same authority key identifier, same everything.
Certificate Resigned(const Certificate& cert, const PrivateKey& key) {
  bssl::UniquePtr<X509> copy(X509_dup(cert.native()));
  REQUIRE(copy != nullptr);
  REQUIRE(X509_sign(copy.get(), key.native(), EVP_sha256()) > 0);
  uint8_t* der = nullptr;
  int len = i2d_X509(copy.get(), &der);
  REQUIRE(len > 0);
  bssl::UniquePtr<uint8_t> owned(der);
  return Unwrap(Certificate::FromDer({der, static_cast<size_t>(len)}));
}

// Impostor is an attacker's CA that copies our CA's names: a self-signed
// "root" with our root's subject and an "intermediate" with our
// intermediate's subject, both under attacker keys.
struct Impostor {
  PrivateKey key;
  Certificate root;
  Certificate intermediate;
};

Impostor MakeImpostor(const TestCa& t) {
  PrivateKey root_key = Unwrap(PrivateKey::Generate());
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateTemplate root_tmpl;
  root_tmpl.serial = t.certs.root.Serial();
  root_tmpl.raw_subject = t.certs.root.RawSubject();
  root_tmpl.not_before = t.certs.root.NotBefore();
  root_tmpl.not_after = t.certs.root.NotAfter();
  root_tmpl.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  root_tmpl.basic = BasicConstraints{true, 1};
  Certificate root = Unwrap(
      IssueCertificate(root_tmpl, root_key.public_key(), root_key, nullptr));
  CertificateTemplate int_tmpl = root_tmpl;
  int_tmpl.serial = t.certs.intermediate.Serial();
  int_tmpl.raw_subject = t.certs.intermediate.RawSubject();
  int_tmpl.basic = BasicConstraints{true, 0};
  Certificate intermediate =
      Unwrap(IssueCertificate(int_tmpl, key.public_key(), root_key, &root));
  return Impostor{key, root, intermediate};
}

// HandIssued signs, with our intermediate's real key, a leaf that carries
// the provisioner extension of `model` and its SANs, with key usage
// digitalSignature and the EKUs `eku` (none if empty): what a renewal
// would see if the CA had issued it.
Certificate HandIssued(TestCa& t, const Issued& model,
                       std::vector<std::string> eku, uint8_t serial_tag) {
  CertificateTemplate tmpl;
  tmpl.serial = {0x68, 0x7a, 0x32, serial_tag};
  tmpl.common_name = model.leaf().CommonName();
  tmpl.not_before = t.clock.Now() - absl::Minutes(1);
  tmpl.not_after = t.clock.Now() + absl::Hours(1);
  tmpl.key_usage = kKeyUsageDigitalSignature;
  tmpl.ext_key_usage = std::move(eku);
  tmpl.extra_extensions.push_back(
      *model.leaf().FindExtension(internal::kOidSubjectAltName));
  tmpl.extra_extensions.push_back(
      *model.leaf().FindExtension(kOidStepProvisioner));
  return Unwrap(IssueCertificate(tmpl, model.key.public_key(),
                                 t.certs.intermediate_key,
                                 &t.certs.intermediate));
}

ApiRequest RenewRequest(const std::string& path,
                        std::vector<Certificate> peer_chain) {
  ApiRequest r;
  r.method = "POST";
  r.path = path;
  r.content_type = "application/json";
  r.peer_chain = std::move(peer_chain);
  return r;
}

ApiRequest BearerRenewRequest(const std::string& token) {
  ApiRequest r;
  r.method = "POST";
  r.path = "/1.0/renew";
  r.authorization = "Bearer " + token;  // step sends no Content-Type
  return r;
}

// Harness is a TestCa behind the API router.
class Harness {
 public:
  explicit Harness(TestCaOptions options = {})
      : t(std::move(options)), api(t.ca.get(), ApiOptions{"0.0.0"}) {}

  // ExpectChainRefused presents `chain` as the client certificate of a
  // renew and a rekey, in process and through the router at both prefixes:
  // each must be Unauthenticated (message containing `reason`) and a JSON
  // 401 with the router's `outcome`, and the store must not change.
  void ExpectChainRefused(const std::vector<Certificate>& chain,
                          const std::string& reason,
                          const std::string& outcome) {
    const StoreCounts before = t.Counts();
    CHECK(StatusIs(t.ca->Renew(chain).status(), kUnauthenticated, reason));
    PrivateKey fresh = Unwrap(PrivateKey::Generate());
    CertificateRequest csr = TestCa::Csr(fresh, "", {});
    CHECK(StatusIs(t.ca->Rekey(chain, csr).status(), kUnauthenticated, reason));
    for (const char* path : {"/1.0/renew", "/renew", "/1.0/rekey"}) {
      ApiRequest r = RenewRequest(path, chain);
      if (absl::EndsWith(path, "rekey")) {
        r.body =
            absl::StrCat("{\"csr\":", internal::JsonString(csr.ToPem()), "}");
      }
      ExpectRouter401(r, reason, outcome);
    }
    REQUIRE(t.Counts() == before);
  }

  // ExpectTokenRefused presents `token` as a Bearer renew token, in process
  // and through the router; the store (the used-token table in particular)
  // must not change.
  void ExpectTokenRefused(const std::string& token, const std::string& reason,
                          const std::string& outcome) {
    const StoreCounts before = t.Counts();
    CHECK(StatusIs(t.ca->RenewWithToken(token).status(), kUnauthenticated,
                   reason));
    ApiResponse res =
        ExpectRouter401(BearerRenewRequest(token), reason, outcome);
    CHECK_FALSE(absl::StrContains(res.error, token));
    REQUIRE(t.Counts() == before);
  }

  // ExpectRenews is the control: `chain` does renew, through the router.
  void ExpectRenews(const std::vector<Certificate>& chain) {
    ApiResponse res = api.Handle(RenewRequest("/1.0/renew", chain));
    INFO(res.body << " " << res.error);
    CHECK(res.status == 201);
    CHECK(res.outcome == "renewed");
  }

  TestCa t;
  Api api;

 private:
  ApiResponse ExpectRouter401(const ApiRequest& r, const std::string& reason,
                              const std::string& outcome) {
    ApiResponse res = api.Handle(r);
    INFO(r.path << ": " << res.body << " " << res.error);
    CHECK(res.status == 401);
    CHECK(res.content_type == "application/json");
    CHECK(res.body == k401Body);
    CHECK(absl::StrContains(res.error, reason));
    CHECK(res.outcome == outcome);
    return res;
  }
};

TEST_CASE("hostile: renew: a certificate from another CA",
          "[hostile][hostile_renew]") {
  Harness h;
  // Same names everywhere, even the provisioner's: only the keys differ.
  TestCa other;
  Issued foreign = other.Issue("svc.example.com");
  h.ExpectChainRefused(foreign.cert.chain, "certificate chain does not verify",
                       "certificate_untrusted");
  // Nor does it help to append our intermediate, or to send the leaf alone.
  h.ExpectChainRefused({foreign.leaf(), h.t.certs.intermediate},
                       "certificate chain does not verify",
                       "certificate_untrusted");
  h.ExpectChainRefused({foreign.leaf()}, "certificate chain does not verify",
                       "certificate_untrusted");
}

TEST_CASE("hostile: renew: a self-signed copy of one of our leaves",
          "[hostile][hostile_renew]") {
  Harness h;
  Issued c = h.t.Issue("svc.example.com");
  Certificate copy = Unwrap(IssueCertificate(
      CopyTemplate(c.leaf()), c.key.public_key(), c.key, nullptr));
  // It is our leaf in all but the issuer: same subject, serial, SANs, key
  // and provisioner extension.
  REQUIRE(copy.SerialDecimal() == c.serial());
  REQUIRE(copy.Sans() == c.leaf().Sans());
  REQUIRE(copy.public_key().Equals(c.key.public_key()));
  REQUIRE(copy.FindExtension(kOidStepProvisioner).has_value());
  h.ExpectChainRefused({copy}, "certificate chain does not verify",
                       "certificate_untrusted");
  h.ExpectChainRefused({copy, h.t.certs.intermediate},
                       "certificate chain does not verify",
                       "certificate_untrusted");
  // A renew token carrying it, signed by the (matching) key, neither.
  h.ExpectTokenRefused(RenewToken({copy}, c.key, h.t.clock.Now()),
                       "certificate chain does not verify",
                       "certificate_untrusted");
}

TEST_CASE(
    "hostile: renew: our leaf re-signed by an attacker key under our "
    "intermediate's name and AKI",
    "[hostile][hostile_renew]") {
  Harness h;
  Issued c = h.t.Issue("svc.example.com");
  // Our own leaf is verified (and remembered) first: the forgery must not
  // ride on that.
  h.ExpectRenews(c.cert.chain);
  Impostor impostor = MakeImpostor(h.t);
  Certificate forged = Resigned(c.leaf(), impostor.key);
  REQUIRE(forged.RawIssuer() == h.t.certs.intermediate.RawSubject());
  REQUIRE(forged.AuthorityKeyId() == h.t.certs.intermediate.SubjectKeyId());
  REQUIRE(forged.SerialDecimal() == c.serial());
  REQUIRE_FALSE(forged.Equals(c.leaf()));
  for (const std::vector<Certificate>& chain :
       {std::vector<Certificate>{forged},
        std::vector<Certificate>{forged, h.t.certs.intermediate},
        std::vector<Certificate>{forged, impostor.intermediate},
        std::vector<Certificate>{forged, impostor.intermediate,
                                 impostor.root}}) {
    INFO("chain of " << chain.size());
    h.ExpectChainRefused(chain, "certificate chain does not verify",
                         "certificate_untrusted");
  }
}

TEST_CASE("hostile: renew: an expired certificate",
          "[hostile][hostile_renew]") {
  Harness h;  // the provisioner does not allow renewal after expiry
  Issued c = h.t.Issue("svc.example.com");
  h.t.clock.Advance(c.leaf().NotAfter() - h.t.clock.Now() + absl::Seconds(1));
  h.ExpectChainRefused(c.cert.chain, "certificate expired on",
                       "certificate_expired");
  h.ExpectTokenRefused(RenewToken(c.cert.chain, c.key, h.t.clock.Now()),
                       "certificate expired on", "certificate_expired");
  // Long after expiry too.
  h.t.clock.Advance(absl::Hours(24 * 365));
  h.ExpectChainRefused(c.cert.chain, "certificate expired on",
                       "certificate_expired");
}

TEST_CASE("hostile: renew: a certificate not yet valid",
          "[hostile][hostile_renew]") {
  Harness h;
  SignOptions later;
  later.not_before = "2h";
  Issued c = h.t.Issue("svc.example.com", {}, KeyType::kP256, later);
  REQUIRE(c.leaf().NotBefore() > h.t.clock.Now());
  h.ExpectChainRefused(c.cert.chain, "certificate is not valid before",
                       "certificate");
  h.ExpectTokenRefused(RenewToken(c.cert.chain, c.key, h.t.clock.Now()),
                       "certificate is not valid before", "certificate");
  // Once valid, it renews: it was refused for its time alone.
  h.t.clock.Advance(absl::Hours(2));
  h.ExpectRenews(c.cert.chain);
}

TEST_CASE(
    "hostile: renew: a certificate whose ancestor two renewals back is "
    "revoked",
    "[hostile][hostile_renew]") {
  Harness h;
  Issued gen0 = h.t.Issue("svc.example.com");
  h.t.clock.Advance(absl::Hours(1));
  IssuedCertificate gen1 = Unwrap(h.t.ca->Renew(gen0.cert.chain));
  h.t.clock.Advance(absl::Hours(1));
  IssuedCertificate gen2 = Unwrap(h.t.ca->Renew(gen1.chain));
  REQUIRE(h.t.Revoke(gen0.serial()).ok());
  // gen2 itself is not revoked (step-ca would renew it); its lineage is.
  const std::string why = "descends from revoked certificate " + gen0.serial();
  h.ExpectChainRefused(gen2.chain, why, "certificate_revoked");
  h.ExpectChainRefused(gen1.chain, why, "certificate_revoked");
  h.ExpectTokenRefused(RenewToken(gen2.chain, gen0.key, h.t.clock.Now()), why,
                       "certificate_revoked");
  // An unrelated certificate still renews.
  h.ExpectRenews(h.t.Issue("other.example.com").cert.chain);
}

TEST_CASE("hostile: renew: the intermediate presented as a leaf",
          "[hostile][hostile_renew]") {
  Harness h;
  h.ExpectChainRefused({h.t.certs.intermediate}, "provisioner extension",
                       "certificate");
  h.ExpectChainRefused({h.t.certs.intermediate, h.t.certs.root},
                       "provisioner extension", "certificate");
}

TEST_CASE("hostile: renew: the root presented as a leaf",
          "[hostile][hostile_renew]") {
  Harness h;
  h.ExpectChainRefused({h.t.certs.root}, "provisioner extension",
                       "certificate");
  h.ExpectChainRefused({h.t.certs.root, h.t.certs.root},
                       "provisioner extension", "certificate");
}

TEST_CASE("hostile: renew: a leaf of this CA without any extended key usage",
          "[hostile][hostile_renew]") {
  // X.509 path validation lets a leaf without EKU serve any purpose;
  // mayfly renews only leaves that name clientAuth (they authenticate as TLS
  // clients), which is what step's certificates carry.
  Harness h;
  Issued model = h.t.Issue("svc.example.com");
  Certificate no_eku = HandIssued(h.t, model, {}, 1);
  REQUIRE(no_eku.ExtKeyUsage().empty());
  h.ExpectChainRefused({no_eku, h.t.certs.intermediate},
                       "does not include clientAuth", "certificate");
  // The control: the same hand-made leaf with clientAuth renews.
  h.ExpectRenews({HandIssued(h.t, model, {kOidClientAuth}, 2)});
}

TEST_CASE("hostile: renew: a leaf of this CA for codeSigning only",
          "[hostile][hostile_renew]") {
  Harness h;
  Issued model = h.t.Issue("svc.example.com");
  Certificate code_signing = HandIssued(h.t, model, {kCodeSigning}, 3);
  REQUIRE(code_signing.ExtKeyUsage() == std::vector<std::string>{kCodeSigning});
  h.ExpectChainRefused({code_signing, h.t.certs.intermediate},
                       "certificate chain does not verify",
                       "certificate_untrusted");
  h.ExpectTokenRefused(RenewToken({code_signing}, model.key, h.t.clock.Now()),
                       "certificate chain does not verify",
                       "certificate_untrusted");
  h.ExpectRenews({HandIssued(h.t, model, {kCodeSigning, kOidClientAuth}, 4)});
}

TEST_CASE("hostile: renew: a leaf whose provisioner has been removed",
          "[hostile][hostile_renew]") {
  Harness h;
  Issued c = h.t.Issue("svc.example.com");
  h.ExpectRenews(c.cert.chain);  // renewable while "admin" exists
  REQUIRE(h.t.ca->RemoveProvisioner("admin").ok());
  h.ExpectChainRefused(c.cert.chain, "provisioner \"admin\" does not exist",
                       "certificate");
  h.ExpectTokenRefused(RenewToken(c.cert.chain, c.key, h.t.clock.Now()),
                       "provisioner \"admin\" does not exist", "certificate");
}

TEST_CASE("hostile: renew: renewal disabled by the provisioner's claims",
          "[hostile][hostile_renew]") {
  TestCaOptions options;
  options.provisioner_claims.disable_renewal = true;
  Harness h(options);
  Issued c = h.t.Issue("svc.example.com");
  h.ExpectChainRefused(c.cert.chain, "disables renewal", "renewal_disabled");
  h.ExpectTokenRefused(RenewToken(c.cert.chain, c.key, h.t.clock.Now()),
                       "disables renewal", "renewal_disabled");
}

TEST_CASE(
    "hostile: renew: a Bearer renew token signed by a key other than the "
    "certificate's",
    "[hostile][hostile_renew]") {
  // The certificate is public; its key is not. A token carrying our valid
  // chain but signed by someone else proves nothing.
  Harness h;
  Issued c = h.t.Issue("svc.example.com");
  PrivateKey attacker = Unwrap(PrivateKey::Generate());
  h.ExpectTokenRefused(RenewToken(c.cert.chain, attacker, h.t.clock.Now()),
                       "signature", "signature");
  // Not even the intermediate's key (which did sign the certificate).
  h.ExpectTokenRefused(
      RenewToken(c.cert.chain, h.t.certs.intermediate_key, h.t.clock.Now()),
      "renew token", "signature");
  // The certificate's own key does renew, once: nothing was consumed above.
  const std::string good = RenewToken(c.cert.chain, c.key, h.t.clock.Now());
  const StoreCounts before = h.t.Counts();
  ApiResponse res = h.api.Handle(BearerRenewRequest(good));
  INFO(res.body << " " << res.error);
  REQUIRE(res.status == 201);
  CHECK(h.t.Counts().used_tokens == before.used_tokens + 1);
  CHECK(h.t.Counts().certificates == before.certificates + 1);
}

TEST_CASE("hostile: renew: an x5c renew token whose chain does not verify",
          "[hostile][hostile_renew]") {
  // The attacker makes a leaf like ours (subject, SANs, provisioner
  // extension) for its own key under an intermediate that carries our
  // intermediate's name, and signs the token with that key: the token's
  // signature is good, its chain is not ours.
  Harness h;
  Issued c = h.t.Issue("svc.example.com");
  Impostor impostor = MakeImpostor(h.t);
  PrivateKey leaf_key = Unwrap(PrivateKey::Generate());
  Certificate forged =
      Unwrap(IssueCertificate(CopyTemplate(c.leaf()), leaf_key.public_key(),
                              impostor.key, &impostor.intermediate));
  REQUIRE(forged.RawIssuer() == h.t.certs.intermediate.RawSubject());
  const absl::Time now = h.t.clock.Now();
  h.ExpectTokenRefused(
      RenewToken({forged, impostor.intermediate}, leaf_key, now),
      "certificate chain does not verify", "certificate_untrusted");
  h.ExpectTokenRefused(
      RenewToken({forged, impostor.intermediate, impostor.root}, leaf_key, now),
      "certificate chain does not verify", "certificate_untrusted");
  // Our real intermediate after the forged leaf does not make it verify.
  h.ExpectTokenRefused(
      RenewToken({forged, h.t.certs.intermediate}, leaf_key, now),
      "certificate chain does not verify", "certificate_untrusted");
  // Nor does our real leaf in front of the attacker's chain, signed by the
  // attacker's key.
  h.ExpectTokenRefused(
      RenewToken({c.leaf(), impostor.intermediate}, leaf_key, now), "signature",
      "signature");
}

}  // namespace
}  // namespace mayfly

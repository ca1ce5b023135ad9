// The hostile-input suite (issue #9), one-time tokens. Each case presents a
// sign (or revoke) token that differs from a valid one in exactly one
// hostile way, in-process through Authority::Sign / Revoke and over the wire
// through the router (401 with step-ca's body), and checks that the store
// did not change. Most hostile tokens share their jti with a valid twin that
// is presented last: the twin being accepted proves the refusal did not
// burn the jti (token.h: nothing is consumed before every check passed).

#include "mayfly/token.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../ca_fixture.h"
#include "../test_util.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"
#include "openssl/bn.h"
#include "openssl/digest.h"
#include "openssl/ecdsa.h"
#include "openssl/hmac.h"
#include "openssl/rand.h"
#include "server/api.h"

namespace mayfly {
namespace {

using internal::Api;
using internal::ApiOptions;
using internal::ApiRequest;
using internal::ApiResponse;
using internal::Base64UrlEncode;
using testing::Issued;
using testing::StatusIs;
using testing::TempDir;
using testing::TestCa;
using testing::Unwrap;

constexpr absl::StatusCode kUnauth = absl::StatusCode::kUnauthenticated;

constexpr char kSubject[] = "svc.example.com";
constexpr char kSignAud[] = "https://localhost:9000/1.0/sign";
constexpr char kRevokeAud[] = "https://localhost:9000/1.0/revoke";

// step-ca's text for every 401 (the reason goes to the log only).
constexpr char k401Body[] =
    "{\"status\":401,\"message\":\"The request lacked necessary authorization "
    "to be completed. Please see the certificate authority logs for more "
    "info.\"}\n";

// Quote writes `s` as a JSON string; enough for the ASCII written here.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

// Members is a JSON object as (name, raw JSON value) pairs in order, so a
// case can replace, add or drop exactly one member.
using Members = std::vector<std::pair<std::string, std::string>>;

std::string ObjectJson(const Members& members) {
  std::string out = "{";
  for (const auto& [name, value] : members) {
    if (out.size() > 1) {
      out += ",";
    }
    absl::StrAppend(&out, Quote(name), ":", value);
  }
  return out + "}";
}

// Set replaces member `name` (raw JSON `value`), or appends it.
void Set(Members* members, const std::string& name, std::string value) {
  for (auto& member : *members) {
    if (member.first == name) {
      member.second = std::move(value);
      return;
    }
  }
  members->emplace_back(name, std::move(value));
}

void Erase(Members* members, const std::string& name) {
  for (auto it = members->begin(); it != members->end(); ++it) {
    if (it->first == name) {
      members->erase(it);
      return;
    }
  }
  FAIL("no member " << name);
}

// Jwt is the protected header and the claims of a token, before signing.
struct Jwt {
  Members header;
  Members claims;

  std::string SigningInput() const {
    return absl::StrCat(Base64UrlEncode(ObjectJson(header)), ".",
                        Base64UrlEncode(ObjectJson(claims)));
  }
};

// Es256 returns the JWS form of an ECDSA P-256 signature over `input`: R||S,
// 32 bytes each (RFC 7518 section 3.4), not the DER that PrivateKey::Sign
// returns.
std::string Es256(const PrivateKey& key, absl::string_view input) {
  REQUIRE(key.type() == KeyType::kP256);
  std::vector<uint8_t> der = Unwrap(key.Sign(internal::Bytes(input)));
  bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_from_bytes(der.data(), der.size()));
  REQUIRE(sig != nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(64, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  REQUIRE(BN_bn2bin_padded(p, 32, r));
  REQUIRE(BN_bn2bin_padded(p + 32, 32, s));
  return out;
}

// SignJwt returns the compact token for `jwt` signed with ES256 by `key`.
std::string SignJwt(const Jwt& jwt, const PrivateKey& key) {
  const std::string input = jwt.SigningInput();
  return absl::StrCat(input, ".", Base64UrlEncode(Es256(key, input)));
}

std::string NewJti() {
  uint8_t bytes[32];
  REQUIRE(RAND_bytes(bytes, sizeof(bytes)));
  return internal::Hex(bytes);
}

std::string Seconds(absl::Time t) {
  return absl::StrCat(absl::ToUnixSeconds(t));
}

ApiRequest Post(const std::string& path, const std::string& body) {
  ApiRequest r;
  r.method = "POST";
  r.path = path;
  r.content_type = "application/json";
  r.body = body;
  return r;
}

std::string SignBody(const std::string& csr_pem, const std::string& ott) {
  return absl::StrCat("{\"csr\":", Quote(csr_pem), ",\"ott\":", Quote(ott),
                      "}");
}

// Bench is a CA in memory behind the router, with helpers that present a
// token both ways and check what happened to the store.
struct Bench {
  Bench() : api(t.ca.get(), ApiOptions{"hostile"}) {}

  // Valid is a sign token for kSubject with `jti` as TokenSigner writes it,
  // valid now: ES256 by the "admin" provisioner, for this CA's /1.0/sign.
  Jwt Valid(const std::string& jti) const {
    const absl::Time now = t.clock.Now();
    Jwt jwt;
    jwt.header = {{"alg", Quote("ES256")},
                  {"kid", Quote(t.provisioner.kid)},
                  {"typ", Quote("JWT")}};
    jwt.claims = {{"aud", Quote(kSignAud)},
                  {"exp", Seconds(now + absl::Minutes(5))},
                  {"iat", Seconds(now)},
                  {"iss", Quote("admin")},
                  {"jti", Quote(jti)},
                  {"nbf", Seconds(now)},
                  {"sans", absl::StrCat("[", Quote(kSubject), "]")},
                  {"sha", Quote(t.certs.root.FingerprintHex())},
                  {"sub", Quote(kSubject)}};
    return jwt;
  }

  // Signed signs `jwt` with the provisioner's own key.
  std::string Signed(const Jwt& jwt) const {
    return SignJwt(jwt, t.provisioner_key);
  }

  // Csr is a request for kSubject (CN and SAN) with a fresh key.
  static CertificateRequest Csr() {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    return TestCa::Csr(key, kSubject, {kSubject});
  }

  // Refused presents `ott` to Authority::Sign with a good CSR and expects
  // `code` with `fragment` in the message, and no change to the store.
  void Refused(const std::string& ott, absl::string_view fragment,
               absl::StatusCode code = kUnauth) {
    const StoreCounts before = t.Counts();
    absl::StatusOr<IssuedCertificate> issued = t.ca->Sign(Csr(), ott, {});
    INFO(issued.status().ToString());
    CHECK(StatusIs(issued.status(), code, fragment));
    // The reason is for logs; it never repeats the token.
    CHECK_FALSE(absl::StrContains(issued.status().message(), ott));
    REQUIRE(t.Counts() == before);
  }

  // RefusedOnWire presents `ott` to POST /1.0/sign and expects step-ca's
  // 401 with `outcome` ("" to not check it), and no change to the store.
  ApiResponse RefusedOnWire(const std::string& ott,
                            const std::string& outcome) {
    const StoreCounts before = t.Counts();
    ApiResponse res =
        api.Handle(Post("/1.0/sign", SignBody(Csr().ToPem(), ott)));
    INFO(res.error);
    CHECK(res.status == 401);
    CHECK(res.content_type == "application/json");
    CHECK(res.body == k401Body);
    CHECK(absl::StartsWith(res.error, "sign: "));
    CHECK_FALSE(absl::StrContains(res.error, ott));
    if (!outcome.empty()) {
      CHECK(res.outcome == outcome);
    }
    REQUIRE(t.Counts() == before);
    return res;
  }

  // Works presents `ott` with a good CSR and expects a certificate, with
  // exactly one more used token and one more recorded certificate.
  void Works(const std::string& ott) {
    StoreCounts want = t.Counts();
    want.used_tokens++;
    want.certificates++;
    absl::StatusOr<IssuedCertificate> issued = t.ca->Sign(Csr(), ott, {});
    INFO(issued.status().ToString());
    REQUIRE(issued.ok());
    CHECK(issued->leaf.CommonName() == kSubject);
    REQUIRE(t.Counts() == want);
  }

  TestCa t;
  Api api;
};

// Variant signs `jwt` after `change` and expects both refusals.
template <typename Change>
void RefuseVariant(Bench& b, const Jwt& valid, Change change,
                   absl::string_view fragment, const std::string& outcome) {
  Jwt jwt = valid;
  change(&jwt);
  const std::string ott = b.Signed(jwt);
  b.Refused(ott, fragment);
  b.RefusedOnWire(ott, outcome);
}

// OpenSqliteCa opens an Authority with `t`'s PKI and provisioner over the
// SQLite store at `path`, on `t`'s clock.
std::unique_ptr<Authority> OpenSqliteCa(const TestCa& t,
                                        const std::string& path) {
  AuthorityParts parts{
      {t.certs.root}, t.certs.intermediate, t.certs.intermediate_key, {}};
  parts.config.dns_names = {"localhost", "ca.internal"};
  parts.config.provisioners = {t.provisioner};
  std::unique_ptr<Store> store = Unwrap(NewSqliteStore(path));
  return Unwrap(Authority::FromParts(parts, std::move(store), t.clock));
}

StoreCounts CountsOf(Authority& ca) { return Unwrap(ca.store().Counts()); }

TEST_CASE("hostile: token: replay of a used token with another key's CSR",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string ott = b.t.SignToken(kSubject);
  b.Works(ott);
  // Whoever saw the token brings a CSR for a key of their own.
  b.Refused(ott, "token already used");
  ApiResponse res = b.RefusedOnWire(ott, "replay");
  CHECK(absl::StrContains(res.error, "already used"));
}

TEST_CASE("hostile: token: replay after the CA restarts on its SQLite store",
          "[hostile][hostile_token]") {
  TestCa t;  // the PKI, the provisioner and the clock; its store is unused
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  const std::string ott = t.SignToken(kSubject);
  {
    std::unique_ptr<Authority> ca = OpenSqliteCa(t, path);
    REQUIRE(ca->Sign(Bench::Csr(), ott, {}).ok());
    REQUIRE(CountsOf(*ca).used_tokens == 1);
  }
  // The clock has not moved, so the token is still in its validity window
  // and not older than the restarted CA (token.h: not_issued_before): only
  // the recorded jti can refuse it.
  std::unique_ptr<Authority> ca = OpenSqliteCa(t, path);
  const StoreCounts before = CountsOf(*ca);
  CHECK(before.used_tokens == 1);
  CHECK(before.certificates == 1);
  absl::StatusOr<IssuedCertificate> again = ca->Sign(Bench::Csr(), ott, {});
  CHECK(StatusIs(again.status(), kUnauth, "token already used"));
  CHECK(CountsOf(*ca) == before);
  Api api(ca.get(), ApiOptions{"hostile"});
  ApiResponse res =
      api.Handle(Post("/1.0/sign", SignBody(Bench::Csr().ToPem(), ott)));
  CHECK(res.status == 401);
  CHECK(res.body == k401Body);
  CHECK(res.outcome == "replay");
  CHECK(CountsOf(*ca) == before);

  // Control: a CA over a store that never saw the token accepts it, so the
  // refusals above came from what the first CA wrote to disk.
  TempDir other;
  std::unique_ptr<Authority> fresh = OpenSqliteCa(t, other.path() + "/ca.db");
  CHECK(fresh->Sign(Bench::Csr(), ott, {}).ok());
}

TEST_CASE("hostile: token: alg none with an empty signature",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  struct Case {
    const char* alg;
    const char* reason;
  };
  // "none" itself, and spellings a case-insensitive lookup would take.
  for (const Case& c : {Case{"none", "jws alg \"none\" is not allowed"},
                        Case{"None", "jws alg None is not supported"},
                        Case{"NONE", "jws alg NONE is not supported"}}) {
    INFO(c.alg);
    Jwt jwt = b.Valid(jti);
    Set(&jwt.header, "alg", Quote(c.alg));
    const std::string ott = jwt.SigningInput() + ".";
    b.Refused(ott, c.reason);
    b.RefusedOnWire(ott, "malformed");
  }
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: HS256 keyed with the provisioner's public key",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  const PublicKey& pub = b.t.provisioner.key;
  const std::vector<uint8_t> spki = pub.ToSpkiDer();
  // Every public form of the key a confused verifier might use as the HMAC
  // secret: the JWK as the provisioner list serves it, PEM, and DER.
  const std::vector<std::string> secrets = {
      pub.ToJwk(), pub.ToPem(), std::string(spki.begin(), spki.end())};
  for (const std::string& secret : secrets) {
    Jwt jwt = b.Valid(jti);
    Set(&jwt.header, "alg", Quote("HS256"));
    const std::string input = jwt.SigningInput();
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    REQUIRE(HMAC(EVP_sha256(), secret.data(), secret.size(),
                 reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                 mac, &mac_len) != nullptr);
    const std::string ott =
        absl::StrCat(input, ".",
                     Base64UrlEncode(absl::string_view(
                         reinterpret_cast<char*>(mac), mac_len)));
    b.Refused(ott, "HS256 is not allowed");
    b.RefusedOnWire(ott, "malformed");
  }
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: kid and iss of another provisioner, signed by admin",
          "[hostile][hostile_token]") {
  Bench b;
  const PrivateKey ops_key = Unwrap(PrivateKey::Generate());
  const Provisioner ops = testing::MakeProvisioner("ops", ops_key);
  REQUIRE(b.t.ca->AddProvisioner(ops).ok());
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.header, "kid", Quote(ops.kid));
  Set(&jwt.claims, "iss", Quote("ops"));
  // Signed by admin's key: it names ops, so ops's key must verify it.
  const std::string ott = SignJwt(jwt, b.t.provisioner_key);
  b.Refused(ott, "token signature is invalid");
  b.RefusedOnWire(ott, "signature");
  // The same claims signed by ops's own key are good, jti included.
  b.Works(SignJwt(jwt, ops_key));
}

TEST_CASE("hostile: token: jku header naming the attacker's key set",
          "[hostile][hostile_token]") {
  Bench b;
  const PrivateKey attacker = Unwrap(PrivateKey::Generate());
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.header, "jku", Quote("https://attacker.example/jwks.json"));
  const std::string ott = SignJwt(jwt, attacker);
  // Refused for the header member itself, not merely because the
  // provisioner's key does not verify the attacker's signature.
  b.Refused(ott, "\"jku\" is not allowed");
  b.RefusedOnWire(ott, "malformed");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: x5u header naming the attacker's certificate",
          "[hostile][hostile_token]") {
  Bench b;
  const PrivateKey attacker = Unwrap(PrivateKey::Generate());
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.header, "x5u", Quote("https://attacker.example/cert.pem"));
  const std::string ott = SignJwt(jwt, attacker);
  b.Refused(ott, "\"x5u\" is not allowed");
  b.RefusedOnWire(ott, "malformed");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: jwk header embedding the key that signed it",
          "[hostile][hostile_token]") {
  Bench b;
  const PrivateKey attacker = Unwrap(PrivateKey::Generate());
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.header, "jwk", attacker.public_key().ToJwk());
  // Signed by the key it carries: a verifier that trusted the header would
  // find the signature good.
  const std::string ott = SignJwt(jwt, attacker);
  b.Refused(ott, "\"jwk\" is not allowed");
  b.RefusedOnWire(ott, "malformed");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: x5c header carrying the attacker's certificate",
          "[hostile][hostile_token]") {
  Bench b;
  const PrivateKey attacker = Unwrap(PrivateKey::Generate());
  CertificateTemplate tmpl;
  tmpl.serial = {0x42};
  tmpl.common_name = "admin";
  tmpl.not_before = b.t.clock.Now() - absl::Hours(1);
  tmpl.not_after = b.t.clock.Now() + absl::Hours(1);
  tmpl.key_usage = kKeyUsageDigitalSignature;
  const Certificate cert =
      Unwrap(IssueCertificate(tmpl, attacker.public_key(), attacker, nullptr));
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.header, "x5c",
      absl::StrCat("[", Quote(internal::Base64Encode(cert.der())), "]"));
  const std::string ott = SignJwt(jwt, attacker);
  b.Refused(ott, "\"x5c\" is not allowed");
  b.RefusedOnWire(ott, "malformed");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: crit header on an otherwise valid token",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.header, "crit", "[\"exp\"]");
  // Signed by the provisioner: everything but `crit` is right.
  const std::string ott = b.Signed(jwt);
  b.Refused(ott, "\"crit\" is not allowed");
  b.RefusedOnWire(ott, "malformed");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: expired", "[hostile][hostile_token]") {
  Bench b;
  const absl::Time start = b.t.clock.Now();
  b.t.clock.Advance(absl::Minutes(10));
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  // Minted at the CA's start, five minutes of life, ten minutes ago.
  Set(&jwt.claims, "nbf", Seconds(start));
  Set(&jwt.claims, "iat", Seconds(start));
  Set(&jwt.claims, "exp", Seconds(start + absl::Minutes(5)));
  const std::string ott = b.Signed(jwt);
  b.Refused(ott, "token expired at");
  b.RefusedOnWire(ott, "time");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: nbf thirty days ahead", "[hostile][hostile_token]") {
  Bench b;
  const absl::Time nbf = b.t.clock.Now() + absl::Hours(24 * 30);
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.claims, "nbf", Seconds(nbf));
  Set(&jwt.claims, "exp", Seconds(nbf + absl::Minutes(5)));
  const std::string ott = b.Signed(jwt);
  b.Refused(ott, "token is not valid before");
  b.RefusedOnWire(ott, "time");
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: exp in the year 9999 or at the int64 limit",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  const Jwt valid = b.Valid(jti);
  // 9999-12-31T23:59:59Z, and the largest exp a 64-bit reader can hold
  // (where lifetime arithmetic could overflow).
  for (const char* exp : {"253402300799", "9223372036854775807"}) {
    INFO(exp);
    RefuseVariant(
        b, valid, [&](Jwt* jwt) { Set(&jwt->claims, "exp", exp); },
        "token lives", "time");
  }
  b.Works(b.Signed(valid));
}

TEST_CASE("hostile: token: aud naming another origin",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  const Jwt valid = b.Valid(jti);
  // Hosts that merely contain or resemble this CA's names (localhost,
  // ca.internal), user info hiding another host, and plain http.
  for (const char* aud : {"https://evil.example:9000/1.0/sign",
                          "https://localhost.evil.example:9000/1.0/sign",
                          "https://ca.internal.evil.example/1.0/sign",
                          "https://evil-localhost:9000/1.0/sign",
                          "https://localhost%2f@evil.example/1.0/sign",
                          "http://localhost:9000/1.0/sign"}) {
    INFO(aud);
    RefuseVariant(
        b, valid, [&](Jwt* jwt) { Set(&jwt->claims, "aud", Quote(aud)); },
        "is not accepted for signing", "audience");
  }
  b.Works(b.Signed(valid));
}

TEST_CASE("hostile: token: aud with a port that is not a port",
          "[hostile][hostile_token]") {
  // A well-formed port other than the CA's is accepted, as step-ca compares
  // audiences with the port removed (STEP-PROTOCOL.md 4.3); these are what
  // a lax URL splitter could read as localhost with some port.
  Bench b;
  const std::string jti = NewJti();
  const Jwt valid = b.Valid(jti);
  for (const char* aud :
       {"https://localhost:9000@evil.example/1.0/sign",
        "https://localhost:90a0/1.0/sign", "https://localhost:123456/1.0/sign",
        "https://localhost:/1.0/sign", "https://localhost:9000:9000/1.0/sign",
        "https://localhost:-1/1.0/sign"}) {
    INFO(aud);
    RefuseVariant(
        b, valid, [&](Jwt* jwt) { Set(&jwt->claims, "aud", Quote(aud)); },
        "is not accepted for signing", "audience");
  }
  b.Works(b.Signed(valid));
}

TEST_CASE("hostile: token: revoke audience presented to sign",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  const Jwt valid = b.Valid(jti);
  RefuseVariant(
      b, valid, [](Jwt* jwt) { Set(&jwt->claims, "aud", Quote(kRevokeAud)); },
      "is not accepted for signing", "audience");
  b.Works(b.Signed(valid));
}

TEST_CASE("hostile: token: audience path the CA does not serve",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  const Jwt valid = b.Valid(jti);
  for (const char* aud :
       {"https://localhost:9000/1.0/renew", "https://localhost:9000/2.0/sign",
        "https://localhost:9000/1.0/sign/", "https://localhost:9000/1.0/signx",
        "https://localhost:9000/1.0/sign?x=1",
        "https://localhost:9000/1.0/admin/sign", "https://localhost:9000"}) {
    INFO(aud);
    RefuseVariant(
        b, valid, [&](Jwt* jwt) { Set(&jwt->claims, "aud", Quote(aud)); },
        "is not accepted for signing", "audience");
  }
  b.Works(b.Signed(valid));
}

TEST_CASE("hostile: token: sign audience presented to revoke",
          "[hostile][hostile_token]") {
  Bench b;
  const Issued victim = b.t.Issue(kSubject);
  const std::string jti = NewJti();
  Jwt valid = b.Valid(jti);
  Set(&valid.claims, "sub", Quote(victim.serial()));
  Erase(&valid.claims, "sans");  // revoke tokens carry none
  Set(&valid.claims, "aud", Quote(kRevokeAud));
  // The sign audience, and step-ca's legacy audience, which mayfly accepts
  // for signing only: a token naming no operation must not revoke.
  for (const char* aud : {kSignAud, "step-certificate-authority"}) {
    INFO(aud);
    Jwt jwt = valid;
    Set(&jwt.claims, "aud", Quote(aud));
    const std::string ott = b.Signed(jwt);
    const StoreCounts before = b.t.Counts();
    RevokeRequest req;
    req.serial = victim.serial();
    req.ott = ott;
    CHECK(StatusIs(b.t.ca->Revoke(req), kUnauth,
                   "is not accepted for revocation"));
    REQUIRE(b.t.Counts() == before);
    ApiResponse res = b.api.Handle(Post(
        "/1.0/revoke", absl::StrCat("{\"serial\":", Quote(victim.serial()),
                                    ",\"ott\":", Quote(ott),
                                    ",\"reasonCode\":0,\"passive\":true}")));
    CHECK(res.status == 401);
    CHECK(res.body == k401Body);
    CHECK(res.outcome == "audience");
    REQUIRE(b.t.Counts() == before);
  }
  CHECK_FALSE(
      Unwrap(b.t.ca->store().GetRevocation(victim.serial())).has_value());
  // The twin with the revoke audience revokes: the jti was not burned.
  RevokeRequest req;
  req.serial = victim.serial();
  req.ott = b.Signed(valid);
  REQUIRE(b.t.ca->Revoke(req).ok());
  CHECK(b.t.Counts().revocations == 1);
}

TEST_CASE("hostile: token: no jti", "[hostile][hostile_token]") {
  Bench b;
  Jwt jwt = b.Valid(NewJti());
  Erase(&jwt.claims, "jti");
  const std::string ott = b.Signed(jwt);
  // step-ca would fall back to a hash of the token; mayfly refuses it, and
  // does so again on a second try (nothing was recorded for it).
  b.Refused(ott, "token jti is missing or empty");
  b.RefusedOnWire(ott, "claims");
  b.Refused(ott, "token jti is missing or empty");
  b.Works(b.t.SignToken(kSubject));
}

TEST_CASE("hostile: token: empty jti", "[hostile][hostile_token]") {
  Bench b;
  Jwt jwt = b.Valid(NewJti());
  Set(&jwt.claims, "jti", Quote(""));
  const std::string ott = b.Signed(jwt);
  b.Refused(ott, "token jti is missing or empty");
  b.RefusedOnWire(ott, "claims");
  b.Works(b.t.SignToken(kSubject));
}

// The router's outcome label for a token whose signature part is not
// canonical base64url is "signature" (OutcomeFor matches "signature" before
// "malformed", and the message names the "jws signature" part), and an
// oversized token is "claims"; those cases check the status and body only.
constexpr char kNoOutcomeCheck[] = "";

// WithSignature returns `ott` with its third part replaced by `signature`.
std::string WithSignature(const std::string& ott, absl::string_view signature) {
  const size_t dot = ott.rfind('.');
  REQUIRE(dot != std::string::npos);
  return absl::StrCat(ott.substr(0, dot + 1), signature);
}

std::string SignaturePart(const std::string& ott) {
  return ott.substr(ott.rfind('.') + 1);
}

TEST_CASE("hostile: token: signature base64url with '=' padding",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string valid = b.Signed(b.Valid(NewJti()));
  // 64 bytes encode to 86 characters; padded base64 would add "==".
  REQUIRE(SignaturePart(valid).size() == 86);
  const std::string ott = WithSignature(valid, SignaturePart(valid) + "==");
  b.Refused(ott, "jws signature: invalid base64url character");
  b.RefusedOnWire(ott, kNoOutcomeCheck);
  b.Works(valid);
}

TEST_CASE("hostile: token: signature in standard base64 ('+' and '/')",
          "[hostile][hostile_token]") {
  Bench b;
  const Jwt jwt = b.Valid(NewJti());
  // ECDSA signatures are randomised: sign until the encoding has a
  // character that differs between the two alphabets.
  std::string valid;
  for (int i = 0; i < 100; i++) {
    valid = b.Signed(jwt);
    if (SignaturePart(valid).find_first_of("-_") != std::string::npos) {
      break;
    }
  }
  std::string standard = SignaturePart(valid);
  REQUIRE(standard.find_first_of("-_") != std::string::npos);
  for (char& c : standard) {
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  const std::string ott = WithSignature(valid, standard);
  b.Refused(ott, "jws signature: invalid base64url character");
  b.RefusedOnWire(ott, kNoOutcomeCheck);
  b.Works(valid);
}

TEST_CASE("hostile: token: signature with trailing bits set in its last char",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string valid = b.Signed(b.Valid(NewJti()));
  // The 86th character carries 2 bits of the signature and 4 unused bits,
  // zero in the canonical form; setting one gives a second spelling of the
  // same 64 bytes to a lax decoder.
  constexpr absl::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string sig = SignaturePart(valid);
  REQUIRE(sig.size() == 86);
  const size_t index = kAlphabet.find(sig.back());
  REQUIRE(index != absl::string_view::npos);
  REQUIRE((index & 0x0f) == 0);
  sig.back() = kAlphabet[index | 0x01];
  const std::string ott = WithSignature(valid, sig);
  b.Refused(ott, "jws signature: non-canonical base64url");
  b.RefusedOnWire(ott, kNoOutcomeCheck);
  b.Works(valid);
}

TEST_CASE("hostile: token: 256 KiB, sixteen times the size cap",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  Set(&jwt.claims, "pad", Quote(std::string(256 * 1024, 'A')));
  // Signed by the provisioner: only its size is wrong. (The router takes
  // bodies up to 1 MiB, so the token reaches the Authority's cap.)
  const std::string ott = b.Signed(jwt);
  REQUIRE(ott.size() > 256 * 1024);
  b.Refused(ott, "bytes; max 16384");
  b.RefusedOnWire(ott, kNoOutcomeCheck);
  b.Works(b.Signed(b.Valid(jti)));
}

TEST_CASE("hostile: token: sha of another CA's root",
          "[hostile][hostile_token]") {
  Bench b;
  const testing::CaCerts other = testing::MakeCaCerts(b.t.clock.Now(), "Other");
  const std::string jti = NewJti();
  const Jwt valid = b.Valid(jti);
  RefuseVariant(
      b, valid,
      [&](Jwt* jwt) {
        Set(&jwt->claims, "sha", Quote(other.root.FingerprintHex()));
      },
      "is not the fingerprint of a root of this ca", "claims");
  b.Works(b.Signed(valid));
}

TEST_CASE("hostile: token: sans that do not cover the CSR's names",
          "[hostile][hostile_token]") {
  Bench b;
  const std::string jti = NewJti();
  Jwt jwt = b.Valid(jti);
  // The subject stays svc.example.com (the CSR's CN), but the names the
  // token authorises are another host's: the CN alone must not carry the
  // CSR's SAN through.
  Set(&jwt.claims, "sans", absl::StrCat("[", Quote("other.example.com"), "]"));
  const std::string ott = b.Signed(jwt);
  b.Refused(ott, "csr dns names do not match the token's sans",
            absl::StatusCode::kPermissionDenied);
  const StoreCounts before = b.t.Counts();
  ApiResponse res =
      b.api.Handle(Post("/1.0/sign", SignBody(Bench::Csr().ToPem(), ott)));
  CHECK(res.status == 403);
  CHECK(absl::StartsWith(res.body,
                         "{\"status\":403,\"message\":\"The request was "
                         "forbidden by the certificate authority: csr dns "
                         "names do not match"));
  CHECK(res.outcome == "forbidden");
  REQUIRE(b.t.Counts() == before);
  b.Works(b.Signed(b.Valid(jti)));
}

}  // namespace
}  // namespace mayfly

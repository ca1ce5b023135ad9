#include "mayfly/token.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "mayfly/clock.h"
#include "mayfly/jose.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::Base64UrlDecode;
using internal::Base64UrlEncode;
using testing::StatusIs;

constexpr absl::StatusCode kUnauth = absl::StatusCode::kUnauthenticated;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// Any fixed time; tokens are minted "now" on the fake clock.
const absl::Time kStart = absl::FromUnixSeconds(1795567539);

// A stand-in root fingerprint for minted tokens.
const std::string kRootSha(64, 'a');

// step's fixture tokens (STEP-PROTOCOL.md 4.1): minted at these nbf.
constexpr int64_t kStepSignNbf = 1795567539;
constexpr int64_t kStepRevokeNbf = 1795567540;

PrivateKey NewKey(KeyType type) {
  auto key = PrivateKey::Generate(type);
  INFO(key.status().ToString());
  REQUIRE(key.ok());
  return *key;
}

Provisioner MakeProvisioner(const PrivateKey& key, std::string name) {
  Provisioner p(key.public_key());
  p.name = std::move(name);
  p.kid = key.public_key().JwkThumbprint();
  return p;
}

TokenValidatorOptions Options() {
  TokenValidatorOptions options;
  options.dns_names = {"ca.internal", "10.1.2.3"};
  options.root_fingerprints = {std::string(64, 'b'), kRootSha};
  return options;
}

TokenRequest SignRequest() {
  TokenRequest req;
  req.subject = "svc.example.com";
  req.audience = "https://ca.internal:9000/1.0/sign";
  req.root_fingerprint = kRootSha;
  return req;
}

TokenRequest RevokeRequest() {
  TokenRequest req;
  req.subject = "143804903222160052020812728477623572056";
  req.audience = "https://ca.internal:9000/1.0/revoke";
  req.root_fingerprint = kRootSha;
  req.revoke = true;
  return req;
}

std::string MustSign(const TokenSigner& signer, const TokenRequest& req) {
  auto token = signer.Sign(req);
  INFO(token.status().ToString());
  REQUIRE(token.ok());
  return *token;
}

std::vector<std::string> Parts(absl::string_view jws) {
  return absl::StrSplit(jws, '.');
}

std::string Decode(absl::string_view part) {
  auto decoded = Base64UrlDecode(part, "test");
  REQUIRE(decoded.ok());
  return *decoded;
}

// MemberNames lists the members of a JSON object in their written order.
std::vector<std::string> MemberNames(absl::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  REQUIRE(!doc.HasParseError());
  REQUIRE(doc.IsObject());
  std::vector<std::string> names;
  for (const auto& m : doc.GetObject()) {
    names.emplace_back(m.name.GetString(), m.name.GetStringLength());
  }
  return names;
}

// Members is an ordered list of JSON members: name and raw JSON value.
using Members = std::vector<std::pair<std::string, std::string>>;

std::string Object(const Members& members) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : members) {
    parts.push_back(absl::StrCat("\"", name, "\":", value));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

Members Without(Members members, absl::string_view name) {
  Members out;
  for (auto& m : members) {
    if (m.first != name) {
      out.push_back(std::move(m));
    }
  }
  return out;
}

Members With(Members members, const std::string& name, std::string value) {
  for (auto& m : members) {
    if (m.first == name) {
      m.second = std::move(value);
      return members;
    }
  }
  members.emplace_back(name, std::move(value));
  return members;
}

// GoodClaims are the claims of a valid sign token issued at `now` by `p`.
Members GoodClaims(const Provisioner& p, absl::Time now) {
  const int64_t t = absl::ToUnixSeconds(now);
  return {{"aud", Quote("https://ca.internal/1.0/sign")},
          {"exp", absl::StrCat(t + 300)},
          {"iat", absl::StrCat(t)},
          {"iss", Quote(p.name)},
          {"jti", Quote(std::string(64, 'c'))},
          {"nbf", absl::StrCat(t)},
          {"sans", R"(["svc.example.com"])"},
          {"sha", Quote(kRootSha)},
          {"sub", Quote("svc.example.com")}};
}

std::string Header(const Provisioner& p, absl::string_view alg = "EdDSA") {
  return absl::StrCat(R"({"alg":")", alg, R"(","kid":")", p.kid,
                      R"(","typ":"JWT"})");
}

// Ed25519Token signs any header and payload with an Ed25519 key (whose
// X.509 signature is also the JWS form), so hand-made tokens carry a valid
// signature and fail only for what they are made to test.
std::string Ed25519Token(const PrivateKey& key, absl::string_view header,
                         absl::string_view payload) {
  REQUIRE(key.type() == KeyType::kEd25519);
  std::string input =
      absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload));
  auto sig = key.Sign(internal::Bytes(input));
  REQUIRE(sig.ok());
  return absl::StrCat(input, ".", Base64UrlEncode(*sig));
}

// StepProvisioner is the JWK provisioner of step's fixture ca.json, built
// from its "key" member.
Provisioner StepProvisioner() {
  rapidjson::Document doc;
  std::string text = testing::Testdata("step/steppath/config/ca.json");
  doc.Parse(text.data(), text.size());
  REQUIRE(!doc.HasParseError());
  const rapidjson::Value& prov = doc["authority"]["provisioners"][0];
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  prov["key"].Accept(writer);
  JwkMembers members;
  auto key = PublicKey::FromJwk(
      absl::string_view(buf.GetString(), buf.GetSize()), &members);
  INFO(key.status().ToString());
  REQUIRE(key.ok());
  Provisioner p(*key);
  p.name = prov["name"].GetString();
  p.kid = members.kid;
  return p;
}

std::string StepRootFingerprint() {
  auto blocks = internal::DecodePemBlocks(
      testing::Testdata("step/steppath/certs/root_ca.crt"));
  REQUIRE(blocks.ok());
  REQUIRE(blocks->size() == 1);
  return internal::Hex(internal::Sha256(blocks->front().der));
}

std::string StepToken(absl::string_view name) {
  return std::string(absl::StripTrailingAsciiWhitespace(
      testing::Testdata(absl::StrCat("step/", name))));
}

TokenValidatorOptions StepOptions() {
  TokenValidatorOptions options;
  options.dns_names = {"localhost"};
  options.root_fingerprints = {StepRootFingerprint()};
  return options;
}

TEST_CASE("Token: audiences are built as step's CLI builds them", "[token]") {
  CHECK(*SignAudience("https://ca.internal:9000") ==
        "https://ca.internal:9000/1.0/sign");
  CHECK(*SignAudience("https://ca.internal") == "https://ca.internal/1.0/sign");
  CHECK(*SignAudience("ca.internal:9000") ==
        "https://ca.internal:9000/1.0/sign");
  CHECK(*SignAudience("http://ca.internal/some/path?q=1#f") ==
        "https://ca.internal/1.0/sign");
  CHECK(*SignAudience("https://[::1]:443/") == "https://[::1]:443/1.0/sign");
  CHECK(*RevokeAudience("https://localhost:29555") ==
        "https://localhost:29555/1.0/revoke");
  CHECK(*RenewAudience("https://localhost:29555") ==
        "https://localhost:29555/renew");
  for (absl::string_view bad :
       {"", "https://", "https:///1.0/sign", "https://:9000",
        "https://user@ca.internal", "https://ca.internal:x",
        "https://ca.internal:", "https://ca.internal:123456", "https://::1/",
        "https://[::1", "https://ca internal"}) {
    INFO(bad);
    CHECK(StatusIs(SignAudience(bad).status(), kInvalid, "ca url"));
    CHECK(StatusIs(RevokeAudience(bad).status(), kInvalid, "ca url"));
    CHECK(StatusIs(RenewAudience(bad).status(), kInvalid, "ca url"));
  }
}

TEST_CASE("Token: minted tokens have step's header and claims", "[token]") {
  FakeClock clock(kStart);
  PrivateKey key = NewKey(KeyType::kP256);
  Provisioner p = MakeProvisioner(key, "admin@example.com");
  TokenSigner signer(key, p.kid, p.name, clock);

  std::string token = MustSign(signer, SignRequest());
  std::vector<std::string> parts = Parts(token);
  REQUIRE(parts.size() == 3);
  CHECK(Decode(parts[0]) ==
        absl::StrCat(R"({"alg":"ES256","kid":")", p.kid, R"(","typ":"JWT"})"));
  std::string payload = Decode(parts[1]);
  // step's own token (tests/testdata/step/sign-token.jwt) has these members
  // in this order, plus an empty "user" object that mayfly does not write.
  CHECK(MemberNames(payload) == std::vector<std::string>{"aud", "exp", "iat",
                                                         "iss", "jti", "nbf",
                                                         "sans", "sha", "sub"});
  const int64_t t = absl::ToUnixSeconds(kStart);
  CHECK(absl::StrContains(
      payload,
      absl::StrCat(R"("aud":"https://ca.internal:9000/1.0/sign","exp":)",
                   t + 300, R"(,"iat":)", t,
                   R"(,"iss":"admin@example.com","jti":")")));
  CHECK(absl::StrContains(
      payload,
      absl::StrCat(R"(","nbf":)", t, R"(,"sans":["svc.example.com"],"sha":")",
                   kRootSha, R"(","sub":"svc.example.com"})")));

  auto claims = ParseTokenClaims(token);
  REQUIRE(claims.ok());
  CHECK(claims->issuer == "admin@example.com");
  CHECK(claims->subject == "svc.example.com");
  CHECK(claims->audience == "https://ca.internal:9000/1.0/sign");
  CHECK(claims->not_before == kStart);
  CHECK(claims->issued_at == kStart);
  CHECK(claims->expiry == kStart + absl::Minutes(5));
  CHECK(claims->root_fingerprint == kRootSha);
  CHECK(claims->sans == std::vector<std::string>{"svc.example.com"});
  REQUIRE(claims->id.size() == 64);
  for (char c : claims->id) {
    CHECK((absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f')));
  }

  SECTION("every token gets a fresh jti") {
    auto again = ParseTokenClaims(MustSign(signer, SignRequest()));
    REQUIRE(again.ok());
    CHECK(again->id != claims->id);
  }
  SECTION("explicit sans replace the subject; no sha when none is given") {
    TokenRequest req = SignRequest();
    req.sans = {"svc.example.com", "10.0.0.7"};
    req.root_fingerprint.clear();
    req.lifetime = absl::Seconds(90);
    std::string t2 = MustSign(signer, req);
    auto c2 = ParseTokenClaims(t2);
    REQUIRE(c2.ok());
    CHECK(c2->sans == req.sans);
    CHECK(c2->root_fingerprint.empty());
    CHECK(c2->expiry == kStart + absl::Seconds(90));
    CHECK(MemberNames(Decode(Parts(t2)[1])) ==
          std::vector<std::string>{"aud", "exp", "iat", "iss", "jti", "nbf",
                                   "sans", "sub"});
  }
  SECTION("revoke tokens carry no sans") {
    TokenRequest req = RevokeRequest();
    req.sans = {"ignored.example"};
    std::string t2 = MustSign(signer, req);
    CHECK(MemberNames(Decode(Parts(t2)[1])) ==
          std::vector<std::string>{"aud", "exp", "iat", "iss", "jti", "nbf",
                                   "sha", "sub"});
  }
}

TEST_CASE("Token: round trip for sign and revoke with every key type",
          "[token]") {
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    INFO(KeyTypeName(type));
    FakeClock clock(kStart);
    PrivateKey key = NewKey(type);
    std::vector<Provisioner> provisioners = {
        MakeProvisioner(NewKey(KeyType::kP256), "other@example.com"),
        MakeProvisioner(key, "admin@example.com")};
    TokenSigner signer(key, provisioners[1].kid, provisioners[1].name, clock);

    std::string sign_token = MustSign(signer, SignRequest());
    clock.Advance(absl::Seconds(30));
    auto valid = ValidateToken(sign_token, TokenPurpose::kSign, provisioners,
                               Options(), clock.Now());
    INFO(valid.status().ToString());
    REQUIRE(valid.ok());
    CHECK(valid->provisioner == &provisioners[1]);
    CHECK(valid->claims.subject == "svc.example.com");
    CHECK(valid->claims.sans == std::vector<std::string>{"svc.example.com"});
    CHECK(valid->claims.id.size() == 64);
    CHECK(valid->claims.expiry == kStart + absl::Minutes(5));
    CHECK(StatusIs(ValidateToken(sign_token, TokenPurpose::kRevoke,
                                 provisioners, Options(), clock.Now())
                       .status(),
                   kUnauth, "audience"));

    std::string revoke_token = MustSign(signer, RevokeRequest());
    auto revoke = ValidateToken(revoke_token, TokenPurpose::kRevoke,
                                provisioners, Options(), clock.Now());
    INFO(revoke.status().ToString());
    REQUIRE(revoke.ok());
    CHECK(revoke->provisioner == &provisioners[1]);
    CHECK(revoke->claims.subject == RevokeRequest().subject);
    CHECK(revoke->claims.sans.empty());
    CHECK(StatusIs(ValidateToken(revoke_token, TokenPurpose::kSign,
                                 provisioners, Options(), clock.Now())
                       .status(),
                   kUnauth, "audience"));
  }
}

TEST_CASE("Token: step's real tokens validate", "[token]") {
  std::vector<Provisioner> provisioners = {StepProvisioner()};
  REQUIRE(provisioners[0].name == "admin@example.com");
  const std::string sign_token = StepToken("sign-token.jwt");
  const std::string revoke_token = StepToken("revoke-token.jwt");
  const absl::Time now = absl::FromUnixSeconds(kStepSignNbf + 60);

  auto sign = ValidateToken(sign_token, TokenPurpose::kSign, provisioners,
                            StepOptions(), now);
  INFO(sign.status().ToString());
  REQUIRE(sign.ok());
  CHECK(sign->provisioner == &provisioners[0]);
  CHECK(sign->claims.issuer == "admin@example.com");
  CHECK(sign->claims.subject == "svc.example.com");
  CHECK(sign->claims.audience == "https://localhost:29555/1.0/sign");
  CHECK(sign->claims.sans ==
        std::vector<std::string>{"svc.example.com", "10.0.0.7"});
  CHECK(sign->claims.root_fingerprint == StepRootFingerprint());
  CHECK(sign->claims.not_before == absl::FromUnixSeconds(kStepSignNbf));
  CHECK(sign->claims.expiry - sign->claims.not_before == absl::Hours(1));
  CHECK(sign->claims.id ==
        "426d57bad84caffe524c5809d55a5dd44874085a05b06daf5af5fa98519ea6ba");

  auto revoke =
      ValidateToken(revoke_token, TokenPurpose::kRevoke, provisioners,
                    StepOptions(), absl::FromUnixSeconds(kStepRevokeNbf + 60));
  INFO(revoke.status().ToString());
  REQUIRE(revoke.ok());
  CHECK(revoke->claims.subject == "143804903222160052020812728477623572056");
  CHECK(revoke->claims.sans.empty());

  SECTION("the revoke token is not a sign token, nor the reverse") {
    CHECK(StatusIs(ValidateToken(revoke_token, TokenPurpose::kSign,
                                 provisioners, StepOptions(), now)
                       .status(),
                   kUnauth, "audience"));
    CHECK(StatusIs(ValidateToken(sign_token, TokenPurpose::kRevoke,
                                 provisioners, StepOptions(), now)
                       .status(),
                   kUnauth, "audience"));
  }
  SECTION("a CA under another name refuses it") {
    TokenValidatorOptions options = StepOptions();
    options.dns_names = {"other.example"};
    CHECK(StatusIs(ValidateToken(sign_token, TokenPurpose::kSign, provisioners,
                                 options, now)
                       .status(),
                   kUnauth,
                   "token audience \"https://localhost:29555/1.0/sign\" is "
                   "not accepted"));
  }
  SECTION("another root refuses it") {
    TokenValidatorOptions options = StepOptions();
    options.root_fingerprints = {std::string(64, '0')};
    CHECK(StatusIs(ValidateToken(sign_token, TokenPurpose::kSign, provisioners,
                                 options, now)
                       .status(),
                   kUnauth, "sha"));
  }
  SECTION("it expires") {
    CHECK(StatusIs(
        ValidateToken(sign_token, TokenPurpose::kSign, provisioners,
                      StepOptions(), now + absl::Hours(1) + absl::Seconds(1))
            .status(),
        kUnauth, "expired"));
  }
  SECTION("its 1 h lifetime is too long for a stricter CA") {
    TokenValidatorOptions options = StepOptions();
    options.max_lifetime = absl::Minutes(30);
    CHECK(StatusIs(ValidateToken(sign_token, TokenPurpose::kSign, provisioners,
                                 options, now)
                       .status(),
                   kUnauth, "token lives 1h; max 30m"));
  }
  SECTION("ParseTokenClaims reads it") {
    auto claims = ParseTokenClaims(sign_token);
    REQUIRE(claims.ok());
    CHECK(claims->subject == "svc.example.com");
    CHECK(claims->issued_at == absl::FromUnixSeconds(kStepSignNbf));
  }
}

// Fixture for abuse tests: two provisioners (P-256 and Ed25519) and a clock
// at the time tokens are minted.
struct Abuse {
  Abuse()
      : clock(kStart),
        key(NewKey(KeyType::kP256)),
        ed_key(NewKey(KeyType::kEd25519)),
        provisioners({MakeProvisioner(key, "admin@example.com"),
                      MakeProvisioner(ed_key, "ed@example.com")}),
        signer(key, provisioners[0].kid, provisioners[0].name, clock) {}

  absl::Status Validate(absl::string_view token,
                        TokenPurpose purpose = TokenPurpose::kSign,
                        const TokenValidatorOptions& options = Options()) {
    return ValidateToken(token, purpose, provisioners, options, clock.Now())
        .status();
  }

  std::string SignWithAudience(std::string aud) {
    TokenRequest req = SignRequest();
    req.audience = std::move(aud);
    return MustSign(signer, req);
  }

  // Crafted signs `claims` with the Ed25519 provisioner's key.
  std::string Crafted(const Members& claims) {
    return Ed25519Token(ed_key, Header(provisioners[1]), Object(claims));
  }
  Members EdClaims() { return GoodClaims(provisioners[1], clock.Now()); }

  FakeClock clock;
  PrivateKey key;
  PrivateKey ed_key;
  std::vector<Provisioner> provisioners;
  TokenSigner signer;
};

TEST_CASE("Token: audiences", "[token]") {
  Abuse a;
  SECTION("accepted: each dns name, with or without /1.0, any port") {
    for (std::string aud :
         {"https://ca.internal/1.0/sign", "https://ca.internal/sign",
          "https://ca.internal:9000/1.0/sign", "https://ca.internal:1/sign",
          "https://10.1.2.3:443/1.0/sign", "step-certificate-authority"}) {
      INFO(aud);
      CHECK(a.Validate(a.SignWithAudience(aud)).ok());
    }
  }
  SECTION("IPv6 names are bracketed") {
    TokenValidatorOptions options = Options();
    options.dns_names = {"::1"};
    CHECK(a.Validate(a.SignWithAudience("https://[::1]:9000/1.0/sign"),
                     TokenPurpose::kSign, options)
              .ok());
    CHECK(StatusIs(a.Validate(a.SignWithAudience("https://::1/1.0/sign"),
                              TokenPurpose::kSign, options),
                   kUnauth, "audience"));
  }
  SECTION("refused: wrong host, port syntax, path, scheme") {
    for (std::string aud :
         {"https://evil.example/1.0/sign", "https://ca.internal.evil/1.0/sign",
          "https://CA.internal/1.0/sign", "https://ca.internal:x/1.0/sign",
          "https://ca.internal:/1.0/sign", "https://ca.internal:9000",
          "https://ca.internal/1.0/revoke", "https://ca.internal/2.0/sign",
          "https://ca.internal/1.0/sign/", "https://ca.internal/1.0/sign?x",
          "https://ca.internal/1.0/ssh/sign", "http://ca.internal/1.0/sign",
          "wss://ca.internal/1.0/sign", "https://u@ca.internal/1.0/sign",
          "ca.internal/1.0/sign", "https://ca.internal/1.0/renew"}) {
      INFO(aud);
      CHECK(StatusIs(a.Validate(a.SignWithAudience(aud)), kUnauth,
                     "is not accepted for signing"));
    }
  }
  SECTION("the step-certificate-authority literal cannot revoke") {
    TokenRequest req = RevokeRequest();
    req.audience = "step-certificate-authority";
    CHECK(StatusIs(a.Validate(MustSign(a.signer, req), TokenPurpose::kRevoke),
                   kUnauth, "is not accepted for revocation"));
  }
  SECTION("aud must be one string") {
    CHECK(StatusIs(
        a.Validate(a.Crafted(
            With(a.EdClaims(), "aud", R"(["https://ca.internal/1.0/sign"])"))),
        kUnauth, "single string"));
    CHECK(StatusIs(a.Validate(a.Crafted(Without(a.EdClaims(), "aud"))), kUnauth,
                   "no aud"));
  }
}

TEST_CASE("Token: times", "[token]") {
  Abuse a;
  std::string token = MustSign(a.signer, SignRequest());  // at kStart

  SECTION("expired, with 1 minute leeway") {
    a.clock.Set(kStart + absl::Minutes(5) + absl::Seconds(60));
    CHECK(a.Validate(token).ok());
    a.clock.Set(kStart + absl::Minutes(5) + absl::Seconds(61));
    CHECK(StatusIs(a.Validate(token), kUnauth, "token expired at"));
  }
  SECTION("not yet valid, with 1 minute leeway") {
    a.clock.Set(kStart - absl::Seconds(60));
    CHECK(a.Validate(token).ok());
    a.clock.Set(kStart - absl::Seconds(61));
    CHECK(StatusIs(a.Validate(token), kUnauth, "token is not valid before"));
  }
  SECTION("issued in the future") {
    Members claims =
        With(a.EdClaims(), "iat",
             absl::StrCat(absl::ToUnixSeconds(kStart + absl::Seconds(90))));
    CHECK(StatusIs(a.Validate(a.Crafted(claims)), kUnauth, "is in the future"));
  }
  SECTION("lifetime too long") {
    TokenValidatorOptions options = Options();
    options.max_lifetime = absl::Minutes(2);
    CHECK(StatusIs(a.Validate(token, TokenPurpose::kSign, options), kUnauth,
                   "token lives 5m; max 2m"));
    const int64_t t = absl::ToUnixSeconds(kStart);
    CHECK(StatusIs(a.Validate(a.Crafted(
                       With(a.EdClaims(), "exp", absl::StrCat(t + 7201)))),
                   kUnauth, "max 1h"));
    // An old iat with a fresh nbf does not stretch the lifetime either.
    Members old_iat = With(a.EdClaims(), "iat", absl::StrCat(t - 3600));
    CHECK(StatusIs(a.Validate(a.Crafted(old_iat)), kUnauth, "max 1h"));
  }
  SECTION("exp must be after nbf") {
    const int64_t t = absl::ToUnixSeconds(kStart);
    CHECK(StatusIs(
        a.Validate(a.Crafted(With(a.EdClaims(), "exp", absl::StrCat(t)))),
        kUnauth, "exp is not after its nbf"));
  }
  SECTION("issued before the CA would accept tokens") {
    TokenValidatorOptions options = Options();
    options.not_issued_before = kStart + absl::Milliseconds(500);
    CHECK(a.Validate(token, TokenPurpose::kSign, options).ok());  // seconds
    options.not_issued_before = kStart + absl::Seconds(1);
    CHECK(StatusIs(a.Validate(token, TokenPurpose::kSign, options), kUnauth,
                   "when tokens became acceptable"));
  }
  SECTION("nbf, iat and exp are required") {
    for (const char* name : {"nbf", "iat", "exp"}) {
      INFO(name);
      CHECK(StatusIs(a.Validate(a.Crafted(Without(a.EdClaims(), name))),
                     kUnauth, absl::StrCat("token has no ", name)));
    }
  }
  SECTION("times must be integers") {
    for (const char* value : {"1795567539.5", "\"1795567539\"", "1e99"}) {
      INFO(value);
      CHECK(StatusIs(a.Validate(a.Crafted(With(a.EdClaims(), "nbf", value))),
                     kUnauth, "malformed"));
    }
  }
}

TEST_CASE("Token: keys and issuers", "[token]") {
  Abuse a;
  const Provisioner& admin = a.provisioners[0];
  const Provisioner& ed = a.provisioners[1];
  CHECK(a.Validate(MustSign(a.signer, SignRequest())).ok());
  CHECK(a.Validate(a.Crafted(a.EdClaims())).ok());

  SECTION("signed by another key under the provisioner's kid") {
    for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
      INFO(KeyTypeName(type));
      TokenSigner other(NewKey(type), admin.kid, admin.name, a.clock);
      CHECK(StatusIs(a.Validate(MustSign(other, SignRequest())), kUnauth,
                     "token signature is invalid"));
    }
  }
  SECTION("kid and iss of another provisioner, signed with the first key") {
    TokenSigner other(a.key, ed.kid, ed.name, a.clock);
    CHECK(StatusIs(a.Validate(MustSign(other, SignRequest())), kUnauth,
                   "token signature is invalid"));
  }
  SECTION("kid of one provisioner, iss of another") {
    TokenSigner mixed(a.key, admin.kid, ed.name, a.clock);
    CHECK(StatusIs(a.Validate(MustSign(mixed, SignRequest())), kUnauth,
                   "token iss \"ed@example.com\" is not the provisioner"));
  }
  SECTION("iss that no provisioner has") {
    TokenSigner wrong(a.key, admin.kid, "mallory@example.com", a.clock);
    CHECK(StatusIs(a.Validate(MustSign(wrong, SignRequest())), kUnauth,
                   "is not the provisioner with kid"));
    CHECK(StatusIs(a.Validate(a.Crafted(Without(a.EdClaims(), "iss"))), kUnauth,
                   "token has no iss"));
  }
  SECTION("unknown or missing kid") {
    TokenSigner unknown(a.key, "no-such-kid", admin.name, a.clock);
    CHECK(StatusIs(a.Validate(MustSign(unknown, SignRequest())), kUnauth,
                   "token kid \"no-such-kid\" names no provisioner"));
    TokenSigner none(a.key, "", admin.name, a.clock);
    CHECK(
        StatusIs(a.Validate(MustSign(none, SignRequest())), kUnauth, "no kid"));
  }
  SECTION("no provisioners at all") {
    CHECK(StatusIs(
        ValidateToken(MustSign(a.signer, SignRequest()), TokenPurpose::kSign,
                      {}, Options(), a.clock.Now())
            .status(),
        kUnauth, "names no provisioner"));
  }
}

TEST_CASE("Token: forged and malformed tokens", "[token]") {
  Abuse a;
  const Provisioner& admin = a.provisioners[0];
  const std::string payload = Object(GoodClaims(admin, a.clock.Now()));

  SECTION("alg none") {
    std::string header = absl::StrCat(R"({"alg":"none","kid":")", admin.kid,
                                      R"(","typ":"JWT"})");
    for (absl::string_view sig : {"", "x"}) {
      std::string token =
          absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload),
                       ".", Base64UrlEncode(sig));
      CHECK(StatusIs(a.Validate(token), kUnauth, "token is malformed"));
    }
  }
  SECTION("HS256 keyed with the public key") {
    std::string header = Header(admin, "HS256");
    std::string token =
        absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(payload),
                     ".", Base64UrlEncode(std::string(32, 'h')));
    CHECK(StatusIs(a.Validate(token), kUnauth, "no hmac"));
  }
  SECTION("ES384 header on a P-256 provisioner") {
    std::string token = absl::StrCat(Base64UrlEncode(Header(admin, "ES384")),
                                     ".", Base64UrlEncode(payload), ".",
                                     Base64UrlEncode(std::string(96, 's')));
    CHECK(StatusIs(a.Validate(token), kUnauth, "token signature is invalid"));
  }
  SECTION("tampered claims keep the old signature") {
    std::string token = MustSign(a.signer, SignRequest());
    std::vector<std::string> parts = Parts(token);
    std::string claims = Decode(parts[1]);
    absl::StrReplaceAll({{"svc.example.com", "admin.example.com"}}, &claims);
    parts[1] = Base64UrlEncode(claims);
    CHECK(StatusIs(a.Validate(absl::StrJoin(parts, ".")), kUnauth,
                   "token signature is invalid"));
  }
  SECTION("unknown crit, even when properly signed") {
    std::string header =
        absl::StrCat(R"({"alg":"EdDSA","crit":["exp"],"exp":1,"kid":")",
                     a.provisioners[1].kid, R"(","typ":"JWT"})");
    CHECK(StatusIs(
        a.Validate(Ed25519Token(a.ed_key, header, Object(a.EdClaims()))),
        kUnauth, "crit"));
  }
  SECTION("a header carrying its own key") {
    std::string header =
        absl::StrCat(R"({"alg":"EdDSA","jwk":{},"kid":")",
                     a.provisioners[1].kid, R"(","typ":"JWT"})");
    CHECK(StatusIs(
        a.Validate(Ed25519Token(a.ed_key, header, Object(a.EdClaims()))),
        kUnauth, "jwk"));
  }
  SECTION("duplicate claims") {
    std::string claims = Object(a.EdClaims());
    claims.insert(1, R"("sub":"admin.example.com",)");
    CHECK(StatusIs(
        a.Validate(Ed25519Token(a.ed_key, Header(a.provisioners[1]), claims)),
        kUnauth, "duplicate"));
  }
  SECTION("not a JWS") {
    for (absl::string_view bad : {"", "a.b", "a.b.c.d", "...", "eyJ.eyJ.x"}) {
      INFO(bad);
      CHECK(StatusIs(a.Validate(bad), kUnauth, "token is malformed"));
    }
  }
  SECTION("oversized") {
    TokenRequest req = SignRequest();
    for (int i = 0; i < 1000; ++i) {
      req.sans.push_back(absl::StrCat("host-", i, ".svc.example.com"));
    }
    std::string token = MustSign(a.signer, req);
    REQUIRE(token.size() > 16 * 1024);
    CHECK(StatusIs(a.Validate(token), kUnauth, "bytes; max 16384"));
    TokenValidatorOptions options = Options();
    options.max_token_bytes = 256;
    CHECK(StatusIs(a.Validate(MustSign(a.signer, SignRequest()),
                              TokenPurpose::kSign, options),
                   kUnauth, "bytes; max 256"));
  }
}

TEST_CASE("Token: sha, sub and jti", "[token]") {
  Abuse a;
  SECTION("sha must be one of the roots") {
    TokenRequest req = SignRequest();
    req.root_fingerprint = std::string(64, 'd');
    CHECK(StatusIs(a.Validate(MustSign(a.signer, req)), kUnauth,
                   "is not the fingerprint of a root"));
    req.root_fingerprint = std::string(63, 'a');  // a prefix of kRootSha
    CHECK(StatusIs(a.Validate(MustSign(a.signer, req)), kUnauth, "sha"));
    req.root_fingerprint = absl::AsciiStrToUpper(kRootSha);
    CHECK(StatusIs(a.Validate(MustSign(a.signer, req)), kUnauth, "sha"));
    CHECK(StatusIs(a.Validate(a.Crafted(With(a.EdClaims(), "sha", "\"\""))),
                   kUnauth, "sha"));
  }
  SECTION("a sha with no roots configured is refused; no sha is fine") {
    TokenValidatorOptions options = Options();
    options.root_fingerprints.clear();
    CHECK(StatusIs(a.Validate(MustSign(a.signer, SignRequest()),
                              TokenPurpose::kSign, options),
                   kUnauth, "sha"));
    TokenRequest req = SignRequest();
    req.root_fingerprint.clear();
    CHECK(
        a.Validate(MustSign(a.signer, req), TokenPurpose::kSign, options).ok());
  }
  SECTION("sub is required") {
    CHECK(StatusIs(a.Validate(a.Crafted(Without(a.EdClaims(), "sub"))), kUnauth,
                   "token sub"));
    CHECK(StatusIs(a.Validate(a.Crafted(With(a.EdClaims(), "sub", "\"\""))),
                   kUnauth, "token sub"));
  }
  SECTION("jti is required and bounded") {
    CHECK(StatusIs(a.Validate(a.Crafted(Without(a.EdClaims(), "jti"))), kUnauth,
                   "token jti is missing"));
    CHECK(StatusIs(a.Validate(a.Crafted(With(a.EdClaims(), "jti", "\"\""))),
                   kUnauth, "token jti is missing"));
    CHECK(a.Validate(a.Crafted(With(a.EdClaims(), "jti",
                                    Quote(std::string(256, 'j')))))
              .ok());
    CHECK(StatusIs(a.Validate(a.Crafted(With(a.EdClaims(), "jti",
                                             Quote(std::string(257, 'j'))))),
                   kUnauth, "token jti is 257 bytes; max 256"));
    CHECK(StatusIs(a.Validate(a.Crafted(With(a.EdClaims(), "jti", "7"))),
                   kUnauth, "malformed"));
  }
  SECTION("a sign token without sans authorises its subject") {
    auto valid = ValidateToken(a.Crafted(Without(a.EdClaims(), "sans")),
                               TokenPurpose::kSign, a.provisioners, Options(),
                               a.clock.Now());
    REQUIRE(valid.ok());
    CHECK(valid->claims.sans == std::vector<std::string>{"svc.example.com"});
    CHECK(StatusIs(
        a.Validate(a.Crafted(With(a.EdClaims(), "sans", R"(["a",1])"))),
        kUnauth, "sans"));
  }
  SECTION("error messages never contain the token") {
    std::string token = a.Crafted(Without(a.EdClaims(), "jti"));
    absl::Status status = a.Validate(token);
    REQUIRE(!status.ok());
    for (const std::string& part : Parts(token)) {
      CHECK(!absl::StrContains(status.message(), part));
    }
  }
}

TEST_CASE("Token: signer refuses bad requests", "[token]") {
  FakeClock clock(kStart);
  PrivateKey key = NewKey(KeyType::kP256);
  TokenSigner signer(key, "kid", "admin@example.com", clock);
  TokenRequest req = SignRequest();
  for (absl::Duration ok : {absl::Seconds(10), absl::Hours(1)}) {
    req.lifetime = ok;
    CHECK(signer.Sign(req).ok());
  }
  for (absl::Duration bad :
       {absl::Seconds(9), absl::Hours(1) + absl::Seconds(1),
        absl::ZeroDuration(), -absl::Minutes(5)}) {
    req.lifetime = bad;
    CHECK(StatusIs(signer.Sign(req).status(), kInvalid, "token lifetime"));
  }
  req = SignRequest();
  req.subject.clear();
  CHECK(StatusIs(signer.Sign(req).status(), kInvalid, "subject"));
  req = SignRequest();
  req.audience.clear();
  CHECK(StatusIs(signer.Sign(req).status(), kInvalid, "audience"));
  req = SignRequest();
  req.sans = {"ok", std::string("\xff\xfe")};
  CHECK(StatusIs(signer.Sign(req).status(), kInvalid, "utf-8"));
}

TEST_CASE("Token: ParseTokenClaims does not verify but is strict", "[token]") {
  FakeClock clock(kStart);
  TokenSigner signer(NewKey(KeyType::kEd25519), "kid", "x@example.com", clock);
  auto claims = ParseTokenClaims(MustSign(signer, RevokeRequest()));
  REQUIRE(claims.ok());
  CHECK(claims->subject == RevokeRequest().subject);
  CHECK(claims->sans.empty());
  CHECK(StatusIs(ParseTokenClaims("a.b.c").status(), kInvalid));
  CHECK(StatusIs(ParseTokenClaims("").status(), kInvalid));
}

}  // namespace
}  // namespace mayfly

#include "mayfly/provisioner.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "mayfly/jose.h"
#include "mayfly/key.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::StatusIs;

// Tests that do not care about the PBKDF2 work factor use the minimum.
constexpr uint32_t kFastP2c = 1000;

constexpr char kStepKid[] = "c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE";

std::string Password() { return testing::Testdata("step/password.txt"); }

absl::Duration Ns(int64_t n) { return absl::Nanoseconds(n); }

rapidjson::Document ParseJson(absl::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  INFO(text);
  REQUIRE(!doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  v.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

// ---------------------------------------------------------------------------
// Go durations.

TEST_CASE("Provisioner: FormatDuration writes Go's format", "[provisioner]") {
  struct Case {
    absl::Duration d;
    const char* want;
  };
  const Case cases[] = {
      {absl::ZeroDuration(), "0s"},
      {Ns(1), "1ns"},
      {Ns(999), "999ns"},
      {Ns(1000), "1\xC2\xB5s"},
      {Ns(1100), "1.1\xC2\xB5s"},
      {absl::Microseconds(2200), "2.2ms"},
      {absl::Milliseconds(1), "1ms"},
      {absl::Milliseconds(999), "999ms"},
      {absl::Seconds(1), "1s"},
      {absl::Milliseconds(1500), "1.5s"},
      {absl::Seconds(90), "1m30s"},
      {absl::Minutes(5), "5m0s"},
      {absl::Minutes(1), "1m0s"},
      {absl::Hours(1), "1h0m0s"},
      {absl::Hours(24), "24h0m0s"},
      {absl::Hours(24) + absl::Minutes(1), "24h1m0s"},
      {absl::Hours(87600), "87600h0m0s"},
      {absl::Hours(1) + absl::Minutes(2) + absl::Milliseconds(3004),
       "1h2m3.004s"},
      {absl::Seconds(3) + Ns(1), "3.000000001s"},
      {-absl::Minutes(5), "-5m0s"},
      {-Ns(1), "-1ns"},
      {-absl::Milliseconds(1500), "-1.5s"},
      {Ns(std::numeric_limits<int64_t>::max()), "2562047h47m16.854775807s"},
      {Ns(std::numeric_limits<int64_t>::min()), "-2562047h47m16.854775808s"},
      // absl keeps sub-nanosecond precision and infinities; Go cannot.
      {Ns(1) / 4, "0s"},
      {absl::InfiniteDuration(), "2562047h47m16.854775807s"},
      {-absl::InfiniteDuration(), "-2562047h47m16.854775808s"},
  };
  for (const Case& c : cases) {
    INFO(c.want);
    CHECK(mayfly::FormatDuration(c.d) == c.want);
  }
}

TEST_CASE("Provisioner: ParseGoDuration reads Go's grammar", "[provisioner]") {
  // Vectors from Go's time.ParseDuration behaviour.
  struct Case {
    const char* text;
    absl::Duration want;
  };
  const Case cases[] = {
      {"0", absl::ZeroDuration()},
      {"-0", absl::ZeroDuration()},
      {"+0", absl::ZeroDuration()},
      {"0s", absl::ZeroDuration()},
      {"5s", absl::Seconds(5)},
      {"30s", absl::Seconds(30)},
      {"1478s", absl::Seconds(1478)},
      {"-5s", -absl::Seconds(5)},
      {"+5s", absl::Seconds(5)},
      {"5.0s", absl::Seconds(5)},
      {"5.6s", absl::Milliseconds(5600)},
      {"5.s", absl::Seconds(5)},
      {".5s", absl::Milliseconds(500)},
      {"1.004s", absl::Milliseconds(1004)},
      {"1.0040s", absl::Milliseconds(1004)},
      {"100.00100s", absl::Milliseconds(100001)},
      {"10ns", Ns(10)},
      {"11us", absl::Microseconds(11)},
      {"12\xC2\xB5s", absl::Microseconds(12)},  // U+00B5
      {"12\xCE\xBCs", absl::Microseconds(12)},  // U+03BC
      {"13ms", absl::Milliseconds(13)},
      {"14s", absl::Seconds(14)},
      {"15m", absl::Minutes(15)},
      {"16h", absl::Hours(16)},
      {"90m", absl::Minutes(90)},
      {"3h30m", absl::Hours(3) + absl::Minutes(30)},
      {"1h30m", absl::Minutes(90)},
      {"10.5s4m", absl::Minutes(4) + absl::Milliseconds(10500)},
      {"-2m3.4s", -(absl::Minutes(2) + absl::Milliseconds(3400))},
      {"1h2m3s4ms5us6ns", absl::Hours(1) + absl::Minutes(2) + absl::Seconds(3) +
                              absl::Milliseconds(4) + absl::Microseconds(5) +
                              Ns(6)},
      {"39h9m14.425s",
       absl::Hours(39) + absl::Minutes(9) + absl::Milliseconds(14425)},
      {"52763797000ns", Ns(52763797000)},
      {"0.3333333333333333333h", absl::Minutes(20)},
      {"9007199254740993ns", Ns(9007199254740993)},
      {"9223372036854775807ns", Ns(std::numeric_limits<int64_t>::max())},
      {"9223372036854775.807us", Ns(std::numeric_limits<int64_t>::max())},
      {"9223372036s854ms775us807ns", Ns(std::numeric_limits<int64_t>::max())},
      {"-9223372036854775808ns", Ns(std::numeric_limits<int64_t>::min())},
      {"-9223372036854775.808us", Ns(std::numeric_limits<int64_t>::min())},
      {"-2562047h47m16.854775808s", Ns(std::numeric_limits<int64_t>::min())},
      {"0.100000000000000000000h", absl::Minutes(6)},
      {"0.830103483285477580700h",
       absl::Minutes(49) + absl::Seconds(48) + Ns(372539827)},
      {"24h0m0s", absl::Hours(24)},
      {"5m0s", absl::Minutes(5)},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    absl::StatusOr<absl::Duration> got = ParseGoDuration(c.text);
    REQUIRE(got.ok());
    CHECK(*got == c.want);
  }
}

TEST_CASE("Provisioner: ParseGoDuration refuses what Go refuses",
          "[provisioner]") {
  struct Case {
    std::string text;
    const char* why;
  };
  const Case cases[] = {
      {"", "empty"},
      {"-", "empty"},
      {"+", "empty"},
      {"3", "missing unit"},
      {"1h30", "missing unit"},
      {"-.", "expected digits"},
      {".", "expected digits"},
      {".s", "expected digits"},
      {"+.s", "expected digits"},
      {"s", "expected a number"},
      {"1d", "unknown unit"},
      {"1H", "unknown unit"},
      {"1h 30m", "unknown unit"},
      {" 1h", "expected a number"},
      {"1h-30m", "unknown unit"},
      {"\x85\x85", "expected a number"},
      {"\xff\xff", "expected a number"},
      {"hello \xff\xff world", "expected a number"},
      {"1\xC2s", "unknown unit"},
      {"9223372036854775808ns", "out of range"},
      {"9223372036854775810ns", "out of range"},
      {"-9223372036854775809ns", "out of range"},
      {"9223372036854775.808us", "out of range"},
      {"3000000h", "out of range"},
      {"2562047h47m16.854775808s", "out of range"},
      {"99999999999999999999s", "out of range"},
      {std::string("1s\0", 3), "unknown unit \"s\\000\""},
  };
  for (const Case& c : cases) {
    INFO(absl::CEscape(c.text));
    CHECK(StatusIs(ParseGoDuration(c.text).status(),
                   absl::StatusCode::kInvalidArgument, c.why));
  }
  // The error quotes the input (escaped and cut short), never more.
  absl::Status long_input = ParseGoDuration(std::string(1000, '9')).status();
  CHECK(long_input.message().size() < 200);
}

TEST_CASE("Provisioner: FormatDuration output parses back", "[provisioner]") {
  const absl::Duration durations[] = {
      absl::ZeroDuration(),
      Ns(1),
      Ns(1234),
      absl::Milliseconds(7),
      absl::Seconds(61),
      absl::Minutes(5),
      absl::Hours(24),
      -absl::Hours(3),
      absl::Hours(100) + Ns(5),
      Ns(std::numeric_limits<int64_t>::max()),
      Ns(std::numeric_limits<int64_t>::min()),
  };
  for (absl::Duration d : durations) {
    const std::string text = mayfly::FormatDuration(d);
    INFO(text);
    absl::StatusOr<absl::Duration> back = ParseGoDuration(text);
    REQUIRE(back.ok());
    CHECK(*back == d);
  }
}

// ---------------------------------------------------------------------------
// Claims.

TEST_CASE("Provisioner: ResolveClaims precedence", "[provisioner]") {
  Claims none;

  SECTION("built-in defaults") {
    auto r = ResolveClaims(none, none);
    REQUIRE(r.ok());
    CHECK(r->min_tls_duration == absl::Minutes(5));
    CHECK(r->max_tls_duration == absl::Hours(24));
    CHECK(r->default_tls_duration == absl::Hours(24));
    CHECK(!r->disable_renewal);
    CHECK(!r->allow_renewal_after_expiry);
    CHECK(r->renewal_grace_period == absl::Hours(24));
  }

  SECTION("authority over built-in, provisioner over authority") {
    Claims authority;
    authority.max_tls_duration = absl::Hours(48);
    authority.min_tls_duration = absl::Minutes(1);
    authority.allow_renewal_after_expiry = true;
    authority.renewal_grace_period = absl::Hours(2);
    Claims provisioner;
    provisioner.max_tls_duration = absl::Hours(12);
    provisioner.default_tls_duration = absl::Hours(6);
    provisioner.disable_renewal = true;

    auto a = ResolveClaims(none, authority);
    REQUIRE(a.ok());
    CHECK(a->min_tls_duration == absl::Minutes(1));
    CHECK(a->max_tls_duration == absl::Hours(48));
    CHECK(a->default_tls_duration == absl::Hours(24));
    CHECK(a->allow_renewal_after_expiry);
    CHECK(a->renewal_grace_period == absl::Hours(2));
    CHECK(!a->disable_renewal);

    auto p = ResolveClaims(provisioner, authority);
    REQUIRE(p.ok());
    CHECK(p->min_tls_duration == absl::Minutes(1));
    CHECK(p->max_tls_duration == absl::Hours(12));
    CHECK(p->default_tls_duration == absl::Hours(6));
    CHECK(p->disable_renewal);
    CHECK(p->allow_renewal_after_expiry);
    CHECK(p->renewal_grace_period == absl::Hours(2));

    // A provisioner's explicit false beats the authority's true.
    provisioner.allow_renewal_after_expiry = false;
    auto q = ResolveClaims(provisioner, authority);
    REQUIRE(q.ok());
    CHECK(!q->allow_renewal_after_expiry);
  }

  SECTION("a default set alone outside the bounds moves the bound") {
    Claims provisioner;
    provisioner.default_tls_duration = absl::Hours(48);
    auto above = ResolveClaims(provisioner, none);
    REQUIRE(above.ok());
    CHECK(above->max_tls_duration == absl::Hours(48));
    CHECK(above->min_tls_duration == absl::Minutes(5));

    provisioner.default_tls_duration = absl::Minutes(1);
    auto below = ResolveClaims(provisioner, none);
    REQUIRE(below.ok());
    CHECK(below->min_tls_duration == absl::Minutes(1));
    CHECK(below->max_tls_duration == absl::Hours(24));

    // The same rule applies to the authority's own claims against the
    // built-in defaults.
    Claims authority;
    authority.default_tls_duration = absl::Hours(72);
    auto a = ResolveClaims(none, authority);
    REQUIRE(a.ok());
    CHECK(a->max_tls_duration == absl::Hours(72));

    // The authority's min follows its default down too.
    Claims short_lived;
    short_lived.max_tls_duration = absl::Minutes(1);
    short_lived.default_tls_duration = absl::Minutes(1);
    auto s = ResolveClaims(none, short_lived);
    REQUIRE(s.ok());
    CHECK(s->min_tls_duration == absl::Minutes(1));

    // And against the authority's bounds, not only the built-in ones.
    Claims strict;
    strict.max_tls_duration = absl::Hours(1);
    strict.default_tls_duration = absl::Hours(1);
    Claims p2;
    p2.default_tls_duration = absl::Hours(2);
    auto b = ResolveClaims(p2, strict);
    REQUIRE(b.ok());
    CHECK(b->max_tls_duration == absl::Hours(2));
  }

  SECTION("an explicit bound does not move") {
    Claims provisioner;
    provisioner.default_tls_duration = absl::Hours(48);
    provisioner.max_tls_duration = absl::Hours(24);
    CHECK(StatusIs(ResolveClaims(provisioner, none).status(),
                   absl::StatusCode::kInvalidArgument,
                   "provisioner claims: defaultTLSCertDuration 48h0m0s is "
                   "above maxTLSCertDuration 24h0m0s"));
  }
}

TEST_CASE("Provisioner: ResolveClaims refuses inconsistent claims",
          "[provisioner]") {
  Claims none;
  struct Case {
    const char* name;
    Claims provisioner;
    Claims authority;
    const char* fragment;
  };
  std::vector<Case> cases;
  {
    Case c{"min zero", {}, {}, "provisioner claims: minTLSCertDuration is 0s"};
    c.provisioner.min_tls_duration = absl::ZeroDuration();
    cases.push_back(c);
  }
  {
    Case c{"max negative", {}, {}, "maxTLSCertDuration is -1h0m0s"};
    c.provisioner.max_tls_duration = -absl::Hours(1);
    cases.push_back(c);
  }
  {
    // The unset min follows the default down to 0 (step-ca's rule), so the
    // min is what is reported.
    Case c{"default zero", {}, {}, "minTLSCertDuration is 0s; must be above 0"};
    c.provisioner.default_tls_duration = absl::ZeroDuration();
    cases.push_back(c);
  }
  {
    Case c{"min above max",
           {},
           {},
           "maxTLSCertDuration 1h0m0s is below minTLSCertDuration 2h0m0s"};
    c.provisioner.min_tls_duration = absl::Hours(2);
    c.provisioner.max_tls_duration = absl::Hours(1);
    c.provisioner.default_tls_duration = absl::Hours(1);
    cases.push_back(c);
  }
  {
    Case c{"default below min",
           {},
           {},
           "defaultTLSCertDuration 30m0s is below minTLSCertDuration 1h0m0s"};
    c.provisioner.min_tls_duration = absl::Hours(1);
    c.provisioner.default_tls_duration = absl::Minutes(30);
    cases.push_back(c);
  }
  {
    // Only max set: the inherited 24h default is then above it.
    Case c{"inherited default above max",
           {},
           {},
           "provisioner claims: defaultTLSCertDuration 24h0m0s is above "
           "maxTLSCertDuration 1h0m0s"};
    c.provisioner.max_tls_duration = absl::Hours(1);
    cases.push_back(c);
  }
  {
    Case c{"bad authority claims",
           {},
           {},
           "authority claims: maxTLSCertDuration 1m0s is below "
           "minTLSCertDuration 10m0s"};
    c.authority.max_tls_duration = absl::Minutes(1);
    c.authority.min_tls_duration = absl::Minutes(10);
    cases.push_back(c);
  }
  {
    Case c{"negative grace", {}, {}, "renewalGracePeriod -1s is negative"};
    c.provisioner.renewal_grace_period = -absl::Seconds(1);
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(StatusIs(ResolveClaims(c.provisioner, c.authority).status(),
                   absl::StatusCode::kInvalidArgument, c.fragment));
  }
  (void)none;
}

// ---------------------------------------------------------------------------
// FromPrivateKey / DecryptKey.

TEST_CASE("Provisioner: FromPrivateKey then DecryptKey round-trips",
          "[provisioner]") {
  const KeyType types[] = {KeyType::kP256, KeyType::kP384, KeyType::kEd25519};
  const char* algs[] = {"ES256", "ES384", "EdDSA"};
  for (int i = 0; i < 3; ++i) {
    INFO(KeyTypeName(types[i]));
    auto key = PrivateKey::Generate(types[i]);
    REQUIRE(key.ok());
    Claims claims;
    claims.max_tls_duration = absl::Hours(2);
    claims.default_tls_duration = absl::Hours(1);
    auto p = Provisioner::FromPrivateKey("ci@example.com", *key, Password(),
                                         claims, kFastP2c);
    REQUIRE(p.ok());
    CHECK(p->name == "ci@example.com");
    CHECK(p->kid == key->public_key().JwkThumbprint());
    CHECK(p->key.Equals(key->public_key()));
    CHECK(p->claims.max_tls_duration == absl::Hours(2));
    CHECK(p->claims.default_tls_duration == absl::Hours(1));

    // The public JWK: use "sig", the key's alg, the kid, nothing private.
    rapidjson::Document jwk = ParseJson(p->key_json);
    CHECK(std::string(jwk["use"].GetString()) == "sig");
    CHECK(std::string(jwk["alg"].GetString()) == algs[i]);
    CHECK(std::string(jwk["kid"].GetString()) == p->kid);
    CHECK(!jwk.HasMember("d"));

    // The encrypted key: a compact JWE as step writes it.
    std::vector<std::string> parts = absl::StrSplit(p->encrypted_key, '.');
    REQUIRE(parts.size() == 5);
    auto header_text = internal::Base64UrlDecode(parts[0], "header");
    REQUIRE(header_text.ok());
    rapidjson::Document header = ParseJson(*header_text);
    CHECK(std::string(header["alg"].GetString()) == "PBES2-HS256+A128KW");
    CHECK(std::string(header["enc"].GetString()) == "A256GCM");
    CHECK(std::string(header["cty"].GetString()) == "jwk+json");
    CHECK(header["p2c"].GetInt() == static_cast<int>(kFastP2c));

    auto decrypted = p->DecryptKey(Password());
    REQUIRE(decrypted.ok());
    CHECK(decrypted->public_key().Equals(key->public_key()));
    CHECK(decrypted->type() == types[i]);

    // A wrong password is Unauthenticated, and the message holds no secret.
    absl::Status wrong = p->DecryptKey("not-the-password").status();
    CHECK(StatusIs(wrong, absl::StatusCode::kUnauthenticated));
    CHECK(wrong.message().find("not-the-password") == absl::string_view::npos);
  }
}

TEST_CASE("Provisioner: FromPrivateKey refuses bad input", "[provisioner]") {
  auto key = PrivateKey::Generate();
  REQUIRE(key.ok());
  CHECK(StatusIs(
      Provisioner::FromPrivateKey("", *key, "pw", {}, kFastP2c).status(),
      absl::StatusCode::kInvalidArgument, "name is empty"));
  CHECK(StatusIs(
      Provisioner::FromPrivateKey("p", *key, "", {}, kFastP2c).status(),
      absl::StatusCode::kInvalidArgument, "password is empty"));
  CHECK(StatusIs(Provisioner::FromPrivateKey("p", *key, "pw", {}, 10).status(),
                 absl::StatusCode::kInvalidArgument, "p2c"));
  Claims negative;
  negative.min_tls_duration = -absl::Minutes(1);
  CHECK(StatusIs(
      Provisioner::FromPrivateKey("p", *key, "pw", negative, kFastP2c).status(),
      absl::StatusCode::kInvalidArgument, "minTLSCertDuration"));

  auto rsa = PrivateKey::FromPem(testing::Testdata("step/rsa-csr.key"));
  REQUIRE(rsa.ok());
  REQUIRE(rsa->type() == KeyType::kRsa);
  CHECK(StatusIs(
      Provisioner::FromPrivateKey("p", *rsa, "pw", {}, kFastP2c).status(),
      absl::StatusCode::kInvalidArgument, "RSA"));
}

TEST_CASE("Provisioner: DecryptKey errors", "[provisioner]") {
  auto key_a = PrivateKey::Generate();
  auto key_b = PrivateKey::Generate();
  REQUIRE(key_a.ok());
  REQUIRE(key_b.ok());
  auto a = Provisioner::FromPrivateKey("a", *key_a, "pw", {}, kFastP2c);
  auto b = Provisioner::FromPrivateKey("b", *key_b, "pw", {}, kFastP2c);
  REQUIRE(a.ok());
  REQUIRE(b.ok());

  SECTION("no encrypted key") {
    Provisioner p = *a;
    p.encrypted_key.clear();
    CHECK(StatusIs(p.DecryptKey("pw").status(),
                   absl::StatusCode::kFailedPrecondition, "no encrypted key"));
  }
  SECTION("an encrypted key of another provisioner") {
    Provisioner p = *a;
    p.encrypted_key = b->encrypted_key;
    CHECK(StatusIs(p.DecryptKey("pw").status(),
                   absl::StatusCode::kInvalidArgument,
                   "does not match its public key"));
  }
  SECTION("a JWE that does not hold a JWK") {
    JweEncryptOptions options;
    options.p2c = kFastP2c;
    // Built with the JWE primitive: any plaintext.
    Provisioner p = *a;
    auto jwe = [&] {
      auto r = mayfly::EncryptJwe("{\"kty\":\"oct\"}", "pw", options);
      REQUIRE(r.ok());
      return *r;
    }();
    p.encrypted_key = jwe;
    CHECK(StatusIs(p.DecryptKey("pw").status(),
                   absl::StatusCode::kInvalidArgument, "not a private JWK"));
  }
  SECTION("garbage") {
    Provisioner p = *a;
    p.encrypted_key = "not.a.jwe";
    CHECK(StatusIs(p.DecryptKey("pw").status(),
                   absl::StatusCode::kInvalidArgument));
  }
}

// ---------------------------------------------------------------------------
// Parse / ToJson.

TEST_CASE("Provisioner: ToJson and Parse round-trip", "[provisioner]") {
  auto key = PrivateKey::Generate();
  REQUIRE(key.ok());
  Claims claims;
  claims.min_tls_duration = absl::Minutes(1);
  claims.max_tls_duration = absl::Hours(48);
  claims.default_tls_duration = absl::Hours(24);
  claims.disable_renewal = false;
  claims.allow_renewal_after_expiry = true;
  claims.renewal_grace_period = absl::Minutes(90);
  auto p = Provisioner::FromPrivateKey("ci@example.com", *key, "pw", claims,
                                       kFastP2c);
  REQUIRE(p.ok());

  const std::string json = p->ToJson();
  INFO(json);
  // step's member order and Go durations.
  const size_t type_at = json.find("\"type\":\"JWK\"");
  const size_t name_at = json.find("\"name\":");
  const size_t key_at = json.find("\"key\":");
  const size_t enc_at = json.find("\"encryptedKey\":");
  const size_t claims_at = json.find("\"claims\":");
  CHECK(type_at == 1);
  CHECK(type_at < name_at);
  CHECK(name_at < key_at);
  CHECK(key_at < enc_at);
  CHECK(enc_at < claims_at);
  CHECK(claims_at != std::string::npos);
  CHECK(json.find("\"minTLSCertDuration\":\"1m0s\"") != std::string::npos);
  CHECK(json.find("\"maxTLSCertDuration\":\"48h0m0s\"") != std::string::npos);
  CHECK(json.find("\"defaultTLSCertDuration\":\"24h0m0s\"") !=
        std::string::npos);
  CHECK(json.find("\"disableRenewal\":false") != std::string::npos);
  CHECK(json.find("\"allowRenewalAfterExpiry\":true") != std::string::npos);
  CHECK(json.find("\"renewalGracePeriod\":\"1h30m0s\"") != std::string::npos);

  auto back = Provisioner::Parse(json);
  REQUIRE(back.ok());
  CHECK(back->name == p->name);
  CHECK(back->kid == p->kid);
  CHECK(back->key.Equals(p->key));
  CHECK(back->key_json == p->key_json);
  CHECK(back->encrypted_key == p->encrypted_key);
  CHECK(back->claims.min_tls_duration == claims.min_tls_duration);
  CHECK(back->claims.max_tls_duration == claims.max_tls_duration);
  CHECK(back->claims.default_tls_duration == claims.default_tls_duration);
  CHECK(back->claims.disable_renewal == claims.disable_renewal);
  CHECK(back->claims.allow_renewal_after_expiry ==
        claims.allow_renewal_after_expiry);
  CHECK(back->claims.renewal_grace_period == claims.renewal_grace_period);
  CHECK(back->ToJson() == json);

  SECTION("empty members are omitted") {
    Provisioner bare = *p;
    bare.encrypted_key.clear();
    bare.claims = Claims();
    const std::string text = bare.ToJson();
    CHECK(text.find("encryptedKey") == std::string::npos);
    CHECK(text.find("claims") == std::string::npos);
    auto parsed = Provisioner::Parse(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->encrypted_key.empty());
    CHECK(!parsed->claims.min_tls_duration.has_value());
  }

  SECTION("a provisioner built in code without key_json") {
    Provisioner coded(key->public_key());
    coded.name = "coded";
    coded.kid = "kid-1";
    auto parsed = Provisioner::Parse(coded.ToJson());
    REQUIRE(parsed.ok());
    CHECK(parsed->kid == "kid-1");
    CHECK(parsed->key.Equals(key->public_key()));
  }
}

TEST_CASE("Provisioner: Parse reads step's provisioner objects",
          "[provisioner]") {
  const std::string listing = testing::Testdata("step/provisioners.json");
  rapidjson::Document doc = ParseJson(listing);
  REQUIRE(doc["provisioners"].IsArray());
  REQUIRE(doc["provisioners"].Size() == 1);
  auto p = Provisioner::Parse(Serialize(doc["provisioners"][0]));
  REQUIRE(p.ok());
  CHECK(p->name == "admin@example.com");
  CHECK(p->kid == kStepKid);
  CHECK(p->key.type() == KeyType::kP256);
  CHECK(p->key.JwkThumbprint() == kStepKid);
  CHECK(p->encrypted_key.rfind("eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ci", 0) == 0);
  CHECK(!p->claims.min_tls_duration.has_value());
  CHECK(!p->claims.max_tls_duration.has_value());
  CHECK(!p->claims.default_tls_duration.has_value());
  CHECK(!p->claims.allow_renewal_after_expiry.has_value());
}

TEST_CASE("Provisioner: the key step encrypted decrypts to the kid's key",
          "[provisioner][slow]") {
  // step ca init's ca.json (p2c 600000: one PBKDF2 run of real cost).
  const std::string config = testing::Testdata("step/steppath/config/ca.json");
  rapidjson::Document doc = ParseJson(config);
  const rapidjson::Value& list = doc["authority"]["provisioners"];
  REQUIRE(list.Size() == 1);
  auto p = Provisioner::Parse(Serialize(list[0]));
  REQUIRE(p.ok());
  CHECK(p->kid == kStepKid);
  auto key = p->DecryptKey(Password());
  REQUIRE(key.ok());
  CHECK(key->public_key().JwkThumbprint() == p->kid);
  CHECK(key->public_key().Equals(p->key));
}

TEST_CASE("Provisioner: Parse refuses bad objects", "[provisioner]") {
  const std::string key_json =
      R"({"use":"sig","kty":"EC","kid":"c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE","crv":"P-256","alg":"ES256","x":"S1CuGtn8SzGQFuivErjchOQDSrapHjuLna5oi1tSzX8","y":"C8zYHVYCDJqqgwbtSM64mhFiinfkkpLKFK_5wa3slrc"})";
  auto with = [&](absl::string_view members) {
    return absl::StrCat("{", members, "}");
  };
  const std::string good =
      with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json));
  REQUIRE(Provisioner::Parse(good).ok());

  SECTION("the type is matched without case, as step-ca does") {
    auto p = Provisioner::Parse(
        with(absl::StrCat(R"("type":"jwk","name":"a","key":)", key_json)));
    REQUIRE(p.ok());
    CHECK(Provisioner::Parse(p->ToJson()).ok());
    CHECK(p->ToJson().find("\"type\":\"JWK\"") != std::string::npos);
  }

  struct Case {
    const char* name;
    std::string json;
    const char* fragment;
  };
  const std::string key_with_d = absl::StrReplaceAll(
      key_json,
      {{R"("alg":"ES256",)",
        R"("alg":"ES256","d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)"}});
  const std::string key_without_kid = absl::StrReplaceAll(
      key_json,
      {{R"("kid":"c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE",)", ""}});
  const std::string key_bad_x =
      absl::StrReplaceAll(key_json, {{"S1CuGtn8", "S1CuGtn9"}});
  const Case cases[] = {
      {"not JSON", "{", "not valid JSON"},
      {"not an object", "[]", "not a JSON object"},
      {"oidc", with(R"("type":"OIDC","name":"google")"),
       "provisioner type \"OIDC\" is not supported; mayfly supports JWK only"},
      {"acme", with(R"("type":"ACME","name":"acme")"), "\"ACME\""},
      {"no type", with(R"("name":"a")"), "type"},
      {"type not a string", with(R"("type":1,"name":"a")"), "type"},
      {"no name", with(absl::StrCat(R"("type":"JWK","key":)", key_json)),
       "name"},
      {"empty name",
       with(absl::StrCat(R"("type":"JWK","name":"","key":)", key_json)),
       "name is empty"},
      {"no key", with(R"("type":"JWK","name":"a")"), "has no key"},
      {"null key", with(R"("type":"JWK","name":"a","key":null)"), "has no key"},
      {"key not an object", with(R"("type":"JWK","name":"a","key":"x")"),
       "key is not a JSON object"},
      {"private key",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_with_d)),
       "private member \"d\""},
      {"no kid",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_without_kid)),
       "has no kid"},
      {"point off the curve",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_bad_x)),
       "provisioner \"a\" key:"},
      {"encryptedKey not a string",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"encryptedKey":5)")),
       "encryptedKey is not a string"},
      {"claims not an object",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"claims":[])")),
       "claims is not a JSON object"},
      {"duration as a number",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"claims":{"maxTLSCertDuration":300})")),
       "maxTLSCertDuration is not a duration string"},
      {"bad duration",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"claims":{"minTLSCertDuration":"5 minutes"})")),
       "minTLSCertDuration: invalid duration \"5 minutes\""},
      {"negative duration",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"claims":{"defaultTLSCertDuration":"-1h"})")),
       "defaultTLSCertDuration is -1h0m0s; negative"},
      {"bool as a string",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"claims":{"disableRenewal":"yes"})")),
       "disableRenewal is not a boolean"},
      {"duplicate member",
       with(absl::StrCat(R"("type":"JWK","name":"a","name":"b","key":)",
                         key_json)),
       "duplicate member \"name\""},
      {"duplicate claim",
       with(absl::StrCat(R"("type":"JWK","name":"a","key":)", key_json,
                         R"(,"claims":{"disableRenewal":true,)"
                         R"("disableRenewal":false})")),
       "duplicate member \"disableRenewal\""},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(StatusIs(Provisioner::Parse(c.json).status(),
                   absl::StatusCode::kInvalidArgument, c.fragment));
  }
}

}  // namespace
}  // namespace mayfly

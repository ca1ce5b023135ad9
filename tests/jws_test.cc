#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

using internal::Base64UrlDecode;
using internal::Base64UrlEncode;
using testing::StatusIs;

// RFC 7515 appendix A.1 to A.3 share this payload (with CR LF inside).
constexpr char kRfc7515Payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
    "\"http://example.com/is_root\":true}";

// RFC 7515 appendix A.2: RS256.
constexpr char kRfc7515A2Jwk[] =
    "{\"kty\":\"RSA\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji"
    "9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNM"
    "sD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rex"
    "MdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9"
    "kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDT"
    "W9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"}";
constexpr char kRfc7515A2Jws[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS"
    "9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-"
    "0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrn"
    "byTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi1"
    "2jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs"
    "98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

// RFC 7515 appendix A.3: ES256.
constexpr char kRfc7515A3Jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV7"
    "6e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    "\"}";
constexpr char kRfc7515A3Jws[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS"
    "9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJ"
    "qPP3-Kg6NU1Q";

// RFC 7515 appendix A.4: ES512 (P-521, which mayfly does not support).
constexpr char kRfc7515A4Jws[] =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-"
    "KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU"
    "8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

// RFC 8037 appendix A.1 (key) and A.4 (JWS).
constexpr char kRfc8037PrivateJwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJx"
    "Wl7MmkZcDusAxyuf2A\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHU"
    "Ro\"}";
constexpr char kRfc8037PublicJwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hc"
    "vPapiMlrwIaaPcHURo\"}";
constexpr char kRfc8037Payload[] = "Example of Ed25519 signing";
constexpr char kRfc8037Jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sV"
    "vpAr_MuM0KAg";

constexpr char kClaims[] = "{\"iss\":\"mayfly\",\"sub\":\"svc.example.com\"}";

std::string B64(absl::string_view s) { return Base64UrlEncode(s); }

// Header avoids designated initializers, which g++ -Wextra flags when
// members are left out.
JwsHeader Header(std::string kid, std::string typ = "") {
  JwsHeader header;
  header.kid = std::move(kid);
  header.typ = std::move(typ);
  return header;
}

// Token assembles a compact JWS from raw parts.
std::string Token(absl::string_view header, absl::string_view payload,
                  absl::string_view signature) {
  return absl::StrCat(B64(header), ".", B64(payload), ".", B64(signature));
}

std::vector<std::string> Parts(absl::string_view jws) {
  return absl::StrSplit(jws, '.');
}

// FlipByte decodes part `index` of `jws`, flips one bit of byte `at`, and
// returns the token with that part re-encoded.
std::string FlipByte(absl::string_view jws, size_t index, size_t at) {
  std::vector<std::string> parts = Parts(jws);
  auto decoded = Base64UrlDecode(parts[index], "test");
  REQUIRE(decoded.ok());
  REQUIRE(at < decoded->size());
  (*decoded)[at] ^= 0x01;
  parts[index] = B64(*decoded);
  return absl::StrJoin(parts, ".");
}

PublicKey PublicFromJwk(absl::string_view jwk) {
  auto key = PublicKey::FromJwk(jwk);
  INFO(key.status().ToString());
  REQUIRE(key.ok());
  return *key;
}

PrivateKey NewKey(KeyType type) {
  auto key = PrivateKey::Generate(type);
  INFO(key.status().ToString());
  REQUIRE(key.ok());
  return *key;
}

// SixtyFour is a placeholder signature of the ES256/EdDSA size.
std::string SixtyFour() { return std::string(64, '\x5a'); }

// ProvisionerJwk returns authority.provisioners[0].key from step's ca.json.
std::string ProvisionerJwk() {
  rapidjson::Document doc;
  std::string text = testing::Testdata("step/steppath/config/ca.json");
  doc.Parse(text.data(), text.size());
  REQUIRE(!doc.HasParseError());
  const rapidjson::Value& key = doc["authority"]["provisioners"][0]["key"];
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  key.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

TEST_CASE("Jws: RFC 7515 A.3 ES256 vector verifies", "[jws]") {
  auto jws = Jws::Parse(kRfc7515A3Jws);
  REQUIRE(jws.ok());
  CHECK(jws->alg() == JwsAlgorithm::kES256);
  CHECK(jws->header_json() == R"({"alg":"ES256"})");
  CHECK(jws->payload() == kRfc7515Payload);
  PublicKey key = PublicFromJwk(kRfc7515A3Jwk);
  CHECK(jws->Verify(key).ok());

  SECTION("one changed byte in the signature fails") {
    for (size_t at : {0, 31, 32, 63}) {
      auto bad = Jws::Parse(FlipByte(kRfc7515A3Jws, 2, at));
      REQUIRE(bad.ok());
      CHECK(StatusIs(bad->Verify(key), absl::StatusCode::kUnauthenticated,
                     "does not verify"));
    }
  }
  SECTION("one changed byte in the payload fails") {
    auto bad = Jws::Parse(FlipByte(kRfc7515A3Jws, 1, 8));
    REQUIRE(bad.ok());
    CHECK(StatusIs(bad->Verify(key), absl::StatusCode::kUnauthenticated));
  }
}

TEST_CASE("Jws: RFC 7515 A.2 RS256 vector verifies", "[jws]") {
  auto jws = Jws::Parse(kRfc7515A2Jws);
  REQUIRE(jws.ok());
  CHECK(jws->alg() == JwsAlgorithm::kRS256);
  PublicKey key = PublicFromJwk(kRfc7515A2Jwk);
  CHECK(jws->Verify(key).ok());
  auto bad = Jws::Parse(FlipByte(kRfc7515A2Jws, 2, 100));
  REQUIRE(bad.ok());
  CHECK(StatusIs(bad->Verify(key), absl::StatusCode::kUnauthenticated));
}

TEST_CASE("Jws: RFC 7515 A.4 ES512 is refused as unsupported", "[jws]") {
  CHECK(StatusIs(Jws::Parse(kRfc7515A4Jws).status(),
                 absl::StatusCode::kInvalidArgument,
                 "jws alg ES512 is not supported"));
}

TEST_CASE("Jws: RFC 8037 A.4 Ed25519 vector", "[jws]") {
  auto private_key = PrivateKey::FromJwk(kRfc8037PrivateJwk);
  REQUIRE(private_key.ok());
  PublicKey public_key = PublicFromJwk(kRfc8037PublicJwk);

  SECTION("we sign the same bytes, since Ed25519 is deterministic") {
    auto jws = SignJws(*private_key, {}, kRfc8037Payload);
    REQUIRE(jws.ok());
    CHECK(*jws == kRfc8037Jws);
  }
  SECTION("the signature checks over the RFC's signing input") {
    // The RFC payload is text, which Jws::Parse refuses (payloads must be
    // JSON objects), so check the signature bytes directly.
    std::vector<std::string> parts = Parts(kRfc8037Jws);
    auto signature = Base64UrlDecode(parts[2], "test");
    REQUIRE(signature.ok());
    std::string input = absl::StrCat(parts[0], ".", parts[1]);
    CHECK(public_key.Verify(internal::Bytes(input), internal::Bytes(*signature))
              .ok());
    CHECK(StatusIs(Jws::Parse(kRfc8037Jws).status(),
                   absl::StatusCode::kInvalidArgument,
                   "jws payload is not valid JSON"));
  }
  SECTION("a JSON payload signed with the RFC key verifies") {
    auto jws = SignJws(*private_key, Header("rfc8037"), kClaims);
    REQUIRE(jws.ok());
    auto parsed = Jws::Parse(*jws);
    REQUIRE(parsed.ok());
    CHECK(parsed->alg() == JwsAlgorithm::kEdDSA);
    CHECK(parsed->Verify(public_key).ok());
    // Deterministic: signing again gives the same token.
    CHECK(*SignJws(*private_key, Header("rfc8037"), kClaims) == *jws);
  }
}

TEST_CASE("Jws: step's sign token verifies with the provisioner key", "[jws]") {
  PublicKey key = PublicFromJwk(ProvisionerJwk());
  for (const char* file : {"step/sign-token.jwt", "step/revoke-token.jwt"}) {
    INFO(file);
    std::string token(
        absl::StripTrailingAsciiWhitespace(testing::Testdata(file)));
    auto jws = Jws::Parse(token);
    REQUIRE(jws.ok());
    CHECK(jws->alg() == JwsAlgorithm::kES256);
    CHECK(jws->kid() == "c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE");
    CHECK(jws->typ() == "JWT");
    CHECK(jws->x5c_insecure().empty());
    CHECK(jws->payload().find(R"("iss":"admin@example.com")") !=
          std::string::npos);
    CHECK(jws->Verify(key).ok());
    // Another P-256 key does not verify it.
    CHECK(StatusIs(jws->Verify(NewKey(KeyType::kP256).public_key()),
                   absl::StatusCode::kUnauthenticated, "does not verify"));
  }
}

TEST_CASE("Jws: round trips with each signing key type", "[jws]") {
  struct Case {
    KeyType type;
    JwsAlgorithm alg;
    const char* name;
  };
  for (const Case& c :
       {Case{KeyType::kP256, JwsAlgorithm::kES256, "ES256"},
        Case{KeyType::kP384, JwsAlgorithm::kES384, "ES384"},
        Case{KeyType::kEd25519, JwsAlgorithm::kEdDSA, "EdDSA"}}) {
    INFO(c.name);
    PrivateKey key = NewKey(c.type);
    CHECK(JwsAlgorithmName(c.alg) == c.name);
    JwsHeader header;
    header.kid = "kid-1";
    header.typ = "JWT";
    header.x5c_insecure = {"MIIBcert1", "MIIBcert2"};
    auto jws = SignJws(key, header, kClaims);
    REQUIRE(jws.ok());
    auto parsed = Jws::Parse(*jws);
    REQUIRE(parsed.ok());
    CHECK(parsed->alg() == c.alg);
    CHECK(parsed->kid() == "kid-1");
    CHECK(parsed->typ() == "JWT");
    CHECK(parsed->x5c_insecure() ==
          std::vector<std::string>{"MIIBcert1", "MIIBcert2"});
    // Members sorted by name, as go-jose writes them.
    CHECK(parsed->header_json() ==
          absl::StrCat(R"({"alg":")", c.name, R"(","kid":"kid-1","typ":"JWT",)",
                       R"("x5cInsecure":["MIIBcert1","MIIBcert2"]})"));
    CHECK(parsed->payload() == kClaims);
    CHECK(parsed->Verify(key.public_key()).ok());
    CHECK(StatusIs(parsed->Verify(NewKey(c.type).public_key()),
                   absl::StatusCode::kUnauthenticated, "does not verify"));

    // Empty header members are omitted.
    auto bare = SignJws(key, {}, kClaims);
    REQUIRE(bare.ok());
    CHECK(Jws::Parse(*bare)->header_json() ==
          absl::StrCat(R"({"alg":")", c.name, R"("})"));
  }
}

TEST_CASE("Jws: SignJws refuses an RSA key", "[jws]") {
  auto rsa = PrivateKey::FromPem(testing::Testdata("step/rsa-csr.key"));
  REQUIRE(rsa.ok());
  CHECK(StatusIs(SignJws(*rsa, {}, kClaims).status(),
                 absl::StatusCode::kInvalidArgument, "RSA key"));
}

TEST_CASE("Jws: SignJws refuses header members that are not UTF-8", "[jws]") {
  PrivateKey key = NewKey(KeyType::kP256);
  CHECK(StatusIs(SignJws(key, Header("\xff"), kClaims).status(),
                 absl::StatusCode::kInvalidArgument, "kid"));
}

TEST_CASE("Jws: alg none, HMAC and unknown algorithms are refused", "[jws]") {
  const std::string sig = SixtyFour();
  CHECK(StatusIs(Jws::Parse(Token(R"({"alg":"none"})", kClaims, "")).status(),
                 absl::StatusCode::kInvalidArgument, "\"none\""));
  CHECK(StatusIs(Jws::Parse(Token(R"({"alg":"none"})", kClaims, sig)).status(),
                 absl::StatusCode::kInvalidArgument, "\"none\""));
  for (const char* hs : {"HS256", "HS384", "HS512"}) {
    CHECK(StatusIs(Jws::Parse(Token(absl::StrCat(R"({"alg":")", hs, R"("})"),
                                    kClaims, std::string(32, 'k')))
                       .status(),
                   absl::StatusCode::kInvalidArgument, "hmac"));
  }
  for (const char* alg : {"ES512", "RS384", "PS384", "es256", "ES256 ", ""}) {
    INFO(alg);
    CHECK(StatusIs(Jws::Parse(Token(absl::StrCat(R"({"alg":")", alg, R"("})"),
                                    kClaims, sig))
                       .status(),
                   absl::StatusCode::kInvalidArgument, "is not supported"));
  }
  CHECK(StatusIs(Jws::Parse(Token(R"({"kid":"x"})", kClaims, sig)).status(),
                 absl::StatusCode::kInvalidArgument, "\"alg\""));
  CHECK(StatusIs(Jws::Parse(Token(R"({"alg":256})", kClaims, sig)).status(),
                 absl::StatusCode::kInvalidArgument, "\"alg\""));
  // An attacker's long alg is not echoed into the error.
  auto long_alg = Jws::Parse(
      Token(absl::StrCat(R"({"alg":")", std::string(100, 'A'), R"("})"),
            kClaims, sig));
  CHECK(StatusIs(long_alg.status(), absl::StatusCode::kInvalidArgument,
                 "(unprintable)"));
}

TEST_CASE("Jws: crit and key-carrying header members are refused", "[jws]") {
  const std::string sig = SixtyFour();
  CHECK(StatusIs(Jws::Parse(Token(R"({"alg":"ES256","crit":["exp"],"exp":1})",
                                  kClaims, sig))
                     .status(),
                 absl::StatusCode::kInvalidArgument, "\"crit\""));
  for (const char* member :
       {R"("jwk":{"kty":"EC"})", R"("jku":"https://evil.example/jwks")",
        R"("x5u":"https://evil.example/cert")", R"("x5c":["MIIB"])"}) {
    INFO(member);
    std::string header = absl::StrCat(R"({"alg":"ES256",)", member, "}");
    std::string name(absl::string_view(member).substr(0, 5));
    CHECK(StatusIs(Jws::Parse(Token(header, kClaims, sig)).status(),
                   absl::StatusCode::kInvalidArgument, name));
  }
}

TEST_CASE("Jws: kid, typ and x5cInsecure must have their types", "[jws]") {
  const std::string sig = SixtyFour();
  CHECK(StatusIs(
      Jws::Parse(Token(R"({"alg":"ES256","kid":7})", kClaims, sig)).status(),
      absl::StatusCode::kInvalidArgument, "\"kid\" is not a string"));
  CHECK(StatusIs(
      Jws::Parse(Token(R"({"alg":"ES256","typ":null})", kClaims, sig)).status(),
      absl::StatusCode::kInvalidArgument, "\"typ\" is not a string"));
  CHECK(StatusIs(
      Jws::Parse(Token(R"({"alg":"ES256","x5cInsecure":"MIIB"})", kClaims, sig))
          .status(),
      absl::StatusCode::kInvalidArgument, "x5cInsecure"));
  CHECK(StatusIs(Jws::Parse(Token(R"({"alg":"ES256","x5cInsecure":["MIIB",1]})",
                                  kClaims, sig))
                     .status(),
                 absl::StatusCode::kInvalidArgument, "x5cInsecure"));
  auto ok =
      Jws::Parse(Token(R"({"alg":"ES256","x5cInsecure":[]})", kClaims, sig));
  REQUIRE(ok.ok());
  CHECK(ok->x5c_insecure().empty());
}

TEST_CASE("Jws: base64url must be canonical and unpadded", "[jws]") {
  PrivateKey key = NewKey(KeyType::kP256);
  auto jws = SignJws(key, {}, kClaims);
  REQUIRE(jws.ok());
  std::vector<std::string> parts = Parts(*jws);
  REQUIRE(parts[2].size() == 86);  // 64 bytes: 4 unused bits at the end

  SECTION("padding") {
    CHECK(StatusIs(Jws::Parse(absl::StrCat(*jws, "==")).status(),
                   absl::StatusCode::kInvalidArgument, "jws signature"));
    // The payload's encoding needs padding too: 41 bytes.
    REQUIRE(parts[1].size() % 4 != 0);
    std::string padded =
        absl::StrCat(parts[0], ".", parts[1],
                     std::string(4 - parts[1].size() % 4, '='), ".", parts[2]);
    CHECK(StatusIs(Jws::Parse(padded).status(),
                   absl::StatusCode::kInvalidArgument, "jws payload"));
  }
  SECTION("non-zero trailing bits") {
    constexpr absl::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t value = kAlphabet.find(parts[2].back());
    REQUIRE(value % 16 == 0);
    parts[2].back() = kAlphabet[value | 1];
    CHECK(StatusIs(Jws::Parse(absl::StrJoin(parts, ".")).status(),
                   absl::StatusCode::kInvalidArgument, "jws signature"));
  }
  SECTION("standard alphabet") {
    std::string std_b64 = parts[0];
    std_b64.append(".").append(parts[1]).append(".+/").append(
        parts[2].substr(2));
    CHECK(StatusIs(Jws::Parse(std_b64).status(),
                   absl::StatusCode::kInvalidArgument, "jws signature"));
  }
  SECTION("whitespace") {
    CHECK(StatusIs(Jws::Parse(absl::StrCat(*jws, "\n")).status(),
                   absl::StatusCode::kInvalidArgument, "jws signature"));
  }
}

TEST_CASE("Jws: duplicate JSON members are refused", "[jws]") {
  const std::string sig = SixtyFour();
  CHECK(StatusIs(
      Jws::Parse(Token(R"({"alg":"ES256","alg":"ES256"})", kClaims, sig))
          .status(),
      absl::StatusCode::kInvalidArgument, "jws header has duplicate member"));
  CHECK(StatusIs(
      Jws::Parse(Token(R"({"alg":"ES256","kid":"a","kid":"b"})", kClaims, sig))
          .status(),
      absl::StatusCode::kInvalidArgument, "duplicate member \"kid\""));
  CHECK(StatusIs(
      Jws::Parse(Token(R"({"alg":"ES256"})", R"({"sub":"a","sub":"b"})", sig))
          .status(),
      absl::StatusCode::kInvalidArgument, "jws payload has duplicate member"));
}

TEST_CASE("Jws: the payload must be a JSON object", "[jws]") {
  const std::string sig = SixtyFour();
  for (const char* payload : {"[1,2]", "\"claims\"", "42", "null", "Payload",
                              "", R"({"a":1} {"b":2})"}) {
    INFO(payload);
    CHECK(
        StatusIs(Jws::Parse(Token(R"({"alg":"ES256"})", payload, sig)).status(),
                 absl::StatusCode::kInvalidArgument, "jws payload"));
  }
  CHECK(StatusIs(Jws::Parse(Token("[]", kClaims, sig)).status(),
                 absl::StatusCode::kInvalidArgument, "jws header"));
}

TEST_CASE("Jws: the compact form has exactly three parts", "[jws]") {
  PrivateKey key = NewKey(KeyType::kP256);
  auto jws = SignJws(key, {}, kClaims);
  REQUIRE(jws.ok());
  std::vector<std::string> parts = Parts(*jws);
  for (const std::string& bad :
       {absl::StrCat(parts[0], ".", parts[1]),
        absl::StrCat(*jws, ".", parts[2]), absl::StrCat(*jws, "."),
        absl::StrCat(parts[0], parts[1], parts[2]), std::string(),
        absl::StrCat(parts[0], ".", parts[1], "..", parts[2])}) {
    CHECK(StatusIs(Jws::Parse(bad).status(), absl::StatusCode::kInvalidArgument,
                   "3 dot-separated"));
  }
  // A compact JWE is not a JWS.
  CHECK(StatusIs(Jws::Parse("a.b.c.d.e").status(),
                 absl::StatusCode::kInvalidArgument, "got 5"));
}

TEST_CASE("Jws: signatures must have the algorithm's raw size", "[jws]") {
  SECTION("empty") {
    CHECK(StatusIs(Jws::Parse(absl::StrCat(B64(R"({"alg":"ES256"})"), ".",
                                           B64(kClaims), "."))
                       .status(),
                   absl::StatusCode::kInvalidArgument,
                   "jws signature is empty"));
    CHECK(StatusIs(Jws::Parse(absl::StrCat(B64(R"({"alg":"RS256"})"), ".",
                                           B64(kClaims), "."))
                       .status(),
                   absl::StatusCode::kInvalidArgument,
                   "jws signature is empty"));
  }
  SECTION("DER-encoded ECDSA instead of R||S") {
    PrivateKey key = NewKey(KeyType::kP256);
    std::string input =
        absl::StrCat(B64(R"({"alg":"ES256"})"), ".", B64(kClaims));
    auto der = key.Sign(internal::Bytes(input));
    REQUIRE(der.ok());
    std::string token =
        absl::StrCat(input, ".", Base64UrlEncode(absl::MakeConstSpan(*der)));
    CHECK(StatusIs(Jws::Parse(token).status(),
                   absl::StatusCode::kInvalidArgument, "want 64 (R||S)"));
  }
  SECTION("wrong sizes per algorithm") {
    CHECK(StatusIs(
        Jws::Parse(Token(R"({"alg":"ES256"})", kClaims, std::string(96, 'x')))
            .status(),
        absl::StatusCode::kInvalidArgument, "want 64"));
    CHECK(StatusIs(
        Jws::Parse(Token(R"({"alg":"ES384"})", kClaims, SixtyFour())).status(),
        absl::StatusCode::kInvalidArgument, "want 96"));
    CHECK(StatusIs(
        Jws::Parse(Token(R"({"alg":"EdDSA"})", kClaims, std::string(63, 'x')))
            .status(),
        absl::StatusCode::kInvalidArgument, "want 64"));
  }
  SECTION("R or S zero or out of range does not verify") {
    PublicKey key = NewKey(KeyType::kP256).public_key();
    for (const std::string& sig :
         {std::string(64, '\0'), std::string(64, '\xff'),
          std::string(32, '\0') + std::string(32, '\x01')}) {
      auto jws = Jws::Parse(Token(R"({"alg":"ES256"})", kClaims, sig));
      REQUIRE(jws.ok());
      CHECK(StatusIs(jws->Verify(key), absl::StatusCode::kUnauthenticated));
    }
  }
}

TEST_CASE("Jws: oversized tokens are refused before decoding", "[jws]") {
  PrivateKey key = NewKey(KeyType::kP256);
  std::string claims =
      absl::StrCat(R"({"pad":")", std::string(13000, 'a'), R"("})");
  auto big = SignJws(key, {}, claims);
  REQUIRE(big.ok());
  REQUIRE(big->size() > 16 * 1024);
  CHECK(StatusIs(Jws::Parse(*big).status(), absl::StatusCode::kInvalidArgument,
                 "max 16384"));
  JwsLimits roomy;
  roomy.max_bytes = 64 * 1024;
  auto parsed = Jws::Parse(*big, roomy);
  REQUIRE(parsed.ok());
  CHECK(parsed->Verify(key.public_key()).ok());

  JwsLimits tight;
  tight.max_bytes = 10;
  // Garbage is refused for its size, not for what it holds.
  CHECK(StatusIs(Jws::Parse(std::string(11, '!'), tight).status(),
                 absl::StatusCode::kInvalidArgument, "11 bytes; max 10"));
}

TEST_CASE("Jws: alg must fit the verifying key", "[jws]") {
  PrivateKey p256 = NewKey(KeyType::kP256);
  PrivateKey p384 = NewKey(KeyType::kP384);
  PrivateKey ed = NewKey(KeyType::kEd25519);
  PublicKey rsa = PublicFromJwk(kRfc7515A2Jwk);

  auto es256 = Jws::Parse(*SignJws(p256, {}, kClaims));
  REQUIRE(es256.ok());
  for (const PublicKey& other : {p384.public_key(), ed.public_key(), rsa}) {
    CHECK(StatusIs(es256->Verify(other), absl::StatusCode::kUnauthenticated,
                   "jws alg ES256 does not fit"));
  }
  auto es384 = Jws::Parse(*SignJws(p384, {}, kClaims));
  REQUIRE(es384.ok());
  CHECK(StatusIs(es384->Verify(p256.public_key()),
                 absl::StatusCode::kUnauthenticated,
                 "jws alg ES384 does not fit a P-256 key"));
  auto eddsa = Jws::Parse(*SignJws(ed, {}, kClaims));
  REQUIRE(eddsa.ok());
  CHECK(StatusIs(eddsa->Verify(p256.public_key()),
                 absl::StatusCode::kUnauthenticated, "does not fit"));
  auto rs256 = Jws::Parse(kRfc7515A2Jws);
  REQUIRE(rs256.ok());
  CHECK(StatusIs(rs256->Verify(p256.public_key()),
                 absl::StatusCode::kUnauthenticated, "does not fit"));

  // Relabelling an ES256 token as PS256 or RS256 with the same bytes fails.
  std::vector<std::string> parts = Parts(*SignJws(p256, {}, kClaims));
  for (const char* alg : {"RS256", "PS256"}) {
    std::string relabelled =
        absl::StrCat(B64(absl::StrCat(R"({"alg":")", alg, R"("})")), ".",
                     parts[1], ".", parts[2]);
    auto jws = Jws::Parse(relabelled);
    REQUIRE(jws.ok());
    CHECK(StatusIs(jws->Verify(rsa), absl::StatusCode::kUnauthenticated));
    CHECK(StatusIs(jws->Verify(p256.public_key()),
                   absl::StatusCode::kUnauthenticated, "does not fit"));
  }
}

TEST_CASE("Jws: tampered header, payload or signature fails", "[jws]") {
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    PrivateKey key = NewKey(type);
    auto jws = SignJws(key, Header("k", "JWT"), kClaims);
    REQUIRE(jws.ok());
    std::vector<std::string> parts = Parts(*jws);

    // Header: same members, another kid.
    auto header = Base64UrlDecode(parts[0], "test");
    REQUIRE(header.ok());
    std::string other_header = *header;
    other_header.replace(other_header.find("\"k\""), 3, "\"K\"");
    auto bad_header = Jws::Parse(
        absl::StrCat(B64(other_header), ".", parts[1], ".", parts[2]));
    REQUIRE(bad_header.ok());
    CHECK(bad_header->kid() == "K");
    CHECK(StatusIs(bad_header->Verify(key.public_key()),
                   absl::StatusCode::kUnauthenticated, "does not verify"));

    // Payload: another subject.
    auto bad_payload = Jws::Parse(absl::StrCat(
        parts[0], ".", B64(R"({"iss":"mayfly","sub":"evil.example.com"})"), ".",
        parts[2]));
    REQUIRE(bad_payload.ok());
    CHECK(StatusIs(bad_payload->Verify(key.public_key()),
                   absl::StatusCode::kUnauthenticated, "does not verify"));

    // Signature: last byte changed.
    auto bad_sig = Jws::Parse(FlipByte(*jws, 2, 63));
    REQUIRE(bad_sig.ok());
    CHECK(StatusIs(bad_sig->Verify(key.public_key()),
                   absl::StatusCode::kUnauthenticated, "does not verify"));
  }
}

// Interop with jwcrypto (tests/interop/jose_peer.py).

std::string Peer(absl::string_view args) {
  return absl::StrCat(
      "python3 ",
      testing::ShellQuote(testing::TestsDir() + "/interop/jose_peer.py"), " ",
      args);
}

TEST_CASE("Jws: jwcrypto verifies what mayfly signs", "[jws][interop]") {
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    PrivateKey key = NewKey(type);
    auto jws = SignJws(key, Header("mayfly", "JWT"), kClaims);
    REQUIRE(jws.ok());
    absl::string_view alg = key.public_key().DefaultJwsAlgorithm();
    INFO(alg);
    testing::CommandResult peer =
        testing::Run(Peer(absl::StrCat("jws-verify ", alg)),
                     absl::StrCat(key.public_key().ToJwk(), "\n", *jws));
    INFO(peer.output);
    CHECK(peer.exit_code == 0);
    CHECK(peer.output == kClaims);

    // And refuses it once the payload changed.
    std::vector<std::string> parts = Parts(*jws);
    std::string tampered = absl::StrCat(
        parts[0], ".", B64(R"({"iss":"mayfly","sub":"x"})"), ".", parts[2]);
    CHECK(testing::Run(Peer(absl::StrCat("jws-verify ", alg)),
                       absl::StrCat(key.public_key().ToJwk(), "\n", tampered))
              .exit_code != 0);
  }
}

TEST_CASE("Jws: mayfly verifies what jwcrypto signs", "[jws][interop]") {
  struct Case {
    const char* alg;
    JwsAlgorithm want;
  };
  for (const Case& c : {Case{"ES256", JwsAlgorithm::kES256},
                        Case{"ES384", JwsAlgorithm::kES384},
                        Case{"EdDSA", JwsAlgorithm::kEdDSA},
                        Case{"RS256", JwsAlgorithm::kRS256},
                        Case{"PS256", JwsAlgorithm::kPS256}}) {
    INFO(c.alg);
    testing::CommandResult peer =
        testing::Run(Peer(absl::StrCat("jws-sign ", c.alg)), kClaims);
    INFO(peer.output);
    REQUIRE(peer.exit_code == 0);
    std::vector<std::string> lines =
        absl::StrSplit(absl::StripTrailingAsciiWhitespace(peer.output), '\n');
    REQUIRE(lines.size() == 2);
    PublicKey key = PublicFromJwk(lines[0]);
    auto jws = Jws::Parse(lines[1]);
    REQUIRE(jws.ok());
    CHECK(jws->alg() == c.want);
    CHECK(jws->kid() == "peer");
    CHECK(jws->payload() == kClaims);
    CHECK(jws->Verify(key).ok());
    auto bad = Jws::Parse(FlipByte(lines[1], 2, 5));
    REQUIRE(bad.ok());
    CHECK(StatusIs(bad->Verify(key), absl::StatusCode::kUnauthenticated));
  }
}

TEST_CASE("Jws: PS256 needs the RFC 7518 salt length", "[jws][interop]") {
  for (int salt : {32, 20, 0}) {
    INFO("salt " << salt);
    testing::CommandResult peer =
        testing::Run(Peer(absl::StrCat("jws-sign-pss ", salt)), kClaims);
    INFO(peer.output);
    REQUIRE(peer.exit_code == 0);
    std::vector<std::string> lines =
        absl::StrSplit(absl::StripTrailingAsciiWhitespace(peer.output), '\n');
    REQUIRE(lines.size() == 2);
    PublicKey key = PublicFromJwk(lines[0]);
    auto jws = Jws::Parse(lines[1]);
    REQUIRE(jws.ok());
    if (salt == 32) {
      CHECK(jws->Verify(key).ok());
    } else {
      CHECK(StatusIs(jws->Verify(key), absl::StatusCode::kUnauthenticated));
    }
  }
}

}  // namespace
}  // namespace mayfly

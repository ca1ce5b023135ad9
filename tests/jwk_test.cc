#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/json.h"
#include "mayfly/key.h"
#include "rapidjson/document.h"
#include "test_util.h"

namespace mayfly {
namespace {

using ::mayfly::testing::StatusIs;
using ::mayfly::testing::Testdata;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// RFC 7517 appendix A.1 / A.2 and RFC 7638 section 3.1: the RSA example.
constexpr char kRsaN[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPF"
    "FxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93l"
    "qt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHz"
    "u6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPks"
    "INHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

std::string RsaPublicJwk() {
  return absl::StrCat(R"({"kty":"RSA","n":")", kRsaN,
                      R"(","e":"AQAB","alg":"RS256","kid":"2011-04-29"})");
}

// RFC 7517 appendix A.2, the RSA private key.
std::string RsaPrivateJwk() {
  return absl::StrCat(
      R"({"kty":"RSA","n":")", kRsaN, R"(","e":"AQAB",)",
      R"("d":"X4cTteJY_gn4FYPsXB8rdXix5vwsg1FLN5E3EaG6RJoVH-HLLKD9M7dx5oo7GURknchnrRweUkC7hT5fJLM0WbFAKNLWY2vv7B6NqXSzUvxT0_YSfqijwp3RTzlBaCxWp4doFk5N2o8Gy_nHNKroADIkJ46pRUohsXywbReAdYaMwFs9tv8d_cPVY3i07a3t8MN6TNwm0dSawm9v47UiCl3Sk5ZiG7xojPLu4sbg1U2jx4IBTNBznbJSzFHK66jT8bgkuqsk0GjskDJk19Z4qwjwbsnn4j2WBii3RL-Us2lGVkY8fkFzme1z0HbIkfz0Y6mqnOYtqc0X4jfcKoAC8Q",)",
      R"("p":"83i-7IvMGXoMXCskv73TKr8637FiO7Z27zv8oj6pbWUQyLPQBQxtPVnwD20R-60eTDmD2ujnMt5PoqMrm8RfmNhVWDtjjMmCMjOpSXicFHj7XOuVIYQyqVWlWEh6dN36GVZYk93N8Bc9vY41xy8B9RzzOGVQzXvNEvn7O0nVbfs",)",
      R"("q":"3dfOR9cuYq-0S-mkFLzgItgMEfFzB2q3hWehMuG0oCuqnb3vobLyumqjVZQO1dIrdwgTnCdpYzBcOfW5r370AFXjiWft_NGEiovonizhKpo9VVS78TzFgxkIdrecRezsZ-1kYd_s1qDbxtkDEgfAITAG9LUnADun4vIcb6yelxk",)",
      R"("dp":"G4sPXkc6Ya9y8oJW9_ILj4xuppu0lzi_H7VTkS8xj5SdX3coE0oimYwxIi2emTAue0UOa5dpgFGyBJ4c8tQ2VF402XRugKDTP8akYhFo5tAA77Qe_NmtuYZc3C3m3I24G2GvR5sSDxUyAN2zq8Lfn9EUms6rY3Ob8YeiKkTiBj0",)",
      R"("dq":"s9lAH9fggBsoFR8Oac2R_E2gw282rT2kGOAhvIllETE1efrA6huUUvMfBcMpn8lqeW6vzznYY5SSQF7pMdC_agI3nG8Ibp1BUb0JUiraRNqUfLhcQb_d9GF4Dh7e74WbRsobRonujTYN1xCaP6TO61jvWrX-L18txXw494Q_cgk",)",
      R"("qi":"GyM_p6JrXySiz1toFgKbWV-JdI3jQ4ypu9rbMWx3rQJBfmt0FoYzgUIZEVFEcOqwemRN81zoDAaa-Bk0KWNGDjJHZDdDmFhW3AN7lI-puxk_mHZGJ11rxyR8O55XLSe3SPmRfKwZI6yU24ZxvQKFYItdldUKGzO6Ia6zTKhAVRU",)",
      R"("alg":"RS256","kid":"2011-04-29"})");
}

// RFC 7517 appendix A.1 / A.2, the EC key.
constexpr char kEcX[] = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
constexpr char kEcY[] = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
constexpr char kEcD[] = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";

std::string EcJwk(absl::string_view x = kEcX, absl::string_view y = kEcY,
                  absl::string_view extra = "") {
  return absl::StrCat(R"({"kty":"EC","crv":"P-256","x":")", x, R"(","y":")", y,
                      R"(","use":"enc","kid":"1")", extra, "}");
}

std::string EcPrivateJwk(absl::string_view d = kEcD) {
  return EcJwk(kEcX, kEcY, absl::StrCat(R"(,"d":")", d, "\""));
}

// RFC 8037 appendix A.1 / A.2.
constexpr char kEdX[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr char kEdD[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

std::string EdJwk(absl::string_view x = kEdX, absl::string_view extra = "") {
  return absl::StrCat(R"({"kty":"OKP","crv":"Ed25519","x":")", x, "\"", extra,
                      "}");
}

std::string EdPrivateJwk(absl::string_view d = kEdD) {
  return EdJwk(kEdX, absl::StrCat(R"(,"d":")", d, "\""));
}

// Compact returns `json` re-serialized without whitespace, members in order.
std::string Compact(absl::string_view json) {
  auto doc = internal::ParseJsonObject(json, "test json");
  REQUIRE(doc.ok());
  return internal::ToJson(*doc);
}

// B64 re-encodes a base64url value after changing its bytes with `edit`.
template <typename Edit>
std::string EditB64(absl::string_view b64, Edit edit) {
  auto bytes = internal::Base64UrlDecode(b64, "test");
  REQUIRE(bytes.ok());
  edit(*bytes);
  return internal::Base64UrlEncode(*bytes);
}

TEST_CASE("Jwk: RFC 7638 section 3.1 thumbprint example", "[jwk]") {
  JwkMembers members;
  auto key = PublicKey::FromJwk(RsaPublicJwk(), &members);
  REQUIRE(key.ok());
  CHECK(key->type() == KeyType::kRsa);
  CHECK(key->bits() == 2048);
  CHECK(key->JwkThumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  CHECK(members.kid == "2011-04-29");
  CHECK(members.alg == "RS256");
  CHECK(members.use.empty());
}

TEST_CASE("Jwk: RFC 7517 appendix A example keys", "[jwk]") {
  JwkMembers members;
  auto ec = PublicKey::FromJwk(EcJwk(), &members);
  REQUIRE(ec.ok());
  CHECK(ec->type() == KeyType::kP256);
  CHECK(members.use == "enc");
  CHECK(members.kid == "1");
  CHECK(members.alg.empty());

  auto ec_private = PrivateKey::FromJwk(EcPrivateJwk(), &members);
  REQUIRE(ec_private.ok());
  CHECK(ec_private->public_key().Equals(*ec));
  auto sig = ec_private->Sign(internal::Bytes("hello"));
  REQUIRE(sig.ok());
  CHECK(ec->Verify(internal::Bytes("hello"), *sig).ok());

  auto rsa = PublicKey::FromJwk(RsaPublicJwk());
  REQUIRE(rsa.ok());
  auto rsa_private = PrivateKey::FromJwk(RsaPrivateJwk(), &members);
  REQUIRE(rsa_private.ok());
  CHECK(rsa_private->type() == KeyType::kRsa);
  CHECK(rsa_private->public_key().Equals(*rsa));
  CHECK(members.alg == "RS256");
  auto rsa_sig = rsa_private->Sign(internal::Bytes("hello"));
  REQUIRE(rsa_sig.ok());
  CHECK(rsa->Verify(internal::Bytes("hello"), *rsa_sig).ok());

  // A public import of a private JWK ignores the private members.
  auto from_private = PublicKey::FromJwk(RsaPrivateJwk());
  REQUIRE(from_private.ok());
  CHECK(from_private->Equals(*rsa));
  CHECK(from_private->ToJwk() == PublicKey::FromJwk(RsaPublicJwk())->ToJwk());
}

TEST_CASE("Jwk: RFC 8037 appendix A Ed25519 key", "[jwk]") {
  auto pub = PublicKey::FromJwk(EdJwk());
  REQUIRE(pub.ok());
  CHECK(pub->type() == KeyType::kEd25519);
  CHECK(pub->JwkThumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");

  auto key = PrivateKey::FromJwk(EdPrivateJwk());
  REQUIRE(key.ok());
  CHECK(key->public_key().Equals(*pub));
  CHECK(key->ToJwk() == absl::StrCat(R"({"kty":"OKP","crv":"Ed25519","x":")",
                                     kEdX, R"(","d":")", kEdD, R"("})"));
  // RFC 8037 appendix A.4: Ed25519 is deterministic, so the example
  // signature comes out exactly.
  auto sig = key->Sign(internal::Bytes(
      "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"));
  REQUIRE(sig.ok());
  CHECK(internal::Base64UrlEncode(*sig) ==
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt"
        "9g7sVvpAr_MuM0KAg");
}

TEST_CASE("Jwk: step jwk create public keys", "[jwk]") {
  for (const char* file : {"step/jwk.pub.json", "step/ed.pub.json"}) {
    INFO(file);
    const std::string json = Testdata(file);
    JwkMembers members;
    auto key = PublicKey::FromJwk(json, &members);
    REQUIRE(key.ok());
    CHECK(members.use == "sig");
    CHECK(members.kid.size() == 43);
    CHECK(key->JwkThumbprint() == members.kid);
    CHECK(members.alg == key->DefaultJwsAlgorithm());
    // We write step's member order, so the output is the file, compacted.
    CHECK(key->ToJwk(members) == Compact(json));
  }
}

TEST_CASE("Jwk: ca.json provisioner key", "[jwk]") {
  auto doc = internal::ParseJsonObject(Testdata("step/steppath/config/ca.json"),
                                       "ca.json");
  REQUIRE(doc.ok());
  const rapidjson::Value& provisioner = (*doc)["authority"]["provisioners"][0];
  const std::string json = internal::ToJson(provisioner["key"]);
  JwkMembers members;
  auto key = PublicKey::FromJwk(json, &members);
  REQUIRE(key.ok());
  CHECK(members.kid == "c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE");
  CHECK(key->JwkThumbprint() == members.kid);
  CHECK(key->ToJwk(members) == json);
}

TEST_CASE("Jwk: export and import round trip", "[jwk]") {
  std::vector<PrivateKey> keys;
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    auto key = PrivateKey::Generate(type);
    REQUIRE(key.ok());
    keys.push_back(*key);
  }
  auto rsa = PrivateKey::FromPem(Testdata("step/rsa-csr.key"));
  REQUIRE(rsa.ok());
  keys.push_back(*rsa);

  for (const PrivateKey& key : keys) {
    INFO(KeyTypeName(key.type()));
    const PublicKey pub = key.public_key();
    JwkMembers members;
    members.kid = pub.JwkThumbprint();
    members.alg = std::string(pub.DefaultJwsAlgorithm());
    members.use = "sig";

    const std::string public_jwk = pub.ToJwk(members);
    JwkMembers read;
    auto pub_back = PublicKey::FromJwk(public_jwk, &read);
    REQUIRE(pub_back.ok());
    CHECK(pub_back->Equals(pub));
    CHECK(pub_back->ToJwk(read) == public_jwk);
    CHECK(read.kid == members.kid);
    CHECK(read.alg == members.alg);
    CHECK(read.use == "sig");
    CHECK(StatusIs(PrivateKey::FromJwk(public_jwk).status(), kInvalid));

    const std::string private_jwk = key.ToJwk(members);
    auto key_back = PrivateKey::FromJwk(private_jwk, &read);
    REQUIRE(key_back.ok());
    CHECK(key_back->public_key().Equals(pub));
    CHECK(key_back->ToJwk(read) == private_jwk);
    CHECK(key_back->ToPkcs8Der() == key.ToPkcs8Der());
    auto sig = key_back->Sign(internal::Bytes("round trip"));
    REQUIRE(sig.ok());
    CHECK(pub.Verify(internal::Bytes("round trip"), *sig).ok());

    // Without members, only the key's own members are written.
    auto bare = PublicKey::FromJwk(pub.ToJwk(), &read);
    REQUIRE(bare.ok());
    CHECK(read.kid.empty());
    CHECK(read.alg.empty());
    CHECK(read.use.empty());
  }
}

TEST_CASE("Jwk: member order of output", "[jwk]") {
  auto ec = PrivateKey::FromJwk(EcPrivateJwk());
  REQUIRE(ec.ok());
  JwkMembers members{"1", "ES256", "sig"};
  CHECK(ec->public_key().ToJwk(members) ==
        absl::StrCat(R"({"use":"sig","kty":"EC","kid":"1","crv":"P-256",)",
                     R"("alg":"ES256","x":")", kEcX, R"(","y":")", kEcY,
                     R"("})"));
  CHECK(ec->ToJwk(members) ==
        absl::StrCat(R"({"use":"sig","kty":"EC","kid":"1","crv":"P-256",)",
                     R"("alg":"ES256","x":")", kEcX, R"(","y":")", kEcY,
                     R"(","d":")", kEcD, R"("})"));
  CHECK(ec->public_key().ToJwk() ==
        absl::StrCat(R"({"kty":"EC","crv":"P-256","x":")", kEcX, R"(","y":")",
                     kEcY, R"("})"));

  auto rsa = PrivateKey::FromJwk(RsaPrivateJwk());
  REQUIRE(rsa.ok());
  CHECK(rsa->public_key().ToJwk({"2011-04-29", "RS256", ""}) ==
        absl::StrCat(R"({"kty":"RSA","kid":"2011-04-29","alg":"RS256","n":")",
                     kRsaN, R"(","e":"AQAB"})"));
  // The private RSA members follow in go-jose's order, and match the RFC's.
  auto rfc = internal::ParseJsonObject(RsaPrivateJwk(), "rfc");
  REQUIRE(rfc.ok());
  std::string want =
      absl::StrCat(R"({"kty":"RSA","n":")", kRsaN, R"(","e":"AQAB")");
  for (const char* name : {"d", "p", "q", "dp", "dq", "qi"}) {
    absl::StrAppend(&want, ",\"", name, "\":\"", (*rfc)[name].GetString(),
                    "\"");
  }
  want += "}";
  CHECK(rsa->ToJwk() == want);

  // Member values are escaped.
  auto parsed_members = JwkMembers{};
  const std::string escaped = ec->public_key().ToJwk({"a\"b\\c\n", "", ""});
  CHECK(escaped.find(R"("kid":"a\"b\\c\u000a")") != std::string::npos);
  REQUIRE(PublicKey::FromJwk(escaped, &parsed_members).ok());
  CHECK(parsed_members.kid == "a\"b\\c\n");
}

TEST_CASE("Jwk: coordinates of the wrong length are refused", "[jwk]") {
  const std::string short_x =
      EditB64(kEcX, [](std::string& b) { b.pop_back(); });
  const std::string long_y =
      EditB64(kEcY, [](std::string& b) { b.insert(0, 1, '\0'); });
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(short_x)).status(), kInvalid,
                 "JWK x is 31 bytes; want 32 for P-256"));
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(kEcX, long_y)).status(), kInvalid,
                 "JWK y is 33 bytes; want 32 for P-256"));
  // A P-256 key labelled P-384.
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(EcJwk(), {{"P-256", "P-384"}}))
          .status(),
      kInvalid, "want 48 for P-384"));
  const std::string short_d =
      EditB64(kEcD, [](std::string& b) { b.erase(0, 1); });
  CHECK(StatusIs(PrivateKey::FromJwk(EcPrivateJwk(short_d)).status(), kInvalid,
                 "JWK d is 31 bytes"));
  const std::string short_ed =
      EditB64(kEdX, [](std::string& b) { b.pop_back(); });
  CHECK(StatusIs(PublicKey::FromJwk(EdJwk(short_ed)).status(), kInvalid,
                 "JWK x is 31 bytes; want 32 for Ed25519"));
  const std::string long_ed_d =
      EditB64(kEdD, [](std::string& b) { b.push_back('\0'); });
  CHECK(StatusIs(PrivateKey::FromJwk(EdPrivateJwk(long_ed_d)).status(),
                 kInvalid, "JWK d is 33 bytes"));
}

TEST_CASE("Jwk: padded or non-canonical base64url is refused", "[jwk]") {
  // 32 bytes encode to 43 characters; the last carries 2 unused bits.
  const std::string padded = absl::StrCat(kEcX, "=");
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(padded)).status(), kInvalid));
  std::string noncanonical = kEcX;
  // '4' (56) -> '5' (57) sets an unused low bit.
  REQUIRE(noncanonical.back() == '4');
  noncanonical.back() = '5';
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(noncanonical)).status(), kInvalid));
  // The standard alphabet's '/' for base64url's '_'.
  REQUIRE(std::string(kEdX).find('_') != std::string::npos);
  CHECK(StatusIs(
      PublicKey::FromJwk(EdJwk(absl::StrReplaceAll(kEdX, {{"_", "/"}})))
          .status(),
      kInvalid));
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(absl::StrCat(" ", kEcX))).status(),
                 kInvalid));
  CHECK(StatusIs(
      PrivateKey::FromJwk(EdPrivateJwk(absl::StrCat(kEdD, "="))).status(),
      kInvalid));
}

TEST_CASE("Jwk: duplicate and missing members are refused", "[jwk]") {
  CHECK(StatusIs(PublicKey::FromJwk(
                     EcJwk(kEcX, kEcY, absl::StrCat(R"(,"x":")", kEcX, "\"")))
                     .status(),
                 kInvalid, "duplicate member \"x\""));
  CHECK(
      StatusIs(PublicKey::FromJwk(EcJwk(kEcX, kEcY, R"(,"kty":"EC")")).status(),
               kInvalid, "duplicate"));

  struct Missing {
    std::string json;
    const char* member;
  } cases[] = {
      {absl::StrCat(R"({"kty":"EC","crv":"P-256","y":")", kEcY, "\"}"), "x"},
      {absl::StrCat(R"({"kty":"EC","crv":"P-256","x":")", kEcX, "\"}"), "y"},
      {absl::StrCat(R"({"kty":"EC","x":")", kEcX, R"(","y":")", kEcY, "\"}"),
       "crv"},
      {absl::StrCat(R"({"crv":"P-256","x":")", kEcX, R"(","y":")", kEcY, "\"}"),
       "kty"},
      {R"({"kty":"OKP","crv":"Ed25519"})", "x"},
      {R"({"kty":"RSA","e":"AQAB"})", "n"},
      {absl::StrCat(R"({"kty":"RSA","n":")", kRsaN, "\"}"), "e"},
  };
  for (const Missing& c : cases) {
    INFO(c.json);
    CHECK(StatusIs(PublicKey::FromJwk(c.json).status(), kInvalid,
                   absl::StrCat("no member \"", c.member, "\"")));
  }
  CHECK(StatusIs(PrivateKey::FromJwk(EcJwk()).status(), kInvalid,
                 "no member \"d\""));
  CHECK(StatusIs(PrivateKey::FromJwk(EdJwk()).status(), kInvalid,
                 "no member \"d\""));
  CHECK(
      StatusIs(PrivateKey::FromJwk(
                   absl::StrReplaceAll(RsaPrivateJwk(), {{"\"qi\"", "\"q2\""}}))
                   .status(),
               kInvalid, "no member \"qi\""));
}

TEST_CASE("Jwk: an alg that does not fit the key is refused", "[jwk]") {
  CHECK(StatusIs(
      PublicKey::FromJwk(EcJwk(kEcX, kEcY, R"(,"alg":"ES384")")).status(),
      kInvalid, "JWK alg \"ES384\" does not fit a P-256 key; want ES256"));
  CHECK(StatusIs(
      PublicKey::FromJwk(EcJwk(kEcX, kEcY, R"(,"alg":"RS256")")).status(),
      kInvalid, "does not fit"));
  CHECK(StatusIs(
      PublicKey::FromJwk(EcJwk(kEcX, kEcY, R"(,"alg":"none")")).status(),
      kInvalid, "does not fit"));
  CHECK(StatusIs(PublicKey::FromJwk(EdJwk(kEdX, R"(,"alg":"ES256")")).status(),
                 kInvalid, "want EdDSA"));
  CHECK(StatusIs(PublicKey::FromJwk(
                     absl::StrReplaceAll(RsaPublicJwk(), {{"RS256", "PS256"}}))
                     .status(),
                 kInvalid, "want RS256"));
  CHECK(StatusIs(PrivateKey::FromJwk(
                     EcJwk(kEcX, kEcY,
                           absl::StrCat(R"(,"alg":"EdDSA","d":")", kEcD, "\"")))
                     .status(),
                 kInvalid, "does not fit"));
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(kEcX, kEcY, R"(,"alg":5)")).status(),
                 kInvalid, "\"alg\" is not a string"));
  CHECK(PublicKey::FromJwk(EdJwk(kEdX, R"(,"alg":"EdDSA")")).ok());
}

TEST_CASE("Jwk: unsupported kty and crv are refused", "[jwk]") {
  CHECK(StatusIs(PublicKey::FromJwk(R"({"kty":"oct","k":"AAAA"})").status(),
                 kInvalid, "JWK kty \"oct\" is not supported"));
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(EcJwk(), {{"\"EC\"", "\"ec\""}}))
          .status(),
      kInvalid, "kty"));
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(EcJwk(), {{"P-256", "P-521"}}))
          .status(),
      kInvalid, "JWK crv \"P-521\" is not supported"));
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(EcJwk(), {{"P-256", "secp256k1"}}))
          .status(),
      kInvalid, "not supported"));
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(EdJwk(), {{"Ed25519", "X25519"}}))
          .status(),
      kInvalid, "JWK crv \"X25519\" is not supported for kty OKP"));
  CHECK(StatusIs(PublicKey::FromJwk(R"(["kty","EC"])").status(), kInvalid,
                 "not a JSON object"));
  CHECK(StatusIs(PublicKey::FromJwk("{").status(), kInvalid));
  CHECK(StatusIs(PublicKey::FromJwk(R"({"kty":1})").status(), kInvalid,
                 "not a string"));
}

TEST_CASE("Jwk: a d that does not match the public key is refused", "[jwk]") {
  auto other = PrivateKey::Generate(KeyType::kP256);
  REQUIRE(other.ok());
  auto other_doc = internal::ParseJsonObject(other->ToJwk(), "other");
  REQUIRE(other_doc.ok());
  const std::string other_d = (*other_doc)["d"].GetString();
  CHECK(StatusIs(PrivateKey::FromJwk(EcPrivateJwk(other_d)).status(), kInvalid,
                 "JWK d does not match x and y"));
  // d out of range: all ones is above the P-256 order; zero is not a key.
  CHECK(StatusIs(PrivateKey::FromJwk(EcPrivateJwk(internal::Base64UrlEncode(
                                         std::string(32, '\xff'))))
                     .status(),
                 kInvalid, "not a valid P-256 private key"));
  CHECK(StatusIs(PrivateKey::FromJwk(EcPrivateJwk(internal::Base64UrlEncode(
                                         std::string(32, '\0'))))
                     .status(),
                 kInvalid, "not a valid P-256 private key"));

  auto other_ed = PrivateKey::Generate(KeyType::kEd25519);
  REQUIRE(other_ed.ok());
  auto other_ed_doc = internal::ParseJsonObject(other_ed->ToJwk(), "other");
  REQUIRE(other_ed_doc.ok());
  CHECK(StatusIs(
      PrivateKey::FromJwk(EdPrivateJwk((*other_ed_doc)["d"].GetString()))
          .status(),
      kInvalid, "JWK d does not match x"));

  // RSA: a d from another key fails the consistency check.
  auto swapped =
      absl::StrReplaceAll(RsaPrivateJwk(), {{"\"d\":\"X4cT", "\"d\":\"Y4cT"}});
  CHECK(StatusIs(PrivateKey::FromJwk(swapped).status(), kInvalid,
                 "RSA key is not valid"));
}

TEST_CASE("Jwk: points not on the curve are refused", "[jwk]") {
  const std::string bad_y =
      EditB64(kEcY, [](std::string& b) { b.back() ^= 1; });
  CHECK(StatusIs(PublicKey::FromJwk(EcJwk(kEcX, bad_y)).status(), kInvalid,
                 "JWK x and y are not a point on P-256"));
  std::string two(32, '\0');
  two[0] = 2;
  CHECK(StatusIs(
      PublicKey::FromJwk(EdJwk(internal::Base64UrlEncode(two))).status(),
      kInvalid, "not a point on the curve"));
}

TEST_CASE("Jwk: RSA integers must be minimal and sized", "[jwk]") {
  const std::string padded_n =
      EditB64(kRsaN, [](std::string& b) { b.insert(0, 1, '\0'); });
  CHECK(StatusIs(PublicKey::FromJwk(
                     absl::StrReplaceAll(RsaPublicJwk(), {{kRsaN, padded_n}}))
                     .status(),
                 kInvalid, "JWK n is not a minimal unsigned integer"));
  CHECK(StatusIs(PublicKey::FromJwk(
                     absl::StrReplaceAll(RsaPublicJwk(), {{"AQAB", "AAEAAQ"}}))
                     .status(),
                 kInvalid, "JWK e is not a minimal unsigned integer"));
  const std::string half_n =
      EditB64(kRsaN, [](std::string& b) { b.resize(b.size() / 2); });
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(RsaPublicJwk(), {{kRsaN, half_n}}))
          .status(),
      kInvalid, "min 2048"));
  const std::string huge_n = internal::Base64UrlEncode(std::string(1100, 'A'));
  CHECK(StatusIs(
      PublicKey::FromJwk(absl::StrReplaceAll(RsaPublicJwk(), {{kRsaN, huge_n}}))
          .status(),
      kInvalid, "max 8192"));
  CHECK(StatusIs(PrivateKey::FromJwk(
                     absl::StrReplaceAll(RsaPrivateJwk(),
                                         {{R"("kid")", R"("oth":[],"kid")"}}))
                     .status(),
                 kInvalid, "more than two primes"));
}

}  // namespace
}  // namespace mayfly

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "mayfly/jose.h"
#include "rapidjson/document.h"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::Base64UrlDecode;
using internal::Base64UrlEncode;
using testing::StatusIs;

constexpr char kPlaintext[] =
    R"({"kty":"EC","crv":"P-256","x":"x","y":"y","d":"secret"})";

// Fast options for tests that do not care about the work factor.
JweEncryptOptions Fast(JweEncryption enc = JweEncryption::kA256GCM) {
  JweEncryptOptions options;
  options.enc = enc;
  options.p2c = 1000;
  return options;
}

std::string Password() { return testing::Testdata("step/password.txt"); }

rapidjson::Document ParseJson(absl::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  INFO(text);
  REQUIRE(!doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string Member(const rapidjson::Value& obj, const char* name) {
  INFO(name);
  REQUIRE(obj.HasMember(name));
  REQUIRE(obj[name].IsString());
  return obj[name].GetString();
}

std::vector<std::string> Parts(absl::string_view jwe) {
  return absl::StrSplit(jwe, '.');
}

std::string Join(const std::vector<std::string>& parts) {
  return absl::StrJoin(parts, ".");
}

std::string Decode(absl::string_view b64) {
  auto decoded = Base64UrlDecode(b64, "test");
  REQUIRE(decoded.ok());
  return *decoded;
}

std::string B64(absl::string_view s) { return Base64UrlEncode(s); }

// FlipByte flips one bit of byte `at` in part `index` of a compact JWE.
std::string FlipByte(absl::string_view jwe, size_t index, size_t at) {
  std::vector<std::string> parts = Parts(jwe);
  std::string decoded = Decode(parts[index]);
  REQUIRE(at < decoded.size());
  decoded[at] ^= 0x01;
  parts[index] = B64(decoded);
  return Join(parts);
}

// WithHeader replaces the protected header of a compact JWE.
std::string WithHeader(absl::string_view jwe, absl::string_view header) {
  std::vector<std::string> parts = Parts(jwe);
  parts[0] = B64(header);
  return Join(parts);
}

// ToFlattened rewrites a compact JWE in the flattened JSON serialization.
std::string ToFlattened(absl::string_view jwe,
                        absl::string_view extra_members = "") {
  std::vector<std::string> p = Parts(jwe);
  REQUIRE(p.size() == 5);
  return absl::StrCat("{\n  \"protected\": \"", p[0],
                      "\",\n  \"encrypted_key\": \"", p[1], "\",\n  \"iv\": \"",
                      p[2], "\",\n  \"ciphertext\": \"", p[3],
                      "\",\n  \"tag\": \"", p[4], "\"", extra_members, "\n}\n");
}

TEST_CASE("Jwe: decrypts the provisioner key in step's ca.json", "[jwe]") {
  rapidjson::Document config =
      ParseJson(testing::Testdata("step/steppath/config/ca.json"));
  const rapidjson::Value& provisioner = config["authority"]["provisioners"][0];
  std::string encrypted = Member(provisioner, "encryptedKey");
  const rapidjson::Value& key = provisioner["key"];

  auto plaintext = DecryptJwe(encrypted, Password());
  INFO(plaintext.status().ToString());
  REQUIRE(plaintext.ok());
  rapidjson::Document jwk = ParseJson(*plaintext);
  for (const char* name : {"kty", "crv", "kid", "alg", "use", "x", "y"}) {
    CHECK(Member(jwk, name) == Member(key, name));
  }
  CHECK(Decode(Member(jwk, "d")).size() == 32);

  SECTION("a wrong password is Unauthenticated") {
    CHECK(StatusIs(DecryptJwe(encrypted, "mayfly-test-passwore").status(),
                   absl::StatusCode::kUnauthenticated, "wrong password"));
  }
}

TEST_CASE("Jwe: decrypts step's flattened JWK files", "[jwe]") {
  for (const char* name : {"jwk", "ed"}) {
    INFO(name);
    std::string encrypted =
        testing::Testdata(absl::StrCat("step/", name, ".priv.json"));
    rapidjson::Document pub =
        ParseJson(testing::Testdata(absl::StrCat("step/", name, ".pub.json")));
    auto plaintext = DecryptJwe(encrypted, Password());
    INFO(plaintext.status().ToString());
    REQUIRE(plaintext.ok());
    rapidjson::Document jwk = ParseJson(*plaintext);
    for (const char* member : {"kty", "crv", "kid", "x"}) {
      CHECK(Member(jwk, member) == Member(pub, member));
    }
    if (pub.HasMember("y")) {
      CHECK(Member(jwk, "y") == Member(pub, "y"));
    }
    CHECK(Decode(Member(jwk, "d")).size() == 32);
  }
}

TEST_CASE("Jwe: A128GCM and A256GCM round trip", "[jwe]") {
  for (JweEncryption enc : {JweEncryption::kA128GCM, JweEncryption::kA256GCM}) {
    const char* enc_name =
        enc == JweEncryption::kA128GCM ? "A128GCM" : "A256GCM";
    INFO(enc_name);
    auto jwe = EncryptJwe(kPlaintext, "pw", Fast(enc));
    REQUIRE(jwe.ok());
    std::vector<std::string> parts = Parts(*jwe);
    REQUIRE(parts.size() == 5);
    // The header as step writes it: members sorted, a 16-byte p2s.
    std::string header = Decode(parts[0]);
    std::string p2s = Member(ParseJson(header), "p2s");
    CHECK(Decode(p2s).size() == 16);
    CHECK(header == absl::StrCat(R"({"alg":"PBES2-HS256+A128KW",)",
                                 R"("cty":"jwk+json","enc":")", enc_name,
                                 R"(","p2c":1000,"p2s":")", p2s, R"("})"));
    CHECK(Decode(parts[1]).size() ==
          (enc == JweEncryption::kA128GCM ? 24u : 40u));
    CHECK(Decode(parts[2]).size() == 12);
    CHECK(Decode(parts[3]).size() == sizeof(kPlaintext) - 1);
    CHECK(Decode(parts[4]).size() == 16);

    auto plaintext = DecryptJwe(*jwe, "pw");
    REQUIRE(plaintext.ok());
    CHECK(*plaintext == kPlaintext);
    // The flattened form of the same JWE decrypts too.
    auto flat = DecryptJwe(ToFlattened(*jwe), "pw");
    REQUIRE(flat.ok());
    CHECK(*flat == kPlaintext);

    // Salt, key and IV are fresh each time.
    auto again = EncryptJwe(kPlaintext, "pw", Fast(enc));
    REQUIRE(again.ok());
    std::vector<std::string> again_parts = Parts(*again);
    for (size_t i = 0; i < 5; ++i) {
      CHECK(parts[i] != again_parts[i]);
    }
  }
}

TEST_CASE("Jwe: the default options match step", "[jwe]") {
  JweEncryptOptions defaults;
  CHECK(defaults.enc == JweEncryption::kA256GCM);
  CHECK(defaults.p2c == 600000);
  CHECK(defaults.cty == "jwk+json");
  auto jwe = EncryptJwe(kPlaintext, "pw");
  REQUIRE(jwe.ok());
  CHECK(Decode(Parts(*jwe)[0]).find(R"("enc":"A256GCM","p2c":600000,)") !=
        std::string::npos);
  CHECK(*DecryptJwe(*jwe, "pw") == kPlaintext);
}

TEST_CASE("Jwe: cty is omitted when empty; empty plaintext works", "[jwe]") {
  JweEncryptOptions options = Fast();
  options.cty = "";
  auto jwe = EncryptJwe("", "pw", options);
  REQUIRE(jwe.ok());
  CHECK(Decode(Parts(*jwe)[0]).find("cty") == std::string::npos);
  auto plaintext = DecryptJwe(*jwe, "pw");
  REQUIRE(plaintext.ok());
  CHECK(plaintext->empty());
}

TEST_CASE("Jwe: EncryptJwe checks its arguments", "[jwe]") {
  CHECK(StatusIs(EncryptJwe(kPlaintext, "", Fast()).status(),
                 absl::StatusCode::kInvalidArgument, "password is empty"));
  for (uint32_t p2c : {0u, 999u, 1000001u}) {
    JweEncryptOptions options = Fast();
    options.p2c = p2c;
    CHECK(StatusIs(EncryptJwe(kPlaintext, "pw", options).status(),
                   absl::StatusCode::kInvalidArgument, "want 1000 to 1000000"));
  }
  JweEncryptOptions bad_cty = Fast();
  bad_cty.cty = "\xc3";
  CHECK(StatusIs(EncryptJwe(kPlaintext, "pw", bad_cty).status(),
                 absl::StatusCode::kInvalidArgument, "cty"));
}

TEST_CASE("Jwe: wrong password is Unauthenticated", "[jwe]") {
  auto jwe = EncryptJwe(kPlaintext, "right", Fast());
  REQUIRE(jwe.ok());
  for (const char* password : {"wrong", "righ", "right ", ""}) {
    CHECK(StatusIs(DecryptJwe(*jwe, password).status(),
                   absl::StatusCode::kUnauthenticated));
  }
}

TEST_CASE("Jwe: p2c and p2s are bounded before any key derivation", "[jwe]") {
  auto jwe = EncryptJwe(kPlaintext, "pw", Fast());
  REQUIRE(jwe.ok());
  const std::string p2s = B64("0123456789abcdef");
  auto header = [&](absl::string_view p2c, absl::string_view p2s_value) {
    return absl::StrCat(R"({"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":)",
                        p2c, R"(,"p2s":")", p2s_value, R"("})");
  };
  // A huge p2c would take hours; it must fail at once.
  CHECK(StatusIs(
      DecryptJwe(WithHeader(*jwe, header("1000001", p2s)), "pw").status(),
      absl::StatusCode::kInvalidArgument,
      "jwe p2c is 1000001; want 1000 to 1000000"));
  CHECK(StatusIs(
      DecryptJwe(WithHeader(*jwe, header("4294967296000", p2s)), "pw").status(),
      absl::StatusCode::kInvalidArgument, "jwe p2c"));
  CHECK(
      StatusIs(DecryptJwe(WithHeader(*jwe, header("999", p2s)), "pw").status(),
               absl::StatusCode::kInvalidArgument, "jwe p2c is 999"));
  CHECK(StatusIs(DecryptJwe(WithHeader(*jwe, header("-1", p2s)), "pw").status(),
                 absl::StatusCode::kInvalidArgument, "jwe p2c"));
  for (const char* p2c : {"600000.5", "\"600000\"", "1e6", "null"}) {
    CHECK(
        StatusIs(DecryptJwe(WithHeader(*jwe, header(p2c, p2s)), "pw").status(),
                 absl::StatusCode::kInvalidArgument, "p2c"));
  }
  CHECK(StatusIs(
      DecryptJwe(
          WithHeader(
              *jwe,
              R"({"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2s":"AA"})"),
          "pw")
          .status(),
      absl::StatusCode::kInvalidArgument, "p2c"));
  // Custom limits apply.
  JweLimits strict;
  strict.max_p2c = 999;
  strict.min_p2c = 10;
  CHECK(StatusIs(DecryptJwe(*jwe, "pw", strict).status(),
                 absl::StatusCode::kInvalidArgument, "want 10 to 999"));

  // p2s: present, canonical and not empty.
  CHECK(
      StatusIs(DecryptJwe(WithHeader(*jwe, header("1000", "")), "pw").status(),
               absl::StatusCode::kInvalidArgument, "jwe p2s is empty"));
  CHECK(StatusIs(
      DecryptJwe(
          WithHeader(
              *jwe,
              R"({"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":1000})"),
          "pw")
          .status(),
      absl::StatusCode::kInvalidArgument, "\"p2s\""));
  CHECK(StatusIs(
      DecryptJwe(WithHeader(*jwe, header("1000", "AAA=")), "pw").status(),
      absl::StatusCode::kInvalidArgument, "jwe p2s"));
}

TEST_CASE("Jwe: tampering is detected", "[jwe]") {
  auto jwe = EncryptJwe(kPlaintext, "pw", Fast());
  REQUIRE(jwe.ok());
  SECTION("ciphertext") {
    for (size_t at : {size_t{0}, size_t{10}, sizeof(kPlaintext) - 2}) {
      CHECK(StatusIs(DecryptJwe(FlipByte(*jwe, 3, at), "pw").status(),
                     absl::StatusCode::kUnauthenticated, "altered"));
    }
  }
  SECTION("tag") {
    CHECK(StatusIs(DecryptJwe(FlipByte(*jwe, 4, 15), "pw").status(),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("iv") {
    CHECK(StatusIs(DecryptJwe(FlipByte(*jwe, 2, 0), "pw").status(),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("encrypted key") {
    CHECK(StatusIs(DecryptJwe(FlipByte(*jwe, 1, 20), "pw").status(),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("header, still valid, so only the AAD changes") {
    std::string header = Decode(Parts(*jwe)[0]);
    std::string changed = absl::StrReplaceAll(
        header, {{R"("cty":"jwk+json")", R"("cty":"jwk+jsoN")"}});
    REQUIRE(changed != header);
    CHECK(StatusIs(DecryptJwe(WithHeader(*jwe, changed), "pw").status(),
                   absl::StatusCode::kUnauthenticated, "altered"));
  }
  SECTION("header, p2s changed: another key encryption key") {
    std::string header = Decode(Parts(*jwe)[0]);
    std::string p2s = Member(ParseJson(header), "p2s");
    std::string other = B64("another-16-bytes");
    CHECK(StatusIs(
        DecryptJwe(
            WithHeader(*jwe, absl::StrReplaceAll(header, {{p2s, other}})), "pw")
            .status(),
        absl::StatusCode::kUnauthenticated));
  }
  SECTION("enc downgraded from A256GCM to A128GCM") {
    std::string header = Decode(Parts(*jwe)[0]);
    CHECK(StatusIs(
        DecryptJwe(WithHeader(*jwe, absl::StrReplaceAll(
                                        header, {{"A256GCM", "A128GCM"}})),
                   "pw")
            .status(),
        absl::StatusCode::kInvalidArgument, "encrypted_key is 40 bytes"));
  }
  SECTION("truncated iv, tag or encrypted key") {
    std::vector<std::string> parts = Parts(*jwe);
    std::vector<std::string> iv = parts;
    iv[2] = B64(Decode(parts[2]).substr(0, 8));
    CHECK(StatusIs(DecryptJwe(Join(iv), "pw").status(),
                   absl::StatusCode::kInvalidArgument, "jwe iv is 8 bytes"));
    std::vector<std::string> tag = parts;
    tag[4] = B64(Decode(parts[4]).substr(0, 12));
    CHECK(StatusIs(DecryptJwe(Join(tag), "pw").status(),
                   absl::StatusCode::kInvalidArgument, "jwe tag is 12 bytes"));
    std::vector<std::string> key = parts;
    key[1] = B64(Decode(parts[1]).substr(0, 32));
    CHECK(StatusIs(DecryptJwe(Join(key), "pw").status(),
                   absl::StatusCode::kInvalidArgument, "encrypted_key"));
  }
}

TEST_CASE("Jwe: other algorithms and header members are refused", "[jwe]") {
  auto jwe = EncryptJwe(kPlaintext, "pw", Fast());
  REQUIRE(jwe.ok());
  const std::string header = Decode(Parts(*jwe)[0]);
  auto with = [&](absl::string_view from, absl::string_view to) {
    return WithHeader(*jwe, absl::StrReplaceAll(header, {{from, to}}));
  };
  for (const char* alg :
       {"PBES2-HS512+A256KW", "dir", "A128KW", "RSA-OAEP", "none"}) {
    CHECK(StatusIs(DecryptJwe(with("PBES2-HS256+A128KW", alg), "pw").status(),
                   absl::StatusCode::kInvalidArgument,
                   "jwe alg is not supported"));
  }
  for (const char* enc : {"A192GCM", "A128CBC-HS256", "a256gcm"}) {
    CHECK(StatusIs(DecryptJwe(with("A256GCM", enc), "pw").status(),
                   absl::StatusCode::kInvalidArgument,
                   "jwe enc is not supported"));
  }
  for (const char* member : {R"("crit":["exp"],"exp":1,)", R"("zip":"DEF",)",
                             R"("jwk":{"kty":"oct"},)", R"("jku":"https://x",)",
                             R"("x5u":"https://x",)", R"("x5c":["MIIB"],)"}) {
    INFO(member);
    CHECK(StatusIs(
        DecryptJwe(with(R"("cty")", absl::StrCat(member, R"("cty")")), "pw")
            .status(),
        absl::StatusCode::kInvalidArgument, "is not allowed"));
  }
  CHECK(StatusIs(
      DecryptJwe(
          with(R"("cty":"jwk+json")", R"("cty":"jwk+json","enc":"A128GCM")"),
          "pw")
          .status(),
      absl::StatusCode::kInvalidArgument, "duplicate member \"enc\""));
  CHECK(StatusIs(DecryptJwe(WithHeader(*jwe, "[1]"), "pw").status(),
                 absl::StatusCode::kInvalidArgument, "jwe header"));
  CHECK(StatusIs(
      DecryptJwe(with(R"("alg":"PBES2-HS256+A128KW",)", ""), "pw").status(),
      absl::StatusCode::kInvalidArgument, "\"alg\""));
}

TEST_CASE("Jwe: the serialization must be well formed", "[jwe]") {
  auto jwe = EncryptJwe(kPlaintext, "pw", Fast());
  REQUIRE(jwe.ok());
  std::vector<std::string> parts = Parts(*jwe);

  SECTION("compact: five parts, canonical base64url") {
    for (const std::string& bad :
         {absl::StrCat(*jwe, ".x"), Join({parts[0], parts[1], parts[2]}),
          std::string(), absl::StrCat(*jwe, ".")}) {
      CHECK(StatusIs(DecryptJwe(bad, "pw").status(),
                     absl::StatusCode::kInvalidArgument, "5 dot-separated"));
    }
    std::vector<std::string> padded = parts;
    padded[4] += "==";
    CHECK(StatusIs(DecryptJwe(Join(padded), "pw").status(),
                   absl::StatusCode::kInvalidArgument, "jwe tag"));
    CHECK(StatusIs(DecryptJwe(absl::StrCat(*jwe, "\n"), "pw").status(),
                   absl::StatusCode::kInvalidArgument, "jwe tag"));
  }
  SECTION("flattened: only the five known members") {
    CHECK(DecryptJwe(ToFlattened(*jwe), "pw").ok());
    for (const char* extra : {R"(, "aad": "eHg")", R"(, "header": {"kid":"x"})",
                              R"(, "unprotected": {})", R"(, "recipients": [])",
                              R"(, "extra": 1)"}) {
      INFO(extra);
      CHECK(StatusIs(DecryptJwe(ToFlattened(*jwe, extra), "pw").status(),
                     absl::StatusCode::kInvalidArgument, "is not supported"));
    }
    CHECK(StatusIs(
        DecryptJwe(ToFlattened(*jwe, R"(, "tag": "AAAAAAAAAAAAAAAAAAAAAA")"),
                   "pw")
            .status(),
        absl::StatusCode::kInvalidArgument, "duplicate member \"tag\""));
    std::string no_tag = absl::StrCat(
        R"({"protected":")", parts[0], R"(","encrypted_key":")", parts[1],
        R"(","iv":")", parts[2], R"(","ciphertext":")", parts[3], R"("})");
    CHECK(StatusIs(DecryptJwe(no_tag, "pw").status(),
                   absl::StatusCode::kInvalidArgument, "\"tag\""));
    std::string numeric_iv =
        absl::StrCat(R"({"protected":")", parts[0], R"(","encrypted_key":")",
                     parts[1], R"(","iv":12,"ciphertext":")", parts[3],
                     R"(","tag":")", parts[4], R"("})");
    CHECK(StatusIs(DecryptJwe(numeric_iv, "pw").status(),
                   absl::StatusCode::kInvalidArgument, "\"iv\""));
    CHECK(StatusIs(DecryptJwe("{", "pw").status(),
                   absl::StatusCode::kInvalidArgument, "not valid JSON"));
  }
  SECTION("oversized input is refused before decoding") {
    JweLimits tight;
    tight.max_bytes = jwe->size() - 1;
    CHECK(StatusIs(DecryptJwe(*jwe, "pw", tight).status(),
                   absl::StatusCode::kInvalidArgument,
                   absl::StrCat("max ", tight.max_bytes)));
    CHECK(StatusIs(DecryptJwe(std::string(64 * 1024 + 1, '{'), "pw").status(),
                   absl::StatusCode::kInvalidArgument, "max 65536"));
  }
}

// Interop with jwcrypto (tests/interop/jose_peer.py).

std::string Peer(absl::string_view args) {
  return absl::StrCat(
      "python3 ",
      testing::ShellQuote(testing::TestsDir() + "/interop/jose_peer.py"), " ",
      args);
}

TEST_CASE("Jwe: jwcrypto decrypts what mayfly encrypts", "[jwe][interop]") {
  testing::TempDir dir;
  std::string password_file = dir.Write("password", Password());
  struct Case {
    JweEncryption enc;
    uint32_t p2c;
  };
  for (const Case& c : {Case{JweEncryption::kA128GCM, 1000},
                        Case{JweEncryption::kA256GCM, 1000},
                        Case{JweEncryption::kA256GCM, 600000}}) {
    JweEncryptOptions options;
    options.enc = c.enc;
    options.p2c = c.p2c;
    auto jwe = EncryptJwe(kPlaintext, Password(), options);
    REQUIRE(jwe.ok());
    testing::CommandResult peer = testing::Run(
        Peer(absl::StrCat("jwe-decrypt ", testing::ShellQuote(password_file))),
        *jwe);
    INFO(peer.output);
    CHECK(peer.exit_code == 0);
    CHECK(peer.output == kPlaintext);
  }
  // And refuses a tampered one.
  auto jwe = EncryptJwe(kPlaintext, Password(), Fast());
  REQUIRE(jwe.ok());
  CHECK(testing::Run(Peer(absl::StrCat("jwe-decrypt ",
                                       testing::ShellQuote(password_file))),
                     FlipByte(*jwe, 3, 3))
            .exit_code != 0);
}

TEST_CASE("Jwe: mayfly decrypts what jwcrypto encrypts", "[jwe][interop]") {
  testing::TempDir dir;
  std::string password_file = dir.Write("password", Password());
  for (const char* enc : {"A128GCM", "A256GCM"}) {
    INFO(enc);
    testing::CommandResult peer = testing::Run(
        Peer(absl::StrCat("jwe-encrypt ", testing::ShellQuote(password_file),
                          " ", enc, " 10000")),
        kPlaintext);
    INFO(peer.output);
    REQUIRE(peer.exit_code == 0);
    auto plaintext = DecryptJwe(peer.output, Password());
    INFO(plaintext.status().ToString());
    REQUIRE(plaintext.ok());
    CHECK(*plaintext == kPlaintext);
    CHECK(StatusIs(DecryptJwe(peer.output, "not the password").status(),
                   absl::StatusCode::kUnauthenticated));
  }
}

}  // namespace
}  // namespace mayfly

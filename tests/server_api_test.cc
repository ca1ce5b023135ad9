// The API router (lib/server/api.h) driven directly: every route at "/"
// and "/1.0/", step-ca's status codes and exact error bodies
// (STEP-PROTOCOL.md sections 1.5-3.8), and that refused requests leave the
// store unchanged.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/jose.h"
#include "mayfly/token.h"
#include "openssl/x509.h"
#include "rapidjson/document.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::Api;
using internal::ApiOptions;
using internal::ApiRequest;
using internal::ApiResponse;
using testing::Issued;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

const char* const kPrefixes[] = {"", "/1.0"};

const std::string kSeeLogs =
    "Please see the certificate authority logs for more info.";
const std::string k401 =
    "The request lacked necessary authorization to be completed. " + kSeeLogs;
const std::string k404 =
    "The requested resource could not be found. " + kSeeLogs;
const std::string k501 =
    "The requested method is not implemented by the certificate authority. " +
    kSeeLogs;
const std::string kDecode =
    "The request could not be completed: error decoding json.";

std::string Bad(const std::string& message) {
  return "The request could not be completed: " + message + ".";
}

std::string Forbidden(const std::string& message) {
  return "The request was forbidden by the certificate authority: " + message +
         ".";
}

// Quote writes `s` as a JSON string (enough for PEM, tokens and the
// messages checked here).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string ErrorBody(int status, const std::string& message) {
  return absl::StrCat("{\"status\":", status, ",\"message\":", Quote(message),
                      "}\n");
}

ApiRequest Request(const std::string& method, const std::string& path) {
  ApiRequest r;
  r.method = method;
  r.path = path;
  return r;
}

ApiRequest Get(const std::string& path) { return Request("GET", path); }

ApiRequest Post(const std::string& path, const std::string& body,
                const std::string& content_type = "application/json") {
  ApiRequest r = Request("POST", path);
  r.body = body;
  r.content_type = content_type;
  return r;
}

std::optional<std::string> Header(const ApiResponse& r,
                                  const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return std::nullopt;
}

// Json parses a JSON response body, which must end with the newline Go's
// encoder writes.
rapidjson::Document Json(const ApiResponse& r) {
  CHECK(r.content_type == "application/json");
  REQUIRE(!r.body.empty());
  CHECK(r.body.back() == '\n');
  absl::StatusOr<rapidjson::Document> doc = internal::ParseJsonObject(
      absl::string_view(r.body).substr(0, r.body.size() - 1), "response");
  INFO(r.body);
  REQUIRE(doc.ok());
  return *std::move(doc);
}

std::string Str(const rapidjson::Value& v, const char* name) {
  INFO(name);
  REQUIRE(v.IsObject());
  REQUIRE(v.HasMember(name));
  REQUIRE(v[name].IsString());
  return std::string(v[name].GetString(), v[name].GetStringLength());
}

std::vector<std::string> StrList(const rapidjson::Value& v, const char* name) {
  INFO(name);
  REQUIRE(v.HasMember(name));
  REQUIRE(v[name].IsArray());
  std::vector<std::string> out;
  for (const rapidjson::Value& e : v[name].GetArray()) {
    REQUIRE(e.IsString());
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return out;
}

std::string SignBody(const std::string& csr, const std::string& ott,
                     const std::string& not_before = "",
                     const std::string& not_after = "") {
  return absl::StrCat("{\"csr\":", Quote(csr), ",\"ott\":", Quote(ott),
                      ",\"notBefore\":", Quote(not_before),
                      ",\"notAfter\":", Quote(not_after), "}");
}

std::string RevokeBody(const std::string& serial, const std::string& ott,
                       const std::string& reason_code = "0",
                       const std::string& passive = "true") {
  return absl::StrCat("{\"serial\":", Quote(serial), ",\"ott\":", Quote(ott),
                      ",\"reasonCode\":", reason_code,
                      ",\"reason\":\"\",\"passive\":", passive, "}");
}

std::string CsrBody(const std::string& csr) {
  return absl::StrCat("{\"csr\":", Quote(csr), "}");
}

// RenewToken is step's x5cInsecure renew token (STEP-PROTOCOL.md 4.6) for
// `c`, signed by `key` (default: the certificate's own).
std::string RenewToken(const Issued& c, absl::Time now,
                       const PrivateKey* key = nullptr) {
  JwsHeader h;
  h.kid = c.key.public_key().JwkThumbprint();
  h.typ = "JWT";
  for (const Certificate& cert : c.cert.chain) {
    h.x5c_insecure.push_back(internal::Base64Encode(cert.der()));
  }
  const int64_t t = absl::ToUnixSeconds(now);
  std::string claims =
      absl::StrCat(R"({"aud":"https://localhost:9000/renew","exp":)", t + 300,
                   R"(,"iat":)", t, R"(,"iss":"step-ca-client/1.0","nbf":)", t,
                   R"(,"sub":")", c.leaf().CommonName(), R"("})");
  return Unwrap(SignJws(key != nullptr ? *key : c.key, h, claims));
}

// ApiTest is a TestCa behind an Api.
struct ApiTest {
  explicit ApiTest(TestCaOptions options = {})
      : t(std::move(options)), api(t.ca.get(), ApiOptions{"v0.9.1"}) {}

  ApiResponse Do(const ApiRequest& r) const { return api.Handle(r); }

  // Refused sends `r` and checks the exact error body and that the store
  // did not change.
  ApiResponse Refused(const ApiRequest& r, int status,
                      const std::string& message) {
    StoreCounts before = t.Counts();
    ApiResponse res = api.Handle(r);
    INFO(r.method << " " << r.path << " " << r.body);
    CHECK(res.status == status);
    CHECK(res.body == ErrorBody(status, message));
    CHECK(res.content_type == "application/json");
    CHECK_FALSE(res.error.empty());
    CHECK(t.Counts() == before);
    return res;
  }

  // CsrFor makes a key and a CSR for `subject`.
  std::pair<PrivateKey, std::string> CsrFor(const std::string& subject) const {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    return {key, TestCa::Csr(key, subject, {subject}).ToPem()};
  }

  TestCa t;
  Api api;
};

// ChainOf reads the certificate chain of a sign response.
std::vector<Certificate> ChainOf(const ApiResponse& r) {
  rapidjson::Document doc = Json(r);
  std::vector<Certificate> chain;
  for (const std::string& pem : StrList(doc, "certChain")) {
    chain.push_back(Unwrap(Certificate::FromPem(pem)));
  }
  return chain;
}

TEST_CASE("Api: health and version at both prefixes, HEAD without body",
          "[server_api]") {
  ApiTest a;
  for (const char* prefix : kPrefixes) {
    ApiResponse health = a.Do(Get(absl::StrCat(prefix, "/health")));
    CHECK(health.status == 200);
    CHECK(health.body == "{\"status\":\"ok\"}\n");
    CHECK(health.content_type == "application/json");
    CHECK(health.route == "/health");
    CHECK(health.error.empty());
    CHECK(health.outcome.empty());

    ApiResponse version = a.Do(Get(absl::StrCat(prefix, "/version")));
    CHECK(version.status == 200);
    CHECK(version.body == "{\"version\":\"0.9.1\"}\n");
    CHECK(version.route == "/version");

    ApiResponse head = a.Do(Request("HEAD", absl::StrCat(prefix, "/health")));
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.content_type == "application/json");
    CHECK(head.route == "/health");
  }
}

TEST_CASE("Api: unknown routes are JSON 404s, wrong methods 405 with Allow",
          "[server_api]") {
  ApiTest a;
  for (const std::string path :
       {"/", "", "/nope", "/1.0", "/1.0/", "/2.0/health", "/health/",
        "/1.0/1.0/health", "/HEALTH", "/root/", "/root/abc/def",
        "/provisioners//encrypted-key", "/provisioners/a/b/encrypted-key",
        "/provisioners/kid/encrypted-key/", "/metrics", "/acme/directory",
        "/ssh/sign", "/1.0/sign/"}) {
    INFO(path);
    ApiResponse res = a.Refused(Get(path), 404, k404);
    CHECK(res.route == "unknown");
    CHECK(a.Refused(Post(path, "{}"), 404, k404).route == "unknown");
  }
  const std::string k405 =
      "The request method is not allowed for this resource.";
  struct Case {
    std::string method, path, allow, route;
  };
  for (const char* prefix : kPrefixes) {
    for (const Case& c : std::vector<Case>{
             {"POST", "/health", "GET, HEAD", "/health"},
             {"PUT", "/roots", "GET, HEAD", "/roots"},
             {"DELETE", "/crl", "GET, HEAD", "/crl"},
             {"POST", "/root/abc", "GET, HEAD", "/root/{sha}"},
             {"OPTIONS", "/provisioners", "GET, HEAD", "/provisioners"},
             {"GET", "/sign", "POST", "/sign"},
             {"HEAD", "/renew", "POST", "/renew"},
             {"PUT", "/rekey", "POST", "/rekey"},
             {"GET", "/revoke", "POST", "/revoke"},
             {"get", "/health", "GET, HEAD", "/health"},
         }) {
      ApiRequest r = Request(c.method, absl::StrCat(prefix, c.path));
      INFO(c.method << " " << r.path);
      ApiResponse res = a.Do(r);
      CHECK(res.status == 405);
      if (c.method != "HEAD") {
        CHECK(res.body == ErrorBody(405, k405));
      } else {
        CHECK(res.body.empty());
      }
      CHECK(Header(res, "Allow") == c.allow);
      CHECK(res.route == c.route);
      CHECK_FALSE(res.error.empty());
    }
  }
}

TEST_CASE("Api: roots, intermediates and federation", "[server_api]") {
  ApiTest a;
  const std::string root = a.t.certs.root.ToPem();
  const std::string intermediate = a.t.certs.intermediate.ToPem();
  for (const char* prefix : kPrefixes) {
    for (const auto& [path, pem] :
         std::vector<std::pair<std::string, std::string>>{
             {"/roots", root},
             {"/intermediates", intermediate},
             {"/federation", root}}) {
      ApiResponse res = a.Do(Get(absl::StrCat(prefix, path)));
      INFO(path);
      CHECK(res.status == 201);
      CHECK(res.route == path);
      CHECK(res.body == absl::StrCat("{\"crts\":[", Quote(pem), "]}\n"));
      CHECK(StrList(Json(res), "crts") == std::vector<std::string>{pem});
    }
    for (const auto& [path, pem] :
         std::vector<std::pair<std::string, std::string>>{
             {"/roots.pem", root}, {"/intermediates.pem", intermediate}}) {
      ApiResponse res = a.Do(Get(absl::StrCat(prefix, path)));
      CHECK(res.status == 200);
      CHECK(res.content_type == "application/x-pem-file");
      CHECK(res.body == pem);
      CHECK(res.route == path);
      ApiResponse head = a.Do(Request("HEAD", absl::StrCat(prefix, path)));
      CHECK(head.status == 200);
      CHECK(head.content_type == "application/x-pem-file");
      CHECK(head.body.empty());
    }
  }
}

TEST_CASE("Api: root by fingerprint, as step ca bootstrap fetches it",
          "[server_api]") {
  ApiTest a;
  const std::string fp = a.t.certs.root.FingerprintHex();
  const std::string want =
      absl::StrCat("{\"ca\":", Quote(a.t.certs.root.ToPem()), "}\n");
  std::string upper_dashed;
  for (size_t i = 0; i < fp.size(); i++) {
    if (i > 0 && i % 8 == 0) {
      upper_dashed.push_back('-');
    }
    upper_dashed.push_back(static_cast<char>(std::toupper(fp[i])));
  }
  for (const char* prefix : kPrefixes) {
    for (const std::string& sha : {fp, upper_dashed}) {
      ApiResponse res = a.Do(Get(absl::StrCat(prefix, "/root/", sha)));
      CHECK(res.status == 200);
      CHECK(res.body == want);
      CHECK(res.route == "/root/{sha}");
    }
    // The intermediate is not a root; a near miss is no match.
    std::string near = fp;
    near.back() = near.back() == '0' ? '1' : '0';
    for (const std::string& sha :
         {a.t.certs.intermediate.FingerprintHex(), near, std::string("xyz")}) {
      ApiResponse res =
          a.Refused(Get(absl::StrCat(prefix, "/root/", sha)), 404,
                    absl::StrCat("root certificate with fingerprint \"", sha,
                                 "\" was not found"));
      CHECK(res.route == "/root/{sha}");
    }
  }
}

TEST_CASE("Api: provisioners are paged with step-ca's cursor", "[server_api]") {
  ApiTest a;
  std::vector<Provisioner> added;
  for (int i = 1; i < 25; i++) {
    Provisioner p = testing::MakeProvisioner(absl::StrCat("p", i),
                                             Unwrap(PrivateKey::Generate()));
    REQUIRE(a.t.ca->AddProvisioner(p).ok());
  }
  std::vector<Provisioner> all = a.t.ca->Provisioners();
  REQUIRE(all.size() == 25);
  // step-ca's cursor for index i: hex SHA-1 of "<name>:<kid>" with the
  // first four bytes the big-endian index, leading zeros trimmed.
  auto cursor = [&](size_t i) {
    std::vector<uint8_t> sum = internal::Sha1(
        internal::Bytes(absl::StrCat(all[i].name, ":", all[i].kid)));
    sum[0] = sum[1] = sum[2] = 0;
    sum[3] = static_cast<uint8_t>(i);
    std::string hex = internal::Hex(sum);
    return hex.substr(hex.find_first_not_of('0'));
  };
  auto names = [](const rapidjson::Document& doc) {
    std::vector<std::string> out;
    for (const rapidjson::Value& p : doc["provisioners"].GetArray()) {
      out.push_back(Str(p, "name"));
    }
    return out;
  };
  auto expect_names = [&](size_t from, size_t count) {
    std::vector<std::string> out;
    for (size_t i = from; i < from + count; i++) {
      out.push_back(all[i].name);
    }
    return out;
  };

  for (const char* prefix : kPrefixes) {
    const std::string base = absl::StrCat(prefix, "/provisioners");
    // Default page of 20, then the rest from the cursor.
    ApiResponse first = a.Do(Get(base));
    CHECK(first.status == 200);
    CHECK(first.route == "/provisioners");
    rapidjson::Document doc = Json(first);
    CHECK(names(doc) == expect_names(0, 20));
    CHECK(Str(doc, "nextCursor") == cursor(20));
    // Key order: provisioners, then nextCursor.
    CHECK(absl::StartsWith(first.body, "{\"provisioners\":[{\"type\":\"JWK\""));

    ApiRequest next = Get(base);
    next.query = {{"cursor", cursor(20)}, {"limit", ""}};
    doc = Json(a.Do(next));
    CHECK(names(doc) == expect_names(20, 5));
    CHECK(Str(doc, "nextCursor").empty());

    // The cursor is left-padded with zeros, so a padded one is the same.
    next.query = {
        {"cursor", std::string(40 - cursor(3).size(), '0') + cursor(3)},
        {"limit", "2"}};
    doc = Json(a.Do(next));
    CHECK(names(doc) == expect_names(3, 2));
    CHECK(Str(doc, "nextCursor") == cursor(5));

    // Limits: <= 0 is 20, > 100 is 100, "+5" is 5 (Go's Atoi).
    for (const auto& [limit, count] :
         std::vector<std::pair<std::string, size_t>>{{"0", 20},
                                                     {"-3", 20},
                                                     {"1000", 25},
                                                     {"100", 25},
                                                     {"+5", 5},
                                                     {"1", 1},
                                                     {"25", 25},
                                                     {"007", 7}}) {
      ApiRequest r = Get(base);
      r.query = {{"limit", limit}, {"limit", "oops"}};  // first value counts
      INFO(limit);
      ApiResponse res = a.Do(r);
      REQUIRE(res.status == 200);
      doc = Json(res);
      CHECK(names(doc) == expect_names(0, count));
      CHECK(Str(doc, "nextCursor") == (count < 25 ? cursor(count) : ""));
    }
    for (const std::string limit : {"abc", "1.5", "1e2", " 5", "5 ",
                                    "99999999999999999999", "-", "0x10"}) {
      ApiRequest r = Get(base);
      r.query = {{"limit", limit}};
      a.Refused(r, 400,
                Bad(absl::StrCat("limit '", limit, "' is not an integer")));
    }
    // Past the end: an empty page.
    ApiRequest past = Get(base);
    past.query = {{"cursor", std::string(40, 'f')}};
    ApiResponse res = a.Do(past);
    CHECK(res.body == "{\"provisioners\":[],\"nextCursor\":\"\"}\n");
  }

  // Each entry is the provisioner as ca.json holds it.
  rapidjson::Document doc = Json(a.Do(Get("/provisioners")));
  const rapidjson::Value& admin = doc["provisioners"][0];
  CHECK(Str(admin, "type") == "JWK");
  CHECK(Str(admin, "name") == "admin");
  CHECK(Str(admin["key"], "kid") == a.t.provisioner.kid);
  CHECK(Str(admin, "encryptedKey") == a.t.provisioner.encrypted_key);
}

TEST_CASE("Api: encrypted provisioner key by kid", "[server_api]") {
  ApiTest a;
  Provisioner bare =
      testing::MakeProvisioner("bare", Unwrap(PrivateKey::Generate()));
  bare.encrypted_key.clear();
  REQUIRE(a.t.ca->AddProvisioner(bare).ok());
  for (const char* prefix : kPrefixes) {
    ApiResponse res = a.Do(Get(absl::StrCat(
        prefix, "/provisioners/", a.t.provisioner.kid, "/encrypted-key")));
    CHECK(res.status == 200);
    CHECK(res.route == "/provisioners/{kid}/encrypted-key");
    CHECK(
        res.body ==
        absl::StrCat("{\"key\":", Quote(a.t.provisioner.encrypted_key), "}\n"));
    // The JWE decrypts to the provisioner's key.
    Provisioner copy = a.t.provisioner;
    copy.encrypted_key = Str(Json(res), "key");
    CHECK(Unwrap(copy.DecryptKey(testing::kFixturePassword))
              .public_key()
              .Equals(a.t.provisioner_key.public_key()));

    for (const std::string& kid : {std::string("unknown"), bare.kid}) {
      ApiResponse miss = a.Refused(
          Get(absl::StrCat(prefix, "/provisioners/", kid, "/encrypted-key")),
          404, k404);
      CHECK(miss.route == "/provisioners/{kid}/encrypted-key");
    }
  }
}

// Revoked counts the entries of a DER CRL.
int RevokedCount(const std::string& der) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509_CRL> crl(d2i_X509_CRL(nullptr, &p, der.size()));
  REQUIRE(crl != nullptr);
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  return revoked == nullptr ? 0
                            : static_cast<int>(sk_X509_REVOKED_num(revoked));
}

TEST_CASE("Api: CRL as DER or PEM, with Expires; 404 when disabled",
          "[server_api]") {
  ApiTest a;
  Issued c = a.t.Issue("svc.example.com");
  REQUIRE(a.t.Revoke(c.serial(), 1).ok());
  for (const char* prefix : kPrefixes) {
    ApiResponse der = a.Do(Get(absl::StrCat(prefix, "/crl")));
    CHECK(der.status == 200);
    CHECK(der.route == "/crl");
    CHECK(der.content_type == "application/pkix-crl");
    CHECK(Header(der, "Content-Disposition") ==
          "attachment; filename=\"crl.crl\"");
    // nextUpdate = now + 24h (FixtureStart is 2026-11-25T00:45:00Z).
    CHECK(Header(der, "Expires") == "Thu, 26 Nov 2026 00:45:00 GMT");
    CHECK(RevokedCount(der.body) == 1);

    ApiRequest pem_req = Get(absl::StrCat(prefix, "/crl"));
    pem_req.query = {{"pem", ""}};
    ApiResponse pem = a.Do(pem_req);
    CHECK(pem.status == 200);
    CHECK(pem.content_type == "application/x-pem-file");
    CHECK(Header(pem, "Content-Disposition") ==
          "attachment; filename=\"crl.pem\"");
    CHECK(Header(pem, "Expires") == "Thu, 26 Nov 2026 00:45:00 GMT");
    std::vector<internal::PemBlock> blocks =
        Unwrap(internal::DecodePemBlocks(pem.body));
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0].type == "X509 CRL");
    CHECK(std::string(blocks[0].der.begin(), blocks[0].der.end()) == der.body);

    ApiResponse head = a.Do(Request("HEAD", absl::StrCat(prefix, "/crl")));
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.content_type == "application/pkix-crl");
    CHECK(Header(head, "Expires").has_value());
  }

  // CRLs disabled in the config: step-ca's unmapped 404.
  AuthorityParts parts{
      {a.t.certs.root}, a.t.certs.intermediate, a.t.certs.intermediate_key, {}};
  parts.config.dns_names = {"localhost"};
  parts.config.provisioners = {a.t.provisioner};
  parts.config.crl.enabled = false;
  std::unique_ptr<Authority> off =
      Unwrap(Authority::FromParts(parts, NewMemoryStore(), a.t.clock));
  Api api(off.get(), {});
  for (const char* prefix : kPrefixes) {
    ApiResponse res = api.Handle(Get(absl::StrCat(prefix, "/crl")));
    CHECK(res.status == 404);
    CHECK(res.body ==
          ErrorBody(404,
                    "The certificate authority received an unexpected HTTP "
                    "status code - '404'. " +
                        kSeeLogs));
    CHECK(res.route == "/crl");
    CHECK(absl::StrContains(res.error, "not enabled"));
  }
}

TEST_CASE("Api: sign issues with step's response shape", "[server_api]") {
  ApiTest a;
  for (const char* prefix : kPrefixes) {
    auto [key, csr] = a.CsrFor("svc.example.com");
    StoreCounts before = a.t.Counts();
    ApiResponse res =
        a.Do(Post(absl::StrCat(prefix, "/sign"),
                  SignBody(csr, a.t.SignToken("svc.example.com"))));
    REQUIRE(res.status == 201);
    CHECK(res.route == "/sign");
    CHECK(res.outcome == "issued");
    CHECK(res.error.empty());
    StoreCounts after = a.t.Counts();
    CHECK(after.certificates == before.certificates + 1);
    CHECK(after.used_tokens == before.used_tokens + 1);

    rapidjson::Document doc = Json(res);
    Certificate leaf = Unwrap(Certificate::FromPem(Str(doc, "crt")));
    CHECK(leaf.CommonName() == "svc.example.com");
    CHECK(leaf.public_key().Equals(key.public_key()));
    CHECK(Str(doc, "ca") == a.t.certs.intermediate.ToPem());
    CHECK(
        StrList(doc, "certChain") ==
        std::vector<std::string>{leaf.ToPem(), a.t.certs.intermediate.ToPem()});
    // Key order crt, ca, certChain, tlsOptions; tlsOptions from config.tls.
    CHECK(absl::StartsWith(
        res.body, absl::StrCat("{\"crt\":", Quote(leaf.ToPem()), ",\"ca\":")));
    CHECK(absl::StrContains(res.body, "\",\"certChain\":[\""));
    CHECK(absl::EndsWith(
        res.body,
        "\"],\"tlsOptions\":{\"cipherSuites\":["
        "\"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\","
        "\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\"],"
        "\"minVersion\":1.2,\"maxVersion\":1.3,\"renegotiation\":false}}\n"));
  }

  SECTION("notBefore / notAfter as durations and times") {
    auto [key, csr] = a.CsrFor("svc.example.com");
    ApiResponse res = a.Do(Post(
        "/sign", SignBody(csr, a.t.SignToken("svc.example.com"), "", "1h")));
    REQUIRE(res.status == 201);
    Certificate leaf = ChainOf(res)[0];
    CHECK(leaf.NotAfter() - leaf.NotBefore() ==
          absl::Hours(1) + absl::Minutes(1));
    auto [key2, csr2] = a.CsrFor("svc.example.com");
    res = a.Do(Post("/sign",
                    SignBody(csr2, a.t.SignToken("svc.example.com"),
                             "2026-11-25T01:00:00Z", "2026-11-25T02:00:00Z")));
    REQUIRE(res.status == 201);
    leaf = ChainOf(res)[0];
    CHECK(leaf.NotBefore() == absl::FromUnixSeconds(1795567500 + 900));
    CHECK(leaf.NotAfter() == absl::FromUnixSeconds(1795567500 + 4500));
  }

  SECTION("JSON content type variants are accepted") {
    for (const std::string ct :
         {"application/json; charset=utf-8", "Application/JSON",
          "application/json;charset=\"UTF-8\"", " application/json "}) {
      auto [key, csr] = a.CsrFor("svc.example.com");
      INFO(ct);
      CHECK(a.Do(Post("/sign", SignBody(csr, a.t.SignToken("svc.example.com")),
                      ct))
                .status == 201);
    }
  }

  SECTION("unknown members and templateData are ignored, null is unset") {
    auto [key, csr] = a.CsrFor("svc.example.com");
    std::string body = absl::StrCat(
        "{\"csr\":", Quote(csr),
        ",\"ott\":", Quote(a.t.SignToken("svc.example.com")),
        ",\"notBefore\":null,\"templateData\":{\"a\":[1,2]},\"extra\":true}");
    CHECK(a.Do(Post("/1.0/sign", body)).status == 201);
  }
}

TEST_CASE("Api: sign refuses bad requests and changes nothing",
          "[server_api]") {
  ApiTest a;
  auto [key, csr] = a.CsrFor("svc.example.com");
  const std::string ott = a.t.SignToken("svc.example.com");

  SECTION("malformed JSON, wrong types, trailing data, duplicates") {
    for (const std::string& body : {
             std::string(""),
             std::string("{"),
             std::string("[]"),
             std::string("null"),
             std::string("\"csr\""),
             std::string("{}}"),
             SignBody(csr, ott) + " x",
             SignBody(csr, ott) + "{}",
             absl::StrCat("{\"csr\":", Quote(csr), ",\"ott\":", Quote(ott),
                          ",\"ott\":", Quote(ott), "}"),
             absl::StrCat("{\"csr\":5,\"ott\":", Quote(ott), "}"),
             absl::StrCat("{\"csr\":[],\"ott\":", Quote(ott), "}"),
             absl::StrCat("{\"csr\":", Quote(csr), ",\"ott\":true}"),
             absl::StrCat("{\"csr\":", Quote(csr), ",\"ott\":", Quote(ott),
                          ",\"notAfter\":60}"),
             absl::StrCat("{\"csr\":", Quote(csr), ",\"ott\":", Quote(ott),
                          ",\"notBefore\":{}}"),
             std::string("{\"csr\":\"\xff\xfe\"}"),
         }) {
      for (const char* prefix : kPrefixes) {
        ApiResponse res =
            a.Refused(Post(absl::StrCat(prefix, "/sign"), body), 400, kDecode);
        CHECK(res.outcome == "invalid");
        CHECK(res.route == "/sign");
        CHECK_FALSE(absl::StrContains(res.error, ott));
      }
    }
  }

  SECTION("missing csr, invalid csr, missing ott") {
    for (const std::string& body :
         {absl::StrCat("{\"ott\":", Quote(ott), "}"),
          absl::StrCat("{\"csr\":null,\"ott\":", Quote(ott), "}"),
          SignBody("", ott)}) {
      a.Refused(Post("/sign", body), 400, Bad("missing csr"));
    }
    // Not PEM; a certificate, not a request; a request whose signature is
    // broken; absurdly large.
    std::vector<uint8_t> der =
        TestCa::Csr(key, "svc.example.com", {"svc.example.com"}).der();
    der.back() ^= 0x01;
    std::string tampered = internal::EncodePem("CERTIFICATE REQUEST", der);
    for (const std::string& bad :
         {std::string("garbage"), a.t.certs.root.ToPem(), tampered,
          std::string(40000, 'A')}) {
      ApiResponse res =
          a.Refused(Post("/sign", SignBody(bad, ott)), 400, Bad("invalid csr"));
      CHECK(absl::StartsWith(res.error, "sign: invalid csr"));
      CHECK(res.outcome == "invalid");
    }
    for (const std::string& body :
         {absl::StrCat("{\"csr\":", Quote(csr), "}"), SignBody(csr, ""),
          absl::StrCat("{\"csr\":", Quote(csr), ",\"ott\":null}")}) {
      a.Refused(Post("/sign", body), 400, Bad("missing ott"));
    }
  }

  SECTION("wrong content type: 415") {
    const std::string message =
        "The request body must be sent as application/json.";
    for (const std::string ct :
         {"", "text/plain", "application/x-www-form-urlencoded",
          "application/json; charset=latin1", "application/jsonx"}) {
      INFO(ct);
      ApiResponse res =
          a.Refused(Post("/sign", SignBody(csr, ott), ct), 415, message);
      CHECK(res.outcome == "invalid");
    }
  }

  SECTION("bad tokens: 401 with the default text") {
    TokenSigner forger(Unwrap(PrivateKey::Generate()), a.t.provisioner.kid,
                       "admin", a.t.clock);
    TokenRequest req;
    req.subject = "svc.example.com";
    req.audience = "https://localhost:9000/1.0/sign";
    req.root_fingerprint = a.t.certs.root.FingerprintHex();
    const std::string forged = Unwrap(forger.Sign(req));
    TokenSigner stranger(a.t.provisioner_key, "unknown-kid", "admin",
                         a.t.clock);
    const std::string unknown = Unwrap(stranger.Sign(req));
    req.audience = "https://elsewhere.example/1.0/sign";
    const std::string elsewhere =
        Unwrap(TokenSigner(a.t.provisioner_key, a.t.provisioner.kid, "admin",
                           a.t.clock)
                   .Sign(req));
    struct Case {
      std::string token, outcome;
    };
    for (const Case& c : std::vector<Case>{{"not-a-token", "malformed"},
                                           {"a.b.c", "malformed"},
                                           {forged, "signature"},
                                           {unknown, "provisioner"},
                                           {elsewhere, "audience"}}) {
      INFO(c.outcome);
      ApiResponse res =
          a.Refused(Post("/sign", SignBody(csr, c.token)), 401, k401);
      CHECK(res.outcome == c.outcome);
      CHECK(absl::StartsWith(res.error, "sign: "));
      CHECK_FALSE(absl::StrContains(res.error, c.token));
    }
    // Expired.
    const std::string old = a.t.SignToken("svc.example.com");
    a.t.clock.Advance(absl::Minutes(10));
    ApiResponse res = a.Refused(Post("/sign", SignBody(csr, old)), 401, k401);
    CHECK(res.outcome == "time");
    // Replayed.
    const std::string once = a.t.SignToken("svc.example.com");
    REQUIRE(a.Do(Post("/sign", SignBody(csr, once))).status == 201);
    res = a.Refused(Post("/sign", SignBody(csr, once)), 401, k401);
    CHECK(res.outcome == "replay");
    CHECK(absl::StrContains(res.error, "already used"));
  }

  SECTION("names and validity the token does not allow") {
    auto [other_key, other_csr] = a.CsrFor("other.example.com");
    ApiResponse res = a.Do(Post("/sign", SignBody(other_csr, ott)));
    CHECK(res.status == 403);
    CHECK(absl::StartsWith(
        res.body,
        "{\"status\":403,\"message\":\"The request was forbidden by the "
        "certificate authority: csr "));
    CHECK(res.outcome == "forbidden");
    StoreCounts before = a.t.Counts();
    res = a.Do(Post("/sign", SignBody(csr, ott, "", "48h")));
    CHECK(res.status == 400);
    CHECK(absl::StrContains(res.body,
                            "The request could not be completed: requested "
                            "duration of 48h1m0s is more than the authorized "
                            "maximum certificate duration of 24h1m0s."));
    a.Refused(Post("/sign", SignBody(csr, ott, "tomorrow", "")), 400,
              Bad("not_before is neither an RFC 3339 time nor a duration"));
    a.Refused(Post("/sign", SignBody(csr, ott, "", "-1h")), 400,
              Bad("not_after is before not_before"));
    CHECK(a.t.Counts() == before);
    // The token is still good for what it allows.
    CHECK(a.Do(Post("/sign", SignBody(csr, ott))).status == 201);
  }
}

TEST_CASE("Api: renew over mTLS, the client certificate wins", "[server_api]") {
  ApiTest a;
  for (const char* prefix : kPrefixes) {
    for (const char* route : {"/renew", "/re-sign"}) {
      Issued c = a.t.Issue("svc.example.com");
      ApiRequest r = Post(absl::StrCat(prefix, route), "");
      r.peer_chain = c.cert.chain;
      StoreCounts before = a.t.Counts();
      ApiResponse res = a.Do(r);
      REQUIRE(res.status == 201);
      CHECK(res.route == route);
      CHECK(res.outcome == "renewed");
      std::vector<Certificate> chain = ChainOf(res);
      REQUIRE(chain.size() == 2);
      CHECK(chain[0].SerialDecimal() != c.serial());
      CHECK(chain[0].public_key().Equals(c.key.public_key()));
      CHECK(chain[1].Equals(a.t.certs.intermediate));
      CHECK(a.t.Counts().certificates == before.certificates + 1);
    }
  }

  SECTION("bodies and content types step sends, or a JSON object") {
    Issued c = a.t.Issue("svc.example.com");
    for (const auto& [body, ct] :
         std::vector<std::pair<std::string, std::string>>{
             {"", ""},
             {"", "application/json"},
             {"{}", "application/json"},
             {" {\"x\":1} ", "application/json"},
             {"\n", ""}}) {
      ApiRequest r = Post("/renew", body, ct);
      r.peer_chain = c.cert.chain;
      INFO(body << " " << ct);
      CHECK(a.Do(r).status == 201);
    }
    // A Bearer header is ignored when a client certificate is present.
    ApiRequest r = Post("/renew", "", "");
    r.peer_chain = c.cert.chain;
    r.authorization = "Bearer garbage";
    CHECK(a.Do(r).status == 201);
  }

  SECTION("refusals") {
    Issued c = a.t.Issue("svc.example.com");
    // Neither a client certificate nor a Bearer token.
    for (const std::string auth :
         {"", "Basic dXNlcjpwYXNz", "Bearer", "Bearertoken", "Token abc"}) {
      ApiRequest r = Post("/renew", "");
      r.authorization = auth;
      ApiResponse res = a.Refused(r, 400, Bad("missing client certificate"));
      CHECK(res.outcome == "invalid");
    }
    // Bad bodies and content types.
    ApiRequest r = Post("/renew", "garbage");
    r.peer_chain = c.cert.chain;
    a.Refused(r, 400, kDecode);
    r = Post("/renew", "[]");
    r.peer_chain = c.cert.chain;
    a.Refused(r, 400, kDecode);
    r = Post("/renew", "{}", "");
    r.peer_chain = c.cert.chain;
    a.Refused(r, 415, "The request body must be sent as application/json.");
    r = Post("/renew", "", "text/plain");
    r.peer_chain = c.cert.chain;
    a.Refused(r, 415, "The request body must be sent as application/json.");

    // A certificate from another CA.
    TestCa other;
    Issued foreign = other.Issue("svc.example.com");
    r = Post("/renew", "");
    r.peer_chain = foreign.cert.chain;
    ApiResponse res = a.Refused(r, 401, k401);
    CHECK(res.outcome == "certificate_untrusted");
    // Only the leaf, the intermediate taken from the CA: fine.
    r.peer_chain = {c.leaf()};
    CHECK(a.Do(r).status == 201);

    // Revoked.
    REQUIRE(a.t.Revoke(c.serial()).ok());
    r.peer_chain = c.cert.chain;
    res = a.Refused(r, 401, k401);
    CHECK(res.error == "renew: certificate has been revoked");
    CHECK(res.outcome == "certificate_revoked");

    // Expired.
    Issued d = a.t.Issue("svc.example.com");
    a.t.clock.Advance(absl::Hours(25));
    r.peer_chain = d.cert.chain;
    res = a.Refused(r, 401, k401);
    CHECK(absl::StrContains(res.error, "certificate expired on"));
    CHECK(res.outcome == "certificate_expired");
  }
}

TEST_CASE("Api: renew with a Bearer renew token", "[server_api]") {
  ApiTest a;
  for (const char* prefix : kPrefixes) {
    Issued c = a.t.Issue("svc.example.com");
    const std::string token = RenewToken(c, a.t.clock.Now());
    // step sends no Content-Type and no body.
    ApiRequest r = Post(absl::StrCat(prefix, "/renew"), "", "");
    r.authorization = "Bearer " + token;
    StoreCounts before = a.t.Counts();
    ApiResponse res = a.Do(r);
    REQUIRE(res.status == 201);
    CHECK(res.outcome == "renewed");
    CHECK(ChainOf(res)[0].public_key().Equals(c.key.public_key()));
    CHECK(a.t.Counts().used_tokens == before.used_tokens + 1);
    // Used once.
    res = a.Refused(r, 401, k401);
    CHECK(res.outcome == "replay");
    CHECK_FALSE(absl::StrContains(res.error, token));
    CHECK_FALSE(absl::StrContains(res.body, token));
  }
  Issued c = a.t.Issue("svc.example.com");
  PrivateKey wrong = Unwrap(PrivateKey::Generate());
  struct Case {
    std::string header, outcome;
  };
  for (const Case& k : std::vector<Case>{
           {"Bearer not-a-token", "malformed"},
           {"Bearer ", "malformed"},
           {"bearer " + RenewToken(c, a.t.clock.Now(), &wrong), "signature"}}) {
    ApiRequest r = Post("/renew", "", "");
    r.authorization = k.header;
    INFO(k.header);
    ApiResponse res = a.Refused(r, 401, k401);
    CHECK(res.outcome == k.outcome);
  }
  // A revoked certificate is not renewed by token either.
  REQUIRE(a.t.Revoke(c.serial()).ok());
  ApiRequest r = Post("/renew", "", "");
  r.authorization = "Bearer " + RenewToken(c, a.t.clock.Now());
  ApiResponse res = a.Refused(r, 401, k401);
  CHECK(res.outcome == "certificate_revoked");
}

TEST_CASE("Api: rekey over mTLS with a new key", "[server_api]") {
  ApiTest a;
  for (const char* prefix : kPrefixes) {
    Issued c = a.t.Issue("svc.example.com");
    PrivateKey fresh = Unwrap(PrivateKey::Generate());
    ApiRequest r = Post(absl::StrCat(prefix, "/rekey"),
                        CsrBody(TestCa::Csr(fresh, "", {}).ToPem()));
    r.peer_chain = c.cert.chain;
    ApiResponse res = a.Do(r);
    REQUIRE(res.status == 201);
    CHECK(res.route == "/rekey");
    CHECK(res.outcome == "rekeyed");
    std::vector<Certificate> chain = ChainOf(res);
    CHECK(chain[0].public_key().Equals(fresh.public_key()));
    CHECK(chain[0].CommonName() == "svc.example.com");
  }

  Issued c = a.t.Issue("svc.example.com");
  PrivateKey fresh = Unwrap(PrivateKey::Generate());
  const std::string csr = TestCa::Csr(fresh, "", {}).ToPem();
  ApiRequest r = Post("/rekey", CsrBody(csr));
  a.Refused(r, 400, Bad("missing client certificate"));
  r.peer_chain = c.cert.chain;
  r.content_type = "";
  a.Refused(r, 415, "The request body must be sent as application/json.");
  r.content_type = "application/json";
  for (const std::string& body : {std::string("{"), std::string("{\"csr\":1}"),
                                  CsrBody(csr) + "x", std::string("")}) {
    r.body = body;
    a.Refused(r, 400, kDecode);
  }
  r.body = "{}";
  a.Refused(r, 400, Bad("missing csr"));
  r.body = CsrBody("garbage");
  a.Refused(r, 400, Bad("invalid csr"));
  TestCa other;
  r.body = CsrBody(csr);
  r.peer_chain = other.Issue("svc.example.com").cert.chain;
  CHECK(a.Refused(r, 401, k401).outcome == "certificate_untrusted");
}

TEST_CASE("Api: revoke by token or mTLS, passive only", "[server_api]") {
  ApiTest a;
  for (const char* prefix : kPrefixes) {
    Issued c = a.t.Issue("svc.example.com");
    StoreCounts before = a.t.Counts();
    ApiResponse res =
        a.Do(Post(absl::StrCat(prefix, "/revoke"),
                  RevokeBody(c.serial(), a.t.RevokeToken(c.serial()), "1")));
    REQUIRE(res.status == 200);
    CHECK(res.body == "{\"status\":\"ok\"}\n");
    CHECK(res.route == "/revoke");
    CHECK(res.outcome == "revoked");
    CHECK(a.t.Counts().revocations == before.revocations + 1);
    std::optional<RevocationRecord> rec =
        Unwrap(a.t.ca->store().GetRevocation(c.serial()));
    REQUIRE(rec.has_value());
    CHECK(rec->reason_code == 1);
    CHECK_FALSE(rec->mtls);

    // Again: step-ca's 400.
    res = a.Refused(Post(absl::StrCat(prefix, "/revoke"),
                         RevokeBody(c.serial(), a.t.RevokeToken(c.serial()))),
                    400,
                    Bad(absl::StrCat("certificate with serial number '",
                                     c.serial(), "' is already revoked")));
    CHECK(res.outcome == "already_revoked");

    // mTLS: the certificate revokes itself; hex serials are read too.
    Issued d = a.t.Issue("svc.example.com");
    ApiRequest r =
        Post(absl::StrCat(prefix, "/revoke"),
             RevokeBody("0x" + internal::Hex(d.leaf().Serial()), ""));
    r.peer_chain = d.cert.chain;
    res = a.Do(r);
    CHECK(res.status == 200);
    CHECK(res.outcome == "revoked");
    rec = Unwrap(a.t.ca->store().GetRevocation(d.serial()));
    REQUIRE(rec.has_value());
    CHECK(rec->mtls);
  }

  Issued c = a.t.Issue("svc.example.com");
  Issued d = a.t.Issue("svc.example.com");
  const std::string ott = a.t.RevokeToken(c.serial());

  SECTION("malformed bodies") {
    for (const std::string& body :
         {std::string("{"), std::string("[]"), std::string(""),
          RevokeBody(c.serial(), ott) + "]", RevokeBody(c.serial(), ott, "1.5"),
          RevokeBody(c.serial(), ott, "1e0"),
          RevokeBody(c.serial(), ott, "\"1\""),
          RevokeBody(c.serial(), ott, "99999999999999999999"),
          RevokeBody(c.serial(), ott, "0", "\"true\""),
          RevokeBody(c.serial(), ott, "0", "1"),
          absl::StrCat("{\"serial\":", c.serial(), ",\"passive\":true}"),
          absl::StrCat(
              "{\"serial\":\"1\",\"serial\":\"2\",\"passive\":true}")}) {
      INFO(body);
      ApiResponse res = a.Refused(Post("/revoke", body), 400, kDecode);
      CHECK_FALSE(absl::StrContains(res.error, ott));
    }
    a.Refused(Post("/revoke", RevokeBody(c.serial(), ott), "text/plain"), 415,
              "The request body must be sent as application/json.");
  }

  SECTION("step-ca's checks and messages") {
    a.Refused(Post("/revoke", RevokeBody("", ott)), 400, Bad("missing serial"));
    a.Refused(Post("/revoke", "{\"ott\":\"x\",\"passive\":true}"), 400,
              Bad("missing serial"));
    for (const char* code : {"11", "-1", "1000"}) {
      a.Refused(Post("/revoke", RevokeBody(c.serial(), ott, code)), 400,
                Bad("reasonCode out of bounds"));
    }
    for (const char* passive : {"false", "null"}) {
      CHECK(
          a.Refused(Post("/revoke", RevokeBody(c.serial(), ott, "0", passive)),
                    501, k501)
              .outcome == "unsupported");
    }
    a.Refused(Post("/revoke", absl::StrCat("{\"serial\":", Quote(c.serial()),
                                           ",\"passive\":true}")),
              400, Bad("missing ott or client certificate"));
    a.Refused(Post("/revoke", RevokeBody("12ab", ott)), 400,
              Bad("serial is neither decimal nor 0x-prefixed hex"));
    // The token names another serial; the client certificate is another.
    CHECK(
        a.Refused(Post("/revoke", RevokeBody(d.serial(), ott)), 403,
                  Forbidden(absl::StrCat("request serial number \"", d.serial(),
                                         "\" and token subject \"", c.serial(),
                                         "\" do not match")))
            .outcome == "forbidden");
    ApiRequest r = Post("/revoke", RevokeBody(c.serial(), ""));
    r.peer_chain = d.cert.chain;
    a.Refused(r, 403,
              Forbidden(absl::StrCat("request serial number \"", c.serial(),
                                     "\" and certificate serial number \"",
                                     d.serial(), "\" do not match")));
    std::string reason(2000, 'r');
    a.Refused(Post("/revoke", absl::StrCat("{\"serial\":", Quote(c.serial()),
                                           ",\"ott\":", Quote(ott),
                                           ",\"reason\":", Quote(reason),
                                           ",\"passive\":true}")),
              400, Bad("reason is too long"));
  }

  SECTION("bad tokens and foreign certificates: 401") {
    CHECK(
        a.Refused(Post("/revoke", RevokeBody(c.serial(), "garbage")), 401, k401)
            .outcome == "malformed");
    // A sign token is not a revoke token.
    CHECK(a.Refused(Post("/revoke",
                         RevokeBody(c.serial(), a.t.SignToken(c.serial()))),
                    401, k401)
              .outcome == "audience");
    TestCa other;
    Issued foreign = other.Issue("svc.example.com");
    ApiRequest r = Post("/revoke", RevokeBody(foreign.serial(), ""));
    r.peer_chain = foreign.cert.chain;
    CHECK(a.Refused(r, 401, k401).outcome == "certificate_untrusted");
    // The token wins over a client certificate (which names another
    // serial here).
    r = Post("/revoke", RevokeBody(c.serial(), ott));
    r.peer_chain = d.cert.chain;
    CHECK(a.Do(r).status == 200);
    CHECK_FALSE(Unwrap(a.t.ca->store().GetRevocation(c.serial()))->mtls);
    CHECK_FALSE(Unwrap(a.t.ca->store().GetRevocation(d.serial())).has_value());
  }
}

TEST_CASE("Api: seed walkthrough through the router", "[server_api]") {
  // sign -> renew at 2/3 of the lifetime -> revoke the renewed certificate
  // (mTLS, passive) -> its renewal is refused, and it dies at notAfter.
  ApiTest a;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  const std::string csr =
      TestCa::Csr(key, "svc.example.com", {"svc.example.com", "10.0.0.7"})
          .ToPem();
  const std::string ott =
      a.t.SignToken("svc.example.com", {"svc.example.com", "10.0.0.7"});
  ApiResponse signed_res = a.Do(Post("/sign", SignBody(csr, ott)));
  REQUIRE(signed_res.status == 201);
  std::vector<Certificate> first = ChainOf(signed_res);
  CHECK(first[0].Sans().size() == 2);

  a.t.clock.Advance(absl::Hours(16));
  ApiRequest renew = Post("/renew", "");
  renew.peer_chain = first;
  ApiResponse renewed_res = a.Do(renew);
  REQUIRE(renewed_res.status == 201);
  std::vector<Certificate> second = ChainOf(renewed_res);
  CHECK(second[0].SerialDecimal() != first[0].SerialDecimal());
  CHECK(second[0].NotAfter() - second[0].NotBefore() ==
        first[0].NotAfter() - first[0].NotBefore());

  ApiRequest revoke =
      Post("/revoke", RevokeBody(second[0].SerialDecimal(), "", "4"));
  revoke.peer_chain = second;
  ApiResponse revoked_res = a.Do(revoke);
  REQUIRE(revoked_res.status == 200);
  CHECK(revoked_res.body == "{\"status\":\"ok\"}\n");

  a.t.clock.Advance(absl::Hours(1));
  renew.peer_chain = second;
  ApiResponse refused = a.Refused(renew, 401, k401);
  CHECK(absl::StrContains(refused.error, "revoked"));
  CHECK(refused.outcome == "certificate_revoked");

  // The CRL lists it.
  CHECK(RevokedCount(a.Do(Get("/1.0/crl")).body) == 1);
}

TEST_CASE("Api: error bodies are Go-encoded JSON", "[server_api]") {
  ApiResponse res =
      internal::ErrorResponse(418, "a<b>&\"c\"\\\n\x01\xe2\x80\xa8\xff", "x");
  CHECK(res.status == 418);
  CHECK(res.body ==
        "{\"status\":418,\"message\":\"a\\u003cb\\u003e\\u0026\\\"c\\\"\\\\\\n"
        "\\u0001\\u2028\\ufffd\"}\n");
  CHECK(res.error == "x");
  CHECK(internal::ErrorResponse(503, "", "").body ==
        ErrorBody(503,
                  "The certificate authority received an unexpected HTTP "
                  "status code - '503'. " +
                      kSeeLogs));
  CHECK(internal::ErrorResponse(500, "", "").body ==
        ErrorBody(500,
                  "The certificate authority encountered an Internal Server "
                  "Error. " +
                      kSeeLogs));
  CHECK(internal::ErrorResponse(400, "", "").body ==
        ErrorBody(400,
                  "The request could not be completed; malformed or missing "
                  "data. " +
                      kSeeLogs));
  CHECK(internal::ErrorResponse(403, "", "").body ==
        ErrorBody(403,
                  "The request was forbidden by the certificate authority. " +
                      kSeeLogs));
  CHECK(internal::ErrorResponse(400, "too big", "").body ==
        ErrorBody(400, Bad("too big")));
  CHECK(internal::ErrorResponse(413, "request body too large", "").body ==
        ErrorBody(413, "request body too large"));
}

TEST_CASE("Api: federated roots are served by /federation and /root",
          "[server_api]") {
  testing::TempDir ours, theirs;
  FakeClock clock(testing::FixtureStart());
  InitOptions o;
  o.dir = theirs.path();
  o.name = "Other";
  o.password = "other-password";
  o.provisioner_p2c = 1000;
  InitResult other = Unwrap(InitPki(o, clock));
  o.dir = ours.path();
  o.name = "Ours";
  o.password = "ca-password";
  o.store = "memory:";
  InitResult mine = Unwrap(InitPki(o, clock));
  CaConfig config = Unwrap(LoadConfig(mine.config_path));
  config.federated_roots = {other.root_path};
  std::unique_ptr<Authority> ca =
      Unwrap(Authority::Create(config, "ca-password", nullptr, clock));
  REQUIRE(ca->federated_roots().size() == 1);
  Api api(ca.get(), ApiOptions{"0.1.0"});

  ApiResponse fed = api.Handle(Get("/1.0/federation"));
  CHECK(fed.status == 201);
  CHECK(absl::StrContains(fed.body, Quote(ca->roots()[0].ToPem())));
  CHECK(absl::StrContains(fed.body, Quote(ca->federated_roots()[0].ToPem())));
  ApiResponse roots = api.Handle(Get("/roots"));
  CHECK_FALSE(
      absl::StrContains(roots.body, Quote(ca->federated_roots()[0].ToPem())));
  ApiResponse root =
      api.Handle(Get(absl::StrCat("/root/", other.root_fingerprint)));
  CHECK(root.status == 200);
  CHECK(absl::StrContains(root.body, Quote(ca->federated_roots()[0].ToPem())));
  ApiResponse inter = api.Handle(Get("/intermediates"));
  CHECK(inter.status == 201);
  CHECK(absl::StrContains(inter.body, Quote(ca->intermediate().ToPem())));

  config.federated_roots = {ours.path() + "/missing.crt"};
  CHECK(Authority::Create(config, "ca-password", nullptr, clock)
            .status()
            .code() == absl::StatusCode::kNotFound);
}

// The shortest text that reads back as the value, as snprintf and strtod
// find it: the fast path for few decimals must agree with them.
std::string ShortestBySnprintf(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; precision++) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) {
      break;
    }
  }
  return buf;
}

TEST_CASE("Api: JSON numbers are the shortest text that reads back",
          "[server_api]") {
  CHECK(internal::JsonNumber(1.2) == "1.2");
  CHECK(internal::JsonNumber(1.3) == "1.3");
  CHECK(internal::JsonNumber(0) == "0");
  CHECK(internal::JsonNumber(-2.5) == "-2.5");
  CHECK(internal::JsonNumber(0.001) == "0.001");
  CHECK(internal::JsonNumber(123456) == "123456");
  for (int i = -20000; i <= 20000; i++) {
    for (double scale : {1.0, 10.0, 100.0, 1000.0, 1e6}) {
      const double v = i / scale;
      std::string want = ShortestBySnprintf(v);
      if (want.find('e') != std::string::npos) {
        continue;  // exponent form: not what the fast path writes
      }
      INFO(v);
      REQUIRE(internal::JsonNumber(v) == want);
    }
  }
  CHECK(std::strtod(internal::JsonNumber(0.1 + 0.2).c_str(), nullptr) ==
        0.1 + 0.2);
}

}  // namespace
}  // namespace mayfly

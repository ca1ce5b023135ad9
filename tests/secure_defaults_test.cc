// Secure defaults (issue #9), one TEST_CASE per default:
// - private keys at rest are encrypted, and every file InitPki writes is
//   0600; the provisioner's private key is a JWE;
// - InitPki's directories are 0700, whatever the umask and whatever mode
//   an existing directory had;
// - a running CaServer speaks TLS 1.2+ with AEAD suites only (tls_test.cc
//   checks the SSL_CTX helpers over a BIO pair; here it is the server's
//   real listening socket);
// - no secret (token, password, key material) in any log line or error
//   body of a CaServer driven with good and bad requests;
// - a token is verified before anything is written: a refused token makes
//   no store write and leaves its jti usable;
// - fingerprints and MACs are compared in constant time (a source check:
//   a test cannot time it reliably).
// The server's own hardening (umask, core dumps, ptrace, dropping root) is
// checked on the real process by tests/interop/serve_privileges_test.sh.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "mayfly/jose.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/server.h"
#include "mayfly/store.h"
#include "mayfly/tls.h"
#include "mayfly/token.h"
#include "openssl/ssl.h"
#include "test_util.h"

// cpp-httplib's HTTPS client, over the BoringSSL mayfly is built with.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include "httplib.h"

namespace mayfly {
namespace {

using testing::FixtureStart;
using testing::Issued;
using testing::StatusIs;
using testing::TempDir;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

constexpr char kCaPassword[] = "ca-pass-7f3a9c-secret";
constexpr char kProvisionerPassword[] = "prov-pass-91be4d-secret";
constexpr char kWrongPassword[] = "wrong-pass-c0ffee-guess";

// ScopedUmask sets the process umask for one scope: 0 shows that modes are
// set by mayfly, not inherited from a careful umask.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(umask(mask)) {}
  ~ScopedUmask() { umask(old_); }

 private:
  mode_t old_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  INFO(path);
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// AllPaths lists `dir` and everything below it.
std::vector<std::string> AllPaths(const std::string& dir) {
  std::vector<std::string> out = {dir};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    out.push_back(entry.path().string());
  }
  return out;
}

InitOptions FastInit(const std::string& dir) {
  InitOptions o;
  o.dir = dir;
  o.name = "Secure Defaults";
  o.dns_names = {"localhost", "127.0.0.1"};
  o.password = kCaPassword;
  o.provisioner_password = kProvisionerPassword;
  o.provisioner_p2c = 1000;  // fast; the default is checked once below
  o.store = "memory:";
  return o;
}

// JsonMember returns the string member `name` of the JSON object `json`.
std::string JsonMember(absl::string_view json, const char* name) {
  rapidjson::Document doc = Unwrap(internal::ParseJsonObject(json, "json"));
  INFO(json);
  REQUIRE(doc.HasMember(name));
  REQUIRE(doc[name].IsString());
  return doc[name].GetString();
}

TEST_CASE("secure defaults: private keys at rest are encrypted, files 0600",
          "[secure_defaults]") {
  TempDir tmp;
  const std::string dir = tmp.path() + "/ca";
  FakeClock clock(FixtureStart());
  InitResult pki;
  {
    ScopedUmask open_umask(0);
    InitOptions options = FastInit(dir);
    options.provisioner_p2c = InitOptions().provisioner_p2c;  // the default
    pki = Unwrap(InitPki(options, clock));
  }

  // Every file Init wrote is 0600, whatever the umask.
  int files = 0;
  for (const std::string& path : AllPaths(dir)) {
    if (std::filesystem::is_regular_file(path)) {
      INFO(path);
      CHECK(ModeOf(path) == 0600);
      files++;
    }
  }
  CHECK(files == 6);

  // Both CA keys are encrypted PKCS#8: unreadable without the password,
  // refused with a wrong one, readable with the right one.
  for (const char* name : {"root_ca_key", "intermediate_ca_key"}) {
    const std::string path = absl::StrCat(dir, "/secrets/", name);
    INFO(path);
    const std::string pem = ReadAll(path);
    CHECK(absl::StartsWith(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    CHECK_FALSE(absl::StrContains(pem, "BEGIN PRIVATE KEY"));
    CHECK_FALSE(absl::StrContains(pem, "BEGIN EC PRIVATE KEY"));
    CHECK_FALSE(PrivateKey::FromPem(pem, "").ok());
    CHECK(StatusIs(PrivateKey::FromPem(pem, kWrongPassword).status(),
                   absl::StatusCode::kUnauthenticated));
    CHECK(PrivateKey::FromPem(pem, kCaPassword).ok());
  }

  // The provisioner's private key is only in ca.json, as a PBES2 JWE under
  // its own password with step's iteration count; its public JWK has no
  // private member, and the private scalar appears in no file.
  CaConfig config = Unwrap(LoadConfig(pki.config_path));
  REQUIRE(config.provisioners.size() == 1);
  const Provisioner& p = config.provisioners[0];
  std::vector<std::string> jwe = absl::StrSplit(p.encrypted_key, '.');
  REQUIRE(jwe.size() == 5);
  const std::string header =
      Unwrap(internal::Base64UrlDecode(jwe[0], "jwe header"));
  CHECK(JsonMember(header, "alg") == "PBES2-HS256+A128KW");
  rapidjson::Document header_doc =
      Unwrap(internal::ParseJsonObject(header, "jwe header"));
  REQUIRE(header_doc.HasMember("p2c"));
  CHECK(header_doc["p2c"].GetUint() >= 600000);
  rapidjson::Document public_jwk =
      Unwrap(internal::ParseJsonObject(p.key_json, "provisioner key"));
  CHECK_FALSE(public_jwk.HasMember("d"));
  CHECK(StatusIs(p.DecryptKey(kCaPassword).status(),
                 absl::StatusCode::kUnauthenticated));
  PrivateKey provisioner_key = Unwrap(p.DecryptKey(kProvisionerPassword));
  const std::string d = JsonMember(provisioner_key.ToJwk(), "d");
  REQUIRE(d.size() >= 40);
  for (const std::string& path : AllPaths(dir)) {
    if (std::filesystem::is_regular_file(path)) {
      INFO(path);
      CHECK_FALSE(absl::StrContains(ReadAll(path), d));
    }
  }
}

TEST_CASE("secure defaults: Init's directories are 0700", "[secure_defaults]") {
  // step creates them 0700 too (STEP-PROTOCOL.md section 7). Parents Init
  // creates are 0700; existing folders it uses are tightened to 0700.
  TempDir tmp;
  const std::string dir = tmp.path() + "/new/parent/ca";
  const std::string existing = tmp.path() + "/existing";
  REQUIRE(mkdir(existing.c_str(), 0755) == 0);
  REQUIRE(mkdir((existing + "/certs").c_str(), 0777) == 0);
  REQUIRE(chmod((existing + "/certs").c_str(), 0777) == 0);
  FakeClock clock(FixtureStart());
  {
    ScopedUmask open_umask(0);
    Unwrap(InitPki(FastInit(dir), clock));
    Unwrap(InitPki(FastInit(existing), clock));
  }
  for (const std::string& ca : {dir, existing}) {
    for (const char* sub : {"", "/certs", "/secrets", "/config"}) {
      INFO(ca + sub);
      CHECK(ModeOf(ca + sub) == 0700);
    }
  }
  CHECK(ModeOf(tmp.path() + "/new") == 0700);
  CHECK(ModeOf(tmp.path() + "/new/parent") == 0700);

  // The default store's folder, made when the CA first opens it.
  TempDir tmp2;
  InitOptions options = FastInit(tmp2.path() + "/ca");
  options.store = "";
  InitResult pki = Unwrap(InitPki(options, clock));
  CaConfig config = Unwrap(LoadConfig(pki.config_path));
  {
    ScopedUmask open_umask(0);
    Unwrap(Authority::Create(config, kCaPassword, nullptr, clock));
  }
  CHECK(ModeOf(tmp2.path() + "/ca/db") == 0700);
}

// ServerUnderTest is a CaServer on 127.0.0.1 over an authority read from
// an InitPki folder (so the keys come from encrypted files and passwords),
// with every log line captured. The authority's clock is fake.
class ServerUnderTest {
 public:
  explicit ServerUnderTest(std::unique_ptr<Store> store = nullptr)
      : clock(FixtureStart()) {
    pki = Unwrap(InitPki(FastInit(dir_.path() + "/ca"), clock));
    config = Unwrap(LoadConfig(pki.config_path));
    authority =
        Unwrap(Authority::Create(config, kCaPassword, std::move(store), clock));
    roots = std::make_shared<TrustedRoots>(authority->roots());
    ServerOptions options;
    options.address = "127.0.0.1:0";
    options.log_sink = [this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    };
    server = Unwrap(CaServer::Create(authority.get(), std::move(options)));
    REQUIRE(server->Start().ok());
    url = absl::StrCat("https://127.0.0.1:", server->port());
    provisioner_key =
        Unwrap(config.provisioners[0].DecryptKey(kProvisionerPassword));
    signer = std::make_unique<TokenSigner>(provisioner_key,
                                           config.provisioners[0].kid,
                                           config.provisioners[0].name, clock);
  }

  std::unique_ptr<httplib::SSLClient> Client(
      std::shared_ptr<RotatingCredentials> creds = nullptr) {
    auto cli =
        std::make_unique<httplib::SSLClient>("127.0.0.1", server->port());
    // Verified at the CA's fake clock by mayfly's own helper.
    cli->enable_server_certificate_verification(false);
    REQUIRE(ConfigureClientContext(cli->ssl_context(), roots, std::move(creds),
                                   clock)
                .ok());
    cli->set_connection_timeout(5);
    cli->set_read_timeout(10);
    return cli;
  }

  std::string Token(const std::string& subject, bool revoke = false) {
    TokenRequest req;
    req.subject = subject;
    req.audience = Unwrap(revoke ? RevokeAudience(url) : SignAudience(url));
    req.root_fingerprint = pki.root_fingerprint;
    req.revoke = revoke;
    return Unwrap(signer->Sign(req));
  }

  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  TempDir dir_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);

 public:
  FakeClock clock;
  InitResult pki;
  CaConfig config;
  std::unique_ptr<Authority> authority;
  std::shared_ptr<TrustedRoots> roots;
  std::string url;
  PrivateKey provisioner_key = Unwrap(PrivateKey::Generate());
  std::unique_ptr<TokenSigner> signer;
  std::unique_ptr<CaServer> server;  // last: destroyed first
};

// HandshakeWith connects to 127.0.0.1:`port` and runs a TLS handshake with
// `ctx`; true if it completed.
bool HandshakeWith(int port, SSL_CTX* ctx) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  REQUIRE(ssl != nullptr);
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "127.0.0.1");
  const bool ok = SSL_connect(ssl.get()) == 1;
  ssl.reset();
  close(fd);
  return ok;
}

// ClientContext is a client that accepts any server certificate (only the
// protocol and suite are under test) limited to `min`..`max` and, if given,
// the TLS 1.2 suites `suites`.
bssl::UniquePtr<SSL_CTX> ClientContext(uint16_t min, uint16_t max,
                                       const char* suites = nullptr) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(ctx != nullptr);
  REQUIRE(SSL_CTX_set_min_proto_version(ctx.get(), min));
  REQUIRE(SSL_CTX_set_max_proto_version(ctx.get(), max));
  if (suites != nullptr) {
    REQUIRE(SSL_CTX_set_strict_cipher_list(ctx.get(), suites));
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  return ctx;
}

TEST_CASE("secure defaults: a CaServer speaks TLS 1.2+ with AEAD suites only",
          "[secure_defaults]") {
  ServerUnderTest s;
  const int port = s.server->port();
  for (uint16_t version : {TLS1_VERSION, TLS1_1_VERSION}) {
    INFO("protocol version " << version);
    CHECK_FALSE(HandshakeWith(port, ClientContext(version, version).get()));
  }
  for (const char* suite : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                            "ECDHE-RSA-AES128-SHA", "AES128-SHA", "AES256-SHA",
                            "AES128-GCM-SHA256"}) {
    INFO(suite);
    CHECK_FALSE(HandshakeWith(
        port, ClientContext(TLS1_2_VERSION, TLS1_2_VERSION, suite).get()));
  }
  // The same client gets through at TLS 1.2 with an AEAD suite, and at
  // TLS 1.3: the version or suite was the reason.
  CHECK(HandshakeWith(port, ClientContext(TLS1_2_VERSION, TLS1_2_VERSION,
                                          "ECDHE-ECDSA-AES128-GCM-SHA256")
                                .get()));
  CHECK(HandshakeWith(port, ClientContext(TLS1_2_VERSION, TLS1_2_VERSION,
                                          "ECDHE-ECDSA-CHACHA20-POLY1305")
                                .get()));
  CHECK(
      HandshakeWith(port, ClientContext(TLS1_3_VERSION, TLS1_3_VERSION).get()));
}

// TokenParts are a compact JWS's three parts.
std::vector<std::string> TokenParts(const std::string& token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  REQUIRE(parts.size() == 3);
  return parts;
}

// Forge re-signs the header and payload of `token` with another key: the
// same kid and jti, a signature that does not verify.
std::string Forge(const std::string& token, const std::string& kid) {
  std::vector<std::string> parts = TokenParts(token);
  const std::string payload =
      Unwrap(internal::Base64UrlDecode(parts[1], "payload"));
  PrivateKey other = Unwrap(PrivateKey::Generate());
  JwsHeader header;
  header.kid = kid;
  header.typ = "JWT";
  return Unwrap(SignJws(other, header, payload));
}

// FlipSignature changes one character in the middle of the signature.
std::string FlipSignature(std::string token) {
  const size_t at = token.rfind('.') + 10;
  token[at] = token[at] == 'A' ? 'B' : 'A';
  return token;
}

// RenewToken makes step's x5cInsecure renew token for `chain`, signed by
// `key`.
std::string RenewToken(const std::vector<Certificate>& chain,
                       const PrivateKey& key, const std::string& aud,
                       absl::Time now) {
  JwsHeader h;
  h.kid = key.public_key().JwkThumbprint();
  h.typ = "JWT";
  for (const Certificate& cert : chain) {
    h.x5c_insecure.push_back(internal::Base64Encode(cert.der()));
  }
  const int64_t t = absl::ToUnixSeconds(now);
  const std::string claims =
      absl::StrCat(R"({"aud":")", aud, R"(","exp":)", t + 300, R"(,"iat":)", t,
                   R"(,"iss":"step-ca-client/1.0","nbf":)", t, R"(,"sub":")",
                   chain.front().CommonName(), R"("})");
  return Unwrap(SignJws(key, h, claims));
}

std::string SignBody(const CertificateRequest& csr, const std::string& ott) {
  return absl::StrCat("{\"csr\":", internal::JsonString(csr.ToPem()),
                      ",\"ott\":", internal::JsonString(ott),
                      ",\"notBefore\":\"\",\"notAfter\":\"\"}");
}

std::string RevokeBody(const std::string& serial, const std::string& ott) {
  return absl::StrCat("{\"serial\":", internal::JsonString(serial),
                      ",\"ott\":", internal::JsonString(ott),
                      ",\"reasonCode\":1,\"reason\":\"test\","
                      "\"passive\":true}");
}

std::vector<Certificate> ChainOf(const std::string& body) {
  rapidjson::Document doc = Unwrap(internal::ParseJsonObject(body, "sign"));
  INFO(body);
  REQUIRE(doc.HasMember("certChain"));
  std::vector<Certificate> chain;
  for (const rapidjson::Value& pem : doc["certChain"].GetArray()) {
    chain.push_back(Unwrap(Certificate::FromPem(pem.GetString())));
  }
  return chain;
}

TEST_CASE("secure defaults: no secret in any log line or error body",
          "[secure_defaults]") {
  ServerUnderTest s;
  auto cli = s.Client();
  const std::string kid = s.config.provisioners[0].kid;
  std::vector<std::string> tokens;  // every token sent
  std::vector<std::string> bodies;  // every response body
  std::vector<std::string> errors;  // every error message of the API
  int requests = 0;
  auto post = [&](httplib::SSLClient& c, const std::string& path,
                  const std::string& body,
                  const httplib::Headers& headers = {}) -> int {
    requests++;
    httplib::Result res = c.Post(path, headers, body, "application/json");
    REQUIRE(res);
    bodies.push_back(res->body);
    return res->status;
  };
  auto sign = [&](const std::string& subject, const std::string& ott,
                  PrivateKey* key_out = nullptr) {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    if (key_out != nullptr) {
      *key_out = key;
    }
    tokens.push_back(ott);
    return post(*cli, "/1.0/sign",
                SignBody(TestCa::Csr(key, subject, {subject}), ott));
  };

  // Sign: good, replayed, forged, altered, expired, wrong purpose.
  PrivateKey leaf_key = Unwrap(PrivateKey::Generate());
  const std::string good = s.Token("svc.internal");
  CHECK(sign("svc.internal", good, &leaf_key) == 201);
  const std::vector<Certificate> chain = ChainOf(bodies.back());
  CHECK(sign("svc.internal", good) == 401);  // replay
  CHECK(sign("svc.internal", Forge(s.Token("svc.internal"), kid)) == 401);
  CHECK(sign("svc.internal", FlipSignature(s.Token("svc.internal"))) == 401);
  CHECK(sign("other.internal", s.Token("svc.internal")) == 403);
  CHECK(sign("svc.internal", s.Token("1234", /*revoke=*/true)) == 401);
  CHECK(sign("svc.internal", "not.a.token") != 201);
  const std::string stale = s.Token("svc.internal");
  s.clock.Advance(absl::Hours(2));
  CHECK(sign("svc.internal", stale) == 401);
  s.clock.Advance(absl::Hours(-2));

  // Renew: over mTLS, then with good and bad Bearer renew tokens.
  auto creds = std::make_shared<RotatingCredentials>();
  REQUIRE(creds->Set(chain, leaf_key).ok());
  auto mtls = s.Client(creds);
  CHECK(post(*mtls, "/renew", "") == 201);
  const std::string renew_aud = Unwrap(RenewAudience(s.url));
  const std::string renew_good =
      RenewToken(chain, leaf_key, renew_aud, s.clock.Now());
  const std::string renew_forged = RenewToken(
      chain, Unwrap(PrivateKey::Generate()), renew_aud, s.clock.Now());
  for (const std::string& t : {renew_good, renew_forged,
                               FlipSignature(renew_good), std::string(good)}) {
    tokens.push_back(t);
    requests++;
    httplib::Result res =
        cli->Post("/renew", {{"Authorization", "Bearer " + t}}, "", "");
    REQUIRE(res);
    bodies.push_back(res->body);
    CHECK((t == renew_good ? res->status == 201 : res->status >= 400));
  }

  // Revoke: forged, for another serial, then good, then again.
  const std::string serial = chain[0].SerialDecimal();
  auto revoke = [&](const std::string& ott) {
    tokens.push_back(ott);
    return post(*cli, "/1.0/revoke", RevokeBody(serial, ott));
  };
  CHECK(revoke(Forge(s.Token(serial, true), kid)) == 401);
  CHECK(revoke(s.Token("12345", true)) == 403);
  CHECK(revoke(s.Token(serial, false)) == 401);
  CHECK(revoke(s.Token(serial, true)) == 200);
  CHECK(revoke(s.Token(serial, true)) == 400);  // already revoked
  CHECK(post(*mtls, "/renew", "") == 401);

  // Loading the CA (a restart) or the provisioner key with a wrong
  // password, and reloading a config whose provisioner key is a damaged
  // private JWK: the errors name no password and no key.
  absl::StatusOr<std::unique_ptr<Authority>> wrong =
      Authority::Create(s.config, kWrongPassword, nullptr, s.clock);
  REQUIRE_FALSE(wrong.ok());
  errors.emplace_back(wrong.status().message());
  absl::StatusOr<PrivateKey> wrong_provisioner =
      s.config.provisioners[0].DecryptKey(kWrongPassword);
  REQUIRE_FALSE(wrong_provisioner.ok());
  errors.emplace_back(wrong_provisioner.status().message());
  {
    rapidjson::Document ca_json = Unwrap(
        internal::ParseJsonObject(ReadAll(s.pki.config_path), "ca.json"));
    rapidjson::Document damaged_key = Unwrap(internal::ParseJsonObject(
        absl::StrReplaceAll(s.provisioner_key.ToJwk(),
                            {{"\"P-256\"", "\"P-384\""}}),
        "jwk"));
    ca_json["authority"]["provisioners"][0]["key"].CopyFrom(
        damaged_key, ca_json.GetAllocator());
    absl::StatusOr<CaConfig> reloaded =
        ParseConfig(internal::ToJson(ca_json), s.config.base_dir);
    if (reloaded.ok()) {
      errors.emplace_back(s.server->ReloadProvisioners(*reloaded).message());
    } else {
      errors.emplace_back(reloaded.status().message());
    }
    INFO(errors.back());
    CHECK_FALSE(errors.back().empty());
  }

  // Every request was logged (lines are written after the response), and
  // the server is drained so that no line is still on its way.
  s.server->Shutdown(absl::Seconds(5));
  std::vector<std::string> lines = s.Lines();
  REQUIRE(static_cast<int>(lines.size()) >= requests);

  // The secrets: every token whole and each of its parts, the passwords,
  // and the private keys (JWK "d", PKCS#8 DER in base64 and each line of
  // its PEM).
  std::set<std::string> secrets = {kCaPassword, kProvisionerPassword,
                                   kWrongPassword};
  for (const std::string& t : tokens) {
    secrets.insert(t);
    for (absl::string_view part : absl::StrSplit(t, '.')) {
      if (part.size() >= 16) {
        secrets.emplace(part);
      }
    }
  }
  PrivateKey intermediate_key = Unwrap(PrivateKey::FromPem(
      ReadAll(s.config.ResolvePath(s.config.key)), kCaPassword));
  for (const PrivateKey* key : {&s.provisioner_key, &intermediate_key}) {
    secrets.insert(JsonMember(key->ToJwk(), "d"));
    secrets.insert(internal::Base64Encode(key->ToPkcs8Der()));
    for (absl::string_view line : absl::StrSplit(key->ToPem(), '\n')) {
      if (line.size() >= 16 && !absl::StartsWith(line, "-----")) {
        secrets.emplace(line);
      }
    }
  }
  std::vector<std::string> texts = lines;
  texts.insert(texts.end(), bodies.begin(), bodies.end());
  texts.insert(texts.end(), errors.begin(), errors.end());
  for (const std::string& text : texts) {
    for (const std::string& secret : secrets) {
      if (absl::StrContains(text, secret)) {
        FAIL_CHECK("secret " << secret.substr(0, 12) << "... in: " << text);
      }
    }
  }
  // The refusals were logged with their reasons (not silently).
  int refusals = 0;
  for (const std::string& line : lines) {
    refusals += absl::StrContains(line, "status=401") ? 1 : 0;
  }
  CHECK(refusals >= 8);
}

// CountingStore counts the calls that write (whether they succeed or not)
// and forwards everything to a memory store.
class CountingStore final : public Store {
 public:
  CountingStore() : inner_(NewMemoryStore()) {}

  int writes() const { return writes_.load(); }

  absl::Status UseToken(absl::string_view id, absl::Time exp) override {
    writes_++;
    return inner_->UseToken(id, exp);
  }
  absl::Status RecordCertificate(const CertificateRecord& record) override {
    writes_++;
    return inner_->RecordCertificate(record);
  }
  absl::Status UseTokenAndRecord(absl::string_view id, absl::Time exp,
                                 const CertificateRecord& record) override {
    writes_++;
    return inner_->UseTokenAndRecord(id, exp, record);
  }
  absl::Status Revoke(const RevocationRecord& record) override {
    writes_++;
    return inner_->Revoke(record);
  }
  absl::StatusOr<CertificateRecord> GetCertificate(
      absl::string_view serial) override {
    return inner_->GetCertificate(serial);
  }
  absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      absl::string_view serial) override {
    return inner_->GetRevocation(serial);
  }
  absl::StatusOr<std::optional<RevocationRecord>> FindRevokedInLineage(
      absl::string_view serial) override {
    return inner_->FindRevokedInLineage(serial);
  }
  absl::StatusOr<std::vector<RevocationRecord>> ListRevocations(
      absl::Time now) override {
    return inner_->ListRevocations(now);
  }
  absl::StatusOr<int64_t> NextCrlNumber() override {
    return inner_->NextCrlNumber();
  }
  absl::StatusOr<int64_t> Prune(absl::Time now,
                                absl::Duration retention) override {
    return inner_->Prune(now, retention);
  }
  absl::StatusOr<StoreCounts> Counts() override { return inner_->Counts(); }

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<int> writes_{0};
};

TEST_CASE("secure defaults: tokens are verified before any store write",
          "[secure_defaults]") {
  TestCa t;
  auto counting = std::make_unique<CountingStore>();
  CountingStore* store = counting.get();
  AuthorityParts parts{
      {t.certs.root}, t.certs.intermediate, t.certs.intermediate_key, {}};
  parts.config.dns_names = {"localhost", "ca.internal"};
  parts.config.provisioners = {t.provisioner};
  t.ca = Unwrap(Authority::FromParts(parts, std::move(counting), t.clock));

  // Refused requests each make no write call at all.
  auto refused = [&](const char* what, absl::StatusCode code,
                     const std::function<absl::Status()>& attempt) {
    INFO(what);
    const int before = store->writes();
    CHECK(StatusIs(attempt(), code));
    CHECK(store->writes() == before);
  };
  const auto kUnauth = absl::StatusCode::kUnauthenticated;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr = TestCa::Csr(key, "svc.internal", {"svc.internal"});
  auto sign = [&](const std::string& ott) {
    return t.ca->Sign(csr, ott, {}).status();
  };

  // A bad signature over a valid jti: refused, and that jti still works.
  const std::string real = t.SignToken("svc.internal");
  refused("forged signature", kUnauth,
          [&] { return sign(Forge(real, t.provisioner.kid)); });
  refused("altered signature", kUnauth,
          [&] { return sign(FlipSignature(real)); });
  {
    // The payload changed under the signature (another subject).
    std::vector<std::string> p = TokenParts(real);
    std::string claims = Unwrap(internal::Base64UrlDecode(p[1], "claims"));
    claims = absl::StrReplaceAll(claims, {{"svc.internal", "evil.internal"}});
    const std::string altered =
        absl::StrCat(p[0], ".", internal::Base64UrlEncode(claims), ".", p[2]);
    refused("altered payload", kUnauth, [&] { return sign(altered); });
  }
  // Names the token does not cover: refused after the token checks, before
  // any write, so the token is not spent either.
  refused("names not covered", absl::StatusCode::kPermissionDenied, [&] {
    return t.ca
        ->Sign(TestCa::Csr(key, "evil.internal", {"evil.internal"}), real, {})
        .status();
  });
  const int before_good = store->writes();
  Unwrap(t.ca->Sign(csr, real, {}));
  CHECK(store->writes() == before_good + 1);

  // Other refused tokens.
  {
    PrivateKey stranger = Unwrap(PrivateKey::Generate());
    TokenSigner other(stranger, stranger.public_key().JwkThumbprint(), "admin",
                      t.clock);
    TokenRequest req;
    req.subject = "svc.internal";
    req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
    req.root_fingerprint = t.certs.root.FingerprintHex();
    const std::string unknown_kid = Unwrap(other.Sign(req));
    refused("unknown key", kUnauth, [&] { return sign(unknown_kid); });
    req.audience = Unwrap(SignAudience("https://elsewhere.example"));
    const std::string wrong_aud = Unwrap(t.signer.Sign(req));
    refused("wrong audience", kUnauth, [&] { return sign(wrong_aud); });
    req.audience = Unwrap(SignAudience(testing::kFixtureCaUrl));
    req.root_fingerprint = std::string(64, 'a');
    const std::string wrong_sha = Unwrap(t.signer.Sign(req));
    refused("foreign root fingerprint", kUnauth,
            [&] { return sign(wrong_sha); });
  }
  const std::string expired = t.SignToken("svc.internal");
  t.clock.Advance(absl::Hours(2));
  refused("expired", kUnauth, [&] { return sign(expired); });
  refused("revoke token to sign", kUnauth,
          [&] { return sign(t.RevokeToken("1234")); });

  // Revoke.
  Issued issued = t.Issue("leaf.internal");
  const std::string serial = issued.serial();
  auto revoke = [&](const std::string& ott) {
    RevokeRequest req;
    req.serial = serial;
    req.ott = ott;
    return t.ca->Revoke(req);
  };
  const std::string revoke_real = t.RevokeToken(serial);
  refused("forged revoke token", kUnauth,
          [&] { return revoke(Forge(revoke_real, t.provisioner.kid)); });
  refused("revoke token of another serial", absl::StatusCode::kPermissionDenied,
          [&] { return revoke(t.RevokeToken("987654321")); });
  refused("sign token to revoke", kUnauth,
          [&] { return revoke(t.SignToken(serial)); });

  // Renew tokens.
  const std::string aud = Unwrap(RenewAudience(testing::kFixtureCaUrl));
  refused("renew token signed by another key", kUnauth, [&] {
    return t.ca
        ->RenewWithToken(RenewToken(issued.cert.chain,
                                    Unwrap(PrivateKey::Generate()), aud,
                                    t.clock.Now()))
        .status();
  });
  refused("altered renew token", kUnauth, [&] {
    return t.ca
        ->RenewWithToken(FlipSignature(
            RenewToken(issued.cert.chain, issued.key, aud, t.clock.Now())))
        .status();
  });

  // The revoke token whose forgery was refused still works (two writes:
  // its jti, then the revocation); afterwards the revoked certificate's
  // renewal is refused without a write.
  const int before_revoke = store->writes();
  REQUIRE(revoke(revoke_real).ok());
  CHECK(store->writes() == before_revoke + 2);
  refused("renewal of a revoked certificate", kUnauth,
          [&] { return t.ca->Renew(issued.cert.chain).status(); });
}

// LibSources returns every .cc and .h file under lib/, relative path first.
std::vector<std::pair<std::string, std::string>> LibSources() {
  const std::filesystem::path lib =
      std::filesystem::path(testing::TestsDir()).parent_path() / "lib";
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(lib)) {
    const std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".cc" || ext == ".h")) {
      out.emplace_back(
          std::filesystem::relative(entry.path(), lib.parent_path()).string(),
          ReadAll(entry.path().string()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// CodeOf drops a line's // comment (approximately: a "//" inside a string
// cuts the line early, which only hides code from the check).
std::string CodeOf(absl::string_view line) {
  size_t at = line.find("//");
  return std::string(line.substr(0, at));
}

// Words splits an identifier path ("root.FingerprintHex()") into lower
// case words: root, fingerprint, hex.
std::vector<std::string> Words(absl::string_view expr) {
  std::vector<std::string> words;
  std::string cur;
  for (size_t i = 0; i < expr.size(); i++) {
    const char c = expr[i];
    const bool boundary =
        !absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
        (absl::ascii_isupper(static_cast<unsigned char>(c)) && i > 0 &&
         absl::ascii_islower(static_cast<unsigned char>(expr[i - 1])));
    if (boundary && !cur.empty()) {
      words.push_back(cur);
      cur.clear();
    }
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      cur.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!cur.empty()) {
    words.push_back(cur);
  }
  return words;
}

TEST_CASE("secure defaults: fingerprints and MACs compare in constant time",
          "[secure_defaults]") {
  const auto sources = LibSources();
  REQUIRE(sources.size() > 20);

  // 1. No variable-time byte comparison in lib/ at all, except of public
  //    constants listed here with the reason.
  const std::vector<std::pair<std::string, std::string>> allowed = {
      // The SQLite file header magic: public, not a secret.
      {"lib/sqlite_store.cc", "memcmp(header, kMagic"},
  };
  const std::regex variable_time(
      R"((^|[^A-Za-z0-9_])(memcmp|bcmp|strcmp|strncmp|std::equal|std::mismatch)\s*\()");
  // 2. No ==/!= on a value named as a fingerprint, digest or MAC (sizes
  //    and emptiness aside).
  const std::set<std::string> secretish = {
      "fingerprint", "fingerprints", "thumbprint", "sha", "sha256",
      "digest",      "hmac",         "mac",        "sum", "checksum"};
  const std::regex left_operand(R"(([A-Za-z_][\w.:>\-]*(\(\))?)\s*$)");
  const std::regex right_operand(R"(^\s*([A-Za-z_][\w.:>\-]*(\(\))?))");
  auto is_size = [](const std::vector<std::string>& w) {
    return !w.empty() &&
           (w.back() == "size" || w.back() == "length" || w.back() == "empty" ||
            w.back() == "npos" || w.back() == "end");
  };
  std::vector<std::string> offences;
  for (const auto& [path, text] : sources) {
    int n = 0;
    for (absl::string_view raw : absl::StrSplit(text, '\n')) {
      n++;
      const std::string line = CodeOf(raw);
      if (std::regex_search(line, variable_time)) {
        bool ok = false;
        for (const auto& [file, snippet] : allowed) {
          ok = ok || (path == file && absl::StrContains(line, snippet));
        }
        if (!ok) {
          offences.push_back(absl::StrCat(path, ":", n, ": ", line));
        }
      }
      for (size_t at = line.find_first_of("=!"); at != std::string::npos;
           at = line.find_first_of("=!", at + 2)) {
        if (at + 1 >= line.size() || line[at + 1] != '=' ||
            (at > 0 && (line[at - 1] == '=' || line[at - 1] == '<' ||
                        line[at - 1] == '>' || line[at - 1] == '!'))) {
          continue;
        }
        std::smatch l, r;
        const std::string before = line.substr(0, at);
        const std::string after = line.substr(at + 2);
        std::vector<std::string> words;
        if (std::regex_search(before, l, left_operand)) {
          std::vector<std::string> w = Words(l[1].str());
          if (!is_size(w)) {
            words.insert(words.end(), w.begin(), w.end());
          }
        }
        if (std::regex_search(after, r, right_operand)) {
          std::vector<std::string> w = Words(r[1].str());
          if (!is_size(w)) {
            words.insert(words.end(), w.begin(), w.end());
          }
        }
        // The JWE's tag is a MAC wherever it is named.
        if (path == "lib/jwe.cc") {
          for (const std::string& w : Words(before + " " + after)) {
            if (w == "tag" && !absl::StrContains(line, "size()")) {
              words.push_back("mac");
            }
          }
        }
        for (const std::string& w : words) {
          if (secretish.count(w) > 0) {
            offences.push_back(absl::StrCat(path, ":", n, ": ", line));
            break;
          }
        }
      }
    }
  }
  for (const std::string& offence : offences) {
    FAIL_CHECK(
        "variable-time comparison of a fingerprint/MAC/hash (use "
        "CRYPTO_memcmp): "
        << offence);
  }

  // 3. The known sites do use CRYPTO_memcmp, or leave the MAC to
  //    BoringSSL's AEAD and key unwrap (which check in constant time).
  std::map<std::string, std::string> by_path(sources.begin(), sources.end());
  auto has = [&](const std::string& path, const std::string& snippet) {
    INFO(path << " should contain " << snippet);
    REQUIRE(by_path.count(path) == 1);
    CHECK(absl::StrContains(by_path[path], snippet));
  };
  has("lib/token.cc",
      "CRYPTO_memcmp(root.data(), sha.data(), sha.size())");      // token `sha`
  has("lib/client.cc", "CRYPTO_memcmp(got.data(), want.data()");  // bootstrap
  has("lib/jwk.cc", "CRYPTO_memcmp(pub, x.data(), pub_len)");     // Ed25519 d/x
  has("lib/jwe.cc", "EVP_AEAD_CTX_open(");                        // the GCM tag
  has("lib/jwe.cc", "AES_unwrap_key(");  // the A128KW integrity check
}

}  // namespace
}  // namespace mayfly

// CaClient against an in-process CaServer over real HTTPS on 127.0.0.1.
// The authority's FakeClock is also the client's clock, so certificates are
// verified and renew tokens dated at the CA's time.

#include "mayfly/client.h"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "mayfly/jose.h"
#include "mayfly/server.h"
#include "mayfly/tls.h"
#include "mayfly/token.h"
#include "openssl/ssl.h"
#include "test_util.h"

// cpp-httplib's server, for a CA impostor that answers with another root.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include "httplib.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

TestCaOptions LocalOptions(Claims provisioner_claims = {}) {
  TestCaOptions o;
  // The server certificate names 127.0.0.1, the address the client dials,
  // and the renew token audience is https://127.0.0.1:<port>/renew.
  o.dns_names = {"localhost", "127.0.0.1"};
  o.provisioner_claims = std::move(provisioner_claims);
  return o;
}

// Served is a TestCa behind a running CaServer on 127.0.0.1.
class Served {
 public:
  explicit Served(TestCaOptions options = LocalOptions())
      : ca(std::move(options)) {
    ServerOptions so;
    so.address = "127.0.0.1:0";
    so.worker_threads = 2;
    so.log_sink = [](absl::string_view) {};
    server = Unwrap(CaServer::Create(ca.ca.get(), so));
    REQUIRE(server->Start().ok());
    url = absl::StrCat("https://127.0.0.1:", server->port());
  }

  ClientOptions Options() const {
    ClientOptions o;
    o.clock = &ca.clock;
    o.connect_timeout = absl::Seconds(2);
    o.request_timeout = absl::Seconds(5);
    return o;
  }

  std::unique_ptr<CaClient> Client() const {
    return Unwrap(CaClient::Create(url, {ca.certs.root}, Options()));
  }

  // Issue signs a fresh key through `client`.
  Issued Issue(CaClient& client, const std::string& subject) {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    IssuedCertificate cert =
        Unwrap(client.Sign(key, ca.SignToken(subject), SignOptions{}));
    return Issued{cert, key};
  }

  TestCa ca;
  std::unique_ptr<CaServer> server;
  std::string url;
};

void CheckIssued(const IssuedCertificate& cert, const TestCa& ca,
                 const PrivateKey& key) {
  REQUIRE(cert.chain.size() == 2);
  CHECK(cert.leaf.Equals(cert.chain[0]));
  CHECK(cert.chain[1].Equals(ca.certs.intermediate));
  CHECK(cert.leaf.public_key().Equals(key.public_key()));
  CHECK(VerifyChain(cert.leaf, {cert.chain[1]}, {ca.certs.root}, ca.clock.Now())
            .ok());
}

TEST_CASE("CaClient: Create refuses URLs it cannot use", "[client]") {
  TestCa ca;
  std::vector<Certificate> roots = {ca.certs.root};
  for (const char* url :
       {"http://ca.internal", "ca.internal:9000", "https://",
        "https://ca.internal/1.0", "https://ca.internal:9000/x",
        "https://ca.internal?x=1", "https://user@ca.internal",
        "https://ca.internal:0", "https://ca.internal:65536",
        "https://ca.internal:9x", "https://::1:9000", "https://[::1",
        "https://[nothex]:9000", "https://ca internal"}) {
    INFO(url);
    CHECK(StatusIs(CaClient::Create(url, roots).status(),
                   absl::StatusCode::kInvalidArgument, "CA URL"));
  }
  CHECK(StatusIs(CaClient::Create("https://ca.internal", {}).status(),
                 absl::StatusCode::kInvalidArgument, "roots"));
  ClientOptions none;
  none.get_attempts = 0;
  CHECK(StatusIs(CaClient::Create("https://ca.internal", roots, none).status(),
                 absl::StatusCode::kInvalidArgument, "get_attempts"));

  auto ok = Unwrap(CaClient::Create("HTTPS://ca.internal:9000/", roots));
  CHECK(ok->url() == "https://ca.internal:9000");
  CHECK(Unwrap(CaClient::Create("https://[::1]:9000", roots))->url() ==
        "https://[::1]:9000");
  CHECK(ok->roots().size() == 1);
}

TEST_CASE("CaClient: bootstrap pins the root by its fingerprint", "[client]") {
  Served s;
  std::string fp = s.ca.certs.root.FingerprintHex();

  SECTION("the right fingerprint, in any case") {
    auto client = Unwrap(
        CaClient::Bootstrap(s.url, absl::AsciiStrToUpper(fp), s.Options()));
    REQUIRE(client->roots().size() == 1);
    CHECK(client->roots()[0].Equals(s.ca.certs.root));
    CHECK(client->url() == s.url);
    CHECK(client->Health().ok());
  }
  SECTION("a fingerprint of no root of the CA") {
    std::string other = s.ca.certs.intermediate.FingerprintHex();
    CHECK(StatusIs(CaClient::Bootstrap(s.url, other, s.Options()).status(),
                   absl::StatusCode::kFailedPrecondition, other));
  }
  SECTION("a malformed fingerprint is refused before anything is sent") {
    for (const std::string& bad : {std::string(""), fp.substr(1), fp + "0",
                                   std::string(63, '0') + "g"}) {
      CHECK(StatusIs(CaClient::Bootstrap(s.url, bad, s.Options()).status(),
                     absl::StatusCode::kInvalidArgument, "64 hex"));
    }
  }
}

TEST_CASE("CaClient: bootstrap refuses a root that hashes differently",
          "[client]") {
  // An impostor that answers every /root/{sha} with its own root, whatever
  // was asked: the hash check must catch it.
  TestCa ca(LocalOptions());
  PrivateKey tls_key = Unwrap(PrivateKey::Generate());
  IssuedCertificate tls = Unwrap(
      ca.ca->IssueServerCertificate(tls_key.public_key(), absl::Hours(1)));
  auto creds = std::make_shared<RotatingCredentials>();
  REQUIRE(creds->Set(tls.chain, tls_key).ok());
  httplib::SSLServer impostor([&](SSL_CTX& ctx) {
    return ConfigureServerContext(&ctx, creds, nullptr, ClientAuth::kNone,
                                  ca.clock)
        .ok();
  });
  std::string body = absl::StrCat(
      R"({"ca":")", absl::StrReplaceAll(ca.certs.root.ToPem(), {{"\n", "\\n"}}),
      R"("})");
  impostor.Get(R"(/root/.*)",
               [&](const httplib::Request&, httplib::Response& res) {
                 res.set_content(body, "application/json");
               });
  int port = impostor.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread serving([&] { impostor.listen_after_bind(); });

  testing::CaCerts other = testing::MakeCaCerts(ca.clock.Now(), "Other");
  std::string asked = other.root.FingerprintHex();
  ClientOptions options;
  options.clock = &ca.clock;
  absl::Status status =
      CaClient::Bootstrap(absl::StrCat("https://127.0.0.1:", port), asked,
                          options)
          .status();
  impostor.stop();
  serving.join();
  CHECK(StatusIs(status, absl::StatusCode::kFailedPrecondition,
                 "fingerprint does not match"));
  CHECK(absl::StrContains(status.message(), asked));
}

TEST_CASE("CaClient: a CA whose certificate does not chain to the pin",
          "[client]") {
  // The authority also publishes a root that did not issue its TLS
  // certificate: pinning that one must not yield a working client.
  testing::CaCerts stranger =
      testing::MakeCaCerts(testing::FixtureStart(), "Stranger");
  TestCa ca(LocalOptions());
  AuthorityParts parts{{ca.certs.root, stranger.root},
                       ca.certs.intermediate,
                       ca.certs.intermediate_key,
                       {}};
  parts.config.dns_names = {"127.0.0.1"};
  parts.config.provisioners = {ca.provisioner};
  std::unique_ptr<Authority> authority =
      Unwrap(Authority::FromParts(parts, NewMemoryStore(), ca.clock));
  ServerOptions so;
  so.address = "127.0.0.1:0";
  so.worker_threads = 2;
  so.log_sink = [](absl::string_view) {};
  auto server = Unwrap(CaServer::Create(authority.get(), so));
  REQUIRE(server->Start().ok());
  std::string url = absl::StrCat("https://127.0.0.1:", server->port());
  ClientOptions options;
  options.clock = &ca.clock;

  CHECK(
      StatusIs(CaClient::Bootstrap(url, stranger.root.FingerprintHex(), options)
                   .status(),
               absl::StatusCode::kFailedPrecondition, "did not verify"));
  auto pinned = Unwrap(CaClient::Create(url, {stranger.root}, options));
  CHECK(StatusIs(pinned->Health(), absl::StatusCode::kFailedPrecondition,
                 "must chain to the pinned root"));
  // The CA's real root works, by pin and by fingerprint.
  CHECK(Unwrap(CaClient::Create(url, {ca.certs.root}, options))->Health().ok());
  CHECK(CaClient::Bootstrap(url, ca.certs.root.FingerprintHex(), options).ok());
}

TEST_CASE("CaClient: the CA's certificate must name the host dialled",
          "[client]") {
  TestCaOptions o;
  o.dns_names = {"localhost"};  // no 127.0.0.1
  Served s(o);
  CHECK(StatusIs(s.Client()->Health(), absl::StatusCode::kFailedPrecondition,
                 "name 127.0.0.1"));
}

TEST_CASE("CaClient: health, roots, provisioners and their keys", "[client]") {
  Served s;
  // More than one page of 100, the most the client asks for per page.
  std::vector<std::string> names = {"admin"};
  for (int i = 0; i < 120; i++) {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    std::string name = absl::StrCat("p", i);
    REQUIRE(s.ca.ca->AddProvisioner(testing::MakeProvisioner(name, key)).ok());
    names.push_back(name);
  }
  auto client = s.Client();
  CHECK(client->Health().ok());

  std::vector<Certificate> roots = Unwrap(client->Roots());
  REQUIRE(roots.size() == 1);
  CHECK(roots[0].Equals(s.ca.certs.root));

  std::vector<ProvisionerInfo> list = Unwrap(client->Provisioners());
  std::vector<Provisioner> want = s.ca.ca->Provisioners();
  REQUIRE(list.size() == names.size());
  REQUIRE(want.size() == names.size());
  for (size_t i = 0; i < list.size(); i++) {
    INFO(i);
    CHECK(list[i].type == "JWK");
    CHECK(list[i].name == names[i]);
    CHECK(list[i].kid == want[i].kid);
    CHECK_FALSE(list[i].encrypted_key.empty());
    CHECK(absl::StrContains(list[i].json, list[i].kid));
  }
  CHECK(Unwrap(client->ProvisionerKey(list[0].kid)) == list[0].encrypted_key);
  CHECK(Unwrap(client->ProvisionerKey(list[120].kid)) ==
        list[120].encrypted_key);
  absl::Status missing =
      client->ProvisionerKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
          .status();
  CHECK(StatusIs(missing, absl::StatusCode::kNotFound, "request id"));
  CHECK(StatusIs(client->ProvisionerKey("../roots").status(),
                 absl::StatusCode::kInvalidArgument));
}

TEST_CASE("CaClient: sign with a CSR or with a key", "[client]") {
  Served s;
  auto client = s.Client();

  SECTION("a CSR made by the caller") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    CertificateRequest csr =
        TestCa::Csr(key, "svc.example.com", {"svc.example.com", "10.0.0.7"});
    SignOptions options;
    options.not_after = "1h";
    IssuedCertificate cert = Unwrap(client->Sign(
        csr, s.ca.SignToken("svc.example.com", {"svc.example.com", "10.0.0.7"}),
        options));
    CheckIssued(cert, s.ca, key);
    CHECK(cert.leaf.CommonName() == "svc.example.com");
    CHECK(cert.leaf.NotAfter() - cert.leaf.NotBefore() ==
          absl::Hours(1) + absl::Minutes(1));  // the CA backdates a minute
  }
  SECTION("a CSR made from the token") {
    PrivateKey key = Unwrap(PrivateKey::Generate(KeyType::kEd25519));
    std::string ott =
        s.ca.SignToken("db.example.com", {"db.example.com", "db2.example.com"});
    IssuedCertificate cert = Unwrap(client->Sign(key, ott));
    CheckIssued(cert, s.ca, key);
    CHECK(cert.leaf.CommonName() == "db.example.com");
    CHECK(cert.leaf.Sans() ==
          std::vector<SubjectAltName>{{SanType::kDns, "db.example.com"},
                                      {SanType::kDns, "db2.example.com"}});
  }
  SECTION("a name the token does not allow is forbidden") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    CertificateRequest csr =
        TestCa::Csr(key, "svc.example.com", {"other.example.com"});
    CHECK(
        StatusIs(client->Sign(csr, s.ca.SignToken("svc.example.com")).status(),
                 absl::StatusCode::kPermissionDenied, "request id"));
  }
  SECTION("a replayed token is refused") {
    std::string ott = s.ca.SignToken("svc.example.com");
    PrivateKey key = Unwrap(PrivateKey::Generate());
    REQUIRE(client->Sign(key, ott).ok());
    absl::Status replay = client->Sign(key, ott).status();
    CHECK(StatusIs(replay, absl::StatusCode::kUnauthenticated, "401"));
    CHECK(absl::StrContains(replay.message(), "request id"));
  }
  SECTION("a token that is not a JWT is refused before anything is sent") {
    PrivateKey key = Unwrap(PrivateKey::Generate());
    CHECK(StatusIs(client->Sign(key, "not-a-token").status(),
                   absl::StatusCode::kInvalidArgument, "sign token"));
    CHECK(s.ca.Counts().certificates == 0);
  }
}

TEST_CASE("CaClient: renew and rekey over mTLS", "[client]") {
  Served s;
  auto client = s.Client();
  Issued first = s.Issue(*client, "svc.example.com");
  s.ca.clock.Advance(absl::Hours(16));
  REQUIRE(s.server->RotateCertificate().ok());  // its own, 24 h, certificate

  IssuedCertificate renewed =
      Unwrap(client->Renew(first.cert.chain, first.key));
  CheckIssued(renewed, s.ca, first.key);
  CHECK(renewed.leaf.SerialDecimal() != first.serial());
  CHECK(renewed.leaf.Subject() == first.leaf().Subject());
  CHECK(renewed.leaf.NotBefore() > first.leaf().NotBefore());

  PrivateKey next = Unwrap(PrivateKey::Generate());
  IssuedCertificate rekeyed =
      Unwrap(client->Rekey(renewed.chain, first.key, next));
  CheckIssued(rekeyed, s.ca, next);
  CHECK(rekeyed.leaf.Subject() == first.leaf().Subject());

  // A key that is not the certificate's is refused locally.
  CHECK(StatusIs(client->Renew(rekeyed.chain, first.key).status(),
                 absl::StatusCode::kInvalidArgument, "does not belong"));
}

TEST_CASE("CaClient: renew with a token after expiry", "[client]") {
  Claims claims;
  claims.allow_renewal_after_expiry = true;
  Served s(LocalOptions(claims));
  auto client = s.Client();
  Issued first = s.Issue(*client, "svc.example.com");
  s.ca.clock.Set(first.leaf().NotAfter() + absl::Hours(1));
  REQUIRE(s.server->RotateCertificate().ok());

  IssuedCertificate renewed =
      Unwrap(client->RenewWithToken(first.cert.chain, first.key));
  CheckIssued(renewed, s.ca, first.key);
  CHECK(renewed.leaf.NotAfter() > s.ca.clock.Now());
  CHECK(renewed.leaf.CommonName() == "svc.example.com");
}

TEST_CASE("CaClient: renew with a token is refused after expiry by default",
          "[client]") {
  Served s;
  auto client = s.Client();
  Issued first = s.Issue(*client, "svc.example.com");
  // Before expiry the token works ...
  CHECK(client->RenewWithToken(first.cert.chain, first.key).ok());
  // ... after it the provisioner does not allow it.
  s.ca.clock.Set(first.leaf().NotAfter() + absl::Hours(1));
  REQUIRE(s.server->RotateCertificate().ok());
  CHECK(StatusIs(client->RenewWithToken(first.cert.chain, first.key).status(),
                 absl::StatusCode::kUnauthenticated, "401"));
}

TEST_CASE("CaClient: revoke by token and by mTLS stops renewals", "[client]") {
  Served s;
  auto client = s.Client();
  Issued a = s.Issue(*client, "a.example.com");
  Issued b = s.Issue(*client, "b.example.com");

  SECTION("by token") {
    REQUIRE(client
                ->Revoke(a.serial(), 1, "key compromise",
                         s.ca.RevokeToken(a.serial()), {}, nullptr)
                .ok());
    CHECK(StatusIs(client->Renew(a.cert.chain, a.key).status(),
                   absl::StatusCode::kUnauthenticated, "request id"));
    CHECK(client->Renew(b.cert.chain, b.key).ok());
  }
  SECTION("by mTLS, the serial taken from the certificate") {
    REQUIRE(client->Revoke("", 0, "", "", b.cert.chain, &b.key).ok());
    CHECK(StatusIs(client->Renew(b.cert.chain, b.key).status(),
                   absl::StatusCode::kUnauthenticated));
    CHECK(StatusIs(client->RenewWithToken(b.cert.chain, b.key).status(),
                   absl::StatusCode::kUnauthenticated));
    CHECK(client->Renew(a.cert.chain, a.key).ok());
  }
  SECTION("over mTLS only one's own certificate") {
    CHECK(StatusIs(client->Revoke(a.serial(), 0, "", "", b.cert.chain, &b.key),
                   absl::StatusCode::kPermissionDenied));
    CHECK(client->Renew(a.cert.chain, a.key).ok());
  }
  SECTION("bad requests are refused before anything is sent") {
    std::string ott = s.ca.RevokeToken(a.serial());
    CHECK(StatusIs(client->Revoke(a.serial(), 0, "", ott, a.cert.chain, &a.key),
                   absl::StatusCode::kInvalidArgument, "not both"));
    CHECK(StatusIs(client->Revoke(a.serial(), 0, "", "", {}, nullptr),
                   absl::StatusCode::kInvalidArgument, "either"));
    CHECK(StatusIs(client->Revoke(a.serial(), 11, "", ott, {}, nullptr),
                   absl::StatusCode::kInvalidArgument, "0..10"));
    CHECK(StatusIs(client->Revoke(a.serial(), 0, "", "", a.cert.chain, nullptr),
                   absl::StatusCode::kInvalidArgument, "key"));
    CHECK(StatusIs(client->Revoke("", 0, "", ott, {}, nullptr),
                   absl::StatusCode::kInvalidArgument, "serial"));
    // The token was never sent, so it still works.
    CHECK(client->Revoke(a.serial(), 0, "", ott, {}, nullptr).ok());
  }
}

TEST_CASE("CaClient: a CA that is down is Unavailable", "[client]") {
  Served s;
  ClientOptions options = s.Options();
  options.get_attempts = 2;
  auto client = Unwrap(CaClient::Create(s.url, {s.ca.certs.root}, options));
  Issued a = s.Issue(*client, "svc.example.com");
  s.server->Shutdown(absl::ZeroDuration());

  CHECK(StatusIs(client->Health(), absl::StatusCode::kUnavailable,
                 "cannot connect"));
  CHECK(StatusIs(client->Roots().status(), absl::StatusCode::kUnavailable));
  CHECK(StatusIs(client->Renew(a.cert.chain, a.key).status(),
                 absl::StatusCode::kUnavailable));
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CHECK(StatusIs(client->Sign(key, s.ca.SignToken("x.example.com")).status(),
                 absl::StatusCode::kUnavailable));
  CHECK(StatusIs(
      CaClient::Bootstrap(s.url, s.ca.certs.root.FingerprintHex(), options)
          .status(),
      absl::StatusCode::kUnavailable));
}

// ---------------------------------------------------------------------------
// Against a real step-ca (hidden: run with "[stepca]"). The binaries come
// from MAYFLY_STEP_CA_BIN and MAYFLY_STEP_BIN; the test fails, saying so,
// when they are not set. Real time throughout: step-ca reads the system
// clock.

std::string RequiredEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    FAIL(name << " is not set: the [stepca] test needs the step-ca and step "
                 "binaries (MAYFLY_STEP_CA_BIN=/path/to/step-ca "
                 "MAYFLY_STEP_BIN=/path/to/step)");
  }
  return value;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// FreePort returns a port nothing listens on now (step-ca binds it itself).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

// StepCaProcess runs step-ca in the background and stops it on destruction.
class StepCaProcess {
 public:
  // `env` is "NAME=value ..." for the command's environment.
  StepCaProcess(const std::string& env, const std::string& command,
                std::string log_path)
      : log_path_(std::move(log_path)) {
    std::string shell = absl::StrCat(env, " exec ", command, " >",
                                     testing::ShellQuote(log_path_), " 2>&1");
    const char* argv[] = {"/bin/sh", "-c", shell.c_str(), nullptr};
    int rc = posix_spawn(&pid_, "/bin/sh", nullptr, nullptr,
                         const_cast<char* const*>(argv), ::environ);
    REQUIRE(rc == 0);
  }
  ~StepCaProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  bool Exited() {
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == pid_;
  }
  std::string Log() const { return ReadFile(log_path_); }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

TEST_CASE("CaClient against a real step-ca", "[.][stepca]") {
  std::string step_ca = RequiredEnv("MAYFLY_STEP_CA_BIN");
  std::string step = RequiredEnv("MAYFLY_STEP_BIN");
  testing::TempDir dir;
  std::string steppath = absl::StrCat(dir.path(), "/step");
  const std::string password = "interop-password";
  std::string password_file = dir.Write("password", password);
  int port = FreePort();
  std::string env = absl::StrCat("STEPPATH=", testing::ShellQuote(steppath));
  testing::CommandResult init = testing::Run(absl::StrCat(
      env, " ", testing::ShellQuote(step),
      " ca init --deployment-type standalone --name MayflyInterop"
      " --dns 127.0.0.1 --address 127.0.0.1:",
      port, " --provisioner admin --password-file ",
      testing::ShellQuote(password_file), " --provisioner-password-file ",
      testing::ShellQuote(password_file)));
  INFO(init.output);
  REQUIRE(init.exit_code == 0);
  Certificate root =
      Unwrap(Certificate::FromPem(ReadFile(steppath + "/certs/root_ca.crt")));

  StepCaProcess ca(
      env,
      absl::StrCat(testing::ShellQuote(step_ca), " ",
                   testing::ShellQuote(steppath + "/config/ca.json"),
                   " --password-file ", testing::ShellQuote(password_file)),
      dir.path() + "/step-ca.log");
  std::string url = absl::StrCat("https://127.0.0.1:", port);
  ClientOptions options;
  options.get_attempts = 1;
  options.connect_timeout = absl::Seconds(1);

  // step-ca takes a moment to open its DB and listen; there is no clock to
  // drive here, so poll.
  std::unique_ptr<CaClient> client;
  absl::Status last;
  for (int i = 0; i < 300 && client == nullptr; i++) {
    if (ca.Exited()) {
      FAIL("step-ca exited:\n" << ca.Log());
    }
    absl::StatusOr<std::unique_ptr<CaClient>> c =
        CaClient::Bootstrap(url, root.FingerprintHex(), options);
    if (c.ok()) {
      client = *std::move(c);
    } else {
      last = c.status();
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  INFO(last.ToString() << "\nstep-ca log:\n" << ca.Log());
  REQUIRE(client != nullptr);
  REQUIRE(client->roots().size() == 1);
  CHECK(client->roots()[0].Equals(root));
  CHECK(client->Health().ok());
  std::vector<Certificate> roots = Unwrap(client->Roots());
  REQUIRE(roots.size() == 1);
  CHECK(roots[0].Equals(root));

  // A fingerprint of no root: step-ca answers 404.
  CHECK(StatusIs(
      CaClient::Bootstrap(url, std::string(64, 'a'), options).status(),
      absl::StatusCode::kFailedPrecondition, "no root with fingerprint"));

  // The provisioner key, as `step ca token` fetches and decrypts it.
  std::vector<ProvisionerInfo> provisioners = Unwrap(client->Provisioners());
  REQUIRE(provisioners.size() == 1);
  CHECK(provisioners[0].type == "JWK");
  CHECK(provisioners[0].name == "admin");
  std::string jwe = Unwrap(client->ProvisionerKey(provisioners[0].kid));
  CHECK(jwe == provisioners[0].encrypted_key);
  CHECK(StatusIs(client->ProvisionerKey(std::string(43, 'A')).status(),
                 absl::StatusCode::kNotFound));
  PrivateKey provisioner_key =
      Unwrap(PrivateKey::FromJwk(Unwrap(DecryptJwe(jwe, password))));
  TokenSigner signer(provisioner_key, provisioners[0].kid, "admin",
                     Clock::Real());
  auto sign_token = [&](const std::string& subject) {
    TokenRequest req;
    req.subject = subject;
    req.audience = Unwrap(SignAudience(url));
    req.root_fingerprint = root.FingerprintHex();
    return Unwrap(signer.Sign(req));
  };
  auto revoke_token = [&](const std::string& serial) {
    TokenRequest req;
    req.subject = serial;
    req.audience = Unwrap(RevokeAudience(url));
    req.root_fingerprint = root.FingerprintHex();
    req.revoke = true;
    return Unwrap(signer.Sign(req));
  };
  auto verify = [&](const IssuedCertificate& cert, const PrivateKey& key) {
    REQUIRE(cert.chain.size() == 2);
    CHECK(cert.leaf.public_key().Equals(key.public_key()));
    CHECK(VerifyChain(cert.leaf, {cert.chain[1]}, {root}, Clock::Real().Now())
              .ok());
  };

  // Sign, both ways; a replay and a name the token does not cover fail.
  PrivateKey key = Unwrap(PrivateKey::Generate());
  std::string ott = sign_token("svc.example.com");
  IssuedCertificate cert = Unwrap(client->Sign(key, ott));
  verify(cert, key);
  CHECK(cert.leaf.CommonName() == "svc.example.com");
  CHECK(StatusIs(client->Sign(key, ott).status(),
                 absl::StatusCode::kUnauthenticated, "request id"));
  PrivateKey key2 = Unwrap(PrivateKey::Generate());
  SignOptions short_lived;
  short_lived.not_after = "10m";
  IssuedCertificate cert2 = Unwrap(
      client->Sign(TestCa::Csr(key2, "db.example.com", {"db.example.com"}),
                   sign_token("db.example.com"), short_lived));
  verify(cert2, key2);
  CHECK(cert2.leaf.NotAfter() - cert2.leaf.NotBefore() <= absl::Minutes(11));
  CHECK(StatusIs(
      client
          ->Sign(TestCa::Csr(key2, "db.example.com", {"evil.example.com"}),
                 sign_token("db.example.com"))
          .status(),
      absl::StatusCode::kPermissionDenied));

  // Renew over mTLS and with a token; rekey.
  IssuedCertificate renewed = Unwrap(client->Renew(cert.chain, key));
  verify(renewed, key);
  CHECK(renewed.leaf.SerialDecimal() != cert.leaf.SerialDecimal());
  IssuedCertificate by_token =
      Unwrap(client->RenewWithToken(renewed.chain, key));
  verify(by_token, key);
  PrivateKey new_key = Unwrap(PrivateKey::Generate());
  IssuedCertificate rekeyed =
      Unwrap(client->Rekey(by_token.chain, key, new_key));
  verify(rekeyed, new_key);

  // Revoke by token, then by mTLS; neither certificate renews again.
  std::string serial = rekeyed.leaf.SerialDecimal();
  REQUIRE(
      client->Revoke(serial, 1, "interop", revoke_token(serial), {}, nullptr)
          .ok());
  CHECK(StatusIs(client->Renew(rekeyed.chain, new_key).status(),
                 absl::StatusCode::kUnauthenticated));
  CHECK(
      StatusIs(client->Revoke(serial, 1, "", revoke_token(serial), {}, nullptr),
               absl::StatusCode::kInvalidArgument, "already revoked"));
  REQUIRE(client->Revoke("", 0, "", "", cert2.chain, &key2).ok());
  CHECK(StatusIs(client->Renew(cert2.chain, key2).status(),
                 absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace mayfly

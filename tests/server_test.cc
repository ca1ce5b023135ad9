// CaServer over real HTTPS on 127.0.0.1: routing through both prefixes,
// sign and renew over mTLS, limits, request ids, log lines, metrics,
// draining on Shutdown, certificate rotation under load and overload.
// Clients are cpp-httplib's SSLClient (or raw BoringSSL where a test must
// control the bytes), verifying the server with ConfigureClientContext at
// the CA's fake clock.

#include "mayfly/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/tls.h"
#include "openssl/ssl.h"
#include "test_util.h"

// cpp-httplib's HTTPS client, over the BoringSSL mayfly is built with.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include "httplib.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

TestCaOptions CaOptions() {
  TestCaOptions o;
  o.dns_names = {"localhost", "127.0.0.1"};
  return o;
}

// Json parses a response body that must be a JSON object.
rapidjson::Document Json(const std::string& body) {
  absl::StatusOr<rapidjson::Document> doc =
      internal::ParseJsonObject(body, "response");
  INFO(body);
  REQUIRE(doc.ok());
  return *std::move(doc);
}

// CheckJsonError checks step-ca's error shape with `status`.
void CheckJsonError(const httplib::Result& res, int status) {
  REQUIRE(res);
  CHECK(res->status == status);
  CHECK(res->get_header_value("Content-Type") == "application/json");
  rapidjson::Document doc = Json(res->body);
  REQUIRE(doc.HasMember("status"));
  CHECK(doc["status"].GetInt() == status);
  REQUIRE(doc.HasMember("message"));
  CHECK(doc["message"].IsString());
}

// MetricValue returns the value of the sample `series` (name and labels
// exactly as exposed), or -1 if absent.
double MetricValue(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) {
        return value;
      }
    }
  }
  return -1;
}

// WaitFor polls `done` for up to 5 s; real servers answer on real time.
template <typename F>
bool WaitFor(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    if (done()) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

// SeenLeaves records the server leaf of every handshake of a client
// context (an info callback, independent of verification).
struct SeenLeaves {
  absl::Mutex mu;
  std::set<std::string> fingerprints;
};

int SeenLeavesIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void RecordLeaf(const SSL* ssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_DONE) == 0) {
    return;
  }
  auto* seen = static_cast<SeenLeaves*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), SeenLeavesIndex()));
  absl::StatusOr<std::vector<Certificate>> chain = PeerCertificates(ssl);
  if (seen != nullptr && chain.ok() && !chain->empty()) {
    absl::MutexLock lock(&seen->mu);
    seen->fingerprints.insert(chain->front().FingerprintHex());
  }
}

class ServerFixture {
 public:
  explicit ServerFixture(ServerOptions options = {})
      : ca(CaOptions()),
        roots(std::make_shared<TrustedRoots>(
            std::vector<Certificate>{ca.certs.root})) {
    options.address = "127.0.0.1:0";
    options.version = "9.8.7";
    options.log_sink = [this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    };
    server = Unwrap(CaServer::Create(ca.ca.get(), std::move(options)));
    REQUIRE(server->Start().ok());
    REQUIRE(server->port() > 0);
  }

  // Client returns an HTTPS client for the server; `creds`, if given, is
  // its client certificate.
  std::unique_ptr<httplib::SSLClient> Client(
      std::shared_ptr<RotatingCredentials> creds = nullptr,
      SeenLeaves* seen = nullptr) {
    auto cli =
        std::make_unique<httplib::SSLClient>("127.0.0.1", server->port());
    // ConfigureClientContext verifies chain and name in the handshake, at
    // the CA's clock; httplib's own check would use the wall clock.
    cli->enable_server_certificate_verification(false);
    REQUIRE(ConfigureClientContext(cli->ssl_context(), roots, std::move(creds),
                                   ca.clock)
                .ok());
    if (seen != nullptr) {
      SSL_CTX_set_ex_data(cli->ssl_context(), SeenLeavesIndex(), seen);
      SSL_CTX_set_info_callback(cli->ssl_context(), RecordLeaf);
    }
    cli->set_tcp_nodelay(true);
    cli->set_connection_timeout(5);
    cli->set_read_timeout(10);
    return cli;
  }

  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

  // LineWith returns the first log line containing `fragment`, or "".
  std::string LineWith(absl::string_view fragment) {
    for (const std::string& line : Lines()) {
      if (absl::StrContains(line, fragment)) {
        return line;
      }
    }
    return "";
  }

  double Metric(const std::string& series) {
    return MetricValue(server->MetricsText(), series);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);

 public:
  TestCa ca;
  std::shared_ptr<TrustedRoots> roots;
  std::unique_ptr<CaServer> server;  // last: destroyed first
};

bool IsUuidV4(const std::string& id) {
  if (id.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < id.size(); i++) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') {
        return false;
      }
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return id[14] == '4';
}

// RawTlsClient speaks TLS over a socket it controls byte by byte.
class RawTlsClient {
 public:
  ~RawTlsClient() {
    ssl_.reset();
    if (fd_ >= 0) {
      close(fd_);
    }
  }

  bool Connect(int port, SSL_CTX* ctx) {
    fd_ = ConnectTcp(port);
    if (fd_ < 0) {
      return false;
    }
    ssl_.reset(SSL_new(ctx));
    SSL_set_fd(ssl_.get(), fd_);
    SSL_set_tlsext_host_name(ssl_.get(), "127.0.0.1");
    return SSL_connect(ssl_.get()) == 1;
  }

  bool Write(absl::string_view data) {
    return SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) ==
           static_cast<int>(data.size());
  }

  // ReadAll reads until the server closes.
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_.get(), buf, sizeof(buf))) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  // ConnectTcp opens a plain TCP connection to 127.0.0.1:port, or -1.
  static int ConnectTcp(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

 private:
  int fd_ = -1;
  bssl::UniquePtr<SSL> ssl_;
};

// SignBody is a /sign request for `subject`'s CSR and token.
std::string SignBody(TestCa& ca, const PrivateKey& key,
                     const std::string& subject, std::string* ott) {
  CertificateRequest csr = TestCa::Csr(key, subject, {subject});
  *ott = ca.SignToken(subject);
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  std::string pem = csr.ToPem();
  doc.AddMember("csr", rapidjson::Value(pem.c_str(), a), a);
  doc.AddMember("ott", rapidjson::Value(ott->c_str(), a), a);
  doc.AddMember("notBefore", "", a);
  doc.AddMember("notAfter", "", a);
  return internal::ToJson(doc);
}

// ChainOf reads the certChain of a sign response.
std::vector<Certificate> ChainOf(const std::string& body) {
  rapidjson::Document doc = Json(body);
  REQUIRE(doc.HasMember("certChain"));
  std::vector<Certificate> chain;
  for (const rapidjson::Value& pem : doc["certChain"].GetArray()) {
    chain.push_back(Unwrap(Certificate::FromPem(pem.GetString())));
  }
  return chain;
}

TEST_CASE("server: health over both prefixes, request ids echoed", "[server]") {
  ServerFixture f;
  auto cli = f.Client();
  for (const char* path : {"/health", "/1.0/health"}) {
    INFO(path);
    httplib::Result res = cli->Get(path);
    REQUIRE(res);
    CHECK(res->status == 200);
    rapidjson::Document doc = Json(res->body);
    CHECK(std::string(doc["status"].GetString()) == "ok");
    CHECK(IsUuidV4(res->get_header_value("X-Request-Id")));
  }
  httplib::Result echoed =
      cli->Get("/health", {{"X-Request-Id", "trace-42.abc_DEF"}});
  REQUIRE(echoed);
  CHECK(echoed->get_header_value("X-Request-Id") == "trace-42.abc_DEF");
  // An id that is not safe to echo (or too long) is replaced.
  for (const std::string& bad :
       {std::string("a b"), std::string("x\"y"), std::string(200, 'a')}) {
    httplib::Result res = cli->Get("/health", {{"X-Request-Id", bad}});
    REQUIRE(res);
    CHECK(IsUuidV4(res->get_header_value("X-Request-Id")));
  }
  httplib::Result head = cli->Head("/1.0/health");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());

  httplib::Result version = cli->Get("/version");
  REQUIRE(version);
  CHECK(std::string(Json(version->body)["version"].GetString()) == "9.8.7");
}

TEST_CASE("server: unknown route and malformed requests answer JSON",
          "[server]") {
  ServerFixture f;
  auto cli = f.Client();
  httplib::Result missing = cli->Get("/no/such/route");
  CheckJsonError(missing, 404);
  CHECK(!missing->get_header_value("X-Request-Id").empty());
  CheckJsonError(cli->Get("/1.0/nope?x=1"), 404);

  // A bad request line never reaches the router; still JSON, still an id.
  ServerFixture g;
  std::shared_ptr<TrustedRoots> roots = g.roots;
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(ConfigureClientContext(ctx.get(), roots, nullptr, g.ca.clock).ok());
  RawTlsClient raw;
  REQUIRE(raw.Connect(g.server->port(), ctx.get()));
  REQUIRE(raw.Write("GET /health HTTP/9.9\r\nHost: x\r\n\r\n"));
  std::string answer = raw.ReadAll();
  CHECK(absl::StartsWith(answer, "HTTP/1.1 400 "));
  CHECK(absl::StrContains(answer, "X-Request-Id: "));
  CHECK(absl::StrContains(answer, "{\"status\":400,"));
}

TEST_CASE("server: bodies and headers over the caps are refused", "[server]") {
  ServerOptions options;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 2048;
  ServerFixture f(options);
  auto cli = f.Client();

  // Just over the cap, and far over it (refused before it is read).
  for (size_t size : {size_t{1025}, size_t{512 * 1024}}) {
    INFO(size);
    httplib::Result res =
        cli->Post("/1.0/sign", std::string(size, 'x'), "application/json");
    CheckJsonError(res, 413);
  }
  // A chunked body (no length announced) is cut at the cap too.
  httplib::Result chunked = cli->Post(
      "/sign",
      [](size_t offset, httplib::DataSink& sink) {
        if (offset >= 8 * 1024) {
          sink.done();
          return true;
        }
        std::string part(512, 'y');
        return sink.write(part.data(), part.size());
      },
      "application/json");
  CheckJsonError(chunked, 413);
  // Within the cap the router sees the body (and refuses it as JSON).
  CheckJsonError(cli->Post("/sign", "{}", "application/json"), 400);

  httplib::Result big_header =
      cli->Get("/health", {{"X-Padding", std::string(4096, 'p')}});
  CheckJsonError(big_header, 431);
  // The server is fine afterwards.
  httplib::Result ok = cli->Get("/health");
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("server: sign and renew over mTLS end to end", "[server]") {
  ServerFixture f;
  auto cli = f.Client();
  PrivateKey key = Unwrap(PrivateKey::Generate());
  std::string ott;
  httplib::Result signed_res =
      cli->Post("/1.0/sign", SignBody(f.ca, key, "svc.internal", &ott),
                "application/json");
  REQUIRE(signed_res);
  INFO(signed_res->body);
  REQUIRE(signed_res->status == 201);
  std::vector<Certificate> chain = ChainOf(signed_res->body);
  REQUIRE(chain.size() == 2);
  CHECK(chain[0].CommonName() == "svc.internal");

  // Renew over mTLS: the client certificate of the connection decides.
  auto creds = std::make_shared<RotatingCredentials>();
  REQUIRE(creds->Set(chain, key).ok());
  auto mtls = f.Client(creds);
  httplib::Result renewed = mtls->Post("/renew", "", "application/json");
  REQUIRE(renewed);
  INFO(renewed->body);
  REQUIRE(renewed->status == 201);
  std::vector<Certificate> next = ChainOf(renewed->body);
  REQUIRE(!next.empty());
  CHECK(next[0].SerialDecimal() != chain[0].SerialDecimal());
  CHECK(next[0].Sans() == chain[0].Sans());
  CHECK(next[0].public_key().Equals(key.public_key()));

  // Without a client certificate: 400; with another CA's: the handshake
  // still succeeds and the Authority answers 401 (JSON, not a TLS alert).
  CheckJsonError(cli->Post("/renew", "", "application/json"), 400);
  TestCaOptions other_options = CaOptions();
  other_options.name = "Other";
  TestCa other(other_options);
  Issued foreign = other.Issue("svc.internal");
  auto foreign_creds = std::make_shared<RotatingCredentials>();
  REQUIRE(foreign_creds->Set(foreign.cert.chain, foreign.key).ok());
  auto stranger = f.Client(foreign_creds);
  CheckJsonError(stranger->Post("/renew", "", "application/json"), 401);
  httplib::Result health = stranger->Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);

  // No token text in any log line; the refusal is logged with its reason.
  for (const std::string& line : f.Lines()) {
    INFO(line);
    CHECK_FALSE(absl::StrContains(line, ott));
    CHECK_FALSE(absl::StrContains(line, "BEGIN"));
  }
  std::string refused = f.LineWith("status=401");
  INFO(refused);
  CHECK(absl::StrContains(refused, "level=warning"));
  CHECK(absl::StrContains(refused, "error="));
}

TEST_CASE("server: log lines carry step-ca's fields", "[server]") {
  ServerFixture f;
  auto cli = f.Client();
  REQUIRE(cli->Get("/health",
                   {{"X-Request-Id", "req-1"}, {"User-Agent", "probe/1.0"}}));
  REQUIRE(cli->Get("/missing", {{"X-Request-Id", "req-2"}}));
  // The log line is written after the response: wait for it.
  REQUIRE(WaitFor([&] { return !f.LineWith("request-id=req-2").empty(); }));

  std::string ok = f.LineWith("request-id=req-1");
  INFO(ok);
  for (const char* field :
       {"time=\"", "level=info ", "duration=\"", "duration-ns=",
        "fields.time=\"", "method=GET ", "name=ca ", "path=/health ",
        "protocol=HTTP/1.1 ", "referer= ", "remote-address=127.0.0.1 ",
        "size=16 ", "status=200 ", "user-agent=probe/1.0 ", "user-id="}) {
    CHECK(absl::StrContains(ok, field));
  }
  CHECK_FALSE(absl::StrContains(ok, "error="));
  CHECK(absl::StartsWith(ok, "time=\""));

  std::string missing = f.LineWith("request-id=req-2");
  INFO(missing);
  CHECK(absl::StrContains(missing, "level=warning "));
  CHECK(absl::StrContains(missing, "status=404 "));
  CHECK(absl::StrContains(missing, "error=\""));

  // The JSON format has the same fields.
  ServerOptions json_options;
  json_options.log_format = LogFormat::kJson;
  ServerFixture j(json_options);
  auto jcli = j.Client();
  REQUIRE(jcli->Get("/nope", {{"X-Request-Id", "req-3"}}));
  REQUIRE(WaitFor([&] { return !j.LineWith("req-3").empty(); }));
  rapidjson::Document doc = Json(j.LineWith("req-3"));
  CHECK(std::string(doc["request-id"].GetString()) == "req-3");
  CHECK(std::string(doc["level"].GetString()) == "warning");
  CHECK(doc["status"].GetInt() == 404);
  CHECK(std::string(doc["method"].GetString()) == "GET");
  CHECK(std::string(doc["path"].GetString()) == "/nope");
  CHECK(doc["duration-ns"].IsInt64());
  CHECK(doc.HasMember("error"));
}

TEST_CASE("server: metrics counters move", "[server]") {
  ServerFixture f;
  auto cli = f.Client();
  const std::string health =
      "mayfly_http_requests_total{route=\"/health\",code=\"200\"}";
  REQUIRE(cli->Get("/health"));
  REQUIRE(WaitFor([&] { return f.Metric(health) == 1; }));
  REQUIRE(cli->Get("/1.0/health"));
  REQUIRE(WaitFor([&] { return f.Metric(health) == 2; }));
  CHECK(f.Metric("mayfly_http_request_duration_seconds_count{route="
                 "\"/health\"}") == 2);

  PrivateKey key = Unwrap(PrivateKey::Generate());
  std::string ott;
  std::string body = SignBody(f.ca, key, "m.internal", &ott);
  httplib::Result first = cli->Post("/sign", body, "application/json");
  REQUIRE(first);
  CHECK(first->status == 201);
  httplib::Result replay = cli->Post("/sign", body, "application/json");
  CheckJsonError(replay, 401);

  httplib::Result metrics = cli->Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(absl::StartsWith(metrics->get_header_value("Content-Type"),
                         "text/plain; version=0.0.4"));
  const std::string& text = metrics->body;
  INFO(text);
  CHECK(MetricValue(text, "mayfly_certificates_issued_total") == 1);
  CHECK(MetricValue(text,
                    "mayfly_http_requests_total{route=\"/sign\","
                    "code=\"201\"}") == 1);
  CHECK(MetricValue(text,
                    "mayfly_http_requests_total{route=\"/sign\","
                    "code=\"401\"}") == 1);
  CHECK(MetricValue(text, "mayfly_tokens_refused_total{reason=\"replay\"}") ==
        1);
  CHECK(MetricValue(text, "mayfly_server_certificate_rotations_total") == 1);
  CHECK(absl::StrContains(text,
                          "# TYPE mayfly_http_request_duration_seconds "
                          "histogram"));
}

TEST_CASE("server: a request not sent within the read timeout is 408",
          "[server]") {
  ServerOptions options;
  options.read_timeout = absl::Seconds(1);
  ServerFixture f(options);
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(ConfigureClientContext(ctx.get(), f.roots, nullptr, f.ca.clock).ok());
  RawTlsClient raw;
  REQUIRE(raw.Connect(f.server->port(), ctx.get()));
  // Headers without their final empty line: the request never completes.
  REQUIRE(raw.Write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  std::string answer = raw.ReadAll();
  INFO(answer);
  CHECK(absl::StartsWith(answer, "HTTP/1.1 408 "));
  CHECK(absl::StrContains(answer, "{\"status\":408,"));
}

TEST_CASE("server: Shutdown drains an in-flight request", "[server]") {
  ServerFixture f;
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(ConfigureClientContext(ctx.get(), f.roots, nullptr, f.ca.clock).ok());
  RawTlsClient raw;
  REQUIRE(raw.Connect(f.server->port(), ctx.get()));
  const std::string body = "{\"csr\":\"not a csr\",\"ott\":\"x\"}";
  REQUIRE(
      raw.Write(absl::StrCat("POST /sign HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: ",
                             body.size(), "\r\n\r\n", body.substr(0, 10))));
  // A worker holds the request, waiting for the rest of its body.
  REQUIRE(
      WaitFor([&] { return f.Metric("mayfly_http_requests_in_flight") == 1; }));

  // An idle connection (handshake done, no request) does not hold the
  // drain up: it is closed as soon as Shutdown begins.
  RawTlsClient idle;
  REQUIRE(idle.Connect(f.server->port(), ctx.get()));
  REQUIRE(
      WaitFor([&] { return f.Metric("mayfly_http_open_connections") == 2; }));

  std::atomic<bool> done{false};
  const absl::Time shutdown_start = absl::Now();
  std::thread stopper([&] {
    f.server->Shutdown(absl::Seconds(10));
    done = true;
  });
  // Shutdown closes the listener first: new connections are refused.
  REQUIRE(WaitFor([&] {
    int fd = RawTlsClient::ConnectTcp(f.server->port());
    if (fd >= 0) {
      close(fd);
    }
    return fd < 0;
  }));
  CHECK_FALSE(done.load());  // still draining

  REQUIRE(raw.Write(body.substr(10)));
  std::string answer = raw.ReadAll();
  INFO(answer);
  CHECK(absl::StartsWith(answer, "HTTP/1.1 400 "));
  CHECK(absl::StrContains(answer, "Connection: close"));
  CHECK(absl::StrContains(answer, "{\"status\":400,"));
  stopper.join();
  CHECK(done.load());
  CHECK(absl::Now() - shutdown_start < absl::Seconds(5));
  CHECK(idle.ReadAll().empty());
  f.server->Shutdown();  // idempotent
}

TEST_CASE("server: rotation under load fails no request", "[server]") {
  ServerFixture f;
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  SeenLeaves seen;
  auto load = [&] {
    while (!stop.load()) {
      // A new connection per request: every one is a new handshake.
      auto cli = f.Client(nullptr, &seen);
      httplib::Result res = cli->Get("/health");
      if (res && res->status == 200) {
        ok++;
      } else {
        failed++;
      }
    }
  };
  std::thread a(load), b(load);
  const absl::Time end = absl::Now() + absl::Milliseconds(2500);
  int rotations = 0;
  while (absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(100));
    REQUIRE(f.server->RotateCertificate().ok());
    rotations++;
  }
  stop = true;
  a.join();
  b.join();
  CHECK(failed.load() == 0);
  CHECK(ok.load() > 20);
  absl::MutexLock lock(&seen.mu);
  // The clients saw many of the rotated certificates.
  CHECK(seen.fingerprints.size() >= 5);
  CHECK(rotations >= 20);
}

TEST_CASE("server: RotateCertificate serves a new chain", "[server]") {
  ServerFixture f;
  std::vector<Certificate> before = f.server->CurrentCertificateChain();
  REQUIRE(before.size() == 2);
  CHECK(before[1].Equals(f.ca.certs.intermediate));
  CHECK(before[0].NotAfter() - before[0].NotBefore() ==
        absl::Hours(24) + absl::Minutes(1));
  REQUIRE(f.server->RotateCertificate().ok());
  std::vector<Certificate> after = f.server->CurrentCertificateChain();
  CHECK_FALSE(after[0].Equals(before[0]));

  SeenLeaves seen;
  auto cli = f.Client(nullptr, &seen);
  REQUIRE(cli->Get("/health"));
  absl::MutexLock lock(&seen.mu);
  CHECK(seen.fingerprints == std::set<std::string>{after[0].FingerprintHex()});
}

TEST_CASE("server: overload answers 503 and the server recovers", "[server]") {
  ServerOptions options;
  options.worker_threads = 2;
  options.max_queued = 0;
  options.max_connections = 2;
  options.read_timeout = absl::Seconds(3);
  ServerFixture f(options);
  // Two silent connections hold both workers in the TLS handshake.
  std::vector<int> slow;
  for (int i = 0; i < 2; i++) {
    int fd = RawTlsClient::ConnectTcp(f.server->port());
    REQUIRE(fd >= 0);
    slow.push_back(fd);
  }
  REQUIRE(
      WaitFor([&] { return f.Metric("mayfly_http_open_connections") == 2; }));

  auto cli = f.Client();
  httplib::Result busy = cli->Get("/health");
  CheckJsonError(busy, 503);
  CHECK(busy->get_header_value("Retry-After") == "1");
  CHECK(f.Metric("mayfly_http_connections_refused_total{reason="
                 "\"overload\"}") == 1);

  for (int fd : slow) {
    close(fd);
  }
  REQUIRE(
      WaitFor([&] { return f.Metric("mayfly_http_open_connections") == 0; }));
  httplib::Result fine = f.Client()->Get("/health");
  REQUIRE(fine);
  CHECK(fine->status == 200);
}

TEST_CASE("server: bad options and addresses are refused", "[server]") {
  TestCa ca(CaOptions());
  auto create = [&](ServerOptions o) {
    return CaServer::Create(ca.ca.get(), std::move(o)).status();
  };
  ServerOptions o;
  o.address = "127.0.0.1:0";
  o.worker_threads = -1;
  CHECK(StatusIs(create(o), absl::StatusCode::kInvalidArgument));
  o = {};
  o.address = "no-port";
  CHECK(StatusIs(create(o), absl::StatusCode::kInvalidArgument));
  o.address = "::1:80";
  CHECK(StatusIs(create(o), absl::StatusCode::kInvalidArgument));
  o.address = "127.0.0.1:99999";
  CHECK(StatusIs(create(o), absl::StatusCode::kInvalidArgument));
  o = {};
  o.address = "127.0.0.1:0";
  o.tls_lifetime = absl::Seconds(10);
  CHECK(StatusIs(create(o), absl::StatusCode::kInvalidArgument));
  o.tls_lifetime = absl::Hours(1);
  o.read_timeout = absl::ZeroDuration();
  CHECK(StatusIs(create(o), absl::StatusCode::kInvalidArgument));

  // A port in use: Unavailable; starting twice: FailedPrecondition.
  o = {};
  o.address = "127.0.0.1:0";
  o.log_sink = [](absl::string_view) {};
  std::unique_ptr<CaServer> first = Unwrap(CaServer::Create(ca.ca.get(), o));
  REQUIRE(first->Start().ok());
  CHECK(StatusIs(first->Start(), absl::StatusCode::kFailedPrecondition));
  o.address = absl::StrCat("127.0.0.1:", first->port());
  std::unique_ptr<CaServer> second = Unwrap(CaServer::Create(ca.ca.get(), o));
  CHECK(StatusIs(second->Start(), absl::StatusCode::kUnavailable));
  first->Shutdown();
  CHECK(StatusIs(first->Start(), absl::StatusCode::kFailedPrecondition));
}

TEST_CASE("server: ReloadProvisioners swaps the provisioners", "[server]") {
  ServerFixture f;
  CaConfig config = f.ca.ca->config();
  PrivateKey key = Unwrap(PrivateKey::Generate());
  config.provisioners.push_back(testing::MakeProvisioner("ops", key));
  REQUIRE(f.server->ReloadProvisioners(config).ok());
  httplib::Result res = f.Client()->Get("/provisioners");
  REQUIRE(res);
  CHECK(absl::StrContains(res->body, "\"name\":\"ops\""));
  // A bad config (duplicate names) keeps the running set.
  config.provisioners.push_back(testing::MakeProvisioner("ops", key));
  CHECK_FALSE(f.server->ReloadProvisioners(config).ok());
}

}  // namespace
}  // namespace mayfly

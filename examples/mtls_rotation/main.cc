// mtls_rotation: an HTTPS server and an HTTPS client in one process that
// authenticate each other with certificates living 6 seconds, renewed
// before they expire, with no restart and no failed request.
//
//   mtls_rotation [--seconds N]    (default 20)
//
// The steps, each a function below:
// 1. An embedded CA: mayfly::Authority built in memory (root, intermediate,
//    one JWK provisioner), allowed to issue certificates as short as 1 s.
// 2. First certificates for the server ("localhost") and the client
//    ("client.mtls.example"): a new key, a CSR, a one-time token, Sign, as a
//    client of a remote CA would get them.
// 3. Each certificate goes into a RotatingCredentials (mayfly/tls.h). The
//    server's and the client's SSL_CTX are set up with
//    ConfigureServerContext / ConfigureClientContext, which read the
//    current certificate on every handshake.
// 4. A RenewalScheduler (mayfly/renewal.h) renews both at two thirds of
//    their lifetime by calling the CA's Renew in-process, and a
//    RotatingCredentialsSink swaps each renewed certificate into the TLS
//    contexts.
// 5. The server (cpp-httplib) requires a client certificate verified
//    against the CA root and answers GET /hello with the client's subject;
//    the client verifies the server's chain and name and asks every 200 ms,
//    on a new connection (so a new handshake) each time.
// 6. At the end, a summary; the exit status is 1 if any request failed, a
//    renewal failed, or either certificate was never renewed.
//
// With a remote CA, step 1 goes away, step 2 is CaClient::Sign and the
// renew function of step 4 is CaClient::Renew (see mayfly/renewal.h).

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/renewal.h"
#include "mayfly/status.h"
#include "mayfly/store.h"
#include "mayfly/tls.h"
#include "mayfly/token.h"
#include "openssl/ssl.h"

// cpp-httplib, over the BoringSSL mayfly is built with.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include "httplib.h"

namespace {

using mayfly::Certificate;
using mayfly::Credentials;
using mayfly::IssuedCertificate;
using mayfly::PrivateKey;
using mayfly::RenewalEvent;
using mayfly::RenewalEventType;
using mayfly::RotatingCredentials;
using mayfly::TrustedRoots;

constexpr absl::Duration kLifetime = absl::Seconds(6);
constexpr absl::Duration kRequestEvery = absl::Milliseconds(200);
constexpr char kServerName[] = "localhost";
constexpr char kClientName[] = "client.mtls.example";
// The response header in which the server names the serial of the client
// certificate it was shown.
constexpr char kSerialHeader[] = "X-Client-Certificate-Serial";

// Log prints one line, prefixed by the seconds since the program started.
// Lines come from the main thread and the scheduler's; each is one write.
void Log(const std::string& line) {
  static const absl::Time start = absl::Now();
  std::printf("[%5.1fs] %s\n", absl::ToDoubleSeconds(absl::Now() - start),
              line.c_str());
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------
// Step 1: the embedded CA.

// EmbeddedCa is a CA that lives in this process: the Authority, and the
// provisioner key that authorises the first certificates.
struct EmbeddedCa {
  Certificate root;
  std::unique_ptr<mayfly::Authority> authority;
  std::unique_ptr<mayfly::TokenSigner> signer;
  std::string audience;  // the "aud" of the tokens the Authority accepts
};

absl::StatusOr<EmbeddedCa> NewEmbeddedCa(const mayfly::Clock& clock) {
  const absl::Time now = clock.Now();
  // A root and an intermediate, as `mayfly-ca init` would make them (here
  // in memory, valid for a day).
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey root_key, PrivateKey::Generate());
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey intermediate_key, PrivateKey::Generate());
  mayfly::CertificateTemplate ca;
  ca.serial = {0x01};
  ca.common_name = "Example Root CA";
  ca.organization = "Example";
  ca.not_before = now - absl::Minutes(1);
  ca.not_after = now + absl::Hours(24);
  ca.key_usage = mayfly::kKeyUsageKeyCertSign | mayfly::kKeyUsageCrlSign;
  ca.basic = mayfly::BasicConstraints{true, 1};
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate root,
      mayfly::IssueCertificate(ca, root_key.public_key(), root_key, nullptr));
  ca.serial = {0x02};
  ca.common_name = "Example Intermediate CA";
  ca.basic = mayfly::BasicConstraints{true, 0};
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate intermediate,
      mayfly::IssueCertificate(ca, intermediate_key.public_key(), root_key,
                               &root));

  // One JWK provisioner. Its claims allow the 6-second certificates of this
  // example (the default minimum is 5 minutes).
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey provisioner_key, PrivateKey::Generate());
  mayfly::Claims claims;
  claims.min_tls_duration = absl::Seconds(1);
  MAYFLY_ASSIGN_OR_RETURN(
      mayfly::Provisioner provisioner,
      mayfly::Provisioner::FromPrivateKey("example", provisioner_key,
                                          "example-password", claims));

  mayfly::AuthorityParts parts{{root}, intermediate, intermediate_key, {}};
  parts.config.dns_names = {"ca.example"};
  parts.config.provisioners = {provisioner};
  // No backdate: the CA and both peers read the same clock, so there is no
  // skew to absorb, and each certificate is valid exactly its 6 seconds.
  parts.config.backdate = absl::ZeroDuration();

  MAYFLY_ASSIGN_OR_RETURN(
      std::unique_ptr<mayfly::Authority> authority,
      mayfly::Authority::FromParts(std::move(parts), mayfly::NewMemoryStore(),
                                   clock));
  auto signer = std::make_unique<mayfly::TokenSigner>(
      provisioner_key, provisioner.kid, provisioner.name, clock);
  MAYFLY_ASSIGN_OR_RETURN(std::string audience,
                          mayfly::SignAudience("https://ca.example"));
  return EmbeddedCa{std::move(root), std::move(authority), std::move(signer),
                    std::move(audience)};
}

// ---------------------------------------------------------------------------
// Step 2: the first certificates.

// IssueFirst gets a 6-second certificate for a new key, named `name`, and
// returns it with its key as RotatingCredentials (step 3).
absl::StatusOr<std::shared_ptr<RotatingCredentials>> IssueFirst(
    const EmbeddedCa& ca, const std::string& name) {
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  mayfly::CsrOptions csr_options;
  csr_options.common_name = name;
  csr_options.sans = {name};
  MAYFLY_ASSIGN_OR_RETURN(mayfly::CertificateRequest csr,
                          mayfly::CertificateRequest::Create(key, csr_options));
  // The one-time token authorising exactly this name.
  mayfly::TokenRequest token;
  token.subject = name;
  token.sans = {name};
  token.audience = ca.audience;
  token.root_fingerprint = ca.root.FingerprintHex();
  MAYFLY_ASSIGN_OR_RETURN(std::string ott, ca.signer->Sign(token));
  mayfly::SignOptions validity;
  validity.not_after = mayfly::FormatDuration(kLifetime);  // "6s"
  MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                          ca.authority->Sign(csr, ott, validity));

  auto credentials = std::make_shared<RotatingCredentials>();
  MAYFLY_RETURN_IF_ERROR(credentials->Set(issued.chain, key));
  Log(absl::StrCat("issued ", name,
                   " certificate serial=", issued.leaf.SerialDecimal(),
                   " valid for ", absl::FormatDuration(kLifetime)));
  return credentials;
}

// ---------------------------------------------------------------------------
// Step 4: renewal.

// RenewalCounts are what the scheduler's events reported.
struct RenewalCounts {
  std::atomic<int> server{0};
  std::atomic<int> client{0};
  std::atomic<int> problems{0};  // failed, revoked, expired, sink failed
};

// StartRenewals makes a scheduler that renews the server's and the client's
// certificates through `ca` and installs each renewal in the credentials
// the TLS contexts read.
absl::StatusOr<std::unique_ptr<mayfly::RenewalScheduler>> StartRenewals(
    EmbeddedCa& ca, std::shared_ptr<RotatingCredentials> server_tls,
    std::shared_ptr<RotatingCredentials> client_tls, RenewalCounts& counts) {
  // Which entry is which, for the log lines. Filled before Start, read-only
  // once the scheduler's thread runs.
  auto names = std::make_shared<std::map<uint64_t, std::string>>();

  mayfly::RenewalOptions options;
  // The renewal itself: Authority::Renew re-issues the leaf of a chain (a
  // remote CA checks it is the TLS client chain of the request; in-process
  // we hand it over). Same key, new serial, same lifetime from now.
  mayfly::Authority* authority = ca.authority.get();
  options.renew = [authority](const Credentials& current) {
    return authority->Renew(current.chain);
  };
  // Every outcome is reported here; a renewal is one readable line.
  options.on_event = [names, &counts](const RenewalEvent& e) {
    const std::string& name = names->at(e.id);
    const Certificate& leaf = e.credentials->chain.front();
    switch (e.type) {
      case RenewalEventType::kRenewed:
        (name == "server" ? counts.server : counts.client)++;
        // NotAfter is now + 6 s, rounded down to the second.
        Log(absl::StrFormat(
            "renewed %s certificate serial=%s valid for %s, expires in %.1fs",
            name, leaf.SerialDecimal(),
            absl::FormatDuration(leaf.NotAfter() - leaf.NotBefore()),
            absl::ToDoubleSeconds(leaf.NotAfter() - absl::Now())));
        break;
      case RenewalEventType::kFailed:
        counts.problems++;
        Log(absl::StrCat("renewal of the ", name, " certificate failed (",
                         e.status.ToString(), "); retrying at ",
                         absl::FormatTime("%H:%M:%E1S", e.next_attempt,
                                          absl::LocalTimeZone())));
        break;
      default:
        counts.problems++;
        Log(absl::StrCat(mayfly::RenewalEventTypeName(e.type), ": ", name,
                         " certificate: ", e.status.ToString()));
        break;
    }
  };
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<mayfly::RenewalScheduler> scheduler,
                          mayfly::RenewalScheduler::Create(std::move(options)));

  // Each certificate is managed with one sink: its RotatingCredentials, so
  // the next handshake uses the renewed certificate.
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<mayfly::RenewalSink> server_sink,
                          mayfly::RotatingCredentialsSink(server_tls));
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<mayfly::RenewalSink> client_sink,
                          mayfly::RotatingCredentialsSink(client_tls));
  MAYFLY_ASSIGN_OR_RETURN(uint64_t server_id,
                          scheduler->Add(server_tls->Current(), {server_sink}));
  MAYFLY_ASSIGN_OR_RETURN(uint64_t client_id,
                          scheduler->Add(client_tls->Current(), {client_sink}));
  (*names)[server_id] = "server";
  (*names)[client_id] = "client";
  MAYFLY_RETURN_IF_ERROR(scheduler->Start());
  return scheduler;
}

// ---------------------------------------------------------------------------
// Step 5: the HTTPS server and client.

// HelloHandler answers GET /hello with the subject of the client's
// certificate. The handshake already verified it (ClientAuth::kRequired);
// the handler only reads who it is.
void HelloHandler(const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<std::vector<Certificate>> chain =
      mayfly::PeerCertificates(req.ssl);
  if (!chain.ok() || chain->empty()) {
    res.status = 403;
    res.set_content("no client certificate\n", "text/plain");
    return;
  }
  const Certificate& client = chain->front();
  res.set_header(kSerialHeader, client.SerialDecimal());
  res.set_content(absl::StrCat("hello, ", client.Subject(), "\n"),
                  "text/plain");
}

// RequestCounts are what the client saw.
struct RequestCounts {
  int requests = 0;
  int failed = 0;
};

// RunClient asks GET /hello every 200 ms until `deadline` and checks each
// answer. It prints the first answer, each time the server reports a new
// client certificate serial, and every failure.
RequestCounts RunClient(httplib::SSLClient& client, absl::Time deadline) {
  const std::string expected = absl::StrCat("hello, CN=", kClientName, "\n");
  RequestCounts counts;
  std::string last_serial;
  for (absl::Time next = absl::Now(); next < deadline; next += kRequestEvery) {
    absl::SleepFor(next - absl::Now());
    counts.requests++;
    httplib::Result res = client.Get("/hello");
    if (!res) {
      counts.failed++;
      Log(absl::StrCat("GET /hello failed: ", httplib::to_string(res.error())));
      continue;
    }
    if (res->status != 200 || res->body != expected) {
      counts.failed++;
      Log(absl::StrCat("GET /hello: unexpected answer ", res->status, " ",
                       res->body));
      continue;
    }
    std::string serial = res->get_header_value(kSerialHeader);
    if (serial != last_serial) {
      Log(absl::StrCat("GET /hello: 200 \"", absl::StripSuffix(res->body, "\n"),
                       "\" (the server saw client certificate serial=", serial,
                       ")"));
      last_serial = serial;
    }
  }
  return counts;
}

// ---------------------------------------------------------------------------

// Run runs the example for `duration` and returns the exit status.
absl::StatusOr<int> Run(absl::Duration duration) {
  const mayfly::Clock& clock = mayfly::Clock::Real();

  // Step 1.
  MAYFLY_ASSIGN_OR_RETURN(EmbeddedCa ca, NewEmbeddedCa(clock));
  auto roots =
      std::make_shared<TrustedRoots>(std::vector<Certificate>{ca.root});

  // Steps 2 and 3.
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RotatingCredentials> server_tls,
                          IssueFirst(ca, kServerName));
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RotatingCredentials> client_tls,
                          IssueFirst(ca, kClientName));

  // Step 5, the server: its SSL_CTX serves server_tls's current
  // certificate on every handshake and requires a client certificate that
  // chains to the CA root.
  absl::Status setup = absl::OkStatus();
  httplib::SSLServer server([&](SSL_CTX& ctx) {
    setup = mayfly::ConfigureServerContext(
        &ctx, server_tls, roots, mayfly::ClientAuth::kRequired, clock);
    return setup.ok();
  });
  MAYFLY_RETURN_IF_ERROR(setup);
  server.Get("/hello", HelloHandler);
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    return absl::UnavailableError("cannot listen on 127.0.0.1");
  }
  std::thread server_thread([&server] { server.listen_after_bind(); });
  Log(absl::StrCat("HTTPS server on https://localhost:", port,
                   ", client certificates required"));

  // Step 5, the client: its SSL_CTX verifies the server's chain against the
  // CA root and its name against "localhost", and presents client_tls's
  // current certificate when asked. mayfly's context does the verification
  // on every handshake, so httplib's own (OpenSSL's certificate store) is
  // turned off. httplib's client opens a new connection per request unless
  // keep-alive is on: each request is a full handshake.
  httplib::SSLClient client(kServerName, port);
  MAYFLY_RETURN_IF_ERROR(mayfly::ConfigureClientContext(
      client.ssl_context(), roots, client_tls, clock));
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(2, 0);

  // Step 4, once everything that uses the certificates is up.
  RenewalCounts renewals;
  absl::StatusOr<std::unique_ptr<mayfly::RenewalScheduler>> scheduler =
      StartRenewals(ca, server_tls, client_tls, renewals);
  if (!scheduler.ok()) {
    server.stop();
    server_thread.join();
    return scheduler.status();
  }

  RequestCounts requests = RunClient(client, absl::Now() + duration);

  // Step 6: stop renewing, stop serving, report.
  (*scheduler)->Stop();
  server.stop();
  server_thread.join();
  const int server_renewals = renewals.server.load();
  const int client_renewals = renewals.client.load();
  std::printf(
      "%d requests, %d failed, server renewed %d times, client renewed %d "
      "times\n",
      requests.requests, requests.failed, server_renewals, client_renewals);
  const bool ok = requests.requests > 0 && requests.failed == 0 &&
                  server_renewals > 0 && client_renewals > 0 &&
                  renewals.problems.load() == 0;
  return ok ? 0 : 1;
}

constexpr char kUsage[] =
    "usage: mtls_rotation [--seconds N]\n"
    "\n"
    "Runs an HTTPS server and client doing mutual TLS in one process, with\n"
    "6-second certificates that an embedded CA renews while they talk.\n"
    "Prints a line per renewal and a summary; exits 1 if a request or a\n"
    "renewal failed, or if either certificate was never renewed.\n"
    "\n"
    "  --seconds N   how long the client keeps sending requests (default 20)\n";

}  // namespace

int main(int argc, char** argv) {
  int64_t seconds = 20;
  for (int i = 1; i < argc; i++) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    absl::string_view value;
    if (absl::ConsumePrefix(&arg, "--seconds=")) {
      value = arg;
    } else if (arg == "--seconds" && i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "mtls_rotation: unknown argument %s\n%s", argv[i],
                   kUsage);
      return 2;
    }
    if (!absl::SimpleAtoi(value, &seconds) || seconds <= 0) {
      std::fprintf(stderr,
                   "mtls_rotation: --seconds wants a positive integer\n");
      return 2;
    }
  }

  absl::StatusOr<int> status = Run(absl::Seconds(seconds));
  if (!status.ok()) {
    std::fprintf(stderr, "mtls_rotation: %s\n",
                 status.status().ToString().c_str());
    return 1;
  }
  return *status;
}

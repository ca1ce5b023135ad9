// File: mayfly/server.h
//
// CaServer serves an Authority over HTTPS with step-ca's HTTP API
// (STEP-PROTOCOL.md), so the `step` CLI and step-ca clients work against it
// unchanged. Every route is served at "/" and under "/1.0/": health,
// version, root/{sha256}, roots, roots.pem, intermediates(.pem),
// federation, provisioners (paged), provisioners/{kid}/encrypted-key, sign,
// renew (mTLS, or a Bearer renew token), rekey, revoke (token or mTLS), crl;
// plus /metrics (Prometheus text).
//
// The server's own TLS certificate is issued by the authority's
// intermediate for config.dns_names, lives `tls_lifetime`, and is renewed
// in-process at 2/3 of its lifetime: the next handshake gets the new one,
// no handshake fails. Client certificates are requested but optional.
//
// One log line per request (text like step-ca's, or JSON), a bounded worker
// pool and connection count (overload answers 503), a body cap (413), and
// read/write/idle timeouts.
//
//   MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaServer> server,
//                           CaServer::Create(authority.get(), {}));
//   MAYFLY_RETURN_IF_ERROR(server->Start());
//   ...                       // serve until told to stop
//   server->Shutdown();       // drains in-flight requests

#ifndef MAYFLY_SERVER_H_
#define MAYFLY_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/authority.h"

namespace mayfly {

enum class LogFormat { kText, kJson };

// ServerOptions tune a CaServer. Defaults suit a small production CA.
struct ServerOptions {
  // address is "host:port", ":port" (every interface) or "" (the
  // authority's config.address). Port 0 picks a free port (see port()).
  std::string address;
  // worker_threads serve requests; 0 means max(4, 2 * cores).
  int worker_threads = 0;
  // max_connections caps open connections; beyond it, and when every
  // worker is busy and max_queued requests wait, the server answers 503.
  int max_connections = 1024;
  int max_queued = 256;
  size_t max_body_bytes = 64 * 1024;  // larger bodies: 413
  size_t max_header_bytes = 8 * 1024;
  absl::Duration read_timeout = absl::Seconds(15);
  absl::Duration write_timeout = absl::Seconds(15);
  absl::Duration idle_timeout = absl::Seconds(15);  // keep-alive
  // tls_lifetime is the lifetime of the server's own certificate; it is
  // renewed at 2/3 of it.
  absl::Duration tls_lifetime = absl::Hours(24);
  LogFormat log_format = LogFormat::kText;
  // log_sink receives each log line (no trailing newline); NULL writes to
  // stderr. Called from worker threads, never under a server lock.
  std::function<void(absl::string_view line)> log_sink;
  // version is what /version reports.
  std::string version;
};

class CaServer {
 public:
  // Create prepares a server over `authority`, which must outlive it, and
  // issues its first TLS certificate. InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<CaServer>> Create(
      Authority* authority, ServerOptions options);

  CaServer(const CaServer&) = delete;
  CaServer& operator=(const CaServer&) = delete;
  ~CaServer();  // Shutdown() if still running

  // Start binds the address and serves on background threads; it returns
  // once the socket is listening. Unavailable if the address cannot be
  // bound; FailedPrecondition if already started.
  absl::Status Start();

  // port is the bound port (after Start), else 0.
  int port() const;

  // Shutdown stops accepting, lets in-flight requests finish (at most
  // `grace`), closes connections and joins the threads. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(10));

  // RotateCertificate issues a new server certificate now (the timer does
  // this at 2/3 of the lifetime).
  absl::Status RotateCertificate();

  // ReloadProvisioners swaps in the provisioners and claims of `config`
  // (a SIGHUP reload); on error the old ones stay and the error says why.
  absl::Status ReloadProvisioners(const CaConfig& config);

  // MetricsText returns the Prometheus text exposition served at /metrics.
  std::string MetricsText() const;

  // The server certificate currently served (leaf first).
  std::vector<Certificate> CurrentCertificateChain() const;

 private:
  class Impl;
  explicit CaServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mayfly

#endif  // MAYFLY_SERVER_H_

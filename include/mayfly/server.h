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
// The server's own TLS certificate is a fresh P-256 key certified by the
// authority's intermediate for config.dns_names (IssueServerCertificate),
// lives `tls_lifetime`, and is renewed in-process at 2/3 of its lifetime
// (time from the authority's clock): the next handshake gets the new one,
// no handshake fails. The chain served is the leaf and the authority's
// ca_chain() (the intermediate).
//
// Client certificates are requested (naming the roots and the CA chain as
// acceptable issuers) but never required, and never verified by the TLS
// layer: the handshake only proves the client holds the key. The Authority
// verifies the chain, at its own clock, on the routes that use it (renew,
// rekey, mTLS revoke). So a client holding an expired or foreign
// certificate still reaches /health, /roots or /sign, and gets a JSON 401
// on /renew instead of a TLS alert. (step-ca verifies a given certificate
// in the handshake; the step CLI presents one only to renew, rekey and
// revoke, so it sees no difference.) TLS policy: see mayfly/tls.h.
//
// Limits: request line at most 8 KiB (414; one beyond 16 KiB is cut off),
// headers `max_header_bytes` (431), body `max_body_bytes` (413; a declared
// larger body is refused before it is read), the whole request within
// `read_timeout` (408). A connection holds a worker while open, so
// keep-alive is granted only while no connection waits for a worker.
// Beyond `worker_threads` busy plus `max_queued` waiting (or
// `max_connections` in all), a connection is answered 503 by a small
// overflow responder, or, if that is full too, closed at once. Every error
// body is step-ca's JSON shape.
//
// One log line per request (text like step-ca's, or JSON): request-id,
// method, path, status, duration, size, remote address, user agent,
// protocol, and the internal error of a failure; never a body, token or
// key. Every response carries X-Request-Id: the client's X-Request-Id (or
// X-Smallstep-Id) if it is 1-128 characters of [A-Za-z0-9._:+/=-], else a
// new random UUID.
//
// /metrics (Prometheus text): mayfly_http_requests_total{route,code},
// mayfly_http_request_duration_seconds{route} (histogram; the routes that
// write to the store - sign, renew, rekey, revoke - show its latency here,
// as the server cannot time the store apart from the handler),
// mayfly_certificates_{issued,renewed,rekeyed,revoked}_total,
// mayfly_tokens_refused_total{reason}, connection and server-certificate
// gauges.
//
// cpp-httplib, which serves the requests, sets SIGPIPE to SIG_IGN for the
// whole process when a server is created.
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
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/authority.h"

namespace mayfly {

enum class LogFormat { kText, kJson };

// ServerOptions tune a CaServer. Defaults suit a small production CA.
struct ServerOptions {
  // address is "host:port", "[v6]:port", ":port" (every interface) or ""
  // (the authority's config.address). Port 0 picks a free port (see
  // port()).
  std::string address;
  // worker_threads serve connections; 0 means max(64, 16 * cores).
  int worker_threads = 0;
  // max_connections caps the connections being served or waiting for a
  // worker, max_queued the waiting ones; beyond either the server answers
  // 503 (or closes the connection when even that backlog is full).
  int max_connections = 1024;
  int max_queued = 256;
  size_t max_body_bytes = 64 * 1024;   // larger bodies: 413
  size_t max_header_bytes = 8 * 1024;  // header lines, after the request line
  // read_timeout bounds reading one whole request (and the TLS handshake);
  // write_timeout each write; idle_timeout the wait for the next request
  // on a kept-alive connection.
  absl::Duration read_timeout = absl::Seconds(15);
  absl::Duration write_timeout = absl::Seconds(15);
  absl::Duration idle_timeout = absl::Seconds(15);  // keep-alive
  // tls_lifetime is the lifetime of the server's own certificate (at least
  // one minute); it is renewed at 2/3 of it.
  absl::Duration tls_lifetime = absl::Hours(24);
  LogFormat log_format = LogFormat::kText;
  // log_sink receives each log line (no trailing newline); NULL writes to
  // stderr. Called from worker threads, possibly at the same time, never
  // under a server lock.
  std::function<void(absl::string_view line)> log_sink;
  // version is what /version reports.
  std::string version;
};

class CaServer {
 public:
  // Create prepares a server over `authority`, which must outlive it, and
  // issues its first TLS certificate. InvalidArgument for bad options (an
  // unparsable address, a negative or zero limit or timeout,
  // max_header_bytes below 256, tls_lifetime below one minute); the error
  // of IssueServerCertificate if that fails.
  static absl::StatusOr<std::unique_ptr<CaServer>> Create(
      Authority* authority, ServerOptions options);

  CaServer(const CaServer&) = delete;
  CaServer& operator=(const CaServer&) = delete;
  ~CaServer();  // Shutdown() if still running

  // Start binds the address and serves on background threads; it returns
  // once the socket is listening. Unavailable if the address cannot be
  // bound (the server may be started again); FailedPrecondition if already
  // started or shut down.
  absl::Status Start();

  // port is the bound port (after Start), else 0.
  int port() const;

  // Shutdown stops accepting, lets in-flight requests finish (at most
  // `grace`; a request already sent on an accepted connection counts),
  // closes idle connections at once, then cuts what is left and joins the
  // threads. A handler already inside the Authority runs to completion.
  // Stops the certificate timer. Idempotent; a shut-down server cannot be
  // started again.
  void Shutdown(absl::Duration grace = absl::Seconds(10));

  // RotateCertificate issues a new server certificate now and serves it
  // from the next handshake on (the timer does this at 2/3 of the
  // lifetime). On error the current certificate stays.
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

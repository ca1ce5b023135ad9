// The step-ca HTTP API as a pure function: an ApiRequest in (method, path,
// query, headers that matter, body, the TLS client chain), an ApiResponse
// out. No sockets, no TLS, no threads: the HTTPS shell (server.cc) does
// transport, limits, logs and metrics, and the router is tested and fuzzed
// on its own.
//
// Shapes, status codes and error bodies follow STEP-PROTOCOL.md sections
// 1.2-3.8. Every route is served at "/" and under "/1.0/"; HEAD is answered
// as GET without a body. Every error body is JSON {"status":N,"message":...}
// (also for an unknown route, 404, and a wrong method, 405 with an Allow
// header, where step-ca answers plain text); the message tells the client
// what it may know, while ApiResponse::error carries the internal reason for
// the log line. Neither ever holds a token, key or password.
//
// Where mayfly is stricter than step-ca:
// - request bodies are parsed strictly: malformed JSON, trailing data,
//   duplicate members and wrong member types are 400 "error decoding json"
//   (step-ca ignores trailing data and takes the last duplicate); unknown
//   members are ignored, as step-ca does;
// - a POST body must be sent as application/json (415 otherwise); only
//   /renew may come without a Content-Type, as step's Bearer renew does;
// - /renew reads no body, but a non-empty one must be a JSON object;
// - a CSR over 32 KiB or a revocation reason over 1 KiB is refused (400).
//
//   Api api(authority.get(), ApiOptions{"0.1.0"});
//   ApiResponse res = api.Handle(request);

#ifndef MAYFLY_LIB_SERVER_API_H_
#define MAYFLY_LIB_SERVER_API_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"

namespace mayfly {
namespace internal {

struct ApiRequest {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string path;    // without the query, percent-decoded, e.g. "/1.0/sign"
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::string content_type;   // the Content-Type header, or ""
  std::string authorization;  // the Authorization header, or ""
  std::string body;
  // peer_chain is the chain the TLS client presented (leaf first), not yet
  // verified against the CA: the Authority verifies it. Empty without a
  // client certificate.
  std::vector<Certificate> peer_chain;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // route is the matched route template without prefix, for metrics and
  // logs: "/sign", "/root/{sha}", "/provisioners/{kid}/encrypted-key", ...;
  // "unknown" when nothing matched.
  std::string route;
  // error is the internal reason of a failure (for the log), "" on success.
  std::string error;
  // outcome names what a POST did, for metrics; always one of a fixed set
  // (bounded label values), "" for GET routes and unmatched requests:
  // - success: "issued", "renewed", "rekeyed", "revoked";
  // - a refused token (sign, revoke or Bearer renew token): "malformed",
  //   "provisioner" (no such provisioner / issuer), "signature", "audience",
  //   "time" (nbf, iat, exp, lifetime), "replay", "claims" (anything else);
  // - a refused client certificate: "certificate_revoked",
  //   "certificate_expired", "certificate_untrusted" (chain does not
  //   verify), "renewal_disabled", "certificate" (anything else);
  // - "invalid" (400 and 415), "forbidden" (403), "already_revoked",
  //   "unsupported" (501), "conflict" (409), "error" (5xx).
  std::string outcome;
};

struct ApiOptions {
  // version is reported by /version, without a leading "v" (one is
  // stripped), as step-ca reports "0.30.2".
  std::string version;
};

// Api routes requests to an Authority. Thread-safe (the Authority is).
class Api {
 public:
  // `authority` must outlive the Api.
  Api(Authority* authority, ApiOptions options);

  // Handle answers one request. It never fails: every problem is an error
  // response. Refused requests change nothing in the Authority's store.
  ApiResponse Handle(const ApiRequest& request) const;

 private:
  Authority* authority_;
  ApiOptions options_;
};

// ErrorResponse builds step-ca's error body for `status` with `message`
// shown to the client ("" for the status's default text) and `error` kept
// for the log. A non-empty message for 400 or 403 is wrapped as step-ca's
// BadRequest / Forbidden helpers do ("The request could not be completed:
// <message>."); for other statuses it is shown as given. The body ends with
// a newline, as Go's JSON encoder writes it; route and outcome are left
// empty for the caller.
ApiResponse ErrorResponse(int status, absl::string_view message,
                          absl::string_view error);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_SERVER_API_H_

// The step-ca HTTP API as a pure function: an ApiRequest in (method, path,
// query, headers that matter, body, the TLS client chain), an ApiResponse
// out. No sockets, no TLS, no threads: the HTTPS shell (server.cc) does
// transport, limits, logs and metrics, and the router is tested and fuzzed
// on its own.
//
// Shapes, status codes and error bodies follow STEP-PROTOCOL.md sections
// 1.4-3.8. Every error body is JSON {"status":N,"message":"..."}; the
// message tells the client what it may know, while ApiResponse::error
// carries the internal reason for the log line.

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
  // outcome names what happened for metrics: "issued", "renewed",
  // "rekeyed", "revoked", or for a refused token the reason ("replay",
  // "signature", "claims", ...), "" otherwise.
  std::string outcome;
};

struct ApiOptions {
  std::string version;  // reported by /version
};

// Api routes requests to an Authority. Thread-safe (the Authority is).
class Api {
 public:
  Api(Authority* authority, ApiOptions options);

  ApiResponse Handle(const ApiRequest& request) const;

 private:
  Authority* authority_;
  ApiOptions options_;
};

// ErrorResponse builds step-ca's error body for `status` with `message`
// shown to the client ("" for the status's default text) and `error` kept
// for the log.
ApiResponse ErrorResponse(int status, absl::string_view message,
                          absl::string_view error);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_SERVER_API_H_

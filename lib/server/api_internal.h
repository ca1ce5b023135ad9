// Pieces shared by the API router's files (api.cc: routing and the GET
// routes; api_post.cc: sign, renew, rekey, revoke; api_errors.cc: error
// bodies and JSON text). Private to them.

#ifndef MAYFLY_LIB_SERVER_API_INTERNAL_H_
#define MAYFLY_LIB_SERVER_API_INTERNAL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "server/api.h"

namespace mayfly {
namespace internal {

// JsonNumber writes a float64 as Go's encoding/json does for the values
// mayfly emits (shortest round-trip form: 1.2, 1.3, 1).
std::string JsonNumber(double v);

// UnexpectedStatusMessage is step-ca's message for a status it has no text
// of its own for ("The certificate authority received an unexpected HTTP
// status code - '503'. ...").
std::string UnexpectedStatusMessage(int status);

// JsonResponse is a response with `status` and the JSON text `json`
// followed by a newline.
ApiResponse JsonResponse(int status, std::string json);

// HttpStatusFor maps a status code to HTTP (ARCHITECTURE.md): 400, 401,
// 403, 404, 409 (AlreadyExists, Aborted), 501, 503, else 500.
int HttpStatusFor(absl::StatusCode code);

// StatusErrorResponse answers a failed Authority call: the HTTP status of
// the code, step-ca's client message (the status message for 400 and 403,
// the default text otherwise), and error = "<context>: <message>". Any of
// `secrets` (tokens of the request) found in the message is redacted, in
// both texts. The outcome is set by OutcomeFor.
ApiResponse StatusErrorResponse(const absl::Status& status,
                                absl::string_view context,
                                const std::vector<absl::string_view>& secrets);

// OutcomeFor names a refusal for metrics (see ApiResponse::outcome).
std::string OutcomeFor(const absl::Status& status);

// Redact returns `text` with every occurrence of each non-empty secret
// replaced by "[redacted]".
std::string Redact(absl::string_view text,
                   const std::vector<absl::string_view>& secrets);

// The POST routes. Each checks its body, calls the Authority, and fills
// status, body, error and outcome (not route).
ApiResponse HandleSign(Authority& authority, const ApiRequest& request);
ApiResponse HandleRenew(Authority& authority, const ApiRequest& request);
ApiResponse HandleRekey(Authority& authority, const ApiRequest& request);
ApiResponse HandleRevoke(Authority& authority, const ApiRequest& request);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_SERVER_API_INTERNAL_H_

// The request log line of CaServer: one line per answered request, shaped
// like step-ca's (STEP-PROTOCOL.md section 11) so the same log tooling
// reads both. Private to mayfly.
//
// Text (logrus's text formatter without a terminal):
//   time="2026-11-25T11:53:20Z" level=warning duration="82.782µs"
//   duration-ns=82782 error="renew: certificate has been revoked"
//   fields.time="2026-11-25T11:53:20Z" method=POST name=ca path=/renew
//   protocol=HTTP/1.1 referer= remote-address=127.0.0.1 request-id=6f1c...
//   size=144 status=401 user-agent=Go-http-client/1.1 user-id=
// (one line), or the same fields as one JSON object with sorted keys.
//
// Nothing secret is logged: the entry has no body, no Authorization
// header and no token; every value is escaped (quotes, backslashes,
// control characters, invalid UTF-8) and cut at kMaxFieldBytes.

#ifndef MAYFLY_LIB_SERVER_ACCESS_LOG_H_
#define MAYFLY_LIB_SERVER_ACCESS_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/server.h"

namespace mayfly {
namespace internal {

// AccessLogEntry is what one request log line says.
struct AccessLogEntry {
  absl::Time start;  // when the request began ("fields.time")
  absl::Duration duration;
  std::string request_id;
  std::string method;
  std::string path;  // the request target, query included, as sent
  std::string protocol;
  std::string remote_address;  // host only
  std::string user_agent;
  std::string referer;
  int status = 0;
  uint64_t size = 0;  // body bytes written
  std::string error;  // the internal reason of a failure, or ""
};

inline constexpr size_t kMaxFieldBytes = 1024;

// LevelForStatus is "error" for 5xx, "warning" for 4xx, else "info".
absl::string_view LevelForStatus(int status);

// FormatAccessLog renders `entry` as one line (no newline) logged at `now`.
std::string FormatAccessLog(const AccessLogEntry& entry, LogFormat format,
                            absl::Time now);

// FormatEventLog renders a line that is not about a request (say, a failed
// renewal of the server's certificate): time, level, msg and, if not empty,
// error.
std::string FormatEventLog(absl::string_view level, absl::string_view message,
                           absl::string_view error, LogFormat format,
                           absl::Time now);

// GoDuration formats `d` as Go's time.Duration.String does ("82.782µs",
// "1.5s", "2h0m0s", "0s").
std::string GoDuration(absl::Duration d);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_SERVER_ACCESS_LOG_H_

// Error bodies and JSON text for the API router: step-ca's messages
// (errs/error.go), the Status -> HTTP mapping, outcome labels, and a JSON
// string writer that matches Go's encoding/json byte for byte.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace mayfly {
namespace internal {
namespace {

constexpr char kSeeLogs[] =
    "Please see the certificate authority logs for more info.";

// DefaultMessage is step-ca's text for an error without a user message
// (errs/error.go).
std::string DefaultMessage(int status) {
  switch (status) {
    case 400:
      return absl::StrCat(
          "The request could not be completed; malformed or missing data. ",
          kSeeLogs);
    case 401:
      return absl::StrCat(
          "The request lacked necessary authorization to be completed. ",
          kSeeLogs);
    case 403:
      return absl::StrCat(
          "The request was forbidden by the certificate authority. ", kSeeLogs);
    case 404:
      return absl::StrCat("The requested resource could not be found. ",
                          kSeeLogs);
    case 500:
      return absl::StrCat(
          "The certificate authority encountered an Internal Server Error. ",
          kSeeLogs);
    case 501:
      return absl::StrCat(
          "The requested method is not implemented by the certificate "
          "authority. ",
          kSeeLogs);
    default:
      return UnexpectedStatusMessage(status);
  }
}

}  // namespace

std::string UnexpectedStatusMessage(int status) {
  return absl::StrCat(
      "The certificate authority received an unexpected HTTP status code - '",
      status, "'. ", kSeeLogs);
}

std::string JsonNumber(double v) {
  // The shortest text that reads back as `v` (Go's 'f', -1 format for the
  // small numbers written here). Fast path, for the few decimals that TLS
  // versions and the like have: m / 10^k is correctly rounded, so when it
  // equals `v`, reading "m with k decimals" back gives `v` too.
  double scale = 1;
  for (int decimals = 0; decimals <= 6; decimals++, scale *= 10) {
    const double m = std::nearbyint(v * scale);
    if (std::fabs(m) >= 9007199254740992.0) {  // 2^53: no longer exact
      break;
    }
    if (m / scale != v) {
      continue;
    }
    const int64_t units = static_cast<int64_t>(m);
    const int64_t whole = static_cast<int64_t>(scale);
    const uint64_t magnitude =
        static_cast<uint64_t>(units < 0 ? -units : units);
    std::string out = units < 0 ? "-" : "";
    absl::StrAppend(&out, magnitude / static_cast<uint64_t>(whole));
    if (decimals > 0) {
      std::string fraction =
          absl::StrCat(magnitude % static_cast<uint64_t>(whole));
      out.push_back('.');
      out.append(static_cast<size_t>(decimals) - fraction.size(), '0');
      out += fraction;
    }
    return out;
  }
  char buf[32];
  for (int precision = 1; precision <= 17; precision++) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) {
      break;
    }
  }
  return buf;
}

ApiResponse JsonResponse(int status, std::string json) {
  ApiResponse res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(json);
  res.body.push_back('\n');
  return res;
}

ApiResponse ErrorResponse(int status, absl::string_view message,
                          absl::string_view error) {
  std::string text;
  if (message.empty()) {
    text = DefaultMessage(status);
  } else if (status == 400) {
    text = absl::StrCat("The request could not be completed: ", message, ".");
  } else if (status == 403) {
    text = absl::StrCat(
        "The request was forbidden by the certificate authority: ", message,
        ".");
  } else {
    text = std::string(message);
  }
  std::string json = absl::StrCat("{\"status\":", status, ",\"message\":");
  AppendJsonString(&json, text);
  json.push_back('}');
  ApiResponse res = JsonResponse(status, std::move(json));
  res.error = std::string(error);
  return res;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string Redact(absl::string_view text,
                   const std::vector<absl::string_view>& secrets) {
  std::string out(text);
  for (absl::string_view secret : secrets) {
    if (secret.empty()) {
      continue;
    }
    size_t at = 0;
    while ((at = out.find(secret.data(), at, secret.size())) !=
           std::string::npos) {
      out.replace(at, secret.size(), "[redacted]");
      at += 10;
    }
  }
  return out;
}

ApiResponse StatusErrorResponse(const absl::Status& status,
                                absl::string_view context,
                                const std::vector<absl::string_view>& secrets) {
  const int http = HttpStatusFor(status.code());
  std::string message = Redact(status.message(), secrets);
  // Only 400 and 403 carry a message of their own, as in step-ca; a 401
  // says no more than that the request was not authorised.
  absl::string_view shown =
      (http == 400 || http == 403) ? absl::string_view(message) : "";
  ApiResponse res =
      ErrorResponse(http, shown, absl::StrCat(context, ": ", message));
  res.outcome = OutcomeFor(status);
  return res;
}

std::string OutcomeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "";
    case absl::StatusCode::kInvalidArgument:
      return "invalid";
    case absl::StatusCode::kPermissionDenied:
      return "forbidden";
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return "conflict";
    case absl::StatusCode::kUnimplemented:
      return "unsupported";
    case absl::StatusCode::kUnauthenticated:
      break;
    default:
      return "error";
  }
  // The Authority's refusals say which check failed; group them into a few
  // labels (their texts: lib/token.cc, lib/authority_renew.cc,
  // lib/chain.cc). Certificate reasons first: "certificate expired" is not
  // a token time.
  const std::string m = absl::AsciiStrToLower(status.message());
  auto has = [&m](absl::string_view part) {
    return absl::StrContains(m, part);
  };
  // A token that did not parse (or is over the size cap): its text may
  // quote parts of it, so this comes before any word match.
  if (absl::StartsWith(m, "token is malformed") ||
      (absl::StartsWith(m, "token is ") && has(" bytes; max "))) {
    return "malformed";
  }
  if (has("already used")) {
    return "replay";
  }
  if (absl::StartsWith(m, "certificate has been revoked")) {
    return "certificate_revoked";
  }
  if (absl::StartsWith(m, "certificate expired")) {
    return "certificate_expired";
  }
  if (absl::StartsWith(m, "certificate chain does not verify")) {
    return "certificate_untrusted";
  }
  if (has("disables renewal")) {
    return "renewal_disabled";
  }
  if (absl::StartsWith(m, "certificate")) {
    return "certificate";
  }
  if (has("signature") || has("does not fit")) {
    return "signature";
  }
  if (has("malformed") || absl::StartsWith(m, "missing") ||
      absl::StartsWith(m, "renew token: ") || has("x5cinsecure") ||
      has("chain has") || absl::StartsWith(m, "renew token claims")) {
    return "malformed";
  }
  if (has("provisioner") || has("no kid") || has("has no iss") ||
      has("issuer")) {
    return "provisioner";
  }
  if (has("audience") || has("has no aud")) {
    return "audience";
  }
  if (has("expired") || has("not valid") || has("nbf") || has("iat") ||
      has("exp") || has("lives") || has("issued") || has("future")) {
    return "time";
  }
  return "claims";
}

}  // namespace internal
}  // namespace mayfly

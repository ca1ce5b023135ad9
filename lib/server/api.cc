// The API router: route matching at "/" and "/1.0/", and the GET routes.
// The POST routes live in api_post.cc, error bodies and JSON text in
// api_errors.cc.

#include "server/api.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "mayfly/authority.h"
#include "mayfly/provisioner.h"
#include "openssl/mem.h"
#include "server/api_internal.h"

namespace mayfly {
namespace internal {
namespace {

constexpr char kPemContentType[] = "application/x-pem-file";

// step-ca's page size for /provisioners (STEP-PROTOCOL.md section 3.3).
constexpr int64_t kDefaultProvisionersLimit = 20;
constexpr int64_t kMaxProvisionersLimit = 100;

// Longest request path repeated in a log line.
constexpr size_t kMaxLoggedPath = 256;

// GoQuote quotes `s` roughly as Go's %q does for the ASCII text it is used
// on here; other bytes are written as \xNN.
std::string GoQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto b = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (b >= 0x20 && b < 0x7f) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", b);
    }
  }
  out.push_back('"');
  return out;
}

std::string LoggedPath(absl::string_view path) {
  if (path.size() <= kMaxLoggedPath) {
    return std::string(path);
  }
  return absl::StrCat(path.substr(0, kMaxLoggedPath), "...");
}

ApiResponse PemResponse(const std::vector<Certificate>& certs) {
  ApiResponse res;
  res.status = 200;
  res.content_type = kPemContentType;
  for (const Certificate& cert : certs) {
    res.body += cert.ToPem();
  }
  return res;
}

// CertListResponse is {"crts":[PEM, ...]} with 201, as step-ca answers
// /roots, /intermediates and /federation.
ApiResponse CertListResponse(const std::vector<Certificate>& certs) {
  std::string json = "{\"crts\":[";
  for (size_t i = 0; i < certs.size(); i++) {
    if (i > 0) {
      json.push_back(',');
    }
    AppendJsonString(&json, certs[i].ToPem());
  }
  json += "]}";
  return JsonResponse(201, std::move(json));
}

// ParseGoInt reads `text` as Go's strconv.Atoi does: an optional sign and
// decimal digits that fit in 64 bits.
std::optional<int64_t> ParseGoInt(absl::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (limit - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  if (negative) {
    return value == (uint64_t{1} << 63) ? INT64_MIN
                                        : -static_cast<int64_t>(value);
  }
  return static_cast<int64_t>(value);
}

// QueryValue returns the first value of `key` (Go's url.Values.Get), or
// nullopt if the key is absent.
std::optional<std::string> QueryValue(const ApiRequest& request,
                                      absl::string_view key) {
  for (const auto& [k, v] : request.query) {
    if (k == key) {
      return v;
    }
  }
  return std::nullopt;
}

// ProvisionerUid is step-ca's sort key of the provisioner at `index`: the
// hex SHA-1 of its id ("<name>:<kid>") whose first four bytes are replaced
// by the big-endian index, so that the keys sort in configuration order and
// a cursor stays meaningful between requests.
std::string ProvisionerUid(const Provisioner& p, size_t index) {
  std::vector<uint8_t> sum = Sha1(Bytes(absl::StrCat(p.name, ":", p.kid)));
  const auto i = static_cast<uint32_t>(index);
  sum[0] = static_cast<uint8_t>(i >> 24);
  sum[1] = static_cast<uint8_t>(i >> 16);
  sum[2] = static_cast<uint8_t>(i >> 8);
  sum[3] = static_cast<uint8_t>(i);
  return Hex(sum);
}

// The routes, as templates without the "/1.0" prefix.
enum class RouteId {
  kHealth,
  kVersion,
  kRoot,
  kRoots,
  kRootsPem,
  kIntermediates,
  kIntermediatesPem,
  kFederation,
  kProvisioners,
  kProvisionerKey,
  kCrl,
  kSign,
  kRenew,
  kReSign,
  kRekey,
  kRevoke,
};

struct Route {
  RouteId id;
  const char* path;  // template
  bool post;         // POST only; otherwise GET and HEAD
};

constexpr Route kRoutes[] = {
    {RouteId::kHealth, "/health", false},
    {RouteId::kVersion, "/version", false},
    {RouteId::kRoot, "/root/{sha}", false},
    {RouteId::kRoots, "/roots", false},
    {RouteId::kRootsPem, "/roots.pem", false},
    {RouteId::kIntermediates, "/intermediates", false},
    {RouteId::kIntermediatesPem, "/intermediates.pem", false},
    {RouteId::kFederation, "/federation", false},
    {RouteId::kProvisioners, "/provisioners", false},
    {RouteId::kProvisionerKey, "/provisioners/{kid}/encrypted-key", false},
    {RouteId::kCrl, "/crl", false},
    {RouteId::kSign, "/sign", true},
    {RouteId::kRenew, "/renew", true},
    {RouteId::kReSign, "/re-sign", true},
    {RouteId::kRekey, "/rekey", true},
    {RouteId::kRevoke, "/revoke", true},
};

// MatchSegment matches `path` against a template with one "{param}"
// segment, which must be non-empty and hold no '/' (as chi's).
bool MatchTemplate(absl::string_view tmpl, absl::string_view path,
                   std::string* param) {
  size_t open = tmpl.find('{');
  if (open == absl::string_view::npos) {
    return tmpl == path;
  }
  size_t close = tmpl.find('}', open);
  absl::string_view prefix = tmpl.substr(0, open);
  absl::string_view suffix = tmpl.substr(close + 1);
  if (path.size() <= prefix.size() + suffix.size() ||
      !absl::StartsWith(path, prefix) || !absl::EndsWith(path, suffix)) {
    return false;
  }
  absl::string_view value =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (value.find('/') != absl::string_view::npos) {
    return false;
  }
  *param = std::string(value);
  return true;
}

const Route* MatchRoute(absl::string_view path, std::string* param) {
  // The "/1.0/" mount serves the same routes.
  if (absl::StartsWith(path, "/1.0/")) {
    path.remove_prefix(4);
  }
  for (const Route& route : kRoutes) {
    if (MatchTemplate(route.path, path, param)) {
      return &route;
    }
  }
  return nullptr;
}

}  // namespace

Api::Api(Authority* authority, ApiOptions options)
    : authority_(authority), options_(std::move(options)) {
  if (absl::StartsWith(options_.version, "v")) {
    options_.version.erase(0, 1);
  }
}

namespace {

ApiResponse Health() { return JsonResponse(200, "{\"status\":\"ok\"}"); }

ApiResponse Version(const ApiOptions& options) {
  return JsonResponse(
      200, absl::StrCat("{\"version\":", JsonString(options.version), "}"));
}

// Root answers /root/{sha}: the root (of this CA) whose SHA-256 is `sha`,
// compared in lower case with '-' removed, as step-ca does.
ApiResponse Root(const Authority& authority, absl::string_view sha) {
  std::string sum;
  for (char c : sha) {
    if (c != '-') {
      sum.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  for (const auto* list : {&authority.roots(), &authority.federated_roots()}) {
    for (const Certificate& root : *list) {
      // Fingerprints are public, but like every fingerprint comparison in
      // mayfly this one does not tell how close a guess came.
      const std::string fingerprint = root.FingerprintHex();
      if (fingerprint.size() == sum.size() &&
          CRYPTO_memcmp(fingerprint.data(), sum.data(), sum.size()) == 0) {
        return JsonResponse(
            200, absl::StrCat("{\"ca\":", JsonString(root.ToPem()), "}"));
      }
    }
  }
  return ErrorResponse(
      404,
      absl::StrCat("root certificate with fingerprint ", GoQuote(sum),
                   " was not found"),
      absl::StrCat("root: no root has fingerprint ", GoQuote(sum)));
}

// Provisioners answers /provisioners?cursor=&limit= with step-ca's paging
// (STEP-PROTOCOL.md section 3.3).
ApiResponse Provisioners(const Authority& authority,
                         const ApiRequest& request) {
  int64_t limit = 0;
  std::optional<std::string> limit_text = QueryValue(request, "limit");
  if (limit_text.has_value() && !limit_text->empty()) {
    std::optional<int64_t> parsed = ParseGoInt(*limit_text);
    if (!parsed.has_value()) {
      std::string shown = limit_text->substr(0, 64);
      return ErrorResponse(
          400, absl::StrCat("limit '", shown, "' is not an integer"),
          absl::StrCat("provisioners: limit '", shown, "' is not an integer"));
    }
    limit = *parsed;
  }
  if (limit <= 0) {
    limit = kDefaultProvisionersLimit;
  } else if (limit > kMaxProvisionersLimit) {
    limit = kMaxProvisionersLimit;
  }
  std::string cursor = QueryValue(request, "cursor").value_or("");
  if (cursor.size() < 40) {
    cursor.insert(0, 40 - cursor.size(), '0');
  }

  std::vector<Provisioner> all = authority.Provisioners();
  size_t i = 0;
  while (i < all.size() && ProvisionerUid(all[i], i) < cursor) {
    i++;
  }
  std::string json = "{\"provisioners\":[";
  for (int64_t n = 0; i < all.size() && n < limit; i++, n++) {
    if (n > 0) {
      json.push_back(',');
    }
    json += all[i].ToJson();
  }
  std::string next;
  if (i < all.size()) {
    next = ProvisionerUid(all[i], i);
    next.erase(0, next.find_first_not_of('0'));
  }
  absl::StrAppend(&json, "],\"nextCursor\":", JsonString(next), "}");
  return JsonResponse(200, std::move(json));
}

ApiResponse ProvisionerKey(const Authority& authority, absl::string_view kid) {
  for (const Provisioner& p : authority.Provisioners()) {
    if (p.kid == kid && !p.encrypted_key.empty()) {
      return JsonResponse(
          200, absl::StrCat("{\"key\":", JsonString(p.encrypted_key), "}"));
    }
  }
  return ErrorResponse(
      404, "",
      absl::StrCat("provisioner key: no provisioner with kid ",
                   GoQuote(kid.substr(0, 128)), " has an encrypted key"));
}

// Crl answers /crl: DER, or PEM with a "pem" query key; 404 when CRLs are
// disabled, with the text step-ca's unmapped 404 carries.
ApiResponse CrlRoute(Authority& authority, const ApiRequest& request) {
  if (!authority.config().crl.enabled) {
    return ErrorResponse(404, UnexpectedStatusMessage(404),
                         "crl: certificate revocation lists are not enabled");
  }
  absl::StatusOr<Crl> crl = authority.GetCrl();
  if (!crl.ok()) {
    return StatusErrorResponse(crl.status(), "crl", {});
  }
  ApiResponse res;
  res.status = 200;
  const bool pem = QueryValue(request, "pem").has_value();
  if (pem) {
    res.content_type = kPemContentType;
    res.body = crl->ToPem();
  } else {
    res.content_type = "application/pkix-crl";
    res.body.assign(crl->der.begin(), crl->der.end());
  }
  res.headers.emplace_back(
      "Content-Disposition",
      absl::StrCat("attachment; filename=\"crl.", pem ? "pem" : "crl", "\""));
  // An HTTP-date (RFC 7231 IMF-fixdate); step-ca writes Go's RFC 1123
  // layout, the same but for "UTC" in place of "GMT".
  res.headers.emplace_back(
      "Expires", absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", crl->next_update,
                                  absl::UTCTimeZone()));
  return res;
}

}  // namespace

namespace {

ApiResponse Dispatch(Authority& ca, const ApiOptions& options,
                     const ApiRequest& request) {
  std::string param;
  const Route* route = MatchRoute(request.path, &param);
  if (route == nullptr) {
    ApiResponse res = ErrorResponse(
        404, "", absl::StrCat("no route for ", LoggedPath(request.path)));
    res.route = "unknown";
    return res;
  }
  const bool allowed =
      route->post ? request.method == "POST"
                  : (request.method == "GET" || request.method == "HEAD");
  if (!allowed) {
    ApiResponse res = ErrorResponse(
        405, "The request method is not allowed for this resource.",
        absl::StrCat("method ", GoQuote(request.method.substr(0, 16)),
                     " is not allowed for ", route->path));
    res.headers.emplace_back("Allow", route->post ? "POST" : "GET, HEAD");
    res.route = route->path;
    return res;
  }

  ApiResponse res;
  switch (route->id) {
    case RouteId::kHealth:
      res = Health();
      break;
    case RouteId::kVersion:
      res = Version(options);
      break;
    case RouteId::kRoot:
      res = Root(ca, param);
      break;
    case RouteId::kRoots:
      res = CertListResponse(ca.roots());
      break;
    case RouteId::kRootsPem:
      res = PemResponse(ca.roots());
      break;
    // An authority always has an intermediate, so step-ca's 501 for "no
    // intermediates" cannot happen here.
    case RouteId::kIntermediates:
      res = CertListResponse(ca.ca_chain());
      break;
    case RouteId::kIntermediatesPem:
      res = PemResponse(ca.ca_chain());
      break;
    case RouteId::kFederation: {
      std::vector<Certificate> all = ca.roots();
      all.insert(all.end(), ca.federated_roots().begin(),
                 ca.federated_roots().end());
      res = CertListResponse(all);
      break;
    }
    case RouteId::kProvisioners:
      res = Provisioners(ca, request);
      break;
    case RouteId::kProvisionerKey:
      res = ProvisionerKey(ca, param);
      break;
    case RouteId::kCrl:
      res = CrlRoute(ca, request);
      break;
    case RouteId::kSign:
      res = HandleSign(ca, request);
      break;
    case RouteId::kRenew:
    case RouteId::kReSign:
      res = HandleRenew(ca, request);
      break;
    case RouteId::kRekey:
      res = HandleRekey(ca, request);
      break;
    case RouteId::kRevoke:
      res = HandleRevoke(ca, request);
      break;
  }
  res.route = route->path;
  return res;
}

}  // namespace

ApiResponse Api::Handle(const ApiRequest& request) const {
  ApiResponse res = Dispatch(*authority_, options_, request);
  // HEAD is GET without the body (chi's GetHead); headers stay.
  if (request.method == "HEAD") {
    res.body.clear();
  }
  return res;
}

}  // namespace internal
}  // namespace mayfly

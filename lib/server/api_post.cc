// The POST routes of the API router: /sign, /renew (and /re-sign), /rekey
// and /revoke (STEP-PROTOCOL.md sections 3.4-3.7). Each checks the request
// in step-ca's order with step-ca's messages, then lets the Authority
// decide; everything the Authority refuses changes nothing.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/config.h"
#include "mayfly/status.h"
#include "rapidjson/document.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace mayfly {
namespace internal {
namespace {

// A request body is capped by the HTTP shell; this bounds what the JSON
// parser accepts even if that cap is raised.
constexpr size_t kMaxBodyBytes = 1024 * 1024;
// A PEM CSR for the largest key mayfly accepts (RSA 8192) is about 4 KiB.
constexpr size_t kMaxCsrPemBytes = 32 * 1024;
// The revocation reason is stored with the revocation.
constexpr size_t kMaxReasonBytes = 1024;

constexpr char kDecodeError[] = "error decoding json";

// JsonContentType reports whether `content_type` names JSON: the media
// type application/json (any case) with, if given, charset utf-8.
bool JsonContentType(absl::string_view content_type) {
  std::vector<absl::string_view> parts = absl::StrSplit(content_type, ';');
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts[0]),
                              "application/json")) {
    return false;
  }
  for (size_t i = 1; i < parts.size(); i++) {
    absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(param, absl::MaxSplits('=', 1));
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(kv.first),
                                "charset")) {
      continue;
    }
    absl::string_view value = absl::StripAsciiWhitespace(kv.second);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!absl::EqualsIgnoreCase(value, "utf-8")) {
      return false;
    }
  }
  return true;
}

// CheckContentType returns a 415 response unless the request's body is
// declared as JSON (or, if `allow_absent`, not declared at all).
std::optional<ApiResponse> CheckContentType(const ApiRequest& request,
                                            bool allow_absent,
                                            absl::string_view context) {
  if (request.content_type.empty() && allow_absent) {
    return std::nullopt;
  }
  if (JsonContentType(request.content_type)) {
    return std::nullopt;
  }
  ApiResponse res = ErrorResponse(
      415, "The request body must be sent as application/json.",
      request.content_type.empty()
          ? absl::StrCat(context, ": request has no content type")
          : absl::StrCat(context, ": content type ",
                         JsonString(request.content_type.substr(0, 100)),
                         " is not application/json"));
  res.outcome = "invalid";
  return res;
}

ApiResponse BadRequest(absl::string_view message, absl::string_view context,
                       absl::string_view detail) {
  ApiResponse res =
      ErrorResponse(400, message,
                    detail.empty() ? absl::StrCat(context, ": ", message)
                                   : absl::StrCat(context, ": ", detail));
  res.outcome = "invalid";
  return res;
}

// Body is a request body as a JSON object, read member by member. Absent
// members and JSON null read as unset, as Go's decoder leaves a field it
// sees null for; a member of the wrong type is an error.
class Body {
 public:
  static absl::StatusOr<Body> Parse(absl::string_view text) {
    JsonLimits limits;
    limits.max_bytes = kMaxBodyBytes;
    MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                            ParseJsonObject(text, "request body", limits));
    return Body(std::move(doc));
  }

  absl::StatusOr<std::string> String(const char* name) const {
    const rapidjson::Value* v = Find(name);
    if (v == nullptr) {
      return std::string();
    }
    if (!v->IsString()) {
      return TypeError(name, "a string");
    }
    return std::string(v->GetString(), v->GetStringLength());
  }

  // Int reads an integer literal that fits in 64 bits (Go's int): "1.0"
  // and "1e1" are not integers to Go's decoder either.
  absl::StatusOr<int64_t> Int(const char* name) const {
    const rapidjson::Value* v = Find(name);
    if (v == nullptr) {
      return 0;
    }
    if (!v->IsInt64()) {
      return TypeError(name, "an integer");
    }
    return v->GetInt64();
  }

  absl::StatusOr<bool> Bool(const char* name) const {
    const rapidjson::Value* v = Find(name);
    if (v == nullptr) {
      return false;
    }
    if (!v->IsBool()) {
      return TypeError(name, "a boolean");
    }
    return v->GetBool();
  }

 private:
  explicit Body(rapidjson::Document doc) : doc_(std::move(doc)) {}

  const rapidjson::Value* Find(const char* name) const {
    auto it = doc_.FindMember(name);
    if (it == doc_.MemberEnd() || it->value.IsNull()) {
      return nullptr;
    }
    return &it->value;
  }

  static absl::Status TypeError(const char* name, absl::string_view want) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body member \"", name, "\" is not ", want));
  }

  rapidjson::Document doc_;
};

// ReadBody reads the body and the members `read` asks for; any failure is
// step-ca's "error decoding json".
template <typename ReadFn>
std::optional<ApiResponse> ReadBody(const ApiRequest& request,
                                    absl::string_view context, ReadFn read) {
  absl::StatusOr<Body> body = Body::Parse(request.body);
  absl::Status status = body.ok() ? read(*body) : body.status();
  if (status.ok()) {
    return std::nullopt;
  }
  return BadRequest(kDecodeError, context, status.message());
}

// ParseCsr reads the "csr" member's PEM, with step-ca's messages.
absl::StatusOr<CertificateRequest> ParseCsr(absl::string_view pem,
                                            std::string* message) {
  if (pem.empty()) {
    *message = "missing csr";
    return absl::InvalidArgumentError("missing csr");
  }
  *message = "invalid csr";
  if (pem.size() > kMaxCsrPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid csr: ", pem.size(), " bytes; max ", kMaxCsrPemBytes));
  }
  absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromPem(pem);
  if (!csr.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid csr: ", csr.status().message()));
  }
  return csr;
}

// IssuedResponse is the sign response (STEP-PROTOCOL.md section 3.4), key
// order crt, ca, certChain, tlsOptions; status 201.
ApiResponse IssuedResponse(const IssuedCertificate& issued,
                           const TlsConfig& tls, absl::string_view outcome) {
  // Each certificate is encoded and escaped once, though the leaf and the
  // intermediate both appear twice.
  std::vector<std::string> pems;
  if (issued.chain.empty()) {
    pems.push_back(JsonString(issued.leaf.ToPem()));
  }
  for (const Certificate& cert : issued.chain) {
    pems.push_back(JsonString(cert.ToPem()));
  }
  std::string json = "{\"crt\":";
  json += pems[0];
  json += ",\"ca\":";
  json += pems.size() > 1 ? pems[1] : "null";
  json += ",\"certChain\":[";
  for (size_t i = 0; i < pems.size(); i++) {
    if (i > 0) {
      json.push_back(',');
    }
    json += pems[i];
  }
  json += "],\"tlsOptions\":{\"cipherSuites\":[";
  for (size_t i = 0; i < tls.cipher_suites.size(); i++) {
    if (i > 0) {
      json.push_back(',');
    }
    AppendJsonString(&json, tls.cipher_suites[i]);
  }
  absl::StrAppend(&json, "],\"minVersion\":", JsonNumber(tls.min_version),
                  ",\"maxVersion\":", JsonNumber(tls.max_version),
                  ",\"renegotiation\":", tls.renegotiation ? "true" : "false",
                  "}}");
  ApiResponse res = JsonResponse(201, std::move(json));
  res.outcome = std::string(outcome);
  return res;
}

// AuthorityError answers a refused Sign or Rekey: step-ca shows an invalid
// CSR as "invalid csr" without the parser's detail.
ApiResponse AuthorityError(const absl::Status& status,
                           absl::string_view context,
                           const std::vector<absl::string_view>& secrets) {
  if (absl::IsInvalidArgument(status) &&
      absl::StartsWith(status.message(), "invalid csr")) {
    return BadRequest("invalid csr", context,
                      Redact(status.message(), secrets));
  }
  return StatusErrorResponse(status, context, secrets);
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (scheme in any case, RFC 7235), or nullopt for any other header.
std::optional<absl::string_view> BearerToken(absl::string_view header) {
  constexpr absl::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme) ||
      header[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  return absl::StripAsciiWhitespace(header.substr(kScheme.size() + 1));
}

}  // namespace

ApiResponse HandleSign(Authority& authority, const ApiRequest& request) {
  constexpr absl::string_view kContext = "sign";
  if (auto refused = CheckContentType(request, false, kContext)) {
    return *refused;
  }
  std::string csr_pem, ott;
  SignOptions options;
  // templateData is accepted and unused: mayfly has no certificate
  // templates, and step-ca ignores it without one.
  if (auto refused =
          ReadBody(request, kContext, [&](const Body& body) -> absl::Status {
            MAYFLY_ASSIGN_OR_RETURN(csr_pem, body.String("csr"));
            MAYFLY_ASSIGN_OR_RETURN(ott, body.String("ott"));
            MAYFLY_ASSIGN_OR_RETURN(options.not_before,
                                    body.String("notBefore"));
            MAYFLY_ASSIGN_OR_RETURN(options.not_after, body.String("notAfter"));
            return absl::OkStatus();
          })) {
    return *refused;
  }
  const std::vector<absl::string_view> secrets = {ott};
  std::string message;
  absl::StatusOr<CertificateRequest> csr = ParseCsr(csr_pem, &message);
  if (!csr.ok()) {
    return BadRequest(message, kContext, csr.status().message());
  }
  // The Authority checks, in step-ca's order, the CSR signature ("invalid
  // csr") and then that there is a token ("missing ott").
  absl::StatusOr<IssuedCertificate> issued = authority.Sign(*csr, ott, options);
  if (!issued.ok()) {
    return AuthorityError(issued.status(), kContext, secrets);
  }
  return IssuedResponse(*issued, authority.config().tls, "issued");
}

ApiResponse HandleRenew(Authority& authority, const ApiRequest& request) {
  constexpr absl::string_view kContext = "renew";
  // step's mTLS renew sends application/json with no body, its Bearer
  // renew no Content-Type at all.
  if (auto refused = CheckContentType(request, true, kContext)) {
    return *refused;
  }
  if (!absl::StripAsciiWhitespace(request.body).empty()) {
    if (request.content_type.empty()) {
      ApiResponse res = ErrorResponse(
          415, "The request body must be sent as application/json.",
          "renew: request has a body but no content type");
      res.outcome = "invalid";
      return res;
    }
    // A body carries nothing /renew uses, but must still be well formed.
    if (auto refused = ReadBody(request, kContext,
                                [](const Body&) { return absl::OkStatus(); })) {
      return *refused;
    }
  }
  // A client certificate wins over an Authorization header, as in step-ca.
  if (!request.peer_chain.empty()) {
    absl::StatusOr<IssuedCertificate> issued =
        authority.Renew(request.peer_chain);
    if (!issued.ok()) {
      return StatusErrorResponse(issued.status(), kContext, {});
    }
    return IssuedResponse(*issued, authority.config().tls, "renewed");
  }
  std::optional<absl::string_view> token = BearerToken(request.authorization);
  if (!token.has_value()) {
    return BadRequest("missing client certificate", kContext, "");
  }
  const std::vector<absl::string_view> secrets = {*token};
  absl::StatusOr<IssuedCertificate> issued = authority.RenewWithToken(*token);
  if (!issued.ok()) {
    return StatusErrorResponse(issued.status(), kContext, secrets);
  }
  return IssuedResponse(*issued, authority.config().tls, "renewed");
}

ApiResponse HandleRekey(Authority& authority, const ApiRequest& request) {
  constexpr absl::string_view kContext = "rekey";
  if (auto refused = CheckContentType(request, false, kContext)) {
    return *refused;
  }
  // step-ca looks for the client certificate before reading the body.
  if (request.peer_chain.empty()) {
    return BadRequest("missing client certificate", kContext, "");
  }
  std::string csr_pem;
  if (auto refused =
          ReadBody(request, kContext, [&](const Body& body) -> absl::Status {
            MAYFLY_ASSIGN_OR_RETURN(csr_pem, body.String("csr"));
            return absl::OkStatus();
          })) {
    return *refused;
  }
  std::string message;
  absl::StatusOr<CertificateRequest> csr = ParseCsr(csr_pem, &message);
  if (!csr.ok()) {
    return BadRequest(message, kContext, csr.status().message());
  }
  absl::StatusOr<IssuedCertificate> issued =
      authority.Rekey(request.peer_chain, *csr);
  if (!issued.ok()) {
    return AuthorityError(issued.status(), kContext, {});
  }
  return IssuedResponse(*issued, authority.config().tls, "rekeyed");
}

ApiResponse HandleRevoke(Authority& authority, const ApiRequest& request) {
  constexpr absl::string_view kContext = "revoke";
  if (auto refused = CheckContentType(request, false, kContext)) {
    return *refused;
  }
  RevokeRequest revoke;
  std::string ott;
  int64_t reason_code = 0;
  bool passive = false;
  if (auto refused =
          ReadBody(request, kContext, [&](const Body& body) -> absl::Status {
            MAYFLY_ASSIGN_OR_RETURN(revoke.serial, body.String("serial"));
            MAYFLY_ASSIGN_OR_RETURN(ott, body.String("ott"));
            MAYFLY_ASSIGN_OR_RETURN(reason_code, body.Int("reasonCode"));
            MAYFLY_ASSIGN_OR_RETURN(revoke.reason, body.String("reason"));
            MAYFLY_ASSIGN_OR_RETURN(passive, body.Bool("passive"));
            return absl::OkStatus();
          })) {
    return *refused;
  }
  const std::vector<absl::string_view> secrets = {ott};
  // step-ca's checks, in its order; the Authority checks the serial's
  // syntax.
  if (revoke.serial.empty()) {
    return BadRequest("missing serial", kContext, "");
  }
  if (reason_code < 0 || reason_code > 10) {
    return BadRequest(
        "reasonCode out of bounds", kContext,
        absl::StrCat("reasonCode ", reason_code, " is out of bounds 0..10"));
  }
  if (revoke.reason.size() > kMaxReasonBytes) {
    return BadRequest("reason is too long", kContext,
                      absl::StrCat("reason is ", revoke.reason.size(),
                                   " bytes; max ", kMaxReasonBytes));
  }
  if (!passive) {
    ApiResponse res = ErrorResponse(
        501, "", "revoke: non-passive revocation is not implemented");
    res.outcome = "unsupported";
    return res;
  }
  revoke.reason_code = static_cast<int>(reason_code);
  revoke.passive = true;
  // A token wins over a client certificate, as in step-ca.
  if (!ott.empty()) {
    revoke.ott = ott;
  } else if (!request.peer_chain.empty()) {
    revoke.peer_chain = request.peer_chain;
  } else {
    return BadRequest("missing ott or client certificate", kContext, "");
  }
  absl::Status revoked = authority.Revoke(revoke);
  if (absl::IsAlreadyExists(revoked)) {
    // step-ca answers a second revocation with 400 (STEP-PROTOCOL.md 3.7).
    ApiResponse res =
        BadRequest(revoked.message(), kContext, revoked.message());
    res.outcome = "already_revoked";
    return res;
  }
  if (!revoked.ok()) {
    return StatusErrorResponse(revoked, kContext, secrets);
  }
  ApiResponse res = JsonResponse(200, "{\"status\":\"ok\"}");
  res.outcome = "revoked";
  return res;
}

}  // namespace internal
}  // namespace mayfly

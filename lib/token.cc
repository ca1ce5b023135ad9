// One-time tokens: minting as `step ca token` does (STEP-PROTOCOL.md 4.1,
// 4.5, 4.6) and validation in the strict order token.h documents.

#include "mayfly/token.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/jose.h"
#include "mayfly/status.h"
#include "openssl/mem.h"
#include "openssl/rand.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace mayfly {
namespace {

// step's bounds on a token's validity (`step ca token --not-after`).
constexpr absl::Duration kMinTokenLifetime = absl::Seconds(10);
constexpr absl::Duration kMaxTokenLifetime = absl::Hours(1);

// A jti longer than this is not something step made; the bound also caps
// what the store must hold per used token.
constexpr size_t kMaxJtiBytes = 256;

// step-ca's legacy audience, accepted for X.509 signing (STEP-PROTOCOL.md
// 4.3). mayfly does not accept it for revocation: a token naming no
// operation must not be able to revoke.
constexpr char kLegacyAudience[] = "step-certificate-authority";

constexpr char kHttps[] = "https://";

// Quoted returns `s` quoted and escaped for an error message, cut at 128
// bytes, so that a hostile claim can neither forge log lines nor flood them.
std::string Quoted(absl::string_view s) {
  constexpr size_t kMax = 128;
  std::string out =
      absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMax)), "\"");
  if (s.size() > kMax) {
    out += "...";
  }
  return out;
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

bool IsDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// SplitHostPort splits a URL authority ("host", "host:port", "[v6]",
// "[v6]:port") into host (brackets kept) and port (without the colon, ""
// if none). Returns false for an empty host, user info, a port that is not
// 1 to 5 digits, an unbracketed IPv6 address, or characters that have no
// place in a host.
bool SplitHostPort(absl::string_view authority, absl::string_view* host,
                   absl::string_view* port) {
  size_t host_end;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos || close < 2) {
      return false;
    }
    host_end = close + 1;
  } else {
    host_end = authority.find(':');
    if (host_end == absl::string_view::npos) {
      host_end = authority.size();
    }
  }
  *host = authority.substr(0, host_end);
  absl::string_view rest = authority.substr(host_end);
  if (host->empty()) {
    return false;
  }
  for (char c : *host) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '@' || c == '\\' || c == '/' ||
        c == '?' || c == '#') {
      return false;
    }
  }
  if (rest.empty()) {
    *port = rest;
    return true;
  }
  if (rest[0] != ':') {
    return false;
  }
  *port = rest.substr(1);
  return !port->empty() && port->size() <= 5 && IsDigits(*port);
}

// WithoutPort returns an https URL with the port removed from its host
// (step-ca compares audiences this way, STEP-PROTOCOL.md 4.3), or nullopt
// if `url` is not an https URL with a well-formed authority; such an
// audience can then only match exactly.
std::optional<std::string> WithoutPort(absl::string_view url) {
  if (!absl::StartsWith(url, kHttps)) {
    return std::nullopt;
  }
  absl::string_view rest = url.substr(sizeof(kHttps) - 1);
  size_t end = rest.find_first_of("/?#");
  if (end == absl::string_view::npos) {
    end = rest.size();
  }
  absl::string_view host;
  absl::string_view port;
  if (!SplitHostPort(rest.substr(0, end), &host, &port)) {
    return std::nullopt;
  }
  return absl::StrCat(kHttps, host, rest.substr(end));
}

// MakeAudience is what step's CLI does to `--ca-url`: https scheme, the
// given path in place of any path, query or fragment.
absl::StatusOr<std::string> MakeAudience(absl::string_view ca_url,
                                         absl::string_view path) {
  absl::string_view rest = ca_url;
  size_t scheme_end = rest.find("://");
  if (scheme_end != absl::string_view::npos) {
    rest.remove_prefix(scheme_end + 3);
  }
  size_t end = rest.find_first_of("/?#");
  if (end == absl::string_view::npos) {
    end = rest.size();
  }
  absl::string_view authority = rest.substr(0, end);
  absl::string_view host;
  absl::string_view port;
  if (authority.empty()) {
    return absl::InvalidArgumentError("ca url has no host");
  }
  if (!SplitHostPort(authority, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca url host ", Quoted(authority),
                     " is not a host name, [ipv6] address or host:port"));
  }
  return absl::StrCat(kHttps, authority, path);
}

// AcceptedAudiences lists the `aud` values a token for `purpose` may carry
// at a CA answering to `dns_names` (STEP-PROTOCOL.md 4.3).
std::vector<std::string> AcceptedAudiences(
    TokenPurpose purpose, const std::vector<std::string>& dns_names) {
  const absl::string_view op =
      purpose == TokenPurpose::kSign ? "sign" : "revoke";
  std::vector<std::string> out;
  if (purpose == TokenPurpose::kSign) {
    out.emplace_back(kLegacyAudience);
  }
  for (const std::string& name : dns_names) {
    std::string host = name;
    if (absl::StrContains(name, ':') && !absl::StartsWith(name, "[")) {
      host = absl::StrCat("[", name, "]");  // IPv6 literal
    }
    out.push_back(absl::StrCat(kHttps, host, "/1.0/", op));
    out.push_back(absl::StrCat(kHttps, host, "/", op));
  }
  return out;
}

bool AudienceAccepted(absl::string_view aud,
                      const std::vector<std::string>& accepted) {
  const std::optional<std::string> aud_bare = WithoutPort(aud);
  for (const std::string& a : accepted) {
    if (aud == a) {
      return true;
    }
    if (aud_bare.has_value()) {
      std::optional<std::string> a_bare = WithoutPort(a);
      if (a_bare.has_value() && *a_bare == *aud_bare) {
        return true;
      }
    }
  }
  return false;
}

// FingerprintKnown compares `sha` with every root fingerprint in constant
// time per candidate: the fingerprints are public, but the comparison
// should not teach anyone how close a guess came.
bool FingerprintKnown(absl::string_view sha,
                      const std::vector<std::string>& roots) {
  bool found = false;
  for (const std::string& root : roots) {
    if (root.size() == sha.size() && !sha.empty() &&
        CRYPTO_memcmp(root.data(), sha.data(), sha.size()) == 0) {
      found = true;
    }
  }
  return found;
}

// ParsedClaims are a token's claims with the presence of each optional one.
struct ParsedClaims {
  TokenClaims claims;
  bool has_iss = false;
  bool has_aud = false;
  bool has_nbf = false;
  bool has_iat = false;
  bool has_exp = false;
  bool has_jti = false;
  bool has_sha = false;
  bool has_sans = false;
};

absl::Status GetTime(const rapidjson::Value& obj, const char* name,
                     absl::Time* out, bool* present) {
  MAYFLY_ASSIGN_OR_RETURN(std::optional<int64_t> v,
                          internal::GetOptionalInt64(obj, name, "token"));
  *present = v.has_value();
  if (v.has_value()) {
    *out = absl::FromUnixSeconds(*v);
  }
  return absl::OkStatus();
}

absl::Status GetText(const rapidjson::Value& obj, const char* name,
                     std::string* out, bool* present) {
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> v,
                          internal::GetOptionalString(obj, name, "token"));
  *present = v.has_value();
  if (v.has_value()) {
    *out = std::move(*v);
  }
  return absl::OkStatus();
}

// ParseClaims reads the registered claims mayfly uses plus `sha` and
// `sans`, checking only their JSON types; others (`user`, `cnf`, `step`)
// are ignored. `aud` must be one string, as step writes it: an array would
// name several audiences and a token is meant for exactly one operation.
absl::StatusOr<ParsedClaims> ParseClaims(absl::string_view payload,
                                         size_t max_bytes) {
  internal::JsonLimits limits;
  limits.max_bytes = max_bytes;
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(payload, "token", limits));
  ParsedClaims out;
  TokenClaims& c = out.claims;
  bool has_sub = false;
  MAYFLY_RETURN_IF_ERROR(GetText(doc, "iss", &c.issuer, &out.has_iss));
  MAYFLY_RETURN_IF_ERROR(GetText(doc, "sub", &c.subject, &has_sub));
  auto aud = doc.FindMember("aud");
  if (aud != doc.MemberEnd() && !aud->value.IsString()) {
    return absl::InvalidArgumentError("token aud must be a single string");
  }
  MAYFLY_RETURN_IF_ERROR(GetText(doc, "aud", &c.audience, &out.has_aud));
  MAYFLY_RETURN_IF_ERROR(GetTime(doc, "nbf", &c.not_before, &out.has_nbf));
  MAYFLY_RETURN_IF_ERROR(GetTime(doc, "iat", &c.issued_at, &out.has_iat));
  MAYFLY_RETURN_IF_ERROR(GetTime(doc, "exp", &c.expiry, &out.has_exp));
  MAYFLY_RETURN_IF_ERROR(GetText(doc, "jti", &c.id, &out.has_jti));
  MAYFLY_RETURN_IF_ERROR(
      GetText(doc, "sha", &c.root_fingerprint, &out.has_sha));
  auto sans = doc.FindMember("sans");
  if (sans != doc.MemberEnd()) {
    out.has_sans = true;
    if (!sans->value.IsArray()) {
      return absl::InvalidArgumentError(
          "token sans must be an array of strings");
    }
    for (const rapidjson::Value& san : sans->value.GetArray()) {
      if (!san.IsString()) {
        return absl::InvalidArgumentError(
            "token sans must be an array of strings");
      }
      c.sans.emplace_back(san.GetString(), san.GetStringLength());
    }
  }
  return out;
}

absl::Status Refuse(absl::string_view message) {
  return absl::UnauthenticatedError(message);
}

// CheckTimes enforces nbf/iat/exp: all required (step-ca checks each only if
// present), with `leeway` for clock skew, and a bounded lifetime so that a
// leaked token cannot stay usable for long.
absl::Status CheckTimes(const ParsedClaims& parsed,
                        const TokenValidatorOptions& options, absl::Time now) {
  const TokenClaims& c = parsed.claims;
  if (!parsed.has_nbf) {
    return Refuse("token has no nbf");
  }
  if (!parsed.has_iat) {
    return Refuse("token has no iat");
  }
  if (!parsed.has_exp) {
    return Refuse("token has no exp");
  }
  if (c.not_before > now + options.leeway) {
    return Refuse(absl::StrCat("token is not valid before ",
                               TimeText(c.not_before), "; now is ",
                               TimeText(now)));
  }
  if (c.issued_at > now + options.leeway) {
    return Refuse(absl::StrCat("token iat ", TimeText(c.issued_at),
                               " is in the future; now is ", TimeText(now)));
  }
  if (c.expiry < now - options.leeway) {
    return Refuse(absl::StrCat("token expired at ", TimeText(c.expiry),
                               "; now is ", TimeText(now)));
  }
  if (c.expiry <= c.not_before) {
    return Refuse("token exp is not after its nbf");
  }
  const absl::Duration lifetime = c.expiry - c.not_before;
  const absl::Duration since_issue = c.expiry - c.issued_at;
  if (lifetime > options.max_lifetime || since_issue > options.max_lifetime) {
    return Refuse(absl::StrCat(
        "token lives ", absl::FormatDuration(std::max(lifetime, since_issue)),
        "; max ", absl::FormatDuration(options.max_lifetime)));
  }
  // step-ca compares with its start time truncated to seconds, as iat is.
  absl::Time floor = options.not_issued_before;
  if (floor != absl::InfinitePast() && floor != absl::InfiniteFuture()) {
    floor = absl::FromUnixSeconds(absl::ToUnixSeconds(floor));
  }
  if (c.issued_at < floor) {
    return Refuse(absl::StrCat("token issued at ", TimeText(c.issued_at),
                               ", before ", TimeText(floor),
                               " when tokens became acceptable"));
  }
  return absl::OkStatus();
}

using StrictWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>,
                      rapidjson::UTF8<>, rapidjson::CrtAllocator,
                      rapidjson::kWriteValidateEncodingFlag>;

// WriteString writes one string value; InvalidArgument naming `what` if it
// is not UTF-8 (JSON cannot carry it).
absl::Status WriteString(StrictWriter& w, absl::string_view value,
                         absl::string_view what) {
  if (!w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("token ", what, " is not valid utf-8"));
  }
  return absl::OkStatus();
}

absl::Status WriteMember(StrictWriter& w, const char* name,
                         absl::string_view value) {
  w.Key(name);
  return WriteString(w, value, name);
}

}  // namespace

absl::StatusOr<std::string> SignAudience(absl::string_view ca_url) {
  return MakeAudience(ca_url, "/1.0/sign");
}

absl::StatusOr<std::string> RevokeAudience(absl::string_view ca_url) {
  return MakeAudience(ca_url, "/1.0/revoke");
}

absl::StatusOr<std::string> RenewAudience(absl::string_view ca_url) {
  return MakeAudience(ca_url, "/renew");
}

TokenSigner::TokenSigner(PrivateKey key, std::string kid, std::string issuer,
                         const Clock& clock)
    : key_(std::move(key)),
      kid_(std::move(kid)),
      issuer_(std::move(issuer)),
      clock_(clock) {}

absl::StatusOr<std::string> TokenSigner::Sign(
    const TokenRequest& request) const {
  if (request.subject.empty()) {
    return absl::InvalidArgumentError("token subject is empty");
  }
  if (request.audience.empty()) {
    return absl::InvalidArgumentError("token audience is empty");
  }
  if (request.lifetime < kMinTokenLifetime ||
      request.lifetime > kMaxTokenLifetime) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token lifetime is ", absl::FormatDuration(request.lifetime), "; want ",
        absl::FormatDuration(kMinTokenLifetime), " to ",
        absl::FormatDuration(kMaxTokenLifetime)));
  }
  const int64_t now = absl::ToUnixSeconds(clock_.Now());
  const int64_t exp = now + absl::ToInt64Seconds(request.lifetime);

  // jti: 256 random bits as lowercase hex, as step makes it.
  uint8_t jti[32];
  if (!RAND_bytes(jti, sizeof(jti))) {
    return internal::BsslError(absl::StatusCode::kInternal, "token jti");
  }

  // Members sorted by name, as in step's tokens (STEP-PROTOCOL.md 4.1).
  rapidjson::StringBuffer buf;
  StrictWriter w(buf);
  w.StartObject();
  MAYFLY_RETURN_IF_ERROR(WriteMember(w, "aud", request.audience));
  w.Key("exp");
  w.Int64(exp);
  w.Key("iat");
  w.Int64(now);
  MAYFLY_RETURN_IF_ERROR(WriteMember(w, "iss", issuer_));
  MAYFLY_RETURN_IF_ERROR(WriteMember(w, "jti", internal::Hex(jti)));
  w.Key("nbf");
  w.Int64(now);
  if (!request.revoke) {
    w.Key("sans");
    w.StartArray();
    if (request.sans.empty()) {
      MAYFLY_RETURN_IF_ERROR(WriteString(w, request.subject, "sub"));
    }
    for (const std::string& san : request.sans) {
      MAYFLY_RETURN_IF_ERROR(WriteString(w, san, "sans"));
    }
    w.EndArray();
  }
  if (!request.root_fingerprint.empty()) {
    MAYFLY_RETURN_IF_ERROR(WriteMember(w, "sha", request.root_fingerprint));
  }
  MAYFLY_RETURN_IF_ERROR(WriteMember(w, "sub", request.subject));
  w.EndObject();

  JwsHeader header;
  header.kid = kid_;
  header.typ = "JWT";
  return SignJws(key_, header,
                 absl::string_view(buf.GetString(), buf.GetSize()));
}

absl::StatusOr<ValidatedToken> ValidateToken(
    absl::string_view token, TokenPurpose purpose,
    const std::vector<Provisioner>& provisioners,
    const TokenValidatorOptions& options, absl::Time now) {
  // 1. Size, before any decoding.
  if (token.size() > options.max_token_bytes) {
    return Refuse(absl::StrCat("token is ", token.size(), " bytes; max ",
                               options.max_token_bytes));
  }
  // 2. Strict parse: no `none`, no HMAC, no `crit`, no embedded keys.
  JwsLimits limits;
  limits.max_bytes = options.max_token_bytes;
  absl::StatusOr<Jws> jws = Jws::Parse(token, limits);
  if (!jws.ok()) {
    return Refuse(absl::StrCat("token is malformed: ", jws.status().message()));
  }
  absl::StatusOr<ParsedClaims> parsed =
      ParseClaims(jws->payload(), options.max_token_bytes);
  if (!parsed.ok()) {
    return Refuse(
        absl::StrCat("token is malformed: ", parsed.status().message()));
  }
  TokenClaims& claims = parsed->claims;

  // 3. The provisioner must be named by both the header `kid` and `iss`:
  // step-ca keys its provisioner map by "<iss>:<kid>".
  if (jws->kid().empty()) {
    return Refuse("token header has no kid");
  }
  if (!parsed->has_iss) {
    return Refuse("token has no iss");
  }
  const Provisioner* provisioner = nullptr;
  bool kid_known = false;
  for (const Provisioner& p : provisioners) {
    if (p.kid != jws->kid()) {
      continue;
    }
    kid_known = true;
    if (p.name == claims.issuer) {
      provisioner = &p;
      break;
    }
  }
  if (provisioner == nullptr) {
    if (!kid_known) {
      return Refuse(absl::StrCat("token kid ", Quoted(jws->kid()),
                                 " names no provisioner"));
    }
    return Refuse(absl::StrCat("token iss ", Quoted(claims.issuer),
                               " is not the provisioner with kid ",
                               Quoted(jws->kid())));
  }

  // 4. Signature, before any claim is trusted or any state is touched.
  absl::Status verified = jws->Verify(provisioner->key);
  if (absl::IsUnauthenticated(verified)) {
    return Refuse(
        absl::StrCat("token signature is invalid: ", verified.message()));
  }
  MAYFLY_RETURN_IF_ERROR(verified);

  // 5. Audience: this CA, this operation.
  if (!parsed->has_aud) {
    return Refuse("token has no aud");
  }
  if (!AudienceAccepted(claims.audience,
                        AcceptedAudiences(purpose, options.dns_names))) {
    return Refuse(absl::StrCat(
        "token audience ", Quoted(claims.audience), " is not accepted for ",
        purpose == TokenPurpose::kSign ? "signing" : "revocation",
        " by this ca"));
  }

  // 6. Times.
  MAYFLY_RETURN_IF_ERROR(CheckTimes(*parsed, options, now));

  // 7. The root the client pinned must be one of ours.
  if (parsed->has_sha &&
      !FingerprintKnown(claims.root_fingerprint, options.root_fingerprints)) {
    return Refuse(absl::StrCat("token sha ", Quoted(claims.root_fingerprint),
                               " is not the fingerprint of a root of this ca"));
  }

  // 8. Subject and id.
  if (claims.subject.empty()) {
    return Refuse("token sub is missing or empty");
  }
  // step-ca falls back to a hash of the token when jti is absent; mayfly
  // requires it, since consuming it is what makes the token one-time.
  if (!parsed->has_jti || claims.id.empty()) {
    return Refuse("token jti is missing or empty");
  }
  if (claims.id.size() > kMaxJtiBytes) {
    return Refuse(absl::StrCat("token jti is ", claims.id.size(),
                               " bytes; max ", kMaxJtiBytes));
  }
  // step-ca: a sign token without `sans` authorises its subject alone.
  if (purpose == TokenPurpose::kSign && !parsed->has_sans) {
    claims.sans = {claims.subject};
  }

  ValidatedToken out;
  out.provisioner = provisioner;
  out.claims = std::move(claims);
  return out;
}

absl::StatusOr<TokenClaims> ParseTokenClaims(absl::string_view token) {
  MAYFLY_ASSIGN_OR_RETURN(Jws jws, Jws::Parse(token));
  MAYFLY_ASSIGN_OR_RETURN(ParsedClaims parsed,
                          ParseClaims(jws.payload(), JwsLimits().max_bytes));
  return std::move(parsed.claims);
}

}  // namespace mayfly

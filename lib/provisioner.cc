// JWK provisioners (STEP-PROTOCOL.md section 5), their claims (section 6.3)
// and Go duration text, the form step writes durations in (section 1.4).

#include "mayfly/provisioner.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/jose.h"
#include "mayfly/status.h"
#include "provisioner_internal.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace {

// A provisioner object is small; its key JWK and JWE are a few hundred
// bytes. The cap only bounds what a hostile config can make us parse.
constexpr size_t kMaxProvisionerJson = 1 << 20;

// Private JWK members (RFC 7518 sections 6.2.2, 6.3.2, 6.4). A provisioner's
// "key" is served to anyone who asks (GET /provisioners), so a config that
// puts a private key there is refused rather than leaked.
constexpr const char* kPrivateJwkMembers[] = {"d",  "p",  "q",   "dp",
                                              "dq", "qi", "oth", "k"};

// Quoted returns `text` quoted for an error message, escaped and cut short.
std::string Quoted(absl::string_view text) {
  constexpr size_t kMaxEchoed = 64;
  std::string out =
      absl::StrCat("\"", absl::CEscape(text.substr(0, kMaxEchoed)));
  if (text.size() > kMaxEchoed) {
    absl::StrAppend(&out, "...");
  }
  absl::StrAppend(&out, "\"");
  return out;
}

// Merge applies `claims` over the already resolved `global`, as step-ca's
// Claimer does (authority/provisioner/claims.go): an unset bound follows a
// default set outside it, so that a provisioner setting only
// defaultTLSCertDuration = 48h gets max 48h rather than an error.
absl::StatusOr<ResolvedClaims> Merge(const Claims& claims,
                                     const ResolvedClaims& global,
                                     absl::string_view what) {
  ResolvedClaims r = global;
  if (claims.default_tls_duration.has_value()) {
    r.default_tls_duration = *claims.default_tls_duration;
  }
  if (claims.min_tls_duration.has_value()) {
    r.min_tls_duration = *claims.min_tls_duration;
  } else if (claims.default_tls_duration.has_value() &&
             *claims.default_tls_duration < global.min_tls_duration) {
    r.min_tls_duration = *claims.default_tls_duration;
  }
  if (claims.max_tls_duration.has_value()) {
    r.max_tls_duration = *claims.max_tls_duration;
  } else if (claims.default_tls_duration.has_value() &&
             *claims.default_tls_duration > global.max_tls_duration) {
    r.max_tls_duration = *claims.default_tls_duration;
  }
  if (claims.disable_renewal.has_value()) {
    r.disable_renewal = *claims.disable_renewal;
  }
  if (claims.allow_renewal_after_expiry.has_value()) {
    r.allow_renewal_after_expiry = *claims.allow_renewal_after_expiry;
  }
  if (claims.renewal_grace_period.has_value()) {
    r.renewal_grace_period = *claims.renewal_grace_period;
  }

  auto positive = [&](absl::Duration d, const char* name) -> absl::Status {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", name, " is ",
                                                     mayfly::FormatDuration(d),
                                                     "; must be above 0"));
    }
    return absl::OkStatus();
  };
  MAYFLY_RETURN_IF_ERROR(positive(r.min_tls_duration, "minTLSCertDuration"));
  MAYFLY_RETURN_IF_ERROR(positive(r.max_tls_duration, "maxTLSCertDuration"));
  MAYFLY_RETURN_IF_ERROR(
      positive(r.default_tls_duration, "defaultTLSCertDuration"));
  if (r.max_tls_duration < r.min_tls_duration) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": maxTLSCertDuration ",
                     mayfly::FormatDuration(r.max_tls_duration),
                     " is below minTLSCertDuration ",
                     mayfly::FormatDuration(r.min_tls_duration)));
  }
  if (r.default_tls_duration < r.min_tls_duration) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": defaultTLSCertDuration ",
                     mayfly::FormatDuration(r.default_tls_duration),
                     " is below minTLSCertDuration ",
                     mayfly::FormatDuration(r.min_tls_duration)));
  }
  if (r.default_tls_duration > r.max_tls_duration) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": defaultTLSCertDuration ",
                     mayfly::FormatDuration(r.default_tls_duration),
                     " is above maxTLSCertDuration ",
                     mayfly::FormatDuration(r.max_tls_duration)));
  }
  if (r.renewal_grace_period < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": renewalGracePeriod ",
        mayfly::FormatDuration(r.renewal_grace_period), " is negative"));
  }
  return r;
}

// Go's time.Duration arithmetic is on uint64 magnitudes bounded by 2^63.
constexpr uint64_t kTwo63 = uint64_t{1} << 63;

// AppendFraction writes v / 10^prec's fractional digits, without trailing
// zeros (and without the point when they are all zero), to the front of
// `out` (which is built backwards), and returns v / 10^prec (Go's fmtFrac).
uint64_t PrependFraction(std::string* out, uint64_t v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) {
      out->insert(out->begin(), static_cast<char>('0' + digit));
    }
    v /= 10;
  }
  if (print) {
    out->insert(out->begin(), '.');
  }
  return v;
}

void PrependInt(std::string* out, uint64_t v) {
  out->insert(0, absl::StrCat(v));
}

struct GoUnit {
  absl::string_view name;
  uint64_t ns;
};

constexpr GoUnit kGoUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // U+00B5 MICRO SIGN
    {"\xCE\xBCs", 1000},  // U+03BC GREEK SMALL LETTER MU
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", uint64_t{60} * 1000000000},
    {"h", uint64_t{3600} * 1000000000},
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// ---------------------------------------------------------------------------
// Go durations.

std::string FormatDuration(absl::Duration d) {
  // Go durations are whole nanoseconds within int64; absl saturates
  // infinite durations to the int64 bounds, which Go prints the same way.
  const int64_t ns = absl::ToInt64Nanoseconds(d);
  const bool neg = ns < 0;
  uint64_t u = static_cast<uint64_t>(ns);
  if (neg) {
    u = 0 - u;
  }
  std::string out;
  if (u < 1000000000) {
    // Below one second Go uses the smallest fitting unit ("1.5ms").
    int prec = 0;
    if (u == 0) {
      return "0s";
    } else if (u < 1000) {
      out = "ns";
      prec = 0;
    } else if (u < 1000000) {
      out = "\xC2\xB5s";
      prec = 3;
    } else {
      out = "ms";
      prec = 6;
    }
    u = PrependFraction(&out, u, prec);
    PrependInt(&out, u);
  } else {
    out = "s";
    u = PrependFraction(&out, u, 9);
    PrependInt(&out, u % 60);
    u /= 60;
    if (u > 0) {
      out.insert(out.begin(), 'm');
      PrependInt(&out, u % 60);
      u /= 60;
      if (u > 0) {
        out.insert(out.begin(), 'h');
        PrependInt(&out, u);
      }
    }
  }
  if (neg) {
    out.insert(out.begin(), '-');
  }
  return out;
}

absl::StatusOr<absl::Duration> ParseGoDuration(absl::string_view text) {
  // Go's time.ParseDuration grammar: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+, with
  // "0" (and "-0", "+0") the only unit-less value.
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration ", Quoted(text), ": ", why));
  };
  absl::string_view s = text;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return absl::ZeroDuration();
  }
  if (s.empty()) {
    return invalid("empty");
  }
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || IsDigit(s[0]))) {
      return invalid("expected a number");
    }
    // Integer part.
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && IsDigit(s[i]); ++i) {
      if (v > kTwo63 / 10) {
        return invalid("out of range");
      }
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kTwo63) {
        return invalid("out of range");
      }
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // Fraction: digits past what fits are ignored, as Go does.
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      size_t j = 0;
      for (; j < s.size() && IsDigit(s[j]); ++j) {
        if (overflow) {
          continue;
        }
        if (f > (kTwo63 - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kTwo63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) {
      return invalid("expected digits");
    }
    // Unit: everything up to the next number.
    size_t k = 0;
    while (k < s.size() && s[k] != '.' && !IsDigit(s[k])) {
      ++k;
    }
    if (k == 0) {
      return invalid("missing unit");
    }
    const absl::string_view unit_name = s.substr(0, k);
    s.remove_prefix(k);
    uint64_t unit = 0;
    for (const GoUnit& u : kGoUnits) {
      if (u.name == unit_name) {
        unit = u.ns;
      }
    }
    if (unit == 0) {
      return invalid(absl::StrCat("unknown unit ", Quoted(unit_name)));
    }
    if (v > kTwo63 / unit) {
      return invalid("out of range");
    }
    v *= unit;
    if (f > 0) {
      // Go computes the fraction in float64 (exact to the nanosecond for
      // every unit up to hours); doing the same keeps results identical.
      v += static_cast<uint64_t>(static_cast<double>(f) *
                                 (static_cast<double>(unit) / scale));
      if (v > kTwo63) {
        return invalid("out of range");
      }
    }
    total += v;
    if (total > kTwo63) {
      return invalid("out of range");
    }
  }
  if (neg) {
    if (total == kTwo63) {
      return absl::Nanoseconds(std::numeric_limits<int64_t>::min());
    }
    return absl::Nanoseconds(-static_cast<int64_t>(total));
  }
  if (total > kTwo63 - 1) {
    return invalid("out of range");
  }
  return absl::Nanoseconds(static_cast<int64_t>(total));
}

// ---------------------------------------------------------------------------
// Claims.

absl::StatusOr<ResolvedClaims> ResolveClaims(const Claims& provisioner,
                                             const Claims& authority) {
  MAYFLY_ASSIGN_OR_RETURN(
      ResolvedClaims global,
      Merge(authority, ResolvedClaims(), "authority claims"));
  return Merge(provisioner, global, "provisioner claims");
}

namespace internal {

absl::StatusOr<std::optional<bool>> GetOptionalBool(const rapidjson::Value& obj,
                                                    const char* name,
                                                    absl::string_view what) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    return std::optional<bool>();
  }
  if (!it->value.IsBool()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ".", name, " is not a boolean"));
  }
  return std::optional<bool>(it->value.GetBool());
}

absl::StatusOr<std::optional<absl::Duration>> GetOptionalDuration(
    const rapidjson::Value& obj, const char* name, absl::string_view what) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) {
    return std::optional<absl::Duration>();
  }
  if (!it->value.IsString()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ".", name, " is not a duration string (such as \"24h\")"));
  }
  absl::StatusOr<absl::Duration> d = ParseGoDuration(
      absl::string_view(it->value.GetString(), it->value.GetStringLength()));
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ".", name, ": ", d.status().message()));
  }
  return std::optional<absl::Duration>(*d);
}

absl::Status CheckClaimValues(const Claims& claims, absl::string_view what) {
  const std::pair<const char*, const std::optional<absl::Duration>*>
      durations[] = {
          {"minTLSCertDuration", &claims.min_tls_duration},
          {"maxTLSCertDuration", &claims.max_tls_duration},
          {"defaultTLSCertDuration", &claims.default_tls_duration},
          {"renewalGracePeriod", &claims.renewal_grace_period},
      };
  for (const auto& [name, value] : durations) {
    if (value->has_value() && **value < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ".", name, " is ", mayfly::FormatDuration(**value),
                       "; negative"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Claims> ParseClaims(const rapidjson::Value& value,
                                   absl::string_view what) {
  Claims claims;
  if (value.IsNull()) {
    return claims;
  }
  if (!value.IsObject()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a JSON object"));
  }
  MAYFLY_ASSIGN_OR_RETURN(
      claims.min_tls_duration,
      GetOptionalDuration(value, "minTLSCertDuration", what));
  MAYFLY_ASSIGN_OR_RETURN(
      claims.max_tls_duration,
      GetOptionalDuration(value, "maxTLSCertDuration", what));
  MAYFLY_ASSIGN_OR_RETURN(
      claims.default_tls_duration,
      GetOptionalDuration(value, "defaultTLSCertDuration", what));
  MAYFLY_ASSIGN_OR_RETURN(claims.disable_renewal,
                          GetOptionalBool(value, "disableRenewal", what));
  MAYFLY_ASSIGN_OR_RETURN(
      claims.allow_renewal_after_expiry,
      GetOptionalBool(value, "allowRenewalAfterExpiry", what));
  MAYFLY_ASSIGN_OR_RETURN(
      claims.renewal_grace_period,
      GetOptionalDuration(value, "renewalGracePeriod", what));
  MAYFLY_RETURN_IF_ERROR(CheckClaimValues(claims, what));
  return claims;
}

bool ClaimsEmpty(const Claims& c) {
  return !c.min_tls_duration && !c.max_tls_duration &&
         !c.default_tls_duration && !c.disable_renewal &&
         !c.allow_renewal_after_expiry && !c.renewal_grace_period;
}

rapidjson::Value ClaimsToValue(const Claims& claims,
                               rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value out(rapidjson::kObjectType);
  auto add_duration = [&](const char* name,
                          const std::optional<absl::Duration>& d) {
    if (d.has_value()) {
      rapidjson::Value text;
      text.SetString(mayfly::FormatDuration(*d).c_str(), alloc);
      out.AddMember(rapidjson::StringRef(name), text, alloc);
    }
  };
  auto add_bool = [&](const char* name, const std::optional<bool>& b) {
    if (b.has_value()) {
      out.AddMember(rapidjson::StringRef(name), rapidjson::Value(*b), alloc);
    }
  };
  // step's order (authority/provisioner/claims.go), mayfly's member last.
  add_duration("minTLSCertDuration", claims.min_tls_duration);
  add_duration("maxTLSCertDuration", claims.max_tls_duration);
  add_duration("defaultTLSCertDuration", claims.default_tls_duration);
  add_bool("disableRenewal", claims.disable_renewal);
  add_bool("allowRenewalAfterExpiry", claims.allow_renewal_after_expiry);
  add_duration("renewalGracePeriod", claims.renewal_grace_period);
  return out;
}

}  // namespace internal

// ---------------------------------------------------------------------------
// Provisioner.

absl::StatusOr<Provisioner> Provisioner::FromPrivateKey(
    absl::string_view name, const PrivateKey& key, absl::string_view password,
    const Claims& claims, uint32_t p2c) {
  if (name.empty()) {
    return absl::InvalidArgumentError("provisioner name is empty");
  }
  if (password.empty()) {
    return absl::InvalidArgumentError("provisioner password is empty");
  }
  if (key.type() == KeyType::kRsa) {
    return absl::InvalidArgumentError(
        "provisioner key is RSA; use P-256, P-384 or Ed25519");
  }
  MAYFLY_RETURN_IF_ERROR(internal::CheckClaimValues(claims, "claims"));

  PublicKey public_key = key.public_key();
  JwkMembers members;
  members.kid = public_key.JwkThumbprint();
  members.alg = std::string(public_key.DefaultJwsAlgorithm());
  members.use = "sig";

  Provisioner p(public_key);
  p.name = std::string(name);
  p.kid = members.kid;
  p.key_json = public_key.ToJwk(members);
  p.claims = claims;

  JweEncryptOptions options;
  options.p2c = p2c;
  options.cty = "jwk+json";
  std::string private_jwk = key.ToJwk(members);
  absl::StatusOr<std::string> jwe = EncryptJwe(private_jwk, password, options);
  internal::Cleanse(&private_jwk);
  if (!jwe.ok()) {
    return jwe.status();
  }
  p.encrypted_key = std::move(*jwe);
  return p;
}

absl::StatusOr<PrivateKey> Provisioner::DecryptKey(
    absl::string_view password) const {
  if (encrypted_key.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("provisioner ", Quoted(name), " has no encrypted key"));
  }
  absl::StatusOr<std::string> plaintext = DecryptJwe(encrypted_key, password);
  if (!plaintext.ok()) {
    return plaintext.status();
  }
  absl::StatusOr<PrivateKey> private_key = PrivateKey::FromJwk(*plaintext);
  internal::Cleanse(&*plaintext);
  if (!private_key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "provisioner ", Quoted(name), " encrypted key is not a private JWK: ",
        private_key.status().message()));
  }
  if (!private_key->public_key().Equals(key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("provisioner ", Quoted(name),
                     " encrypted key does not match its public key"));
  }
  return private_key;
}

absl::StatusOr<Provisioner> Provisioner::Parse(absl::string_view json) {
  internal::JsonLimits limits;
  limits.max_bytes = kMaxProvisionerJson;
  MAYFLY_ASSIGN_OR_RETURN(
      rapidjson::Document doc,
      internal::ParseJsonObject(json, "provisioner", limits));

  MAYFLY_ASSIGN_OR_RETURN(std::string type,
                          internal::GetString(doc, "type", "provisioner"));
  // step-ca reads the type case-insensitively (authority/provisioner/
  // provisioner.go); mayfly implements JWK only.
  if (!absl::EqualsIgnoreCase(type, "JWK")) {
    return absl::InvalidArgumentError(
        absl::StrCat("provisioner type ", Quoted(type),
                     " is not supported; mayfly supports JWK only"));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string name,
                          internal::GetString(doc, "name", "provisioner"));
  if (name.empty()) {
    return absl::InvalidArgumentError("provisioner name is empty");
  }
  const std::string what = absl::StrCat("provisioner ", Quoted(name));

  auto key_it = doc.FindMember("key");
  if (key_it == doc.MemberEnd() || key_it->value.IsNull()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " has no key"));
  }
  if (!key_it->value.IsObject()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " key is not a JSON object"));
  }
  for (const char* member : kPrivateJwkMembers) {
    if (key_it->value.HasMember(member)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " key holds private member \"", member,
          "\"; configure the public JWK and put the private key in "
          "encryptedKey"));
    }
  }
  std::string key_json = internal::ToJson(key_it->value);
  JwkMembers members;
  absl::StatusOr<PublicKey> key = PublicKey::FromJwk(key_json, &members);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " key: ", key.status().message()));
  }
  if (members.kid.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " key has no kid (tokens name it)"));
  }

  Provisioner p(*std::move(key));
  p.name = std::move(name);
  p.kid = std::move(members.kid);
  p.key_json = std::move(key_json);

  auto enc_it = doc.FindMember("encryptedKey");
  if (enc_it != doc.MemberEnd() && !enc_it->value.IsNull()) {
    if (!enc_it->value.IsString()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " encryptedKey is not a string"));
    }
    p.encrypted_key.assign(enc_it->value.GetString(),
                           enc_it->value.GetStringLength());
  }

  auto claims_it = doc.FindMember("claims");
  if (claims_it != doc.MemberEnd()) {
    MAYFLY_ASSIGN_OR_RETURN(
        p.claims,
        internal::ParseClaims(claims_it->value, absl::StrCat(what, " claims")));
  }
  return p;
}

std::string Provisioner::ToJson() const {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  auto string_value = [&](absl::string_view s) {
    rapidjson::Value v;
    v.SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
    return v;
  };
  doc.AddMember("type", "JWK", alloc);
  doc.AddMember("name", string_value(name), alloc);

  // The key as configured when there is one; a provisioner built in code
  // gets the canonical public JWK.
  std::string jwk = key_json;
  if (jwk.empty()) {
    JwkMembers members;
    members.kid = kid;
    members.alg = std::string(key.DefaultJwsAlgorithm());
    members.use = "sig";
    jwk = key.ToJwk(members);
  }
  absl::StatusOr<rapidjson::Document> key_doc =
      internal::ParseJsonObject(jwk, "provisioner key");
  rapidjson::Value key_value;
  if (key_doc.ok()) {
    key_value.CopyFrom(*key_doc, alloc);
  } else {
    // key_json was set by hand to something that is not JSON; write the
    // key itself rather than an invalid document.
    JwkMembers members;
    members.kid = kid;
    absl::StatusOr<rapidjson::Document> canonical =
        internal::ParseJsonObject(key.ToJwk(members), "provisioner key");
    if (canonical.ok()) {
      key_value.CopyFrom(*canonical, alloc);
    }
  }
  doc.AddMember("key", key_value, alloc);

  if (!encrypted_key.empty()) {
    doc.AddMember("encryptedKey", string_value(encrypted_key), alloc);
  }
  if (!internal::ClaimsEmpty(claims)) {
    doc.AddMember("claims", internal::ClaimsToValue(claims, alloc), alloc);
  }
  return internal::ToJson(doc);
}

}  // namespace mayfly

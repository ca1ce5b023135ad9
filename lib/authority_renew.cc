// Renew, Rekey and RenewWithToken (STEP-PROTOCOL.md sections 3.5, 3.6, 4.6
// and 6.4), with mayfly's lineage rule: a certificate is not renewed if it,
// or any certificate it was renewed from, is revoked (step-ca checks only
// the presented serial, so a renewal made before a revocation escapes it).

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "authority_internal.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "internal/x509.h"
#include "mayfly/authority.h"
#include "mayfly/jose.h"
#include "mayfly/status.h"

namespace mayfly {
namespace {

using internal::FloorSecond;

// step's renew token issuer (STEP-PROTOCOL.md section 4.6).
constexpr char kRenewTokenIssuer[] = "step-ca-client/1.0";
// At most this many certificates in a renew token's x5cInsecure.
constexpr size_t kMaxTokenChain = 8;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(why);
}

// StripPort removes ":port" from the authority of "scheme://host:port/path"
// (a bracketed IPv6 host keeps its brackets).
std::string StripPort(absl::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return std::string(url);
  }
  size_t host_start = scheme_end + 3;
  size_t host_end = url.find('/', host_start);
  if (host_end == absl::string_view::npos) {
    host_end = url.size();
  }
  absl::string_view host = url.substr(host_start, host_end - host_start);
  size_t search_from = 0;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == absl::string_view::npos) {
      return std::string(url);
    }
    search_from = close;
  }
  size_t colon = host.find(':', search_from);
  if (colon == absl::string_view::npos) {
    return std::string(url);
  }
  return absl::StrCat(url.substr(0, host_start), host.substr(0, colon),
                      url.substr(host_end));
}

// RenewAudienceMatches applies step-ca's rule (STEP-PROTOCOL.md section
// 4.3): `aud` is https://<name>/1.0/renew or https://<name>/renew for one of
// the CA's names, compared exactly or with the port removed from both.
bool RenewAudienceMatches(absl::string_view aud,
                          const std::vector<std::string>& dns_names) {
  std::string aud_no_port = StripPort(aud);
  for (const std::string& raw : dns_names) {
    std::string name = raw;
    if (name.find(':') != std::string::npos && name.front() != '[') {
      name = absl::StrCat("[", name, "]");  // IPv6
    }
    for (absl::string_view path : {"/1.0/renew", "/renew"}) {
      std::string want = absl::StrCat("https://", name, path);
      if (aud == want || aud_no_port == StripPort(want)) {
        return true;
      }
    }
  }
  return false;
}

// RenewTokenClaims are the claims of step's x5cInsecure renew token.
struct RenewTokenClaims {
  std::string issuer;
  std::string subject;
  std::vector<std::string> audience;
  std::optional<int64_t> not_before;
  std::optional<int64_t> issued_at;
  std::optional<int64_t> expiry;
};

absl::StatusOr<RenewTokenClaims> ParseRenewClaims(absl::string_view payload) {
  constexpr absl::string_view kWhat = "renew token claims";
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(payload, kWhat));
  RenewTokenClaims claims;
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> iss,
                          internal::GetOptionalString(doc, "iss", kWhat));
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> sub,
                          internal::GetOptionalString(doc, "sub", kWhat));
  claims.issuer = iss.value_or("");
  claims.subject = sub.value_or("");
  auto aud = doc.FindMember("aud");
  if (aud != doc.MemberEnd()) {
    if (aud->value.IsString()) {
      claims.audience.emplace_back(aud->value.GetString(),
                                   aud->value.GetStringLength());
    } else if (aud->value.IsArray()) {
      for (const rapidjson::Value& v : aud->value.GetArray()) {
        if (!v.IsString()) {
          return absl::InvalidArgumentError(
              "renew token claims member aud holds a non-string");
        }
        claims.audience.emplace_back(v.GetString(), v.GetStringLength());
      }
    } else {
      return absl::InvalidArgumentError(
          "renew token claims member aud is neither a string nor an array");
    }
  }
  MAYFLY_ASSIGN_OR_RETURN(claims.not_before,
                          internal::GetOptionalInt64(doc, "nbf", kWhat));
  MAYFLY_ASSIGN_OR_RETURN(claims.issued_at,
                          internal::GetOptionalInt64(doc, "iat", kWhat));
  MAYFLY_ASSIGN_OR_RETURN(claims.expiry,
                          internal::GetOptionalInt64(doc, "exp", kWhat));
  return claims;
}

}  // namespace

absl::Status Authority::Impl::VerifyClientChain(
    absl::Span<const Certificate> chain, absl::Time at) {
  const Certificate& leaf = chain.front();
  // Only a chain that is the leaf, maybe followed by our own CA chain, is
  // remembered: its path is then leaf -> ca_chain_ -> a root, whose
  // validity window is known without VerifyChain's path.
  bool cacheable = chain.size() <= 1 + ca_chain_.size();
  for (size_t i = 1; cacheable && i < chain.size(); i++) {
    cacheable = chain[i].Equals(ca_chain_[i - 1]);
  }
  std::string key;
  if (cacheable) {
    std::vector<uint8_t> digest = leaf.Sha256Fingerprint();
    key.assign(digest.begin(), digest.end());
    absl::MutexLock lock(&verified_mu_);
    auto it = verified_.find(key);
    if (it != verified_.end() && it->second.first <= at &&
        at <= it->second.second) {
      return absl::OkStatus();
    }
  }
  std::vector<Certificate> intermediates(chain.begin() + 1, chain.end());
  intermediates.insert(intermediates.end(), ca_chain_.begin(), ca_chain_.end());
  VerifyOptions verify;
  verify.purpose = kOidClientAuth;
  MAYFLY_RETURN_IF_ERROR(VerifyChain(leaf, intermediates, roots_, at, verify));
  if (cacheable) {
    // The window in which every certificate the path can use is valid:
    // the leaf, our CA chain and (conservatively) every root.
    absl::Time from = leaf.NotBefore();
    absl::Time to = leaf.NotAfter();
    for (const auto* list : {&ca_chain_, &roots_}) {
      for (const Certificate& c : *list) {
        from = std::max(from, c.NotBefore());
        to = std::min(to, c.NotAfter());
      }
    }
    absl::MutexLock lock(&verified_mu_);
    if (verified_.size() >= kMaxVerifiedChains) {
      verified_.clear();  // bounded memory; the next requests re-verify
    }
    verified_[key] = {from, to};
  }
  return absl::OkStatus();
}

absl::StatusOr<IssuedCertificate> Authority::Impl::RenewLeaf(
    absl::Span<const Certificate> chain, const PublicKey* new_key,
    const std::function<absl::Status(const Provisioner&)>& check_token,
    const TokenUse* token_use) {
  if (chain.empty()) {
    return absl::InvalidArgumentError("missing client certificate");
  }
  const Certificate& leaf = chain.front();
  absl::Time now = clock_.Now();

  // The provisioner decides how expiry is treated, so find it first; the
  // extension is only trusted once the chain verifies below.
  std::optional<Extension> ext = leaf.FindExtension(kOidStepProvisioner);
  if (!ext.has_value()) {
    // step-ca renews such certificates through a no-op provisioner; mayfly
    // renews only what a provisioner of its own authorised.
    return Unauthenticated("certificate has no provisioner extension");
  }
  absl::StatusOr<internal::StepProvisioner> step_prov =
      internal::ParseStepProvisioner(ext->value);
  if (!step_prov.ok()) {
    return Unauthenticated("certificate provisioner extension is malformed");
  }
  std::shared_ptr<const internal::ProvisionerSet> set = Snapshot();
  int index = set->Find(step_prov->name);
  if (index < 0) {
    return Unauthenticated(absl::StrCat("certificate provisioner \"",
                                        step_prov->name, "\" does not exist"));
  }
  const Provisioner& provisioner = set->provisioners[index];
  const ResolvedClaims& claims = set->claims[index];

  // Validity (STEP-PROTOCOL.md section 3.5). An expired certificate may be
  // renewed only if the provisioner allows it, and - stricter than step-ca
  // - only within the grace period; its chain is then verified as of just
  // before it expired (as step-ca does for renew tokens).
  absl::Time verify_at = now;
  if (FloorSecond(now) < leaf.NotBefore()) {
    return Unauthenticated(
        absl::StrCat("certificate is not valid before ",
                     absl::FormatTime(absl::RFC3339_sec, leaf.NotBefore(),
                                      absl::UTCTimeZone())));
  }
  if (now > leaf.NotAfter()) {
    std::string expired =
        absl::StrCat("certificate expired on ",
                     absl::FormatTime(absl::RFC3339_sec, leaf.NotAfter(),
                                      absl::UTCTimeZone()));
    if (!claims.allow_renewal_after_expiry) {
      return Unauthenticated(expired);
    }
    if (now - leaf.NotAfter() > claims.renewal_grace_period) {
      return Unauthenticated(
          absl::StrCat(expired, ", beyond the renewal grace period of ",
                       mayfly::FormatDuration(claims.renewal_grace_period)));
    }
    verify_at = std::max(leaf.NotBefore(), leaf.NotAfter() - absl::Minutes(1));
  }
  MAYFLY_RETURN_IF_ERROR(VerifyClientChain(chain, verify_at));
  // VerifyChain accepts a leaf without EKU for any purpose; a renewable
  // leaf must name clientAuth (it authenticates as a TLS client).
  std::vector<std::string> eku = leaf.ExtKeyUsage();
  if (std::find(eku.begin(), eku.end(), kOidClientAuth) == eku.end()) {
    return Unauthenticated(
        "certificate extended key usage does not include clientAuth");
  }
  std::optional<uint32_t> ku = leaf.KeyUsage();
  if (ku.has_value() && (*ku & kKeyUsageDigitalSignature) == 0) {
    return Unauthenticated(
        "certificate key usage does not include digitalSignature");
  }
  if (check_token) {
    MAYFLY_RETURN_IF_ERROR(check_token(provisioner));
  }
  if (claims.disable_renewal) {
    return Unauthenticated(absl::StrCat("provisioner \"", provisioner.name,
                                        "\" disables renewal"));
  }
  std::string serial = leaf.SerialDecimal();
  MAYFLY_ASSIGN_OR_RETURN(std::optional<RevocationRecord> revoked,
                          store_->FindRevokedInLineage(serial));
  if (revoked.has_value()) {
    return Unauthenticated(
        revoked->serial == serial
            ? std::string("certificate has been revoked")
            : absl::StrCat("certificate has been revoked: it descends from "
                           "revoked certificate ",
                           revoked->serial));
  }

  PublicKey key = new_key != nullptr ? *new_key : leaf.public_key();
  MAYFLY_RETURN_IF_ERROR(internal::CheckLeafKey(key));
  // Same span as before (STEP-PROTOCOL.md section 6.4): lifetime = old span
  // - backdate, from now - backdate to now + lifetime.
  absl::Duration lifetime =
      (leaf.NotAfter() - leaf.NotBefore()) - config_.backdate;
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "certificate lifetime is not longer than the backdate");
  }
  absl::Time start = FloorSecond(now);
  CertificateTemplate tmpl;
  MAYFLY_ASSIGN_OR_RETURN(tmpl.serial, internal::NewSerial());
  tmpl.raw_subject = leaf.RawSubject();
  tmpl.not_before = start - config_.backdate;
  tmpl.not_after = start + lifetime;
  // Every extension but the key identifiers, which IssueCertificate
  // recomputes: the SKI for the (maybe new) key, the AKI for the current
  // intermediate, so an intermediate rotation works.
  for (Extension& e : leaf.Extensions()) {
    if (e.oid != internal::kOidSubjectKeyId &&
        e.oid != internal::kOidAuthorityKeyId) {
      tmpl.extra_extensions.push_back(std::move(e));
    }
  }
  absl::Span<const uint8_t> spki;
  if (new_key == nullptr) {
    MAYFLY_ASSIGN_OR_RETURN(spki, internal::CertificateSpki(leaf.der()));
  }
  MAYFLY_ASSIGN_OR_RETURN(Certificate next, IssueRenewal(tmpl, key, spki));
  // The record is made from what was signed (the old leaf's names, the
  // template's serial and validity), so `next` stays unparsed.
  CertificateRecord record;
  record.serial = internal::SerialToDecimal(tmpl.serial);
  record.subject = leaf.CommonName();
  for (const SubjectAltName& san : leaf.Sans()) {
    record.names.push_back(san.value);
  }
  record.not_before = tmpl.not_before;
  record.not_after = tmpl.not_after;
  record.provisioner = provisioner.name;
  record.renewed_from = serial;
  if (token_use == nullptr) {
    MAYFLY_RETURN_IF_ERROR(store_->RecordCertificate(record));
  } else {
    absl::Status stored =
        store_->UseTokenAndRecord(token_use->id, token_use->keep, record);
    if (absl::IsAlreadyExists(stored)) {
      return absl::UnauthenticatedError("token already used");
    }
    MAYFLY_RETURN_IF_ERROR(stored);
  }
  return WithChain(std::move(next));
}

absl::StatusOr<IssuedCertificate> Authority::Renew(
    absl::Span<const Certificate> peer_chain) {
  return impl_->RenewLeaf(peer_chain, nullptr, {}, nullptr);
}

absl::StatusOr<IssuedCertificate> Authority::Rekey(
    absl::Span<const Certificate> peer_chain, const CertificateRequest& csr) {
  absl::Status csr_ok = csr.VerifySignature();
  if (!csr_ok.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid csr: ", csr_ok.message()));
  }
  PublicKey key = csr.public_key();
  return impl_->RenewLeaf(peer_chain, &key, {}, nullptr);
}

absl::StatusOr<IssuedCertificate> Authority::RenewWithToken(
    absl::string_view token) {
  Impl& d = *impl_;
  const TokenValidatorOptions& options = d.validator_options();
  if (token.empty()) {
    return Unauthenticated("missing renew token");
  }
  JwsLimits limits;
  limits.max_bytes = options.max_token_bytes;
  absl::StatusOr<Jws> jws = Jws::Parse(token, limits);
  if (!jws.ok()) {
    return Unauthenticated(
        absl::StrCat("renew token: ", jws.status().message()));
  }
  const std::vector<std::string>& x5c = jws->x5c_insecure();
  if (x5c.empty()) {
    return Unauthenticated("renew token has no x5cInsecure chain");
  }
  if (x5c.size() > kMaxTokenChain) {
    return Unauthenticated(absl::StrCat("renew token chain has ", x5c.size(),
                                        " certificates; max ", kMaxTokenChain));
  }
  std::vector<Certificate> chain;
  for (const std::string& b64 : x5c) {
    absl::StatusOr<std::string> der =
        internal::Base64Decode(b64, "x5cInsecure");
    if (!der.ok()) {
      return Unauthenticated(
          absl::StrCat("renew token: ", der.status().message()));
    }
    absl::StatusOr<Certificate> cert =
        Certificate::FromDer(internal::Bytes(*der));
    if (!cert.ok()) {
      return Unauthenticated(
          absl::StrCat("renew token: x5cInsecure ", cert.status().message()));
    }
    chain.push_back(*std::move(cert));
  }
  const Certificate& leaf = chain.front();
  // The token proves possession of the certificate's key.
  absl::Status signed_ok = jws->Verify(leaf.public_key());
  if (!signed_ok.ok()) {
    return Unauthenticated(absl::StrCat("renew token: ", signed_ok.message()));
  }
  absl::StatusOr<RenewTokenClaims> claims = ParseRenewClaims(jws->payload());
  if (!claims.ok()) {
    return Unauthenticated(claims.status().message());
  }
  absl::Time now = d.clock_.Now();
  if (!claims->expiry.has_value()) {
    return Unauthenticated("renew token has no exp");
  }
  absl::Time exp = absl::FromUnixSeconds(*claims->expiry);
  if (exp < now - options.leeway) {
    return Unauthenticated("renew token has expired");
  }
  if (!claims->not_before.has_value() && !claims->issued_at.has_value()) {
    return Unauthenticated("renew token has neither nbf nor iat");
  }
  absl::Time start = exp;
  if (claims->not_before.has_value()) {
    absl::Time nbf = absl::FromUnixSeconds(*claims->not_before);
    if (nbf > now + options.leeway) {
      return Unauthenticated("renew token is not valid yet");
    }
    start = std::min(start, nbf);
  }
  if (claims->issued_at.has_value()) {
    absl::Time iat = absl::FromUnixSeconds(*claims->issued_at);
    if (iat > now + options.leeway) {
      return Unauthenticated("renew token is issued in the future");
    }
    start = std::min(start, iat);
  }
  if (exp - start > options.max_lifetime) {
    return Unauthenticated(
        absl::StrCat("renew token lives longer than ",
                     mayfly::FormatDuration(options.max_lifetime)));
  }
  if (std::none_of(claims->audience.begin(), claims->audience.end(),
                   [&](const std::string& aud) {
                     return RenewAudienceMatches(aud, options.dns_names);
                   })) {
    return Unauthenticated("renew token audience is not this CA's renew url");
  }
  if (claims->subject != leaf.CommonName()) {
    return Unauthenticated(
        "renew token subject is not the certificate's common name");
  }
  std::string issuer = claims->issuer;
  auto check_token = [&issuer](const Provisioner& p) -> absl::Status {
    if (issuer != kRenewTokenIssuer && issuer != p.name) {
      return Unauthenticated(absl::StrCat("renew token issuer is neither \"",
                                          kRenewTokenIssuer,
                                          "\" nor the provisioner name"));
    }
    return absl::OkStatus();
  };
  // The replay id (step-ca: SHA-256 of the token, which has no jti) is
  // consumed only after every check passed, with the renewal's record.
  Impl::TokenUse use{internal::Hex(internal::Sha256(internal::Bytes(token))),
                     exp + options.leeway};
  return d.RenewLeaf(chain, nullptr, check_token, &use);
}

}  // namespace mayfly

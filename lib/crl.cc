// GetCrl: the X.509 v2 CRL (RFC 5280 section 5) in the shape step-ca
// publishes (STEP-PROTOCOL.md section 3.8): signed by the intermediate,
// issuer = the intermediate's subject, thisUpdate / nextUpdate, one entry
// per revoked, unexpired serial with its revocation date and reason code,
// then the AKI, CRL number and a critical issuing distribution point.
// The TBSCertList is written with CBB and signed like a certificate.
//
// The CRL is cached: it is rebuilt when a revocation was recorded since
// (a generation counter Revoke bumps) or when it is older than half its
// cache duration, so a client never gets one whose nextUpdate is near.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "authority_internal.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/authority.h"
#include "mayfly/status.h"
#include "openssl/bn.h"
#include "openssl/bytestring.h"

namespace mayfly {
namespace {

constexpr char kOidCrlNumber[] = "2.5.29.20";
constexpr char kOidCrlReason[] = "2.5.29.21";
constexpr char kOidIssuingDistributionPoint[] = "2.5.29.28";

absl::Status EncodingError() {
  return internal::BsslError(absl::StatusCode::kInternal, "encoding the crl");
}

bool AddOid(CBB* cbb, absl::string_view oid) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&child, oid.data(), oid.size()) &&
         CBB_flush(cbb);
}

// OpenExtension opens one Extension and returns, in `value`, the CBB of its
// extnValue contents; the caller writes the value and flushes `exts`.
bool OpenExtension(CBB* exts, CBB* ext, CBB* value, absl::string_view oid,
                   bool critical) {
  return CBB_add_asn1(exts, ext, CBS_ASN1_SEQUENCE) && AddOid(ext, oid) &&
         (!critical || CBB_add_asn1_bool(ext, 1)) &&
         CBB_add_asn1(ext, value, CBS_ASN1_OCTETSTRING);
}

bool AddRevokedEntry(CBB* list, const RevocationRecord& record) {
  BIGNUM* raw = nullptr;
  if (BN_dec2bn(&raw, record.serial.c_str()) !=
      static_cast<int>(record.serial.size())) {
    BN_free(raw);
    return false;
  }
  bssl::UniquePtr<BIGNUM> serial(raw);
  CBB entry;
  if (!CBB_add_asn1(list, &entry, CBS_ASN1_SEQUENCE) ||
      !BN_marshal_asn1(&entry, serial.get()) ||
      !internal::AddAsn1Time(&entry, record.revoked_at)) {
    return false;
  }
  // RFC 5280 section 5.3.1: unspecified (0) is better left out.
  if (record.reason_code != 0) {
    CBB exts, ext, value, reason;
    if (record.reason_code < 0 || record.reason_code > 10 ||
        !CBB_add_asn1(&entry, &exts, CBS_ASN1_SEQUENCE) ||
        !OpenExtension(&exts, &ext, &value, kOidCrlReason, false) ||
        !CBB_add_asn1(&value, &reason, CBS_ASN1_ENUMERATED) ||
        !CBB_add_u8(&reason, static_cast<uint8_t>(record.reason_code))) {
      return false;
    }
  }
  return CBB_flush(list);
}

}  // namespace

absl::StatusOr<Crl> Authority::Impl::GetCrl() {
  absl::MutexLock lock(&crl_mu_);
  absl::Time now = clock_.Now();
  const absl::Duration cache = config_.crl.cache_duration;
  // Read the generation before listing: a revocation that lands during the
  // rebuild bumps it again, so the next call rebuilds once more.
  int64_t generation = revocation_generation();
  if (crl_.has_value() && crl_generation_ == generation &&
      now >= crl_->this_update && now - crl_->this_update < cache / 2) {
    return *crl_;
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<RevocationRecord> revoked,
                          store_->ListRevocations(now));
  MAYFLY_ASSIGN_OR_RETURN(int64_t number, store_->NextCrlNumber());

  const Certificate& issuer = ca_chain_.front();
  Crl crl;
  crl.number = number;
  crl.this_update = internal::FloorSecond(now);
  crl.next_update = crl.this_update + cache;
  std::string idp = config_.crl.idp_url;
  if (idp.empty()) {
    std::string host = config_.dns_names.front();
    if (host.find(':') != std::string::npos && host.front() != '[') {
      host = absl::StrCat("[", host, "]");  // IPv6
    }
    idp = absl::StrCat("https://", host, "/1.0/crl");
  }
  std::vector<uint8_t> issuer_name = issuer.RawSubject();
  std::vector<uint8_t> issuer_ski = issuer.SubjectKeyId();

  bssl::ScopedCBB cbb;
  CBB tbs;
  if (!CBB_init(cbb.get(), 256 + 48 * revoked.size()) ||
      !CBB_add_asn1(cbb.get(), &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1_uint64(&tbs, 1) ||  // v2
      !internal::AddSignatureAlgorithm(&tbs, intermediate_key_.type()) ||
      !CBB_add_bytes(&tbs, issuer_name.data(), issuer_name.size()) ||
      !internal::AddAsn1Time(&tbs, crl.this_update) ||
      !internal::AddAsn1Time(&tbs, crl.next_update)) {
    return EncodingError();
  }
  // RFC 5280 section 5.1.2.6: an empty list is left out, not written empty.
  if (!revoked.empty()) {
    CBB list;
    if (!CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE)) {
      return EncodingError();
    }
    for (const RevocationRecord& record : revoked) {
      if (!AddRevokedEntry(&list, record)) {
        return absl::InternalError(absl::StrCat(
            "cannot encode the crl entry of serial ", record.serial));
      }
    }
  }
  CBB wrapper, exts, ext, value, inner, dp, full_name, uri;
  if (!CBB_add_asn1(&tbs, &wrapper,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1(&wrapper, &exts, CBS_ASN1_SEQUENCE)) {
    return EncodingError();
  }
  if (!issuer_ski.empty()) {
    CBB key_id;
    if (!OpenExtension(&exts, &ext, &value, internal::kOidAuthorityKeyId,
                       false) ||
        !CBB_add_asn1(&value, &inner, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&inner, &key_id, CBS_ASN1_CONTEXT_SPECIFIC | 0) ||
        !CBB_add_bytes(&key_id, issuer_ski.data(), issuer_ski.size()) ||
        !CBB_flush(&exts)) {
      return EncodingError();
    }
  }
  if (!OpenExtension(&exts, &ext, &value, kOidCrlNumber, false) ||
      !CBB_add_asn1_uint64(&value, static_cast<uint64_t>(number)) ||
      !CBB_flush(&exts)) {
    return EncodingError();
  }
  // IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0]
  // DistributionPointName } with DistributionPointName's fullName [0]
  // GeneralNames holding one URI [6].
  if (!OpenExtension(&exts, &ext, &value, kOidIssuingDistributionPoint, true) ||
      !CBB_add_asn1(&value, &inner, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&inner, &dp,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1(&dp, &full_name,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1(&full_name, &uri, CBS_ASN1_CONTEXT_SPECIFIC | 6) ||
      !CBB_add_bytes(&uri, reinterpret_cast<const uint8_t*>(idp.data()),
                     idp.size()) ||
      !CBB_flush(&exts)) {
    return EncodingError();
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> tbs_der,
                          internal::CbbToVector(cbb.get()));
  MAYFLY_ASSIGN_OR_RETURN(crl.der,
                          internal::SignToBeSigned(intermediate_key_, tbs_der));
  crl_ = crl;
  crl_generation_ = generation;
  return crl;
}

absl::StatusOr<Crl> Authority::GetCrl() { return impl_->GetCrl(); }

}  // namespace mayfly

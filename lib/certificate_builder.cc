// IssueCertificate and the DER writers of lib/internal/x509.h: the
// TBSCertificate is built with CBB in the layout Go's x509 package (and so
// step-ca) produces, then signed with PrivateKey::Sign.

#include <arpa/inet.h>
#include <netinet/in.h>

#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/certificate.h"
#include "mayfly/status.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace mayfly {
namespace internal {
namespace {

constexpr unsigned kContext = CBS_ASN1_CONTEXT_SPECIFIC;
constexpr size_t kMaxSerialLen = 20;           // RFC 5280 section 4.1.2.2
constexpr size_t kMaxNameAttributeChars = 64;  // ub-common-name et al.

bool AddOid(CBB* cbb, absl::string_view oid) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&child, oid.data(), oid.size()) &&
         CBB_flush(cbb);
}

// AddElement writes one primitive element `tag` with `contents`.
bool AddElement(CBB* cbb, unsigned tag, const uint8_t* contents, size_t len) {
  CBB child;
  return CBB_add_asn1(cbb, &child, tag) &&
         CBB_add_bytes(&child, contents, len) && CBB_flush(cbb);
}

absl::Status EncodingError() {
  return BsslError(absl::StatusCode::kInternal, "encoding certificate");
}

// Go's asn1.isPrintable without '*' and '&': the characters for which Go
// chooses PrintableString over UTF8String.
bool IsPrintableString(absl::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == ' ' || c == '\'' || c == '(' ||
              c == ')' || c == '+' || c == ',' || c == '-' || c == '.' ||
              c == '/' || c == ':' || c == '=' || c == '?';
    if (!ok) {
      return false;
    }
  }
  return true;
}

size_t CountCodePoints(absl::string_view utf8) {
  size_t n = 0;
  for (char c : utf8) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) {
      n++;
    }
  }
  return n;
}

absl::Status AddNameAttribute(CBB* rdns, absl::string_view field,
                              absl::string_view oid, absl::string_view value) {
  if (!IsValidUtf8(value)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is not UTF-8"));
  }
  size_t chars = CountCodePoints(value);
  if (chars > kMaxNameAttributeChars) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is ", chars, " characters; max ", kMaxNameAttributeChars));
  }
  CBB rdn, atv, str;
  unsigned tag =
      IsPrintableString(value) ? CBS_ASN1_PRINTABLESTRING : CBS_ASN1_UTF8STRING;
  if (!CBB_add_asn1(rdns, &rdn, CBS_ASN1_SET) ||
      !CBB_add_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) || !AddOid(&atv, oid) ||
      !CBB_add_asn1(&atv, &str, tag) ||
      !CBB_add_bytes(&str, reinterpret_cast<const uint8_t*>(value.data()),
                     value.size()) ||
      !CBB_flush(rdns)) {
    return EncodingError();
  }
  return absl::OkStatus();
}

// AddExtension writes one Extension; `critical` FALSE is omitted (DER).
bool AddExtension(CBB* exts, absl::string_view oid, bool critical,
                  absl::Span<const uint8_t> value) {
  CBB ext;
  return CBB_add_asn1(exts, &ext, CBS_ASN1_SEQUENCE) && AddOid(&ext, oid) &&
         (!critical || CBB_add_asn1_bool(&ext, 1)) &&
         CBB_add_asn1_octet_string(&ext, value.data(), value.size()) &&
         CBB_flush(exts);
}

absl::StatusOr<std::vector<uint8_t>> EncodeKeyUsage(uint32_t bits) {
  if (bits >> 9 != 0) {
    return absl::InvalidArgumentError(
        "key_usage has bits beyond decipherOnly (bit 8)");
  }
  int highest = 31 - __builtin_clz(bits);
  size_t num_bytes = static_cast<size_t>(highest) / 8 + 1;
  // DER named bit lists drop trailing zero bits (X.690 section 11.2.2).
  std::vector<uint8_t> contents(num_bytes + 1, 0);
  contents[0] = static_cast<uint8_t>(7 - highest % 8);
  for (int i = 0; i <= highest; i++) {
    if (bits & (1u << i)) {
      contents[1 + i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
    }
  }
  bssl::ScopedCBB cbb;
  if (!CBB_init(cbb.get(), 8) ||
      !AddElement(cbb.get(), CBS_ASN1_BITSTRING, contents.data(),
                  contents.size())) {
    return EncodingError();
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> EncodeExtKeyUsage(
    absl::Span<const std::string> oids) {
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 32) ||
      !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE)) {
    return EncodingError();
  }
  for (const std::string& oid : oids) {
    if (!AddOid(&seq, oid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("ext_key_usage entry \"", oid, "\" is not an OID"));
    }
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> EncodeBasicConstraints(
    const BasicConstraints& basic) {
  if (basic.path_len.has_value() && (!basic.is_ca || *basic.path_len < 0)) {
    return absl::InvalidArgumentError(
        "basic path_len needs is_ca and must not be negative");
  }
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 8) ||
      !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE) ||
      (basic.is_ca && !CBB_add_asn1_bool(&seq, 1)) ||
      (basic.path_len.has_value() &&
       !CBB_add_asn1_uint64(&seq, static_cast<uint64_t>(*basic.path_len)))) {
    return EncodingError();
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> EncodeOctetString(
    absl::Span<const uint8_t> bytes) {
  bssl::ScopedCBB cbb;
  if (!CBB_init(cbb.get(), bytes.size() + 2) ||
      !CBB_add_asn1_octet_string(cbb.get(), bytes.data(), bytes.size())) {
    return EncodingError();
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> EncodeAuthorityKeyId(
    absl::Span<const uint8_t> key_id) {
  bssl::ScopedCBB cbb;
  CBB seq, id;
  if (!CBB_init(cbb.get(), key_id.size() + 4) ||
      !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&seq, &id, kContext | 0) ||
      !CBB_add_bytes(&id, key_id.data(), key_id.size())) {
    return EncodingError();
  }
  return CbbToVector(cbb.get());
}

// AddTime writes UTCTime through 2049 and GeneralizedTime from 2050 (RFC
// 5280 section 4.1.2.5), to the second.
absl::Status AddTime(CBB* cbb, absl::string_view field, absl::Time t) {
  absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (c.year() < 1950 || c.year() > 9999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " year ", c.year(), " is outside 1950..9999"));
  }
  std::string text;
  unsigned tag;
  if (c.year() < 2050) {
    tag = CBS_ASN1_UTCTIME;
    text =
        absl::StrFormat("%02d%02d%02d%02d%02d%02dZ", c.year() % 100, c.month(),
                        c.day(), c.hour(), c.minute(), c.second());
  } else {
    tag = CBS_ASN1_GENERALIZEDTIME;
    text = absl::StrFormat("%04d%02d%02d%02d%02d%02dZ", c.year(), c.month(),
                           c.day(), c.hour(), c.minute(), c.second());
  }
  if (!AddElement(cbb, tag, reinterpret_cast<const uint8_t*>(text.data()),
                  text.size())) {
    return EncodingError();
  }
  return absl::OkStatus();
}

// ExtensionOwner says why IssueCertificate refuses an extra extension, or
// nullptr if it may be added.
const char* ExtensionOwner(const CertificateTemplate& tmpl,
                           const std::string& oid, bool has_issuer) {
  if (oid == kOidSubjectKeyId) {
    return "is always set by IssueCertificate";
  }
  if (oid == kOidAuthorityKeyId && has_issuer) {
    return "is always set by IssueCertificate";
  }
  if ((oid == kOidKeyUsage && tmpl.key_usage != 0) ||
      (oid == kOidExtKeyUsage && !tmpl.ext_key_usage.empty()) ||
      (oid == kOidBasicConstraints && tmpl.basic.has_value()) ||
      (oid == kOidSubjectAltName && !tmpl.sans.empty())) {
    return "is also set by the template";
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> EncodeGeneralNames(
    absl::Span<const SubjectAltName> sans) {
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 64) ||
      !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE)) {
    return EncodingError();
  }
  for (const SubjectAltName& san : sans) {
    if (san.value.empty()) {
      return absl::InvalidArgumentError("san is empty");
    }
    if (san.type == SanType::kIp) {
      std::string text(san.value);
      uint8_t addr[16];
      size_t len;
      if (text.find('\0') == std::string::npos &&
          inet_pton(AF_INET, text.c_str(), addr) == 1) {
        len = 4;
      } else if (text.find('\0') == std::string::npos &&
                 inet_pton(AF_INET6, text.c_str(), addr) == 1) {
        len = 16;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("san \"", san.value, "\" is not an IP address"));
      }
      if (!AddElement(&seq, kContext | 7, addr, len)) {
        return EncodingError();
      }
      continue;
    }
    for (char c : san.value) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f) {
        return absl::InvalidArgumentError(
            "san has a character outside printable ASCII (IA5String)");
      }
    }
    unsigned tag = san.type == SanType::kEmail ? 1
                   : san.type == SanType::kDns ? 2
                                               : 6;
    if (!AddElement(&seq, kContext | tag,
                    reinterpret_cast<const uint8_t*>(san.value.data()),
                    san.value.size())) {
      return EncodingError();
    }
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> EncodeName(
    absl::string_view common_name, absl::string_view organization) {
  bssl::ScopedCBB cbb;
  CBB rdns;
  if (!CBB_init(cbb.get(), 64) ||
      !CBB_add_asn1(cbb.get(), &rdns, CBS_ASN1_SEQUENCE)) {
    return EncodingError();
  }
  // Go's pkix.Name.ToRDNSequence order: ..., O, ..., CN.
  if (!organization.empty()) {
    MAYFLY_RETURN_IF_ERROR(
        AddNameAttribute(&rdns, "organization", "2.5.4.10", organization));
  }
  if (!common_name.empty()) {
    MAYFLY_RETURN_IF_ERROR(
        AddNameAttribute(&rdns, "common_name", "2.5.4.3", common_name));
  }
  return CbbToVector(cbb.get());
}

bool AddSignatureAlgorithm(CBB* cbb, KeyType signer) {
  CBB alg;
  if (!CBB_add_asn1(cbb, &alg, CBS_ASN1_SEQUENCE)) {
    return false;
  }
  switch (signer) {
    case KeyType::kP256:  // RFC 5758 section 3.2: parameters absent
      return AddOid(&alg, "1.2.840.10045.4.3.2") && CBB_flush(cbb);
    case KeyType::kP384:
      return AddOid(&alg, "1.2.840.10045.4.3.3") && CBB_flush(cbb);
    case KeyType::kEd25519:  // RFC 8410 section 3: parameters absent
      return AddOid(&alg, "1.3.101.112") && CBB_flush(cbb);
    case KeyType::kRsa: {  // RFC 4055 section 5: parameters NULL
      CBB null;
      return AddOid(&alg, "1.2.840.113549.1.1.11") &&
             CBB_add_asn1(&alg, &null, CBS_ASN1_NULL) && CBB_flush(cbb);
    }
  }
  return false;
}

absl::StatusOr<std::vector<uint8_t>> SignToBeSigned(
    const PrivateKey& key, absl::Span<const uint8_t> tbs) {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> signature, key.Sign(tbs));
  bssl::ScopedCBB cbb;
  CBB outer, bits;
  if (!CBB_init(cbb.get(), tbs.size() + signature.size() + 32) ||
      !CBB_add_asn1(cbb.get(), &outer, CBS_ASN1_SEQUENCE) ||
      !CBB_add_bytes(&outer, tbs.data(), tbs.size()) ||
      !AddSignatureAlgorithm(&outer, key.type()) ||
      !CBB_add_asn1(&outer, &bits, CBS_ASN1_BITSTRING) ||
      !CBB_add_u8(&bits, 0) ||
      !CBB_add_bytes(&bits, signature.data(), signature.size())) {
    return EncodingError();
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> SubjectPublicKeyBits(
    absl::Span<const uint8_t> spki) {
  CBS in, seq, bits;
  uint8_t unused;
  CBS_init(&in, spki.data(), spki.size());
  if (!CBS_get_asn1(&in, &seq, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&seq, nullptr, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &bits, CBS_ASN1_BITSTRING) || CBS_len(&seq) != 0 ||
      !CBS_get_u8(&bits, &unused) || unused != 0) {
    return absl::InvalidArgumentError("malformed SubjectPublicKeyInfo");
  }
  return std::vector<uint8_t>(CBS_data(&bits),
                              CBS_data(&bits) + CBS_len(&bits));
}

}  // namespace internal

absl::StatusOr<Certificate> IssueCertificate(const CertificateTemplate& tmpl,
                                             const PublicKey& subject_key,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer) {
  MAYFLY_ASSIGN_OR_RETURN(
      std::vector<uint8_t> der,
      internal::IssueCertificateDer(tmpl, subject_key, issuer_key, issuer));
  absl::StatusOr<Certificate> cert = Certificate::FromDer(der);
  if (!cert.ok()) {
    // Only template contents (an extra extension) can make it malformed.
    return absl::InvalidArgumentError(absl::StrCat(
        "template makes a malformed certificate: ", cert.status().message()));
  }
  return cert;
}

namespace internal {

namespace {

// SamePublicKey says whether `a` and `b` (public or private) have the same
// public key.
bool SamePublicKey(const EVP_PKEY* a, const EVP_PKEY* b) {
  const bool same = a != nullptr && b != nullptr && EVP_PKEY_cmp(a, b) == 1;
  ERR_clear_error();
  return same;
}

}  // namespace

absl::StatusOr<absl::Span<const uint8_t>> CertificateSpki(
    absl::Span<const uint8_t> cert_der) {
  CBS in, cert, tbs, spki;
  CBS_init(&in, cert_der.data(), cert_der.size());
  if (!CBS_get_asn1(&in, &cert, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&cert, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBS_get_optional_asn1(
          &tbs, nullptr, nullptr,
          CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBS_get_asn1(&tbs, nullptr, CBS_ASN1_INTEGER) ||   // serial
      !CBS_get_asn1(&tbs, nullptr, CBS_ASN1_SEQUENCE) ||  // signature
      !CBS_get_asn1(&tbs, nullptr, CBS_ASN1_SEQUENCE) ||  // issuer
      !CBS_get_asn1(&tbs, nullptr, CBS_ASN1_SEQUENCE) ||  // validity
      !CBS_get_asn1(&tbs, nullptr, CBS_ASN1_SEQUENCE) ||  // subject
      !CBS_get_asn1_element(&tbs, &spki, CBS_ASN1_SEQUENCE)) {
    return absl::InvalidArgumentError(
        "certificate: malformed TBSCertificate before its public key");
  }
  return absl::Span<const uint8_t>(CBS_data(&spki), CBS_len(&spki));
}

absl::StatusOr<std::vector<uint8_t>> IssueCertificateDer(
    const CertificateTemplate& tmpl, const PublicKey& subject_key,
    const PrivateKey& issuer_key, const Certificate* issuer,
    absl::Span<const uint8_t> subject_spki) {
  // Template checks first, so a bad template never reaches the signer.
  if (tmpl.serial.empty()) {
    return absl::InvalidArgumentError("serial is empty");
  }
  if (tmpl.serial.size() > internal::kMaxSerialLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("serial is ", tmpl.serial.size(), " bytes; max ",
                     internal::kMaxSerialLen));
  }
  size_t skip = 0;
  while (skip < tmpl.serial.size() && tmpl.serial[skip] == 0) {
    skip++;
  }
  if (skip == tmpl.serial.size()) {
    return absl::InvalidArgumentError(
        "serial is zero; RFC 5280 requires a positive integer");
  }
  if (tmpl.not_after < tmpl.not_before) {
    return absl::InvalidArgumentError("not_after is before not_before");
  }
  // Compared on the native keys: PrivateKey::public_key() re-encodes the
  // point, which cost 3 % of every renewal here.
  if (issuer == nullptr) {
    if (!SamePublicKey(issuer_key.native(), subject_key.native())) {
      return absl::InvalidArgumentError(
          "self-signed certificate needs issuer_key to match subject_key");
    }
  } else {
    bssl::UniquePtr<EVP_PKEY> issuer_public(X509_get_pubkey(issuer->native()));
    if (!SamePublicKey(issuer_public.get(), issuer_key.native())) {
      return absl::InvalidArgumentError(
          "issuer_key does not match the issuer certificate's public key");
    }
  }

  // Subject and issuer names.
  std::vector<uint8_t> subject;
  if (!tmpl.raw_subject.empty()) {
    if (!internal::NameToString(tmpl.raw_subject).ok()) {
      return absl::InvalidArgumentError("raw_subject is not a DER Name");
    }
    subject = tmpl.raw_subject;
  } else {
    MAYFLY_ASSIGN_OR_RETURN(
        subject, internal::EncodeName(tmpl.common_name, tmpl.organization));
  }
  std::vector<uint8_t> issuer_name =
      issuer != nullptr ? issuer->RawSubject() : subject;

  // Extensions, in the order Go's x509.CreateCertificate writes them.
  std::vector<uint8_t> spki =
      subject_spki.empty()
          ? subject_key.ToSpkiDer()
          : std::vector<uint8_t>(subject_spki.begin(), subject_spki.end());
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> key_bits,
                          internal::SubjectPublicKeyBits(spki));
  std::vector<Extension> exts;
  if (tmpl.key_usage != 0) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> v,
                            internal::EncodeKeyUsage(tmpl.key_usage));
    exts.push_back({internal::kOidKeyUsage, true, std::move(v)});
  }
  if (!tmpl.ext_key_usage.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> v,
                            internal::EncodeExtKeyUsage(tmpl.ext_key_usage));
    exts.push_back({internal::kOidExtKeyUsage, false, std::move(v)});
  }
  if (tmpl.basic.has_value()) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> v,
                            internal::EncodeBasicConstraints(*tmpl.basic));
    exts.push_back({internal::kOidBasicConstraints, true, std::move(v)});
  }
  // RFC 5280 section 4.2.1.2 method 1.
  MAYFLY_ASSIGN_OR_RETURN(
      std::vector<uint8_t> ski,
      internal::EncodeOctetString(internal::Sha1(key_bits)));
  exts.push_back({internal::kOidSubjectKeyId, false, std::move(ski)});
  if (issuer != nullptr) {
    std::vector<uint8_t> issuer_ski = issuer->SubjectKeyId();
    if (!issuer_ski.empty()) {
      MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> v,
                              internal::EncodeAuthorityKeyId(issuer_ski));
      exts.push_back({internal::kOidAuthorityKeyId, false, std::move(v)});
    }
  }
  if (!tmpl.sans.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> v,
                            internal::EncodeGeneralNames(tmpl.sans));
    // An empty subject makes the SAN critical (RFC 5280 section 4.2.1.6).
    MAYFLY_ASSIGN_OR_RETURN(std::string subject_text,
                            internal::NameToString(subject));
    exts.push_back(
        {internal::kOidSubjectAltName, subject_text.empty(), std::move(v)});
  }
  std::set<std::string> extra_oids;
  for (const Extension& ext : tmpl.extra_extensions) {
    const char* why =
        internal::ExtensionOwner(tmpl, ext.oid, issuer != nullptr);
    if (why != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra extension ", ext.oid, " ", why));
    }
    if (!extra_oids.insert(ext.oid).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("extra extension ", ext.oid, " is given twice"));
    }
    exts.push_back(ext);
  }

  // TBSCertificate (RFC 5280 section 4.1).
  bssl::ScopedCBB cbb;
  CBB tbs, version, serial, validity, ext_wrapper, ext_seq;
  if (!CBB_init(cbb.get(), 512) ||
      !CBB_add_asn1(cbb.get(), &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&tbs, &version,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1_uint64(&version, 2) ||
      !CBB_add_asn1(&tbs, &serial, CBS_ASN1_INTEGER) ||
      (tmpl.serial[skip] >= 0x80 && !CBB_add_u8(&serial, 0)) ||
      !CBB_add_bytes(&serial, tmpl.serial.data() + skip,
                     tmpl.serial.size() - skip) ||
      !internal::AddSignatureAlgorithm(&tbs, issuer_key.type()) ||
      !CBB_add_bytes(&tbs, issuer_name.data(), issuer_name.size()) ||
      !CBB_add_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE)) {
    return internal::EncodingError();
  }
  MAYFLY_RETURN_IF_ERROR(
      internal::AddTime(&validity, "not_before", tmpl.not_before));
  MAYFLY_RETURN_IF_ERROR(
      internal::AddTime(&validity, "not_after", tmpl.not_after));
  if (!CBB_add_bytes(&tbs, subject.data(), subject.size()) ||
      !CBB_add_bytes(&tbs, spki.data(), spki.size()) ||
      !CBB_add_asn1(&tbs, &ext_wrapper,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3) ||
      !CBB_add_asn1(&ext_wrapper, &ext_seq, CBS_ASN1_SEQUENCE)) {
    return internal::EncodingError();
  }
  for (const Extension& ext : exts) {
    if (!internal::AddExtension(&ext_seq, ext.oid, ext.critical, ext.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("extension OID \"", ext.oid, "\" is not an OID"));
    }
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> tbs_der,
                          internal::CbbToVector(cbb.get()));
  return internal::SignToBeSigned(issuer_key, tbs_der);
}

}  // namespace internal

}  // namespace mayfly

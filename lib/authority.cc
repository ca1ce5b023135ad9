// Authority: creation, Sign, Revoke, provisioner management and the CA's
// own TLS certificate. Renew lives in authority_renew.cc, the CRL in
// crl.cc, InitPki in init.cc.
//
// The order of Sign's checks is the security argument: everything that can
// be checked without touching the store is checked first (CSR signature,
// token signature and claims, names, validity), so a refused request
// changes nothing; only then is the certificate signed, and the token's jti
// consumed and the certificate recorded in one atomic store write.

#include "mayfly/authority.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "authority_internal.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/status.h"
#include "mayfly/token.h"
#include "openssl/bn.h"
#include "openssl/bytestring.h"
#include "openssl/mem.h"
#include "openssl/rand.h"

namespace mayfly {
namespace internal {

int ProvisionerSet::Find(absl::string_view name) const {
  for (size_t i = 0; i < provisioners.size(); i++) {
    if (provisioners[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

absl::StatusOr<std::shared_ptr<const ProvisionerSet>> BuildProvisionerSet(
    std::vector<Provisioner> provisioners, const Claims& authority_claims) {
  auto set = std::make_shared<ProvisionerSet>();
  std::set<std::string> names, kids;
  for (const Provisioner& p : provisioners) {
    if (p.name.empty()) {
      return absl::InvalidArgumentError("provisioner name is empty");
    }
    if (p.kid.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("provisioner \"", p.name, "\" has no kid"));
    }
    if (!names.insert(p.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("provisioner name \"", p.name, "\" is used twice"));
    }
    if (!kids.insert(p.kid).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("provisioner kid \"", p.kid, "\" is used twice"));
    }
    absl::StatusOr<ResolvedClaims> claims =
        ResolveClaims(p.claims, authority_claims);
    if (!claims.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "provisioner \"", p.name, "\" claims: ", claims.status().message()));
    }
    set->claims.push_back(*claims);
    MAYFLY_ASSIGN_OR_RETURN(Extension ext, ProvisionerExtension(p));
    set->extensions.push_back(std::move(ext));
  }
  // The authority claims must resolve on their own too (step-ca refuses to
  // start otherwise).
  absl::StatusOr<ResolvedClaims> global = ResolveClaims({}, authority_claims);
  if (!global.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("authority claims: ", global.status().message()));
  }
  set->provisioners = std::move(provisioners);
  set->authority_claims = authority_claims;
  return std::shared_ptr<const ProvisionerSet>(std::move(set));
}

absl::StatusOr<std::vector<uint8_t>> NewSerial() {
  std::vector<uint8_t> serial(16);
  for (int attempt = 0; attempt < 8; attempt++) {
    if (!RAND_bytes(serial.data(), serial.size())) {
      return BsslError(absl::StatusCode::kInternal, "drawing a serial");
    }
    if (std::any_of(serial.begin(), serial.end(),
                    [](uint8_t b) { return b != 0; })) {
      return serial;
    }
  }
  return absl::InternalError("random generator returns zeros");
}

std::string SerialToDecimal(absl::Span<const uint8_t> serial) {
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(serial.data(), serial.size(), nullptr));
  if (bn == nullptr) {
    return "";
  }
  char* text = BN_bn2dec(bn.get());
  if (text == nullptr) {
    return "";
  }
  std::string out(text);
  OPENSSL_free(text);
  return out;
}

absl::StatusOr<Extension> ProvisionerExtension(const Provisioner& p) {
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 64 + p.name.size() + p.kid.size()) ||
      !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1_uint64(&seq, 1) ||  // 1 = JWK
      !CBB_add_asn1_octet_string(
          &seq, reinterpret_cast<const uint8_t*>(p.name.data()),
          p.name.size()) ||
      !CBB_add_asn1_octet_string(
          &seq, reinterpret_cast<const uint8_t*>(p.kid.data()), p.kid.size())) {
    return BsslError(absl::StatusCode::kInternal,
                     "encoding the provisioner extension");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> value, CbbToVector(cbb.get()));
  return Extension{kOidStepProvisioner, false, std::move(value)};
}

absl::Status CheckLeafKey(const PublicKey& key) {
  if (key.type() == KeyType::kRsa && key.bits() < kMinRsaBits) {
    return absl::PermissionDeniedError(
        absl::StrCat("rsa key is ", key.bits(), " bits; min ", kMinRsaBits));
  }
  return absl::OkStatus();
}

bool AddAsn1Time(CBB* cbb, absl::Time t) {
  absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (c.year() < 1950 || c.year() > 9999) {
    return false;
  }
  // YYMMDDHHMMSSZ (UTCTime) or YYYYMMDDHHMMSSZ (GeneralizedTime).
  const bool utc = c.year() < 2050;
  char text[16];
  size_t n = 0;
  auto put2 = [&](int v) {
    text[n++] = static_cast<char>('0' + v / 10);
    text[n++] = static_cast<char>('0' + v % 10);
  };
  if (!utc) {
    put2(static_cast<int>(c.year() / 100));
  }
  put2(static_cast<int>(c.year() % 100));
  put2(c.month());
  put2(c.day());
  put2(c.hour());
  put2(c.minute());
  put2(c.second());
  text[n++] = 'Z';
  CBB child;
  return CBB_add_asn1(cbb, &child,
                      utc ? CBS_ASN1_UTCTIME : CBS_ASN1_GENERALIZEDTIME) &&
         CBB_add_bytes(&child, reinterpret_cast<const uint8_t*>(text), n) &&
         CBB_flush(cbb);
}

namespace {

bool AddOid(CBB* cbb, absl::string_view oid) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&child, oid.data(), oid.size()) &&
         CBB_flush(cbb);
}

// EncodeExtension returns one whole Extension element (RFC 5280 section
// 4.1) whose extnValue holds `value`; a FALSE critical is left out (DER).
absl::StatusOr<std::vector<uint8_t>> EncodeExtension(
    absl::string_view oid, bool critical, absl::Span<const uint8_t> value) {
  bssl::ScopedCBB cbb;
  CBB ext;
  if (!CBB_init(cbb.get(), value.size() + 16) ||
      !CBB_add_asn1(cbb.get(), &ext, CBS_ASN1_SEQUENCE) || !AddOid(&ext, oid) ||
      (critical && !CBB_add_asn1_bool(&ext, 1)) ||
      !CBB_add_asn1_octet_string(&ext, value.data(), value.size())) {
    return BsslError(absl::StatusCode::kInternal, "encoding an extension");
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<std::vector<uint8_t>> EncodeKeyUsage(uint8_t bits,
                                                    uint8_t unused) {
  const uint8_t value[] = {CBS_ASN1_BITSTRING, 2, unused, bits};
  return EncodeExtension(kOidKeyUsage, true, value);
}

absl::Status LeafEncodingError() {
  return BsslError(absl::StatusCode::kInternal, "encoding a certificate");
}

}  // namespace

absl::StatusOr<LeafIssuer> LeafIssuer::Create(const Certificate& issuer,
                                              const PrivateKey& key) {
  if (!issuer.public_key().Equals(key.public_key())) {
    return absl::InvalidArgumentError(
        "intermediate key does not match the intermediate certificate");
  }
  LeafIssuer out(key);
  out.issuer_name_ = issuer.RawSubject();
  std::vector<uint8_t> ski = issuer.SubjectKeyId();
  if (!ski.empty()) {
    bssl::ScopedCBB cbb;
    CBB seq, id;
    if (!CBB_init(cbb.get(), ski.size() + 4) ||
        !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&seq, &id, CBS_ASN1_CONTEXT_SPECIFIC | 0) ||
        !CBB_add_bytes(&id, ski.data(), ski.size())) {
      return LeafEncodingError();
    }
    MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> aki, CbbToVector(cbb.get()));
    MAYFLY_ASSIGN_OR_RETURN(out.aki_ext_,
                            EncodeExtension(kOidAuthorityKeyId, false, aki));
  }
  bssl::ScopedCBB cbb;
  CBB seq;
  if (!CBB_init(cbb.get(), 32) ||
      !CBB_add_asn1(cbb.get(), &seq, CBS_ASN1_SEQUENCE) ||
      !AddOid(&seq, kOidServerAuth) || !AddOid(&seq, kOidClientAuth)) {
    return LeafEncodingError();
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> eku, CbbToVector(cbb.get()));
  MAYFLY_ASSIGN_OR_RETURN(out.eku_ext_,
                          EncodeExtension(kOidExtKeyUsage, false, eku));
  // BIT STRINGs of RFC 5280 4.2.1.3 with trailing zero bits dropped:
  // digitalSignature (bit 0) alone, and with keyEncipherment (bit 2).
  MAYFLY_ASSIGN_OR_RETURN(out.ku_ext_, EncodeKeyUsage(0x80, 7));
  MAYFLY_ASSIGN_OR_RETURN(out.ku_rsa_ext_, EncodeKeyUsage(0xa0, 5));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> LeafIssuer::Tbs(const Leaf& leaf) const {
  size_t skip = 0;
  while (skip < leaf.serial.size() && leaf.serial[skip] == 0) {
    skip++;
  }
  if (skip == leaf.serial.size() || leaf.serial.size() > 20) {
    return absl::InvalidArgumentError("serial must be 1..20 bytes, not zero");
  }
  if (leaf.not_after < leaf.not_before) {
    return absl::InvalidArgumentError("not_after is before not_before");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> subject,
                          EncodeName(leaf.common_name, ""));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> key_bits,
                          SubjectPublicKeyBits(leaf.spki));
  std::vector<uint8_t> ski = Sha1(key_bits);
  std::vector<uint8_t> san;
  if (!leaf.sans.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(san, EncodeGeneralNames(leaf.sans));
  }

  bssl::ScopedCBB cbb;
  CBB tbs, version, serial, validity, wrapper, exts, ext, value;
  if (!CBB_init(cbb.get(), 512) ||
      !CBB_add_asn1(cbb.get(), &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&tbs, &version,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1_uint64(&version, 2) ||
      !CBB_add_asn1(&tbs, &serial, CBS_ASN1_INTEGER) ||
      (leaf.serial[skip] >= 0x80 && !CBB_add_u8(&serial, 0)) ||
      !CBB_add_bytes(&serial, leaf.serial.data() + skip,
                     leaf.serial.size() - skip) ||
      !AddSignatureAlgorithm(&tbs, key_.type()) ||
      !CBB_add_bytes(&tbs, issuer_name_.data(), issuer_name_.size()) ||
      !CBB_add_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE) ||
      !AddAsn1Time(&validity, leaf.not_before) ||
      !AddAsn1Time(&validity, leaf.not_after) ||
      !CBB_add_bytes(&tbs, subject.data(), subject.size()) ||
      !CBB_add_bytes(&tbs, leaf.spki.data(), leaf.spki.size()) ||
      !CBB_add_asn1(&tbs, &wrapper,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 3) ||
      !CBB_add_asn1(&wrapper, &exts, CBS_ASN1_SEQUENCE)) {
    return absl::InvalidArgumentError(
        "certificate validity is outside the years 1950..9999");
  }
  // The order of IssueCertificate (and Go's x509): key usage, extended key
  // usage, SKI, AKI, SAN, then the rest.
  const std::vector<uint8_t>& ku =
      leaf.key_type == KeyType::kRsa ? ku_rsa_ext_ : ku_ext_;
  if (!CBB_add_bytes(&exts, ku.data(), ku.size()) ||
      !CBB_add_bytes(&exts, eku_ext_.data(), eku_ext_.size()) ||
      !CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
      !AddOid(&ext, kOidSubjectKeyId) ||
      !CBB_add_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) ||
      !CBB_add_asn1_octet_string(&value, ski.data(), ski.size()) ||
      !CBB_flush(&exts) ||
      !CBB_add_bytes(&exts, aki_ext_.data(), aki_ext_.size())) {
    return LeafEncodingError();
  }
  if (!san.empty()) {
    // An empty subject makes the SAN critical (RFC 5280 4.2.1.6); ours
    // always has a CN.
    if (!CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
        !AddOid(&ext, kOidSubjectAltName) ||
        (leaf.common_name.empty() && !CBB_add_asn1_bool(&ext, 1)) ||
        !CBB_add_asn1_octet_string(&ext, san.data(), san.size()) ||
        !CBB_flush(&exts)) {
      return LeafEncodingError();
    }
  }
  if (leaf.provisioner != nullptr) {
    const Extension& e = *leaf.provisioner;
    if (!CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) || !AddOid(&ext, e.oid) ||
        (e.critical && !CBB_add_asn1_bool(&ext, 1)) ||
        !CBB_add_asn1_octet_string(&ext, e.value.data(), e.value.size()) ||
        !CBB_flush(&exts)) {
      return LeafEncodingError();
    }
  }
  return CbbToVector(cbb.get());
}

absl::StatusOr<Certificate> LeafIssuer::Sign(
    absl::Span<const uint8_t> tbs) const {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> der, SignToBeSigned(key_, tbs));
  // Tbs encoded every field from checked values (names are UTF-8 within
  // bounds, SANs IA5 or IP, the key the CSR's parsed SPKI): no need to
  // parse the result back before it is read.
  return CertificateAccess::FromIssuedDer(std::move(der));
}

std::vector<uint8_t> CsrSpki(const CertificateRequest& csr,
                             const PublicKey& key) {
  // CertificationRequest ::= SEQUENCE { CertificationRequestInfo ::=
  // SEQUENCE { version, subject, subjectPKInfo, ... }, ... } (RFC 2986).
  CBS in, req, info, spki;
  CBS_init(&in, csr.der().data(), csr.der().size());
  bool parsed = CBS_get_asn1(&in, &req, CBS_ASN1_SEQUENCE) &&
                CBS_get_asn1(&req, &info, CBS_ASN1_SEQUENCE) &&
                CBS_get_asn1(&info, nullptr, CBS_ASN1_INTEGER) &&
                CBS_get_asn1(&info, nullptr, CBS_ASN1_SEQUENCE) &&
                CBS_get_asn1_element(&info, &spki, CBS_ASN1_SEQUENCE);
  if (parsed &&
      (key.type() == KeyType::kP256 || key.type() == KeyType::kP384)) {
    // Keep the bytes only for an uncompressed point (what ToSpkiDer writes).
    absl::StatusOr<std::vector<uint8_t>> bits = SubjectPublicKeyBits(
        absl::MakeConstSpan(CBS_data(&spki), CBS_len(&spki)));
    parsed = bits.ok() && !bits->empty() && (*bits)[0] == 0x04;
  } else if (key.type() != KeyType::kEd25519) {
    parsed = false;  // RSA: re-encoding is cheap and canonical
  }
  if (!parsed) {
    return key.ToSpkiDer();
  }
  return std::vector<uint8_t>(CBS_data(&spki),
                              CBS_data(&spki) + CBS_len(&spki));
}

}  // namespace internal

namespace {

using internal::FloorSecond;
using internal::ProvisionerSet;

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " file ", path, ": is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " file ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " file ", path));
  }
  return ss.str();
}

// ReadCertificates reads the PEM certificates of `what`'s file; an error
// names the file.
absl::StatusOr<std::vector<Certificate>> ReadCertificates(
    const std::string& path, absl::string_view what) {
  MAYFLY_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, what));
  absl::StatusOr<std::vector<Certificate>> certs =
      Certificate::ParsePemBundle(pem);
  if (!certs.ok()) {
    return absl::Status(
        certs.status().code(),
        absl::StrCat(what, " file ", path, ": ", certs.status().message()));
  }
  return certs;
}

// TimeOrDuration is step's TimeDuration: unset, an absolute time, or a
// duration relative to some base.
struct TimeOrDuration {
  bool set = false;
  bool relative = false;
  absl::Time time;
  absl::Duration duration;

  absl::Time RelativeTo(absl::Time base) const {
    return relative ? base + duration : time;
  }
};

absl::StatusOr<TimeOrDuration> ParseTimeOrDuration(absl::string_view text,
                                                   absl::string_view field) {
  TimeOrDuration out;
  if (text.empty()) {
    return out;
  }
  out.set = true;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &out.time, &err)) {
    return out;
  }
  absl::StatusOr<absl::Duration> d = ParseGoDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is neither an RFC 3339 time nor a duration"));
  }
  out.relative = true;
  out.duration = *d;
  return out;
}

// Validity is a certificate's NotBefore .. NotAfter.
struct Validity {
  absl::Time not_before;
  absl::Time not_after;
};

// ComputeValidity applies step-ca's rules (STEP-PROTOCOL.md section 6.3):
// with no notBefore the certificate starts at now - backdate; notAfter is
// relative to the unbackdated start and defaults to it + the default
// duration; the span must lie within min .. max + backdate. step-ca answers
// 403 for a span outside the claims; mayfly, as issue #4 asks, treats every
// unacceptable validity as InvalidArgument.
absl::StatusOr<Validity> ComputeValidity(const SignOptions& options,
                                         const ResolvedClaims& claims,
                                         absl::Duration backdate,
                                         absl::Time now) {
  MAYFLY_ASSIGN_OR_RETURN(
      TimeOrDuration nb, ParseTimeOrDuration(options.not_before, "not_before"));
  MAYFLY_ASSIGN_OR_RETURN(TimeOrDuration na,
                          ParseTimeOrDuration(options.not_after, "not_after"));
  absl::Time base = nb.set ? nb.RelativeTo(now) : now;
  absl::Duration applied_backdate = nb.set ? absl::ZeroDuration() : backdate;
  Validity v;
  v.not_before = FloorSecond(base - applied_backdate);
  v.not_after = FloorSecond(na.set ? na.RelativeTo(base)
                                   : base + claims.default_tls_duration);
  absl::Duration span = v.not_after - v.not_before;
  if (v.not_after < v.not_before) {
    return absl::InvalidArgumentError("not_after is before not_before");
  }
  if (v.not_after < FloorSecond(now)) {
    return absl::InvalidArgumentError("not_after is in the past");
  }
  if (span < claims.min_tls_duration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requested duration of ", mayfly::FormatDuration(span),
        " is less than the authorized minimum certificate duration of ",
        mayfly::FormatDuration(claims.min_tls_duration)));
  }
  // step-ca allows max + backdate whether or not the certificate was
  // backdated; so do we, so that step's requests behave the same.
  if (span > claims.max_tls_duration + backdate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "requested duration of ", mayfly::FormatDuration(span),
        " is more than the authorized maximum certificate duration of ",
        mayfly::FormatDuration(claims.max_tls_duration + backdate)));
  }
  return v;
}

// SanSet returns `sans` as (type, value) pairs.
std::set<std::pair<int, std::string>> SanSet(
    const std::vector<SubjectAltName>& sans) {
  std::set<std::pair<int, std::string>> out;
  for (const SubjectAltName& san : sans) {
    std::string value = san.value;
    if (san.type == SanType::kIp) {
      // One text form per address ("::ffff:10.0.0.7" is 10.0.0.7, as Go's
      // net.IP.Equal has it).
      value = ClassifySan(san.value).value;
    }
    out.emplace(static_cast<int>(san.type), std::move(value));
  }
  return out;
}

// CheckCsrNames applies step-ca's name checks (STEP-PROTOCOL.md sections
// 3.4 and 6.1): the CSR's CN is empty or one of {sub} and the SANs; for each
// SAN type present in the CSR, the CSR's set equals the token's.
absl::Status CheckCsrNames(const CertificateRequest& csr,
                           const TokenClaims& claims,
                           const std::vector<SubjectAltName>& token_sans) {
  std::string cn = csr.CommonName();
  bool cn_ok = cn.empty() || cn == claims.subject;
  for (const SubjectAltName& san : token_sans) {
    cn_ok = cn_ok || san.value == cn;
  }
  if (!cn_ok) {
    return absl::PermissionDeniedError(
        absl::StrCat("csr common name \"", cn,
                     "\" is neither the token subject nor one of its sans"));
  }
  std::set<std::pair<int, std::string>> want = SanSet(token_sans);
  std::set<std::pair<int, std::string>> got = SanSet(csr.Sans());
  static const char* const kTypeNames[] = {"dns", "ip", "email", "uri"};
  for (int type = 0; type < 4; type++) {
    std::set<std::string> want_type, got_type;
    for (const auto& [t, v] : want) {
      if (t == type) {
        want_type.insert(v);
      }
    }
    for (const auto& [t, v] : got) {
      if (t == type) {
        got_type.insert(v);
      }
    }
    if (!got_type.empty() && got_type != want_type) {
      return absl::PermissionDeniedError(absl::StrCat(
          "csr ", kTypeNames[type], " names do not match the token's sans"));
    }
  }
  return absl::OkStatus();
}

// NormalizeSerial reads a serial as step-ca's /revoke does (decimal, or
// 0x-prefixed hex) and returns its decimal text.
absl::StatusOr<std::string> NormalizeSerial(absl::string_view serial) {
  constexpr size_t kMaxSerialChars = 128;
  if (serial.empty()) {
    return absl::InvalidArgumentError("missing serial");
  }
  if (serial.size() > kMaxSerialChars) {
    return absl::InvalidArgumentError(absl::StrCat(
        "serial is ", serial.size(), " characters; max ", kMaxSerialChars));
  }
  bool hex = absl::StartsWithIgnoreCase(serial, "0x");
  absl::string_view digits = hex ? serial.substr(2) : serial;
  bool ok = !digits.empty();
  for (char c : digits) {
    ok = ok && (hex ? absl::ascii_isxdigit(static_cast<unsigned char>(c))
                    : absl::ascii_isdigit(static_cast<unsigned char>(c)));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        "serial is neither decimal nor 0x-prefixed hex");
  }
  // Go's base detection, which step-ca uses, reads "0123" as octal: refuse
  // the ambiguity rather than revoke a serial the client did not mean.
  if (!hex && digits.size() > 1 && digits[0] == '0') {
    return absl::InvalidArgumentError(
        "decimal serial has a leading zero; write it without, or as 0x hex");
  }
  std::string text(digits);
  BIGNUM* raw = nullptr;
  int used =
      hex ? BN_hex2bn(&raw, text.c_str()) : BN_dec2bn(&raw, text.c_str());
  bssl::UniquePtr<BIGNUM> bn(raw);
  if (bn == nullptr || used != static_cast<int>(text.size())) {
    return internal::BsslError(absl::StatusCode::kInvalidArgument,
                               "serial does not parse");
  }
  char* dec = BN_bn2dec(bn.get());
  if (dec == nullptr) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "formatting the serial");
  }
  std::string out(dec);
  OPENSSL_free(dec);
  return out;
}

// StripBrackets turns "[::1]" into "::1" (dnsNames write IPv6 that way).
std::string StripBrackets(absl::string_view name) {
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    return std::string(name.substr(1, name.size() - 2));
  }
  return std::string(name);
}

// LeafTemplate is step's default leaf profile (STEP-PROTOCOL.md section
// 6.1) apart from names, validity and extra extensions.
CertificateTemplate LeafTemplate(const PublicKey& key) {
  CertificateTemplate tmpl;
  tmpl.key_usage = kKeyUsageDigitalSignature;
  if (key.type() == KeyType::kRsa) {
    tmpl.key_usage |= kKeyUsageKeyEncipherment;
  }
  tmpl.ext_key_usage = {kOidServerAuth, kOidClientAuth};
  return tmpl;
}

// CheckRetention refuses a prune retention that would forget a record
// while a renewal could still descend from it: every provisioner's maximum
// lifetime, plus its grace period when it renews after expiry, must fit.
absl::Status CheckRetention(const ProvisionerSet& set,
                            absl::Duration retention) {
  std::vector<ResolvedClaims> all = set.claims;
  absl::StatusOr<ResolvedClaims> global =
      ResolveClaims({}, set.authority_claims);
  if (global.ok()) {
    all.push_back(*global);
  }
  for (const ResolvedClaims& c : all) {
    absl::Duration needed = c.max_tls_duration + (c.allow_renewal_after_expiry
                                                      ? c.renewal_grace_period
                                                      : absl::ZeroDuration());
    if (retention < needed) {
      return absl::InvalidArgumentError(absl::StrCat(
          "storePrune.retention ", mayfly::FormatDuration(retention),
          " is shorter than a certificate's lifetime plus renewal grace (",
          mayfly::FormatDuration(needed),
          "): pruning would forget revocations that must still block "
          "renewals"));
    }
  }
  return absl::OkStatus();
}

// StoreUrlOf returns the store URL of `config`: its own, with a relative
// sqlite path taken relative to the config's folder, or DefaultStoreUrl of
// the CA folder (the config folder's parent), whose db/ folder is created
// (0700) if missing.
absl::StatusOr<std::string> StoreUrlOf(const CaConfig& config) {
  constexpr absl::string_view kSqlite = "sqlite:";
  if (!config.store.empty()) {
    absl::string_view path = config.store;
    if (absl::ConsumePrefix(&path, kSqlite) && !path.empty() &&
        path[0] != '/') {
      return absl::StrCat(kSqlite, config.ResolvePath(path));
    }
    return config.store;
  }
  if (config.base_dir.empty()) {
    return DefaultStoreUrl("");
  }
  // The parent of the config folder, lexically (the config folder itself
  // need not exist for a config made in code).
  absl::string_view base = absl::StripSuffix(config.base_dir, "/");
  size_t slash = base.rfind('/');
  std::string ca_dir(slash == absl::string_view::npos || slash == 0
                         ? absl::string_view(".")
                         : base.substr(0, slash));
  std::string db_dir = absl::StrCat(ca_dir, "/db");
  if (mkdir(db_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the store folder ", db_dir, ": ", strerror(errno)));
  }
  return DefaultStoreUrl(ca_dir);
}

// TokenReplayKeep is how long a token id must stay recorded: a token is
// refused on its `exp` only once the leeway has passed too.
absl::Time TokenReplayKeep(const TokenClaims& claims,
                           const TokenValidatorOptions& options,
                           absl::Time now) {
  absl::Time keep = claims.expiry + options.leeway;
  if (claims.expiry == absl::InfinitePast() || keep < now) {
    keep = now + options.max_lifetime + options.leeway;
  }
  return keep;
}

// TokenId is the replay key of a token: its jti, or (step-ca's rule for
// tokens without one) the hex SHA-256 of the whole token.
std::string TokenId(const TokenClaims& claims, absl::string_view token) {
  if (!claims.id.empty()) {
    return claims.id;
  }
  return internal::Hex(internal::Sha256(internal::Bytes(token)));
}

}  // namespace

Authority::Impl::Impl(CaConfig config, std::vector<Certificate> roots,
                      std::vector<Certificate> ca_chain,
                      PrivateKey intermediate_key,
                      internal::LeafIssuer leaf_issuer,
                      std::unique_ptr<Store> store, const Clock& clock,
                      std::shared_ptr<const internal::ProvisionerSet> set)
    : config_(std::move(config)),
      roots_(std::move(roots)),
      ca_chain_(std::move(ca_chain)),
      intermediate_key_(std::move(intermediate_key)),
      store_(std::move(store)),
      clock_(clock),
      leaf_issuer_(std::move(leaf_issuer)),
      provisioners_(std::move(set)) {
  validator_options_.dns_names = config_.dns_names;
  validator_options_.leeway = absl::Minutes(1);
  for (const Certificate& root : roots_) {
    validator_options_.root_fingerprints.push_back(root.FingerprintHex());
  }
  // step-ca refuses tokens issued before it started (STEP-PROTOCOL.md 4.2).
  validator_options_.not_issued_before = FloorSecond(clock_.Now());
}

std::shared_ptr<const internal::ProvisionerSet> Authority::Impl::Snapshot()
    const {
  absl::ReaderMutexLock lock(&mu_);
  return provisioners_;
}

absl::StatusOr<Certificate> Authority::Impl::Issue(
    const CertificateTemplate& tmpl, const PublicKey& key) const {
  return IssueCertificate(tmpl, key, intermediate_key_, &ca_chain_.front());
}

absl::StatusOr<Certificate> Authority::Impl::IssueRenewal(
    const CertificateTemplate& tmpl, const PublicKey& key,
    absl::Span<const uint8_t> spki) const {
  MAYFLY_ASSIGN_OR_RETURN(
      std::vector<uint8_t> der,
      internal::IssueCertificateDer(tmpl, key, intermediate_key_,
                                    &ca_chain_.front(), spki));
  return internal::CertificateAccess::FromIssuedDer(std::move(der));
}

IssuedCertificate Authority::Impl::WithChain(Certificate leaf) const {
  IssuedCertificate out{leaf, {}};
  out.chain.reserve(1 + ca_chain_.size());
  out.chain.push_back(std::move(leaf));
  out.chain.insert(out.chain.end(), ca_chain_.begin(), ca_chain_.end());
  return out;
}

Authority::Authority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Authority::~Authority() = default;

absl::StatusOr<std::unique_ptr<Authority>> Authority::Create(
    const CaConfig& config, absl::string_view password,
    std::unique_ptr<Store> store, const Clock& clock) {
  if (config.root.empty()) {
    return absl::InvalidArgumentError("config has no root");
  }
  std::vector<Certificate> roots;
  for (const std::string& path : config.root) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> certs,
                            ReadCertificates(config.ResolvePath(path), "root"));
    roots.insert(roots.end(), certs.begin(), certs.end());
  }
  if (config.crt.empty() || config.key.empty()) {
    return absl::InvalidArgumentError("config needs crt and key");
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::vector<Certificate> crt,
      ReadCertificates(config.ResolvePath(config.crt), "crt"));
  MAYFLY_ASSIGN_OR_RETURN(std::string key_pem,
                          ReadFile(config.ResolvePath(config.key), "key"));
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(key_pem, password);
  internal::Cleanse(&key_pem);
  if (!key.ok()) {
    return absl::Status(
        key.status().code(),
        absl::StrCat("intermediate key: ", key.status().message()));
  }
  if (store == nullptr) {
    MAYFLY_ASSIGN_OR_RETURN(std::string url, StoreUrlOf(config));
    MAYFLY_ASSIGN_OR_RETURN(store, NewStore(url));
  }
  std::vector<Certificate> federated;
  for (const std::string& path : config.federated_roots) {
    MAYFLY_ASSIGN_OR_RETURN(
        std::vector<Certificate> certs,
        ReadCertificates(config.ResolvePath(path), "federated root"));
    federated.insert(federated.end(), certs.begin(), certs.end());
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::unique_ptr<Impl> impl,
      Impl::Build(std::move(roots), std::move(crt), *std::move(key), config,
                  std::move(store), clock));
  impl->federated_roots_ = std::move(federated);
  return std::unique_ptr<Authority>(new Authority(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Authority>> Authority::FromParts(
    AuthorityParts parts, std::unique_ptr<Store> store, const Clock& clock) {
  if (store == nullptr) {
    MAYFLY_ASSIGN_OR_RETURN(std::string url, StoreUrlOf(parts.config));
    MAYFLY_ASSIGN_OR_RETURN(store, NewStore(url));
  }
  std::vector<Certificate> ca_chain = {std::move(parts.intermediate)};
  MAYFLY_ASSIGN_OR_RETURN(
      std::unique_ptr<Impl> impl,
      Impl::Build(std::move(parts.roots), std::move(ca_chain),
                  std::move(parts.intermediate_key), std::move(parts.config),
                  std::move(store), clock));
  return std::unique_ptr<Authority>(new Authority(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Authority::Impl>> Authority::Impl::Build(
    std::vector<Certificate> roots, std::vector<Certificate> ca_chain,
    PrivateKey intermediate_key, CaConfig config, std::unique_ptr<Store> store,
    const Clock& clock) {
  if (roots.empty()) {
    return absl::InvalidArgumentError("no root certificate");
  }
  if (ca_chain.empty()) {
    return absl::InvalidArgumentError("no intermediate certificate");
  }
  const Certificate& intermediate = ca_chain.front();
  if (!intermediate.public_key().Equals(intermediate_key.public_key())) {
    return absl::InvalidArgumentError(
        "intermediate key does not match the intermediate certificate");
  }
  std::optional<BasicConstraints> basic = intermediate.Basic();
  if (!basic.has_value() || !basic->is_ca) {
    return absl::InvalidArgumentError("intermediate certificate is not a CA");
  }
  std::optional<uint32_t> ku = intermediate.KeyUsage();
  if (ku.has_value() && (*ku & kKeyUsageKeyCertSign) == 0) {
    return absl::InvalidArgumentError(
        "intermediate certificate key usage lacks keyCertSign");
  }
  absl::Status chains =
      VerifyChain(intermediate, absl::MakeConstSpan(ca_chain).subspan(1), roots,
                  clock.Now());
  if (!chains.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "intermediate does not chain to the roots now: ", chains.message()));
  }
  if (config.backdate < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backdate is negative");
  }
  if (config.dns_names.empty()) {
    return absl::InvalidArgumentError("dns_names is empty");
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::shared_ptr<const ProvisionerSet> set,
      internal::BuildProvisionerSet(config.provisioners, config.claims));
  MAYFLY_ASSIGN_OR_RETURN(
      internal::LeafIssuer leaf_issuer,
      internal::LeafIssuer::Create(intermediate, intermediate_key));
  const bool prune = config.prune.interval > absl::ZeroDuration();
  if (prune) {
    MAYFLY_RETURN_IF_ERROR(CheckRetention(*set, config.prune.retention));
  }
  auto impl = std::make_unique<Impl>(
      std::move(config), std::move(roots), std::move(ca_chain),
      std::move(intermediate_key), std::move(leaf_issuer), std::move(store),
      clock, std::move(set));
  if (prune) {
    MAYFLY_ASSIGN_OR_RETURN(
        impl->pruner_,
        StorePruner::Start(*impl->store_, clock, impl->config_.prune));
  }
  return impl;
}

absl::StatusOr<IssuedCertificate> Authority::Sign(const CertificateRequest& csr,
                                                  absl::string_view ott,
                                                  const SignOptions& options) {
  Impl& d = *impl_;
  absl::Status csr_ok = csr.VerifySignature();
  if (!csr_ok.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid csr: ", csr_ok.message()));
  }
  if (ott.empty()) {
    return absl::InvalidArgumentError("missing ott");
  }
  absl::Time now = d.clock_.Now();
  std::shared_ptr<const ProvisionerSet> set = d.Snapshot();
  MAYFLY_ASSIGN_OR_RETURN(
      ValidatedToken token,
      ValidateToken(ott, TokenPurpose::kSign, set->provisioners,
                    d.validator_options(), now));
  const Provisioner& provisioner = *token.provisioner;
  const ResolvedClaims& claims = set->claims[set->IndexOf(&provisioner)];

  PublicKey key = csr.public_key();
  MAYFLY_RETURN_IF_ERROR(internal::CheckLeafKey(key));
  // A sign token without sans stands for its subject (step-ca's JWK
  // provisioner does the same).
  std::vector<SubjectAltName> sans;
  if (token.claims.sans.empty()) {
    sans.push_back(ClassifySan(token.claims.subject));
  } else {
    for (const std::string& name : token.claims.sans) {
      sans.push_back(ClassifySan(name));
    }
  }
  MAYFLY_RETURN_IF_ERROR(CheckCsrNames(csr, token.claims, sans));
  MAYFLY_ASSIGN_OR_RETURN(
      Validity validity,
      ComputeValidity(options, claims, d.config_.backdate, now));
  // A leaf that outlives its issuer could never verify after that (found by
  // fuzzing: a notBefore in the year 4052 was issued).
  const absl::Time issuer_not_after = d.ca_chain_.front().NotAfter();
  if (validity.not_after > issuer_not_after) {
    return absl::InvalidArgumentError(
        absl::StrCat("requested validity ends at ",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", validity.not_after,
                                      absl::UTCTimeZone()),
                     ", after the issuing CA certificate's notAfter ",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", issuer_not_after,
                                      absl::UTCTimeZone())));
  }
  std::vector<uint8_t> spki = internal::CsrSpki(csr, key);
  internal::LeafIssuer::Leaf leaf;
  MAYFLY_ASSIGN_OR_RETURN(leaf.serial, internal::NewSerial());
  leaf.common_name = token.claims.subject;
  leaf.sans = std::move(sans);
  leaf.not_before = validity.not_before;
  leaf.not_after = validity.not_after;
  leaf.spki = spki;
  leaf.key_type = key.type();
  leaf.provisioner = &set->extensions[set->IndexOf(&provisioner)];
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> tbs, d.leaf_issuer().Tbs(leaf));

  // Every check passed: sign, then consume the token and record the
  // certificate in one atomic store write. A concurrent replay of the same
  // token loses there, and its certificate is dropped unseen; a failure to
  // sign leaves the token unused.
  MAYFLY_ASSIGN_OR_RETURN(Certificate cert, d.leaf_issuer().Sign(tbs));
  // The record is made from what was signed, not parsed back.
  CertificateRecord record;
  record.serial = internal::SerialToDecimal(leaf.serial);
  record.subject = leaf.common_name;
  for (SubjectAltName& san : leaf.sans) {
    record.names.push_back(std::move(san.value));
  }
  record.not_before = leaf.not_before;
  record.not_after = leaf.not_after;
  record.provisioner = provisioner.name;
  absl::Status stored = d.store_->UseTokenAndRecord(
      TokenId(token.claims, ott),
      TokenReplayKeep(token.claims, d.validator_options(), now), record);
  if (absl::IsAlreadyExists(stored)) {
    return absl::UnauthenticatedError("token already used");
  }
  MAYFLY_RETURN_IF_ERROR(stored);
  return d.WithChain(std::move(cert));
}

absl::Status Authority::Revoke(const RevokeRequest& request) {
  Impl& d = *impl_;
  MAYFLY_ASSIGN_OR_RETURN(std::string serial, NormalizeSerial(request.serial));
  if (request.reason_code < 0 || request.reason_code > 10) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reason_code ", request.reason_code, " is out of range 0..10"));
  }
  if (!request.passive) {
    return absl::UnimplementedError("only passive revocation is supported");
  }
  bool has_ott = !request.ott.empty();
  bool has_chain = !request.peer_chain.empty();
  if (!has_ott && !has_chain) {
    return absl::InvalidArgumentError("missing ott or client certificate");
  }
  if (has_ott && has_chain) {
    return absl::InvalidArgumentError(
        "give either ott or client certificate, not both");
  }
  absl::Time now = d.clock_.Now();

  RevocationRecord record;
  record.serial = serial;
  record.reason_code = request.reason_code;
  record.reason = request.reason;
  record.revoked_at = FloorSecond(now);
  record.passive = true;

  std::optional<ValidatedToken> token;
  std::shared_ptr<const ProvisionerSet> set;
  if (has_ott) {
    set = d.Snapshot();
    MAYFLY_ASSIGN_OR_RETURN(
        token, ValidateToken(request.ott, TokenPurpose::kRevoke,
                             set->provisioners, d.validator_options(), now));
    if (token->claims.subject != serial) {
      return absl::PermissionDeniedError(absl::StrCat(
          "request serial number \"", serial, "\" and token subject \"",
          token->claims.subject, "\" do not match"));
    }
    record.provisioner = token->provisioner->name;
  } else {
    const Certificate& leaf = request.peer_chain.front();
    std::vector<Certificate> intermediates(request.peer_chain.begin() + 1,
                                           request.peer_chain.end());
    intermediates.insert(intermediates.end(), d.ca_chain_.begin(),
                         d.ca_chain_.end());
    VerifyOptions vo;
    vo.purpose = kOidClientAuth;
    MAYFLY_RETURN_IF_ERROR(VerifyChain(leaf, intermediates, d.roots_, now, vo));
    if (leaf.SerialDecimal() != serial) {
      return absl::PermissionDeniedError(
          absl::StrCat("request serial number \"", serial,
                       "\" and certificate serial number \"",
                       leaf.SerialDecimal(), "\" do not match"));
    }
    record.mtls = true;
    record.expires_at = leaf.NotAfter();
  }

  // The CRL drops an entry once its certificate expired: remember when.
  absl::StatusOr<CertificateRecord> issued = d.store_->GetCertificate(serial);
  if (issued.ok()) {
    record.expires_at = issued->not_after;
  } else if (!absl::IsNotFound(issued.status())) {
    return issued.status();
  }

  // Refuse a second revocation before the token is consumed, so the refusal
  // changes nothing.
  std::string already = absl::StrCat("certificate with serial number '", serial,
                                     "' is already revoked");
  MAYFLY_ASSIGN_OR_RETURN(std::optional<RevocationRecord> existing,
                          d.store_->GetRevocation(serial));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(already);
  }
  if (token.has_value()) {
    absl::Status used = d.store_->UseToken(
        TokenId(token->claims, request.ott),
        TokenReplayKeep(token->claims, d.validator_options(), now));
    if (absl::IsAlreadyExists(used)) {
      return absl::UnauthenticatedError("token already used");
    }
    MAYFLY_RETURN_IF_ERROR(used);
  }
  absl::Status revoked = d.store_->Revoke(record);
  if (absl::IsAlreadyExists(revoked)) {
    return absl::AlreadyExistsError(already);
  }
  MAYFLY_RETURN_IF_ERROR(revoked);
  d.BumpRevocationGeneration();
  return absl::OkStatus();
}

absl::StatusOr<IssuedCertificate> Authority::IssueServerCertificate(
    const PublicKey& key, absl::Duration lifetime) {
  Impl& d = *impl_;
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("lifetime must be positive");
  }
  MAYFLY_RETURN_IF_ERROR(internal::CheckLeafKey(key));
  absl::Time now = FloorSecond(d.clock_.Now());
  CertificateTemplate tmpl = LeafTemplate(key);
  MAYFLY_ASSIGN_OR_RETURN(tmpl.serial, internal::NewSerial());
  tmpl.common_name = d.config_.common_name;
  for (const std::string& name : d.config_.dns_names) {
    tmpl.sans.push_back(ClassifySan(StripBrackets(name)));
  }
  tmpl.not_before = now - d.config_.backdate;
  tmpl.not_after = now + lifetime;
  MAYFLY_ASSIGN_OR_RETURN(Certificate leaf, d.Issue(tmpl, key));
  return d.WithChain(std::move(leaf));
}

absl::Status Authority::AddProvisioner(const Provisioner& provisioner) {
  Impl& d = *impl_;
  absl::MutexLock lock(&d.mu());
  std::shared_ptr<const ProvisionerSet> current = d.SnapshotLocked();
  for (const Provisioner& p : current->provisioners) {
    if (p.name == provisioner.name) {
      return absl::AlreadyExistsError(absl::StrCat(
          "provisioner name \"", provisioner.name, "\" is in use"));
    }
    if (p.kid == provisioner.kid) {
      return absl::AlreadyExistsError(
          absl::StrCat("provisioner kid \"", provisioner.kid, "\" is in use"));
    }
  }
  std::vector<Provisioner> next = current->provisioners;
  next.push_back(provisioner);
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<const ProvisionerSet> set,
                          internal::BuildProvisionerSet(
                              std::move(next), current->authority_claims));
  d.SetSnapshotLocked(std::move(set));
  return absl::OkStatus();
}

absl::Status Authority::RemoveProvisioner(absl::string_view name) {
  Impl& d = *impl_;
  absl::MutexLock lock(&d.mu());
  std::shared_ptr<const ProvisionerSet> current = d.SnapshotLocked();
  int index = current->Find(name);
  if (index < 0) {
    return absl::NotFoundError(
        absl::StrCat("no provisioner named \"", name, "\""));
  }
  std::vector<Provisioner> next = current->provisioners;
  next.erase(next.begin() + index);
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<const ProvisionerSet> set,
                          internal::BuildProvisionerSet(
                              std::move(next), current->authority_claims));
  d.SetSnapshotLocked(std::move(set));
  return absl::OkStatus();
}

std::vector<Provisioner> Authority::Provisioners() const {
  return impl_->Snapshot()->provisioners;
}

absl::Status Authority::ReplaceProvisioners(
    std::vector<Provisioner> provisioners, const Claims& authority_claims) {
  Impl& d = *impl_;
  MAYFLY_ASSIGN_OR_RETURN(
      std::shared_ptr<const ProvisionerSet> set,
      internal::BuildProvisionerSet(std::move(provisioners), authority_claims));
  absl::MutexLock lock(&d.mu());
  d.SetSnapshotLocked(std::move(set));
  return absl::OkStatus();
}

const std::vector<Certificate>& Authority::roots() const {
  return impl_->roots_;
}

const Certificate& Authority::intermediate() const {
  return impl_->ca_chain_.front();
}

const std::vector<Certificate>& Authority::ca_chain() const {
  return impl_->ca_chain_;
}

const std::vector<Certificate>& Authority::federated_roots() const {
  return impl_->federated_roots_;
}

const CaConfig& Authority::config() const { return impl_->config_; }

Store& Authority::store() { return *impl_->store_; }

const Clock& Authority::clock() const { return impl_->clock_; }

std::string Crl::ToPem() const { return internal::EncodePem("X509 CRL", der); }

}  // namespace mayfly

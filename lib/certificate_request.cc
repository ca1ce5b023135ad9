// CertificateRequest: PKCS#10 (RFC 2986) creation, strict parsing, and the
// SANs of the PKCS#9 extensionRequest attribute.

#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/certificate.h"
#include "mayfly/status.h"
#include "openssl/bytestring.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/x509.h"

namespace mayfly {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("certificate request ", what));
}

}  // namespace

namespace internal {

absl::Status RequestedExtensions(absl::Span<const uint8_t> der,
                                 std::vector<Extension>* out) {
  const absl::Status malformed = Malformed("is malformed");
  CBS in, req, info, attrs;
  uint64_t version;
  CBS_init(&in, der.data(), der.size());
  if (!CBS_get_asn1(&in, &req, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&req, &info, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_uint64(&info, &version) || version != 0 ||
      !CBS_get_asn1(&info, nullptr, CBS_ASN1_SEQUENCE) ||  // subject
      !CBS_get_asn1(&info, nullptr, CBS_ASN1_SEQUENCE) ||  // SPKI
      !CBS_get_asn1(&info, &attrs,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      CBS_len(&info) != 0) {
    return malformed;
  }
  bool seen = false;
  while (CBS_len(&attrs) > 0) {
    CBS attr, type, values;
    if (!CBS_get_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE) ||
        !CBS_get_asn1(&attr, &type, CBS_ASN1_OBJECT) ||
        !CBS_get_asn1(&attr, &values, CBS_ASN1_SET) || CBS_len(&attr) != 0) {
      return malformed;
    }
    if (internal::OidToText(type) != internal::kOidExtensionRequest) {
      continue;
    }
    CBS exts;
    if (seen || !CBS_get_asn1(&values, &exts, CBS_ASN1_SEQUENCE) ||
        CBS_len(&values) != 0) {
      return Malformed("has a malformed extensionRequest attribute");
    }
    seen = true;
    std::set<std::string> oids;
    while (CBS_len(&exts) > 0) {
      CBS ext, oid, value;
      int critical = 0;
      if (!CBS_get_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
          !CBS_get_asn1(&ext, &oid, CBS_ASN1_OBJECT) ||
          (CBS_peek_asn1_tag(&ext, CBS_ASN1_BOOLEAN) &&
           !CBS_get_asn1_bool(&ext, &critical)) ||
          !CBS_get_asn1(&ext, &value, CBS_ASN1_OCTETSTRING) ||
          CBS_len(&ext) != 0) {
        return Malformed("has a malformed requested extension");
      }
      Extension e;
      e.oid = internal::OidToText(oid);
      e.critical = critical != 0;
      e.value.assign(CBS_data(&value), CBS_data(&value) + CBS_len(&value));
      if (e.oid.empty() || !oids.insert(e.oid).second) {
        return Malformed("has a malformed or duplicate requested extension");
      }
      out->push_back(std::move(e));
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

namespace {

std::vector<uint8_t> SubjectDer(X509_REQ* req) {
  uint8_t* der = nullptr;
  int len = i2d_X509_NAME(X509_REQ_get_subject_name(req), &der);
  if (len <= 0) {
    return {};
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return std::vector<uint8_t>(der, der + len);
}

}  // namespace

absl::StatusOr<CertificateRequest> CertificateRequest::Create(
    const PrivateKey& key, const CsrOptions& options) {
  std::vector<SubjectAltName> sans;
  for (const std::string& name : options.sans) {
    sans.push_back(ClassifySan(name));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> subject,
                          internal::EncodeName(options.common_name, ""));
  std::vector<uint8_t> spki = key.public_key().ToSpkiDer();

  // CertificationRequestInfo (RFC 2986 section 4.1).
  bssl::ScopedCBB cbb;
  CBB info, attrs;
  if (!CBB_init(cbb.get(), 256) ||
      !CBB_add_asn1(cbb.get(), &info, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1_uint64(&info, 0) ||
      !CBB_add_bytes(&info, subject.data(), subject.size()) ||
      !CBB_add_bytes(&info, spki.data(), spki.size()) ||
      !CBB_add_asn1(&info, &attrs,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "encoding certificate request");
  }
  if (!sans.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> names,
                            internal::EncodeGeneralNames(sans));
    CBB attr, oid, values, exts, ext, ext_oid;
    if (!CBB_add_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&attr, &oid, CBS_ASN1_OBJECT) ||
        !CBB_add_asn1_oid_from_text(&oid, internal::kOidExtensionRequest,
                                    strlen(internal::kOidExtensionRequest)) ||
        !CBB_add_asn1(&attr, &values, CBS_ASN1_SET) ||
        !CBB_add_asn1(&values, &exts, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&ext, &ext_oid, CBS_ASN1_OBJECT) ||
        !CBB_add_asn1_oid_from_text(&ext_oid, internal::kOidSubjectAltName,
                                    strlen(internal::kOidSubjectAltName)) ||
        !CBB_add_asn1_octet_string(&ext, names.data(), names.size())) {
      return internal::BsslError(absl::StatusCode::kInternal,
                                 "encoding certificate request");
    }
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> info_der,
                          internal::CbbToVector(cbb.get()));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> der,
                          internal::SignToBeSigned(key, info_der));
  absl::StatusOr<CertificateRequest> req = FromDer(der);
  if (!req.ok()) {
    return absl::Status(absl::StatusCode::kInternal,
                        absl::StrCat("created request does not parse: ",
                                     req.status().message()));
  }
  return req;
}

absl::StatusOr<CertificateRequest> CertificateRequest::FromDer(
    absl::Span<const uint8_t> der) {
  MAYFLY_RETURN_IF_ERROR(
      internal::CheckSingleSequence(der, "certificate request"));
  const uint8_t* p = der.data();
  bssl::UniquePtr<X509_REQ> req(
      d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (req == nullptr) {
    return internal::BsslError(absl::StatusCode::kInvalidArgument,
                               "certificate request is malformed");
  }
  if (p != der.data() + der.size()) {
    return Malformed("has trailing bytes");
  }
  std::vector<Extension> exts;
  MAYFLY_RETURN_IF_ERROR(internal::RequestedExtensions(der, &exts));
  for (const Extension& ext : exts) {
    if (ext.oid == internal::kOidSubjectAltName) {
      absl::Status st = internal::ParseGeneralNames(ext.value).status();
      if (!st.ok()) {
        return Malformed(st.message());
      }
    }
  }
  std::vector<uint8_t> subject = SubjectDer(req.get());
  if (subject.empty() || !internal::NameToString(subject).ok()) {
    return Malformed("has a malformed subject");
  }
  bssl::UniquePtr<EVP_PKEY> pkey(X509_REQ_get_pubkey(req.get()));
  if (pkey == nullptr) {
    return internal::BsslError(
        absl::StatusCode::kInvalidArgument,
        "certificate request public key is not supported");
  }
  absl::StatusOr<PublicKey> key = PublicKey::FromNative(pkey.get());
  if (!key.ok()) {
    return Malformed(absl::StrCat("public key: ", key.status().message()));
  }
  auto rep = std::make_shared<Rep>();
  rep->req = std::shared_ptr<X509_REQ>(req.release(), X509_REQ_free);
  rep->der.assign(der.begin(), der.end());
  return CertificateRequest(std::move(rep));
}

absl::StatusOr<CertificateRequest> CertificateRequest::FromPem(
    absl::string_view pem) {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<internal::PemBlock> blocks,
                          internal::DecodePemBlocks(pem));
  const internal::PemBlock* found = nullptr;
  for (const internal::PemBlock& block : blocks) {
    if (block.type != "CERTIFICATE REQUEST" &&
        block.type != "NEW CERTIFICATE REQUEST") {
      continue;
    }
    if (found != nullptr) {
      return absl::InvalidArgumentError(
          "PEM holds more than one certificate request; want exactly 1");
    }
    found = &block;
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError("no CERTIFICATE REQUEST PEM block found");
  }
  if (!found->headers.empty()) {
    return absl::InvalidArgumentError(
        "CERTIFICATE REQUEST PEM block has headers; want none (RFC 7468)");
  }
  return FromDer(found->der);
}

std::string CertificateRequest::ToPem() const {
  return internal::EncodePem("CERTIFICATE REQUEST", der());
}

std::string CertificateRequest::Subject() const {
  return internal::NameToString(SubjectDer(native())).value_or("");
}

std::string CertificateRequest::CommonName() const {
  return internal::NameCommonName(SubjectDer(native())).value_or("");
}

std::vector<SubjectAltName> CertificateRequest::Sans() const {
  std::vector<Extension> exts;
  if (!internal::RequestedExtensions(der(), &exts).ok()) {
    return {};
  }
  for (const Extension& ext : exts) {
    if (ext.oid == internal::kOidSubjectAltName) {
      return internal::ParseGeneralNames(ext.value).value_or(
          std::vector<SubjectAltName>());
    }
  }
  return {};
}

PublicKey CertificateRequest::public_key() const {
  // FromDer checked that FromNative accepts this key.
  bssl::UniquePtr<EVP_PKEY> pkey(X509_REQ_get_pubkey(native()));
  return *PublicKey::FromNative(pkey.get());
}

absl::Status CertificateRequest::VerifySignature() const {
  bssl::UniquePtr<EVP_PKEY> pkey(X509_REQ_get_pubkey(native()));
  if (pkey == nullptr || X509_REQ_verify(native(), pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "certificate request signature does not verify with its own key");
  }
  return absl::OkStatus();
}

}  // namespace mayfly

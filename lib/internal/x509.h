// X.509 building blocks shared by certificate.cc, certificate_request.cc,
// certificate_builder.cc, chain.cc and inspect.cc. Private to mayfly. DER is
// read with CBS and written with CBB; nothing here touches BoringSSL's
// template ASN.1 code.

#ifndef MAYFLY_LIB_INTERNAL_X509_H_
#define MAYFLY_LIB_INTERNAL_X509_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "openssl/base.h"
#include "openssl/bytestring.h"

namespace mayfly {
namespace internal {

// IssueCertificateDer is IssueCertificate (certificate.h) without parsing
// the result back: the signed DER. Callers whose template holds only
// checked parts (extensions taken from a strictly parsed certificate) wrap
// it with CertificateAccess::FromIssuedDer.
//
// `subject_spki`, if not empty, is subject_key's SubjectPublicKeyInfo DER as
// a certificate already holds it: encoding the key again costs an EC point
// conversion, a tenth of a renewal.
absl::StatusOr<std::vector<uint8_t>> IssueCertificateDer(
    const CertificateTemplate& tmpl, const PublicKey& subject_key,
    const PrivateKey& issuer_key, const Certificate* issuer,
    absl::Span<const uint8_t> subject_spki = {});

// CertificateSpki returns the SubjectPublicKeyInfo element (DER, pointing
// into `cert_der`) of a certificate. InvalidArgument if the structure up to
// it is malformed.
absl::StatusOr<absl::Span<const uint8_t>> CertificateSpki(
    absl::Span<const uint8_t> cert_der);

// CertificateAccess makes Certificates from DER that mayfly itself has just
// encoded and signed, without parsing it until it is read (the parse costs
// as much as a quarter of an issuance). Never for DER from outside.
class CertificateAccess {
 public:
  static Certificate FromIssuedDer(std::vector<uint8_t> der);
};

// Dotted OIDs of the standard extensions (RFC 5280 section 4.2.1) and of
// PKCS#9 extensionRequest (RFC 2985 section 5.4.2).
inline constexpr char kOidSubjectKeyId[] = "2.5.29.14";
inline constexpr char kOidKeyUsage[] = "2.5.29.15";
inline constexpr char kOidSubjectAltName[] = "2.5.29.17";
inline constexpr char kOidBasicConstraints[] = "2.5.29.19";
inline constexpr char kOidAuthorityKeyId[] = "2.5.29.35";
inline constexpr char kOidExtKeyUsage[] = "2.5.29.37";
inline constexpr char kOidExtensionRequest[] = "1.2.840.113549.1.9.14";

// OidToText returns the dotted form of OBJECT IDENTIFIER contents, or "" if
// they are malformed.
std::string OidToText(const CBS& oid);

// IsValidUtf8 reports whether `s` is well-formed UTF-8 (no overlong forms,
// surrogates or code points above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

// NameToString formats a DER Name in RFC 4514 order ("CN=a,O=b"): RDNs from
// last to first, multi-valued RDNs joined with '+', the RFC's short names
// for the usual attributes and dotted OIDs for the others, special
// characters escaped, control bytes as \XX, and values that are not strings
// as #hex. InvalidArgument if `name_der` is not a Name.
absl::StatusOr<std::string> NameToString(absl::Span<const uint8_t> name_der);

// NameCommonName returns the value of the last CN in a DER Name, "" if there
// is none. InvalidArgument if `name_der` is not a Name.
absl::StatusOr<std::string> NameCommonName(absl::Span<const uint8_t> name_der);

// ParseGeneralNames parses the GeneralNames of a subjectAltName extension
// value: DNS names, e-mail addresses and URIs (ASCII IA5Strings) and IP
// addresses (4 or 16 bytes, returned in text form). Other kinds of name are
// skipped. InvalidArgument if the value is malformed.
absl::StatusOr<std::vector<SubjectAltName>> ParseGeneralNames(
    absl::Span<const uint8_t> der);

// EncodeGeneralNames returns the DER GeneralNames for `sans`.
// InvalidArgument for an empty value, a non-ASCII name or an IP that does
// not parse.
absl::StatusOr<std::vector<uint8_t>> EncodeGeneralNames(
    absl::Span<const SubjectAltName> sans);

// EncodeName returns a DER Name of "O=`organization`" then
// "CN=`common_name`" (each omitted when empty), each a PrintableString when
// its characters allow it and a UTF8String otherwise, as Go's x509 package
// (and so step-ca) encodes them. InvalidArgument for a value longer than 64
// bytes (RFC 5280 upper bounds) or that is not UTF-8.
absl::StatusOr<std::vector<uint8_t>> EncodeName(absl::string_view common_name,
                                                absl::string_view organization);

// AddSignatureAlgorithm writes the AlgorithmIdentifier `signer` produces:
// ecdsa-with-SHA256 (P-256), ecdsa-with-SHA384 (P-384), Ed25519, or
// sha256WithRSAEncryption.
bool AddSignatureAlgorithm(CBB* cbb, KeyType signer);

// SignToBeSigned signs the DER `tbs` with `key` and returns SEQUENCE { tbs,
// signatureAlgorithm, BIT STRING signature }, the shape shared by
// certificates and certificate requests.
absl::StatusOr<std::vector<uint8_t>> SignToBeSigned(
    const PrivateKey& key, absl::Span<const uint8_t> tbs);

// SubjectPublicKeyBits returns the contents of the subjectPublicKey BIT
// STRING of a DER SubjectPublicKeyInfo (without the unused-bits byte).
// InvalidArgument if the SPKI is malformed.
absl::StatusOr<std::vector<uint8_t>> SubjectPublicKeyBits(
    absl::Span<const uint8_t> spki);

// Parsers of the standard extension values (the extnValue contents).
// InvalidArgument when malformed.
absl::StatusOr<uint32_t> ParseKeyUsage(absl::Span<const uint8_t> der);
absl::StatusOr<std::vector<std::string>> ParseExtKeyUsage(
    absl::Span<const uint8_t> der);
absl::StatusOr<BasicConstraints> ParseBasicConstraints(
    absl::Span<const uint8_t> der);
absl::StatusOr<std::vector<uint8_t>> ParseSubjectKeyId(
    absl::Span<const uint8_t> der);
absl::StatusOr<std::vector<uint8_t>> ParseAuthorityKeyId(
    absl::Span<const uint8_t> der);

// RequestedExtensions walks a DER CertificationRequest to the Extensions of
// its PKCS#9 extensionRequest attribute and appends them to `out` (nothing
// when there is none). InvalidArgument if the request is malformed, the
// attribute repeats, or an extension repeats.
absl::Status RequestedExtensions(absl::Span<const uint8_t> der,
                                 std::vector<Extension>* out);

// StepProvisioner is step-ca's provisioner extension (STEP-PROTOCOL.md
// section 6.2).
struct StepProvisioner {
  int64_t type = 0;  // 1 = JWK, 2 = OIDC, ...
  std::string name;
  std::string credential_id;
  std::vector<std::string> key_value_pairs;
};

// ParseStepProvisioner parses the extension value. InvalidArgument when
// malformed.
absl::StatusOr<StepProvisioner> ParseStepProvisioner(
    absl::Span<const uint8_t> der);

// CheckSingleSequence checks that `der` is exactly one DER SEQUENCE with no
// trailing bytes, the outer shape of a certificate or a request. `what`
// starts the error message ("certificate", "certificate request").
// InvalidArgument otherwise.
absl::Status CheckSingleSequence(absl::Span<const uint8_t> der,
                                 absl::string_view what);

// StepProvisionerTypeName returns "JWK", "OIDC", ... or "" if unknown.
absl::string_view StepProvisionerTypeName(int64_t type);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_INTERNAL_X509_H_

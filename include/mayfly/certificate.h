// File: mayfly/certificate.h
//
// X.509 certificates and PKCS#10 certificate requests: parsed, read-only
// views of everything the CA and its clients look at; CSR creation; issuing
// a certificate from a template (what the CA core signs with); verifying a
// chain to a set of roots; and Inspect(), a text a person can read.
//
//   MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
//                           Certificate::ParsePemBundle(pem));
//   MAYFLY_RETURN_IF_ERROR(VerifyChain(chain[0], {chain.begin() + 1,
//                          chain.end()}, roots, clock.Now(), {}));
//   std::cout << Inspect(chain[0]);
//
// Certificates and requests are immutable values; copies share the parsed
// BoringSSL object. Every function is thread-safe.

#ifndef MAYFLY_CERTIFICATE_H_
#define MAYFLY_CERTIFICATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mayfly/key.h"

// BoringSSL's types, named without including its headers.
struct x509_st;
struct X509_req_st;

namespace mayfly {

namespace internal {
class CertificateAccess;
}  // namespace internal

// SanType classifies a subjectAltName entry (RFC 5280 section 4.2.1.6).
enum class SanType { kDns, kIp, kEmail, kUri };

// SubjectAltName is one SAN: `value` is the DNS name, the e-mail address,
// the URI, or the IP address in text form ("10.0.0.7", "2001:db8::1").
struct SubjectAltName {
  SanType type;
  std::string value;

  bool operator==(const SubjectAltName& o) const {
    return type == o.type && value == o.value;
  }
};

// ClassifySan turns a name as step's tokens carry it into a SAN the way
// step-ca does: an IP if it parses as one (its value then in canonical text
// form, an IPv4-mapped IPv6 address as IPv4, as Go keeps it), a URI if it
// has a scheme, an e-mail if it contains '@', else a DNS name.
SubjectAltName ClassifySan(absl::string_view name);

// KeyUsage bits (RFC 5280 section 4.2.1.3), as a bit set.
enum KeyUsageBit : uint32_t {
  kKeyUsageDigitalSignature = 1u << 0,
  kKeyUsageNonRepudiation = 1u << 1,
  kKeyUsageKeyEncipherment = 1u << 2,
  kKeyUsageDataEncipherment = 1u << 3,
  kKeyUsageKeyAgreement = 1u << 4,
  kKeyUsageKeyCertSign = 1u << 5,
  kKeyUsageCrlSign = 1u << 6,
  kKeyUsageEncipherOnly = 1u << 7,
  kKeyUsageDecipherOnly = 1u << 8,
};

// Dotted OIDs mayfly uses.
inline constexpr char kOidServerAuth[] = "1.3.6.1.5.5.7.3.1";
inline constexpr char kOidClientAuth[] = "1.3.6.1.5.5.7.3.2";
// step-ca's provisioner extension (STEP-PROTOCOL.md section 6.2).
inline constexpr char kOidStepProvisioner[] = "1.3.6.1.4.1.37476.9000.64.1";

// Extension is one X.509v3 extension: its dotted OID, criticality, and the
// DER contents of its extnValue OCTET STRING.
struct Extension {
  std::string oid;
  bool critical = false;
  std::vector<uint8_t> value;
};

// BasicConstraints as read from a certificate.
struct BasicConstraints {
  bool is_ca = false;
  std::optional<int> path_len;  // absent means unlimited
};

// Certificate is a parsed X.509 certificate. Parsing is strict: the DER must
// be exactly one certificate with no trailing data, its extensions must
// parse (no duplicates), and its public key must be one of the KeyTypes.
class Certificate {
 public:
  // FromDer parses one DER certificate. InvalidArgument otherwise.
  static absl::StatusOr<Certificate> FromDer(absl::Span<const uint8_t> der);

  // FromPem parses exactly one "CERTIFICATE" PEM block (text around it is
  // ignored, a second certificate is an error). InvalidArgument otherwise.
  static absl::StatusOr<Certificate> FromPem(absl::string_view pem);

  // ParsePemBundle parses every "CERTIFICATE" block in order (a chain file,
  // a roots bundle). InvalidArgument if there is none or one is malformed.
  static absl::StatusOr<std::vector<Certificate>> ParsePemBundle(
      absl::string_view pem);

  // der returns the certificate's DER encoding.
  const std::vector<uint8_t>& der() const { return rep_->der; }

  // ToPem returns one "CERTIFICATE" PEM block ending in a newline.
  std::string ToPem() const;

  // Serial number as big-endian bytes (no leading zero) and as the decimal
  // string step uses on the wire ("59636004850364466675608080466579278406").
  std::vector<uint8_t> Serial() const;
  std::string SerialDecimal() const;

  // Subject and Issuer as one line in RFC 4514 order ("CN=a,O=b");
  // CommonName is the subject's last CN, or "" if none.
  std::string Subject() const;
  std::string Issuer() const;
  std::string CommonName() const;

  // RawSubject / RawIssuer return the DER Name.
  std::vector<uint8_t> RawSubject() const;
  std::vector<uint8_t> RawIssuer() const;

  // Sans returns every DNS, IP, e-mail and URI subjectAltName in order.
  std::vector<SubjectAltName> Sans() const;

  absl::Time NotBefore() const;
  absl::Time NotAfter() const;

  // KeyUsage returns the KeyUsageBit set, or nullopt if the extension is
  // absent.
  std::optional<uint32_t> KeyUsage() const;

  // ExtKeyUsage returns the EKU OIDs in dotted form (empty if absent).
  std::vector<std::string> ExtKeyUsage() const;

  // Basic returns basicConstraints, or nullopt if absent.
  std::optional<BasicConstraints> Basic() const;

  // SubjectKeyId / AuthorityKeyId return the key identifiers, empty if
  // absent.
  std::vector<uint8_t> SubjectKeyId() const;
  std::vector<uint8_t> AuthorityKeyId() const;

  // Extensions returns every extension in order; FindExtension the one with
  // `oid`, or nullopt.
  std::vector<Extension> Extensions() const;
  std::optional<Extension> FindExtension(absl::string_view oid) const;

  // public_key returns the subject public key.
  PublicKey public_key() const;

  // Sha256Fingerprint returns the SHA-256 of the DER (32 bytes);
  // FingerprintHex the same as lowercase hex, as step prints and pins it.
  std::vector<uint8_t> Sha256Fingerprint() const;
  std::string FingerprintHex() const;

  // SignatureAlgorithm returns the signature algorithm's name
  // ("ecdsa-with-SHA256", "ED25519", "sha256WithRSAEncryption").
  std::string SignatureAlgorithm() const;

  // VerifySignature checks that `issuer_key` signed this certificate.
  // Unauthenticated if not.
  absl::Status VerifySignature(const PublicKey& issuer_key) const;

  // Equals compares the DER encodings.
  bool Equals(const Certificate& other) const { return der() == other.der(); }

  // native returns the BoringSSL X509, borrowed for this object's lifetime.
  // For mayfly's own modules; not a stable API.
  x509_st* native() const;

 private:
  friend class internal::CertificateAccess;
  // A certificate the CA has just signed is not parsed until something
  // reads it (most are only sent on as DER): `x509` is set once, under
  // `parsed`, by FromDer at once or by native() on first use.
  struct Rep {
    std::vector<uint8_t> der;
    mutable absl::once_flag parsed;
    mutable std::shared_ptr<x509_st> x509;
  };
  explicit Certificate(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

// CsrOptions describe a certificate request to create.
struct CsrOptions {
  std::string common_name;        // subject CN; may be empty
  std::vector<std::string> sans;  // each classified with ClassifySan
};

// CertificateRequest is a parsed PKCS#10 request.
class CertificateRequest {
 public:
  // Create builds a request for `key` and signs it. InvalidArgument for a
  // SAN that cannot be encoded (an IP that is not an address, a non-ASCII
  // DNS name).
  static absl::StatusOr<CertificateRequest> Create(const PrivateKey& key,
                                                   const CsrOptions& options);

  // FromDer / FromPem ("CERTIFICATE REQUEST", also "NEW CERTIFICATE
  // REQUEST") parse one request strictly. InvalidArgument otherwise. They do
  // not check the signature: call VerifySignature.
  static absl::StatusOr<CertificateRequest> FromDer(
      absl::Span<const uint8_t> der);
  static absl::StatusOr<CertificateRequest> FromPem(absl::string_view pem);

  const std::vector<uint8_t>& der() const { return rep_->der; }
  std::string ToPem() const;

  std::string Subject() const;
  std::string CommonName() const;

  // Sans returns the SANs of the extensionRequest attribute.
  std::vector<SubjectAltName> Sans() const;

  PublicKey public_key() const;

  // VerifySignature checks the request is signed by its own key.
  // InvalidArgument if not (a request that does not prove possession of its
  // key is malformed input).
  absl::Status VerifySignature() const;

  X509_req_st* native() const { return rep_->req.get(); }

 private:
  struct Rep {
    std::shared_ptr<X509_req_st> req;
    std::vector<uint8_t> der;
  };
  explicit CertificateRequest(std::shared_ptr<const Rep> rep)
      : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

// CertificateTemplate is what an issuer decides a certificate says.
struct CertificateTemplate {
  std::vector<uint8_t> serial;       // big-endian, non-empty, at most 20 bytes
  std::string common_name;           // subject CN ("" for none)
  std::string organization;          // subject O ("" for none)
  std::vector<uint8_t> raw_subject;  // if non-empty, used as the subject DER
                                     // Name instead of CN/O (renewals)
  std::vector<SubjectAltName> sans;
  absl::Time not_before;
  absl::Time not_after;
  uint32_t key_usage = 0;                  // KeyUsageBit set; 0 omits it
  std::vector<std::string> ext_key_usage;  // dotted OIDs; empty omits it
  std::optional<BasicConstraints> basic;   // nullopt omits it
  // Other extensions, added as given after the standard ones. An extension
  // whose OID the template also sets above, a subjectKeyIdentifier or (for a
  // CA-issued certificate) an authorityKeyIdentifier, which IssueCertificate
  // always computes, or an OID given twice is InvalidArgument.
  std::vector<Extension> extra_extensions;
};

// IssueCertificate signs `tmpl` for `subject_key` with `issuer_key`.
// `issuer` is the issuing CA certificate, or NULL for a self-signed one (then
// `issuer_key` must be the private half of `subject_key`). The certificate
// is X.509v3 with SKI (SHA-1 of the subject public key bits, RFC 5280
// 4.2.1.2 method 1) and, when issued by a CA, AKI = the issuer's SKI (none
// if the issuer has no SKI); key
// usage and basic constraints are critical (and the SANs too when the
// subject is empty). The signature is ecdsa-with-SHA256 for a P-256
// `issuer_key`, ecdsa-with-SHA384 for P-384, Ed25519 for Ed25519.
// InvalidArgument for a bad template (empty, zero or oversized serial,
// not_after before not_before, a name over 64 characters, a SAN that cannot
// be encoded) or an `issuer_key` that does not match `issuer`.
absl::StatusOr<Certificate> IssueCertificate(const CertificateTemplate& tmpl,
                                             const PublicKey& subject_key,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer);

// VerifyOptions tune VerifyChain.
struct VerifyOptions {
  // Required extended key usage of the leaf (kOidServerAuth, kOidClientAuth)
  // or "" for any.
  std::string purpose;
};

// VerifyChain checks that `leaf` chains through some of `intermediates` to
// one of `roots` at time `at`: signatures, validity periods, CA basic
// constraints and path lengths, key usage, and the purpose. Only `roots`
// are trusted. Unauthenticated with the reason if it does not;
// InvalidArgument if `options.purpose` is not a dotted OID.
absl::Status VerifyChain(const Certificate& leaf,
                         absl::Span<const Certificate> intermediates,
                         absl::Span<const Certificate> roots, absl::Time at,
                         const VerifyOptions& options = {});

// Inspect returns a multi-line description of a certificate or request, in
// the spirit of `step certificate inspect`: serial, subject, issuer,
// validity, key, SANs, usages, constraints, extensions, fingerprint.
std::string Inspect(const Certificate& cert);
std::string Inspect(const CertificateRequest& csr);

}  // namespace mayfly

#endif  // MAYFLY_CERTIFICATE_H_

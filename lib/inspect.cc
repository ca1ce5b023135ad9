// Inspect: a readable description of a certificate or request, laid out
// like `step certificate inspect` (and `openssl x509 -text`).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/certificate.h"
#include "openssl/obj.h"
#include "openssl/x509.h"

namespace mayfly {
namespace {

constexpr absl::string_view kIndent = "    ";

std::string Indent(int level) {
  std::string out;
  for (int i = 0; i < level; i++) {
    out.append(kIndent.data(), kIndent.size());
  }
  return out;
}

void Line(std::string* out, int level, absl::string_view text) {
  absl::StrAppend(out, Indent(level), text, "\n");
}

std::string UtcTime(absl::Time t) {
  return absl::FormatTime("%b %e %H:%M:%S %Y UTC", t, absl::UTCTimeZone());
}

std::string AlgorithmName(const X509_ALGOR* alg) {
  const ASN1_OBJECT* obj;
  X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  int nid = OBJ_obj2nid(obj);
  if (nid != NID_undef) {
    return OBJ_nid2ln(nid);
  }
  CBS oid;
  CBS_init(&oid, OBJ_get0_data(obj), OBJ_length(obj));
  return internal::OidToText(oid);
}

void PublicKeyLines(std::string* out, int level, const PublicKey& key) {
  Line(out, level, "Subject Public Key Info:");
  switch (key.type()) {
    case KeyType::kP256:
    case KeyType::kP384:
      Line(out, level + 1, "Public Key Algorithm: ECDSA");
      Line(out, level + 2, absl::StrCat("Public-Key: (", key.bits(), " bit)"));
      Line(out, level + 2, absl::StrCat("Curve: ", KeyTypeName(key.type())));
      break;
    case KeyType::kEd25519:
      Line(out, level + 1, "Public Key Algorithm: Ed25519");
      Line(out, level + 2, "Public-Key: (256 bit)");
      break;
    case KeyType::kRsa:
      Line(out, level + 1, "Public Key Algorithm: RSA");
      Line(out, level + 2, absl::StrCat("Public-Key: (", key.bits(), " bit)"));
      break;
  }
}

std::string KeyUsageNames(uint32_t bits) {
  static const char* const kNames[] = {
      "Digital Signature", "Content Commitment", "Key Encipherment",
      "Data Encipherment", "Key Agreement",      "Certificate Sign",
      "CRL Sign",          "Encipher Only",      "Decipher Only"};
  std::vector<std::string> names;
  for (size_t i = 0; i < std::size(kNames); i++) {
    if (bits & (1u << i)) {
      names.push_back(kNames[i]);
    }
  }
  return absl::StrJoin(names, ", ");
}

std::string ExtKeyUsageName(const std::string& oid) {
  struct Known {
    const char* oid;
    const char* name;
  };
  static const Known kKnown[] = {
      {kOidServerAuth, "Server Authentication"},
      {kOidClientAuth, "Client Authentication"},
      {"1.3.6.1.5.5.7.3.3", "Code Signing"},
      {"1.3.6.1.5.5.7.3.4", "E-mail Protection"},
      {"1.3.6.1.5.5.7.3.8", "Time Stamping"},
      {"1.3.6.1.5.5.7.3.9", "OCSP Signing"},
      {"2.5.29.37.0", "Any Extended Key Usage"},
  };
  for (const Known& k : kKnown) {
    if (oid == k.oid) {
      return k.name;
    }
  }
  return oid;
}

std::string SanLine(const SubjectAltName& san) {
  switch (san.type) {
    case SanType::kDns:
      return absl::StrCat("DNS:", san.value);
    case SanType::kIp:
      return absl::StrCat("IP Address:", san.value);
    case SanType::kEmail:
      return absl::StrCat("email:", san.value);
    case SanType::kUri:
      return absl::StrCat("URI:", san.value);
  }
  return san.value;
}

// HexLines writes `data` as colon-separated uppercase hex, 18 bytes a line,
// as openssl does.
void HexLines(std::string* out, int level, absl::Span<const uint8_t> data) {
  for (size_t i = 0; i < data.size(); i += 18) {
    std::string line = internal::HexColons(data.subspan(i, 18));
    if (i + 18 < data.size()) {
      line.push_back(':');
    }
    Line(out, level, line);
  }
}

// ExtensionLines describes one extension: the standard ones decoded, step's
// provisioner extension decoded, and anything else as its OID and hex.
void ExtensionLines(std::string* out, int level, const Extension& ext) {
  absl::string_view critical = ext.critical ? " critical" : "";
  auto header = [&](absl::string_view name) {
    Line(out, level, absl::StrCat(name, ":", critical));
  };
  if (ext.oid == internal::kOidKeyUsage) {
    if (auto v = internal::ParseKeyUsage(ext.value); v.ok()) {
      header("X509v3 Key Usage");
      Line(out, level + 1, KeyUsageNames(*v));
      return;
    }
  } else if (ext.oid == internal::kOidExtKeyUsage) {
    if (auto v = internal::ParseExtKeyUsage(ext.value); v.ok()) {
      std::vector<std::string> names;
      for (const std::string& oid : *v) {
        names.push_back(ExtKeyUsageName(oid));
      }
      header("X509v3 Extended Key Usage");
      Line(out, level + 1, absl::StrJoin(names, ", "));
      return;
    }
  } else if (ext.oid == internal::kOidBasicConstraints) {
    if (auto v = internal::ParseBasicConstraints(ext.value); v.ok()) {
      header("X509v3 Basic Constraints");
      std::string text = v->is_ca ? "CA:TRUE" : "CA:FALSE";
      if (v->path_len.has_value()) {
        absl::StrAppend(&text, ", pathlen:", *v->path_len);
      }
      Line(out, level + 1, text);
      return;
    }
  } else if (ext.oid == internal::kOidSubjectKeyId) {
    if (auto v = internal::ParseSubjectKeyId(ext.value); v.ok()) {
      header("X509v3 Subject Key Identifier");
      Line(out, level + 1, internal::HexColons(*v));
      return;
    }
  } else if (ext.oid == internal::kOidAuthorityKeyId) {
    if (auto v = internal::ParseAuthorityKeyId(ext.value); v.ok()) {
      header("X509v3 Authority Key Identifier");
      Line(out, level + 1, absl::StrCat("keyid:", internal::HexColons(*v)));
      return;
    }
  } else if (ext.oid == internal::kOidSubjectAltName) {
    if (auto v = internal::ParseGeneralNames(ext.value); v.ok()) {
      header("X509v3 Subject Alternative Name");
      for (const SubjectAltName& san : *v) {
        Line(out, level + 1, SanLine(san));
      }
      return;
    }
  } else if (ext.oid == kOidStepProvisioner) {
    if (auto v = internal::ParseStepProvisioner(ext.value); v.ok()) {
      header("X509v3 Step Provisioner");
      absl::string_view type = internal::StepProvisionerTypeName(v->type);
      Line(out, level + 1,
           absl::StrCat("Type: ", type.empty() ? absl::StrCat(v->type) : type));
      Line(out, level + 1, absl::StrCat("Name: ", v->name));
      if (!v->credential_id.empty()) {
        Line(out, level + 1, absl::StrCat("CredentialID: ", v->credential_id));
      }
      for (const std::string& kv : v->key_value_pairs) {
        Line(out, level + 1, kv);
      }
      return;
    }
  }
  header(ext.oid);
  HexLines(out, level + 1, ext.value);
}

}  // namespace

std::string Inspect(const Certificate& cert) {
  std::string out;
  Line(&out, 0, "Certificate:");
  Line(&out, 1, "Data:");
  long version = X509_get_version(cert.native());
  Line(&out, 2,
       absl::StrCat("Version: ", version + 1, " (0x", absl::Hex(version), ")"));
  Line(&out, 2,
       absl::StrCat("Serial Number: ", cert.SerialDecimal(), " (0x",
                    internal::Hex(cert.Serial()), ")"));
  Line(&out, 1,
       absl::StrCat("Signature Algorithm: ", cert.SignatureAlgorithm()));
  Line(&out, 2, absl::StrCat("Issuer: ", cert.Issuer()));
  Line(&out, 2, "Validity");
  Line(&out, 3, absl::StrCat("Not Before: ", UtcTime(cert.NotBefore())));
  Line(&out, 3, absl::StrCat("Not After : ", UtcTime(cert.NotAfter())));
  Line(&out, 2, absl::StrCat("Subject: ", cert.Subject()));
  PublicKeyLines(&out, 2, cert.public_key());
  std::vector<Extension> exts = cert.Extensions();
  if (!exts.empty()) {
    Line(&out, 2, "X509v3 extensions:");
    for (const Extension& ext : exts) {
      ExtensionLines(&out, 3, ext);
    }
  }
  Line(&out, 1,
       absl::StrCat("Signature Algorithm: ", cert.SignatureAlgorithm()));
  const ASN1_BIT_STRING* sig;
  const X509_ALGOR* alg;
  X509_get0_signature(&sig, &alg, cert.native());
  HexLines(&out, 2,
           absl::MakeConstSpan(ASN1_STRING_get0_data(sig),
                               static_cast<size_t>(ASN1_STRING_length(sig))));
  Line(&out, 1, absl::StrCat("SHA-256 Fingerprint: ", cert.FingerprintHex()));
  return out;
}

std::string Inspect(const CertificateRequest& csr) {
  std::string out;
  Line(&out, 0, "Certificate Request:");
  Line(&out, 1, "Data:");
  Line(&out, 2, "Version: 1 (0x0)");
  Line(&out, 2, absl::StrCat("Subject: ", csr.Subject()));
  PublicKeyLines(&out, 2, csr.public_key());
  std::vector<Extension> exts;
  if (internal::RequestedExtensions(csr.der(), &exts).ok() && !exts.empty()) {
    Line(&out, 2, "Requested Extensions:");
    for (const Extension& ext : exts) {
      ExtensionLines(&out, 3, ext);
    }
  }
  const ASN1_BIT_STRING* sig;
  const X509_ALGOR* alg;
  X509_REQ_get0_signature(csr.native(), &sig, &alg);
  Line(&out, 1, absl::StrCat("Signature Algorithm: ", AlgorithmName(alg)));
  HexLines(&out, 2,
           absl::MakeConstSpan(ASN1_STRING_get0_data(sig),
                               static_cast<size_t>(ASN1_STRING_length(sig))));
  Line(&out, 1,
       absl::StrCat("Signature: ",
                    csr.VerifySignature().ok() ? "valid" : "INVALID"));
  Line(&out, 1,
       absl::StrCat("SHA-256 Fingerprint: ",
                    internal::Hex(internal::Sha256(csr.der()))));
  return out;
}

}  // namespace mayfly

// Certificate: strict parsing and read-only accessors; the DER readers of
// lib/internal/x509.h (names, SANs, standard extensions); ClassifySan.

#include "mayfly/certificate.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/status.h"
#include "openssl/asn1.h"
#include "openssl/bn.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/obj.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace mayfly {
namespace internal {
namespace {

constexpr unsigned kContext = CBS_ASN1_CONTEXT_SPECIFIC;

// RFC 4514 section 3 short names, plus the few others OpenSSL and Go print
// by name.
struct AttributeName {
  const char* oid;
  const char* name;
};
constexpr AttributeName kAttributeNames[] = {
    {"2.5.4.3", "CN"},
    {"2.5.4.6", "C"},
    {"2.5.4.7", "L"},
    {"2.5.4.8", "ST"},
    {"2.5.4.9", "STREET"},
    {"2.5.4.10", "O"},
    {"2.5.4.11", "OU"},
    {"2.5.4.5", "SERIALNUMBER"},
    {"2.5.4.17", "POSTALCODE"},
    {"0.9.2342.19200300.100.1.25", "DC"},
    {"0.9.2342.19200300.100.1.1", "UID"},
    {"1.2.840.113549.1.9.1", "emailAddress"},
};

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool IsValidCodePoint(uint32_t cp) {
  return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
}

bool IsAscii(const CBS& cbs) {
  for (size_t i = 0; i < CBS_len(&cbs); i++) {
    if (CBS_data(&cbs)[i] >= 0x80) {
      return false;
    }
  }
  return true;
}

// DecodeDirectoryString turns a string-typed attribute value into UTF-8, or
// returns nullopt for other types and for malformed strings.
std::optional<std::string> DecodeDirectoryString(unsigned tag, CBS value) {
  std::string out;
  switch (tag) {
    case CBS_ASN1_UTF8STRING:
      if (!IsValidUtf8(
              Chars(absl::MakeConstSpan(CBS_data(&value), CBS_len(&value))))) {
        return std::nullopt;
      }
      out.assign(reinterpret_cast<const char*>(CBS_data(&value)),
                 CBS_len(&value));
      return out;
    case CBS_ASN1_PRINTABLESTRING:
    case CBS_ASN1_IA5STRING:
    case CBS_ASN1_VISIBLESTRING:
    case CBS_ASN1_NUMERICSTRING:
      if (!IsAscii(value)) {
        return std::nullopt;
      }
      out.assign(reinterpret_cast<const char*>(CBS_data(&value)),
                 CBS_len(&value));
      return out;
    case CBS_ASN1_T61STRING:
      // Read as Latin-1, as OpenSSL and Go do in practice.
      for (size_t i = 0; i < CBS_len(&value); i++) {
        AppendUtf8(CBS_data(&value)[i], &out);
      }
      return out;
    case CBS_ASN1_BMPSTRING:
      while (CBS_len(&value) > 0) {
        uint16_t unit;
        if (!CBS_get_u16(&value, &unit) || !IsValidCodePoint(unit)) {
          return std::nullopt;
        }
        AppendUtf8(unit, &out);
      }
      return out;
    case CBS_ASN1_UNIVERSALSTRING:
      while (CBS_len(&value) > 0) {
        uint32_t cp;
        if (!CBS_get_u32(&value, &cp) || !IsValidCodePoint(cp)) {
          return std::nullopt;
        }
        AppendUtf8(cp, &out);
      }
      return out;
    default:
      return std::nullopt;
  }
}

// EscapeRfc4514 escapes a decoded value per RFC 4514 section 2.4, and writes
// control bytes as \XX so the result is safe to log.
std::string EscapeRfc4514(absl::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); i++) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    bool special = std::strchr(",+\"\\<>;", c) != nullptr && c != '\0';
    bool edge = (i == 0 && (c == ' ' || c == '#')) ||
                (i + 1 == value.size() && c == ' ');
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\%02X", c);
    } else if (special || edge) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

struct NameAttribute {
  std::string oid;
  std::string value;                // formatted: escaped string or #hex
  std::optional<std::string> text;  // decoded string value, if a string
};

// ParseName walks a DER Name into its RDNs, each a list of attributes.
absl::StatusOr<std::vector<std::vector<NameAttribute>>> ParseName(
    absl::Span<const uint8_t> der) {
  const absl::Status malformed = absl::InvalidArgumentError("malformed Name");
  CBS in, rdns;
  CBS_init(&in, der.data(), der.size());
  if (!CBS_get_asn1(&in, &rdns, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0) {
    return malformed;
  }
  std::vector<std::vector<NameAttribute>> out;
  while (CBS_len(&rdns) > 0) {
    CBS rdn;
    if (!CBS_get_asn1(&rdns, &rdn, CBS_ASN1_SET) || CBS_len(&rdn) == 0) {
      return malformed;
    }
    std::vector<NameAttribute> attrs;
    while (CBS_len(&rdn) > 0) {
      CBS atv, oid, value;
      unsigned tag;
      if (!CBS_get_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) ||
          !CBS_get_asn1(&atv, &oid, CBS_ASN1_OBJECT) ||
          !CBS_get_any_asn1_element(&atv, &value, &tag, nullptr) ||
          CBS_len(&atv) != 0) {
        return malformed;
      }
      NameAttribute attr;
      attr.oid = OidToText(oid);
      if (attr.oid.empty()) {
        return malformed;
      }
      CBS element = value, contents;
      if (!CBS_get_any_asn1(&element, &contents, nullptr)) {
        return malformed;
      }
      attr.text = DecodeDirectoryString(tag, contents);
      if (attr.text.has_value()) {
        attr.value = EscapeRfc4514(*attr.text);
      } else {
        attr.value = absl::StrCat(
            "#", Hex(absl::MakeConstSpan(CBS_data(&value), CBS_len(&value))));
      }
      attrs.push_back(std::move(attr));
    }
    out.push_back(std::move(attrs));
  }
  return out;
}

std::string AttributeTypeName(const std::string& oid) {
  for (const AttributeName& n : kAttributeNames) {
    if (oid == n.oid) {
      return n.name;
    }
  }
  return oid;
}

// GetOnly sets `out` to the contents of the single `tag` element that makes
// up all of `der`.
bool GetOnly(absl::Span<const uint8_t> der, CBS* out, unsigned tag) {
  CBS in;
  CBS_init(&in, der.data(), der.size());
  return CBS_get_asn1(&in, out, tag) && CBS_len(&in) == 0;
}

std::vector<uint8_t> ToVector(const CBS& cbs) {
  return std::vector<uint8_t>(CBS_data(&cbs), CBS_data(&cbs) + CBS_len(&cbs));
}

std::string ToString(const CBS& cbs) {
  return std::string(reinterpret_cast<const char*>(CBS_data(&cbs)),
                     CBS_len(&cbs));
}

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;  // truncated sequence
    }
    for (size_t k = 1; k <= n; k++) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || !IsValidCodePoint(cp)) {
      return false;  // overlong, surrogate or out of range
    }
    i += n + 1;
  }
  return true;
}

// The same text and the same refusals as BoringSSL's CBS_asn1_oid_to_text
// (empty contents, a component with a leading 0x80 byte, truncated, or
// over 64 bits), without its snprintf per component: renewals read every
// extension's OID, and that formatting was 4 % of a renewal.
std::string OidToText(const CBS& oid) {
  const uint8_t* p = CBS_data(&oid);
  const size_t n = CBS_len(&oid);
  if (n == 0) {
    return "";
  }
  std::string out;
  out.reserve(n * 3);
  size_t i = 0;
  bool first = true;
  while (i < n) {
    if (p[i] == 0x80) {
      return "";  // not minimally encoded
    }
    uint64_t v = 0;
    for (;;) {
      if (i == n || (v >> (64 - 7)) != 0) {
        return "";  // truncated, or too large
      }
      const uint8_t b = p[i++];
      v = (v << 7) | (b & 0x7f);
      if ((b & 0x80) == 0) {
        break;
      }
    }
    if (first) {
      first = false;
      const uint64_t top = v < 40 ? 0 : v < 80 ? 1 : 2;
      absl::StrAppend(&out, top, ".", v - top * 40);
    } else {
      absl::StrAppend(&out, ".", v);
    }
  }
  return out;
}

absl::StatusOr<std::string> NameToString(absl::Span<const uint8_t> name_der) {
  MAYFLY_ASSIGN_OR_RETURN(auto rdns, ParseName(name_der));
  std::string out;
  for (auto it = rdns.rbegin(); it != rdns.rend(); ++it) {
    if (!out.empty()) {
      out.push_back(',');
    }
    bool first = true;
    for (const NameAttribute& attr : *it) {
      if (!first) {
        out.push_back('+');
      }
      first = false;
      absl::StrAppend(&out, AttributeTypeName(attr.oid), "=", attr.value);
    }
  }
  return out;
}

absl::StatusOr<std::string> NameCommonName(absl::Span<const uint8_t> name_der) {
  MAYFLY_ASSIGN_OR_RETURN(auto rdns, ParseName(name_der));
  std::string cn;
  for (const auto& rdn : rdns) {
    for (const NameAttribute& attr : rdn) {
      if (attr.oid == "2.5.4.3" && attr.text.has_value()) {
        cn = *attr.text;
      }
    }
  }
  return cn;
}

absl::StatusOr<std::vector<SubjectAltName>> ParseGeneralNames(
    absl::Span<const uint8_t> der) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed subjectAltName");
  CBS names;
  if (!GetOnly(der, &names, CBS_ASN1_SEQUENCE) || CBS_len(&names) == 0) {
    return malformed;
  }
  std::vector<SubjectAltName> out;
  while (CBS_len(&names) > 0) {
    CBS name;
    unsigned tag;
    if (!CBS_get_any_asn1(&names, &name, &tag)) {
      return malformed;
    }
    SubjectAltName san;
    if (tag == (kContext | 1) || tag == (kContext | 2) ||
        tag == (kContext | 6)) {
      // rfc822Name, dNSName, uniformResourceIdentifier: IA5String.
      if (!IsAscii(name) || CBS_len(&name) == 0) {
        return malformed;
      }
      san.type = tag == (kContext | 1)   ? SanType::kEmail
                 : tag == (kContext | 2) ? SanType::kDns
                                         : SanType::kUri;
      san.value = ToString(name);
    } else if (tag == (kContext | 7)) {
      char text[INET6_ADDRSTRLEN];
      int family;
      if (CBS_len(&name) == 4) {
        family = AF_INET;
      } else if (CBS_len(&name) == 16) {
        family = AF_INET6;
      } else {
        return malformed;
      }
      if (inet_ntop(family, CBS_data(&name), text, sizeof(text)) == nullptr) {
        return malformed;
      }
      san.type = SanType::kIp;
      san.value = text;
    } else if (tag == (kContext | CBS_ASN1_CONSTRUCTED | 0) ||
               tag == (kContext | CBS_ASN1_CONSTRUCTED | 3) ||
               tag == (kContext | CBS_ASN1_CONSTRUCTED | 4) ||
               tag == (kContext | CBS_ASN1_CONSTRUCTED | 5) ||
               tag == (kContext | 8)) {
      continue;  // otherName, x400Address, directoryName, ediPartyName, rid
    } else {
      return malformed;
    }
    out.push_back(std::move(san));
  }
  return out;
}

absl::StatusOr<uint32_t> ParseKeyUsage(absl::Span<const uint8_t> der) {
  CBS bits;
  if (!GetOnly(der, &bits, CBS_ASN1_BITSTRING) ||
      !CBS_is_valid_asn1_bitstring(&bits)) {
    return absl::InvalidArgumentError("malformed keyUsage");
  }
  uint32_t out = 0;
  for (unsigned i = 0; i < 9; i++) {
    if (CBS_asn1_bitstring_has_bit(&bits, i)) {
      out |= 1u << i;
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ParseExtKeyUsage(
    absl::Span<const uint8_t> der) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed extKeyUsage");
  CBS seq;
  if (!GetOnly(der, &seq, CBS_ASN1_SEQUENCE) || CBS_len(&seq) == 0) {
    return malformed;
  }
  std::vector<std::string> out;
  while (CBS_len(&seq) > 0) {
    CBS oid;
    if (!CBS_get_asn1(&seq, &oid, CBS_ASN1_OBJECT)) {
      return malformed;
    }
    std::string text = OidToText(oid);
    if (text.empty()) {
      return malformed;
    }
    out.push_back(std::move(text));
  }
  return out;
}

absl::StatusOr<BasicConstraints> ParseBasicConstraints(
    absl::Span<const uint8_t> der) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed basicConstraints");
  CBS seq;
  int is_ca = 0;
  if (!GetOnly(der, &seq, CBS_ASN1_SEQUENCE) ||
      (CBS_peek_asn1_tag(&seq, CBS_ASN1_BOOLEAN) &&
       !CBS_get_asn1_bool(&seq, &is_ca))) {
    return malformed;
  }
  BasicConstraints out;
  out.is_ca = is_ca != 0;
  if (CBS_len(&seq) > 0) {
    uint64_t path_len;
    if (!CBS_get_asn1_uint64(&seq, &path_len) || path_len > INT_MAX ||
        CBS_len(&seq) != 0) {
      return malformed;
    }
    out.path_len = static_cast<int>(path_len);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ParseSubjectKeyId(
    absl::Span<const uint8_t> der) {
  CBS id;
  if (!GetOnly(der, &id, CBS_ASN1_OCTETSTRING)) {
    return absl::InvalidArgumentError("malformed subjectKeyIdentifier");
  }
  return ToVector(id);
}

absl::StatusOr<std::vector<uint8_t>> ParseAuthorityKeyId(
    absl::Span<const uint8_t> der) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed authorityKeyIdentifier");
  CBS seq, id;
  int has_id = 0, has_issuer = 0, has_serial = 0;
  if (!GetOnly(der, &seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_optional_asn1(&seq, &id, &has_id, kContext | 0) ||
      !CBS_get_optional_asn1(&seq, nullptr, &has_issuer,
                             kContext | CBS_ASN1_CONSTRUCTED | 1) ||
      !CBS_get_optional_asn1(&seq, nullptr, &has_serial, kContext | 2) ||
      CBS_len(&seq) != 0 || has_issuer != has_serial) {
    return malformed;
  }
  if (!has_id) {
    return std::vector<uint8_t>();
  }
  return ToVector(id);
}

absl::StatusOr<StepProvisioner> ParseStepProvisioner(
    absl::Span<const uint8_t> der) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed step provisioner extension");
  CBS seq, name, credential;
  int64_t type;
  if (!GetOnly(der, &seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1_int64(&seq, &type) ||
      !CBS_get_asn1(&seq, &name, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1(&seq, &credential, CBS_ASN1_OCTETSTRING)) {
    return malformed;
  }
  StepProvisioner out;
  out.type = type;
  out.name = ToString(name);
  out.credential_id = ToString(credential);
  if (CBS_len(&seq) > 0) {
    CBS pairs;
    if (!CBS_get_asn1(&seq, &pairs, CBS_ASN1_SEQUENCE) || CBS_len(&seq) != 0) {
      return malformed;
    }
    while (CBS_len(&pairs) > 0) {
      CBS s;
      unsigned tag;
      if (!CBS_get_any_asn1(&pairs, &s, &tag)) {
        return malformed;
      }
      out.key_value_pairs.push_back(ToString(s));
    }
  }
  return out;
}

absl::string_view StepProvisionerTypeName(int64_t type) {
  static const char* const kNames[] = {"",      "JWK",    "OIDC", "GCP",
                                       "AWS",   "Azure",  "ACME", "X5C",
                                       "K8sSA", "SSHPOP", "SCEP", "Nebula"};
  if (type < 0 || type >= static_cast<int64_t>(std::size(kNames))) {
    return "";
  }
  return kNames[type];
}

absl::Status CheckSingleSequence(absl::Span<const uint8_t> der,
                                 absl::string_view what) {
  CBS in, body;
  CBS_init(&in, der.data(), der.size());
  if (!CBS_get_asn1(&in, &body, CBS_ASN1_SEQUENCE)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not a DER SEQUENCE"));
  }
  if (CBS_len(&in) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has ", CBS_len(&in), " trailing bytes; want none"));
  }
  return absl::OkStatus();
}

}  // namespace internal

namespace {

using internal::Chars;

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("certificate ", what));
}

std::vector<uint8_t> NameDer(X509_NAME* name) {
  uint8_t* der = nullptr;
  int len = i2d_X509_NAME(name, &der);
  if (len <= 0) {
    return {};
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return std::vector<uint8_t>(der, der + len);
}

Extension ExtensionAt(const X509* x509, int i) {
  X509_EXTENSION* ext = X509_get_ext(x509, i);
  Extension out;
  const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
  CBS oid;
  CBS_init(&oid, OBJ_get0_data(obj), OBJ_length(obj));
  out.oid = internal::OidToText(oid);
  out.critical = X509_EXTENSION_get_critical(ext) != 0;
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const uint8_t* data = ASN1_STRING_get0_data(value);
  out.value.assign(data, data + ASN1_STRING_length(value));
  return out;
}

absl::StatusOr<absl::Time> TimeFromAsn1(const ASN1_TIME* t) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, seconds = 0;
  if (epoch == nullptr || t == nullptr ||
      !ASN1_TIME_diff(&days, &seconds, epoch.get(), t)) {
    ERR_clear_error();
    return absl::InvalidArgumentError("malformed time");
  }
  return absl::FromUnixSeconds(int64_t{days} * 86400 + seconds);
}

// Validate applies the checks the parser leaves to us: everything an
// accessor later reads must be well formed, so accessors cannot fail.
absl::Status Validate(X509* x509) {
  if (X509_get_version(x509) != X509_VERSION_3 &&
      X509_get_ext_count(x509) > 0) {
    return Malformed("has extensions but is not version 3");
  }
  if (X509_get_extension_flags(x509) & EXFLAG_INVALID) {
    ERR_clear_error();
    return Malformed("has a malformed or duplicate extension");
  }
  const ASN1_BIT_STRING* sig;
  const X509_ALGOR* alg;
  X509_get0_signature(&sig, &alg, x509);
  if (X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(x509)) != 0) {
    return Malformed("signature algorithms disagree");
  }
  std::set<std::string> seen;
  for (int i = 0; i < X509_get_ext_count(x509); i++) {
    Extension ext = ExtensionAt(x509, i);
    if (ext.oid.empty() || !seen.insert(ext.oid).second) {
      return Malformed("has a malformed or duplicate extension");
    }
    absl::Status st;
    if (ext.oid == internal::kOidKeyUsage) {
      st = internal::ParseKeyUsage(ext.value).status();
    } else if (ext.oid == internal::kOidExtKeyUsage) {
      st = internal::ParseExtKeyUsage(ext.value).status();
    } else if (ext.oid == internal::kOidBasicConstraints) {
      st = internal::ParseBasicConstraints(ext.value).status();
    } else if (ext.oid == internal::kOidSubjectKeyId) {
      st = internal::ParseSubjectKeyId(ext.value).status();
    } else if (ext.oid == internal::kOidAuthorityKeyId) {
      st = internal::ParseAuthorityKeyId(ext.value).status();
    } else if (ext.oid == internal::kOidSubjectAltName) {
      st = internal::ParseGeneralNames(ext.value).status();
    }
    if (!st.ok()) {
      return Malformed(st.message());
    }
  }
  for (X509_NAME* name :
       {X509_get_subject_name(x509), X509_get_issuer_name(x509)}) {
    std::vector<uint8_t> der = NameDer(name);
    if (der.empty() || !internal::NameToString(der).ok()) {
      return Malformed("has a malformed name");
    }
  }
  if (!TimeFromAsn1(X509_get0_notBefore(x509)).ok() ||
      !TimeFromAsn1(X509_get0_notAfter(x509)).ok()) {
    return Malformed("has a malformed validity time");
  }
  bssl::UniquePtr<EVP_PKEY> pkey(X509_get_pubkey(x509));
  if (pkey == nullptr) {
    return internal::BsslError(absl::StatusCode::kInvalidArgument,
                               "certificate public key is not supported");
  }
  absl::StatusOr<PublicKey> key = PublicKey::FromNative(pkey.get());
  if (!key.ok()) {
    return Malformed(absl::StrCat("public key: ", key.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

SubjectAltName ClassifySan(absl::string_view name) {
  // The order of step-ca's x509util.SplitSANs: IP (net.ParseIP), URI
  // (url.Parse with a scheme), e-mail ('@'), DNS.
  SubjectAltName san;
  if (name.find('\0') == absl::string_view::npos) {
    std::string s(name);
    in_addr v4;
    in6_addr v6;
    char text[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, s.c_str(), &v4) == 1 &&
        inet_ntop(AF_INET, &v4, text, sizeof(text)) != nullptr) {
      return SubjectAltName{SanType::kIp, text};
    }
    if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
      // Go keeps an IPv4-mapped address as IPv4 (net.IP.To4).
      if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(&v4, &v6.s6_addr[12], 4);
        if (inet_ntop(AF_INET, &v4, text, sizeof(text)) != nullptr) {
          return SubjectAltName{SanType::kIp, text};
        }
      } else if (inet_ntop(AF_INET6, &v6, text, sizeof(text)) != nullptr) {
        return SubjectAltName{SanType::kIp, text};
      }
    }
  }
  // A scheme as Go's url.getScheme reads it: a letter, then letters, digits,
  // '+', '-' or '.', up to the first ':'. url.Parse also refuses control
  // characters and spaces.
  size_t colon = name.find(':');
  bool uri = colon != absl::string_view::npos && colon > 0 &&
             absl::ascii_isalpha(static_cast<unsigned char>(name[0]));
  for (size_t i = 0; uri && i < colon; i++) {
    char c = name[i];
    uri = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '+' ||
          c == '-' || c == '.';
  }
  for (size_t i = 0; uri && i < name.size(); i++) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    uri = c > 0x20 && c != 0x7f;
  }
  if (uri) {
    return SubjectAltName{SanType::kUri, std::string(name)};
  }
  if (name.find('@') != absl::string_view::npos) {
    return SubjectAltName{SanType::kEmail, std::string(name)};
  }
  san.type = SanType::kDns;
  san.value = std::string(name);
  return san;
}

absl::StatusOr<Certificate> Certificate::FromDer(
    absl::Span<const uint8_t> der) {
  MAYFLY_RETURN_IF_ERROR(internal::CheckSingleSequence(der, "certificate"));
  const uint8_t* p = der.data();
  bssl::UniquePtr<X509> x509(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x509 == nullptr) {
    return internal::BsslError(absl::StatusCode::kInvalidArgument,
                               "certificate is malformed");
  }
  if (p != der.data() + der.size()) {
    return Malformed("has trailing bytes");
  }
  MAYFLY_RETURN_IF_ERROR(Validate(x509.get()));
  auto rep = std::make_shared<Rep>();
  rep->x509 = std::shared_ptr<X509>(x509.release(), X509_free);
  absl::call_once(rep->parsed, [] {});  // x509 is set
  rep->der.assign(der.begin(), der.end());
  return Certificate(std::move(rep));
}

x509_st* Certificate::native() const {
  absl::call_once(rep_->parsed, [rep = rep_.get()] {
    const uint8_t* p = rep->der.data();
    X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(rep->der.size()));
    if (x509 == nullptr || p != rep->der.data() + rep->der.size()) {
      // Only CertificateAccess::FromIssuedDer makes an unparsed certificate,
      // from DER mayfly's own encoder wrote: failing here is a mayfly bug.
      fprintf(stderr, "mayfly: a certificate mayfly issued does not parse\n");
      abort();
    }
    rep->x509 = std::shared_ptr<X509>(x509, X509_free);
  });
  return rep_->x509.get();
}

namespace internal {

Certificate CertificateAccess::FromIssuedDer(std::vector<uint8_t> der) {
  auto rep = std::make_shared<Certificate::Rep>();
  rep->der = std::move(der);
  return Certificate(std::move(rep));
}

}  // namespace internal

absl::StatusOr<Certificate> Certificate::FromPem(absl::string_view pem) {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> certs, ParsePemBundle(pem));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM holds ", certs.size(), " certificates; want exactly 1"));
  }
  return std::move(certs[0]);
}

absl::StatusOr<std::vector<Certificate>> Certificate::ParsePemBundle(
    absl::string_view pem) {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<internal::PemBlock> blocks,
                          internal::DecodePemBlocks(pem));
  std::vector<Certificate> out;
  for (const internal::PemBlock& block : blocks) {
    if (block.type != "CERTIFICATE") {
      continue;  // a key or parameters next to the chain, as Go skips them
    }
    if (!block.headers.empty()) {
      return absl::InvalidArgumentError(
          "CERTIFICATE PEM block has headers; want none (RFC 7468)");
    }
    absl::StatusOr<Certificate> cert = FromDer(block.der);
    if (!cert.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PEM certificate ", out.size() + 1, ": ", cert.status().message()));
    }
    out.push_back(*std::move(cert));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("no CERTIFICATE PEM block found");
  }
  return out;
}

std::string Certificate::ToPem() const {
  return internal::EncodePem("CERTIFICATE", der());
}

std::vector<uint8_t> Certificate::Serial() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(native());
  const uint8_t* data = ASN1_STRING_get0_data(serial);
  size_t len = static_cast<size_t>(ASN1_STRING_length(serial));
  size_t skip = 0;
  while (skip + 1 < len && data[skip] == 0) {
    skip++;
  }
  return std::vector<uint8_t>(data + skip, data + len);
}

std::string Certificate::SerialDecimal() const {
  bssl::UniquePtr<BIGNUM> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(native()), nullptr));
  if (bn == nullptr) {
    ERR_clear_error();
    return "";
  }
  char* dec = BN_bn2dec(bn.get());
  if (dec == nullptr) {
    ERR_clear_error();
    return "";
  }
  std::string out(dec);
  OPENSSL_free(dec);
  return out;
}

std::string Certificate::Subject() const {
  return internal::NameToString(RawSubject()).value_or("");
}

std::string Certificate::Issuer() const {
  return internal::NameToString(RawIssuer()).value_or("");
}

std::string Certificate::CommonName() const {
  return internal::NameCommonName(RawSubject()).value_or("");
}

std::vector<uint8_t> Certificate::RawSubject() const {
  return NameDer(X509_get_subject_name(native()));
}

std::vector<uint8_t> Certificate::RawIssuer() const {
  return NameDer(X509_get_issuer_name(native()));
}

std::vector<SubjectAltName> Certificate::Sans() const {
  std::optional<Extension> ext = FindExtension(internal::kOidSubjectAltName);
  if (!ext.has_value()) {
    return {};
  }
  return internal::ParseGeneralNames(ext->value)
      .value_or(std::vector<SubjectAltName>());
}

absl::Time Certificate::NotBefore() const {
  return TimeFromAsn1(X509_get0_notBefore(native()))
      .value_or(absl::InfiniteFuture());
}

absl::Time Certificate::NotAfter() const {
  return TimeFromAsn1(X509_get0_notAfter(native()))
      .value_or(absl::InfinitePast());
}

std::optional<uint32_t> Certificate::KeyUsage() const {
  std::optional<Extension> ext = FindExtension(internal::kOidKeyUsage);
  if (!ext.has_value()) {
    return std::nullopt;
  }
  return internal::ParseKeyUsage(ext->value).value_or(0);
}

std::vector<std::string> Certificate::ExtKeyUsage() const {
  std::optional<Extension> ext = FindExtension(internal::kOidExtKeyUsage);
  if (!ext.has_value()) {
    return {};
  }
  return internal::ParseExtKeyUsage(ext->value)
      .value_or(std::vector<std::string>());
}

std::optional<BasicConstraints> Certificate::Basic() const {
  std::optional<Extension> ext = FindExtension(internal::kOidBasicConstraints);
  if (!ext.has_value()) {
    return std::nullopt;
  }
  return internal::ParseBasicConstraints(ext->value)
      .value_or(BasicConstraints());
}

std::vector<uint8_t> Certificate::SubjectKeyId() const {
  std::optional<Extension> ext = FindExtension(internal::kOidSubjectKeyId);
  if (!ext.has_value()) {
    return {};
  }
  return internal::ParseSubjectKeyId(ext->value)
      .value_or(std::vector<uint8_t>());
}

std::vector<uint8_t> Certificate::AuthorityKeyId() const {
  std::optional<Extension> ext = FindExtension(internal::kOidAuthorityKeyId);
  if (!ext.has_value()) {
    return {};
  }
  return internal::ParseAuthorityKeyId(ext->value)
      .value_or(std::vector<uint8_t>());
}

std::vector<Extension> Certificate::Extensions() const {
  std::vector<Extension> out;
  for (int i = 0; i < X509_get_ext_count(native()); i++) {
    out.push_back(ExtensionAt(native(), i));
  }
  return out;
}

std::optional<Extension> Certificate::FindExtension(
    absl::string_view oid) const {
  for (int i = 0; i < X509_get_ext_count(native()); i++) {
    Extension ext = ExtensionAt(native(), i);
    if (ext.oid == oid) {
      return ext;
    }
  }
  return std::nullopt;
}

PublicKey Certificate::public_key() const {
  // Validate() checked at parse time that FromNative accepts this key.
  bssl::UniquePtr<EVP_PKEY> pkey(X509_get_pubkey(native()));
  return *PublicKey::FromNative(pkey.get());
}

std::vector<uint8_t> Certificate::Sha256Fingerprint() const {
  return internal::Sha256(der());
}

std::string Certificate::FingerprintHex() const {
  return internal::Hex(Sha256Fingerprint());
}

std::string Certificate::SignatureAlgorithm() const {
  const ASN1_BIT_STRING* sig;
  const X509_ALGOR* alg;
  X509_get0_signature(&sig, &alg, native());
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

absl::Status Certificate::VerifySignature(const PublicKey& issuer_key) const {
  if (X509_verify(native(), issuer_key.native()) != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError(
        "certificate signature does not verify with the issuer key");
  }
  return absl::OkStatus();
}

}  // namespace mayfly

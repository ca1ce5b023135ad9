// The C ABI's immutable value objects: keys, certificate requests,
// certificates and chains. Each wraps the C++ value, which shares its
// BoringSSL object, so handing one out costs one allocation.

#include <stdlib.h>
#include <string.h>

#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capi/internal.h"
#include "mayfly/c.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "mayfly/status.h"

namespace mayfly {
namespace capi {

absl::Status CheckBytes(const uint8_t* in, size_t in_len) {
  if (in == nullptr && in_len != 0) {
    return absl::InvalidArgumentError("in is NULL but in_len is not 0");
  }
  return absl::OkStatus();
}

int OutText(absl::string_view s, char** out, size_t* out_len,
            mayfly_error_t** err) {
  char* copy = CopyOut(s);
  if (copy == nullptr) {
    return OutOfMemory(err);
  }
  *out = copy;
  if (out_len != nullptr) {
    *out_len = s.size();
  }
  return MAYFLY_OK;
}

int OutBytes(absl::Span<const uint8_t> b, uint8_t** out, size_t* out_len,
             mayfly_error_t** err) {
  // CopyOut adds a NUL the caller does not see; it keeps malloc(0) away.
  char* copy = CopyOut(
      absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  if (copy == nullptr) {
    return OutOfMemory(err);
  }
  *out = reinterpret_cast<uint8_t*>(copy);
  *out_len = b.size();
  return MAYFLY_OK;
}

int OutChain(const std::vector<Certificate>& certs, mayfly_chain_t** out,
             mayfly_error_t** err) {
  mayfly_chain* chain = mayfly_chain::FromVector(certs);
  if (chain == nullptr) {
    return OutOfMemory(err);
  }
  *out = chain;
  return MAYFLY_OK;
}

absl::StatusOr<KeyType> KeyTypeFromC(int type) {
  switch (type) {
    case MAYFLY_KEY_P256:
      return KeyType::kP256;
    case MAYFLY_KEY_P384:
      return KeyType::kP384;
    case MAYFLY_KEY_ED25519:
      return KeyType::kEd25519;
    case MAYFLY_KEY_RSA:
      return KeyType::kRsa;
  }
  return absl::InvalidArgumentError("unknown key type " + std::to_string(type));
}

namespace {

bool IsPem(absl::string_view text) {
  return text.find("-----BEGIN ") != absl::string_view::npos;
}

int KeyTypeToC(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return MAYFLY_KEY_P256;
    case KeyType::kP384:
      return MAYFLY_KEY_P384;
    case KeyType::kEd25519:
      return MAYFLY_KEY_ED25519;
    case KeyType::kRsa:
      return MAYFLY_KEY_RSA;
  }
  return -1;
}

absl::StatusOr<PrivateKey> GenerateKey(int type) {
  MAYFLY_ASSIGN_OR_RETURN(KeyType key_type, KeyTypeFromC(type));
  return PrivateKey::Generate(key_type);
}

absl::StatusOr<PrivateKey> ParseKey(absl::string_view in,
                                    const char* password) {
  if (IsPem(in)) {
    return PrivateKey::FromPem(in, password == nullptr ? "" : password);
  }
  return PrivateKey::FromDer(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(in.data()), in.size()));
}

// Writes the key's PEM, wiping the intermediate copy: it is key material.
int KeyPemOut(const PrivateKey& key, const char* password, char** out,
              size_t* out_len, mayfly_error_t** err) {
  absl::StatusOr<std::string> pem =
      (password == nullptr || *password == '\0')
          ? absl::StatusOr<std::string>(key.ToPem())
          : key.ToEncryptedPem(password);
  if (!pem.ok()) {
    return HandleStatus(pem.status(), err);
  }
  int rc = OutText(*pem, out, out_len, err);
  volatile char* p = pem->data();
  for (size_t i = 0; i < pem->size(); ++i) {
    p[i] = 0;
  }
  return rc;
}

absl::StatusOr<CertificateRequest> ParseCsr(const uint8_t* in, size_t in_len) {
  absl::string_view text = BytesText(in, in_len);
  absl::StatusOr<CertificateRequest> csr =
      IsPem(text) ? CertificateRequest::FromPem(text)
                  : CertificateRequest::FromDer({in, in_len});
  if (csr.ok()) {
    MAYFLY_RETURN_IF_ERROR(csr->VerifySignature());
  }
  return csr;
}

absl::StatusOr<Certificate> ParseCert(const uint8_t* in, size_t in_len) {
  absl::string_view text = BytesText(in, in_len);
  return IsPem(text) ? Certificate::FromPem(text)
                     : Certificate::FromDer({in, in_len});
}

absl::StatusOr<std::vector<Certificate>> ParseChain(const uint8_t* in,
                                                    size_t in_len) {
  absl::string_view text = BytesText(in, in_len);
  if (IsPem(text)) {
    return Certificate::ParsePemBundle(text);
  }
  MAYFLY_ASSIGN_OR_RETURN(Certificate cert, Certificate::FromDer({in, in_len}));
  return std::vector<Certificate>{std::move(cert)};
}

// OutChain hands out a parsed chain, or the parser's error.
int OutParsedChain(const absl::StatusOr<std::vector<Certificate>>& certs,
                   mayfly_chain_t** out, mayfly_error_t** err) {
  if (!certs.ok()) {
    return HandleStatus(certs.status(), err);
  }
  return OutChain(*certs, out, err);
}

// ParseOut is the shape of the parsers: check the bytes, parse them, hand
// out the object.
template <typename T, typename Parse>
int ParseOut(const uint8_t* in, size_t in_len, T** out, mayfly_error_t** err,
             Parse parse) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(out, err);
    MAYFLY_CAPI_RETURN_IF_ERROR(CheckBytes(in, in_len), err);
    return OutResult(parse(in, in_len), out, err);
  })
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

std::vector<mayfly::Certificate> mayfly_chain::ToVector() const {
  std::vector<mayfly::Certificate> v;
  v.reserve(certs.size());
  for (const mayfly_cert& c : certs) {
    v.push_back(c.cert);
  }
  return v;
}

mayfly_chain* mayfly_chain::FromVector(
    const std::vector<mayfly::Certificate>& v) {
  try {
    auto* chain = new mayfly_chain;
    chain->certs.reserve(v.size());
    for (const mayfly::Certificate& c : v) {
      chain->certs.push_back(mayfly_cert{c});
    }
    return chain;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

using mayfly::capi::HandleStatus;
using mayfly::capi::OutText;
using mayfly::capi::ParseOut;
using mayfly::capi::TextOf;

extern "C" {

// ---- Keys -------------------------------------------------------------------

int mayfly_key_generate(int type, mayfly_key_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutResult(mayfly::capi::GenerateKey(type), out, err);
  })
}

int mayfly_key_parse(const uint8_t* in, size_t in_len, const char* password,
                     mayfly_key_t** out, mayfly_error_t** err) {
  return ParseOut(in, in_len, out, err, [password](const uint8_t* p, size_t n) {
    return mayfly::capi::ParseKey(mayfly::capi::BytesText(p, n), password);
  });
}

int mayfly_key_to_pem(const mayfly_key_t* key, const char* password, char** out,
                      size_t* out_len, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::KeyPemOut(key->key, password, out, out_len, err);
  })
}

int mayfly_key_public_pem(const mayfly_key_t* key, char** out, size_t* out_len,
                          mayfly_error_t** err) {
  return TextOf(key, "key", out, out_len, err, [](const mayfly_key_t& o) {
    return o.key.public_key().ToPem();
  });
}

int mayfly_key_type(const mayfly_key_t* key) {
  return key == nullptr ? -1 : mayfly::capi::KeyTypeToC(key->key.type());
}

void mayfly_key_free(mayfly_key_t* key) { delete key; }

// ---- Certificate requests ---------------------------------------------------

int mayfly_csr_new(const mayfly_key_t* key, const char* common_name,
                   const char* const* sans, size_t n_sans, mayfly_csr_t** out,
                   mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    if (sans == nullptr && n_sans != 0) {
      return mayfly::capi::InvalidArgument("sans is NULL but n_sans is not 0",
                                           err);
    }
    mayfly::CsrOptions options;
    options.common_name = common_name == nullptr ? "" : common_name;
    for (size_t i = 0; i < n_sans; ++i) {
      if (sans[i] == nullptr) {
        return mayfly::capi::InvalidArgument(
            absl::StrCat("sans[", i, "] is NULL").c_str(), err);
      }
      options.sans.emplace_back(sans[i]);
    }
    return mayfly::capi::OutResult(
        mayfly::CertificateRequest::Create(key->key, options), out, err);
  })
}

int mayfly_csr_parse(const uint8_t* in, size_t in_len, mayfly_csr_t** out,
                     mayfly_error_t** err) {
  return ParseOut(in, in_len, out, err, mayfly::capi::ParseCsr);
}

int mayfly_csr_to_pem(const mayfly_csr_t* csr, char** out, size_t* out_len,
                      mayfly_error_t** err) {
  return TextOf(csr, "csr", out, out_len, err,
                [](const mayfly_csr_t& o) { return o.csr.ToPem(); });
}

void mayfly_csr_free(mayfly_csr_t* csr) { delete csr; }

// ---- Certificates -----------------------------------------------------------

int mayfly_cert_parse(const uint8_t* in, size_t in_len, mayfly_cert_t** out,
                      mayfly_error_t** err) {
  return ParseOut(in, in_len, out, err, mayfly::capi::ParseCert);
}

int mayfly_cert_to_pem(const mayfly_cert_t* cert, char** out, size_t* out_len,
                       mayfly_error_t** err) {
  return TextOf(cert, "cert", out, out_len, err,
                [](const mayfly_cert_t& o) { return o.cert.ToPem(); });
}

int mayfly_cert_to_der(const mayfly_cert_t* cert, uint8_t** out,
                       size_t* out_len, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(cert, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    MAYFLY_CAPI_REQUIRE(out_len, err);
    return mayfly::capi::OutBytes(cert->cert.der(), out, out_len, err);
  })
}

int mayfly_cert_serial(const mayfly_cert_t* cert, char** out, size_t* out_len,
                       mayfly_error_t** err) {
  return TextOf(cert, "cert", out, out_len, err,
                [](const mayfly_cert_t& o) { return o.cert.SerialDecimal(); });
}

int mayfly_cert_common_name(const mayfly_cert_t* cert, char** out,
                            size_t* out_len, mayfly_error_t** err) {
  return TextOf(cert, "cert", out, out_len, err,
                [](const mayfly_cert_t& o) { return o.cert.CommonName(); });
}

int mayfly_cert_fingerprint(const mayfly_cert_t* cert, char** out,
                            size_t* out_len, mayfly_error_t** err) {
  return TextOf(cert, "cert", out, out_len, err,
                [](const mayfly_cert_t& o) { return o.cert.FingerprintHex(); });
}

int mayfly_cert_validity(const mayfly_cert_t* cert, int64_t* not_before_ms,
                         int64_t* not_after_ms, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(cert, err);
    if (not_before_ms != nullptr) {
      *not_before_ms = mayfly::capi::Millis(cert->cert.NotBefore());
    }
    if (not_after_ms != nullptr) {
      *not_after_ms = mayfly::capi::Millis(cert->cert.NotAfter());
    }
    return MAYFLY_OK;
  })
}

void mayfly_cert_free(mayfly_cert_t* cert) { delete cert; }

// ---- Chains -----------------------------------------------------------------
// (mayfly_chain_parse is not followed by mayfly_chain_size: clang-format
// misreads a macro-bodied function followed by one returning size_t.)

int mayfly_chain_parse(const uint8_t* in, size_t in_len, mayfly_chain_t** out,
                       mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(out, err);
    MAYFLY_CAPI_RETURN_IF_ERROR(mayfly::capi::CheckBytes(in, in_len), err);
    return mayfly::capi::OutParsedChain(mayfly::capi::ParseChain(in, in_len),
                                        out, err);
  })
}

int mayfly_chain_to_pem(const mayfly_chain_t* chain, char** out,
                        size_t* out_len, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    std::string pem;
    for (const mayfly_cert& c : chain->certs) {
      pem += c.cert.ToPem();
    }
    return OutText(pem, out, out_len, err);
  })
}

void mayfly_chain_free(mayfly_chain_t* chain) { delete chain; }

size_t mayfly_chain_size(const mayfly_chain_t* chain) {
  return chain == nullptr ? 0 : chain->certs.size();
}

const mayfly_cert_t* mayfly_chain_get(const mayfly_chain_t* chain,
                                      size_t index) {
  if (chain == nullptr || index >= chain->certs.size()) {
    return nullptr;
  }
  return &chain->certs[index];
}

}  // extern "C"

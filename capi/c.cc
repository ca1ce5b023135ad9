// The C ABI's common entry points: version, memory, errors, inspection.

#include "mayfly/c.h"

#include <stdlib.h>
#include <string.h>

#include <new>
#include <string>

#include "capi/internal.h"
#include "mayfly/certificate.h"

namespace mayfly {
namespace capi {

int HandleStatus(const absl::Status& status, mayfly_error_t** err) {
  if (status.ok()) {
    return MAYFLY_OK;
  }
  int code = static_cast<int>(status.code());
  if (err != nullptr) {
    *err = new (std::nothrow) mayfly_error{code, std::string(status.message())};
  }
  return code;
}

char* CopyOut(absl::string_view s) {
  char* out = static_cast<char*>(malloc(s.size() + 1));
  if (out == nullptr) {
    return nullptr;
  }
  if (!s.empty()) {
    memcpy(out, s.data(), s.size());
  }
  out[s.size()] = '\0';
  return out;
}

namespace {

absl::string_view InputText(const uint8_t* in, size_t in_len) {
  return absl::string_view(reinterpret_cast<const char*>(in), in_len);
}

// Inspects `in` as a PEM or DER certificate, then as a PEM or DER CSR.
absl::StatusOr<std::string> InspectAny(const uint8_t* in, size_t in_len) {
  absl::string_view text = InputText(in, in_len);
  absl::Span<const uint8_t> bytes(in, in_len);
  bool is_pem = text.find("-----BEGIN ") != absl::string_view::npos;
  if (is_pem &&
      text.find("CERTIFICATE REQUEST-----") != absl::string_view::npos) {
    auto csr = CertificateRequest::FromPem(text);
    if (!csr.ok()) {
      return csr.status();
    }
    return Inspect(*csr);
  }
  if (is_pem) {
    auto cert = Certificate::FromPem(text);
    if (!cert.ok()) {
      return cert.status();
    }
    return Inspect(*cert);
  }
  auto cert = Certificate::FromDer(bytes);
  if (cert.ok()) {
    return Inspect(*cert);
  }
  auto csr = CertificateRequest::FromDer(bytes);
  if (csr.ok()) {
    return Inspect(*csr);
  }
  return absl::InvalidArgumentError(
      "input is neither a certificate nor a certificate request");
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

extern "C" {

const char* mayfly_version(void) { return MAYFLY_VERSION_STRING; }

uint32_t mayfly_version_number(void) { return MAYFLY_VERSION_NUMBER; }

void mayfly_free(void* p) { free(p); }

int mayfly_error_code(const mayfly_error_t* err) {
  return err == nullptr ? MAYFLY_OK : err->code;
}

const char* mayfly_error_message(const mayfly_error_t* err) {
  return err == nullptr ? "" : err->message.c_str();
}

void mayfly_error_free(mayfly_error_t* err) { delete err; }

int mayfly_certificate_inspect(const uint8_t* in, size_t in_len,
                               char** out_text, size_t* out_text_len,
                               mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    if (out_text == nullptr || out_text_len == nullptr) {
      return mayfly::capi::HandleStatus(
          absl::InvalidArgumentError(
              "out_text and out_text_len must not be NULL"),
          err);
    }
    if (in == nullptr && in_len != 0) {
      return mayfly::capi::HandleStatus(
          absl::InvalidArgumentError("in is NULL but in_len is not 0"), err);
    }
    auto text = mayfly::capi::InspectAny(in, in_len);
    if (!text.ok()) {
      return mayfly::capi::HandleStatus(text.status(), err);
    }
    char* out = mayfly::capi::CopyOut(*text);
    if (out == nullptr) {
      return mayfly::capi::HandleStatus(
          absl::ResourceExhaustedError("out of memory"), err);
    }
    *out_text = out;
    *out_text_len = text->size();
    return MAYFLY_OK;
  })
}

}  // extern "C"

// Fuzz target: every C ABI function that takes bytes (mayfly/c.h):
// mayfly_certificate_inspect, mayfly_key_parse, mayfly_csr_parse,
// mayfly_cert_parse and mayfly_chain_parse, then every getter and writer of
// what they return, and every object and buffer freed (LeakSanitizer, on
// under libFuzzer, reports anything left behind).
//
// Properties (c.h's rules): a call returns MAYFLY_OK or the codes of the C++
// parser it wraps; a failure fills *err with that code and a message and
// leaves the outputs untouched; a success sets no error. Text outputs are
// NUL-terminated at their length. What parses writes itself out (PEM, DER)
// and parses back to the same object: same fingerprint, same PEM, same
// public key.
// Recommended -max_len: 8192 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "mayfly/c.h"

namespace {

// A pointer value no allocator returns: an output must still hold it
// after a failed call.
template <typename T>
T* Untouched() {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(0x5a5a5a50));
}

// CheckCall checks the error contract of one call that returned `rc`.
void CheckCall(int rc, mayfly_error_t* err, int allowed_a, int allowed_b) {
  if (rc == MAYFLY_OK) {
    FUZZ_CHECK(err == nullptr, "a success sets no error");
    return;
  }
  FUZZ_CHECK(rc == allowed_a || rc == allowed_b,
             "a failure has a documented code");
  FUZZ_CHECK(err != nullptr, "a failure fills *err");
  FUZZ_CHECK(mayfly_error_code(err) == rc, "the error holds the code returned");
  const char* message = mayfly_error_message(err);
  FUZZ_CHECK(message != nullptr && message[0] != '\0',
             "the error has a message");
  mayfly_error_free(err);
}

// TakeText checks a text output and returns it as a string, freeing it.
std::string TakeText(int rc, mayfly_error_t* err, char* text, size_t len) {
  FUZZ_CHECK(rc == MAYFLY_OK && err == nullptr,
             "a getter of a parsed object succeeds");
  FUZZ_CHECK(text != nullptr, "a text output is set");
  FUZZ_CHECK(text[len] == '\0',
             "a text output is NUL-terminated at its length");
  std::string out(text, len);
  mayfly_free(text);
  return out;
}

std::string CertPem(const mayfly_cert_t* cert) {
  char* text = nullptr;
  size_t len = 0;
  mayfly_error_t* err = nullptr;
  int rc = mayfly_cert_to_pem(cert, &text, &len, &err);
  return TakeText(rc, err, text, len);
}

std::string CertFingerprint(const mayfly_cert_t* cert) {
  char* text = nullptr;
  size_t len = 0;
  mayfly_error_t* err = nullptr;
  int rc = mayfly_cert_fingerprint(cert, &text, &len, &err);
  std::string hex = TakeText(rc, err, text, len);
  FUZZ_CHECK(hex.size() == 64, "a fingerprint is 64 hex characters");
  return hex;
}

// ExerciseCert calls every certificate getter; the certificate must
// round-trip through its PEM and DER.
void ExerciseCert(const mayfly_cert_t* cert) {
  const std::string fingerprint = CertFingerprint(cert);
  mayfly_error_t* err = nullptr;
  char* text = nullptr;
  size_t len = 0;
  int rc = mayfly_cert_serial(cert, &text, &len, &err);
  FUZZ_CHECK(!TakeText(rc, err, text, len).empty(), "a serial is not empty");
  text = nullptr;
  rc = mayfly_cert_common_name(cert, &text, &len, &err);
  TakeText(rc, err, text, len);
  int64_t not_before = 0;
  int64_t not_after = 0;
  rc = mayfly_cert_validity(cert, &not_before, &not_after, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && err == nullptr, "validity reads");
  rc = mayfly_cert_validity(cert, nullptr, nullptr, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && err == nullptr, "validity takes NULL outputs");

  const std::string pem = CertPem(cert);
  mayfly_cert_t* again = nullptr;
  rc = mayfly_cert_parse(reinterpret_cast<const uint8_t*>(pem.data()),
                         pem.size(), &again, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && again != nullptr, "cert PEM parses again");
  FUZZ_CHECK(CertFingerprint(again) == fingerprint, "cert PEM round-trips");
  mayfly_cert_free(again);

  uint8_t* der = nullptr;
  size_t der_len = 0;
  rc = mayfly_cert_to_der(cert, &der, &der_len, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && der != nullptr && der_len > 0, "cert DER out");
  again = nullptr;
  rc = mayfly_cert_parse(der, der_len, &again, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && again != nullptr, "cert DER parses again");
  FUZZ_CHECK(CertFingerprint(again) == fingerprint, "cert DER round-trips");
  mayfly_cert_free(again);
  mayfly_free(der);
}

void FuzzInspect(const uint8_t* data, size_t size) {
  char* text = Untouched<char>();
  size_t len = 7;
  mayfly_error_t* err = nullptr;
  int rc = mayfly_certificate_inspect(data, size, &text, &len, &err);
  if (rc != MAYFLY_OK) {
    FUZZ_CHECK(text == Untouched<char>() && len == 7,
               "a failed inspect leaves the outputs");
    CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
    return;
  }
  FUZZ_CHECK(len > 0, "an inspection is not empty");
  TakeText(rc, err, text, len);
}

void FuzzKey(const uint8_t* data, size_t size) {
  mayfly_key_t* key = Untouched<mayfly_key_t>();
  mayfly_error_t* err = nullptr;
  int rc = mayfly_key_parse(data, size, nullptr, &key, &err);
  if (rc != MAYFLY_OK) {
    FUZZ_CHECK(key == Untouched<mayfly_key_t>(),
               "a failed parse leaves the output");
    // An encrypted key without a password is Unauthenticated (key.h).
    CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_UNAUTHENTICATED);
    return;
  }
  FUZZ_CHECK(err == nullptr && key != nullptr, "a parsed key is returned");
  const int type = mayfly_key_type(key);
  FUZZ_CHECK(type >= MAYFLY_KEY_P256 && type <= MAYFLY_KEY_RSA,
             "a key has a known type");

  char* text = nullptr;
  size_t len = 0;
  rc = mayfly_key_public_pem(key, &text, &len, &err);
  const std::string public_pem = TakeText(rc, err, text, len);
  text = nullptr;
  rc = mayfly_key_to_pem(key, nullptr, &text, &len, &err);
  const std::string pem = TakeText(rc, err, text, len);

  mayfly_key_t* again = nullptr;
  rc = mayfly_key_parse(reinterpret_cast<const uint8_t*>(pem.data()),
                        pem.size(), nullptr, &again, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && again != nullptr, "key PEM parses again");
  FUZZ_CHECK(mayfly_key_type(again) == type, "the key type round-trips");
  text = nullptr;
  rc = mayfly_key_public_pem(again, &text, &len, &err);
  FUZZ_CHECK(TakeText(rc, err, text, len) == public_pem,
             "key PEM round-trips to the same public key");
  mayfly_key_free(again);
  mayfly_key_free(key);
}

void FuzzCsr(const uint8_t* data, size_t size) {
  mayfly_csr_t* csr = Untouched<mayfly_csr_t>();
  mayfly_error_t* err = nullptr;
  int rc = mayfly_csr_parse(data, size, &csr, &err);
  if (rc != MAYFLY_OK) {
    FUZZ_CHECK(csr == Untouched<mayfly_csr_t>(),
               "a failed parse leaves the output");
    CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
    return;
  }
  FUZZ_CHECK(err == nullptr && csr != nullptr, "a parsed CSR is returned");
  char* text = nullptr;
  size_t len = 0;
  rc = mayfly_csr_to_pem(csr, &text, &len, &err);
  const std::string pem = TakeText(rc, err, text, len);
  mayfly_csr_t* again = nullptr;
  rc = mayfly_csr_parse(reinterpret_cast<const uint8_t*>(pem.data()),
                        pem.size(), &again, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && again != nullptr, "CSR PEM parses again");
  text = nullptr;
  rc = mayfly_csr_to_pem(again, &text, &len, &err);
  FUZZ_CHECK(TakeText(rc, err, text, len) == pem, "CSR PEM round-trips");
  mayfly_csr_free(again);
  mayfly_csr_free(csr);
}

void FuzzCert(const uint8_t* data, size_t size) {
  mayfly_cert_t* cert = Untouched<mayfly_cert_t>();
  mayfly_error_t* err = nullptr;
  int rc = mayfly_cert_parse(data, size, &cert, &err);
  if (rc != MAYFLY_OK) {
    FUZZ_CHECK(cert == Untouched<mayfly_cert_t>(),
               "a failed parse leaves the output");
    CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
    return;
  }
  FUZZ_CHECK(err == nullptr && cert != nullptr, "a parsed cert is returned");
  ExerciseCert(cert);
  mayfly_cert_free(cert);
}

void FuzzChain(const uint8_t* data, size_t size) {
  mayfly_chain_t* chain = Untouched<mayfly_chain_t>();
  mayfly_error_t* err = nullptr;
  int rc = mayfly_chain_parse(data, size, &chain, &err);
  if (rc != MAYFLY_OK) {
    FUZZ_CHECK(chain == Untouched<mayfly_chain_t>(),
               "a failed parse leaves the output");
    CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
    return;
  }
  FUZZ_CHECK(err == nullptr && chain != nullptr, "a parsed chain is returned");
  const size_t n = mayfly_chain_size(chain);
  FUZZ_CHECK(n > 0, "a parsed chain is not empty");
  FUZZ_CHECK(mayfly_chain_get(chain, n) == nullptr,
             "mayfly_chain_get is NULL past the end");
  std::string fingerprints;
  for (size_t i = 0; i < n; i++) {
    const mayfly_cert_t* cert = mayfly_chain_get(chain, i);
    FUZZ_CHECK(cert != nullptr, "every index below the size has a cert");
    ExerciseCert(cert);
    fingerprints += CertFingerprint(cert);
  }
  char* text = nullptr;
  size_t len = 0;
  rc = mayfly_chain_to_pem(chain, &text, &len, &err);
  const std::string pem = TakeText(rc, err, text, len);
  mayfly_chain_t* again = nullptr;
  rc = mayfly_chain_parse(reinterpret_cast<const uint8_t*>(pem.data()),
                          pem.size(), &again, &err);
  FUZZ_CHECK(rc == MAYFLY_OK && again != nullptr, "chain PEM parses again");
  FUZZ_CHECK(mayfly_chain_size(again) == n, "the chain keeps its length");
  std::string again_fingerprints;
  for (size_t i = 0; i < n; i++) {
    again_fingerprints += CertFingerprint(mayfly_chain_get(again, i));
  }
  FUZZ_CHECK(again_fingerprints == fingerprints,
             "the chain round-trips in order");
  mayfly_chain_free(again);
  mayfly_chain_free(chain);
}

// The NULL-argument rules of c.h, on the same input: a NULL output, or
// NULL bytes with a length, is INVALID_ARGUMENT; a NULL `err` is allowed.
void FuzzNullArguments(const uint8_t* data, size_t size) {
  // Each call is its own statement: as an argument next to `err`, the
  // order of evaluation would be unspecified (g++ reads `err` first).
  mayfly_error_t* err = nullptr;
  int rc = mayfly_cert_parse(data, size, nullptr, &err);
  FUZZ_CHECK(rc == MAYFLY_INVALID_ARGUMENT, "a NULL output is refused");
  CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
  err = nullptr;
  rc = mayfly_chain_parse(data, size, nullptr, &err);
  FUZZ_CHECK(rc == MAYFLY_INVALID_ARGUMENT, "a NULL output is refused");
  CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
  if (size > 0) {
    mayfly_chain_t* chain = Untouched<mayfly_chain_t>();
    err = nullptr;
    rc = mayfly_chain_parse(nullptr, size, &chain, &err);
    FUZZ_CHECK(
        rc == MAYFLY_INVALID_ARGUMENT && chain == Untouched<mayfly_chain_t>(),
        "NULL bytes with a length are refused");
    CheckCall(rc, err, MAYFLY_INVALID_ARGUMENT, MAYFLY_INVALID_ARGUMENT);
  }
  mayfly_cert_t* cert = nullptr;
  if (mayfly_cert_parse(data, size, &cert, nullptr) == MAYFLY_OK) {
    mayfly_cert_free(cert);
  } else {
    FUZZ_CHECK(cert == nullptr, "a failed parse with NULL err leaves *out");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // (NULL, 0) is valid input (c.h); an empty input passes NULL.
  const uint8_t* in = size == 0 ? nullptr : data;
  FuzzInspect(in, size);
  FuzzKey(in, size);
  FuzzCsr(in, size);
  FuzzCert(in, size);
  FuzzChain(in, size);
  FuzzNullArguments(in, size);
  return 0;
}

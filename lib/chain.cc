// VerifyChain: path building and validation with BoringSSL's X509_STORE, at
// a caller-given time, trusting only the roots passed in.

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "internal/x509.h"
#include "mayfly/certificate.h"
#include "openssl/err.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace mayfly {
namespace {

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(
      absl::StrCat("certificate chain does not verify: ", why));
}

}  // namespace

absl::Status VerifyChain(const Certificate& leaf,
                         absl::Span<const Certificate> intermediates,
                         absl::Span<const Certificate> roots, absl::Time at,
                         const VerifyOptions& options) {
  // Map the purpose first: an unknown one is the caller's mistake, not a
  // failed verification.
  int purpose = 0;
  if (options.purpose == kOidServerAuth) {
    purpose = X509_PURPOSE_SSL_SERVER;
  } else if (options.purpose == kOidClientAuth) {
    purpose = X509_PURPOSE_SSL_CLIENT;
  } else if (!options.purpose.empty()) {
    CBB unused;
    bssl::ScopedCBB cbb;
    if (!CBB_init(cbb.get(), 16) ||
        !CBB_add_asn1(cbb.get(), &unused, CBS_ASN1_OBJECT) ||
        !CBB_add_asn1_oid_from_text(&unused, options.purpose.data(),
                                    options.purpose.size())) {
      return absl::InvalidArgumentError(
          absl::StrCat("purpose \"", options.purpose, "\" is not an OID"));
    }
  }
  if (roots.empty()) {
    return Unauthenticated("no roots to verify against");
  }

  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
    return absl::InternalError("out of memory");
  }
  for (const Certificate& root : roots) {
    // The store may already hold an identical root: BoringSSL then ignores
    // the second copy.
    if (!X509_STORE_add_cert(store.get(), root.native())) {
      ERR_clear_error();
    }
  }
  for (const Certificate& cert : intermediates) {
    if (!bssl::PushToStack(untrusted.get(), bssl::UpRef(cert.native()))) {
      return absl::InternalError("out of memory");
    }
  }
  if (!X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(),
                           untrusted.get())) {
    ERR_clear_error();
    return absl::InternalError("cannot initialize X509_STORE_CTX");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // set_time also sets X509_V_FLAG_USE_CHECK_TIME. X509_V_FLAG_X509_STRICT
  // is not set: BoringSSL's checks are always strict and the flag is 0.
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(at));
  if (purpose != 0 && !X509_STORE_CTX_set_purpose(ctx.get(), purpose)) {
    ERR_clear_error();
    return absl::InternalError("cannot set verification purpose");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ERR_clear_error();
    return Unauthenticated(absl::StrCat(X509_verify_cert_error_string(err),
                                        " (depth ", depth, ")"));
  }
  // Purposes BoringSSL has no X509_PURPOSE for: the leaf's EKU must list
  // the OID (or anyExtendedKeyUsage), or be absent, as in RFC 5280 4.2.1.12.
  if (purpose == 0 && !options.purpose.empty()) {
    std::vector<std::string> eku = leaf.ExtKeyUsage();
    if (!eku.empty() &&
        std::find(eku.begin(), eku.end(), options.purpose) == eku.end() &&
        std::find(eku.begin(), eku.end(), "2.5.29.37.0") == eku.end()) {
      return Unauthenticated(absl::StrCat(
          "leaf extended key usage does not include ", options.purpose));
    }
  }
  return absl::OkStatus();
}

}  // namespace mayfly

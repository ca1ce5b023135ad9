// The C ABI of one-time tokens: a signer for one JWK provisioner, and the
// options of a token (subject, audience from the CA URL, SANs, lifetime).

#include "mayfly/token.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "capi/internal.h"
#include "mayfly/c.h"
#include "mayfly/clock.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"

// Signers sign at the wall clock: the CA a signer was made from may be freed
// first, so it cannot lend its clock.
struct mayfly_token_signer {
  mayfly::TokenSigner signer;
};

struct mayfly_token_options {
  mayfly::TokenRequest request;  // audience made at sign time from ca_url
  std::string ca_url;
  int purpose = MAYFLY_TOKEN_SIGN;
};

namespace mayfly {
namespace capi {
namespace {

absl::StatusOr<TokenSigner> SignerFromCa(const Authority& authority,
                                         absl::string_view name,
                                         const char* password) {
  for (const Provisioner& p : authority.Provisioners()) {
    if (p.name == name) {
      MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, p.DecryptKey(password));
      return TokenSigner(std::move(key), p.kid, p.name, Clock::Real());
    }
  }
  return absl::NotFoundError(
      absl::StrCat("the CA has no provisioner named ", name));
}

absl::StatusOr<std::string> SignToken(const TokenSigner& signer,
                                      const mayfly_token_options& opts) {
  if (opts.ca_url.empty()) {
    return absl::InvalidArgumentError("the token options have no CA URL");
  }
  TokenRequest request = opts.request;
  request.revoke = opts.purpose == MAYFLY_TOKEN_REVOKE;
  MAYFLY_ASSIGN_OR_RETURN(request.audience, request.revoke
                                                ? RevokeAudience(opts.ca_url)
                                                : SignAudience(opts.ca_url));
  return signer.Sign(request);
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

using mayfly::capi::SetOption;
using mayfly::capi::SetTextOption;
using Opts = mayfly_token_options;

extern "C" {

int mayfly_token_signer_new(const mayfly_key_t* key, const char* kid,
                            const char* issuer, mayfly_token_signer_t** out,
                            mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(issuer, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    std::string key_id =
        kid == nullptr ? key->key.public_key().JwkThumbprint() : kid;
    return mayfly::capi::OutObject(
        mayfly::TokenSigner(key->key, std::move(key_id), issuer,
                            mayfly::Clock::Real()),
        out, err);
  })
}

int mayfly_token_signer_from_ca(const mayfly_ca_t* ca, const char* name,
                                const char* password,
                                mayfly_token_signer_t** out,
                                mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(name, err);
    MAYFLY_CAPI_REQUIRE(password, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutResult(
        mayfly::capi::SignerFromCa(*ca->authority, name, password), out, err);
  })
}

void mayfly_token_signer_free(mayfly_token_signer_t* signer) { delete signer; }

mayfly_token_options_t* mayfly_token_options_new(void) {
  return mayfly::capi::NewOptions<mayfly_token_options>();
}

void mayfly_token_options_free(mayfly_token_options_t* opts) { delete opts; }

int mayfly_token_options_set_subject(mayfly_token_options_t* opts,
                                     const char* subject) {
  return SetTextOption(
      opts, subject, [](Opts & o) -> auto& { return o.request.subject; });
}

int mayfly_token_options_set_ca_url(mayfly_token_options_t* opts,
                                    const char* ca_url) {
  return SetTextOption(
      opts, ca_url, [](Opts & o) -> auto& { return o.ca_url; });
}

int mayfly_token_options_set_purpose(mayfly_token_options_t* opts,
                                     int purpose) {
  if (purpose != MAYFLY_TOKEN_SIGN && purpose != MAYFLY_TOKEN_REVOKE) {
    return mayfly::capi::InvalidArgument("unknown token purpose");
  }
  return SetOption(opts, [&](Opts& o) { o.purpose = purpose; });
}

int mayfly_token_options_add_san(mayfly_token_options_t* opts,
                                 const char* san) {
  if (san == nullptr) {
    return mayfly::capi::InvalidArgument("san must not be NULL");
  }
  return SetOption(opts, [&](Opts& o) { o.request.sans.emplace_back(san); });
}

int mayfly_token_options_set_root_fingerprint(mayfly_token_options_t* opts,
                                              const char* fingerprint) {
  return SetOption(opts, [&](Opts& o) {
    o.request.root_fingerprint = fingerprint == nullptr ? "" : fingerprint;
  });
}

int mayfly_token_options_set_lifetime(mayfly_token_options_t* opts,
                                      int64_t lifetime_ms) {
  if (lifetime_ms <= 0) {
    return mayfly::capi::InvalidArgument("lifetime_ms must be positive");
  }
  return SetOption(opts, [&](Opts& o) {
    o.request.lifetime = absl::Milliseconds(lifetime_ms);
  });
}

int mayfly_token_sign(const mayfly_token_signer_t* signer,
                      const mayfly_token_options_t* opts, char** out,
                      size_t* out_len, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(signer, err);
    MAYFLY_CAPI_REQUIRE(opts, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutTextResult(
        mayfly::capi::SignToken(signer->signer, *opts), out, out_len, err);
  })
}

}  // extern "C"

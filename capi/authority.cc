// The C ABI of the certificate authority: PKI initialisation, opening a CA
// from its ca.json, provisioners, and the operations of the CA core (sign,
// renew, rekey, revoke, CRL). Each call is a thin shell over Authority.

#include "mayfly/authority.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capi/internal.h"
#include "mayfly/c.h"
#include "mayfly/clock.h"
#include "mayfly/config.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"
#include "mayfly/store.h"

struct mayfly_init_options {
  mayfly::InitOptions options;
  // The first add_dns_name replaces the default "localhost".
  bool dns_names_given = false;
};

struct mayfly_init_result {
  mayfly::InitResult result;
};

struct mayfly_provisioner_options {
  mayfly::Claims claims;
  uint32_t kdf_iterations = 600000;
};

namespace mayfly {
namespace capi {
namespace {

absl::StatusOr<std::unique_ptr<Authority>> OpenAuthority(
    const char* config_path, const char* password, const char* store_url) {
  MAYFLY_ASSIGN_OR_RETURN(CaConfig config, LoadConfig(config_path));
  // NULL leaves the choice to Authority::Create: the config's store, else
  // DefaultStoreUrl of the CA folder, as mayfly-ca serve does.
  std::unique_ptr<Store> store;
  if (store_url != nullptr) {
    MAYFLY_ASSIGN_OR_RETURN(store, NewStore(store_url));
  }
  return Authority::Create(config, password, std::move(store), Clock::Real());
}

// ProvisionersJson writes every provisioner in one page of step-ca's
// /provisioners shape; with nothing left, nextCursor is "".
std::string ProvisionersJson(const Authority& authority) {
  std::string json = "{\"provisioners\":[";
  bool first = true;
  for (const Provisioner& p : authority.Provisioners()) {
    if (!first) {
      json.push_back(',');
    }
    first = false;
    json += p.ToJson();
  }
  json += "],\"nextCursor\":\"\"}";
  return json;
}

// OutIssued hands out the chain of an issued certificate (leaf first).
int OutIssued(const absl::StatusOr<IssuedCertificate>& issued,
              mayfly_chain_t** out, mayfly_error_t** err) {
  if (!issued.ok()) {
    return HandleStatus(issued.status(), err);
  }
  return OutChain(issued->chain, out, err);
}

absl::StatusOr<Provisioner> MakeProvisioner(
    const char* name, const PrivateKey& key, const char* password,
    const mayfly_provisioner_options_t* opts) {
  const mayfly_provisioner_options defaults;
  const mayfly_provisioner_options& o = opts == nullptr ? defaults : *opts;
  return Provisioner::FromPrivateKey(name, key, password, o.claims,
                                     o.kdf_iterations);
}

// Duration sets a claim from milliseconds; 0 inherits.
std::optional<absl::Duration> ClaimDuration(int64_t ms) {
  if (ms == 0) {
    return std::nullopt;
  }
  return absl::Milliseconds(ms);
}

absl::Status RevokeWith(Authority& authority, const char* serial,
                        int reason_code, const char* reason, const char* token,
                        const mayfly_chain_t* peer_chain) {
  if ((token == nullptr) == (peer_chain == nullptr)) {
    return absl::InvalidArgumentError(
        "exactly one of token and peer_chain must be given");
  }
  RevokeRequest request;
  request.serial = serial;
  request.reason_code = reason_code;
  request.reason = reason == nullptr ? "" : reason;
  if (token != nullptr) {
    request.ott = token;
  } else {
    request.peer_chain = peer_chain->ToVector();
  }
  return authority.Revoke(request);
}

absl::StatusOr<std::string> CrlBytes(Authority& authority, bool pem) {
  MAYFLY_ASSIGN_OR_RETURN(Crl crl, authority.GetCrl());
  if (pem) {
    return crl.ToPem();
  }
  return std::string(crl.der.begin(), crl.der.end());
}

}  // namespace

Authority* CaAuthority(mayfly_ca_t* ca) { return ca->authority.get(); }

}  // namespace capi
}  // namespace mayfly

using mayfly::capi::HandleStatus;
using mayfly::capi::InvalidArgument;
using mayfly::capi::OutText;
using mayfly::capi::SetOption;
using mayfly::capi::SetTextOption;
using Init = mayfly_init_options;
using Prov = mayfly_provisioner_options;

extern "C" {

// ---- Init options -----------------------------------------------------------

mayfly_init_options_t* mayfly_init_options_new(void) {
  return mayfly::capi::NewOptions<mayfly_init_options>();
}

void mayfly_init_options_free(mayfly_init_options_t* opts) { delete opts; }

int mayfly_init_options_set_dir(mayfly_init_options_t* opts, const char* dir) {
  return SetTextOption(
      opts, dir, [](Init & o) -> auto& { return o.options.dir; });
}

int mayfly_init_options_set_name(mayfly_init_options_t* opts,
                                 const char* name) {
  return SetTextOption(
      opts, name, [](Init & o) -> auto& { return o.options.name; });
}

int mayfly_init_options_add_dns_name(mayfly_init_options_t* opts,
                                     const char* dns_name) {
  if (dns_name == nullptr) {
    return InvalidArgument("dns_name must not be NULL");
  }
  return SetOption(opts, [&](Init& o) {
    std::vector<std::string> names;
    if (o.dns_names_given) {
      names = o.options.dns_names;
    }
    names.emplace_back(dns_name);
    o.options.dns_names = std::move(names);
    o.dns_names_given = true;
  });
}

int mayfly_init_options_set_address(mayfly_init_options_t* opts,
                                    const char* address) {
  return SetTextOption(
      opts, address, [](Init & o) -> auto& { return o.options.address; });
}

int mayfly_init_options_set_provisioner(mayfly_init_options_t* opts,
                                        const char* name) {
  return SetTextOption(
      opts, name, [](Init & o) -> auto& { return o.options.provisioner_name; });
}

int mayfly_init_options_set_password(mayfly_init_options_t* opts,
                                     const char* password) {
  return SetTextOption(
      opts, password, [](Init & o) -> auto& { return o.options.password; });
}

int mayfly_init_options_set_provisioner_password(mayfly_init_options_t* opts,
                                                 const char* password) {
  return SetTextOption(
      opts, password,
      [](Init & o) -> auto& { return o.options.provisioner_password; });
}

int mayfly_init_options_set_key_type(mayfly_init_options_t* opts, int type) {
  absl::StatusOr<mayfly::KeyType> key_type = mayfly::capi::KeyTypeFromC(type);
  if (!key_type.ok()) {
    return HandleStatus(key_type.status(), nullptr);
  }
  return SetOption(opts, [&](Init& o) { o.options.key_type = *key_type; });
}

int mayfly_init_options_set_store(mayfly_init_options_t* opts,
                                  const char* url) {
  return SetTextOption(
      opts, url, [](Init & o) -> auto& { return o.options.store; });
}

int mayfly_init_options_set_overwrite(mayfly_init_options_t* opts,
                                      int overwrite) {
  return SetOption(opts,
                   [&](Init& o) { o.options.overwrite = overwrite != 0; });
}

int mayfly_init_options_set_kdf_iterations(mayfly_init_options_t* opts,
                                           uint32_t iterations) {
  return SetOption(opts,
                   [&](Init& o) { o.options.provisioner_p2c = iterations; });
}

int mayfly_init_options_set_backdate(mayfly_init_options_t* opts,
                                     int64_t backdate_ms) {
  if (backdate_ms < 0) {
    return InvalidArgument("backdate_ms must not be negative");
  }
  return SetOption(opts, [&](Init& o) {
    o.options.backdate = absl::Milliseconds(backdate_ms);
  });
}

// ---- Init -------------------------------------------------------------------

int mayfly_pki_init(const mayfly_init_options_t* opts,
                    mayfly_init_result_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(opts, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutResult(
        mayfly::InitPki(opts->options, mayfly::Clock::Real()), out, err);
  })
}

const char* mayfly_init_result_config_path(const mayfly_init_result_t* result) {
  return result == nullptr ? nullptr : result->result.config_path.c_str();
}

const char* mayfly_init_result_root_path(const mayfly_init_result_t* result) {
  return result == nullptr ? nullptr : result->result.root_path.c_str();
}

const char* mayfly_init_result_root_fingerprint(
    const mayfly_init_result_t* result) {
  return result == nullptr ? nullptr : result->result.root_fingerprint.c_str();
}

const char* mayfly_init_result_provisioner_kid(
    const mayfly_init_result_t* result) {
  return result == nullptr ? nullptr : result->result.provisioner_kid.c_str();
}

void mayfly_init_result_free(mayfly_init_result_t* result) { delete result; }

// ---- The CA -----------------------------------------------------------------

int mayfly_ca_open(const char* config_path, const char* password,
                   const char* store_url, mayfly_ca_t** out,
                   mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(config_path, err);
    MAYFLY_CAPI_REQUIRE(password, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutResult(
        mayfly::capi::OpenAuthority(config_path, password, store_url), out,
        err);
  })
}

void mayfly_ca_free(mayfly_ca_t* ca) { delete ca; }

int mayfly_ca_roots(const mayfly_ca_t* ca, mayfly_chain_t** out,
                    mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutChain(ca->authority->roots(), out, err);
  })
}

int mayfly_ca_root_fingerprint(const mayfly_ca_t* ca, char** out,
                               size_t* out_len, mayfly_error_t** err) {
  return mayfly::capi::TextOf(
      ca, "ca", out, out_len, err, [](const mayfly_ca& c) {
        return c.authority->roots().front().FingerprintHex();
      });
}

// ---- Provisioner options ----------------------------------------------------

mayfly_provisioner_options_t* mayfly_provisioner_options_new(void) {
  return mayfly::capi::NewOptions<mayfly_provisioner_options>();
}

void mayfly_provisioner_options_free(mayfly_provisioner_options_t* opts) {
  delete opts;
}

int mayfly_provisioner_options_set_durations(mayfly_provisioner_options_t* opts,
                                             int64_t min_ms, int64_t default_ms,
                                             int64_t max_ms) {
  if (min_ms < 0 || default_ms < 0 || max_ms < 0) {
    return InvalidArgument("durations must not be negative");
  }
  return SetOption(opts, [&](Prov& o) {
    o.claims.min_tls_duration = mayfly::capi::ClaimDuration(min_ms);
    o.claims.default_tls_duration = mayfly::capi::ClaimDuration(default_ms);
    o.claims.max_tls_duration = mayfly::capi::ClaimDuration(max_ms);
  });
}

int mayfly_provisioner_options_set_disable_renewal(
    mayfly_provisioner_options_t* opts, int disable) {
  return SetOption(opts,
                   [&](Prov& o) { o.claims.disable_renewal = disable != 0; });
}

int mayfly_provisioner_options_set_allow_renewal_after_expiry(
    mayfly_provisioner_options_t* opts, int allow) {
  return SetOption(
      opts, [&](Prov& o) { o.claims.allow_renewal_after_expiry = allow != 0; });
}

int mayfly_provisioner_options_set_kdf_iterations(
    mayfly_provisioner_options_t* opts, uint32_t iterations) {
  return SetOption(opts, [&](Prov& o) { o.kdf_iterations = iterations; });
}

// ---- Provisioners -----------------------------------------------------------

int mayfly_ca_add_provisioner(mayfly_ca_t* ca, const char* name,
                              const mayfly_key_t* key, const char* password,
                              const mayfly_provisioner_options_t* opts,
                              mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(name, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(password, err);
    auto provisioner =
        mayfly::capi::MakeProvisioner(name, key->key, password, opts);
    if (!provisioner.ok()) {
      return HandleStatus(provisioner.status(), err);
    }
    return HandleStatus(ca->authority->AddProvisioner(*provisioner), err);
  })
}

int mayfly_ca_remove_provisioner(mayfly_ca_t* ca, const char* name,
                                 mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(name, err);
    return HandleStatus(ca->authority->RemoveProvisioner(name), err);
  })
}

int mayfly_ca_provisioners_json(const mayfly_ca_t* ca, char** out,
                                size_t* out_len, mayfly_error_t** err) {
  return mayfly::capi::TextOf(
      ca, "ca", out, out_len, err, [](const mayfly_ca& c) {
        return mayfly::capi::ProvisionersJson(*c.authority);
      });
}

// ---- Issuance ---------------------------------------------------------------

int mayfly_ca_sign(mayfly_ca_t* ca, const mayfly_csr_t* csr, const char* token,
                   const char* not_before, const char* not_after,
                   mayfly_chain_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(csr, err);
    MAYFLY_CAPI_REQUIRE(token, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    mayfly::SignOptions options;
    if (not_before != nullptr) {
      options.not_before = not_before;
    }
    if (not_after != nullptr) {
      options.not_after = not_after;
    }
    return mayfly::capi::OutIssued(
        ca->authority->Sign(csr->csr, token, options), out, err);
  })
}

int mayfly_ca_renew(mayfly_ca_t* ca, const mayfly_chain_t* peer_chain,
                    mayfly_chain_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(peer_chain, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(ca->authority->Renew(peer_chain->ToVector()),
                                   out, err);
  })
}

int mayfly_ca_renew_with_token(mayfly_ca_t* ca, const char* token,
                               mayfly_chain_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(token, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(ca->authority->RenewWithToken(token), out,
                                   err);
  })
}

int mayfly_ca_rekey(mayfly_ca_t* ca, const mayfly_chain_t* peer_chain,
                    const mayfly_csr_t* csr, mayfly_chain_t** out,
                    mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(peer_chain, err);
    MAYFLY_CAPI_REQUIRE(csr, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(
        ca->authority->Rekey(peer_chain->ToVector(), csr->csr), out, err);
  })
}

int mayfly_ca_revoke(mayfly_ca_t* ca, const char* serial, int reason_code,
                     const char* reason, const char* token,
                     const mayfly_chain_t* peer_chain, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(serial, err);
    return HandleStatus(
        mayfly::capi::RevokeWith(*ca->authority, serial, reason_code, reason,
                                 token, peer_chain),
        err);
  })
}

int mayfly_ca_crl(mayfly_ca_t* ca, int pem, uint8_t** out, size_t* out_len,
                  mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    MAYFLY_CAPI_REQUIRE(out_len, err);
    auto crl = mayfly::capi::CrlBytes(*ca->authority, pem != 0);
    if (!crl.ok()) {
      return HandleStatus(crl.status(), err);
    }
    return mayfly::capi::OutBytes(
        {reinterpret_cast<const uint8_t*>(crl->data()), crl->size()}, out,
        out_len, err);
  })
}

}  // extern "C"

// The C ABI's CA client: mayfly_client_* over mayfly::CaClient.

#include "mayfly/client.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "capi/internal.h"
#include "mayfly/authority.h"
#include "mayfly/c.h"

namespace mayfly {
namespace capi {
namespace {

// OutClient hands a new client to the caller.
int OutClient(absl::StatusOr<std::unique_ptr<CaClient>> client,
              mayfly_client_t** out, mayfly_error_t** err) {
  if (!client.ok()) {
    return HandleStatus(client.status(), err);
  }
  return OutObject(std::shared_ptr<CaClient>(*std::move(client)), out, err);
}

int OutIssued(const absl::StatusOr<IssuedCertificate>& issued,
              mayfly_chain_t** out, mayfly_error_t** err) {
  if (!issued.ok()) {
    return HandleStatus(issued.status(), err);
  }
  return OutChain(issued->chain, out, err);
}

// ProvisionersJson joins the entries as the CA sent them into one
// {"provisioners":[...]} document, the shape mayfly_ca_provisioners_json
// writes, so a host reads either the same way.
std::string ProvisionersJson(const std::vector<ProvisionerInfo>& list) {
  std::string json = "{\"provisioners\":[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) {
      json += ',';
    }
    json += list[i].json;
  }
  json += "]}";
  return json;
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

using mayfly::capi::HandleStatus;

extern "C" {

int mayfly_client_new(const char* ca_url, const mayfly_chain_t* roots,
                      mayfly_client_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca_url, err);
    MAYFLY_CAPI_REQUIRE(roots, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutClient(
        mayfly::CaClient::Create(ca_url, roots->ToVector()), out, err);
  })
}

int mayfly_client_bootstrap(const char* ca_url, const char* fingerprint,
                            mayfly_client_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(ca_url, err);
    MAYFLY_CAPI_REQUIRE(fingerprint, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutClient(
        mayfly::CaClient::Bootstrap(ca_url, fingerprint), out, err);
  })
}

void mayfly_client_free(mayfly_client_t* client) { delete client; }

int mayfly_client_health(mayfly_client_t* client, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    return HandleStatus(client->client->Health(), err);
  })
}

int mayfly_client_roots(mayfly_client_t* client, mayfly_chain_t** out,
                        mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    absl::StatusOr<std::vector<mayfly::Certificate>> roots =
        client->client->Roots();
    if (!roots.ok()) {
      return HandleStatus(roots.status(), err);
    }
    return mayfly::capi::OutChain(*roots, out, err);
  })
}

int mayfly_client_provisioners_json(mayfly_client_t* client, char** out,
                                    size_t* out_len, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    absl::StatusOr<std::vector<mayfly::ProvisionerInfo>> list =
        client->client->Provisioners();
    if (!list.ok()) {
      return HandleStatus(list.status(), err);
    }
    return mayfly::capi::OutText(mayfly::capi::ProvisionersJson(*list), out,
                                 out_len, err);
  })
}

int mayfly_client_sign(mayfly_client_t* client, const mayfly_key_t* key,
                       const char* token, mayfly_chain_t** out,
                       mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(token, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(client->client->Sign(key->key, token), out,
                                   err);
  })
}

int mayfly_client_sign_csr(mayfly_client_t* client, const mayfly_csr_t* csr,
                           const char* token, mayfly_chain_t** out,
                           mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(csr, err);
    MAYFLY_CAPI_REQUIRE(token, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(client->client->Sign(csr->csr, token), out,
                                   err);
  })
}

int mayfly_client_renew(mayfly_client_t* client, const mayfly_chain_t* chain,
                        const mayfly_key_t* key, mayfly_chain_t** out,
                        mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(
        client->client->Renew(chain->ToVector(), key->key), out, err);
  })
}

int mayfly_client_renew_with_token(mayfly_client_t* client,
                                   const mayfly_chain_t* chain,
                                   const mayfly_key_t* key,
                                   mayfly_chain_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(
        client->client->RenewWithToken(chain->ToVector(), key->key), out, err);
  })
}

int mayfly_client_rekey(mayfly_client_t* client, const mayfly_chain_t* chain,
                        const mayfly_key_t* key, const mayfly_key_t* new_key,
                        mayfly_chain_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(new_key, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutIssued(
        client->client->Rekey(chain->ToVector(), key->key, new_key->key), out,
        err);
  })
}

int mayfly_client_revoke(mayfly_client_t* client, const char* serial,
                         int reason_code, const char* reason, const char* token,
                         const mayfly_chain_t* chain, const mayfly_key_t* key,
                         mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(client, err);
    // With a token the serial is required; over mTLS NULL means the leaf's.
    if (token != nullptr && serial == nullptr) {
      return HandleStatus(
          absl::InvalidArgumentError(
              "serial must not be NULL when revoking with a token"),
          err);
    }
    if (token == nullptr && (chain == nullptr || key == nullptr)) {
      return HandleStatus(
          absl::InvalidArgumentError(absl::StrCat(
              chain == nullptr ? "chain" : "key",
              " must not be NULL when revoking over mTLS (token is NULL)")),
          err);
    }
    std::vector<mayfly::Certificate> peer_chain;
    if (chain != nullptr) {
      peer_chain = chain->ToVector();
    }
    return HandleStatus(
        client->client->Revoke(serial == nullptr ? "" : serial, reason_code,
                               reason == nullptr ? "" : reason,
                               token == nullptr ? "" : token, peer_chain,
                               key == nullptr ? nullptr : &key->key),
        err);
  })
}

}  // extern "C"

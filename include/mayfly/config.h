// File: mayfly/config.h
//
// The CA's configuration, read from and written to JSON in the shape of
// step-ca's ca.json (STEP-PROTOCOL.md section 7), so a config written by
// `step ca init` loads as it is. mayfly adds one member, "store" (a store
// URL such as "memory:" or "sqlite:/path/db"); step's "db" member is kept
// but not used.
//
//   MAYFLY_ASSIGN_OR_RETURN(CaConfig config, LoadConfig("/ca/config/ca.json"));
//   MAYFLY_ASSIGN_OR_RETURN(auto ca, Authority::Create(config, password,
//                                                      Clock::Real()));

#ifndef MAYFLY_CONFIG_H_
#define MAYFLY_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"

namespace mayfly {

// CrlConfig: the "crl" block.
struct CrlConfig {
  bool enabled = false;
  bool generate_on_revoke = false;
  absl::Duration cache_duration = absl::Hours(24);  // nextUpdate - thisUpdate
  // renew_period ("renewPeriod"): how long before nextUpdate the CRL is
  // rebuilt; zero means unset (step's default: 2/3 of cache_duration).
  absl::Duration renew_period = absl::ZeroDuration();
  std::string idp_url;  // "" means https://<dns_names[0]>/1.0/crl
};

// TlsConfig: the "tls" block (what /sign answers as tlsOptions).
struct TlsConfig {
  std::vector<std::string> cipher_suites = {
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  double min_version = 1.2;
  double max_version = 1.3;
  bool renegotiation = false;  // kept for round trips; mayfly never
                               // renegotiates
};

// CaConfig is the whole configuration. Paths are as written in the file;
// relative ones are taken relative to the directory of the config file.
struct CaConfig {
  std::vector<std::string> root;             // root certificate file(s)
  std::vector<std::string> federated_roots;  // "federatedRoots" files
  std::string crt;                           // intermediate certificate file
  std::string key;                // intermediate key file (encrypted PEM)
  std::string address = ":9000";  // listen address
  std::string insecure_address;   // "insecureAddress"; kept, unused
  std::vector<std::string> dns_names = {"localhost", "127.0.0.1", "::1"};
  std::string store;  // store URL; "" means DefaultStoreUrl (store.h)
  // "storePrune": {"interval": "10m", "retention": "168h"}: the store is
  // pruned every interval ("0s" never) of what expired more than retention
  // ago (StorePruner). The retention must exceed every provisioner's
  // maximum lifetime plus its renewal grace period.
  PruneOptions prune;
  std::string db_json;  // step's "db" member as compact JSON
                        // ("" if absent); kept, unused
  std::string common_name = "Step Online CA";  // the server cert's CN
  std::vector<Provisioner> provisioners;
  Claims claims;  // authority-wide claims
  absl::Duration backdate = absl::Minutes(1);
  CrlConfig crl;
  TlsConfig tls;
  std::string logger_format = "text";  // "text" or "json"
  std::string base_dir;                // directory of the config file

  // ResolvePath returns `path` made absolute against base_dir.
  std::string ResolvePath(absl::string_view path) const;
};

// ParseConfig parses ca.json text (at most 1 MiB). `base_dir` resolves
// relative paths. "root", "crt" and "key" are required; members mayfly does
// not use (step's "ssh", "kms", "templates", "password", ...) are ignored,
// except "authority.policy", which is refused rather than silently not
// enforced. InvalidArgument, naming the member, for malformed JSON,
// duplicate members, wrong types, bad durations, unknown provisioner types
// (mayfly supports JWK only), duplicate provisioner names or kids, claims
// that do not resolve (0 < min <= default <= max), a "logger.format" other
// than "text" or "json", or TLS versions outside 1.0..1.3 or min > max.
absl::StatusOr<CaConfig> ParseConfig(absl::string_view json,
                                     absl::string_view base_dir);

// LoadConfig reads and parses a config file. NotFound if it cannot be read.
absl::StatusOr<CaConfig> LoadConfig(const std::string& path);

// SerializeConfig writes `config` as ca.json (indented, step's member order).
std::string SerializeConfig(const CaConfig& config);

}  // namespace mayfly

#endif  // MAYFLY_CONFIG_H_

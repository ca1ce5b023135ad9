// Fuzz target: ParseConfig on untrusted ca.json text (the from-string entry
// point under LoadConfig, so no file is touched), then SerializeConfig.
//
// Properties: failures are InvalidArgument (config.h); what parses obeys
// every rule config.h states (claims resolve, provisioner names and kids are
// unique, logger format, TLS versions, durations in range); it serializes
// to text that parses again to a config serializing to the same text; each
// provisioner round-trips through its own JSON; ResolvePath keeps absolute
// paths and puts relative ones under the base directory.
// Recommended -max_len: 8192 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fuzz_check.h"
#include "mayfly/config.h"
#include "mayfly/provisioner.h"

namespace {

// A base directory no file is read from: ParseConfig only joins paths.
constexpr char kBaseDir[] = "/nonexistent/mayfly-fuzz/config";

bool ValidTlsVersion(double v) {
  return v == 1.0 || v == 1.1 || v == 1.2 || v == 1.3;
}

void CheckPath(const mayfly::CaConfig& config, const std::string& path) {
  std::string resolved = config.ResolvePath(path);
  if (path.empty() || path[0] == '/') {
    FUZZ_CHECK(resolved == path, "ResolvePath keeps absolute paths");
  } else {
    FUZZ_CHECK(resolved == absl::StrCat(kBaseDir, "/", path),
               "ResolvePath puts relative paths under base_dir");
  }
}

void CheckRules(const mayfly::CaConfig& config) {
  FUZZ_CHECK(!config.root.empty(), "a parsed config has a root");
  FUZZ_CHECK(config.base_dir == kBaseDir, "base_dir is the one given");
  FUZZ_CHECK(!config.address.empty(), "the address is not empty");
  FUZZ_CHECK(!config.dns_names.empty(), "dnsNames is never empty");
  FUZZ_CHECK(config.logger_format == "text" || config.logger_format == "json",
             "logger.format is text or json");
  FUZZ_CHECK(ValidTlsVersion(config.tls.min_version) &&
                 ValidTlsVersion(config.tls.max_version) &&
                 config.tls.min_version <= config.tls.max_version,
             "TLS versions are in 1.0..1.3 and ordered");
  FUZZ_CHECK(config.backdate >= absl::ZeroDuration(),
             "backdate is not negative");
  FUZZ_CHECK(config.crl.cache_duration > absl::ZeroDuration(),
             "crl.cacheDuration is positive");
  FUZZ_CHECK(config.crl.renew_period >= absl::ZeroDuration() &&
                 config.crl.renew_period <= config.crl.cache_duration,
             "crl.renewPeriod is within the cache duration");
  FUZZ_CHECK(config.prune.interval >= absl::ZeroDuration() &&
                 config.prune.retention >= absl::ZeroDuration(),
             "storePrune durations are not negative");
  FUZZ_CHECK(mayfly::ResolveClaims({}, config.claims).ok(),
             "authority claims resolve");

  std::set<std::string> names;
  std::set<std::string> kids;
  for (const mayfly::Provisioner& p : config.provisioners) {
    FUZZ_CHECK(names.insert(p.name).second, "provisioner names are unique");
    FUZZ_CHECK(kids.insert(p.kid).second, "provisioner kids are unique");
    FUZZ_CHECK(mayfly::ResolveClaims(p.claims, config.claims).ok(),
               "every provisioner's claims resolve");
    const std::string json = p.ToJson();
    absl::StatusOr<mayfly::Provisioner> again =
        mayfly::Provisioner::Parse(json);
    FUZZ_CHECK(again.ok(), "a provisioner's own JSON parses");
    FUZZ_CHECK(again->name == p.name && again->kid == p.kid &&
                   again->key.Equals(p.key) &&
                   again->encrypted_key == p.encrypted_key,
               "a provisioner round-trips to the same name, kid and keys");
    FUZZ_CHECK(again->ToJson() == json, "Provisioner::ToJson is stable");
  }

  for (const std::string& path : config.root) {
    CheckPath(config, path);
  }
  for (const std::string& path : config.federated_roots) {
    CheckPath(config, path);
  }
  CheckPath(config, config.crt);
  CheckPath(config, config.key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<mayfly::CaConfig> config =
      mayfly::ParseConfig(mayfly::fuzz::AsText(data, size), kBaseDir);
  if (!config.ok()) {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(config.status(),
                                     absl::StatusCode::kInvalidArgument),
               "ParseConfig fails with InvalidArgument");
    FUZZ_CHECK(absl::StartsWith(config.status().message(), "ca config"),
               "ParseConfig's errors name the config");
    return 0;
  }
  CheckRules(*config);

  const std::string text = mayfly::SerializeConfig(*config);
  absl::StatusOr<mayfly::CaConfig> again = mayfly::ParseConfig(text, kBaseDir);
  FUZZ_CHECK(again.ok(), "SerializeConfig output parses");
  CheckRules(*again);
  FUZZ_CHECK(mayfly::SerializeConfig(*again) == text,
             "a config round-trips through SerializeConfig");
  FUZZ_CHECK(again->provisioners.size() == config->provisioners.size(),
             "the provisioners survive the round trip");
  return 0;
}

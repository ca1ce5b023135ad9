// InitPki: the layout of `step ca init` (STEP-PROTOCOL.md section 7).

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "mayfly/token.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::StatusIs;
using testing::Unwrap;

mode_t Mode(const std::string& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

InitOptions Options(const std::string& dir) {
  InitOptions o;
  o.dir = dir;
  o.name = "Acme";
  o.dns_names = {"ca.example.com", "10.0.0.1"};
  o.password = "ca-password";
  o.provisioner_password = "prov-password";
  o.provisioner_name = "ops@example.com";
  o.provisioner_p2c = 1000;
  return o;
}

TEST_CASE("Init: writes step's layout with private modes", "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  std::string dir = absl::StrCat(tmp.path(), "/pki");
  InitResult r = Unwrap(InitPki(Options(dir), clock));
  CHECK(r.config_path == dir + "/config/ca.json");
  CHECK(r.defaults_path == dir + "/config/defaults.json");
  CHECK(r.root_path == dir + "/certs/root_ca.crt");
  CHECK(r.intermediate_path == dir + "/certs/intermediate_ca.crt");
  for (const char* sub : {"", "/certs", "/secrets", "/config"}) {
    INFO(sub);
    CHECK(Mode(dir + sub) == 0700);
  }
  for (const char* file :
       {"/certs/root_ca.crt", "/certs/intermediate_ca.crt",
        "/secrets/root_ca_key", "/secrets/intermediate_ca_key",
        "/config/ca.json", "/config/defaults.json"}) {
    INFO(file);
    CHECK(Mode(dir + file) == 0600);
  }

  // The root: 10 years, pathlen 1, certSign + cRLSign, self-signed.
  Certificate root = Unwrap(Certificate::FromPem(ReadFile(r.root_path)));
  CHECK(root.Subject() == "CN=Acme Root CA,O=Acme");
  CHECK(root.Issuer() == root.Subject());
  CHECK(root.NotBefore() == clock.Now());
  CHECK(root.NotAfter() == clock.Now() + absl::Hours(87600));
  REQUIRE(root.Basic().has_value());
  CHECK(root.Basic()->is_ca);
  CHECK(root.Basic()->path_len == 1);
  CHECK(root.KeyUsage() == (kKeyUsageKeyCertSign | kKeyUsageCrlSign));
  CHECK(root.AuthorityKeyId().empty());
  CHECK(root.FingerprintHex() == r.root_fingerprint);
  CHECK(root.public_key().type() == KeyType::kP256);

  Certificate intermediate =
      Unwrap(Certificate::FromPem(ReadFile(r.intermediate_path)));
  CHECK(intermediate.Subject() == "CN=Acme Intermediate CA,O=Acme");
  CHECK(intermediate.Basic()->path_len == 0);
  CHECK(intermediate.KeyUsage() == (kKeyUsageKeyCertSign | kKeyUsageCrlSign));
  CHECK(intermediate.NotAfter() >= root.NotAfter());
  CHECK(VerifyChain(intermediate, {}, {root}, clock.Now()).ok());

  // Keys are encrypted PKCS#8 that openssl reads too.
  std::string key_pem = ReadFile(dir + "/secrets/intermediate_ca_key");
  CHECK(absl::StrContains(key_pem, "ENCRYPTED PRIVATE KEY"));
  PrivateKey key = Unwrap(PrivateKey::FromPem(key_pem, "ca-password"));
  CHECK(key.public_key().Equals(intermediate.public_key()));
  testing::CommandResult o = testing::Run(
      absl::StrCat("openssl pkey -noout -passin pass:ca-password -in ",
                   testing::ShellQuote(dir + "/secrets/root_ca_key")));
  INFO(o.output);
  CHECK(o.exit_code == 0);

  // defaults.json, as step writes it.
  rapidjson::Document d =
      Unwrap(internal::ParseJsonObject(ReadFile(r.defaults_path), "defaults"));
  CHECK(Unwrap(internal::GetString(d, "ca-url", "d")) ==
        "https://ca.example.com:9000");
  CHECK(Unwrap(internal::GetString(d, "ca-config", "d")) == r.config_path);
  CHECK(Unwrap(internal::GetString(d, "fingerprint", "d")) ==
        r.root_fingerprint);
  CHECK(Unwrap(internal::GetString(d, "root", "d")) == r.root_path);

  // ca.json: absolute paths and one provisioner with its encrypted key.
  CaConfig config = Unwrap(LoadConfig(r.config_path));
  REQUIRE(config.root.size() == 1);
  CHECK(config.root[0] == r.root_path);
  CHECK(config.crt == r.intermediate_path);
  CHECK(config.key == dir + "/secrets/intermediate_ca_key");
  CHECK(config.dns_names ==
        std::vector<std::string>{"ca.example.com", "10.0.0.1"});
  CHECK(config.address == ":9000");
  REQUIRE(config.provisioners.size() == 1);
  const Provisioner& p = config.provisioners[0];
  CHECK(p.name == "ops@example.com");
  CHECK(p.kid == r.provisioner_kid);
  CHECK(p.kid == p.key.JwkThumbprint());
  CHECK(StatusIs(p.DecryptKey("ca-password").status(),
                 absl::StatusCode::kUnauthenticated));
  PrivateKey prov_key = Unwrap(p.DecryptKey("prov-password"));
  CHECK(prov_key.public_key().Equals(p.key));
}

TEST_CASE("Init: the PKI loads, and the password is checked", "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitResult r = Unwrap(InitPki(Options(tmp.path()), clock));
  CaConfig config = Unwrap(LoadConfig(r.config_path));
  CHECK(config.backdate == absl::Minutes(1));  // step's default
  CHECK(StatusIs(Authority::Create(config, "wrong", nullptr, clock).status(),
                 absl::StatusCode::kUnauthenticated));
  std::unique_ptr<Authority> ca =
      Unwrap(Authority::Create(config, "ca-password", nullptr, clock));
  CHECK(ca->roots()[0].FingerprintHex() == r.root_fingerprint);
  // A token from the provisioner works against it, for a SAN on an IP
  // name of the CA's (ca-url with the CA's second dns name).
  const Provisioner p = ca->Provisioners()[0];
  TokenSigner signer(Unwrap(p.DecryptKey("prov-password")), p.kid, p.name,
                     clock);
  TokenRequest req;
  req.subject = "svc.example.com";
  req.audience = Unwrap(SignAudience("https://10.0.0.1:9000"));
  req.root_fingerprint = r.root_fingerprint;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CHECK(ca->Sign(
              testing::TestCa::Csr(key, "svc.example.com", {"svc.example.com"}),
              Unwrap(signer.Sign(req)), {})
            .ok());
}

TEST_CASE("Init: writes the backdate asked for", "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitOptions o = Options(tmp.path());
  o.backdate = absl::Seconds(1);
  InitResult r = Unwrap(InitPki(o, clock));
  CHECK(Unwrap(LoadConfig(r.config_path)).backdate == absl::Seconds(1));
}

TEST_CASE("Init: refuses to overwrite unless asked", "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitOptions o = Options(tmp.path());
  InitResult first = Unwrap(InitPki(o, clock));
  std::string before = ReadFile(first.root_path);
  CHECK(StatusIs(InitPki(o, clock).status(), absl::StatusCode::kAlreadyExists));
  CHECK(ReadFile(first.root_path) == before);
  o.overwrite = true;
  InitResult second = Unwrap(InitPki(o, clock));
  CHECK(second.root_fingerprint != first.root_fingerprint);
  CHECK(Mode(second.root_path) == 0600);
}

TEST_CASE("Init: options are checked", "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitOptions o = Options(tmp.path());
  o.name = "";
  CHECK(StatusIs(InitPki(o, clock).status(), absl::StatusCode::kInvalidArgument,
                 "name"));
  o = Options(tmp.path());
  o.password = "";
  CHECK(StatusIs(InitPki(o, clock).status(), absl::StatusCode::kInvalidArgument,
                 "password"));
  o = Options(tmp.path());
  o.dns_names = {};
  CHECK(StatusIs(InitPki(o, clock).status(), absl::StatusCode::kInvalidArgument,
                 "dns_names"));
  o = Options(tmp.path());
  o.key_type = KeyType::kRsa;
  CHECK(
      StatusIs(InitPki(o, clock).status(), absl::StatusCode::kInvalidArgument));
  o = Options(tmp.path());
  o.backdate = absl::Seconds(-1);
  CHECK(StatusIs(InitPki(o, clock).status(), absl::StatusCode::kInvalidArgument,
                 "backdate"));
  // Nothing was written by the refusals.
  CHECK(testing::Run(absl::StrCat("ls -A ", testing::ShellQuote(tmp.path())))
            .output.empty());
}

TEST_CASE("Init: ca-url drops port 443, brackets IPv6, keys by type",
          "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitOptions o = Options(absl::StrCat(tmp.path(), "/a"));
  o.address = "0.0.0.0:443";
  InitResult r = Unwrap(InitPki(o, clock));
  rapidjson::Document d =
      Unwrap(internal::ParseJsonObject(ReadFile(r.defaults_path), "defaults"));
  CHECK(Unwrap(internal::GetString(d, "ca-url", "d")) ==
        "https://ca.example.com");

  o = Options(absl::StrCat(tmp.path(), "/b"));
  o.dns_names = {"::1"};
  o.address = "[::1]:8443";
  o.key_type = KeyType::kP384;
  r = Unwrap(InitPki(o, clock));
  d = Unwrap(internal::ParseJsonObject(ReadFile(r.defaults_path), "defaults"));
  CHECK(Unwrap(internal::GetString(d, "ca-url", "d")) == "https://[::1]:8443");
  CHECK(
      Unwrap(Certificate::FromPem(ReadFile(r.root_path))).public_key().type() ==
      KeyType::kP384);
  // The provisioner password defaults to the CA password.
  o = Options(absl::StrCat(tmp.path(), "/c"));
  o.provisioner_password = "";
  r = Unwrap(InitPki(o, clock));
  CaConfig config = Unwrap(LoadConfig(r.config_path));
  CHECK(config.provisioners[0].DecryptKey("ca-password").ok());
}

TEST_CASE("Init: a config without a store gets SQLite in the CA folder",
          "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitResult r = Unwrap(InitPki(Options(tmp.path()), clock));
  CaConfig config = Unwrap(LoadConfig(r.config_path));
  config.store = "";
  std::string token_id;
  {
    std::unique_ptr<Authority> ca =
        Unwrap(Authority::Create(config, "ca-password", nullptr, clock));
    REQUIRE(
        ca->store().UseToken("jti-kept", clock.Now() + absl::Hours(1)).ok());
  }
  const std::string db = tmp.path() + "/db/mayfly.db";
  struct stat st;
  REQUIRE(stat(db.c_str(), &st) == 0);
  REQUIRE(stat((tmp.path() + "/db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  // A second start opens the same file: the used token is remembered.
  std::unique_ptr<Authority> again =
      Unwrap(Authority::Create(config, "ca-password", nullptr, clock));
  CHECK(StatusIs(again->store().UseToken("jti-kept", clock.Now()),
                 absl::StatusCode::kAlreadyExists));
}

TEST_CASE("Init: a relative sqlite store path is the config folder's",
          "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitResult r = Unwrap(InitPki(Options(tmp.path()), clock));
  CaConfig config = Unwrap(LoadConfig(r.config_path));
  config.store = "sqlite:state.db";
  Unwrap(Authority::Create(config, "ca-password", nullptr, clock));
  struct stat st;
  CHECK(stat((tmp.path() + "/config/state.db").c_str(), &st) == 0);
}

TEST_CASE("Init: a prune retention shorter than a lifetime is refused",
          "[init]") {
  testing::TempDir tmp;
  FakeClock clock(testing::FixtureStart());
  InitResult r = Unwrap(InitPki(Options(tmp.path()), clock));
  CaConfig config = Unwrap(LoadConfig(r.config_path));
  config.store = "memory:";
  config.prune.retention = absl::Hours(23);  // max lifetime is 24 h
  CHECK(StatusIs(
      Authority::Create(config, "ca-password", nullptr, clock).status(),
      absl::StatusCode::kInvalidArgument, "retention"));
  config.prune.interval = absl::ZeroDuration();  // no pruning: no limit
  CHECK(Authority::Create(config, "ca-password", nullptr, clock).ok());
  config.prune.interval = absl::Minutes(10);
  config.prune.retention = absl::Hours(24);
  CHECK(Authority::Create(config, "ca-password", nullptr, clock).ok());
}

}  // namespace
}  // namespace mayfly

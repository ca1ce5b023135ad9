#include "mayfly/config.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "rapidjson/document.h"
#include "rapidjson/pointer.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::StatusIs;

constexpr char kStepKid[] = "c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE";

std::string StepPath() { return testing::TestdataPath("step/steppath"); }

// StepConfigText is the ca.json `step ca init` wrote, with ${STEPPATH}
// replaced by the fixture's absolute path.
std::string StepConfigText() {
  return absl::StrReplaceAll(testing::Testdata("step/steppath/config/ca.json"),
                             {{"${STEPPATH}", StepPath()}});
}

std::string Serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
  v.Accept(writer);
  return std::string(buf.GetString(), buf.GetSize());
}

// Edited returns the step config with the value at JSON pointer `pointer`
// replaced by the JSON text `value` (or removed when `value` is empty).
std::string Edited(const std::string& pointer, const std::string& value) {
  const std::string text = StepConfigText();
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  REQUIRE(!doc.HasParseError());
  if (value.empty()) {
    rapidjson::Pointer(pointer.c_str()).Erase(doc);
  } else {
    rapidjson::Document v(&doc.GetAllocator());
    v.Parse(value.data(), value.size());
    INFO(value);
    REQUIRE(!v.HasParseError());
    rapidjson::Pointer(pointer.c_str()).Set(doc, v);
  }
  return Serialize(doc);
}

// StepProvisionerJson is the step config's provisioner object.
std::string StepProvisionerJson() {
  const std::string text = StepConfigText();
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  REQUIRE(!doc.HasParseError());
  return Serialize(doc["authority"]["provisioners"][0]);
}

void CheckSameClaims(const Claims& a, const Claims& b) {
  CHECK(a.min_tls_duration == b.min_tls_duration);
  CHECK(a.max_tls_duration == b.max_tls_duration);
  CHECK(a.default_tls_duration == b.default_tls_duration);
  CHECK(a.disable_renewal == b.disable_renewal);
  CHECK(a.allow_renewal_after_expiry == b.allow_renewal_after_expiry);
  CHECK(a.renewal_grace_period == b.renewal_grace_period);
}

void CheckSameConfig(const CaConfig& a, const CaConfig& b) {
  CHECK(a.root == b.root);
  CHECK(a.federated_roots == b.federated_roots);
  CHECK(a.crt == b.crt);
  CHECK(a.key == b.key);
  CHECK(a.address == b.address);
  CHECK(a.insecure_address == b.insecure_address);
  CHECK(a.dns_names == b.dns_names);
  CHECK(a.store == b.store);
  CHECK(a.prune.interval == b.prune.interval);
  CHECK(a.prune.retention == b.prune.retention);
  CHECK(a.db_json == b.db_json);
  CHECK(a.common_name == b.common_name);
  REQUIRE(a.provisioners.size() == b.provisioners.size());
  for (size_t i = 0; i < a.provisioners.size(); ++i) {
    const Provisioner& p = a.provisioners[i];
    const Provisioner& q = b.provisioners[i];
    CHECK(p.name == q.name);
    CHECK(p.kid == q.kid);
    CHECK(p.key.Equals(q.key));
    CHECK(p.key_json == q.key_json);
    CHECK(p.encrypted_key == q.encrypted_key);
    CheckSameClaims(p.claims, q.claims);
  }
  CheckSameClaims(a.claims, b.claims);
  CHECK(a.backdate == b.backdate);
  CHECK(a.crl.enabled == b.crl.enabled);
  CHECK(a.crl.generate_on_revoke == b.crl.generate_on_revoke);
  CHECK(a.crl.cache_duration == b.crl.cache_duration);
  CHECK(a.crl.renew_period == b.crl.renew_period);
  CHECK(a.crl.idp_url == b.crl.idp_url);
  CHECK(a.tls.cipher_suites == b.tls.cipher_suites);
  CHECK(a.tls.min_version == b.tls.min_version);
  CHECK(a.tls.max_version == b.tls.max_version);
  CHECK(a.tls.renegotiation == b.tls.renegotiation);
  CHECK(a.logger_format == b.logger_format);
  CHECK(a.base_dir == b.base_dir);
}

TEST_CASE("Config: the ca.json step wrote loads", "[config]") {
  testing::TempDir dir;
  const std::string path = dir.Write("ca.json", StepConfigText());
  auto config = LoadConfig(path);
  REQUIRE(config.ok());

  CHECK(config->base_dir == dir.path());
  CHECK(config->root ==
        std::vector<std::string>{StepPath() + "/certs/root_ca.crt"});
  CHECK(config->federated_roots.empty());
  CHECK(config->crt == StepPath() + "/certs/intermediate_ca.crt");
  CHECK(config->key == StepPath() + "/secrets/intermediate_ca_key");
  CHECK(config->address == "127.0.0.1:29555");
  CHECK(config->insecure_address.empty());
  CHECK(config->dns_names == std::vector<std::string>{"localhost"});
  CHECK(config->logger_format == "text");
  CHECK(config->db_json == absl::StrCat(R"({"type":"badgerv2","dataSource":")",
                                        StepPath(),
                                        R"(/db","badgerFileLoadingMode":""})"));
  CHECK(config->store.empty());
  CHECK(config->common_name == "Step Online CA");

  REQUIRE(config->provisioners.size() == 1);
  const Provisioner& p = config->provisioners[0];
  CHECK(p.name == "admin@example.com");
  CHECK(p.kid == kStepKid);
  CHECK(p.key.type() == KeyType::kP256);
  CHECK(p.encrypted_key.rfind("eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ci", 0) == 0);
  CHECK(!p.claims.max_tls_duration.has_value());

  CHECK(config->claims.allow_renewal_after_expiry == std::optional<bool>(true));
  CHECK(!config->claims.disable_renewal.has_value());
  CHECK(!config->claims.max_tls_duration.has_value());
  auto resolved = ResolveClaims(p.claims, config->claims);
  REQUIRE(resolved.ok());
  CHECK(resolved->allow_renewal_after_expiry);
  CHECK(resolved->max_tls_duration == absl::Hours(24));
  CHECK(config->backdate == absl::Minutes(1));

  CHECK(
      config->tls.cipher_suites ==
      std::vector<std::string>{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                               "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  CHECK(config->tls.min_version == 1.2);
  CHECK(config->tls.max_version == 1.3);
  CHECK(!config->tls.renegotiation);

  CHECK(config->crl.enabled);
  CHECK(config->crl.generate_on_revoke);
  CHECK(config->crl.cache_duration == absl::Hours(24));
  CHECK(config->crl.renew_period == absl::ZeroDuration());
  CHECK(config->crl.idp_url.empty());

  // Absolute paths stay as they are, and name the fixture's files.
  CHECK(config->ResolvePath(config->root[0]) == config->root[0]);
  CHECK(!testing::Testdata("step/steppath/certs/root_ca.crt").empty());
}

TEST_CASE("Config: SerializeConfig output parses back to the same config",
          "[config]") {
  SECTION("step's config") {
    auto config = ParseConfig(StepConfigText(), "/etc/step");
    REQUIRE(config.ok());
    const std::string text = SerializeConfig(*config);
    INFO(text);
    auto back = ParseConfig(text, "/etc/step");
    REQUIRE(back.ok());
    CheckSameConfig(*config, *back);
    // Writing is stable.
    CHECK(SerializeConfig(*back) == text);
    // step's layout: 4-space indent, Go durations, root as a string.
    CHECK(text.rfind("{\n    \"root\": \"", 0) == 0);
    CHECK(text.find("\"cacheDuration\": \"24h0m0s\"") != std::string::npos);
    CHECK(text.find("\"backdate\": \"1m0s\"") != std::string::npos);
    CHECK(text.find("\"federatedRoots\": null") != std::string::npos);
    CHECK(text.back() == '\n');
  }

  SECTION("every member set") {
    auto key = PrivateKey::Generate(KeyType::kEd25519);
    REQUIRE(key.ok());
    Claims pclaims;
    pclaims.default_tls_duration = absl::Hours(2);
    pclaims.max_tls_duration = absl::Hours(4);
    pclaims.disable_renewal = true;
    auto extra = Provisioner::FromPrivateKey("ci@example.com", *key, "pw",
                                             pclaims, 1000);
    REQUIRE(extra.ok());
    auto step_p = Provisioner::Parse(StepProvisionerJson());
    REQUIRE(step_p.ok());

    CaConfig config;
    config.root = {"certs/root_a.crt", "/abs/root_b.crt"};
    config.federated_roots = {"certs/other_root.crt"};
    config.crt = "certs/intermediate_ca.crt";
    config.key = "secrets/intermediate_ca_key";
    config.address = "[::]:8443";
    config.insecure_address = ":8080";
    config.dns_names = {"ca.example.com", "10.1.2.3"};
    config.store = "memory:";
    config.db_json = R"({"type":"badgerv2","dataSource":"db"})";
    config.common_name = "Example Online CA";
    config.provisioners = {*step_p, *extra};
    config.claims.min_tls_duration = absl::Minutes(1);
    config.claims.max_tls_duration = absl::Hours(12);
    config.claims.default_tls_duration = absl::Hours(8);
    config.claims.allow_renewal_after_expiry = true;
    config.claims.renewal_grace_period = absl::Minutes(30);
    config.backdate = absl::Seconds(30);
    config.crl.enabled = true;
    config.crl.generate_on_revoke = true;
    config.crl.cache_duration = absl::Hours(6);
    config.crl.renew_period = absl::Hours(4);
    config.crl.idp_url = "https://ca.example.com/1.0/crl";
    config.tls.cipher_suites = {"TLS_AES_128_GCM_SHA256"};
    config.tls.min_version = 1.3;
    config.tls.max_version = 1.3;
    config.tls.renegotiation = true;
    config.logger_format = "json";
    config.base_dir = "/srv/ca";

    const std::string text = SerializeConfig(config);
    INFO(text);
    auto back = ParseConfig(text, "/srv/ca");
    REQUIRE(back.ok());
    CheckSameConfig(config, *back);
    CHECK(SerializeConfig(*back) == text);
  }

  SECTION("the defaults") {
    CaConfig config;
    config.root = {"root.crt"};
    config.crt = "int.crt";
    config.key = "int.key";
    auto back = ParseConfig(SerializeConfig(config), "");
    REQUIRE(back.ok());
    CheckSameConfig(config, *back);
  }
}

TEST_CASE("Config: defaults for absent members", "[config]") {
  auto config = ParseConfig(
      R"({"root":["r.crt"],"crt":"i.crt","key":"i.key","dnsNames":[],)"
      R"("federatedRoots":null,"logger":{},"authority":{},"tls":{},"crl":{}})",
      "/ca");
  REQUIRE(config.ok());
  CaConfig want;
  want.root = {"r.crt"};
  want.crt = "i.crt";
  want.key = "i.key";
  want.base_dir = "/ca";
  CheckSameConfig(want, *config);
}

TEST_CASE("Config: relative paths resolve against the config's directory",
          "[config]") {
  auto config = ParseConfig(
      R"({"root":"certs/root_ca.crt","crt":"certs/intermediate_ca.crt",)"
      R"("key":"/abs/key"})",
      "/etc/ca/config");
  REQUIRE(config.ok());
  CHECK(config->root[0] == "certs/root_ca.crt");  // kept as written
  CHECK(config->ResolvePath(config->root[0]) ==
        "/etc/ca/config/certs/root_ca.crt");
  CHECK(config->ResolvePath(config->key) == "/abs/key");
  CHECK(config->ResolvePath("") == "");

  CaConfig trailing;
  trailing.base_dir = "/etc/ca/";
  CHECK(trailing.ResolvePath("x") == "/etc/ca/x");
  CaConfig none;
  CHECK(none.ResolvePath("x") == "x");

  SECTION("LoadConfig sets base_dir to the file's directory") {
    testing::TempDir dir;
    const std::string path =
        dir.Write("ca.json", R"({"root":"r.crt","crt":"i.crt","key":"k"})");
    auto loaded = LoadConfig(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->base_dir == dir.path());
    CHECK(loaded->ResolvePath("r.crt") == dir.path() + "/r.crt");
  }
}

TEST_CASE("Config: members mayfly does not use are ignored", "[config]") {
  auto config = ParseConfig(
      R"({"root":"r","crt":"c","key":"k","password":"not-kept",)"
      R"("ssh":{"hostKey":"h"},"kms":null,"templates":{},)"
      R"("metricsAddress":":9100","authority":{"template":{},)"
      R"("enableAdmin":false,"disableIssuedAtCheck":true,"policy":null,)"
      R"("provisioners":null,"claims":{"enableSSHCA":true,)"
      R"("disableSmallstepExtensions":false}}})",
      "");
  REQUIRE(config.ok());
  CHECK(config->provisioners.empty());
  CHECK(SerializeConfig(*config).find("not-kept") == std::string::npos);
}

TEST_CASE("Config: LoadConfig errors", "[config]") {
  testing::TempDir dir;
  CHECK(StatusIs(LoadConfig(dir.path() + "/missing.json").status(),
                 absl::StatusCode::kNotFound, "missing.json"));
  CHECK(StatusIs(LoadConfig(dir.path()).status(), absl::StatusCode::kNotFound));
  const std::string big = dir.Write(
      "big.json", absl::StrCat(R"({"root":"r","crt":"c","key":"k","pad":")",
                               std::string(1 << 20, 'x'), "\"}"));
  CHECK(StatusIs(LoadConfig(big).status(), absl::StatusCode::kInvalidArgument,
                 "max 1048576"));
}

TEST_CASE("Config: bad input is InvalidArgument naming the problem",
          "[config]") {
  const std::string step = StepConfigText();
  const std::string provisioner = StepProvisionerJson();
  // A second provisioner: the step one renamed, and one with another key.
  const std::string renamed = absl::StrReplaceAll(
      provisioner, {{"\"admin@example.com\"", "\"other@example.com\""}});
  const std::string same_name_other_key =
      absl::StrReplaceAll(testing::Testdata("step/jwk.pub.json"), {{"\n", ""}});

  struct Case {
    const char* name;
    std::string json;
    const char* fragment;
  };
  const Case cases[] = {
      {"empty", "", "not valid JSON"},
      {"truncated", step.substr(0, step.size() / 2), "not valid JSON"},
      {"not an object", "[]", "not a JSON object"},
      {"duplicate top-level member",
       absl::StrReplaceAll(step, {{"\"address\": \"127.0.0.1:29555\",",
                                   "\"address\": \"a\", \"address\": \"b\","}}),
       "duplicate member \"address\""},
      {"duplicate member in a provisioner key",
       absl::StrReplaceAll(step, {{"\"use\": \"sig\",",
                                   "\"use\": \"sig\", \"use\": \"enc\","}}),
       "duplicate member \"use\""},
      {"no root", Edited("/root", ""), "root is missing or empty"},
      {"empty root", Edited("/root", "\"\""), "root is missing or empty"},
      {"empty root list", Edited("/root", "[]"), "root is missing or empty"},
      {"root a number", Edited("/root", "5"), "root is not an array"},
      {"root list with a number", Edited("/root", "[\"a\", 5]"),
       "root[1] is not a non-empty string"},
      {"federatedRoots a string", Edited("/federatedRoots", "\"x\""),
       "federatedRoots is not an array"},
      {"no crt", Edited("/crt", ""), "crt is missing or empty"},
      {"crt a number", Edited("/crt", "5"), "crt is not a string"},
      {"no key", Edited("/key", ""), "key is missing or empty"},
      {"empty address", Edited("/address", "\"\""), "address is empty"},
      {"address a number", Edited("/address", "9000"),
       "address is not a string"},
      {"dnsNames a string", Edited("/dnsNames", "\"localhost\""),
       "dnsNames is not an array"},
      {"dnsNames with a number", Edited("/dnsNames", "[1]"),
       "dnsNames[0] is not a non-empty string"},
      {"logger a string", Edited("/logger", "\"text\""),
       "logger is not a JSON object"},
      {"logger format", Edited("/logger/format", "\"common\""),
       "logger.format \"common\" is not supported"},
      {"store a number", Edited("/store", "1"), "store is not a string"},
      {"commonName a list", Edited("/commonName", "[]"),
       "commonName is not a string"},
      {"authority a list", Edited("/authority", "[]"),
       "authority is not a JSON object"},
      {"provisioners an object", Edited("/authority/provisioners", "{}"),
       "authority.provisioners is not an array"},
      {"provisioner a number", Edited("/authority/provisioners/0", "7"),
       "authority.provisioners[0] is not a JSON object"},
      {"unknown provisioner type",
       Edited("/authority/provisioners/-",
              R"({"type":"OIDC","name":"google","clientID":"x"})"),
       "authority.provisioners[1]: provisioner type \"OIDC\" is not "
       "supported; mayfly supports JWK only"},
      {"duplicate provisioner",
       Edited("/authority/provisioners/-", provisioner),
       "authority.provisioners[1]: duplicate provisioner name "
       "\"admin@example.com\""},
      {"duplicate name, other key",
       Edited("/authority/provisioners/-",
              absl::StrCat(R"({"type":"JWK","name":"admin@example.com",)"
                           R"("key":)",
                           same_name_other_key, "}")),
       "duplicate provisioner name \"admin@example.com\""},
      {"duplicate kid", Edited("/authority/provisioners/-", renamed),
       "provisioner \"other@example.com\" has the same kid as another"},
      {"provisioner without key", Edited("/authority/provisioners/0/key", ""),
       "authority.provisioners[0]: provisioner \"admin@example.com\" has no "
       "key"},
      {"bad provisioner claim duration",
       Edited("/authority/provisioners/0/claims",
              R"({"maxTLSCertDuration":"1 day"})"),
       "maxTLSCertDuration: invalid duration \"1 day\""},
      {"provisioner claims min > max",
       Edited("/authority/provisioners/0/claims",
              R"({"minTLSCertDuration":"2h","maxTLSCertDuration":"1h"})"),
       "provisioner \"admin@example.com\": provisioner claims: "
       "maxTLSCertDuration 1h0m0s is below minTLSCertDuration 2h0m0s"},
      {"authority claims min > max",
       Edited("/authority/claims",
              R"({"minTLSCertDuration":"25h","maxTLSCertDuration":"1h",)"
              R"("defaultTLSCertDuration":"1h"})"),
       "authority claims: maxTLSCertDuration 1h0m0s is below "
       "minTLSCertDuration 25h0m0s"},
      {"authority claims bad duration",
       Edited("/authority/claims/defaultTLSCertDuration", "\"24\""),
       "authority.claims.defaultTLSCertDuration: invalid duration \"24\": "
       "missing unit"},
      {"authority claims bool type",
       Edited("/authority/claims/allowRenewalAfterExpiry", "\"true\""),
       "authority.claims.allowRenewalAfterExpiry is not a boolean"},
      {"authority claims an array", Edited("/authority/claims", "[]"),
       "authority.claims is not a JSON object"},
      {"backdate not a duration", Edited("/authority/backdate", "\"soon\""),
       "authority.backdate: invalid duration \"soon\""},
      {"backdate a number", Edited("/authority/backdate", "60"),
       "authority.backdate is not a duration string"},
      {"negative backdate", Edited("/authority/backdate", "\"-1m\""),
       "authority.backdate is -1m0s; negative"},
      {"disableIssuedAtCheck a string",
       Edited("/authority/disableIssuedAtCheck", "\"no\""),
       "authority.disableIssuedAtCheck is not a boolean"},
      {"policy",
       Edited("/authority/policy",
              R"({"x509":{"allow":{"dns":["*.example.com"]}}})"),
       "authority.policy is not supported"},
      {"tls a string", Edited("/tls", "\"modern\""),
       "tls is not a JSON object"},
      {"tls version a string", Edited("/tls/minVersion", "\"1.2\""),
       "tls.minVersion is not one of 1.0, 1.1, 1.2, 1.3"},
      {"tls version unknown", Edited("/tls/maxVersion", "1.4"),
       "tls.maxVersion is not one of"},
      {"cipherSuites with a number", Edited("/tls/cipherSuites", "[1]"),
       "tls.cipherSuites[0] is not a non-empty string"},
      {"renegotiation a string", Edited("/tls/renegotiation", "\"no\""),
       "tls.renegotiation is not a boolean"},
      {"crl a list", Edited("/crl", "[]"), "crl is not a JSON object"},
      {"crl.enabled a string", Edited("/crl/enabled", "\"yes\""),
       "crl.enabled is not a boolean"},
      {"crl.cacheDuration bad", Edited("/crl/cacheDuration", "\"1 day\""),
       "crl.cacheDuration: invalid duration \"1 day\""},
      {"crl.cacheDuration zero", Edited("/crl/cacheDuration", "\"0s\""),
       "crl.cacheDuration is 0s; must be above 0"},
      {"crl.renewPeriod too long", Edited("/crl/renewPeriod", "\"48h\""),
       "crl.renewPeriod is 48h0m0s; must be between 0 and crl.cacheDuration "
       "24h0m0s"},
      {"crl.idpURL a number", Edited("/crl/idpURL", "1"),
       "crl.idpURL is not a string"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    absl::Status status = ParseConfig(c.json, "/etc/step").status();
    CHECK(StatusIs(status, absl::StatusCode::kInvalidArgument, c.fragment));
    // Errors never echo key material.
    CHECK(status.message().find("eyJhbGciOiJQQkVTMi") ==
          absl::string_view::npos);
  }

  // min 1.3 with max 1.3 is fine; max below min is not.
  CHECK(ParseConfig(Edited("/tls/minVersion", "1.3"), "").ok());
  std::string inverted = Edited("/tls/maxVersion", "1.2");
  inverted = absl::StrReplaceAll(
      inverted, {{"\"minVersion\":1.2", "\"minVersion\":1.3"}});
  CHECK(StatusIs(ParseConfig(inverted, "").status(),
                 absl::StatusCode::kInvalidArgument,
                 "tls.minVersion 1.3 is above tls.maxVersion 1.2"));
}

}  // namespace
}  // namespace mayfly

namespace mayfly {
namespace {

constexpr char kPruneBase[] =
    R"({"root":["r.crt"],"crt":"i.crt","key":"i.key","dnsNames":["ca"],)";

TEST_CASE("Config: storePrune is read, checked and written back", "[config]") {
  auto config = ParseConfig(
      absl::StrCat(kPruneBase,
                   R"("storePrune":{"interval":"90s","retention":"720h"}})"),
      "/ca");
  REQUIRE(config.ok());
  CHECK(config->prune.interval == absl::Seconds(90));
  CHECK(config->prune.retention == absl::Hours(720));
  auto again = ParseConfig(SerializeConfig(*config), "/ca");
  REQUIRE(again.ok());
  CHECK(again->prune.interval == absl::Seconds(90));
  CHECK(again->prune.retention == absl::Hours(720));

  auto off = ParseConfig(
      absl::StrCat(kPruneBase, R"("storePrune":{"interval":"0s"}})"), "/ca");
  REQUIRE(off.ok());
  CHECK(off->prune.interval == absl::ZeroDuration());
  CHECK(off->prune.retention == PruneOptions().retention);

  for (const char* bad :
       {R"("storePrune":{"interval":"-1m"}})",
        R"("storePrune":{"retention":"-1h"}})",
        R"("storePrune":{"interval":"soon"}})",
        R"("storePrune":{"interval":60}})", R"("storePrune":[]})"}) {
    INFO(bad);
    auto c = ParseConfig(absl::StrCat(kPruneBase, bad), "/ca");
    CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::StrContains(c.status().message(), "storePrune"));
  }
}

}  // namespace
}  // namespace mayfly

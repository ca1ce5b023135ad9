#include "mayfly-ca/ca_commands.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/args.h"
#include "internal/json.h"
#include "mayfly-ca/config_edit.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace cli {
namespace {

constexpr char kClaimsFlagsHelp[] =
    "claims of the provisioner (unset ones follow authority.claims, then\n"
    "the defaults 5m / 24h / 24h):\n"
    "  --min-tls-duration D           shortest certificate it may authorise\n"
    "  --max-tls-duration D           longest certificate it may authorise\n"
    "  --default-tls-duration D       lifetime when the client asks none\n"
    "  --disable-renewal              its certificates cannot be renewed\n"
    "  --allow-renewal-after-expiry   renew expired certificates (within\n"
    "                                 --renewal-grace-period, default 24h)\n"
    "  --renewal-grace-period D\n"
    "Durations are Go durations: 90s, 5m, 1h30m, 24h.\n";

const std::set<std::string> kClaimsValueFlags = {
    "min-tls-duration", "max-tls-duration", "default-tls-duration",
    "renewal-grace-period"};
const std::set<std::string> kClaimsBoolFlags = {"disable-renewal",
                                                "allow-renewal-after-expiry"};

constexpr char kInitUsage[] =
    "usage: mayfly-ca init --name NAME --dns NAME[,NAME...] --provisioner "
    "NAME\n"
    "                      --password-file FILE [flags]\n"
    "\n"
    "Creates a new PKI in the layout `step ca init` writes, so the step CLI\n"
    "and step-ca read it too: certs/root_ca.crt and certs/intermediate_ca.crt\n"
    "(10 years), secrets/root_ca_key and secrets/intermediate_ca_key\n"
    "(encrypted with the password), config/ca.json with one JWK provisioner\n"
    "whose private key is stored encrypted, and config/defaults.json for\n"
    "the step CLI. Nothing is overwritten without --force.\n"
    "\n"
    "flags:\n"
    "  --name NAME                  the PKI's name (\"NAME Root CA\", \"NAME\n"
    "                               Intermediate CA\")\n"
    "  --dns NAME[,NAME]            DNS names and IP addresses clients use to\n"
    "                               reach the CA (repeatable); the first is\n"
    "                               the host of the CA URL\n"
    "  --address ADDR               listen address (default :9000)\n"
    "  --provisioner NAME           name of the first JWK provisioner\n"
    "  --password-file FILE         password encrypting the CA keys\n"
    "  --provisioner-password-file FILE\n"
    "                               password encrypting the provisioner key\n"
    "                               (default: the --password-file password)\n"
    "  --dir DIR                    where to write (default $STEPPATH, else\n"
    "                               ~/.step)\n"
    "  --store URL                  where revocations and used tokens are\n"
    "                               kept: sqlite:PATH (default\n"
    "                               sqlite:DIR/db/mayfly.db), postgres://...\n"
    "                               or memory: (lost on restart)\n"
    "  --kty T --curve C            CA keys: EC P-256 (default), EC P-384 or\n"
    "                               OKP Ed25519\n"
    "  --backdate D                 how far in the past certificates start,\n"
    "                               to absorb clock skew (ca.json\n"
    "                               authority.backdate; default 1m); keep it\n"
    "                               well under the shortest lifetime\n"
    "  --force                      replace an existing PKI in DIR\n"
    "\n";

constexpr char kProvisionerUsage[] =
    "usage: mayfly-ca provisioner add NAME --password-file FILE "
    "[--config FILE] [flags]\n"
    "       mayfly-ca provisioner remove NAME [--config FILE]\n"
    "       mayfly-ca provisioner list [--config FILE]\n"
    "\n"
    "Manages the JWK provisioners in ca.json (default\n"
    "$STEPPATH/config/ca.json). The file is rewritten atomically with its\n"
    "mode kept; members other than the provisioner list are left as they\n"
    "are. A running CA picks the change up on SIGHUP (systemctl reload).\n"
    "\n"
    "add: a new key (EC P-256 unless --kty/--curve say otherwise); its\n"
    "public JWK goes into ca.json and its private JWK too, encrypted with\n"
    "the password (JWE, PBES2), so that `step ca token --provisioner NAME`\n"
    "can mint tokens with that password.\n"
    "  --password-file FILE         password encrypting the provisioner key\n"
    "  --kty T --curve C            EC P-256 (default), EC P-384, OKP "
    "Ed25519\n"
    "\n"
    "list: the provisioners as JSON, as `step ca provisioner list` prints\n"
    "them.\n"
    "\n";

absl::StatusOr<Claims> ClaimsFromArgs(const Args& args) {
  Claims claims;
  MAYFLY_ASSIGN_OR_RETURN(claims.min_tls_duration,
                          args.GetDuration("min-tls-duration"));
  MAYFLY_ASSIGN_OR_RETURN(claims.max_tls_duration,
                          args.GetDuration("max-tls-duration"));
  MAYFLY_ASSIGN_OR_RETURN(claims.default_tls_duration,
                          args.GetDuration("default-tls-duration"));
  MAYFLY_ASSIGN_OR_RETURN(claims.renewal_grace_period,
                          args.GetDuration("renewal-grace-period"));
  if (args.Has("disable-renewal")) {
    claims.disable_renewal = true;
  }
  if (args.Has("allow-renewal-after-expiry")) {
    claims.allow_renewal_after_expiry = true;
  }
  return claims;
}

bool ClaimsSet(const Claims& c) {
  return c.min_tls_duration.has_value() || c.max_tls_duration.has_value() ||
         c.default_tls_duration.has_value() || c.disable_renewal.has_value() ||
         c.allow_renewal_after_expiry.has_value() ||
         c.renewal_grace_period.has_value();
}

std::set<std::string> With(std::set<std::string> a,
                           const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

absl::StatusOr<std::string> ConfigPath(const Args& args) {
  if (args.Has("config")) {
    return args.Get("config");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string steppath, DefaultStepPath());
  return absl::StrCat(steppath, "/config/ca.json");
}

// ReadCaUrl returns "ca-url" from the defaults.json InitPki wrote.
std::string ReadCaUrl(const std::string& defaults_path) {
  absl::StatusOr<std::string> text = ReadFile(defaults_path);
  if (!text.ok()) {
    return "";
  }
  absl::StatusOr<rapidjson::Document> doc =
      internal::ParseJsonObject(*text, "defaults.json");
  if (!doc.ok()) {
    return "";
  }
  absl::StatusOr<std::optional<std::string>> url =
      internal::GetOptionalString(*doc, "ca-url", "defaults.json");
  return url.ok() && url->has_value() ? **url : "";
}

absl::Status Init(const Args& args, const Clock& clock) {
  InitOptions options;
  if (args.Has("dir")) {
    options.dir = args.Get("dir");
  } else {
    MAYFLY_ASSIGN_OR_RETURN(options.dir, DefaultStepPath());
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(options.dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve --dir ", options.dir, ": ", ec.message()));
  }
  options.dir = dir.lexically_normal().string();
  while (options.dir.size() > 1 && options.dir.back() == '/') {
    options.dir.pop_back();
  }
  options.name = args.Get("name");
  options.dns_names = args.GetList("dns");
  if (options.dns_names.empty()) {
    return absl::InvalidArgumentError("--dns names no host");
  }
  options.address = args.Get("address", ":9000");
  options.provisioner_name = args.Get("provisioner");
  MAYFLY_ASSIGN_OR_RETURN(options.password,
                          ReadPasswordFile(args.Get("password-file")));
  if (args.Has("provisioner-password-file")) {
    MAYFLY_ASSIGN_OR_RETURN(
        options.provisioner_password,
        ReadPasswordFile(args.Get("provisioner-password-file")));
  }
  MAYFLY_ASSIGN_OR_RETURN(options.key_type,
                          ParseKeyType(args.Get("kty"), args.Get("curve")));
  const std::string db_dir = absl::StrCat(options.dir, "/db");
  const bool default_store = !args.Has("store");
  options.store = default_store ? absl::StrCat("sqlite:", db_dir, "/mayfly.db")
                                : args.Get("store");
  options.overwrite = args.Has("force");

  // Checked before anything is written: InitPki writes the provisioner
  // without claims and they are added to ca.json afterwards.
  MAYFLY_ASSIGN_OR_RETURN(Claims claims, ClaimsFromArgs(args));
  MAYFLY_RETURN_IF_ERROR(ResolveClaims(claims, {}).status());
  if (args.Has("backdate")) {
    // InitPki refuses a negative one before writing anything.
    MAYFLY_ASSIGN_OR_RETURN(options.backdate,
                            ParseGoDuration(args.Get("backdate")));
  }

  MAYFLY_ASSIGN_OR_RETURN(InitResult result, InitPki(options, clock));
  if (default_store && mkdir(db_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::Status(
        absl::ErrnoToStatusCode(errno),
        absl::StrCat("cannot create ", db_dir, ": ", strerror(errno)));
  }
  if (ClaimsSet(claims)) {
    MAYFLY_RETURN_IF_ERROR(EditConfigFile(
        result.config_path, [&](rapidjson::Document* doc) -> absl::Status {
          MAYFLY_ASSIGN_OR_RETURN(rapidjson::Value * list,
                                  ProvisionerList(doc));
          if (list->Empty()) {
            return absl::InternalError("init wrote no provisioner");
          }
          rapidjson::Value& first = (*list)[0];
          MAYFLY_ASSIGN_OR_RETURN(Provisioner p,
                                  Provisioner::Parse(internal::ToJson(first)));
          p.claims = claims;
          MAYFLY_ASSIGN_OR_RETURN(
              rapidjson::Document updated,
              internal::ParseJsonObject(p.ToJson(), "provisioner"));
          first.CopyFrom(updated, doc->GetAllocator());
          return absl::OkStatus();
        }));
  }

  std::cout << "Root certificate: " << result.root_path << "\n"
            << "Root private key: " << options.dir << "/secrets/root_ca_key\n"
            << "Root fingerprint: " << result.root_fingerprint << "\n"
            << "Intermediate certificate: " << result.intermediate_path << "\n"
            << "Intermediate private key: " << options.dir
            << "/secrets/intermediate_ca_key\n"
            << "Store: " << options.store << "\n"
            << "Default configuration: " << result.defaults_path << "\n"
            << "Certificate Authority configuration: " << result.config_path
            << "\n"
            << "Provisioner: " << options.provisioner_name
            << " (JWK) [kid: " << result.provisioner_kid << "]\n";
  if (options.store == "memory:") {
    std::cout << "\nWARNING: with the memory: store, revocations and used "
                 "tokens are forgotten when the CA stops.\n";
  }
  std::cout << "\nYour PKI is ready to go. Start the CA with\n"
            << "  mayfly-ca serve " << result.config_path
            << " --password-file FILE\n"
            << "and point the step CLI at it with\n"
            << "  step ca bootstrap --ca-url "
            << ReadCaUrl(result.defaults_path) << " --fingerprint "
            << result.root_fingerprint << "\n";
  return absl::OkStatus();
}

absl::Status AddProvisioner(const Args& args, const std::string& name) {
  if (!args.Has("password-file")) {
    return absl::InvalidArgumentError("--password-file is required");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string config_path, ConfigPath(args));
  MAYFLY_ASSIGN_OR_RETURN(std::string password,
                          ReadPasswordFile(args.Get("password-file")));
  MAYFLY_ASSIGN_OR_RETURN(KeyType type,
                          ParseKeyType(args.Get("kty"), args.Get("curve")));
  MAYFLY_ASSIGN_OR_RETURN(Claims claims, ClaimsFromArgs(args));
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(type));
  MAYFLY_ASSIGN_OR_RETURN(
      Provisioner p, Provisioner::FromPrivateKey(name, key, password, claims));
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document entry,
                          internal::ParseJsonObject(p.ToJson(), "provisioner"));
  MAYFLY_RETURN_IF_ERROR(EditConfigFile(
      config_path, [&](rapidjson::Document* doc) -> absl::Status {
        MAYFLY_ASSIGN_OR_RETURN(rapidjson::Value * list, ProvisionerList(doc));
        for (const rapidjson::Value& existing : list->GetArray()) {
          if (ProvisionerName(existing) == name) {
            return absl::AlreadyExistsError(absl::StrCat(
                "provisioner ", name, " already exists in ", config_path));
          }
        }
        rapidjson::Value copy(entry, doc->GetAllocator());
        list->PushBack(copy, doc->GetAllocator());
        return absl::OkStatus();
      }));
  std::cout << "Added provisioner " << name << " (JWK, " << KeyTypeName(type)
            << ") [kid: " << p.kid << "] to " << config_path << "\n"
            << "Reload the CA (SIGHUP) to use it.\n";
  return absl::OkStatus();
}

absl::Status RemoveProvisioner(const Args& args, const std::string& name) {
  MAYFLY_ASSIGN_OR_RETURN(std::string config_path, ConfigPath(args));
  MAYFLY_RETURN_IF_ERROR(EditConfigFile(
      config_path, [&](rapidjson::Document* doc) -> absl::Status {
        MAYFLY_ASSIGN_OR_RETURN(rapidjson::Value * list, ProvisionerList(doc));
        for (auto it = list->Begin(); it != list->End(); ++it) {
          if (ProvisionerName(*it) == name) {
            list->Erase(it);
            return absl::OkStatus();
          }
        }
        return absl::NotFoundError(
            absl::StrCat("no provisioner named ", name, " in ", config_path));
      }));
  std::cout << "Removed provisioner " << name << " from " << config_path
            << "\nReload the CA (SIGHUP) to stop accepting its tokens.\n";
  return absl::OkStatus();
}

absl::Status ListProvisioners(const Args& args) {
  MAYFLY_ASSIGN_OR_RETURN(std::string config_path, ConfigPath(args));
  MAYFLY_ASSIGN_OR_RETURN(CaConfig config, LoadConfig(config_path));
  rapidjson::Document out(rapidjson::kArrayType);
  for (const Provisioner& p : config.provisioners) {
    MAYFLY_ASSIGN_OR_RETURN(
        rapidjson::Document entry,
        internal::ParseJsonObject(p.ToJson(), "provisioner"));
    rapidjson::Value copy(entry, out.GetAllocator());
    out.PushBack(copy, out.GetAllocator());
  }
  // step prints the list with Go's json.MarshalIndent(v, "", "   ").
  std::cout << PrettyJson(out, 3);
  return absl::OkStatus();
}

}  // namespace

int InitCommand(int argc, char** argv, const Clock& clock) {
  auto args = Args::Parse(argc, argv, 2,
                          With({"name", "dns", "address", "provisioner",
                                "password-file", "provisioner-password-file",
                                "dir", "store", "kty", "curve", "backdate"},
                               kClaimsValueFlags),
                          With({"force", "help"}, kClaimsBoolFlags));
  if (args.ok() && args->Has("help")) {
    std::cout << kInitUsage << kClaimsFlagsHelp;
    return 0;
  }
  std::string usage_error;
  if (!args.ok()) {
    usage_error = std::string(args.status().message());
  } else if (!args->positional().empty()) {
    usage_error = "init takes no positional arguments";
  } else {
    for (const char* flag : {"name", "dns", "provisioner", "password-file"}) {
      if (!args->Has(flag)) {
        usage_error = absl::StrCat("--", flag, " is required");
        break;
      }
    }
  }
  if (!usage_error.empty()) {
    std::cerr << "error: " << usage_error << "\n"
              << kInitUsage << kClaimsFlagsHelp;
    return 2;
  }
  absl::Status status = Init(*args, clock);
  if (!status.ok()) {
    std::cerr << "error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

int ProvisionerCommand(int argc, char** argv) {
  const std::string sub = argc > 2 ? argv[2] : "";
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << kProvisionerUsage << kClaimsFlagsHelp;
    return 0;
  }
  if (sub != "add" && sub != "remove" && sub != "list") {
    std::cerr << (sub.empty()
                      ? "error: missing subcommand\n"
                      : absl::StrCat("error: unknown subcommand ", sub, "\n"))
              << kProvisionerUsage;
    return 2;
  }
  auto args =
      sub == "add"
          ? Args::Parse(argc, argv, 3,
                        With({"config", "password-file", "kty", "curve"},
                             kClaimsValueFlags),
                        With({"help"}, kClaimsBoolFlags))
          : Args::Parse(argc, argv, 3, {"config"}, {"help"});
  if (args.ok() && args->Has("help")) {
    std::cout << kProvisionerUsage << (sub == "add" ? kClaimsFlagsHelp : "");
    return 0;
  }
  const size_t want = sub == "list" ? 0 : 1;
  if (!args.ok() || args->positional().size() != want) {
    std::cerr << "error: "
              << (args.ok() ? (want == 0 ? "list takes no arguments"
                                         : absl::StrCat(sub, " needs a NAME"))
                            : std::string(args.status().message()))
              << "\n"
              << kProvisionerUsage;
    return 2;
  }
  absl::Status status;
  if (sub == "add") {
    status = AddProvisioner(*args, args->positional()[0]);
  } else if (sub == "remove") {
    status = RemoveProvisioner(*args, args->positional()[0]);
  } else {
    status = ListProvisioners(*args);
  }
  if (!status.ok()) {
    std::cerr << "error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace cli
}  // namespace mayfly

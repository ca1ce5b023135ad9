#include "common.h"

#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "internal/json.h"
#include "mayfly/clock.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"
#include "mayfly/token.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace cli {

const std::set<std::string> kCaValueFlags = {"ca-url", "root"};

const char kCaFlagsHelp[] =
    "CA flags (defaults from $STEPPATH/config/defaults.json, written by\n"
    "`mayfly bootstrap`):\n"
    "  --ca-url URL                   the CA, https://host:port\n"
    "  --root FILE                    the root certificate(s) to trust\n"
    "                                 (default $STEPPATH/certs/root_ca.crt)\n";

absl::StatusOr<Defaults> ReadDefaults(const std::string& path) {
  Defaults defaults;
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return defaults;  // not bootstrapped: every flag must be given
  }
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(*text, path));
  struct Member {
    const char* name;
    std::string* out;
  };
  for (const Member& m :
       {Member{"ca-url", &defaults.ca_url}, Member{"root", &defaults.root},
        Member{"fingerprint", &defaults.fingerprint},
        Member{"provisioner", &defaults.provisioner}}) {
    MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> value,
                            internal::GetOptionalString(doc, m.name, path));
    if (value.has_value()) {
      *m.out = std::move(*value);
    }
  }
  return defaults;
}

absl::StatusOr<CaTarget> ResolveTarget(const Args& args) {
  CaTarget target;
  absl::StatusOr<std::string> steppath = DefaultStepPath();
  if (steppath.ok()) {
    MAYFLY_ASSIGN_OR_RETURN(
        target.defaults,
        ReadDefaults(absl::StrCat(*steppath, "/config/defaults.json")));
  }
  target.url = args.Get("ca-url", target.defaults.ca_url);
  if (target.url.empty()) {
    return absl::FailedPreconditionError(
        "no CA URL: pass --ca-url, or run `mayfly bootstrap --ca-url URL "
        "--fingerprint FP` first");
  }
  target.root_path = args.Get("root", target.defaults.root);
  if (target.root_path.empty()) {
    if (!steppath.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("no root certificate: pass --root (",
                       steppath.status().message(), ")"));
    }
    target.root_path = absl::StrCat(*steppath, "/certs/root_ca.crt");
  }
  return target;
}

absl::StatusOr<std::unique_ptr<CaClient>> Connect(const CaTarget& target) {
  absl::StatusOr<std::string> pem = ReadFile(target.root_path);
  if (!pem.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        pem.status().message(),
        " (the CA's root: pass --root, or run `mayfly bootstrap`)"));
  }
  absl::StatusOr<std::vector<Certificate>> roots =
      Certificate::ParsePemBundle(*pem);
  if (!roots.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "root file ", target.root_path, ": ", roots.status().message()));
  }
  return CaClient::Create(target.url, std::move(*roots));
}

absl::StatusOr<std::string> MintToken(CaClient& ca, const CaTarget& target,
                                      const TokenOptions& options,
                                      const std::string& subject,
                                      const std::vector<std::string>& sans,
                                      bool revoke) {
  if (options.password_file.empty()) {
    return absl::InvalidArgumentError(
        "the provisioner password is needed to mint a token: pass "
        "--provisioner-password-file (or --token)");
  }
  // Read first: a missing password file should not cost a round trip.
  MAYFLY_ASSIGN_OR_RETURN(std::string password,
                          ReadPasswordFile(options.password_file));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<ProvisionerInfo> list, ca.Provisioners());
  const std::string wanted = options.provisioner.empty()
                                 ? target.defaults.provisioner
                                 : options.provisioner;
  std::vector<std::string> names;
  const ProvisionerInfo* chosen = nullptr;
  for (const ProvisionerInfo& info : list) {
    names.push_back(absl::StrCat(info.name, " (", info.type, ")"));
    if (wanted.empty() ? list.size() == 1 : info.name == wanted) {
      chosen = &info;
    }
  }
  const std::string known = names.empty() ? "none" : absl::StrJoin(names, ", ");
  if (chosen == nullptr) {
    if (wanted.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the CA has ", list.size(),
          " provisioners; choose one with --provisioner: ", known));
    }
    return absl::NotFoundError(absl::StrCat("the CA has no provisioner \"",
                                            wanted, "\"; it has: ", known));
  }
  if (chosen->type != "JWK") {
    return absl::InvalidArgumentError(
        absl::StrCat("provisioner ", chosen->name, " is of type ", chosen->type,
                     "; only JWK provisioners mint tokens"));
  }
  MAYFLY_ASSIGN_OR_RETURN(Provisioner provisioner,
                          Provisioner::Parse(chosen->json));
  MAYFLY_ASSIGN_OR_RETURN(provisioner.encrypted_key,
                          ca.ProvisionerKey(provisioner.kid));
  absl::StatusOr<PrivateKey> key = provisioner.DecryptKey(password);
  if (!key.ok()) {
    return absl::Status(
        key.status().code(),
        absl::StrCat("cannot decrypt the key of provisioner ", provisioner.name,
                     ": ", key.status().message()));
  }
  TokenRequest request;
  request.subject = subject;
  request.revoke = revoke;
  if (revoke) {
    MAYFLY_ASSIGN_OR_RETURN(request.audience, RevokeAudience(ca.url()));
  } else {
    MAYFLY_ASSIGN_OR_RETURN(request.audience, SignAudience(ca.url()));
    request.sans = sans.empty() ? std::vector<std::string>{subject} : sans;
  }
  request.root_fingerprint = ca.roots().front().FingerprintHex();
  request.lifetime = options.lifetime;
  TokenSigner signer(std::move(*key), provisioner.kid, provisioner.name,
                     Clock::Real());
  return signer.Sign(request);
}

absl::StatusOr<std::vector<Certificate>> LoadChain(const std::string& path) {
  MAYFLY_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::ParsePemBundle(pem);
  if (!chain.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", chain.status().message()));
  }
  if (chain->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no certificate"));
  }
  return chain;
}

absl::StatusOr<PrivateKey> LoadKey(const std::string& path,
                                   const std::string& password_file,
                                   const Certificate& leaf) {
  MAYFLY_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  std::string password;
  if (!password_file.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(password, ReadPasswordFile(password_file));
  }
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(pem, password);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(path, ": ", key.status().message()));
  }
  if (!key->public_key().Equals(leaf.public_key())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the key in ", path, " is not the key of the certificate (",
        leaf.CommonName(), ", serial ", leaf.SerialDecimal(), ")"));
  }
  return key;
}

std::string ChainPem(const std::vector<Certificate>& chain) {
  std::string out;
  for (const Certificate& cert : chain) {
    out += cert.ToPem();
  }
  return out;
}

absl::StatusOr<std::string> ParseValidity(const Args& args,
                                          const std::string& flag) {
  const std::string value = args.Get(flag);
  if (value.empty()) {
    return value;
  }
  absl::Time t;
  std::string err;
  if (ParseGoDuration(value).ok() ||
      absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
    return value;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " ", value,
                   " is neither a duration (90s, 5m, 1h) nor an RFC 3339 "
                   "time (2030-01-02T15:04:05Z)"));
}

std::string Human(absl::Duration d) {
  return mayfly::FormatDuration(absl::Trunc(d, absl::Seconds(1)));
}

std::string LocalTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", t, absl::LocalTimeZone());
}

std::set<std::string> With(std::set<std::string> a,
                           const std::set<std::string>& b) {
  a.insert(b.begin(), b.end());
  return a;
}

int Finish(const absl::Status& status) {
  if (status.ok()) {
    return 0;
  }
  std::cerr << "error: " << status.message() << "\n";
  return 1;
}

std::optional<Args> ParseCommand(int argc, char** argv,
                                 std::set<std::string> value_flags,
                                 std::set<std::string> bool_flags,
                                 size_t min_positional, size_t max_positional,
                                 const std::string& usage, int* exit_code) {
  bool_flags.insert("help");
  absl::StatusOr<Args> args =
      Args::Parse(argc, argv, 2, value_flags, bool_flags);
  if (args.ok() && args->Has("help")) {
    std::cout << usage;
    *exit_code = 0;
    return std::nullopt;
  }
  std::string error;
  if (!args.ok()) {
    error = std::string(args.status().message());
  } else if (args->positional().size() < min_positional) {
    error = "missing arguments";
  } else if (args->positional().size() > max_positional) {
    error = absl::StrCat("unexpected argument ",
                         args->positional()[max_positional]);
  }
  if (!error.empty()) {
    std::cerr << "error: " << error << "\n" << usage;
    *exit_code = 2;
    return std::nullopt;
  }
  return std::move(*args);
}

}  // namespace cli
}  // namespace mayfly

// InitPki: a new PKI in the layout `step ca init` writes (STEP-PROTOCOL.md
// section 7), so step's tools and mayfly both read it. Differences from
// step: the CA keys are encrypted PKCS#8 rather than legacy RFC 1423 PEM
// (both load), and every file is 0600 (step leaves the configs 0644).

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "authority_internal.h"
#include "internal/bssl.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace mayfly {
namespace {

// 87600h, step's root and intermediate validity (10 x 365 days).
constexpr absl::Duration kCaValidity = absl::Hours(87600);

absl::Status FileError(absl::string_view what, const std::string& path,
                       int err) {
  return absl::Status(
      absl::ErrnoToStatusCode(err),
      absl::StrCat("cannot ", what, " ", path, ": ", strerror(err)));
}

// MakeDirs creates `path` and its missing parents with mode 0700. The last
// component is set to 0700 even if it existed.
absl::Status MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i != path.size() && path[i] != '/') {
      continue;
    }
    std::string prefix = path.substr(0, i);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return FileError("create directory", prefix, errno);
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return FileError("stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a directory"));
  }
  if (chmod(path.c_str(), 0700) != 0) {
    return FileError("chmod", path, errno);
  }
  return absl::OkStatus();
}

// WriteFile writes `contents` to `path` with mode 0600, durably.
absl::Status WriteFile(const std::string& path, absl::string_view contents) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return FileError("create", path, errno);
  }
  // An existing file keeps its mode through open(): set it.
  absl::Status status;
  if (fchmod(fd, 0600) != 0) {
    status = FileError("chmod", path, errno);
  }
  size_t done = 0;
  while (status.ok() && done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      status = FileError("write", path, errno);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && fsync(fd) != 0) {
    status = FileError("sync", path, errno);
  }
  if (close(fd) != 0 && status.ok()) {
    status = FileError("close", path, errno);
  }
  return status;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> Absolute(const std::string& dir) {
  if (!dir.empty() && dir.front() == '/') {
    return dir;
  }
  std::vector<char> cwd(4096);
  if (getcwd(cwd.data(), cwd.size()) == nullptr) {
    return FileError("read", "the working directory", errno);
  }
  return absl::StrCat(cwd.data(), "/", dir);
}

// CaUrl is the defaults.json "ca-url": https://<dns_names[0]>[:port], the
// port from the listen address and left out when it is 443.
std::string CaUrl(const InitOptions& options) {
  std::string host = options.dns_names.front();
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = absl::StrCat("[", host, "]");  // IPv6
  }
  std::string port;
  size_t colon = options.address.rfind(':');
  if (colon != std::string::npos) {
    port = options.address.substr(colon + 1);
  }
  if (port.empty() || port == "443") {
    return absl::StrCat("https://", host);
  }
  return absl::StrCat("https://", host, ":", port);
}

std::string DefaultsJson(const std::string& ca_url,
                         const std::string& config_path,
                         const std::string& fingerprint,
                         const std::string& root_path) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent('\t', 1);  // as Go's json.MarshalIndent(v, "", "\t")
  w.StartObject();
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string&>{"ca-url", ca_url},
        {"ca-config", config_path},
        {"fingerprint", fingerprint},
        {"root", root_path}}) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

absl::StatusOr<InitResult> InitPki(const InitOptions& options,
                                   const Clock& clock) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("dir is empty");
  }
  if (options.name.empty()) {
    return absl::InvalidArgumentError("name is empty");
  }
  if (options.password.empty()) {
    return absl::InvalidArgumentError("password is empty");
  }
  if (options.dns_names.empty() || options.dns_names.front().empty()) {
    return absl::InvalidArgumentError("dns_names is empty");
  }
  if (options.provisioner_name.empty()) {
    return absl::InvalidArgumentError("provisioner_name is empty");
  }
  if (options.backdate.has_value() &&
      *options.backdate < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backdate is negative");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string dir, Absolute(options.dir));
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  InitResult result;
  result.root_path = absl::StrCat(dir, "/certs/root_ca.crt");
  result.intermediate_path = absl::StrCat(dir, "/certs/intermediate_ca.crt");
  std::string root_key_path = absl::StrCat(dir, "/secrets/root_ca_key");
  std::string intermediate_key_path =
      absl::StrCat(dir, "/secrets/intermediate_ca_key");
  result.config_path = absl::StrCat(dir, "/config/ca.json");
  result.defaults_path = absl::StrCat(dir, "/config/defaults.json");
  if (!options.overwrite) {
    for (const std::string* path :
         {&result.config_path, &result.defaults_path, &result.root_path,
          &result.intermediate_path, &root_key_path, &intermediate_key_path}) {
      if (Exists(*path)) {
        return absl::AlreadyExistsError(
            absl::StrCat(*path, " exists; a PKI is there already"));
      }
    }
  }

  // Keys and certificates first, so nothing is written if one fails.
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey root_key,
                          PrivateKey::Generate(options.key_type));
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey intermediate_key,
                          PrivateKey::Generate(options.key_type));
  absl::Time now = internal::FloorSecond(clock.Now());

  CertificateTemplate root_tmpl;
  MAYFLY_ASSIGN_OR_RETURN(root_tmpl.serial, internal::NewSerial());
  root_tmpl.common_name = absl::StrCat(options.name, " Root CA");
  root_tmpl.organization = options.name;
  root_tmpl.not_before = now;
  root_tmpl.not_after = now + kCaValidity;
  root_tmpl.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  root_tmpl.basic = BasicConstraints{true, 1};
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate root,
      IssueCertificate(root_tmpl, root_key.public_key(), root_key, nullptr));

  // step creates the intermediate a second later, so it outlives the root
  // by a second; the same validity keeps the PKI usable at once under a
  // clock that does not move.
  CertificateTemplate int_tmpl;
  MAYFLY_ASSIGN_OR_RETURN(int_tmpl.serial, internal::NewSerial());
  int_tmpl.common_name = absl::StrCat(options.name, " Intermediate CA");
  int_tmpl.organization = options.name;
  int_tmpl.not_before = now;
  int_tmpl.not_after = now + kCaValidity;
  int_tmpl.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  int_tmpl.basic = BasicConstraints{true, 0};
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate intermediate,
      IssueCertificate(int_tmpl, intermediate_key.public_key(), root_key,
                       &root));

  MAYFLY_ASSIGN_OR_RETURN(std::string root_key_pem,
                          root_key.ToEncryptedPem(options.password));
  MAYFLY_ASSIGN_OR_RETURN(std::string intermediate_key_pem,
                          intermediate_key.ToEncryptedPem(options.password));

  MAYFLY_ASSIGN_OR_RETURN(PrivateKey provisioner_key,
                          PrivateKey::Generate(KeyType::kP256));
  const std::string& provisioner_password = options.provisioner_password.empty()
                                                ? options.password
                                                : options.provisioner_password;
  MAYFLY_ASSIGN_OR_RETURN(
      Provisioner provisioner,
      Provisioner::FromPrivateKey(options.provisioner_name, provisioner_key,
                                  provisioner_password, {},
                                  options.provisioner_p2c));
  result.provisioner_kid = provisioner.kid;
  result.root_fingerprint = root.FingerprintHex();

  CaConfig config;
  config.root = {result.root_path};
  config.crt = result.intermediate_path;
  config.key = intermediate_key_path;
  config.address = options.address;
  config.dns_names = options.dns_names;
  config.store = options.store;
  if (options.backdate.has_value()) {
    config.backdate = *options.backdate;
  }
  config.provisioners.push_back(std::move(provisioner));
  config.base_dir = absl::StrCat(dir, "/config");
  std::string config_json = SerializeConfig(config);
  std::string defaults_json =
      DefaultsJson(CaUrl(options), result.config_path, result.root_fingerprint,
                   result.root_path);

  for (const char* sub : {"", "/certs", "/secrets", "/config"}) {
    MAYFLY_RETURN_IF_ERROR(MakeDirs(absl::StrCat(dir, sub)));
  }
  // Secrets first: a PKI whose config exists is complete.
  MAYFLY_RETURN_IF_ERROR(WriteFile(root_key_path, root_key_pem));
  MAYFLY_RETURN_IF_ERROR(
      WriteFile(intermediate_key_path, intermediate_key_pem));
  MAYFLY_RETURN_IF_ERROR(WriteFile(result.root_path, root.ToPem()));
  MAYFLY_RETURN_IF_ERROR(
      WriteFile(result.intermediate_path, intermediate.ToPem()));
  MAYFLY_RETURN_IF_ERROR(WriteFile(result.defaults_path, defaults_json));
  MAYFLY_RETURN_IF_ERROR(WriteFile(result.config_path, config_json));
  return result;
}

}  // namespace mayfly

#include "cli/args.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "mayfly/provisioner.h"

namespace mayfly {
namespace cli {

absl::StatusOr<Args> Args::Parse(int argc, char** argv, int first,
                                 const std::set<std::string>& value_flags,
                                 const std::set<std::string>& bool_flags) {
  Args args;
  bool flags_done = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (flags_done || !absl::StartsWith(arg, "--") || arg == "-") {
      args.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_flags.count(name) > 0) {
      if (has_value && value != "true" && value != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " takes no value"));
      }
      if (!has_value || value == "true") {
        args.values_[name].push_back("true");
      }
      continue;
    }
    if (value_flags.count(name) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
      value = argv[++i];
    }
    args.values_[name].push_back(value);
  }
  return args;
}

std::string Args::Get(const std::string& flag,
                      const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

std::vector<std::string> Args::GetList(const std::string& flag) const {
  std::vector<std::string> out;
  for (const std::string& value : GetAll(flag)) {
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      if (!item.empty()) {
        out.emplace_back(item);
      }
    }
  }
  return out;
}

absl::StatusOr<std::optional<absl::Duration>> Args::GetDuration(
    const std::string& flag, bool allow_nonpositive) const {
  if (!Has(flag)) {
    return std::optional<absl::Duration>();
  }
  absl::StatusOr<absl::Duration> d = ParseGoDuration(Get(flag));
  if (!d.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " ", Get(flag), " is not a duration like 90s, 5m or 24h"));
  }
  if (!allow_nonpositive && *d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be above zero"));
  }
  return std::optional<absl::Duration>(*d);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteFile(const std::string& path, absl::string_view contents,
                       int mode, bool overwrite) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
  int fd = open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists; use --force to overwrite"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  // An existing file keeps its mode on O_TRUNC; make it what was asked.
  bool ok = fchmod(fd, static_cast<mode_t>(mode)) == 0;
  size_t done = 0;
  while (ok && done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    done += ok ? static_cast<size_t>(n) : 0;
  }
  ok = fsync(fd) == 0 && ok;
  ok = close(fd) == 0 && ok;
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("writing ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path,
                        int err) {
  return absl::Status(
      absl::ErrnoToStatusCode(err),
      absl::StrCat("cannot ", what, " ", path, ": ", strerror(err)));
}

// WriteAll writes all of `contents`; it returns 0 or an errno value.
int WriteAll(int fd, absl::string_view contents) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

absl::Status ReplaceFile(const std::string& path, absl::string_view contents) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return ErrnoError("resolve", path, errno);
  }
  const std::string target = resolved;
  struct stat st;
  if (stat(target.c_str(), &st) != 0) {
    return ErrnoError("stat", target, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(target, " is not a regular file"));
  }
  const size_t slash = target.rfind('/');
  const std::string dir = slash == 0 ? "/" : target.substr(0, slash);
  std::string tmp =
      absl::StrCat(dir, "/.", target.substr(slash + 1), ".tmp-XXXXXX");
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError("create a temporary file in", dir, errno);
  }
  absl::Status status;
  if (fchmod(fd, st.st_mode & 07777) != 0) {
    status = ErrnoError("chmod", tmp, errno);
  }
  // Keep the owner when we may (root editing a service's file). Anyone
  // else can only create files they own, which is then the right owner.
  if (status.ok() && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
      fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM) {
    status = ErrnoError("chown", tmp, errno);
  }
  if (status.ok()) {
    if (int err = WriteAll(fd, contents); err != 0) {
      status = ErrnoError("write", tmp, err);
    }
  }
  if (status.ok() && fsync(fd) != 0) {
    status = ErrnoError("sync", tmp, errno);
  }
  if (close(fd) != 0 && status.ok()) {
    status = ErrnoError("close", tmp, errno);
  }
  if (status.ok() && rename(tmp.c_str(), target.c_str()) != 0) {
    status = ErrnoError("rename over", target, errno);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  // The rename is durable only once the directory entry is.
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return ErrnoError("open", dir, errno);
  }
  int rc = fsync(dir_fd);
  int err = errno;
  close(dir_fd);
  if (rc != 0) {
    return ErrnoError("sync", dir, err);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DefaultStepPath() {
  const char* steppath = getenv("STEPPATH");
  if (steppath != nullptr && steppath[0] != '\0') {
    return std::string(steppath);
  }
  const char* home = getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return absl::StrCat(home, "/.step");
  }
  return absl::FailedPreconditionError(
      "neither STEPPATH nor HOME is set; give the directory explicitly");
}

absl::StatusOr<KeyType> ParseKeyType(const std::string& kty,
                                     const std::string& curve) {
  if ((kty == "EC" || kty.empty()) && (curve == "P-256" || curve.empty())) {
    return KeyType::kP256;
  }
  if ((kty == "EC" || kty.empty()) && curve == "P-384") {
    return KeyType::kP384;
  }
  if ((kty == "OKP" || kty.empty()) && curve == "Ed25519") {
    return KeyType::kEd25519;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported key type ", kty, " ", curve,
                   "; use EC P-256, EC P-384 or OKP Ed25519"));
}

absl::StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    return text.status();
  }
  std::string line = text->substr(0, text->find('\n'));
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  if (line.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("password file ", path, " is empty"));
  }
  return line;
}

}  // namespace cli
}  // namespace mayfly

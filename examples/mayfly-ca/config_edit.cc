#include "mayfly-ca/config_edit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "internal/json.h"
#include "mayfly/config.h"
#include "mayfly/status.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace mayfly {
namespace cli {
namespace {

// ca.json is read with the same bound LoadConfig applies.
constexpr size_t kMaxConfigBytes = 1 << 20;

// DirLock holds an exclusive flock on a directory while it lives. The lock
// is on the directory rather than the file because ReplaceFile swaps the
// file's inode: a lock on the old inode would not exclude the next editor.
class DirLock {
 public:
  static absl::StatusOr<DirLock> Acquire(const std::string& dir) {
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      return absl::Status(
          absl::ErrnoToStatusCode(errno),
          absl::StrCat("cannot open ", dir, ": ", strerror(errno)));
    }
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        int err = errno;
        close(fd);
        return absl::Status(
            absl::ErrnoToStatusCode(err),
            absl::StrCat("cannot lock ", dir, ": ", strerror(err)));
      }
    }
    return DirLock(fd);
  }
  DirLock(DirLock&& other) : fd_(other.fd_) { other.fd_ = -1; }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() {
    if (fd_ >= 0) {
      close(fd_);  // releases the lock
    }
  }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

absl::Status EditConfigFile(
    const std::string& path,
    const std::function<absl::Status(rapidjson::Document* doc)>& edit) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::Status(
        absl::ErrnoToStatusCode(errno),
        absl::StrCat("cannot read config file ", path, ": ", strerror(errno)));
  }
  const std::string target = resolved;
  const std::string dir = target.substr(0, target.rfind('/') + 1);
  MAYFLY_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(dir));

  MAYFLY_ASSIGN_OR_RETURN(std::string text, ReadFile(target));
  internal::JsonLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(text, "ca config", limits));
  MAYFLY_RETURN_IF_ERROR(edit(&doc));

  // step writes ca.json with four-space indentation; so do we.
  std::string updated = PrettyJson(doc, 4);
  absl::StatusOr<CaConfig> check = ParseConfig(updated, dir);
  if (!check.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the edited configuration would not load, so ", target,
                     " was left unchanged: ", check.status().message()));
  }
  return ReplaceFile(target, updated);
}

absl::StatusOr<rapidjson::Value*> ProvisionerList(rapidjson::Document* doc) {
  auto& alloc = doc->GetAllocator();
  auto authority = doc->FindMember("authority");
  if (authority == doc->MemberEnd()) {
    doc->AddMember("authority", rapidjson::Value(rapidjson::kObjectType),
                   alloc);
    authority = doc->FindMember("authority");
  } else if (authority->value.IsNull()) {
    authority->value.SetObject();
  } else if (!authority->value.IsObject()) {
    return absl::InvalidArgumentError(
        "ca config: authority is not a JSON object");
  }
  rapidjson::Value& auth = authority->value;
  auto list = auth.FindMember("provisioners");
  if (list == auth.MemberEnd()) {
    auth.AddMember("provisioners", rapidjson::Value(rapidjson::kArrayType),
                   alloc);
    list = auth.FindMember("provisioners");
  } else if (list->value.IsNull()) {
    list->value.SetArray();
  } else if (!list->value.IsArray()) {
    return absl::InvalidArgumentError(
        "ca config: authority.provisioners is not an array");
  }
  return &list->value;
}

std::string ProvisionerName(const rapidjson::Value& provisioner) {
  if (!provisioner.IsObject()) {
    return "";
  }
  auto name = provisioner.FindMember("name");
  if (name == provisioner.MemberEnd() || !name->value.IsString()) {
    return "";
  }
  return std::string(name->value.GetString(), name->value.GetStringLength());
}

std::string PrettyJson(const rapidjson::Value& value, int indent) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buf);
  writer.SetIndent(' ', static_cast<unsigned>(indent));
  value.Accept(writer);
  return absl::StrCat(absl::string_view(buf.GetString(), buf.GetSize()), "\n");
}

}  // namespace cli
}  // namespace mayfly

// The standard RenewalSinks: rotating TLS credentials, atomic files, a
// command, a signal, a host callback.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "mayfly/renewal.h"
#include "mayfly/status.h"
#include "openssl/mem.h"

extern char** environ;

namespace mayfly {
namespace {

absl::Status ErrnoError(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", std::strerror(err)));
}

// WipedString is a std::string that is cleansed before it is freed, for
// PEM that holds a private key.
class WipedString {
 public:
  explicit WipedString(std::string s) : s_(std::move(s)) {}
  ~WipedString() { OPENSSL_cleanse(&s_[0], s_.size()); }
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  std::string& get() { return s_; }

 private:
  std::string s_;
};

// --- RotatingCredentials ----------------------------------------------------

class RotatingCredentialsSinkImpl final : public RenewalSink {
 public:
  explicit RotatingCredentialsSinkImpl(
      std::shared_ptr<RotatingCredentials> credentials)
      : credentials_(std::move(credentials)) {}

  absl::Status Deliver(const Credentials& credentials) override {
    return credentials_->Set(credentials.chain, credentials.key);
  }

 private:
  std::shared_ptr<RotatingCredentials> credentials_;
};

// --- Atomic files -----------------------------------------------------------

// ReadSmallFile reads `path` whole. NotFound if it does not exist.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("cannot open ", path));
  }
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int err = errno;
      close(fd);
      OPENSSL_cleanse(buf, sizeof(buf));
      return ErrnoError(err, absl::StrCat("cannot read ", path));
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  close(fd);
  return out;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  if (slash == 0) {
    return "/";
  }
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ReplaceFile makes `path` hold `data` with `mode`, atomically: a reader
// opens either the old file or the complete new one, and after a crash the
// path holds one of the two. The temporary file is created 0600 (mkstemp)
// and only then given `mode`, so key material is never readable by others,
// not even for a moment.
absl::Status ReplaceFile(const std::string& path, absl::string_view data,
                         mode_t mode) {
  std::string dir = DirName(path);
  std::string tmp = absl::StrCat(dir, "/.", BaseName(path), ".tmp-XXXXXX");
  int fd = mkostemp(&tmp[0], O_CLOEXEC);
  if (fd < 0) {
    return ErrnoError(errno, absl::StrCat("cannot create a file in ", dir));
  }
  auto fail = [&](absl::string_view what) {
    int err = errno;
    if (fd >= 0) {
      close(fd);
    }
    unlink(tmp.c_str());
    return ErrnoError(err, absl::StrCat("cannot ", what, " ", path));
  };
  if (fchmod(fd, mode) != 0) {
    return fail("set the mode of");
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  // The data must be on disk before the rename publishes it, or a crash
  // could leave the new name pointing at an empty file.
  if (fsync(fd) != 0) {
    return fail("sync");
  }
  int closed = close(fd);
  fd = -1;
  if (closed != 0) {
    return fail("close");
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return fail("rename a temporary file to");
  }
  // And the rename itself must reach the disk.
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return ErrnoError(errno, absl::StrCat("cannot open directory ", dir));
  }
  int synced = fsync(dir_fd);
  int err = errno;
  close(dir_fd);
  if (synced != 0) {
    return ErrnoError(err, absl::StrCat("cannot sync directory ", dir));
  }
  return absl::OkStatus();
}

class FilesSinkImpl final : public RenewalSink {
 public:
  explicit FilesSinkImpl(FilesSinkOptions options)
      : options_(std::move(options)) {}

  absl::Status Deliver(const Credentials& credentials) override {
    std::string chain_pem;
    for (const Certificate& cert : credentials.chain) {
      chain_pem += cert.ToPem();
    }
    WipedString key_pem(credentials.key.ToPem());
    // Two deliveries to the same files (a sink shared by entries that renew
    // on different threads) must not interleave their renames.
    absl::MutexLock lock(&mu_);
    if (!options_.cert_path.empty()) {
      // The key first: a reader woken by the certificate's change then
      // finds the key that goes with it. The key file is not rewritten
      // when it is unchanged (every plain renewal), so the pair on disk is
      // never out of step then.
      absl::StatusOr<std::string> old_key = ReadSmallFile(options_.key_path);
      struct stat st;
      bool same = old_key.ok() && *old_key == key_pem.get() &&
                  stat(options_.key_path.c_str(), &st) == 0 &&
                  (st.st_mode & 07777) == options_.key_mode;
      if (old_key.ok()) {
        OPENSSL_cleanse(&(*old_key)[0], old_key->size());
      }
      if (!same) {
        MAYFLY_RETURN_IF_ERROR(
            ReplaceFile(options_.key_path, key_pem.get(), options_.key_mode));
      }
      MAYFLY_RETURN_IF_ERROR(
          ReplaceFile(options_.cert_path, chain_pem, options_.cert_mode));
    }
    if (!options_.bundle_path.empty()) {
      WipedString bundle(absl::StrCat(chain_pem, key_pem.get()));
      MAYFLY_RETURN_IF_ERROR(
          ReplaceFile(options_.bundle_path, bundle.get(), options_.key_mode));
    }
    return absl::OkStatus();
  }

 private:
  const FilesSinkOptions options_;
  absl::Mutex mu_;
};

// --- Command ----------------------------------------------------------------

class CommandSinkImpl final : public RenewalSink {
 public:
  explicit CommandSinkImpl(CommandSinkOptions options)
      : options_(std::move(options)) {}

  absl::Status Deliver(const Credentials&) override {
    std::string name = absl::StrJoin(options_.argv, " ");
    std::vector<char*> argv;
    argv.reserve(options_.argv.size() + 1);
    for (const std::string& arg : options_.argv) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    if (posix_spawn_file_actions_init(&actions) != 0) {
      return absl::InternalError("command sink: posix_spawn_file_actions_init");
    }
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
    // The child starts with default signal handling and an empty mask,
    // whatever the host set up for its own threads.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int err =
        posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
      return ErrnoError(err, absl::StrCat("command sink: cannot run ", name));
    }

    // No SIGCHLD handler is ours to install in a host's process, so the
    // child is polled, at intervals growing to 50 ms.
    absl::Time deadline = options_.clock->Now() + options_.timeout;
    absl::Duration pause = absl::Milliseconds(1);
    int status = 0;
    while (true) {
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done < 0 && errno == EINTR) {
        continue;
      }
      if (done < 0) {
        return ErrnoError(errno,
                          absl::StrCat("command sink: waiting for ", name));
      }
      if (done == pid) {
        break;
      }
      if (options_.clock->Now() >= deadline) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return absl::DeadlineExceededError(
            absl::StrCat("command sink: ", name, " killed after ",
                         absl::FormatDuration(options_.timeout)));
      }
      absl::SleepFor(pause);
      pause = std::min(pause * 2, absl::Milliseconds(50));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      return absl::OkStatus();
    }
    if (WIFEXITED(status)) {
      return absl::InternalError(absl::StrCat(
          "command sink: ", name, " exited with status ", WEXITSTATUS(status)));
    }
    return absl::InternalError(
        absl::StrCat("command sink: ", name, " was killed by signal ",
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  }

 private:
  const CommandSinkOptions options_;
};

// --- Signal -----------------------------------------------------------------

class SignalSinkImpl final : public RenewalSink {
 public:
  explicit SignalSinkImpl(SignalSinkOptions options)
      : options_(std::move(options)) {}

  absl::Status Deliver(const Credentials&) override {
    pid_t pid = options_.pid;
    if (!options_.pid_file.empty()) {
      absl::StatusOr<std::string> text = ReadSmallFile(options_.pid_file);
      if (!text.ok()) {
        return absl::NotFoundError(
            absl::StrCat("signal sink: cannot read the pid file: ",
                         text.status().message()));
      }
      int64_t value = 0;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value) ||
          value <= 0 || value > INT_MAX) {
        // 0 and negative numbers would signal whole process groups.
        return absl::InvalidArgumentError(
            absl::StrCat("signal sink: ", options_.pid_file,
                         " does not hold a positive pid"));
      }
      pid = static_cast<pid_t>(value);
    }
    if (kill(pid, options_.signal) != 0) {
      return ErrnoError(errno, absl::StrCat("signal sink: cannot signal ",
                                            options_.signal, " to pid ", pid));
    }
    return absl::OkStatus();
  }

 private:
  const SignalSinkOptions options_;
};

// --- Callback ---------------------------------------------------------------

class CallbackSinkImpl final : public RenewalSink {
 public:
  explicit CallbackSinkImpl(
      std::function<absl::Status(const Credentials&)> deliver)
      : deliver_(std::move(deliver)) {}

  absl::Status Deliver(const Credentials& credentials) override {
    return deliver_(credentials);
  }

 private:
  std::function<absl::Status(const Credentials&)> deliver_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<RenewalSink>> RotatingCredentialsSink(
    std::shared_ptr<RotatingCredentials> credentials) {
  if (credentials == nullptr) {
    return absl::InvalidArgumentError(
        "rotating credentials sink: credentials are NULL");
  }
  return std::make_shared<RotatingCredentialsSinkImpl>(std::move(credentials));
}

absl::StatusOr<std::shared_ptr<RenewalSink>> AtomicFilesSink(
    FilesSinkOptions options) {
  if (options.cert_path.empty() != options.key_path.empty()) {
    return absl::InvalidArgumentError(
        "files sink: cert_path and key_path go together");
  }
  if (options.cert_path.empty() && options.bundle_path.empty()) {
    return absl::InvalidArgumentError(
        "files sink: no file named (cert_path and key_path, or bundle_path)");
  }
  const std::string* paths[] = {&options.cert_path, &options.key_path,
                                &options.bundle_path};
  for (size_t i = 0; i < 3; ++i) {
    for (size_t j = i + 1; j < 3; ++j) {
      if (!paths[i]->empty() && *paths[i] == *paths[j]) {
        return absl::InvalidArgumentError(
            absl::StrCat("files sink: ", *paths[i], " is named twice"));
      }
    }
  }
  for (const std::string* path : paths) {
    if (!path->empty() && path->back() == '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("files sink: ", *path, " is a directory"));
    }
  }
  if ((options.cert_mode & ~07777) != 0 || (options.key_mode & ~07777) != 0) {
    return absl::InvalidArgumentError("files sink: invalid file mode");
  }
  return std::make_shared<FilesSinkImpl>(std::move(options));
}

absl::StatusOr<std::shared_ptr<RenewalSink>> CommandSink(
    CommandSinkOptions options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return absl::InvalidArgumentError("command sink: no program given");
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "command sink: the timeout must be positive");
  }
  if (options.clock == nullptr) {
    return absl::InvalidArgumentError("command sink: clock is NULL");
  }
  return std::make_shared<CommandSinkImpl>(std::move(options));
}

absl::StatusOr<std::shared_ptr<RenewalSink>> SignalSink(
    SignalSinkOptions options) {
  if ((options.pid != 0) == !options.pid_file.empty()) {
    return absl::InvalidArgumentError(
        "signal sink: give exactly one of pid and pid_file");
  }
  if (options.pid < 0) {
    return absl::InvalidArgumentError("signal sink: the pid must be positive");
  }
  if (options.signal <= 0 || options.signal >= NSIG) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal sink: no signal number ", options.signal));
  }
  return std::make_shared<SignalSinkImpl>(std::move(options));
}

absl::StatusOr<std::shared_ptr<RenewalSink>> CallbackSink(
    std::function<absl::Status(const Credentials&)> deliver) {
  if (!deliver) {
    return absl::InvalidArgumentError("callback sink: no function given");
  }
  return std::make_shared<CallbackSinkImpl>(std::move(deliver));
}

}  // namespace mayfly

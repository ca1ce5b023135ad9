#include "mayfly-ca/serve.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "mayfly/authority.h"
#include "mayfly/c.h"
#include "mayfly/clock.h"
#include "mayfly/config.h"
#include "mayfly/provisioner.h"
#include "mayfly/server.h"
#include "mayfly/status.h"
#include "mayfly/store.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace mayfly {
namespace cli {
namespace {

constexpr char kServeUsage[] =
    "usage: mayfly-ca serve CONFIG --password-file FILE [flags]\n"
    "\n"
    "Serves the CA described by CONFIG (a ca.json, as `mayfly-ca init` or\n"
    "`step ca init` writes it) over HTTPS with step-ca's API, so the step\n"
    "CLI works against it unchanged.\n"
    "\n"
    "flags:\n"
    "  --password-file FILE   password of the intermediate key\n"
    "  --address ADDR         listen address, overriding the config's\n"
    "                         (\"127.0.0.1:0\" picks a free port)\n"
    "  --log-format F         text (default: the config's logger.format) "
    "or json\n"
    "  --tls-lifetime D       lifetime of the CA's own TLS certificate,\n"
    "                         renewed in-process at 2/3 (default 24h)\n"
    "  --shutdown-grace D     how long SIGTERM waits for requests in\n"
    "                         flight (default 10s)\n"
    "  --user NAME            started as root: read the keys and bind the\n"
    "                         address as root, then switch for good to\n"
    "                         user NAME (and its group only); the store is\n"
    "                         opened as NAME, so it must be NAME's to write\n"
    "  --group NAME           with --user: this group instead of the\n"
    "                         user's own\n"
    "  --allow-root           stay root, without the warning serving as\n"
    "                         root otherwise logs\n"
    "\n"
    "Always: umask 077, no core dumps, and the process is not dumpable\n"
    "(no ptrace or /proc/PID/mem access by other processes of its user),\n"
    "so key material never leaves it.\n"
    "\n"
    "signals:\n"
    "  SIGTERM, SIGINT        stop accepting, finish requests in flight,\n"
    "                         exit 0\n"
    "  SIGHUP                 re-read CONFIG and swap in its provisioners\n"
    "                         and claims; a config that does not load is\n"
    "                         logged and the running one kept. Other\n"
    "                         changes (address, names, keys, store) need a\n"
    "                         restart. After --user, CONFIG is re-read as\n"
    "                         that user.\n";

// Logger writes whole lines to stderr, one write(2) per line under a lock,
// so the server's request lines (from worker threads) and ours never mix.
class Logger {
 public:
  explicit Logger(LogFormat format) : format_(format) {}

  // Write writes `line` and a newline.
  void Write(absl::string_view line) ABSL_LOCKS_EXCLUDED(mu_) {
    std::string out = absl::StrCat(line, "\n");
    absl::MutexLock lock(&mu_);
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = write(STDERR_FILENO, out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return;  // nowhere left to report it
      }
      done += static_cast<size_t>(n);
    }
  }

  // Log writes one event in the request log's format: logrus-style
  // `time="..." level=info msg="..."`, or a JSON object.
  void Log(absl::string_view level, absl::string_view msg) {
    const std::string time = absl::FormatTime(
        "%Y-%m-%dT%H:%M:%SZ", Clock::Real().Now(), absl::UTCTimeZone());
    if (format_ == LogFormat::kJson) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      w.StartObject();
      w.Key("level");
      w.String(level.data(), static_cast<rapidjson::SizeType>(level.size()));
      w.Key("msg");
      w.String(msg.data(), static_cast<rapidjson::SizeType>(msg.size()));
      w.Key("time");
      w.String(time.data(), static_cast<rapidjson::SizeType>(time.size()));
      w.EndObject();
      Write(absl::string_view(buf.GetString(), buf.GetSize()));
      return;
    }
    Write(
        absl::StrCat("time=\"", time, "\" level=", level, " msg=", Quote(msg)));
  }

 private:
  // Quote writes `s` as a double-quoted string with backslash escapes, so
  // a message never breaks the one-line-per-event format.
  static std::string Quote(absl::string_view s) {
    std::string out = "\"";
    for (char c : s) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            absl::StrAppend(
                &out, "\\x",
                absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
          } else {
            out += c;
          }
      }
    }
    out += "\"";
    return out;
  }

  absl::Mutex mu_;
  const LogFormat format_;
};

// HostOf returns the host part of "host:port", "[v6]:port" or ":port".
std::string HostOf(absl::string_view address) {
  size_t colon = address.rfind(':');
  return std::string(
      colon == absl::string_view::npos ? address : address.substr(0, colon));
}

// UrlHost writes a DNS name or IP address as a URL host (IPv6 bracketed).
std::string UrlHost(absl::string_view name) {
  if (name.find(':') != absl::string_view::npos && name.front() != '[') {
    return absl::StrCat("[", name, "]");
  }
  return std::string(name);
}

// RestartOnlyChanges names the members of `next` that differ from the
// running configuration but are not applied by a reload.
std::vector<std::string> RestartOnlyChanges(const CaConfig& running,
                                            const CaConfig& next) {
  std::vector<std::string> changed;
  auto check = [&](bool same, const char* name) {
    if (!same) {
      changed.push_back(name);
    }
  };
  check(running.root == next.root, "root");
  check(running.federated_roots == next.federated_roots, "federatedRoots");
  check(running.crt == next.crt, "crt");
  check(running.key == next.key, "key");
  check(running.address == next.address, "address");
  check(running.dns_names == next.dns_names, "dnsNames");
  check(running.store == next.store, "store");
  check(running.common_name == next.common_name, "commonName");
  check(running.logger_format == next.logger_format, "logger.format");
  check(running.backdate == next.backdate, "authority.backdate");
  check(running.tls.cipher_suites == next.tls.cipher_suites &&
            running.tls.min_version == next.tls.min_version &&
            running.tls.max_version == next.tls.max_version,
        "tls");
  check(running.crl.enabled == next.crl.enabled &&
            running.crl.generate_on_revoke == next.crl.generate_on_revoke &&
            running.crl.cache_duration == next.crl.cache_duration &&
            running.crl.renew_period == next.crl.renew_period &&
            running.crl.idp_url == next.crl.idp_url,
        "crl");
  return changed;
}

// Reload re-reads `path` and swaps in its provisioners and claims. Any
// failure leaves the running ones in place and is logged.
void Reload(const std::string& path, const CaConfig& running, CaServer* server,
            Logger* log) {
  absl::StatusOr<CaConfig> next = LoadConfig(path);
  absl::Status status = next.status();
  if (status.ok()) {
    status = server->ReloadProvisioners(*next);
  }
  if (!status.ok()) {
    log->Log("error",
             absl::StrCat("SIGHUP: reloading ", path,
                          " failed; keeping the running configuration: ",
                          status.message()));
    return;
  }
  std::vector<std::string> names;
  for (const Provisioner& p : next->provisioners) {
    names.push_back(p.name);
  }
  log->Log("info",
           absl::StrCat("SIGHUP: reloaded ", path, ": ", names.size(),
                        " provisioner(s): ", absl::StrJoin(names, ", ")));
  std::vector<std::string> restart = RestartOnlyChanges(running, *next);
  if (!restart.empty()) {
    log->Log("warning",
             absl::StrCat("SIGHUP: changes to ", absl::StrJoin(restart, ", "),
                          " take effect only after a restart"));
  }
}

struct ServeFlags {
  std::string config_path;
  std::string password;
  ServerOptions options;
  absl::Duration grace = absl::Seconds(10);
  bool log_format_given = false;
  bool allow_root = false;  // --allow-root: no warning when serving as root
};

absl::StatusOr<ServeFlags> ReadFlags(const Args& args) {
  ServeFlags flags;
  flags.config_path = args.positional()[0];
  flags.allow_root = args.Has("allow-root");
  if (!args.Has("password-file")) {
    return absl::InvalidArgumentError("--password-file is required");
  }
  MAYFLY_ASSIGN_OR_RETURN(flags.password,
                          ReadPasswordFile(args.Get("password-file")));
  flags.options.address = args.Get("address");
  if (args.Has("log-format")) {
    const std::string format = args.Get("log-format");
    if (format != "text" && format != "json") {
      return absl::InvalidArgumentError(
          absl::StrCat("--log-format ", format, ": use text or json"));
    }
    flags.options.log_format =
        format == "json" ? LogFormat::kJson : LogFormat::kText;
    flags.log_format_given = true;
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> lifetime,
                          args.GetDuration("tls-lifetime"));
  if (lifetime.has_value()) {
    flags.options.tls_lifetime = *lifetime;
  }
  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> grace,
                          args.GetDuration("shutdown-grace",
                                           /*allow_nonpositive=*/true));
  if (grace.has_value()) {
    if (*grace < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("--shutdown-grace is negative");
    }
    flags.grace = *grace;
  }
  flags.options.version = mayfly_version();
  return flags;
}

absl::Status ErrnoStatus(absl::string_view what, int err) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", strerror(err)));
}

// Harden applies what every serve process gets, root or not, before any
// secret is read: files it creates are private to its user (umask 077), and
// neither a core dump nor another process of the same user (ptrace,
// /proc/PID/mem) can copy the keys out of its memory.
absl::Status Harden() {
  umask(077);
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) != 0) {
    return ErrnoStatus("getrlimit(RLIMIT_CORE)", errno);
  }
  // Already zero under systemd's LimitCORE=0. A seccomp filter may refuse
  // setrlimit; a soft limit of zero already stops core dumps, and only this
  // process could raise it.
  if (core.rlim_cur != 0 || core.rlim_max != 0) {
    const rlim_t soft = core.rlim_cur;
    core.rlim_cur = core.rlim_max = 0;
    if (setrlimit(RLIMIT_CORE, &core) != 0 && soft != 0) {
      return ErrnoStatus("setrlimit(RLIMIT_CORE, 0)", errno);
    }
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_DUMPABLE, 0)", errno);
  }
  return absl::OkStatus();
}

// RunAs is the identity `--user` asks the server to switch to.
struct RunAs {
  std::string user;
  std::string group;
  uid_t uid = 0;
  gid_t gid = 0;
};

// LookupRunAs reads --user, --group and --allow-root. nullopt means "stay
// who we are" (serve warns when that is root without --allow-root).
absl::StatusOr<std::optional<RunAs>> LookupRunAs(const Args& args) {
  if (!args.Has("user")) {
    if (args.Has("group")) {
      return absl::InvalidArgumentError("--group needs --user");
    }
    return std::nullopt;
  }
  if (args.Has("allow-root")) {
    return absl::InvalidArgumentError(
        "--user and --allow-root contradict each other");
  }
  RunAs who;
  who.user = args.Get("user");
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* pw_found = nullptr;
  int rc = getpwnam_r(who.user.c_str(), &pw, buf.data(), buf.size(), &pw_found);
  if (rc != 0 || pw_found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--user ", who.user, ": no such user",
        rc != 0 ? absl::StrCat(" (", strerror(rc), ")") : std::string()));
  }
  who.uid = pw.pw_uid;
  who.gid = pw.pw_gid;
  if (args.Has("group")) {
    who.group = args.Get("group");
    struct group gr;
    struct group* gr_found = nullptr;
    rc = getgrnam_r(who.group.c_str(), &gr, buf.data(), buf.size(), &gr_found);
    if (rc != 0 || gr_found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--group ", who.group, ": no such group",
          rc != 0 ? absl::StrCat(" (", strerror(rc), ")") : std::string()));
    }
    who.gid = gr.gr_gid;
  } else {
    struct group gr;
    struct group* gr_found = nullptr;
    rc = getgrgid_r(who.gid, &gr, buf.data(), buf.size(), &gr_found);
    who.group = rc == 0 && gr_found != nullptr ? std::string(gr.gr_name)
                                               : absl::StrCat(who.gid);
  }
  if (who.uid == 0 || who.gid == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--user ", who.user, " --group ", who.group,
        ": that keeps root's user or group; name an unprivileged one"));
  }
  if (geteuid() != 0) {
    if (who.uid == geteuid() && who.gid == getegid()) {
      return std::nullopt;  // already that user: nothing to switch
    }
    return absl::FailedPreconditionError(
        absl::StrCat("--user ", who.user,
                     " needs root to switch to (running "
                     "as uid ",
                     geteuid(), ")"));
  }
  return who;
}

// StoreUrl is the store Authority::Create would open for `config`: its
// "store" (a relative sqlite path taken from the config's folder), else
// DefaultStoreUrl of the CA folder (the config folder's parent), whose db/
// folder is created 0700 if missing. Opened here when switching users, so
// that it is opened as the user.
absl::StatusOr<std::string> StoreUrl(const CaConfig& config) {
  constexpr absl::string_view kSqlite = "sqlite:";
  if (!config.store.empty()) {
    absl::string_view path = config.store;
    if (absl::ConsumePrefix(&path, kSqlite) && !path.empty() &&
        path[0] != '/') {
      return absl::StrCat(kSqlite, config.ResolvePath(path));
    }
    return config.store;
  }
  absl::string_view base = absl::StripSuffix(config.base_dir, "/");
  size_t slash = base.rfind('/');
  std::string ca_dir(slash == absl::string_view::npos || slash == 0
                         ? absl::string_view(".")
                         : base.substr(0, slash));
  std::string db_dir = absl::StrCat(ca_dir, "/db");
  if (mkdir(db_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("cannot create the store folder ", db_dir),
                       errno);
  }
  return DefaultStoreUrl(ca_dir);
}

// OpenStoreAs opens the store of `config` with the effective user and group
// of `who` (root's own ids are kept as saved ids and restored after), so
// the files the store creates are `who`'s, and a store `who` could not
// write fails now, with a clear error, rather than after the switch.
absl::StatusOr<std::unique_ptr<Store>> OpenStoreAs(const CaConfig& config,
                                                   const RunAs& who) {
  // Only the target's group from here on; root reads the keys anyway.
  if (setgroups(1, &who.gid) != 0) {
    return ErrnoStatus("setgroups", errno);
  }
  if (setegid(who.gid) != 0) {
    return ErrnoStatus(absl::StrCat("setegid(", who.gid, ")"), errno);
  }
  if (seteuid(who.uid) != 0) {
    absl::Status s = ErrnoStatus(absl::StrCat("seteuid(", who.uid, ")"), errno);
    (void)setegid(0);
    return s;
  }
  absl::StatusOr<std::string> url = StoreUrl(config);
  absl::StatusOr<std::unique_ptr<Store>> store =
      url.ok() ? NewStore(*url) : url.status();
  // Back to root for the keys; the saved uid 0 allows it.
  if (seteuid(0) != 0 || setegid(0) != 0) {
    return ErrnoStatus("returning to root after opening the store", errno);
  }
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("opening the store as user ", who.user,
                                     ": ", store.status().message()));
  }
  return store;
}

// DropPrivileges switches every thread of the process to `who` for good
// (glibc applies set*id to all threads), then proves root cannot be
// regained.
absl::Status DropPrivileges(const RunAs& who) {
  if (setgroups(1, &who.gid) != 0) {
    return ErrnoStatus("setgroups", errno);
  }
  if (setresgid(who.gid, who.gid, who.gid) != 0) {
    return ErrnoStatus(absl::StrCat("setresgid(", who.gid, ")"), errno);
  }
  if (setresuid(who.uid, who.uid, who.uid) != 0) {
    return ErrnoStatus(absl::StrCat("setresuid(", who.uid, ")"), errno);
  }
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) != 0 ||
      getresgid(&rgid, &egid, &sgid) != 0) {
    return ErrnoStatus("getresuid", errno);
  }
  gid_t groups[2];
  int ngroups = getgroups(2, groups);
  const bool switched = ruid == who.uid && euid == who.uid && suid == who.uid &&
                        rgid == who.gid && egid == who.gid && sgid == who.gid &&
                        ngroups == 1 && groups[0] == who.gid;
  // Each of these must fail now; if one succeeds, root is still reachable.
  const bool root_back =
      setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0;
  if (!switched || root_back) {
    return absl::InternalError(
        absl::StrCat("switching to user ", who.user, " did not take: uids ",
                     ruid, "/", euid, "/", suid, ", gids ", rgid, "/", egid,
                     "/", sgid, root_back ? ", root could be regained" : ""));
  }
  // A change of credentials resets the dumpable flag (to the
  // fs.suid_dumpable sysctl): set it again. No exec will ever gain
  // privileges either.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_DUMPABLE, 0)", errno);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS, 1)", errno);
  }
  return absl::OkStatus();
}

}  // namespace

int ServeCommand(int argc, char** argv) {
  // Before anything can start a thread: every thread inherits this mask,
  // so the three signals stay pending until sigwait() below takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  if (int rc = pthread_sigmask(SIG_BLOCK, &signals, nullptr); rc != 0) {
    std::cerr << "error: cannot block signals: " << strerror(rc) << "\n";
    return 1;
  }
  // A peer closing its socket mid-write must cost a failed write, not the
  // process.
  signal(SIGPIPE, SIG_IGN);
  if (absl::Status hardened = Harden(); !hardened.ok()) {
    std::cerr << "error: " << hardened.message() << "\n";
    return 1;
  }

  auto args = Args::Parse(argc, argv, 2,
                          {"password-file", "address", "log-format",
                           "tls-lifetime", "shutdown-grace", "user", "group"},
                          {"help", "allow-root"});
  if (args.ok() && args->Has("help")) {
    std::cout << kServeUsage;
    return 0;
  }
  if (!args.ok() || args->positional().size() != 1) {
    std::cerr << "error: "
              << (args.ok() ? std::string("serve needs one CONFIG file")
                            : std::string(args.status().message()))
              << "\n"
              << kServeUsage;
    return 2;
  }
  // Before the password file is read: root without a decision is refused.
  absl::StatusOr<std::optional<RunAs>> run_as = LookupRunAs(*args);
  if (!run_as.ok()) {
    std::cerr << "error: " << run_as.status().message() << "\n";
    return run_as.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  absl::StatusOr<ServeFlags> flags = ReadFlags(*args);
  if (!flags.ok()) {
    std::cerr << "error: " << flags.status().message() << "\n";
    return flags.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  absl::StatusOr<CaConfig> config = LoadConfig(flags->config_path);
  if (!config.ok()) {
    std::cerr << "error: " << config.status().message() << "\n";
    return 1;
  }
  if (!flags->log_format_given) {
    flags->options.log_format =
        config->logger_format == "json" ? LogFormat::kJson : LogFormat::kText;
  }
  Logger log(flags->options.log_format);
  flags->options.log_sink = [&log](absl::string_view line) { log.Write(line); };

  log.Log("info", absl::StrCat("Starting mayfly-ca ", mayfly_version()));
  log.Log("info", absl::StrCat("Config file: ", flags->config_path));
  if (geteuid() == 0 && !run_as->has_value() && !flags->allow_root) {
    log.Log("warning",
            "serving as root: pass --user NAME to switch to an unprivileged "
            "user once the keys are read and the address is bound");
  }
  std::unique_ptr<Store> store;  // NULL: Authority::Create opens it
  if (run_as->has_value()) {
    absl::StatusOr<std::unique_ptr<Store>> opened =
        OpenStoreAs(*config, **run_as);
    if (!opened.ok()) {
      log.Log("error", absl::StrCat("cannot open the store: ",
                                    opened.status().message()));
      return 1;
    }
    store = *std::move(opened);
  }
  absl::StatusOr<std::unique_ptr<Authority>> authority = Authority::Create(
      *config, flags->password, std::move(store), Clock::Real());
  if (!authority.ok()) {
    log.Log("error",
            absl::StrCat("cannot load the CA: ", authority.status().message()));
    return 1;
  }
  const std::string address =
      flags->options.address.empty() ? config->address : flags->options.address;
  absl::StatusOr<std::unique_ptr<CaServer>> server =
      CaServer::Create(authority->get(), flags->options);
  if (!server.ok()) {
    log.Log("error", absl::StrCat("cannot create the server: ",
                                  server.status().message()));
    return 1;
  }
  if (absl::Status started = (*server)->Start(); !started.ok()) {
    log.Log("error",
            absl::StrCat("cannot serve on ", address, ": ", started.message()));
    return 1;
  }
  if (run_as->has_value()) {
    const RunAs& who = **run_as;
    // The keys are in memory and the socket is bound: root is no longer
    // needed, and from here on it is not held.
    if (absl::Status dropped = DropPrivileges(who); !dropped.ok()) {
      log.Log("error", absl::StrCat("cannot drop root: ", dropped.message()));
      (*server)->Shutdown(absl::ZeroDuration());
      return 1;
    }
    log.Log("info",
            absl::StrCat("Switched to user ", who.user, " (uid ", who.uid,
                         ") and group ", who.group, " (gid ", who.gid, ")"));
  }
  const int port = (*server)->port();
  const std::string url =
      absl::StrCat("https://", UrlHost(config->dns_names.front()),
                   port == 443 ? "" : absl::StrCat(":", port));
  log.Log("info", absl::StrCat("The primary server URL is ", url));
  log.Log("info", absl::StrCat("Root certificates are available at ", url,
                               "/roots.pem"));
  log.Log("info", absl::StrCat("X.509 Root Fingerprint: ",
                               (*authority)->roots().front().FingerprintHex()));
  log.Log("info", absl::StrCat("Serving HTTPS on ", HostOf(address), ":", port,
                               " ..."));

  for (;;) {
    int sig = 0;
    int rc = sigwait(&signals, &sig);
    if (rc != 0) {
      // sigwait fails only for an invalid set; stopping is all that is left.
      log.Log("error", absl::StrCat("sigwait: ", strerror(rc)));
      (*server)->Shutdown(flags->grace);
      return 1;
    }
    if (sig == SIGHUP) {
      Reload(flags->config_path, *config, server->get(), &log);
      continue;
    }
    log.Log("info", absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT",
                                 ": shutting down; waiting up to ",
                                 absl::FormatDuration(flags->grace),
                                 " for requests in flight"));
    (*server)->Shutdown(flags->grace);
    log.Log("info", "stopped");
    return 0;
  }
}

}  // namespace cli
}  // namespace mayfly

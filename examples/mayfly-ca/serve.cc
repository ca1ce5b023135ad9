#include "mayfly-ca/serve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
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
    "\n"
    "signals:\n"
    "  SIGTERM, SIGINT        stop accepting, finish requests in flight,\n"
    "                         exit 0\n"
    "  SIGHUP                 re-read CONFIG and swap in its provisioners\n"
    "                         and claims; a config that does not load is\n"
    "                         logged and the running one kept. Other\n"
    "                         changes (address, names, keys, store) need a\n"
    "                         restart.\n";

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
};

absl::StatusOr<ServeFlags> ReadFlags(const Args& args) {
  ServeFlags flags;
  flags.config_path = args.positional()[0];
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

  auto args = Args::Parse(argc, argv, 2,
                          {"password-file", "address", "log-format",
                           "tls-lifetime", "shutdown-grace"},
                          {"help"});
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
  absl::StatusOr<std::unique_ptr<Authority>> authority =
      Authority::Create(*config, flags->password, nullptr, Clock::Real());
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

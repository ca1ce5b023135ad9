// `mayfly renew`: renew a certificate once, or keep it renewed (--daemon)
// with mayfly's RenewalScheduler, installing each new certificate
// atomically and then signalling a process and/or running a command.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "commands.h"
#include "common.h"
#include "mayfly/authority.h"
#include "mayfly/client.h"
#include "mayfly/clock.h"
#include "mayfly/renewal.h"
#include "mayfly/status.h"

namespace mayfly {
namespace cli {
namespace {

constexpr char kRenewUsage[] =
    "usage: mayfly renew CRT_FILE KEY_FILE [flags]\n"
    "\n"
    "Renews the certificate in CRT_FILE, as `step ca renew` does: over\n"
    "mutual TLS with the certificate and KEY_FILE (POST /renew), or, once\n"
    "the certificate has expired or with --mtls=false, with a renew token\n"
    "signed by the key (the CA must allow renewal after expiry for an\n"
    "expired one). The new chain replaces CRT_FILE atomically (temporary\n"
    "file, fsync, rename; its mode is kept); the key is not changed. Then\n"
    "the process in --pid-file gets --signal, then --exec runs.\n"
    "\n"
    "Without --daemon it renews once and exits. With --expires-in D it only\n"
    "renews when the certificate expires within D (or --force).\n"
    "\n"
    "With --daemon it keeps the certificate renewed: each renewal is due at\n"
    "two thirds of the certificate's lifetime (less up to a twentieth, so\n"
    "that many clients spread out), a failure is retried with exponential\n"
    "backoff while the certificate is valid, and one line is printed per\n"
    "renewal or failure. If the CA refuses the certificate (revoked,\n"
    "renewal disabled) or it expires unrenewed, the daemon says so and\n"
    "exits 1. SIGHUP renews at once; SIGINT and SIGTERM stop it (exit 0).\n"
    "\n"
    "flags:\n"
    "  --daemon               keep renewing\n"
    "  --force                renew even if --expires-in says not yet\n"
    "  --expires-in D         renew only if it expires within D (one-shot)\n"
    "  --exec CMD             run CMD after each renewal (split on spaces,\n"
    "                         no shell), killed after 30s\n"
    "  --signal SIG           signal for --pid-file/--pid (HUP, USR1, ...,\n"
    "                         or a number; default HUP)\n"
    "  --pid-file FILE        the process to signal, read at each renewal\n"
    "  --pid PID              the process to signal\n"
    "  --mtls=false           authenticate with a renew token, not mTLS\n"
    "  --password-file FILE   the password of an encrypted KEY_FILE\n";

// BoolFlagValue returns the last value given to the boolean flag `name`
// (--name, --name=true, --name=false) before a bare "--", or `fallback`
// when it is not given. Args records only true values, and --mtls is true
// unless said otherwise.
bool BoolFlagValue(int argc, char** argv, absl::string_view name,
                   bool fallback) {
  bool value = fallback;
  for (int i = 2; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") {
      break;
    }
    if (!absl::ConsumePrefix(&arg, "--") || !absl::ConsumePrefix(&arg, name)) {
      continue;
    }
    if (arg.empty() || arg == "=true") {
      value = true;
    } else if (arg == "=false") {
      value = false;
    }
  }
  return value;
}

absl::StatusOr<int> ParseSignal(const std::string& text) {
  int number = 0;
  if (absl::SimpleAtoi(text, &number)) {
    if (number < 1 || number >= NSIG) {
      return absl::InvalidArgumentError(
          absl::StrCat("--signal ", text, " is not a signal number"));
    }
    return number;
  }
  const std::string upper = absl::AsciiStrToUpper(text);
  absl::string_view name = upper;
  absl::ConsumePrefix(&name, "SIG");
  struct Named {
    const char* name;
    int number;
  };
  static const Named kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
      {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
      {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH}};
  for (const Named& s : kSignals) {
    if (name == s.name) {
      return s.number;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--signal ", text, " is not a signal (HUP, USR1, 10, ...)"));
}

// Renewal holds what one certificate's renewals need.
struct Renewal {
  std::string crt_path;
  std::unique_ptr<CaClient> ca;
  bool mtls = true;
  std::vector<std::shared_ptr<RenewalSink>> sinks;
  std::shared_ptr<const Credentials> current;
};

// MakeSinks builds the sinks that install a renewed certificate, in the
// order step uses: the files, then the signal, then the command.
absl::StatusOr<std::vector<std::shared_ptr<RenewalSink>>> MakeSinks(
    const Args& args, const std::string& crt_path, const std::string& key_path,
    const std::string& key_text, const PrivateKey& key) {
  std::vector<std::shared_ptr<RenewalSink>> sinks;
  struct stat st;
  if (stat(crt_path.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot stat ", crt_path, ": ", strerror(errno)));
  }
  if (key_text == key.ToPem()) {
    // The key file holds what the files sink would write: let it manage the
    // pair (it leaves an unchanged key file alone).
    FilesSinkOptions paths;
    paths.cert_path = crt_path;
    paths.key_path = key_path;
    paths.cert_mode = st.st_mode & 07777;
    MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> files,
                            AtomicFilesSink(paths));
    sinks.push_back(std::move(files));
  } else {
    // An encrypted or differently encoded key must stay as it is: replace
    // only the certificate file.
    MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> cert_only,
                            CallbackSink([crt_path](const Credentials& c) {
                              return ReplaceFile(crt_path, ChainPem(c.chain));
                            }));
    sinks.push_back(std::move(cert_only));
  }
  if (args.Has("pid-file") || args.Has("pid") || args.Has("signal")) {
    SignalSinkOptions signal;
    if (args.Has("pid-file") == args.Has("pid")) {
      return absl::InvalidArgumentError(
          "--signal needs one of --pid-file and --pid");
    }
    signal.pid_file = args.Get("pid-file");
    if (args.Has("pid") &&
        (!absl::SimpleAtoi(args.Get("pid"), &signal.pid) || signal.pid <= 0)) {
      return absl::InvalidArgumentError("--pid must be a positive number");
    }
    if (args.Has("signal")) {
      MAYFLY_ASSIGN_OR_RETURN(signal.signal, ParseSignal(args.Get("signal")));
    }
    MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> s, SignalSink(signal));
    sinks.push_back(std::move(s));
  }
  if (args.Has("exec")) {
    CommandSinkOptions command;
    command.argv = absl::StrSplit(args.Get("exec"), ' ', absl::SkipEmpty());
    MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> s,
                            CommandSink(command));
    sinks.push_back(std::move(s));
  }
  return sinks;
}

// RenewOnce renews `c` as `step ca renew` would: mTLS while the
// certificate is valid (unless --mtls=false), a renew token once expired.
absl::StatusOr<IssuedCertificate> RenewOnce(CaClient& ca, bool mtls,
                                            const Credentials& c) {
  if (mtls && Clock::Real().Now() < c.chain[0].NotAfter()) {
    return ca.Renew(c.chain, c.key);
  }
  return ca.RenewWithToken(c.chain, c.key);
}

std::string Describe(const Certificate& leaf) {
  return absl::StrCat(leaf.CommonName(), " (serial ", leaf.SerialDecimal(),
                      ", valid until ", LocalTime(leaf.NotAfter()), ")");
}

// Printer writes whole lines, stamped with the local time, from the
// scheduler's thread and the main one.
class Printer {
 public:
  void Line(absl::string_view text) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::cout << absl::FormatTime("%H:%M:%S ", absl::Now(),
                                  absl::LocalTimeZone())
              << text << std::endl;
  }

 private:
  absl::Mutex mu_;
};

std::string Until(absl::Time t) {
  return Human(std::max(t - Clock::Real().Now(), absl::ZeroDuration()));
}

// Refused says whether the CA's answer means retrying cannot help.
bool Refused(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnauthenticated ||
         s.code() == absl::StatusCode::kPermissionDenied;
}

int RunDaemon(Renewal renewal) {
  // The signals are taken synchronously by this thread (sigtimedwait), so
  // they are blocked before any other thread starts and inherit the mask.
  // The command sink resets the mask for the commands it runs.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Printer out;
  std::atomic<int> verdict{-1};  // the exit code once the entry is gone
  CaClient* ca = renewal.ca.get();
  const bool mtls = renewal.mtls;
  RenewalOptions options;
  options.renew = [ca, mtls](const Credentials& c) {
    return RenewOnce(*ca, mtls, c);
  };
  options.renew_after_expiry = [ca](const Credentials& c) {
    return ca->RenewWithToken(c.chain, c.key);
  };
  options.on_event = [&out, &verdict](const RenewalEvent& e) {
    const Certificate& leaf = e.credentials->chain[0];
    switch (e.type) {
      case RenewalEventType::kRenewed:
        out.Line(absl::StrCat("renewed ", Describe(leaf), "; next renewal in ",
                              Until(e.next_attempt)));
        break;
      case RenewalEventType::kFailed:
        out.Line(absl::StrCat("ERROR: renewal failed (attempt ", e.attempts,
                              "): ", e.status.message(), "; retrying in ",
                              Until(e.next_attempt)));
        break;
      case RenewalEventType::kRevoked:
        out.Line(absl::StrCat("STOPPED: the CA refused to renew ",
                              Describe(leaf), ": ", e.status.message()));
        verdict = 1;
        break;
      case RenewalEventType::kExpired:
        out.Line(
            absl::StrCat("STOPPED: ", Describe(leaf),
                         " expired without renewal: ", e.status.message()));
        verdict = 1;
        break;
      case RenewalEventType::kSinkFailed:
        out.Line(absl::StrCat(
            "WARNING: the renewed certificate was not fully installed: ",
            e.status.message()));
        break;
    }
  };
  absl::StatusOr<std::unique_ptr<RenewalScheduler>> scheduler =
      RenewalScheduler::Create(std::move(options));
  if (!scheduler.ok()) {
    return Finish(scheduler.status());
  }
  absl::StatusOr<uint64_t> id =
      (*scheduler)->Add(renewal.current, renewal.sinks);
  if (!id.ok()) {
    return Finish(id.status());
  }
  absl::StatusOr<RenewalEntry> entry = (*scheduler)->Get(*id);
  if (!entry.ok()) {
    return Finish(entry.status());
  }
  out.Line(absl::StrCat("managing ", Describe(renewal.current->chain[0]),
                        "; first renewal in ", Until(entry->next_attempt)));
  if (absl::Status s = (*scheduler)->Start(); !s.ok()) {
    return Finish(s);
  }

  int code = -1;
  while (code < 0) {
    struct timespec tick = {0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      out.Line(absl::StrCat("stopping on ", sigabbrev_np(sig) != nullptr
                                                ? sigabbrev_np(sig)
                                                : "signal"));
      code = 0;
    } else if (sig == SIGHUP) {
      // Renew now, as `step ca renew --daemon` does on SIGHUP. A scheduled
      // renewal running at the same moment is discarded by Update.
      absl::StatusOr<RenewalEntry> now = (*scheduler)->Get(*id);
      if (!now.ok()) {
        continue;  // the entry is gone; the verdict ends the loop
      }
      absl::StatusOr<IssuedCertificate> issued =
          RenewOnce(*ca, mtls, *now->credentials);
      if (!issued.ok()) {
        out.Line(absl::StrCat("renewal on SIGHUP failed: ",
                              issued.status().message()));
        if (Refused(issued.status())) {
          out.Line("STOPPED: the CA refused the certificate");
          code = 1;
        }
        continue;
      }
      auto renewed = std::make_shared<Credentials>(
          Credentials{issued->chain, now->credentials->key});
      if (absl::Status s = (*scheduler)->Update(*id, renewed); !s.ok()) {
        out.Line(absl::StrCat("WARNING: ", s.message()));
        continue;
      }
      for (const std::shared_ptr<RenewalSink>& sink : renewal.sinks) {
        if (absl::Status s = sink->Deliver(*renewed); !s.ok()) {
          out.Line(absl::StrCat(
              "WARNING: the renewed certificate was not fully installed: ",
              s.message()));
        }
      }
      absl::StatusOr<RenewalEntry> next = (*scheduler)->Get(*id);
      out.Line(absl::StrCat(
          "renewed on SIGHUP ", Describe(issued->leaf), "; next renewal in ",
          next.ok() ? Until(next->next_attempt) : std::string("?")));
    } else if (verdict.load() >= 0) {
      code = verdict.load();
    }
  }
  scheduler->reset();  // stops the scheduler thread
  return code;
}

absl::Status RenewCertificate(const Args& args, bool mtls, int* exit_code) {
  const std::string& crt_path = args.positional()[0];
  const std::string& key_path = args.positional()[1];
  const bool daemon = args.Has("daemon");
  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> expires_in,
                          args.GetDuration("expires-in"));
  if (daemon && expires_in.has_value()) {
    return absl::InvalidArgumentError(
        "--daemon renews at two thirds of the lifetime; --expires-in is for "
        "one-shot renewals");
  }
  Renewal renewal;
  renewal.crt_path = crt_path;
  renewal.mtls = mtls;
  MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> chain, LoadChain(crt_path));
  MAYFLY_ASSIGN_OR_RETURN(std::string key_text, ReadFile(key_path));
  MAYFLY_ASSIGN_OR_RETURN(
      PrivateKey key, LoadKey(key_path, args.Get("password-file"), chain[0]));
  const absl::Time now = Clock::Real().Now();
  if (!daemon && !args.Has("force") && expires_in.has_value() &&
      chain[0].NotAfter() - now > *expires_in) {
    std::cout << "certificate not renewed: expires in "
              << Human(chain[0].NotAfter() - now) << "\n";
    return absl::OkStatus();
  }
  MAYFLY_ASSIGN_OR_RETURN(renewal.sinks,
                          MakeSinks(args, crt_path, key_path, key_text, key));
  MAYFLY_ASSIGN_OR_RETURN(CaTarget target, ResolveTarget(args));
  MAYFLY_ASSIGN_OR_RETURN(renewal.ca, Connect(target));
  auto current =
      std::make_shared<Credentials>(Credentials{std::move(chain), key});
  renewal.current = current;
  if (daemon) {
    *exit_code = RunDaemon(std::move(renewal));
    return absl::OkStatus();
  }
  MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                          RenewOnce(*renewal.ca, mtls, *current));
  const Credentials renewed{issued.chain, current->key};
  for (const std::shared_ptr<RenewalSink>& sink : renewal.sinks) {
    MAYFLY_RETURN_IF_ERROR(sink->Deliver(renewed));
  }
  std::cout << "Your certificate has been saved in " << crt_path << ": "
            << Describe(issued.leaf) << ".\n";
  return absl::OkStatus();
}

}  // namespace

int RenewCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args = ParseCommand(
      argc, argv,
      With({"exec", "signal", "pid-file", "pid", "expires-in", "password-file"},
           kCaValueFlags),
      {"force", "daemon", "mtls"}, 2, 2,
      absl::StrCat(kRenewUsage, "\n", kCaFlagsHelp), &rc);
  if (!args.has_value()) {
    return rc;
  }
  const bool mtls = BoolFlagValue(argc, argv, "mtls", true);
  int exit_code = 0;
  absl::Status status = RenewCertificate(*args, mtls, &exit_code);
  return status.ok() ? exit_code : Finish(status);
}

}  // namespace cli
}  // namespace mayfly

// File: mayfly/renewal.h
//
// Keeping short-lived certificates renewed. RenewalScheduler manages any
// number of certificates (a process with one, a fleet agent with a million)
// with one timer structure: each certificate is renewed at two thirds of its
// lifetime, retried with backoff while the CA cannot be reached, dropped
// when the CA refuses it, and every outcome is reported to the host. Sinks
// install each renewed certificate: in a RotatingCredentials (tls.h), in
// files, by running a command or signalling a process, or through a host
// callback.
//
// The scheduler does not speak HTTP: the renewal itself is a function the
// host supplies, so a CaClient (client.h), an in-process Authority
// (authority.h) or a test double can do it:
//
//   CaClient* ca = ...;  // outlives the scheduler
//   RenewalOptions options;
//   options.renew = [ca](const Credentials& c) {
//     return ca->Renew(c.chain, c.key);           // mTLS
//   };
//   options.renew_after_expiry = [ca](const Credentials& c) {
//     return ca->RenewWithToken(c.chain, c.key);  // if the CA allows it
//   };
//   options.on_event = [](const RenewalEvent& e) { LogEvent(e); };
//   MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<RenewalScheduler> scheduler,
//                           RenewalScheduler::Create(std::move(options)));
//   auto tls = std::make_shared<RotatingCredentials>();
//   MAYFLY_RETURN_IF_ERROR(tls->Set(issued.chain, key));
//   FilesSinkOptions paths;
//   paths.cert_path = "/etc/svc/cert.pem";
//   paths.key_path = "/etc/svc/key.pem";
//   MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> files,
//                           AtomicFilesSink(paths));
//   MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> to_tls,
//                           RotatingCredentialsSink(tls));
//   MAYFLY_ASSIGN_OR_RETURN(uint64_t id,
//                           scheduler->Add(tls->Current(), {to_tls, files}));
//   MAYFLY_RETURN_IF_ERROR(scheduler->Start());  // or drive it: see below
//
// Schedule. A certificate valid from NotBefore for L = NotAfter - NotBefore
// is renewed at NotBefore + 2/3 L - J, where J is drawn uniformly from
// [0, L/20] for each certificate, so a fleet issued in the same second
// spreads its renewals over a twentieth of the lifetime instead of hitting
// the CA at once. A certificate whose renewal time has already passed when
// it is added (a host restarting late in a lifetime) is renewed at once.
//
// Outcomes of a renewal attempt, by the status the renewal function returns:
// - OK: the new chain (with the same key) becomes the entry's credentials,
//   its sinks run, a kRenewed event follows, and the next renewal is
//   scheduled from the new certificate as above: after failures, the
//   schedule returns to normal.
// - Unauthenticated or PermissionDenied (the certificate is revoked, its
//   provisioner is gone or disables renewal): retrying cannot help, so the
//   entry is removed and a kRevoked event reports it.
// - Anything else (Unavailable, DeadlineExceeded, Internal, ...): a kFailed
//   event, and a retry after an exponential backoff with full jitter: after
//   the n-th failure in a row the delay is drawn uniformly from
//   [0, min(first_retry * 2^(n-1), cap)], where cap = min(max_retry, 1/10 of
//   the time the certificate has left), but never below first_retry, so a
//   certificate seconds from expiry does not spin. The scheduler never
//   gives up on a certificate that is still valid.
// - Once the certificate has expired (NotAfter <= now when its turn comes):
//   with `renew_after_expiry` set, that function is tried instead, with the
//   same rules (backoff capped at max_retry; Unauthenticated or
//   PermissionDenied from it means the CA's grace period is over or renewal
//   is refused: the entry is removed with a kExpired event). Without it the
//   entry is removed with a kExpired event.
// Defaults: first_retry 1 s, max_retry 5 min.
//
// Two ways to run it:
// - Start() runs a scheduler thread that sleeps until the next deadline
//   (by the Clock; it also wakes at least once a minute, so a jump of the
//   wall clock or a suspended machine delays renewals by at most a minute)
//   and renews on that thread, one certificate at a time. Renewals are
//   therefore serialized: a renewal that blocks for a minute delays the
//   others by a minute (a pool of threads is not offered: one renewal
//   costs the CA a signature, and a fleet's renewals are spread out).
// - A host with its own event loop calls NextDeadline() to know when to
//   wake and RunDue(now) when it does; renewals, sinks and events then run
//   on the thread that calls RunDue. This is also how tests drive the
//   scheduler with a FakeClock, without sleeping.
//
// Threads: every method is thread-safe and may be called from any thread,
// including from the renewal function, a sink or the event callback. No
// library lock is held while the renewal function, a sink or the event
// callback runs.
//
// Memory: an entry costs the scheduler a 64-byte record and a 16-byte heap
// node, about 100 bytes of resident memory with the allocator's slack
// (benchmarks/scheduler_bench measures it with a million entries). The
// host's Credentials are held by reference, shared with the host; a sink
// list, when given, is one more allocation. Add, Remove, Update and
// running the next due entry are O(log n); NextDeadline is O(1).

#ifndef MAYFLY_RENEWAL_H_
#define MAYFLY_RENEWAL_H_

#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mayfly/authority.h"
#include "mayfly/clock.h"
#include "mayfly/tls.h"

namespace mayfly {

// RenewFunction renews `current` (the chain, leaf first, and its key) and
// returns the new certificate, issued for the same key. It runs on the
// thread that runs the schedule, with no scheduler lock held; when RunDue is
// called from several threads, it runs concurrently for different entries.
using RenewFunction = std::function<absl::StatusOr<IssuedCertificate>(
    const Credentials& current)>;

// RenewalEventType says what happened to an entry.
enum class RenewalEventType {
  // The certificate was renewed and the sinks have run. `credentials` are
  // the new ones; `next_attempt` is the next renewal time.
  kRenewed,
  // A renewal attempt failed and will be retried. `status` is the error,
  // `attempts` the number of failures in a row (1 for the first),
  // `next_attempt` the time of the retry.
  kFailed,
  // The CA refused the renewal (Unauthenticated or PermissionDenied:
  // revoked, renewal disabled). `status` is the CA's answer. The entry has
  // been removed.
  kRevoked,
  // The certificate expired without being renewed: no renew_after_expiry
  // function, or the CA refused it. `status` says which. The entry has been
  // removed.
  kExpired,
  // A sink failed to install a renewed certificate. `status` is its error
  // and names the sink; `sink_index` is its position in the entry's list.
  // The renewal itself stands (a kRenewed event follows), and the other
  // sinks still run.
  // WARNING: the scheduler does not retry the sink; the next renewal
  // delivers again. A host that cannot live with a stale file should
  // react to this event (for example by calling the sink itself).
  kSinkFailed,
};

// RenewalEventTypeName returns "renewed", "failed", "revoked", "expired" or
// "sink_failed".
const char* RenewalEventTypeName(RenewalEventType type);

// RenewalEvent is one report to the host. It is borrowed for the duration
// of the callback.
struct RenewalEvent {
  RenewalEventType type = RenewalEventType::kRenewed;
  uint64_t id = 0;      // the entry, as returned by Add
  absl::Time time;      // when it happened, by the scheduler's clock
  absl::Status status;  // OK for kRenewed; the error otherwise
  int attempts = 0;     // kFailed: failures in a row, this one included
  // kRenewed and kFailed: when the entry's next renewal attempt is due.
  // absl::InfiniteFuture() for kRevoked and kExpired (no next attempt).
  absl::Time next_attempt = absl::InfiniteFuture();
  // The entry's credentials: the new ones for kRenewed and kSinkFailed,
  // the current (last good) ones otherwise.
  std::shared_ptr<const Credentials> credentials;
  size_t sink_index = 0;  // kSinkFailed only
};

// RenewalSink installs a renewed certificate somewhere. The factories below
// make the standard ones; a host may implement its own.
class RenewalSink {
 public:
  virtual ~RenewalSink() = default;

  // Deliver installs `credentials`. It runs on the thread that ran the
  // renewal, with no scheduler lock held, after the entry has been
  // rescheduled. An error is reported as a kSinkFailed event. A sink shared
  // by several entries may be called concurrently when RunDue runs on
  // several threads.
  virtual absl::Status Deliver(const Credentials& credentials) = 0;
};

// RenewalOptions configure a RenewalScheduler.
struct RenewalOptions {
  // renew renews a certificate that is still valid. Required.
  RenewFunction renew;

  // renew_after_expiry, if set, renews a certificate that has expired (for
  // a CaClient, RenewWithToken, which step-ca accepts when the provisioner
  // allows renewal after expiry). If not set, an expired certificate is
  // reported as kExpired and dropped.
  RenewFunction renew_after_expiry;

  // on_event receives every event. Optional. It runs on the thread that
  // ran the renewal, with no scheduler lock held; it may call any method of
  // the scheduler.
  std::function<void(const RenewalEvent&)> on_event;

  // The backoff after failed attempts: the first retry is drawn from
  // [0, first_retry], and the window doubles up to max_retry (see the file
  // comment). Both positive, first_retry <= max_retry.
  absl::Duration first_retry = absl::Seconds(1);
  absl::Duration max_retry = absl::Minutes(5);

  // seed, if set, seeds the scheduler's random generator (renewal jitter
  // and backoff), for reproducible tests. Otherwise it is seeded from the
  // operating system.
  std::optional<uint64_t> seed;
};

// RenewalEntry describes one managed certificate, for Get.
struct RenewalEntry {
  std::shared_ptr<const Credentials> credentials;
  // next_attempt is when the entry is due; absl::InfinitePast() while its
  // renewal is running (or waiting its turn in a RunDue call).
  absl::Time next_attempt;
  int attempts = 0;  // failures in a row since the last success
};

// RenewalScheduler keeps many certificates renewed. Thread-safe.
class RenewalScheduler {
 public:
  // Create makes a stopped scheduler. `clock` must outlive it.
  // InvalidArgument if `options.renew` is not set or the backoff durations
  // are not positive or first_retry > max_retry.
  static absl::StatusOr<std::unique_ptr<RenewalScheduler>> Create(
      RenewalOptions options, const Clock& clock = Clock::Real());

  RenewalScheduler(const RenewalScheduler&) = delete;
  RenewalScheduler& operator=(const RenewalScheduler&) = delete;

  // The destructor stops the scheduler thread, waiting for a renewal that
  // is running on it. It may be called from one of the scheduler's own
  // callbacks (the renewal function, a sink, on_event), on its thread or in
  // RunDue: the work under way then finishes without reporting further
  // events, and the scheduler's state is released when it returns. Another
  // thread must not be calling a method of the object being destroyed.
  ~RenewalScheduler();

  // Add manages `credentials` (chain leaf first, with its key) and
  // schedules its first renewal (see the file comment). `sinks` run, in
  // order, after each renewal; they are not run for the credentials given
  // here, which the host has installed already. The scheduler keeps a
  // reference to `credentials` until the first renewal replaces it.
  // Returns the entry's id (never 0; a removed entry's id is not handed out
  // again). InvalidArgument if
  // `credentials` is NULL, its chain is empty, its key does not belong to
  // the leaf, the leaf's validity is empty or reversed, or a sink is NULL;
  // ResourceExhausted beyond 2^32 - 1 entries; nothing is added then.
  // Thread-safe.
  absl::StatusOr<uint64_t> Add(
      std::shared_ptr<const Credentials> credentials,
      std::vector<std::shared_ptr<RenewalSink>> sinks = {});

  // Remove stops managing entry `id`. If its renewal is running, the result
  // is discarded when it returns: no sink runs and no event is reported for
  // it (sinks and an event already under way, because the renewal returned
  // before Remove, still finish). NotFound for an unknown or removed id.
  // Thread-safe.
  absl::Status Remove(uint64_t id);

  // Update replaces the credentials of entry `id` (the host renewed or
  // rekeyed it itself) and reschedules it from the new leaf, forgetting
  // past failures; a renewal of the old credentials that is running is
  // discarded as in Remove. Sinks are not run. NotFound for an unknown id;
  // InvalidArgument as in Add (the entry is unchanged then). Thread-safe.
  absl::Status Update(uint64_t id,
                      std::shared_ptr<const Credentials> credentials);

  // Get returns entry `id`'s state. NotFound for an unknown id.
  // Thread-safe.
  absl::StatusOr<RenewalEntry> Get(uint64_t id) const;

  // size returns the number of managed entries. Thread-safe.
  size_t size() const;

  // NextDeadline returns the time the earliest entry is due, or
  // absl::InfiniteFuture() if none is waiting. Entries whose renewal is
  // running are not counted. Thread-safe.
  absl::Time NextDeadline() const;

  // RunDue runs every entry due at or before `now` (the host passes
  // clock.Now()), one after the other on the calling thread: renewal,
  // sinks, events. Entries that fall due again during the call (a retry
  // drawn as zero) wait for the next call. Returns the number of entries it
  // ran. Thread-safe: each call takes the entries due when it starts, so
  // concurrent calls never run the same entry.
  size_t RunDue(absl::Time now);

  // Start runs the schedule on a thread of its own (see the file comment).
  // FailedPrecondition if it is already running. Thread-safe.
  absl::Status Start();

  // Stop stops that thread after the renewal it is running, if any, and
  // waits for it; entries it had not reached stay scheduled. A no-op if it
  // is not running. When called from the scheduler thread (from a
  // callback), it returns at once and the thread exits after the callback.
  // Thread-safe.
  void Stop();

 private:
  class Impl;
  explicit RenewalScheduler(std::shared_ptr<Impl> impl);
  // Shared with the scheduler thread, so that the thread may outlive this
  // object when it is destroyed from one of its own callbacks.
  std::shared_ptr<Impl> impl_;
};

// Sinks. Each factory checks its arguments (InvalidArgument, naming the
// bad one) and returns a sink that may be shared by any number of entries.

// RotatingCredentialsSink installs the renewed chain and key with
// `credentials->Set`, so TLS contexts configured with it (tls.h) serve the
// new certificate from the next handshake. InvalidArgument if
// `credentials` is NULL.
absl::StatusOr<std::shared_ptr<RenewalSink>> RotatingCredentialsSink(
    std::shared_ptr<RotatingCredentials> credentials);

// FilesSinkOptions name the files AtomicFilesSink writes. Set cert_path and
// key_path together, bundle_path, or all three.
struct FilesSinkOptions {
  std::string cert_path;    // the chain, leaf first, as PEM
  std::string key_path;     // the key as unencrypted PKCS#8 PEM
  std::string bundle_path;  // the chain followed by the key, in one file
  mode_t cert_mode = 0644;
  mode_t key_mode = 0600;  // also the bundle's mode, since it holds the key
};

// AtomicFilesSink writes each renewed certificate to files, so that a
// reader never sees a partial file or a certificate without its key:
// every file is written to a temporary file in the same directory, fsynced,
// given its mode (whatever the umask), and renamed over the old one, and
// the directory is fsynced; a crash leaves the old file or the new one.
//
// The pair is never out of step across renewals: a renewal keeps the key,
// and the key file is only rewritten when its contents change, so every
// reader at every moment finds a certificate that matches the key. When
// the key does change (Update with a rekeyed certificate, then a renewal),
// the key file is renamed into place first and the certificate file second:
// a reader woken by the certificate's change finds the new key already
// there, but a reader that reads the certificate before the key's rename
// and the key after it sees the new key with the old certificate for
// that moment.
// WARNING: readers that must never see a mismatch even across key changes
// should read bundle_path, which is replaced by a single rename.
//
// Deliver returns the error of the first file that could not be written
// (the files before it are already replaced). InvalidArgument if no file
// is named, cert_path and key_path are not given together, or two paths
// are the same.
absl::StatusOr<std::shared_ptr<RenewalSink>> AtomicFilesSink(
    FilesSinkOptions options);

// CommandSinkOptions describe a command run after each renewal, as `step ca
// renew --exec` does.
struct CommandSinkOptions {
  // argv[0] is the program (a path, or a name looked up in PATH), the rest
  // its arguments. It is run directly, not through a shell; to use one,
  // pass {"/bin/sh", "-c", "the command"}.
  std::vector<std::string> argv;
  // The command is killed (SIGKILL) if it runs longer than this.
  absl::Duration timeout = absl::Seconds(30);
  // The clock that measures `timeout`; must outlive the sink.
  const Clock* clock = &Clock::Real();
};

// CommandSink runs a command after each renewal, with the environment and
// the standard output and error of this process and stdin from /dev/null,
// and waits for it. Deliver fails with NotFound if the program does not
// exist, PermissionDenied if it may not be run, DeadlineExceeded if it was
// killed at the timeout, Internal if it exited with a non-zero status or on
// a signal (the message says which). InvalidArgument if argv is empty or
// argv[0] is empty, or the timeout is not positive.
absl::StatusOr<std::shared_ptr<RenewalSink>> CommandSink(
    CommandSinkOptions options);

// SignalSinkOptions name the process to signal after each renewal, as
// `step ca renew --signal --pid-file` does: `pid`, or a file holding the pid
// (read again at each renewal, so a restarted process is found).
struct SignalSinkOptions {
  pid_t pid = 0;
  std::string pid_file;
  int signal = SIGHUP;
};

// SignalSink sends a signal after each renewal. Deliver fails with NotFound
// if the pid file cannot be read or no such process exists,
// InvalidArgument if the pid file does not hold a positive decimal pid, and
// PermissionDenied if the process may not be signalled. InvalidArgument
// unless exactly one of pid (positive) and pid_file is given, or for a
// signal number out of range.
absl::StatusOr<std::shared_ptr<RenewalSink>> SignalSink(
    SignalSinkOptions options);

// CallbackSink calls `deliver` after each renewal; its status is the sink's.
// InvalidArgument if `deliver` is empty.
absl::StatusOr<std::shared_ptr<RenewalSink>> CallbackSink(
    std::function<absl::Status(const Credentials&)> deliver);

}  // namespace mayfly

#endif  // MAYFLY_RENEWAL_H_

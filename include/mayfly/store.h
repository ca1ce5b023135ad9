// File: mayfly/store.h
//
// The CA's durable state, behind one interface:
// - used token ids, each kept until the token's own expiry (after which a
//   replay fails on `exp` anyway), so the set stays bounded;
// - revocations (serial, reason, time, passive flag);
// - issued-certificate records with their lineage (`renewed_from`), so that
//   revoking a certificate also blocks every renewal descending from it.
//
// An operation that returned OK is durable in the backend's sense (for the
// memory store: for the life of the process). Backends: memory (here),
// SQLite and PostgreSQL (see NewStore). All implementations are thread-safe.
//
//   MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, NewStore("memory:"));
//   MAYFLY_RETURN_IF_ERROR(store->UseToken(jti, exp));  // AlreadyExists on
//   replay

#ifndef MAYFLY_STORE_H_
#define MAYFLY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/clock.h"

namespace mayfly {

// CertificateRecord is what the CA remembers of a certificate it issued.
// Serials are decimal strings, as step writes them on the wire.
struct CertificateRecord {
  std::string serial;
  std::string subject;             // the subject CN
  std::vector<std::string> names;  // SAN values
  absl::Time not_before;
  absl::Time not_after;
  std::string provisioner;   // provisioner name
  std::string renewed_from;  // serial of the certificate renewed or rekeyed
                             // into this one; "" for a first issue
};

// RevocationRecord is one revoked serial.
struct RevocationRecord {
  std::string serial;
  int reason_code = 0;  // RFC 5280 CRLReason, 0..10
  std::string reason;
  absl::Time revoked_at;
  // expires_at is the revoked certificate's notAfter when known (the CRL
  // drops entries after it), else absl::InfiniteFuture().
  absl::Time expires_at = absl::InfiniteFuture();
  bool passive = true;
  bool mtls = false;        // authorised by the certificate itself
  std::string provisioner;  // authorising provisioner, if a token was used
};

// StoreCounts is a snapshot of how much a store holds; tests use it to check
// that refused requests changed nothing.
struct StoreCounts {
  int64_t used_tokens = 0;
  int64_t certificates = 0;
  int64_t revocations = 0;

  bool operator==(const StoreCounts& o) const {
    return used_tokens == o.used_tokens && certificates == o.certificates &&
           revocations == o.revocations;
  }
};

// Store is the interface every backend implements. Thread-safe.
class Store {
 public:
  virtual ~Store() = default;

  // UseToken records that the token with `id` (its jti) was used; the id is
  // kept at least until `expires_at`. Atomic: of concurrent calls with one
  // id, exactly one succeeds. AlreadyExists if the id was already used.
  virtual absl::Status UseToken(absl::string_view id,
                                absl::Time expires_at) = 0;

  // RecordCertificate stores an issued certificate. AlreadyExists if the
  // serial is already recorded; InvalidArgument if it is empty.
  virtual absl::Status RecordCertificate(const CertificateRecord& record) = 0;

  // UseTokenAndRecord consumes token `id` (as UseToken) and records the
  // certificate issued with it (as RecordCertificate) in one atomic step:
  // both happen or neither does, and what returned OK is durable. This is
  // what Sign needs: one durable write per issuance, and a certificate the
  // store does not know can never have consumed a token. AlreadyExists if
  // the token id was already used; Aborted if the serial is already
  // recorded (the token stays unused then); InvalidArgument for an empty
  // serial.
  virtual absl::Status UseTokenAndRecord(absl::string_view id,
                                         absl::Time expires_at,
                                         const CertificateRecord& record) = 0;

  // GetCertificate returns the record of `serial`; NotFound if none.
  virtual absl::StatusOr<CertificateRecord> GetCertificate(
      absl::string_view serial) = 0;

  // Revoke stores a revocation. AlreadyExists if `serial` is already
  // revoked; InvalidArgument if it is empty.
  virtual absl::Status Revoke(const RevocationRecord& record) = 0;

  // GetRevocation returns the revocation of `serial` itself, or nullopt.
  virtual absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      absl::string_view serial) = 0;

  // FindRevokedInLineage walks from `serial` through `renewed_from` links to
  // the first issue and returns the first revocation found on the way (the
  // serial itself included), or nullopt. Cost is O(lineage depth); a cycle
  // (a corrupt store) is DataLoss.
  virtual absl::StatusOr<std::optional<RevocationRecord>> FindRevokedInLineage(
      absl::string_view serial) = 0;

  // ListRevocations returns revocations whose expires_at is after `now`,
  // ordered by revoked_at then serial (what a CRL lists).
  virtual absl::StatusOr<std::vector<RevocationRecord>> ListRevocations(
      absl::Time now) = 0;

  // NextCrlNumber returns a number greater than any it returned before
  // (starting at 1), durably.
  virtual absl::StatusOr<int64_t> NextCrlNumber() = 0;

  // Prune removes used tokens whose expiry is before `now`, and certificate
  // records and revocations whose notAfter is before `now - retention`.
  // Returns the number of rows removed. InvalidArgument for a negative
  // `retention`.
  // WARNING: FindRevokedInLineage walks only through records still held and
  // stops at the first pruned one, so revoking an ancestor that expired more
  // than `retention` ago no longer blocks its descendants. Keep `retention`
  // well above the longest certificate lifetime plus the renewal grace
  // period.
  virtual absl::StatusOr<int64_t> Prune(absl::Time now,
                                        absl::Duration retention) = 0;

  // Counts returns how much the store holds.
  virtual absl::StatusOr<StoreCounts> Counts() = 0;
};

// PruneOptions say how a StorePruner keeps a store's size bounded.
struct PruneOptions {
  // interval between two prunes; the first runs when the pruner starts.
  absl::Duration interval = absl::Minutes(10);
  // retention passed to Store::Prune: certificate records and revocations
  // stay this long after their notAfter. Keep it above the longest
  // lifetime plus the renewal grace period (see Store::Prune).
  absl::Duration retention = absl::Hours(24 * 7);
};

// StorePruner calls store.Prune(clock.Now(), retention) on its own thread
// every `interval`, so a store under steady load stays bounded. A failed
// prune (store unreachable) is retried at the next interval. The store and
// clock must outlive the pruner; destruction stops and joins the thread.
class StorePruner {
 public:
  // Start begins pruning. InvalidArgument if interval <= 0 or retention <
  // 0.
  static absl::StatusOr<std::unique_ptr<StorePruner>> Start(
      Store& store, const Clock& clock, PruneOptions options);

  StorePruner(const StorePruner&) = delete;
  StorePruner& operator=(const StorePruner&) = delete;
  ~StorePruner();

  // PruneNow prunes at once, on the caller's thread, and returns the rows
  // removed.
  absl::StatusOr<int64_t> PruneNow();

  // Stats of the background prunes so far.
  struct Stats {
    int64_t runs = 0;
    int64_t rows_removed = 0;
    int64_t failures = 0;
    absl::Status last_error;  // OK if the latest run succeeded
  };
  Stats stats() const;

 private:
  class Impl;
  explicit StorePruner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// NewMemoryStore returns a store that keeps everything in this process's
// memory: fast, and gone when the process exits.
std::unique_ptr<Store> NewMemoryStore();

// NewSqliteStore opens the SQLite store at `path`, creating the file (not
// its directory) if it does not exist, and migrating an older schema. The
// file is in WAL mode with synchronous=FULL: an operation that returned OK
// survives a crash of the process and a power loss. Concurrent writes are
// committed together (group commit), each caller returning once its own
// operation is committed. Several processes may open one file; writes are
// serialised by SQLite's lock, and a lock held longer than 10 s fails with
// Unavailable.
//
// Errors at open, with the file left untouched: DataLoss if it is not a
// SQLite database or is damaged; FailedPrecondition if it belongs to another
// application (a foreign PRAGMA application_id, or tables of its own), has a
// schema version newer than this mayfly knows, or cannot be opened (missing
// directory, permissions); InvalidArgument for an empty `path`. Later
// operations fail with Unavailable when the disk is busy, full or failing.
absl::StatusOr<std::unique_ptr<Store>> NewSqliteStore(const std::string& path);

// NewPostgresStore connects to PostgreSQL with `conninfo`, a libpq
// connection string ("host=db1 dbname=mayfly user=ca" or
// "postgresql://ca@db1/mayfly"), and creates or migrates mayfly's tables
// (all named mayfly_*) under an advisory lock, so several CA nodes may start
// at once. Every operation is one statement or one transaction on the
// primary, so what returned OK is visible to every node sharing the
// database, and durable as the server's synchronous_commit says. Connections
// are pooled (at most 8) and re-established after the server restarts;
// operations while it is unreachable fail with Unavailable and leave nothing
// half-applied. Without connect_timeout in `conninfo`, connecting gives up
// after 10 s.
//
// Errors at open: Unavailable if the server cannot be reached or refuses
// the login; FailedPrecondition if the schema version in the database is
// newer than this mayfly knows (nothing is changed); Internal for any other
// server error. Error messages never repeat `conninfo`, which may hold a
// password.
absl::StatusOr<std::unique_ptr<Store>> NewPostgresStore(
    const std::string& conninfo);

// NewStore opens the store named by `url`: "memory:", "sqlite:PATH" (see
// NewSqliteStore), or "postgres://..." / "postgresql://..." (a libpq URL,
// see NewPostgresStore). InvalidArgument for an unknown scheme; otherwise
// the backend's own errors. A CA config with no store uses
// DefaultStoreUrl.

absl::StatusOr<std::unique_ptr<Store>> NewStore(absl::string_view url);

// DefaultStoreUrl is the store of a CA whose config names none: the SQLite
// file db/mayfly.db in the CA's folder `ca_dir` (the parent of its config
// folder), or "memory:" when `ca_dir` is empty (a CA built in code).
std::string DefaultStoreUrl(absl::string_view ca_dir);

}  // namespace mayfly

#endif  // MAYFLY_STORE_H_

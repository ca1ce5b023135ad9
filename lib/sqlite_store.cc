// The SQLite store: one database file, the embedded default.
//
// Durability: WAL journal with synchronous=FULL, so a write is on disk (the
// WAL fsynced) before its caller hears OK, and survives power loss, not
// only a crash of this process.
//
// Throughput: an fsync costs milliseconds, so one transaction per operation
// would cap the CA at a few hundred writes a second. Writes are therefore
// queued to one writer thread that applies everything queued in ONE
// transaction (group commit): each operation in its own SAVEPOINT, so one
// operation's AlreadyExists undoes only that operation; then one COMMIT, one
// fsync, and every caller of the batch wakes with its own result. A caller
// returns only after the transaction holding its operation has committed.
// Reads use a small pool of query-only connections; in WAL mode they never
// wait for the writer and always see every committed write.
//
// The file carries PRAGMA application_id kApplicationId and a mayfly_meta
// table with the schema version. Opening checks both before writing
// anything, so a foreign or newer file is refused untouched.

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "internal/store_codec.h"
#include "mayfly/status.h"
#include "mayfly/store.h"

namespace mayfly {
namespace {

using internal::DecodeNames;
using internal::EncodeNames;
using internal::MicrosToTime;
using internal::TimeToMicros;

// kApplicationId marks a mayfly store ("MYFL"); see sqlite.org/fileformat2
// (offset 68 of the header).
constexpr int32_t kApplicationId = 0x4d59464c;

// kMigrations[i] takes the schema from version i to i + 1. Append only: a
// released migration never changes.
constexpr const char* kMigrations[] = {
    // 1: the initial schema. The lineage walk follows serial -> renewed_from
    // through the certificates primary key, one index lookup per step.
    "CREATE TABLE used_tokens ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX used_tokens_by_expiry ON used_tokens (expires_at);"
    "CREATE TABLE certificates ("
    "  serial TEXT PRIMARY KEY NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  names TEXT NOT NULL,"
    "  not_before INTEGER NOT NULL,"
    "  not_after INTEGER NOT NULL,"
    "  provisioner TEXT NOT NULL,"
    "  renewed_from TEXT NOT NULL"
    ");"
    "CREATE INDEX certificates_by_not_after ON certificates (not_after);"
    "CREATE TABLE revocations ("
    "  serial TEXT PRIMARY KEY NOT NULL,"
    "  reason_code INTEGER NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  revoked_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  passive INTEGER NOT NULL,"
    "  mtls INTEGER NOT NULL,"
    "  provisioner TEXT NOT NULL"
    ");"
    "CREATE INDEX revocations_by_time ON revocations (revoked_at, serial);"
    "CREATE INDEX revocations_by_expiry ON revocations (expires_at);"
    "CREATE TABLE crl_number ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  value INTEGER NOT NULL"
    ");"
    "INSERT INTO crl_number (id, value) VALUES (1, 0);",
};
constexpr int kSchemaVersion =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

// kReadConnections bounds the read pool; reads are short, and the machine
// has few cores to run them on.
constexpr int kReadConnections = 4;
// kBusyTimeoutMs is how long a connection waits for another process's lock
// before the operation fails with Unavailable.
constexpr int kBusyTimeoutMs = 10000;

// Statements, prepared once per connection and cached by address.
constexpr char kBegin[] = "BEGIN";
constexpr char kBeginImmediate[] = "BEGIN IMMEDIATE";
constexpr char kCommit[] = "COMMIT";
constexpr char kRollback[] = "ROLLBACK";
constexpr char kSavepoint[] = "SAVEPOINT op";
constexpr char kRelease[] = "RELEASE op";
constexpr char kRollbackTo[] = "ROLLBACK TO op";
constexpr char kInsertToken[] =
    "INSERT INTO used_tokens (id, expires_at) VALUES (?1, ?2)"
    " ON CONFLICT (id) DO NOTHING";
constexpr char kInsertCertificate[] =
    "INSERT INTO certificates (serial, subject, names, not_before, not_after,"
    " provisioner, renewed_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (serial) DO NOTHING";
constexpr char kSelectCertificate[] =
    "SELECT serial, subject, names, not_before, not_after, provisioner,"
    " renewed_from FROM certificates WHERE serial = ?1";
// kWalkLineage returns one row per step of the lineage of ?1, up to ?2
// steps: the serial, its renewed_from (NULL when the store has no record of
// it, '' for a first issue), the step's depth, then the serial's revocation
// columns (NULL when it is not revoked). One statement is one read
// transaction, so the walk sees one snapshot; the caller finds cycles.
constexpr char kWalkLineage[] =
    "WITH RECURSIVE lineage (serial, parent, depth) AS ("
    "  SELECT ?1, (SELECT renewed_from FROM certificates WHERE serial = ?1), 0"
    "  UNION ALL"
    "  SELECT l.parent, c.renewed_from, l.depth + 1"
    "  FROM lineage AS l LEFT JOIN certificates AS c ON c.serial = l.parent"
    "  WHERE l.parent <> '' AND l.depth + 1 < ?2"
    ")"
    " SELECT l.serial, l.parent, l.depth, r.serial, r.reason_code, r.reason,"
    " r.revoked_at, r.expires_at, r.passive, r.mtls, r.provisioner"
    " FROM lineage AS l LEFT JOIN revocations AS r ON r.serial = l.serial";
// kLineageStepsPerQuery bounds the rows of one kWalkLineage: a deeper
// lineage takes several queries, and a cycle (a corrupt store) is found
// after at most this many rows more than its length.
constexpr int64_t kLineageStepsPerQuery = 1000;
constexpr char kInsertRevocation[] =
    "INSERT INTO revocations (serial, reason_code, reason, revoked_at,"
    " expires_at, passive, mtls, provisioner)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (serial) DO NOTHING";
constexpr char kSelectRevocation[] =
    "SELECT serial, reason_code, reason, revoked_at, expires_at, passive,"
    " mtls, provisioner FROM revocations WHERE serial = ?1";
constexpr char kListRevocations[] =
    "SELECT serial, reason_code, reason, revoked_at, expires_at, passive,"
    " mtls, provisioner FROM revocations WHERE expires_at > ?1"
    " ORDER BY revoked_at, serial";
constexpr char kBumpCrlNumber[] =
    "UPDATE crl_number SET value = value + 1 WHERE id = 1";
constexpr char kSelectCrlNumber[] = "SELECT value FROM crl_number WHERE id = 1";
constexpr char kPruneTokens[] = "DELETE FROM used_tokens WHERE expires_at < ?1";
constexpr char kPruneCertificates[] =
    "DELETE FROM certificates WHERE not_after < ?1";
constexpr char kPruneRevocations[] =
    "DELETE FROM revocations WHERE expires_at < ?1";
constexpr char kCountTokens[] = "SELECT count(*) FROM used_tokens";
constexpr char kCountCertificates[] = "SELECT count(*) FROM certificates";
constexpr char kCountRevocations[] = "SELECT count(*) FROM revocations";
constexpr char kSelectApplicationId[] = "PRAGMA application_id";
constexpr char kCountSchemaObjects[] = "SELECT count(*) FROM sqlite_master";
constexpr char kSelectSchemaVersion[] =
    "SELECT value FROM mayfly_meta WHERE key = 'schema_version'";
constexpr char kUpdateSchemaVersion[] =
    "UPDATE mayfly_meta SET value = ?1 WHERE key = 'schema_version'";

// SqliteStatus turns SQLite result `rc` into a status whose code tells the
// caller what to do: busy or I/O trouble may pass (Unavailable), a damaged
// file will not (DataLoss). SQLite's messages name tables and columns,
// never the values bound to a statement.
absl::Status SqliteStatus(int rc, sqlite3* db, absl::string_view what) {
  std::string detail = db != nullptr && sqlite3_errcode(db) == rc
                           ? sqlite3_errmsg(db)
                           : sqlite3_errstr(rc);
  std::string message = absl::StrCat("sqlite store: ", what, ": ", detail);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
    case SQLITE_INTERRUPT:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return absl::DataLossError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return absl::FailedPreconditionError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

// Stmt is a borrowed prepared statement; it is reset and its bindings
// cleared when the Stmt goes away, ready for the next use.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void Bind(int index, absl::string_view text) {
    // A NULL pointer would bind SQL NULL; "" binds the empty string.
    const char* data = text.empty() ? "" : text.data();
    Check(sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8));
  }
  void Bind(int index, int64_t value) {
    Check(sqlite3_bind_int64(stmt_, index, value));
  }

  // Step runs the statement to its next row: true for a row, false when
  // done.
  absl::StatusOr<bool> Step(absl::string_view what) {
    if (bind_rc_ != SQLITE_OK) {
      return SqliteStatus(bind_rc_, db_, what);
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return SqliteStatus(rc, db_, what);
  }

  // Run steps a statement that returns no rows.
  absl::Status Run(absl::string_view what) {
    MAYFLY_ASSIGN_OR_RETURN(bool row, Step(what));
    (void)row;
    return absl::OkStatus();
  }

  int64_t Int64(int column) { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  std::string Text(int column) {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    if (text == nullptr || size <= 0) {
      return std::string();
    }
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(size));
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
      bind_rc_ = rc;
    }
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// Conn is one SQLite connection and its prepared statements. Not
// thread-safe: one thread uses it at a time.
class Conn {
 public:
  // Open opens `path` with `flags` and sets the busy timeout.
  static absl::StatusOr<std::unique_ptr<Conn>> Open(const std::string& path,
                                                    int flags) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    auto conn = std::unique_ptr<Conn>(new Conn(db));
    if (rc != SQLITE_OK) {
      return SqliteStatus(rc, db, absl::StrCat("cannot open ", path));
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    return conn;
  }

  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    for (auto& entry : cache_) {
      sqlite3_finalize(entry.second);
    }
    sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  // Prepare returns the statement for `sql`, a string constant: the cache
  // is keyed by its address.
  absl::StatusOr<Stmt> Prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      return Stmt(db_, it->second);
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteStatus(rc, db_, "cannot prepare statement");
    }
    cache_.emplace(sql, stmt);
    return Stmt(db_, stmt);
  }

  // Run prepares and runs a statement that returns no rows.
  absl::Status Run(const char* sql, absl::string_view what) {
    MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, Prepare(sql));
    return stmt.Run(what);
  }

  // Exec runs `sql`, which may hold several statements, uncached.
  absl::Status Exec(const char* sql, absl::string_view what) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteStatus(rc, db_, what);
    }
    return absl::OkStatus();
  }

  // QueryInt64 returns the first column of the first row of `sql`, or
  // nullopt when it returns no row.
  absl::StatusOr<std::optional<int64_t>> QueryInt64(const char* sql,
                                                    absl::string_view what) {
    MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, Prepare(sql));
    MAYFLY_ASSIGN_OR_RETURN(bool row, stmt.Step(what));
    if (!row) {
      return std::nullopt;
    }
    return stmt.Int64(0);
  }

  // InTransaction reports whether a transaction is open (SQLite rolls one
  // back by itself after some errors, such as a full disk).
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // RollbackQuietly ends an open transaction, keeping the first error.
  void RollbackQuietly() {
    if (InTransaction()) {
      (void)Run(kRollback, "rollback");
    }
  }

 private:
  explicit Conn(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> cache_;
};

absl::StatusOr<CertificateRecord> ReadCertificate(Stmt& stmt) {
  CertificateRecord record;
  record.serial = stmt.Text(0);
  record.subject = stmt.Text(1);
  MAYFLY_ASSIGN_OR_RETURN(record.names, DecodeNames(stmt.Text(2)));
  record.not_before = MicrosToTime(stmt.Int64(3));
  record.not_after = MicrosToTime(stmt.Int64(4));
  record.provisioner = stmt.Text(5);
  record.renewed_from = stmt.Text(6);
  return record;
}

// ReadRevocation reads a revocation's eight columns, starting at `first`.
RevocationRecord ReadRevocation(Stmt& stmt, int first = 0) {
  RevocationRecord record;
  record.serial = stmt.Text(first);
  record.reason_code = static_cast<int>(stmt.Int64(first + 1));
  record.reason = stmt.Text(first + 2);
  record.revoked_at = MicrosToTime(stmt.Int64(first + 3));
  record.expires_at = MicrosToTime(stmt.Int64(first + 4));
  record.passive = stmt.Int64(first + 5) != 0;
  record.mtls = stmt.Int64(first + 6) != 0;
  record.provisioner = stmt.Text(first + 7);
  return record;
}

absl::StatusOr<std::optional<RevocationRecord>> SelectRevocation(
    Conn& conn, absl::string_view serial) {
  MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, conn.Prepare(kSelectRevocation));
  stmt.Bind(1, serial);
  MAYFLY_ASSIGN_OR_RETURN(bool row, stmt.Step("read revocation"));
  if (!row) {
    return std::nullopt;
  }
  return ReadRevocation(stmt);
}

// ReadOnlyUri returns a URI that opens `path` immutable: SQLite then takes
// no locks and creates no -wal or -shm file beside a foreign database. It
// also ignores a WAL, so what it reads may be stale; every decision taken
// on it is checked again under the write lock (Initialize, Migrate).
std::string ReadOnlyUri(const std::string& path) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) || c == '/' || c == '.' || c == '_' ||
        c == '-' || c == '~') {
      uri.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&uri, "%%%02X", c);
    }
  }
  return uri + "?mode=ro&immutable=1";
}

// Inspect looks at an existing file without writing anything, not even
// beside it, and returns its schema version: 0 for a file to initialise
// (absent, empty, or an empty SQLite database), else the version its
// mayfly_meta records.
absl::StatusOr<int> Inspect(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file.is_open()) {
    return 0;  // a missing directory or bad permissions fail at the open
  }
  // The database header (sqlite.org/fileformat2.html, section 1.3): a
  // 16-byte magic string, the application id at offset 68.
  char header[100];
  file.read(header, sizeof(header));
  std::streamsize got = file.gcount();
  if (got == 0) {
    return 0;
  }
  static constexpr char kMagic[] = "SQLite format 3";  // and its NUL
  if (got < static_cast<std::streamsize>(sizeof(header)) ||
      memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(
        absl::StrCat("sqlite store: ", path,
                     " is not a SQLite database (or its header is damaged); "
                     "refusing to touch it"));
  }
  const auto* id_bytes = reinterpret_cast<const unsigned char*>(header + 68);
  const uint32_t app_id = (uint32_t{id_bytes[0]} << 24) |
                          (uint32_t{id_bytes[1]} << 16) |
                          (uint32_t{id_bytes[2]} << 8) | uint32_t{id_bytes[3]};
  if (app_id != 0 && app_id != static_cast<uint32_t>(kApplicationId)) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "sqlite store: %s is a SQLite database of another application "
        "(application_id 0x%08x, mayfly is 0x%08x); refusing to touch it",
        path, app_id, static_cast<uint32_t>(kApplicationId)));
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::unique_ptr<Conn> conn,
      Conn::Open(ReadOnlyUri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI));
  std::string where = absl::StrCat("cannot read ", path);
  if (app_id == 0) {
    MAYFLY_ASSIGN_OR_RETURN(std::optional<int64_t> objects,
                            conn->QueryInt64(kCountSchemaObjects, where));
    if (objects.value_or(0) == 0) {
      return 0;
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "sqlite store: ", path,
        " is a SQLite database of another application (it has tables but no "
        "mayfly application_id); refusing to touch it"));
  }
  absl::StatusOr<std::optional<int64_t>> version =
      conn->QueryInt64(kSelectSchemaVersion, where);
  if (!version.ok() || !version->has_value() || **version < 0) {
    return absl::DataLossError(absl::StrCat(
        "sqlite store: ", path,
        " is a mayfly store without a readable schema version",
        version.ok() ? ""
                     : absl::StrCat(" (", version.status().message(), ")")));
  }
  if (**version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("sqlite store: ", path, " has schema version ", **version,
                     ", newer than this mayfly supports (", kSchemaVersion,
                     "); upgrade mayfly"));
  }
  return static_cast<int>(**version);
}

// Initialize makes an empty database a mayfly store at version 0. Another
// process may be doing the same: the IMMEDIATE transaction serialises us,
// and the checks are repeated inside it.
absl::Status Initialize(Conn& conn, const std::string& path) {
  MAYFLY_RETURN_IF_ERROR(conn.Run(kBeginImmediate, "begin initialisation"));
  absl::Status status = [&]() -> absl::Status {
    MAYFLY_ASSIGN_OR_RETURN(
        std::optional<int64_t> app_id,
        conn.QueryInt64(kSelectApplicationId, "initialise"));
    if (app_id.value_or(0) == kApplicationId) {
      return absl::OkStatus();  // another process won the race
    }
    MAYFLY_ASSIGN_OR_RETURN(std::optional<int64_t> objects,
                            conn.QueryInt64(kCountSchemaObjects, "initialise"));
    if (app_id.value_or(0) != 0 || objects.value_or(0) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("sqlite store: ", path,
                       " became another application's database while opening"));
    }
    std::string sql = absl::StrCat(
        "PRAGMA application_id = ", kApplicationId,
        ";"
        "CREATE TABLE mayfly_meta (key TEXT PRIMARY KEY NOT NULL, value "
        "INTEGER NOT NULL);"
        "INSERT INTO mayfly_meta (key, value) VALUES ('schema_version', 0);");
    return conn.Exec(sql.c_str(), "initialise");
  }();
  if (!status.ok()) {
    conn.RollbackQuietly();
    return status;
  }
  return conn.Run(kCommit, "commit initialisation");
}

// Migrate brings the schema to kSchemaVersion, one transaction per step.
absl::Status Migrate(Conn& conn, const std::string& path) {
  for (;;) {
    MAYFLY_RETURN_IF_ERROR(conn.Run(kBeginImmediate, "begin migration"));
    absl::StatusOr<bool> more = [&]() -> absl::StatusOr<bool> {
      MAYFLY_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                              conn.QueryInt64(kSelectSchemaVersion, "migrate"));
      if (!version.has_value() || *version < 0) {
        return absl::DataLossError(
            absl::StrCat("sqlite store: ", path, " lost its schema version"));
      }
      if (*version > kSchemaVersion) {
        return absl::FailedPreconditionError(absl::StrCat(
            "sqlite store: ", path, " has schema version ", *version,
            ", newer than this mayfly supports (", kSchemaVersion, ")"));
      }
      if (*version == kSchemaVersion) {
        return false;
      }
      MAYFLY_RETURN_IF_ERROR(
          conn.Exec(kMigrations[*version],
                    absl::StrCat("migrate to schema version ", *version + 1)));
      MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, conn.Prepare(kUpdateSchemaVersion));
      stmt.Bind(1, *version + 1);
      MAYFLY_RETURN_IF_ERROR(stmt.Run("record schema version"));
      return true;
    }();
    if (!more.ok()) {
      conn.RollbackQuietly();
      return more.status();
    }
    MAYFLY_RETURN_IF_ERROR(conn.Run(kCommit, "commit migration"));
    if (!*more) {
      return absl::OkStatus();
    }
  }
}

// BindCertificate binds kInsertCertificate's parameters; `names` is
// EncodeNames(record.names).
void BindCertificate(Stmt& stmt, const CertificateRecord& record,
                     const std::string& names) {
  stmt.Bind(1, record.serial);
  stmt.Bind(2, record.subject);
  stmt.Bind(3, names);
  stmt.Bind(4, TimeToMicros(record.not_before));
  stmt.Bind(5, TimeToMicros(record.not_after));
  stmt.Bind(6, record.provisioner);
  stmt.Bind(7, record.renewed_from);
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<Conn> writer)
      : path_(std::move(path)), writer_conn_(std::move(writer)) {
    writer_thread_ = std::thread([this] { WriterLoop(); });
  }

  ~SqliteStore() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    writer_thread_.join();
  }

  absl::Status UseToken(absl::string_view id, absl::Time expires_at) override {
    return Write([&](Conn& conn) -> absl::StatusOr<int64_t> {
             MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, conn.Prepare(kInsertToken));
             stmt.Bind(1, id);
             stmt.Bind(2, TimeToMicros(expires_at));
             MAYFLY_RETURN_IF_ERROR(stmt.Run("record used token"));
             if (sqlite3_changes(conn.db()) == 0) {
               return absl::AlreadyExistsError("token id already used");
             }
             return 1;
           })
        .status();
  }

  absl::Status RecordCertificate(const CertificateRecord& record) override {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("certificate record has no serial");
    }
    std::string names = EncodeNames(record.names);
    return Write([&](Conn& conn) -> absl::StatusOr<int64_t> {
             MAYFLY_ASSIGN_OR_RETURN(Stmt stmt,
                                     conn.Prepare(kInsertCertificate));
             BindCertificate(stmt, record, names);
             MAYFLY_RETURN_IF_ERROR(stmt.Run("record certificate"));
             if (sqlite3_changes(conn.db()) == 0) {
               return absl::AlreadyExistsError(absl::StrCat(
                   "certificate serial ", record.serial, " already recorded"));
             }
             return 1;
           })
        .status();
  }

  absl::Status UseTokenAndRecord(absl::string_view id, absl::Time expires_at,
                                 const CertificateRecord& record) override {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("certificate record has no serial");
    }
    std::string names = EncodeNames(record.names);
    // Both inserts run in the operation's own savepoint: an error in the
    // second undoes the first.
    return Write([&](Conn& conn) -> absl::StatusOr<int64_t> {
             MAYFLY_ASSIGN_OR_RETURN(Stmt token, conn.Prepare(kInsertToken));
             token.Bind(1, id);
             token.Bind(2, TimeToMicros(expires_at));
             MAYFLY_RETURN_IF_ERROR(token.Run("record used token"));
             if (sqlite3_changes(conn.db()) == 0) {
               return absl::AlreadyExistsError("token id already used");
             }
             MAYFLY_ASSIGN_OR_RETURN(Stmt cert,
                                     conn.Prepare(kInsertCertificate));
             BindCertificate(cert, record, names);
             MAYFLY_RETURN_IF_ERROR(cert.Run("record certificate"));
             if (sqlite3_changes(conn.db()) == 0) {
               return absl::AbortedError(absl::StrCat(
                   "certificate serial ", record.serial, " already recorded"));
             }
             return 2;
           })
        .status();
  }

  absl::StatusOr<CertificateRecord> GetCertificate(
      absl::string_view serial) override {
    MAYFLY_ASSIGN_OR_RETURN(Reader reader, AcquireReader());
    MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, reader->Prepare(kSelectCertificate));
    stmt.Bind(1, serial);
    MAYFLY_ASSIGN_OR_RETURN(bool row, stmt.Step("read certificate"));
    if (!row) {
      return absl::NotFoundError(
          absl::StrCat("no certificate with serial ", serial));
    }
    return ReadCertificate(stmt);
  }

  absl::Status Revoke(const RevocationRecord& record) override {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("revocation record has no serial");
    }
    return Write([&](Conn& conn) -> absl::StatusOr<int64_t> {
             MAYFLY_ASSIGN_OR_RETURN(Stmt stmt,
                                     conn.Prepare(kInsertRevocation));
             stmt.Bind(1, record.serial);
             stmt.Bind(2, static_cast<int64_t>(record.reason_code));
             stmt.Bind(3, record.reason);
             stmt.Bind(4, TimeToMicros(record.revoked_at));
             stmt.Bind(5, TimeToMicros(record.expires_at));
             stmt.Bind(6, static_cast<int64_t>(record.passive ? 1 : 0));
             stmt.Bind(7, static_cast<int64_t>(record.mtls ? 1 : 0));
             stmt.Bind(8, record.provisioner);
             MAYFLY_RETURN_IF_ERROR(stmt.Run("record revocation"));
             if (sqlite3_changes(conn.db()) == 0) {
               return absl::AlreadyExistsError(absl::StrCat(
                   "certificate serial ", record.serial, " already revoked"));
             }
             return 1;
           })
        .status();
  }

  absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      absl::string_view serial) override {
    MAYFLY_ASSIGN_OR_RETURN(Reader reader, AcquireReader());
    return SelectRevocation(*reader, serial);
  }

  absl::StatusOr<std::optional<RevocationRecord>> FindRevokedInLineage(
      absl::string_view serial) override {
    MAYFLY_ASSIGN_OR_RETURN(Reader reader, AcquireReader());
    return WalkLineage(*reader, serial);
  }

  absl::StatusOr<std::vector<RevocationRecord>> ListRevocations(
      absl::Time now) override {
    MAYFLY_ASSIGN_OR_RETURN(Reader reader, AcquireReader());
    MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, reader->Prepare(kListRevocations));
    stmt.Bind(1, TimeToMicros(now));
    std::vector<RevocationRecord> out;
    for (;;) {
      MAYFLY_ASSIGN_OR_RETURN(bool row, stmt.Step("list revocations"));
      if (!row) {
        return out;
      }
      out.push_back(ReadRevocation(stmt));
    }
  }

  absl::StatusOr<int64_t> NextCrlNumber() override {
    return Write([](Conn& conn) -> absl::StatusOr<int64_t> {
      MAYFLY_RETURN_IF_ERROR(conn.Run(kBumpCrlNumber, "advance crl number"));
      MAYFLY_ASSIGN_OR_RETURN(std::optional<int64_t> number,
                              conn.QueryInt64(kSelectCrlNumber, "crl number"));
      if (!number.has_value()) {
        return absl::DataLossError("sqlite store: crl_number row is missing");
      }
      return *number;
    });
  }

  absl::StatusOr<int64_t> Prune(absl::Time now,
                                absl::Duration retention) override {
    if (retention < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("prune retention is negative");
    }
    int64_t token_cutoff = TimeToMicros(now);
    int64_t record_cutoff = TimeToMicros(now - retention);
    return Write([&](Conn& conn) -> absl::StatusOr<int64_t> {
      int64_t removed = 0;
      const std::pair<const char*, int64_t> deletes[] = {
          {kPruneTokens, token_cutoff},
          {kPruneCertificates, record_cutoff},
          {kPruneRevocations, record_cutoff},
      };
      for (const auto& del : deletes) {
        MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, conn.Prepare(del.first));
        stmt.Bind(1, del.second);
        MAYFLY_RETURN_IF_ERROR(stmt.Run("prune"));
        removed += sqlite3_changes(conn.db());
      }
      return removed;
    });
  }

  absl::StatusOr<StoreCounts> Counts() override {
    MAYFLY_ASSIGN_OR_RETURN(Reader reader, AcquireReader());
    MAYFLY_RETURN_IF_ERROR(reader->Run(kBegin, "begin counts"));
    absl::StatusOr<StoreCounts> counts = [&]() -> absl::StatusOr<StoreCounts> {
      StoreCounts out;
      const std::pair<const char*, int64_t*> queries[] = {
          {kCountTokens, &out.used_tokens},
          {kCountCertificates, &out.certificates},
          {kCountRevocations, &out.revocations},
      };
      for (const auto& query : queries) {
        MAYFLY_ASSIGN_OR_RETURN(std::optional<int64_t> n,
                                reader->QueryInt64(query.first, "count"));
        *query.second = n.value_or(0);
      }
      return out;
    }();
    reader->RollbackQuietly();
    return counts;
  }

 private:
  // WriteOp is one caller's operation waiting for the writer thread. It
  // lives on the caller's stack; the caller waits until `done`.
  struct WriteOp {
    explicit WriteOp(absl::FunctionRef<absl::StatusOr<int64_t>(Conn&)> fn)
        : apply(fn) {}
    absl::FunctionRef<absl::StatusOr<int64_t>(Conn&)> apply;
    absl::StatusOr<int64_t> result = int64_t{0};
    bool done = false;
  };

  // Reader lends a read connection and gives it back to the pool.
  class Reader {
   public:
    Reader(SqliteStore* store, std::unique_ptr<Conn> conn)
        : store_(store), conn_(std::move(conn)) {}
    Reader(Reader&&) = default;
    Reader& operator=(Reader&&) = delete;
    ~Reader() {
      if (conn_ != nullptr) {
        store_->ReleaseReader(std::move(conn_));
      }
    }
    Conn* operator->() const { return conn_.get(); }
    Conn& operator*() const { return *conn_; }

   private:
    SqliteStore* store_;
    std::unique_ptr<Conn> conn_;
  };

  // Write queues `fn` for the writer thread and waits until the
  // transaction holding it has committed (or failed).
  absl::StatusOr<int64_t> Write(
      absl::FunctionRef<absl::StatusOr<int64_t>(Conn&)> fn)
      ABSL_LOCKS_EXCLUDED(mu_) {
    WriteOp op(fn);
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::FailedPreconditionError("sqlite store is closing");
    }
    queue_.push_back(&op);
    mu_.Await(absl::Condition(&op.done));
    return std::move(op.result);
  }

  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }

  // WriterLoop takes everything queued, applies it as one transaction,
  // and wakes the callers; it drains the queue before stopping.
  void WriterLoop() ABSL_LOCKS_EXCLUDED(mu_) {
    for (;;) {
      std::vector<WriteOp*> batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &SqliteStore::HasWorkOrStopping));
        if (queue_.empty()) {
          return;  // stopping, and nothing left to do
        }
        batch.swap(queue_);
      }
      ApplyBatch(batch);
      absl::MutexLock lock(&mu_);
      for (WriteOp* op : batch) {
        op->done = true;
      }
    }
  }

  // ApplyBatch runs on the writer thread only; it alone uses writer_conn_.
  void ApplyBatch(const std::vector<WriteOp*>& batch) {
    Conn& conn = *writer_conn_;
    absl::Status batch_status = conn.Run(kBeginImmediate, "begin write");
    for (WriteOp* op : batch) {
      if (!batch_status.ok()) {
        break;
      }
      batch_status = conn.Run(kSavepoint, "savepoint");
      if (!batch_status.ok()) {
        break;
      }
      op->result = op->apply(conn);
      if (op->result.ok()) {
        batch_status = conn.Run(kRelease, "release savepoint");
      } else if (!conn.InTransaction()) {
        // SQLite rolled the whole transaction back (a full disk, an I/O
        // error): every operation of the batch is lost.
        batch_status = op->result.status();
      } else {
        batch_status = conn.Run(kRollbackTo, "roll back savepoint");
        if (batch_status.ok()) {
          batch_status = conn.Run(kRelease, "release savepoint");
        }
      }
    }
    if (batch_status.ok()) {
      batch_status = conn.Run(kCommit, "commit");
    }
    if (!batch_status.ok()) {
      // Nothing of this batch committed, so no caller may hear OK, and no
      // result may depend on an operation that did not happen.
      conn.RollbackQuietly();
      for (WriteOp* op : batch) {
        op->result = batch_status;
      }
    }
  }

  absl::StatusOr<Reader> AcquireReader() ABSL_LOCKS_EXCLUDED(reader_mu_) {
    {
      absl::MutexLock lock(&reader_mu_);
      reader_mu_.Await(absl::Condition(this, &SqliteStore::ReaderAvailable));
      if (!idle_readers_.empty()) {
        std::unique_ptr<Conn> conn = std::move(idle_readers_.back());
        idle_readers_.pop_back();
        return Reader(this, std::move(conn));
      }
      ++open_readers_;
    }
    absl::StatusOr<std::unique_ptr<Conn>> conn = OpenReader();
    if (!conn.ok()) {
      absl::MutexLock lock(&reader_mu_);
      --open_readers_;
      return conn.status();
    }
    return Reader(this, *std::move(conn));
  }

  absl::StatusOr<std::unique_ptr<Conn>> OpenReader() {
    MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn,
                            Conn::Open(path_, SQLITE_OPEN_READWRITE));
    MAYFLY_RETURN_IF_ERROR(
        conn->Exec("PRAGMA query_only = ON", "configure reader"));
    return conn;
  }

  void ReleaseReader(std::unique_ptr<Conn> conn)
      ABSL_LOCKS_EXCLUDED(reader_mu_) {
    absl::MutexLock lock(&reader_mu_);
    idle_readers_.push_back(std::move(conn));
  }

  bool ReaderAvailable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(reader_mu_) {
    return !idle_readers_.empty() || open_readers_ < kReadConnections;
  }

  // WalkLineage follows `serial` through renewed_from links, up to
  // kLineageStepsPerQuery steps per query, and returns the revocation
  // nearest to `serial` (itself included). A lineage of up to that many
  // steps, the usual case, is one query.
  static absl::StatusOr<std::optional<RevocationRecord>> WalkLineage(
      Conn& conn, absl::string_view serial) {
    std::set<std::string> seen;
    std::string start(serial);
    for (;;) {
      MAYFLY_ASSIGN_OR_RETURN(Stmt stmt, conn.Prepare(kWalkLineage));
      stmt.Bind(1, start);
      stmt.Bind(2, kLineageStepsPerQuery);
      std::optional<RevocationRecord> nearest;
      int64_t nearest_depth = 0;
      int64_t last_depth = -1;
      std::string last_parent;
      for (;;) {
        MAYFLY_ASSIGN_OR_RETURN(bool row, stmt.Step("walk lineage"));
        if (!row) {
          break;
        }
        std::string current = stmt.Text(0);
        if (!seen.insert(current).second) {
          return absl::DataLossError(absl::StrCat(
              "certificate lineage of ", serial, " has a cycle at ", current));
        }
        const int64_t depth = stmt.Int64(2);
        if (!stmt.IsNull(3) &&
            (!nearest.has_value() || depth < nearest_depth)) {
          nearest = ReadRevocation(stmt, 3);
          nearest_depth = depth;
        }
        if (depth > last_depth) {
          last_depth = depth;
          last_parent = stmt.Text(1);  // "" for NULL too: the walk ends
        }
      }
      if (nearest.has_value() || last_parent.empty() ||
          last_depth + 1 < kLineageStepsPerQuery) {
        return nearest;
      }
      start = std::move(last_parent);  // deeper than one query: go on
    }
  }

  const std::string path_;

  absl::Mutex mu_;
  std::vector<WriteOp*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Used by the writer thread only.
  std::unique_ptr<Conn> writer_conn_;
  std::thread writer_thread_;

  absl::Mutex reader_mu_;
  std::vector<std::unique_ptr<Conn>> idle_readers_ ABSL_GUARDED_BY(reader_mu_);
  int open_readers_ ABSL_GUARDED_BY(reader_mu_) = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> NewSqliteStore(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("sqlite store: empty path");
  }
  // Look before touching: a foreign, damaged or newer file fails here,
  // before anything (even the WAL switch) is written to it.
  MAYFLY_ASSIGN_OR_RETURN(int version, Inspect(path));
  if (version == 0 && path != ":memory:" && path.rfind("file:", 0) != 0) {
    // A new store is its owner's alone: SQLite would create the file (and
    // its -wal and -shm, which take the file's mode) 0644 less the umask.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
    }  // else sqlite3_open_v2 below reports why it cannot open the path
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::unique_ptr<Conn> writer,
      Conn::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  // WAL: readers never block the writer. synchronous=FULL: the WAL is
  // fsynced at every commit, so an acknowledged write survives power loss.
  {
    MAYFLY_ASSIGN_OR_RETURN(Stmt wal,
                            writer->Prepare("PRAGMA journal_mode = WAL"));
    MAYFLY_ASSIGN_OR_RETURN(bool row, wal.Step("enable WAL"));
    if (!row || wal.Text(0) != "wal") {
      return absl::FailedPreconditionError(absl::StrCat(
          "sqlite store: ", path, " cannot use WAL journal mode (journal mode ",
          row ? wal.Text(0) : "unknown", ")"));
    }
  }  // the statement is reset here, before the writer thread owns `writer`
  MAYFLY_RETURN_IF_ERROR(writer->Exec(
      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configure"));
  if (version == 0) {
    MAYFLY_RETURN_IF_ERROR(Initialize(*writer, path));
  }
  MAYFLY_RETURN_IF_ERROR(Migrate(*writer, path));
  return std::unique_ptr<Store>(new SqliteStore(path, std::move(writer)));
}

}  // namespace mayfly

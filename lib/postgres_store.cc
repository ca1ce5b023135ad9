// The PostgreSQL store: one database shared by several CA nodes.
//
// Every operation is a single statement in its own (implicit) transaction,
// so it is atomic on its own: two nodes cannot both consume one token id
// (INSERT ... ON CONFLICT DO NOTHING, decided by the primary key), a
// revocation is visible to every node as soon as Revoke returns, and an
// operation cut off by a server restart is either wholly applied or not at
// all. Only the caller cannot always tell which: a connection lost while a
// statement ran is Unavailable.
//
// Connections are pooled. A pooled connection that the server closed (a
// restart) is noticed before use and replaced; when a connection breaks
// during an operation, every idle one is dropped too, since they most likely
// went down together.
//
// The schema is created and migrated in one transaction holding an advisory
// lock, so nodes starting together migrate once. Tables are prefixed
// mayfly_ so the database may be shared with other software.

#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "internal/store_codec.h"
#include "mayfly/status.h"
#include "mayfly/store.h"

namespace mayfly {
namespace {

using internal::DecodeNames;
using internal::EncodeNames;
using internal::MicrosToTime;
using internal::TimeToMicros;

// kMaxConnections bounds the pool (and so this node's share of the server's
// max_connections).
constexpr int kMaxConnections = 8;
// kMigrationLockKey is the pg_advisory_xact_lock key held while migrating:
// "mayfly" in ASCII.
constexpr int64_t kMigrationLockKey = 0x6d6179666c79;

// kMigrations[i] takes the schema from version i to i + 1. Append only.
constexpr const char* kMigrations[] = {
    // 1: the initial schema. Instants are microseconds since the epoch;
    // token ids are bytes (a jti may hold any character, even NUL). The
    // lineage walk follows serial -> renewed_from through the certificates
    // primary key, one index lookup per step.
    "CREATE TABLE mayfly_used_tokens ("
    "  id bytea PRIMARY KEY,"
    "  expires_at bigint NOT NULL"
    ");"
    "CREATE INDEX mayfly_used_tokens_by_expiry"
    "  ON mayfly_used_tokens (expires_at);"
    "CREATE TABLE mayfly_certificates ("
    "  serial text PRIMARY KEY,"
    "  subject text NOT NULL,"
    "  names text NOT NULL,"
    "  not_before bigint NOT NULL,"
    "  not_after bigint NOT NULL,"
    "  provisioner text NOT NULL,"
    "  renewed_from text NOT NULL"
    ");"
    "CREATE INDEX mayfly_certificates_by_not_after"
    "  ON mayfly_certificates (not_after);"
    "CREATE TABLE mayfly_revocations ("
    "  serial text PRIMARY KEY,"
    "  reason_code integer NOT NULL,"
    "  reason text NOT NULL,"
    "  revoked_at bigint NOT NULL,"
    "  expires_at bigint NOT NULL,"
    "  passive boolean NOT NULL,"
    "  mtls boolean NOT NULL,"
    "  provisioner text NOT NULL"
    ");"
    "CREATE INDEX mayfly_revocations_by_time"
    "  ON mayfly_revocations (revoked_at, serial COLLATE \"C\");"
    "CREATE INDEX mayfly_revocations_by_expiry"
    "  ON mayfly_revocations (expires_at);"
    "CREATE TABLE mayfly_crl_number ("
    "  id integer PRIMARY KEY CHECK (id = 1),"
    "  value bigint NOT NULL"
    ");"
    "INSERT INTO mayfly_crl_number (id, value) VALUES (1, 0);",
};
constexpr int kSchemaVersion =
    static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

// The statements every connection prepares (in one round trip) before its
// first use; the names are what the store methods execute.
constexpr char kPrepareAll[] =
    "PREPARE mayfly_use_token (bytea, bigint) AS"
    " INSERT INTO mayfly_used_tokens (id, expires_at) VALUES ($1, $2)"
    " ON CONFLICT (id) DO NOTHING;"
    "PREPARE mayfly_record_certificate"
    " (text, text, text, bigint, bigint, text, text) AS"
    " INSERT INTO mayfly_certificates (serial, subject, names, not_before,"
    " not_after, provisioner, renewed_from)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (serial) DO NOTHING;"
    // One statement, so one transaction: the certificate row is written
    // only if the token row was, and a duplicate serial (a unique
    // violation) aborts the statement, token row included.
    "PREPARE mayfly_use_token_and_record"
    " (bytea, bigint, text, text, text, bigint, bigint, text, text) AS"
    " WITH t AS (INSERT INTO mayfly_used_tokens (id, expires_at)"
    "            VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING 1)"
    " INSERT INTO mayfly_certificates (serial, subject, names, not_before,"
    " not_after, provisioner, renewed_from)"
    " SELECT $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM t);"
    "PREPARE mayfly_get_certificate (text) AS"
    " SELECT serial, subject, names, not_before, not_after, provisioner,"
    " renewed_from FROM mayfly_certificates WHERE serial = $1;"
    "PREPARE mayfly_revoke"
    " (text, integer, text, bigint, bigint, boolean, boolean, text) AS"
    " INSERT INTO mayfly_revocations (serial, reason_code, reason,"
    " revoked_at, expires_at, passive, mtls, provisioner)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (serial) DO NOTHING;"
    "PREPARE mayfly_get_revocation (text) AS"
    " SELECT serial, reason_code, reason, revoked_at, expires_at, passive,"
    " mtls, provisioner FROM mayfly_revocations WHERE serial = $1;"
    // The walk stops at the first revoked serial, and marks (then stops at)
    // a serial seen before: a cycle.
    "PREPARE mayfly_lineage (text) AS"
    " WITH RECURSIVE walk (serial, depth, path, looped) AS ("
    "  SELECT $1::text, 0, ARRAY[$1::text], false"
    "  UNION ALL"
    "  SELECT c.renewed_from, w.depth + 1, w.path || c.renewed_from,"
    "   c.renewed_from = ANY (w.path)"
    "  FROM walk w JOIN mayfly_certificates c ON c.serial = w.serial"
    "  WHERE NOT w.looped AND c.renewed_from <> ''"
    "   AND NOT EXISTS (SELECT 1 FROM mayfly_revocations x"
    "                   WHERE x.serial = w.serial))"
    " SELECT r.serial, r.reason_code, r.reason, r.revoked_at, r.expires_at,"
    " r.passive, r.mtls, r.provisioner, w.looped, w.serial"
    " FROM walk w LEFT JOIN mayfly_revocations r ON r.serial = w.serial"
    " ORDER BY w.depth;"
    "PREPARE mayfly_list_revocations (bigint) AS"
    " SELECT serial, reason_code, reason, revoked_at, expires_at, passive,"
    " mtls, provisioner FROM mayfly_revocations WHERE expires_at > $1"
    " ORDER BY revoked_at, serial COLLATE \"C\";"
    "PREPARE mayfly_next_crl_number AS"
    " UPDATE mayfly_crl_number SET value = value + 1 WHERE id = 1"
    " RETURNING value;"
    "PREPARE mayfly_prune (bigint, bigint) AS"
    " WITH t AS (DELETE FROM mayfly_used_tokens WHERE expires_at < $1"
    "            RETURNING 1),"
    "  c AS (DELETE FROM mayfly_certificates WHERE not_after < $2"
    "        RETURNING 1),"
    "  r AS (DELETE FROM mayfly_revocations WHERE expires_at < $2"
    "        RETURNING 1)"
    " SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM c)"
    "  + (SELECT count(*) FROM r);"
    "PREPARE mayfly_counts AS"
    " SELECT (SELECT count(*) FROM mayfly_used_tokens),"
    " (SELECT count(*) FROM mayfly_certificates),"
    " (SELECT count(*) FROM mayfly_revocations);";

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// FirstLine returns libpq's message up to its first newline: the rest is
// hints for a human at a terminal.
std::string FirstLine(const char* message) {
  absl::string_view text = message != nullptr ? message : "";
  text = text.substr(0, text.find('\n'));
  return std::string(absl::StripTrailingAsciiWhitespace(text));
}

// ResultStatus turns a failed statement into a status whose code tells the
// caller what to do. Messages carry the SQLSTATE and, except for data
// errors (which may quote a value), the server's primary message.
absl::Status ResultStatus(PGconn* conn, const PGresult* result,
                          absl::string_view what) {
  ExecStatusType status =
      result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return absl::OkStatus();
  }
  const char* sqlstate_field =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE)
                        : nullptr;
  if (sqlstate_field == nullptr || PQstatus(conn) == CONNECTION_BAD) {
    return absl::UnavailableError(
        absl::StrCat("postgres store: ", what,
                     ": connection lost: ", FirstLine(PQerrorMessage(conn))));
  }
  absl::string_view sqlstate = sqlstate_field;
  absl::string_view cls = sqlstate.substr(0, 2);
  std::string primary =
      FirstLine(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  if (cls == "22") {
    return absl::InvalidArgumentError(absl::StrCat(
        "postgres store: ", what, ": value refused (sqlstate ", sqlstate, ")"));
  }
  std::string message = absl::StrCat("postgres store: ", what, ": ", primary,
                                     " (sqlstate ", sqlstate, ")");
  if (sqlstate == "23505") {
    return absl::AlreadyExistsError(message);
  }
  // Connection trouble, shutdown, lack of resources, conflicts between
  // transactions, cancellation: retrying the call may succeed.
  if (cls == "08" || cls == "53" || cls == "57" || cls == "40" ||
      sqlstate == "55P03" || sqlstate == "25006") {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// Exec runs a statement (or, without parameters, several) and returns its
// result, or the error.
absl::StatusOr<ResultPtr> Exec(PGconn* conn, const char* sql,
                               absl::string_view what) {
  ResultPtr result(PQexec(conn, sql));
  MAYFLY_RETURN_IF_ERROR(ResultStatus(conn, result.get(), what));
  return result;
}

// ExecPrepared runs prepared statement `name`. Parameters are sent as text,
// except the first when `first_binary` (a bytea sent as raw bytes).
absl::StatusOr<ResultPtr> ExecPrepared(PGconn* conn, const char* name,
                                       absl::Span<const std::string> params,
                                       bool first_binary,
                                       absl::string_view what) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  values.reserve(params.size());
  lengths.reserve(params.size());
  formats.reserve(params.size());
  for (const std::string& p : params) {
    values.push_back(p.c_str());
    lengths.push_back(static_cast<int>(p.size()));
    formats.push_back(formats.empty() && first_binary ? 1 : 0);
  }
  ResultPtr result(PQexecPrepared(conn, name, static_cast<int>(params.size()),
                                  values.data(), lengths.data(), formats.data(),
                                  0));
  MAYFLY_RETURN_IF_ERROR(ResultStatus(conn, result.get(), what));
  return result;
}

// Text results: helpers that read one field.
std::string Field(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col),
                     static_cast<size_t>(PQgetlength(r, row, col)));
}

absl::StatusOr<int64_t> Int64Field(const PGresult* r, int row, int col) {
  int64_t value = 0;
  if (PQgetisnull(r, row, col) ||
      !absl::SimpleAtoi(PQgetvalue(r, row, col), &value)) {
    return absl::DataLossError(absl::StrCat(
        "postgres store: column ", PQfname(r, col), " holds no integer"));
  }
  return value;
}

bool BoolField(const PGresult* r, int row, int col) {
  return absl::string_view(PQgetvalue(r, row, col)) == "t";
}

// ReadRevocation reads the revocation in columns 0..7 of `row`.
absl::StatusOr<RevocationRecord> ReadRevocation(const PGresult* r, int row) {
  RevocationRecord record;
  record.serial = Field(r, row, 0);
  MAYFLY_ASSIGN_OR_RETURN(int64_t reason_code, Int64Field(r, row, 1));
  record.reason_code = static_cast<int>(reason_code);
  record.reason = Field(r, row, 2);
  MAYFLY_ASSIGN_OR_RETURN(int64_t revoked_at, Int64Field(r, row, 3));
  record.revoked_at = MicrosToTime(revoked_at);
  MAYFLY_ASSIGN_OR_RETURN(int64_t expires_at, Int64Field(r, row, 4));
  record.expires_at = MicrosToTime(expires_at);
  record.passive = BoolField(r, row, 5);
  record.mtls = BoolField(r, row, 6);
  record.provisioner = Field(r, row, 7);
  return record;
}

// Connect opens one connection and prepares the statements, or fails with
// Unavailable (or the preparing statement's error).
absl::StatusOr<ConnPtr> Connect(const std::string& conninfo, bool prepare) {
  // Later keywords win, and `dbname` expands to the caller's whole
  // conninfo: our defaults come first so the caller can override them.
  // TCP keepalives notice a server that vanished without closing the
  // connection (a failover) within about a minute, not hours.
  const char* const keywords[] = {"connect_timeout",
                                  "application_name",
                                  "client_encoding",
                                  "keepalives_idle",
                                  "keepalives_interval",
                                  "keepalives_count",
                                  "dbname",
                                  nullptr};
  const char* const values[] = {"10", "mayfly", "UTF8",           "30",
                                "10", "3",      conninfo.c_str(), nullptr};
  ConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (conn == nullptr) {
    return absl::ResourceExhaustedError(
        "postgres store: out of memory for a connection");
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("postgres store: cannot connect: ",
                     FirstLine(PQerrorMessage(conn.get()))));
  }
  // Notices ("relation already exists, skipping") are not errors; libpq
  // would print them on stderr.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  if (prepare) {
    MAYFLY_RETURN_IF_ERROR(
        Exec(conn.get(), kPrepareAll, "prepare statements").status());
  }
  return conn;
}

// Migrate creates or upgrades the schema in one transaction under the
// advisory lock. A newer schema is refused, and the transaction rolled
// back, so nothing changes.
absl::Status Migrate(PGconn* conn) {
  MAYFLY_RETURN_IF_ERROR(Exec(conn, "BEGIN", "begin migration").status());
  absl::Status status = [&]() -> absl::Status {
    std::string lock =
        absl::StrCat("SELECT pg_advisory_xact_lock(", kMigrationLockKey, ")");
    MAYFLY_RETURN_IF_ERROR(
        Exec(conn, lock.c_str(), "take migration lock").status());
    MAYFLY_RETURN_IF_ERROR(
        Exec(conn,
             "CREATE TABLE IF NOT EXISTS mayfly_meta ("
             " key text PRIMARY KEY, value bigint NOT NULL);"
             "INSERT INTO mayfly_meta (key, value)"
             " VALUES ('schema_version', 0) ON CONFLICT (key) DO NOTHING",
             "create mayfly_meta")
            .status());
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr result,
        Exec(conn, "SELECT value FROM mayfly_meta WHERE key = 'schema_version'",
             "read schema version"));
    if (PQntuples(result.get()) != 1) {
      return absl::DataLossError(
          "postgres store: mayfly_meta has no schema_version");
    }
    MAYFLY_ASSIGN_OR_RETURN(int64_t version, Int64Field(result.get(), 0, 0));
    if (version < 0) {
      return absl::DataLossError(
          absl::StrCat("postgres store: invalid schema version ", version));
    }
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("postgres store: database schema version ", version,
                       " is newer than this mayfly supports (", kSchemaVersion,
                       "); upgrade mayfly"));
    }
    if (version == kSchemaVersion) {
      return absl::OkStatus();
    }
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      MAYFLY_RETURN_IF_ERROR(
          Exec(conn, kMigrations[v],
               absl::StrCat("migrate to schema version ", v + 1))
              .status());
    }
    std::string update =
        absl::StrCat("UPDATE mayfly_meta SET value = ", kSchemaVersion,
                     " WHERE key = 'schema_version'");
    return Exec(conn, update.c_str(), "record schema version").status();
  }();
  if (!status.ok()) {
    if (PQstatus(conn) == CONNECTION_OK) {
      (void)Exec(conn, "ROLLBACK", "roll back migration");
    }
    return status;
  }
  return Exec(conn, "COMMIT", "commit migration").status();
}

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string conninfo, ConnPtr first)
      : conninfo_(std::move(conninfo)) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }

  absl::Status UseToken(absl::string_view id, absl::Time expires_at) override {
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr r,
        Run("mayfly_use_token",
            {std::string(id), absl::StrCat(TimeToMicros(expires_at))},
            "record used token", /*first_binary=*/true));
    if (absl::string_view(PQcmdTuples(r.get())) == "0") {
      return absl::AlreadyExistsError("token id already used");
    }
    return absl::OkStatus();
  }

  absl::Status RecordCertificate(const CertificateRecord& record) override {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("certificate record has no serial");
    }
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr r,
        Run("mayfly_record_certificate",
            {record.serial, record.subject, EncodeNames(record.names),
             absl::StrCat(TimeToMicros(record.not_before)),
             absl::StrCat(TimeToMicros(record.not_after)), record.provisioner,
             record.renewed_from},
            "record certificate"));
    if (absl::string_view(PQcmdTuples(r.get())) == "0") {
      return absl::AlreadyExistsError(absl::StrCat(
          "certificate serial ", record.serial, " already recorded"));
    }
    return absl::OkStatus();
  }

  absl::Status UseTokenAndRecord(absl::string_view id, absl::Time expires_at,
                                 const CertificateRecord& record) override {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("certificate record has no serial");
    }
    absl::StatusOr<ResultPtr> r =
        Run("mayfly_use_token_and_record",
            {std::string(id), absl::StrCat(TimeToMicros(expires_at)),
             record.serial, record.subject, EncodeNames(record.names),
             absl::StrCat(TimeToMicros(record.not_before)),
             absl::StrCat(TimeToMicros(record.not_after)), record.provisioner,
             record.renewed_from},
            "use token and record certificate", /*first_binary=*/true);
    if (absl::IsAlreadyExists(r.status())) {
      // Only the certificates insert can raise a unique violation.
      return absl::AbortedError(absl::StrCat(
          "certificate serial ", record.serial, " already recorded"));
    }
    MAYFLY_RETURN_IF_ERROR(r.status());
    if (absl::string_view(PQcmdTuples(r->get())) == "0") {
      return absl::AlreadyExistsError("token id already used");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<CertificateRecord> GetCertificate(
      absl::string_view serial) override {
    MAYFLY_ASSIGN_OR_RETURN(ResultPtr r,
                            Run("mayfly_get_certificate", {std::string(serial)},
                                "read certificate"));
    if (PQntuples(r.get()) == 0) {
      return absl::NotFoundError(
          absl::StrCat("no certificate with serial ", serial));
    }
    const PGresult* res = r.get();
    CertificateRecord record;
    record.serial = Field(res, 0, 0);
    record.subject = Field(res, 0, 1);
    MAYFLY_ASSIGN_OR_RETURN(record.names, DecodeNames(Field(res, 0, 2)));
    MAYFLY_ASSIGN_OR_RETURN(int64_t not_before, Int64Field(res, 0, 3));
    record.not_before = MicrosToTime(not_before);
    MAYFLY_ASSIGN_OR_RETURN(int64_t not_after, Int64Field(res, 0, 4));
    record.not_after = MicrosToTime(not_after);
    record.provisioner = Field(res, 0, 5);
    record.renewed_from = Field(res, 0, 6);
    return record;
  }

  absl::Status Revoke(const RevocationRecord& record) override {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("revocation record has no serial");
    }
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr r,
        Run("mayfly_revoke",
            {record.serial, absl::StrCat(record.reason_code), record.reason,
             absl::StrCat(TimeToMicros(record.revoked_at)),
             absl::StrCat(TimeToMicros(record.expires_at)),
             record.passive ? "true" : "false", record.mtls ? "true" : "false",
             record.provisioner},
            "record revocation"));
    if (absl::string_view(PQcmdTuples(r.get())) == "0") {
      return absl::AlreadyExistsError(absl::StrCat(
          "certificate serial ", record.serial, " already revoked"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      absl::string_view serial) override {
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr r,
        Run("mayfly_get_revocation", {std::string(serial)}, "read revocation"));
    if (PQntuples(r.get()) == 0) {
      return std::nullopt;
    }
    MAYFLY_ASSIGN_OR_RETURN(RevocationRecord record,
                            ReadRevocation(r.get(), 0));
    return record;
  }

  absl::StatusOr<std::optional<RevocationRecord>> FindRevokedInLineage(
      absl::string_view serial) override {
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr r,
        Run("mayfly_lineage", {std::string(serial)}, "walk lineage"));
    const PGresult* res = r.get();
    for (int row = 0; row < PQntuples(res); ++row) {
      if (!PQgetisnull(res, row, 0)) {
        MAYFLY_ASSIGN_OR_RETURN(RevocationRecord record,
                                ReadRevocation(res, row));
        return record;
      }
      if (BoolField(res, row, 8)) {
        return absl::DataLossError(absl::StrCat("certificate lineage of ",
                                                serial, " has a cycle at ",
                                                Field(res, row, 9)));
      }
    }
    return std::nullopt;
  }

  absl::StatusOr<std::vector<RevocationRecord>> ListRevocations(
      absl::Time now) override {
    MAYFLY_ASSIGN_OR_RETURN(ResultPtr r, Run("mayfly_list_revocations",
                                             {absl::StrCat(TimeToMicros(now))},
                                             "list revocations"));
    std::vector<RevocationRecord> out;
    out.reserve(static_cast<size_t>(PQntuples(r.get())));
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      MAYFLY_ASSIGN_OR_RETURN(RevocationRecord record,
                              ReadRevocation(r.get(), row));
      out.push_back(std::move(record));
    }
    return out;
  }

  absl::StatusOr<int64_t> NextCrlNumber() override {
    MAYFLY_ASSIGN_OR_RETURN(
        ResultPtr r, Run("mayfly_next_crl_number", {}, "advance crl number"));
    if (PQntuples(r.get()) != 1) {
      return absl::DataLossError("postgres store: mayfly_crl_number is empty");
    }
    return Int64Field(r.get(), 0, 0);
  }

  absl::StatusOr<int64_t> Prune(absl::Time now,
                                absl::Duration retention) override {
    if (retention < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("prune retention is negative");
    }
    MAYFLY_ASSIGN_OR_RETURN(ResultPtr r,
                            Run("mayfly_prune",
                                {absl::StrCat(TimeToMicros(now)),
                                 absl::StrCat(TimeToMicros(now - retention))},
                                "prune"));
    return Int64Field(r.get(), 0, 0);
  }

  absl::StatusOr<StoreCounts> Counts() override {
    MAYFLY_ASSIGN_OR_RETURN(ResultPtr r, Run("mayfly_counts", {}, "count"));
    StoreCounts counts;
    MAYFLY_ASSIGN_OR_RETURN(counts.used_tokens, Int64Field(r.get(), 0, 0));
    MAYFLY_ASSIGN_OR_RETURN(counts.certificates, Int64Field(r.get(), 0, 1));
    MAYFLY_ASSIGN_OR_RETURN(counts.revocations, Int64Field(r.get(), 0, 2));
    return counts;
  }

 private:
  // Run executes prepared statement `name` on a pooled connection.
  absl::StatusOr<ResultPtr> Run(const char* name,
                                std::initializer_list<std::string> params,
                                absl::string_view what,
                                bool first_binary = false) {
    MAYFLY_ASSIGN_OR_RETURN(ConnPtr conn, Acquire());
    absl::StatusOr<ResultPtr> result = ExecPrepared(
        conn.get(), name, absl::MakeConstSpan(params.begin(), params.size()),
        first_binary, what);
    Release(std::move(conn));
    return result;
  }

  bool ConnectionAvailable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty() || open_ < kMaxConnections;
  }

  // Acquire lends a live connection: an idle one if it is still up,
  // otherwise a new one. Unavailable if the server cannot be reached.
  absl::StatusOr<ConnPtr> Acquire() ABSL_LOCKS_EXCLUDED(mu_) {
    ConnPtr conn;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PostgresStore::ConnectionAvailable));
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_;
      }
    }
    if (conn != nullptr && IsAlive(conn.get())) {
      return conn;
    }
    conn.reset();
    absl::StatusOr<ConnPtr> fresh = Connect(conninfo_, /*prepare=*/true);
    if (!fresh.ok()) {
      absl::MutexLock lock(&mu_);
      --open_;
    }
    return fresh;
  }

  // IsAlive reads whatever the server sent an idle connection: a server
  // shutting down sends an error and closes the socket, and libpq then
  // marks the connection bad. Reading never blocks.
  static bool IsAlive(PGconn* conn) {
    for (int i = 0; i < 2; ++i) {
      if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
        return false;
      }
    }
    return PQtransactionStatus(conn) == PQTRANS_IDLE;
  }

  // Release returns a connection to the pool; a broken one is closed, and
  // the idle ones with it.
  void Release(ConnPtr conn) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<ConnPtr> drop;
    absl::MutexLock lock(&mu_);
    if (PQstatus(conn.get()) == CONNECTION_OK &&
        PQtransactionStatus(conn.get()) == PQTRANS_IDLE) {
      idle_.push_back(std::move(conn));
      return;
    }
    drop.push_back(std::move(conn));
    for (ConnPtr& idle : idle_) {
      drop.push_back(std::move(idle));
    }
    idle_.clear();
    open_ -= static_cast<int>(drop.size());
    // `drop` closes its connections after the lock is released (declared
    // before `lock`).
  }

  const std::string conninfo_;
  absl::Mutex mu_;
  std::vector<ConnPtr> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle and lent
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> NewPostgresStore(
    const std::string& conninfo) {
  MAYFLY_ASSIGN_OR_RETURN(ConnPtr conn, Connect(conninfo, /*prepare=*/false));
  MAYFLY_RETURN_IF_ERROR(Migrate(conn.get()));
  MAYFLY_RETURN_IF_ERROR(
      Exec(conn.get(), kPrepareAll, "prepare statements").status());
  return std::unique_ptr<Store>(new PostgresStore(conninfo, std::move(conn)));
}

}  // namespace mayfly

// The Store conformance suite (tests/store_conformance.h) run against every
// backend: memory, SQLite (a temporary file) and PostgreSQL (tagged
// [postgres]; ctest runs those under scripts/with-postgres). Then what is
// particular to each backend: URLs, reopening, refusing foreign files.

#include "mayfly/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "store_conformance.h"
#include "store_test_util.h"
#include "test_util.h"

namespace mayfly {
namespace testing {
namespace {

// ---------------------------------------------------------------------------
// Backends.

StoreFactory MemoryFactory() {
  return [] { return NewMemoryStore(); };
}

StoreFactory MemoryUrlFactory() {
  return [] {
    auto store = NewStore("memory:");
    REQUIRE(store.ok());
    return std::move(*store);
  };
}

TEST_CASE("Store: memory: used tokens", "[store]") {
  TokenConformance(MemoryFactory());
}

TEST_CASE("Store: memory: certificate records", "[store]") {
  CertificateConformance(MemoryFactory());
}

TEST_CASE("Store: memory: token use with a certificate record", "[store]") {
  IssueConformance(MemoryFactory());
}

TEST_CASE("Store: memory: concurrent token use with records", "[store]") {
  ConcurrentIssueConformance(MemoryFactory());
}

TEST_CASE("Store: memory: revocations", "[store]") {
  RevocationConformance(MemoryFactory());
}

TEST_CASE("Store: memory: lineage", "[store]") {
  LineageConformance(MemoryFactory());
}

TEST_CASE("Store: memory: revocation list", "[store]") {
  ListRevocationsConformance(MemoryFactory());
}

TEST_CASE("Store: memory: CRL numbers", "[store]") {
  CrlNumberConformance(MemoryFactory());
}

TEST_CASE("Store: memory: prune", "[store]") {
  PruneConformance(MemoryFactory());
}

TEST_CASE("Store: memory: concurrent UseToken", "[store]") {
  ConcurrentUseTokenConformance(MemoryFactory());
}

TEST_CASE("Store: memory: concurrent writes", "[store]") {
  ConcurrentWritesConformance(MemoryFactory());
}

TEST_CASE("Store: memory: concurrent revocation and lineage", "[store]") {
  ConcurrentLineageConformance(MemoryFactory());
}

// SQLite: each store a new file in a temporary directory.

TEST_CASE("Store: sqlite: used tokens", "[store][sqlite]") {
  TokenConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: certificate records", "[store][sqlite]") {
  CertificateConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: token use with a certificate record",
          "[store][sqlite]") {
  IssueConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: concurrent token use with records",
          "[store][sqlite]") {
  ConcurrentIssueConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: revocations", "[store][sqlite]") {
  RevocationConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: lineage", "[store][sqlite]") {
  LineageConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: revocation list", "[store][sqlite]") {
  ListRevocationsConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: CRL numbers", "[store][sqlite]") {
  CrlNumberConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: prune", "[store][sqlite]") {
  PruneConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: concurrent UseToken", "[store][sqlite]") {
  ConcurrentUseTokenConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: concurrent writes", "[store][sqlite]") {
  ConcurrentWritesConformance(SqliteStoreFactory());
}

TEST_CASE("Store: sqlite: concurrent revocation and lineage",
          "[store][sqlite]") {
  ConcurrentLineageConformance(SqliteStoreFactory());
}

// PostgreSQL: each store a new schema on the server of
// scripts/with-postgres.

TEST_CASE("Store: postgres: used tokens", "[store][postgres]") {
  TokenConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: certificate records", "[store][postgres]") {
  CertificateConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: token use with a certificate record",
          "[store][postgres]") {
  IssueConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: concurrent token use with records",
          "[store][postgres]") {
  ConcurrentIssueConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: revocations", "[store][postgres]") {
  RevocationConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: lineage", "[store][postgres]") {
  LineageConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: revocation list", "[store][postgres]") {
  ListRevocationsConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: CRL numbers", "[store][postgres]") {
  CrlNumberConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: prune", "[store][postgres]") {
  PruneConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: concurrent UseToken", "[store][postgres]") {
  ConcurrentUseTokenConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: concurrent writes", "[store][postgres]") {
  ConcurrentWritesConformance(PostgresStoreFactory());
}

TEST_CASE("Store: postgres: concurrent revocation and lineage",
          "[store][postgres]") {
  ConcurrentLineageConformance(PostgresStoreFactory());
}

TEST_CASE("Store: memory via NewStore(\"memory:\")", "[store]") {
  // One suite through the URL, to show the factory path is the same store.
  LineageConformance(MemoryUrlFactory());
}

TEST_CASE("Store: NewStore refuses unknown urls", "[store]") {
  CHECK(StatusIs(NewStore("").status(), absl::StatusCode::kInvalidArgument,
                 "no scheme"));
  CHECK(StatusIs(NewStore("memory").status(),
                 absl::StatusCode::kInvalidArgument, "no scheme"));
  CHECK(StatusIs(NewStore(":memory").status(),
                 absl::StatusCode::kInvalidArgument, "no scheme"));
  CHECK(StatusIs(NewStore("memory:/tmp/x").status(),
                 absl::StatusCode::kInvalidArgument, "memory:"));
  CHECK(StatusIs(NewStore("badger:/var/db").status(),
                 absl::StatusCode::kInvalidArgument,
                 "unsupported store url scheme \"badger\""));
  // The rest of a url (which may hold a password) is never echoed.
  auto pg = NewStore("mongodb://user:s3cret@db/x");
  CHECK(StatusIs(pg.status(), absl::StatusCode::kInvalidArgument, "mongodb"));
  CHECK(pg.status().message().find("s3cret") == absl::string_view::npos);
}

// ---------------------------------------------------------------------------
// SQLite: the file.

// SqliteExec runs `sql` on the database at `path` with SQLite itself.
void SqliteExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  char* error = nullptr;
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  }
  INFO(sql << ": " << (error != nullptr ? error : sqlite3_errstr(rc)));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

// SqliteQuery returns column `column` of the first row of `sql`.
std::string SqliteQuery(const std::string& path, const std::string& sql,
                        int column = 0) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
          SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, column);
    value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  INFO(sql);
  REQUIRE(rc == SQLITE_OK);
  return value;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// FillStore writes one of each kind of record and returns the CRL number.
int64_t FillStore(Store& store) {
  REQUIRE(store.UseToken("jti-kept", kNow + absl::Minutes(5)).ok());
  REQUIRE(store.RecordCertificate(Cert("1")).ok());
  REQUIRE(store.RecordCertificate(Cert("2", "1")).ok());
  REQUIRE(store.Revoke(Revocation("1")).ok());
  REQUIRE(store.NextCrlNumber().ok());
  auto crl = store.NextCrlNumber();
  REQUIRE(crl.ok());
  return *crl;
}

// CheckFilled checks what FillStore wrote is there.
void CheckFilled(Store& store, int64_t crl_number) {
  CHECK(StatusIs(store.UseToken("jti-kept", kNow + absl::Minutes(5)),
                 absl::StatusCode::kAlreadyExists));
  auto cert = store.GetCertificate("2");
  REQUIRE(cert.ok());
  CheckSameCert(*cert, Cert("2", "1"));
  CHECK(LineageRevokedBy(store, "2") == "1");
  auto next = store.NextCrlNumber();
  REQUIRE(next.ok());
  CHECK(*next > crl_number);
  CHECK(CountsOf(store) == MakeCounts(1, 2, 1));
}

TEST_CASE("Store: sqlite: what returned OK is there after reopening",
          "[store][sqlite]") {
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  int64_t crl_number = 0;
  {
    auto store = NewSqliteStore(path);
    REQUIRE(store.ok());
    crl_number = FillStore(**store);
  }
  auto store = NewSqliteStore(path);
  REQUIRE(store.ok());
  CheckFilled(**store, crl_number);
}

TEST_CASE("Store: sqlite: the file is a WAL database marked as mayfly's",
          "[store][sqlite]") {
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  auto store = NewSqliteStore(path);
  REQUIRE(store.ok());
  CHECK(SqliteQuery(path, "PRAGMA journal_mode") == "wal");
  CHECK(SqliteQuery(path, "PRAGMA application_id") == absl::StrCat(0x4d59464c));
  CHECK(SqliteQuery(path,
                    "SELECT value FROM mayfly_meta WHERE key = "
                    "'schema_version'") == "1");
  // The lineage walk is one primary-key lookup per generation.
  CHECK(absl::StrContains(
      SqliteQuery(path,
                  "EXPLAIN QUERY PLAN SELECT renewed_from FROM certificates "
                  "WHERE serial = 'x'",
                  3),
      "USING INDEX sqlite_autoindex_certificates_1 (serial=?)"));
}

TEST_CASE("Store: sqlite: through NewStore(\"sqlite:PATH\")",
          "[store][sqlite]") {
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  auto store = NewStore("sqlite:" + path);
  REQUIRE(store.ok());
  REQUIRE((*store)->UseToken("a", kNow).ok());
  store->reset();
  auto again = NewStore("sqlite:" + path);
  REQUIRE(again.ok());
  CHECK(StatusIs((*again)->UseToken("a", kNow),
                 absl::StatusCode::kAlreadyExists));
  CHECK(StatusIs(NewStore("sqlite:").status(),
                 absl::StatusCode::kInvalidArgument, "path"));
}

TEST_CASE("Store: sqlite: an empty file becomes a store", "[store][sqlite]") {
  TempDir dir;
  const std::string path = dir.Write("empty.db", "");
  auto store = NewSqliteStore(path);
  REQUIRE(store.ok());
  CHECK((*store)->UseToken("a", kNow).ok());
}

TEST_CASE("Store: sqlite: a foreign or damaged file is refused untouched",
          "[store][sqlite]") {
  TempDir dir;
  const std::string path = dir.path() + "/ca.db";
  absl::StatusCode want_code = absl::StatusCode::kOk;
  std::string want_fragment;

  SECTION("not a SQLite database") {
    dir.Write("ca.db", std::string(8192, 'x') + "\n");
    want_code = absl::StatusCode::kDataLoss;
    want_fragment = "not a SQLite database";
  }
  SECTION("a mayfly store with a damaged header") {
    {
      auto store = NewSqliteStore(path);
      REQUIRE(store.ok());
      REQUIRE((*store)->UseToken("a", kNow).ok());
    }
    std::string bytes = ReadFileBytes(path);
    REQUIRE(bytes.size() > 100);
    bytes.replace(0, 16, "garbage garbage!");
    dir.Write("ca.db", bytes);
    want_code = absl::StatusCode::kDataLoss;
    want_fragment = "not a SQLite database";
  }
  SECTION("another application's database") {
    SqliteExec(path,
               "CREATE TABLE orders (id INTEGER PRIMARY KEY);"
               "INSERT INTO orders VALUES (1);");
    want_code = absl::StatusCode::kFailedPrecondition;
    want_fragment = "another application";
  }
  SECTION("another application's id") {
    SqliteExec(path, "PRAGMA application_id = 1234;");
    want_code = absl::StatusCode::kFailedPrecondition;
    want_fragment = "application_id 0x000004d2";
  }
  SECTION("a mayfly id without mayfly's tables") {
    SqliteExec(path, absl::StrCat("PRAGMA application_id = ", 0x4d59464c,
                                  "; CREATE TABLE t (x);"));
    want_code = absl::StatusCode::kDataLoss;
    want_fragment = "schema version";
  }
  SECTION("a newer schema version") {
    {
      auto store = NewSqliteStore(path);
      REQUIRE(store.ok());
      REQUIRE((*store)->UseToken("a", kNow).ok());
    }
    SqliteExec(path,
               "UPDATE mayfly_meta SET value = 99 WHERE key = "
               "'schema_version'");
    want_code = absl::StatusCode::kFailedPrecondition;
    want_fragment = "schema version 99, newer than this mayfly supports (1)";
  }

  REQUIRE(Exists(path));
  const std::string before = ReadFileBytes(path);
  auto store = NewSqliteStore(path);
  CHECK(StatusIs(store.status(), want_code, want_fragment));
  CHECK(ReadFileBytes(path) == before);
  // Not even a WAL was started beside it.
  CHECK(!Exists(path + "-wal"));
}

TEST_CASE("Store: sqlite: open errors", "[store][sqlite]") {
  TempDir dir;
  CHECK(StatusIs(NewSqliteStore("").status(),
                 absl::StatusCode::kInvalidArgument, "empty path"));
  CHECK(StatusIs(NewSqliteStore(dir.path() + "/no/such/dir/ca.db").status(),
                 absl::StatusCode::kFailedPrecondition, "cannot open"));
}

// ---------------------------------------------------------------------------
// PostgreSQL: what is not in the conformance suite.

TEST_CASE("Store: postgres: what returned OK is there after reopening",
          "[store][postgres]") {
  const std::string conninfo = FreshPostgresSchema();
  int64_t crl_number = 0;
  {
    auto store = NewPostgresStore(conninfo);
    REQUIRE(store.ok());
    crl_number = FillStore(**store);
  }
  auto store = NewPostgresStore(conninfo);
  REQUIRE(store.ok());
  CheckFilled(**store, crl_number);
}

TEST_CASE("Store: postgres: through NewStore(\"postgresql://...\")",
          "[store][postgres]") {
  const std::string conninfo = FreshPostgresSchema();
  // The same server and schema, spelled as a URL.
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  REQUIRE(options != nullptr);
  std::string host, port, dbname, user, search;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    std::string value = o->val != nullptr ? o->val : "";
    std::string keyword = o->keyword;
    if (keyword == "host") host = value;
    if (keyword == "port") port = value;
    if (keyword == "dbname") dbname = value;
    if (keyword == "user") user = value;
    if (keyword == "options") search = value;
  }
  PQconninfoFree(options);
  // "-c search_path=x" -> "-csearch_path%3Dx"
  std::string schema = search.substr(search.find('=') + 1);
  for (const char* scheme : {"postgres", "postgresql"}) {
    std::string url =
        absl::StrCat(scheme, "://", user, "@", host, ":", port, "/", dbname,
                     "?options=-csearch_path%3D", schema);
    auto store = NewStore(url);
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    CHECK((*store)->UseToken(scheme, kNow).ok());
  }
  CHECK(PostgresExec(conninfo, "SELECT count(*) FROM mayfly_used_tokens") ==
        "2");
}

TEST_CASE("Store: postgres: a newer schema version is refused untouched",
          "[store][postgres]") {
  const std::string conninfo = FreshPostgresSchema();
  {
    auto store = NewPostgresStore(conninfo);
    REQUIRE(store.ok());
    REQUIRE((*store)->UseToken("a", kNow).ok());
  }
  PostgresExec(conninfo,
               "UPDATE mayfly_meta SET value = 99 WHERE key = "
               "'schema_version'");
  auto store = NewPostgresStore(conninfo);
  CHECK(StatusIs(store.status(), absl::StatusCode::kFailedPrecondition,
                 "schema version 99 is newer than this mayfly supports (1)"));
  CHECK(PostgresExec(conninfo,
                     "SELECT value FROM mayfly_meta WHERE key = "
                     "'schema_version'") == "99");
  CHECK(PostgresExec(conninfo, "SELECT count(*) FROM mayfly_used_tokens") ==
        "1");
}

TEST_CASE("Store: postgres: nodes starting together migrate once",
          "[store][postgres]") {
  const std::string conninfo = FreshPostgresSchema();
  constexpr int kNodes = 4;
  std::vector<absl::Status> results(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = NewPostgresStore(conninfo).status(); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (const absl::Status& s : results) {
    CHECK(s.ok());
  }
  CHECK(PostgresExec(conninfo, "SELECT value FROM mayfly_crl_number") == "0");
}

// An unreachable server needs no server to test: it runs everywhere.
TEST_CASE("Store: postgres: an unreachable server is Unavailable at open",
          "[store]") {
  auto store = NewPostgresStore(
      "host=127.0.0.1 port=1 dbname=x user=ca password=s3cret "
      "connect_timeout=5");
  CHECK(StatusIs(store.status(), absl::StatusCode::kUnavailable,
                 "cannot connect"));
  CHECK(!absl::StrContains(store.status().message(), "s3cret"));
  auto url = NewStore("postgresql://ca:s3cret@127.0.0.1:1/x");
  CHECK(
      StatusIs(url.status(), absl::StatusCode::kUnavailable, "cannot connect"));
  CHECK(!absl::StrContains(url.status().message(), "s3cret"));
}

// ---------------------------------------------------------------------------
// StorePruner and the default store URL.

TEST_CASE("StorePruner: prunes at start and on demand, by the given clock",
          "[store]") {
  std::unique_ptr<Store> store = NewMemoryStore();
  REQUIRE(store->UseToken("old", kNow - absl::Minutes(1)).ok());
  REQUIRE(store->UseToken("live", kNow + absl::Minutes(5)).ok());
  REQUIRE(store->RecordCertificate(Cert("1", "", kNow - absl::Hours(2))).ok());
  REQUIRE(store->RecordCertificate(Cert("2", "", kNow + absl::Hours(2))).ok());
  FakeClock clock(kNow);
  PruneOptions options;
  options.interval = absl::Hours(1);  // no second run during the test
  options.retention = absl::Hours(1);
  auto pruner = StorePruner::Start(*store, clock, options);
  REQUIRE(pruner.ok());
  // The first prune ran before Start returned: the used token "old" and
  // certificate 1 (expired 2 h ago, retention 1 h) are gone.
  CHECK(CountsOf(*store) == MakeCounts(1, 1, 0));
  StorePruner::Stats stats = (*pruner)->stats();
  CHECK(stats.runs == 1);
  CHECK(stats.rows_removed == 2);
  CHECK(stats.failures == 0);
  CHECK(stats.last_error.ok());
  clock.Advance(absl::Hours(4));
  auto removed = (*pruner)->PruneNow();
  REQUIRE(removed.ok());
  CHECK(*removed == 2);
  CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
}

TEST_CASE("StorePruner: runs again every interval until destroyed", "[store]") {
  std::unique_ptr<Store> store = NewMemoryStore();
  FakeClock clock(kNow);
  PruneOptions options;
  options.interval = absl::Milliseconds(5);
  auto pruner = StorePruner::Start(*store, clock, options);
  REQUIRE(pruner.ok());
  REQUIRE(store->UseToken("t", kNow + absl::Minutes(1)).ok());
  clock.Advance(absl::Minutes(2));
  // Bounded wait for the background thread (5 ms interval, up to 10 s).
  for (int i = 0; i < 2000 && CountsOf(*store).used_tokens != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
  CHECK((*pruner)->stats().runs >= 2);
  pruner->reset();  // joins the thread
}

TEST_CASE("StorePruner: bad options are refused", "[store]") {
  std::unique_ptr<Store> store = NewMemoryStore();
  FakeClock clock(kNow);
  PruneOptions zero;
  zero.interval = absl::ZeroDuration();
  CHECK(StatusIs(StorePruner::Start(*store, clock, zero).status(),
                 absl::StatusCode::kInvalidArgument, "interval"));
  PruneOptions negative;
  negative.retention = -absl::Seconds(1);
  CHECK(StatusIs(StorePruner::Start(*store, clock, negative).status(),
                 absl::StatusCode::kInvalidArgument, "retention"));
}

TEST_CASE("DefaultStoreUrl: sqlite in the CA folder, memory without one",
          "[store]") {
  CHECK(DefaultStoreUrl("") == "memory:");
  CHECK(DefaultStoreUrl("/srv/ca") == "sqlite:/srv/ca/db/mayfly.db");
}

}  // namespace
}  // namespace testing
}  // namespace mayfly

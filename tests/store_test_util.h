// Helpers for tests of the durable stores: fresh SQLite files, fresh
// PostgreSQL schemas on the server scripts/with-postgres starts.
//
// The [postgres] tests never skip: without MAYFLY_TEST_POSTGRES they fail
// and say how to run them.

#ifndef MAYFLY_TESTS_STORE_TEST_UTIL_H_
#define MAYFLY_TESTS_STORE_TEST_UTIL_H_

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "mayfly/store.h"
#include "test_util.h"

namespace mayfly {
namespace testing {

// ReadFileBytes returns the whole file at `path` ("" if it cannot be read).
inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// SqliteStoreFactory returns fresh SQLite stores, each in its own file of
// one temporary directory that lives as long as the factory.
inline std::function<std::unique_ptr<Store>()> SqliteStoreFactory() {
  auto dir = std::make_shared<TempDir>();
  auto counter = std::make_shared<std::atomic<int>>(0);
  return [dir, counter]() {
    std::string path =
        absl::StrCat(dir->path(), "/store-", counter->fetch_add(1), ".db");
    auto store = NewSqliteStore(path);
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    return std::move(*store);
  };
}

// PostgresConninfo returns $MAYFLY_TEST_POSTGRES, a key=value libpq
// conninfo; fails the running test when it is unset.
inline std::string PostgresConninfo() {
  const char* value = std::getenv("MAYFLY_TEST_POSTGRES");
  if (value == nullptr || *value == '\0') {
    FAIL(
        "MAYFLY_TEST_POSTGRES is not set: the [postgres] tests need a "
        "PostgreSQL server. Run them through scripts/with-postgres (ctest "
        "does: test store.postgres), e.g. scripts/with-postgres "
        "build/tests/mayfly_tests \"[postgres]\"");
  }
  std::string conninfo = value;
  if (absl::StartsWith(conninfo, "postgres")) {
    FAIL("MAYFLY_TEST_POSTGRES must be a key=value conninfo, not a URL");
  }
  return conninfo;
}

// PostgresEnvCommand returns the shell command in environment variable
// `name` (set by scripts/with-postgres); fails the test when unset.
inline std::string PostgresEnvCommand(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    FAIL(name << " is not set: run this test through scripts/with-postgres");
  }
  return value;
}

// PostgresExec runs `sql` on a new connection made from `conninfo` and
// returns the first field of the first row ("" if none). Fails the test
// on any error.
inline std::string PostgresExec(const std::string& conninfo,
                                const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string error;
  std::string value;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* result = PQexec(conn, sql.c_str());
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(result);
    } else if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 &&
               PQnfields(result) > 0) {
      value = PQgetvalue(result, 0, 0);
    }
    PQclear(result);
  }
  PQfinish(conn);
  INFO(sql);
  INFO(error);
  REQUIRE(error.empty());
  return value;
}

// FreshPostgresSchema creates an empty schema and returns a conninfo whose
// search_path is that schema, so each store under test starts empty.
inline std::string FreshPostgresSchema() {
  static std::atomic<int> counter{0};
  std::string base = PostgresConninfo();
  std::string schema =
      absl::StrCat("mayfly_t", getpid(), "_", counter.fetch_add(1));
  PostgresExec(base, absl::StrCat("DROP SCHEMA IF EXISTS ", schema,
                                  " CASCADE; CREATE SCHEMA ", schema));
  return absl::StrCat(base, " options='-c search_path=", schema, "'");
}

// PostgresStoreFactory returns stores, each in a fresh schema.
inline std::function<std::unique_ptr<Store>()> PostgresStoreFactory() {
  return []() {
    auto store = NewPostgresStore(FreshPostgresSchema());
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    return std::move(*store);
  };
}

}  // namespace testing
}  // namespace mayfly

#endif  // MAYFLY_TESTS_STORE_TEST_UTIL_H_

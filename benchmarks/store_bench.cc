// store_bench: what durable storage costs the CA.
//
// - issuance.{memory,sqlite,postgres}_8callers_per_s: certificates issued
//   per second by Authority::Sign with 8 concurrent callers, tokens and CSRs
//   made beforehand; the same requests against each backend, in one run.
//   Each Sign consumes a token and records a certificate: two durable
//   writes, each committed (fsynced) before Sign goes on.
// - store.sqlite_commit_p99_ms: the 99th percentile latency of one durable
//   SQLite write (UseToken) with 8 concurrent callers, group commit
//   included.
//
// The SQLite file is in $TMPDIR (default /tmp); PostgreSQL is the private
// server of scripts/with-postgres: without MAYFLY_TEST_POSTGRES this binary
// runs itself again under that script.
//
// Each benchmark does a fixed amount of work once (Iterations(1)) and
// reports its figure as a counter named after its summary.json key.

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench_util.h"
#include "benchmark/benchmark.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"
#include "mayfly/token.h"

namespace {

using mayfly::Authority;
using mayfly::AuthorityParts;
using mayfly::Certificate;
using mayfly::CertificateRequest;
using mayfly::CertificateTemplate;
using mayfly::Clock;
using mayfly::PrivateKey;
using mayfly::Provisioner;
using mayfly::Store;

constexpr int kCallers = 8;
constexpr int kRequests = 4000;      // per backend
constexpr int kCommitSamples = 400;  // per caller
constexpr char kCaUrl[] = "https://localhost:9000";

// Fail ends the benchmark with `status` as its error.
void Fail(benchmark::State& state, const absl::Status& status) {
  state.SkipWithError(status.ToString().c_str());
}

// TempDir is a directory removed at exit from the benchmark.
class TempDir {
 public:
  TempDir() {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/mayfly-bench-XXXXXX");
    if (mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
    }
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::string cmd = absl::StrCat("rm -rf '", path_, "'");
      if (system(cmd.c_str()) != 0) {
        fprintf(stderr, "store_bench: could not remove %s\n", path_.c_str());
      }
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Ca is a two-level PKI and one provisioner, made in memory, with a
// signer for its tokens.
struct Ca {
  PrivateKey root_key;
  PrivateKey intermediate_key;
  Certificate root;
  Certificate intermediate;
  PrivateKey provisioner_key;
  Provisioner provisioner;
};

absl::StatusOr<Ca> MakeCa() {
  const absl::Time now = Clock::Real().Now();
  auto root_key = PrivateKey::Generate();
  auto int_key = PrivateKey::Generate();
  auto prov_key = PrivateKey::Generate();
  if (!root_key.ok() || !int_key.ok() || !prov_key.ok()) {
    return absl::InternalError("key generation failed");
  }
  CertificateTemplate tmpl;
  tmpl.serial = {0x01};
  tmpl.common_name = "Bench Root CA";
  tmpl.organization = "Bench";
  tmpl.not_before = now - absl::Hours(1);
  tmpl.not_after = now + absl::Hours(24 * 365);
  tmpl.key_usage = mayfly::kKeyUsageKeyCertSign | mayfly::kKeyUsageCrlSign;
  tmpl.basic = mayfly::BasicConstraints{true, 1};
  auto root = mayfly::IssueCertificate(tmpl, root_key->public_key(), *root_key,
                                       nullptr);
  if (!root.ok()) {
    return root.status();
  }
  tmpl.serial = {0x02};
  tmpl.common_name = "Bench Intermediate CA";
  tmpl.basic = mayfly::BasicConstraints{true, 0};
  auto intermediate =
      mayfly::IssueCertificate(tmpl, int_key->public_key(), *root_key, &*root);
  if (!intermediate.ok()) {
    return intermediate.status();
  }
  auto provisioner = Provisioner::FromPrivateKey("bench", *prov_key,
                                                 "bench-password", {}, 1000);
  if (!provisioner.ok()) {
    return provisioner.status();
  }
  return Ca{*root_key, *int_key, *root, *intermediate, *prov_key, *provisioner};
}

absl::StatusOr<std::unique_ptr<Authority>> MakeAuthority(
    const Ca& ca, std::unique_ptr<Store> store) {
  AuthorityParts parts{{ca.root}, ca.intermediate, ca.intermediate_key, {}};
  parts.config.dns_names = {"localhost"};
  parts.config.provisioners = {ca.provisioner};
  return Authority::FromParts(parts, std::move(store), Clock::Real());
}

std::string RequestName(int i) {
  return absl::StrCat("svc", i, ".example.com");
}

// MakeCsrs makes the CSRs, once for all backends, each for a key of its own.
absl::StatusOr<std::vector<CertificateRequest>> MakeCsrs() {
  std::vector<CertificateRequest> csrs;
  csrs.reserve(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    auto key = PrivateKey::Generate();
    if (!key.ok()) {
      return key.status();
    }
    mayfly::CsrOptions csr_options;
    csr_options.common_name = RequestName(i);
    csr_options.sans = {RequestName(i)};
    auto csr = CertificateRequest::Create(*key, csr_options);
    if (!csr.ok()) {
      return csr.status();
    }
    csrs.push_back(*std::move(csr));
  }
  return csrs;
}

// MakeTokens mints a token per CSR. An authority accepts only tokens issued
// after it started, so each run mints its own, after making its authority.
absl::StatusOr<std::vector<std::string>> MakeTokens(const Ca& ca) {
  mayfly::TokenSigner signer(ca.provisioner_key, ca.provisioner.kid,
                             ca.provisioner.name, Clock::Real());
  auto audience = mayfly::SignAudience(kCaUrl);
  if (!audience.ok()) {
    return audience.status();
  }
  std::vector<std::string> tokens;
  tokens.reserve(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    mayfly::TokenRequest token;
    token.subject = RequestName(i);
    token.audience = *audience;
    token.root_fingerprint = ca.root.FingerprintHex();
    auto ott = signer.Sign(token);
    if (!ott.ok()) {
      return ott.status();
    }
    tokens.push_back(*std::move(ott));
  }
  return tokens;
}

// Fixture is made once: the CA and the CSRs every backend signs. Never
// destroyed (a function-local static pointer).
struct Fixture {
  absl::Status status;
  std::unique_ptr<Ca> ca;
  std::vector<CertificateRequest> csrs;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    auto ca = MakeCa();
    if (!ca.ok()) {
      f->status = ca.status();
      return f;
    }
    f->ca = std::make_unique<Ca>(*std::move(ca));
    auto csrs = MakeCsrs();
    if (!csrs.ok()) {
      f->status = csrs.status();
      return f;
    }
    f->csrs = *std::move(csrs);
    return f;
  }();
  return *fixture;
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& backend,
                                                 const TempDir& dir) {
  if (backend == "memory") {
    return mayfly::NewMemoryStore();
  }
  if (backend == "sqlite") {
    return mayfly::NewSqliteStore(dir.path() + "/ca.db");
  }
  const char* conninfo = getenv("MAYFLY_TEST_POSTGRES");
  if (conninfo == nullptr) {
    return absl::FailedPreconditionError(
        "MAYFLY_TEST_POSTGRES is not set (run under scripts/with-postgres)");
  }
  // A schema of its own, so reruns on one server start empty.
  std::string schema = absl::StrCat("mayfly_bench_", getpid());
  std::string sql = absl::StrCat("DROP SCHEMA IF EXISTS ", schema,
                                 " CASCADE; CREATE SCHEMA ", schema);
  PGconn* conn = PQconnectdb(conninfo);
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* result = PQexec(conn, sql.c_str());
  bool created = PQresultStatus(result) == PGRES_COMMAND_OK;
  PQclear(result);
  PQfinish(conn);
  if (!created) {
    return absl::UnavailableError("could not create the benchmark schema");
  }
  return mayfly::NewPostgresStore(
      absl::StrCat(conninfo, " options='-c search_path=", schema, "'"));
}

// BM_Issuance: kCallers threads share the requests and call Sign.
void BM_Issuance(benchmark::State& state, const char* backend,
                 const char* key) {
  const Fixture& fixture = GetFixture();
  if (!fixture.status.ok()) {
    Fail(state, fixture.status);
    return;
  }
  TempDir dir;
  auto store = OpenStore(backend, dir);
  if (!store.ok()) {
    Fail(state, store.status());
    return;
  }
  auto authority = MakeAuthority(*fixture.ca, *std::move(store));
  if (!authority.ok()) {
    Fail(state, authority.status());
    return;
  }
  // Wait for the next second: tokens carry whole-second times, and one
  // minted in the authority's first second might look older than it.
  absl::SleepFor(absl::Seconds(1));
  auto tokens = MakeTokens(*fixture.ca);
  if (!tokens.ok()) {
    Fail(state, tokens.status());
    return;
  }
  double rate = 0;
  for (auto _ : state) {
    std::atomic<size_t> next{0};
    std::atomic<int> failures{0};
    std::string first_error;
    std::atomic<bool> have_error{false};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&] {
        for (size_t i = next.fetch_add(1); i < fixture.csrs.size();
             i = next.fetch_add(1)) {
          auto cert = (*authority)->Sign(fixture.csrs[i], (*tokens)[i], {});
          if (!cert.ok()) {
            failures.fetch_add(1);
            if (!have_error.exchange(true)) {
              first_error = cert.status().ToString();
            }
          }
        }
      });
    }
    for (std::thread& t : callers) {
      t.join();
    }
    std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start;
    if (failures.load() > 0) {
      Fail(state, absl::InternalError(absl::StrCat(
                      failures.load(), " Sign calls failed: ", first_error)));
      return;
    }
    rate = static_cast<double>(fixture.csrs.size()) / elapsed.count();
  }
  state.counters[key] = rate;
}

// BM_SqliteCommit: kCallers threads each time kCommitSamples UseToken calls.
void BM_SqliteCommit(benchmark::State& state) {
  TempDir dir;
  auto store = mayfly::NewSqliteStore(dir.path() + "/ca.db");
  if (!store.ok()) {
    Fail(state, store.status());
    return;
  }
  const absl::Time expiry = Clock::Real().Now() + absl::Hours(1);
  std::vector<double> latencies_ms(kCallers * kCommitSamples);
  std::atomic<int> failures{0};
  for (auto _ : state) {
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c) {
      callers.emplace_back([&, c] {
        for (int i = 0; i < kCommitSamples; ++i) {
          auto start = std::chrono::steady_clock::now();
          absl::Status s =
              (*store)->UseToken(absl::StrCat("jti-", c, "-", i), expiry);
          std::chrono::duration<double, std::milli> took =
              std::chrono::steady_clock::now() - start;
          latencies_ms[c * kCommitSamples + i] = took.count();
          if (!s.ok()) {
            failures.fetch_add(1);
          }
        }
      });
    }
    for (std::thread& t : callers) {
      t.join();
    }
  }
  if (failures.load() > 0) {
    Fail(state, absl::InternalError("UseToken failed"));
    return;
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  size_t p99 = latencies_ms.size() * 99 / 100;
  state.counters["store.sqlite_commit_p99_ms"] = latencies_ms[p99];
}

BENCHMARK_CAPTURE(BM_Issuance, memory, "memory",
                  "issuance.memory_8callers_per_s")
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Issuance, sqlite, "sqlite",
                  "issuance.sqlite_8callers_per_s")
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Issuance, postgres, "postgres",
                  "issuance.postgres_8callers_per_s")
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SqliteCommit)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// SelfPath returns the path of this executable.
std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

int main(int argc, char** argv) {
  // The PostgreSQL figure needs a server: run again under
  // scripts/with-postgres, which starts a private one and exports
  // MAYFLY_TEST_POSTGRES (and stops it afterwards).
  if (getenv("MAYFLY_TEST_POSTGRES") == nullptr) {
    std::string script =
        absl::StrCat(MAYFLY_SOURCE_DIR, "/scripts/with-postgres");
    std::string self = SelfPath();
    std::vector<char*> args = {script.data(), self.data()};
    for (int i = 1; i < argc; ++i) {
      args.push_back(argv[i]);
    }
    args.push_back(nullptr);
    execv(script.c_str(), args.data());
    perror("store_bench: cannot run scripts/with-postgres");
    return 1;
  }
  return mayfly_bench::RunBenchmarks(argc, argv);
}

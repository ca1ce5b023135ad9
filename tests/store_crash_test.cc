// What a durable store acknowledged must survive a crash, and several nodes
// on one PostgreSQL database must share one truth.
//
// - Crash durability: a child process (this test binary, re-executed into
//   the hidden [crash-child] test) consumes tokens, records certificates
//   and revokes serials as fast as it can from several threads, writing
//   each acknowledged id to a pipe; the parent SIGKILLs it at a random
//   moment, reopens the store and checks that every acknowledged token is
//   refused as a replay, every acknowledged certificate is recorded and
//   every acknowledged revocation blocks renewal. 20 rounds per backend.
// - Two nodes: two stores, then two Authority instances, on one PostgreSQL
//   schema; every token sent to both at the same moment is accepted once; a
//   revocation through one node is seen by the other.
// - A PostgreSQL restart under load: Unavailable while it is down, correct
//   service after it is back, nothing half-written.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "mayfly/authority.h"
#include "mayfly/store.h"
#include "store_conformance.h"
#include "store_test_util.h"
#include "test_util.h"

extern char** environ;

namespace mayfly {
namespace testing {
namespace {

constexpr int kCrashRounds = 20;
constexpr int kChildThreads = 4;
// The fd on which the child writes its acknowledgements.
constexpr int kAckFd = 3;

absl::StatusOr<std::unique_ptr<Store>> OpenBackend(const std::string& backend,
                                                   const std::string& target) {
  if (backend == "sqlite") {
    return NewSqliteStore(target);
  }
  return NewPostgresStore(target);
}

// WriteLine writes `line` with one write(2): lines shorter than PIPE_BUF
// never interleave, so each thread's acknowledgements arrive whole.
void WriteLine(const std::string& line) {
  std::string out = line + "\n";
  ssize_t n = write(kAckFd, out.data(), out.size());
  (void)n;
}

// The child: runs until it is killed. Without the environment of the
// crash tests it does nothing, so running hidden tests by hand is harmless.
TEST_CASE("Store crash child (started by the crash tests)",
          "[.][crash-child]") {
  const char* backend = std::getenv("MAYFLY_CRASH_BACKEND");
  const char* target = std::getenv("MAYFLY_CRASH_TARGET");
  const char* prefix = std::getenv("MAYFLY_CRASH_PREFIX");
  if (backend == nullptr || target == nullptr || prefix == nullptr) {
    return;
  }
  auto store = OpenBackend(backend, target);
  if (!store.ok()) {
    WriteLine(absl::StrCat("E open: ", store.status().ToString()));
    _exit(1);
  }
  WriteLine("READY");
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&store, prefix, t] {
      std::string previous;
      for (int i = 0;; ++i) {
        const std::string id = absl::StrCat(prefix, "w", t, "-", i);
        absl::Status s = (*store)->UseToken(id, kNow + absl::Hours(1));
        WriteLine(s.ok() ? absl::StrCat("T ", id)
                         : absl::StrCat("E token ", s.ToString()));
        // Each certificate renews the thread's previous one; every third
        // iteration revokes the previous one, so the lineage of the new
        // certificate is revoked too.
        s = (*store)->RecordCertificate(Cert(id, previous));
        WriteLine(s.ok() ? absl::StrCat("C ", id)
                         : absl::StrCat("E certificate ", s.ToString()));
        if (i % 3 == 2) {
          s = (*store)->Revoke(Revocation(previous));
          WriteLine(s.ok() ? absl::StrCat("R ", previous)
                           : absl::StrCat("E revoke ", s.ToString()));
        }
        previous = id;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();  // never: the parent kills us
  }
}

// Acks is what one child acknowledged before it died.
struct Acks {
  bool ready = false;
  std::vector<std::string> tokens;
  std::vector<std::string> certificates;
  std::vector<std::string> revocations;
  std::vector<std::string> errors;
};

void ParseLines(std::string* buffer, Acks* acks) {
  size_t end;
  while ((end = buffer->find('\n')) != std::string::npos) {
    std::string line = buffer->substr(0, end);
    buffer->erase(0, end + 1);
    if (line == "READY") {
      acks->ready = true;
    } else if (absl::StartsWith(line, "T ")) {
      acks->tokens.push_back(line.substr(2));
    } else if (absl::StartsWith(line, "C ")) {
      acks->certificates.push_back(line.substr(2));
    } else if (absl::StartsWith(line, "R ")) {
      acks->revocations.push_back(line.substr(2));
    } else {
      acks->errors.push_back(line);
    }
  }
}

// ReadUntil reads from `fd` until `done` holds, EOF, or `deadline`.
// Returns false on EOF.
template <typename Pred>
bool ReadUntil(int fd, absl::Time deadline, std::string* buffer, Acks* acks,
               Pred done) {
  char chunk[65536];
  while (!done()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return true;
    }
    pollfd p = {fd, POLLIN, 0};
    int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    if (poll(&p, 1, timeout_ms) <= 0) {
      continue;
    }
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      return false;
    }
    buffer->append(chunk, static_cast<size_t>(n));
    ParseLines(buffer, acks);
  }
  return true;
}

// RunChildAndKill starts the child on the store, waits until it is
// working, lets it run for a random while, SIGKILLs it and returns what it
// acknowledged.
Acks RunChildAndKill(const std::string& backend, const std::string& target,
                     const std::string& prefix, std::mt19937* rng) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copy: the child keeps only kAckFd.
  posix_spawn_file_actions_adddup2(&actions, fds[1], kAckFd);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);

  std::vector<std::string> env_strings = {
      absl::StrCat("MAYFLY_CRASH_BACKEND=", backend),
      absl::StrCat("MAYFLY_CRASH_TARGET=", target),
      absl::StrCat("MAYFLY_CRASH_PREFIX=", prefix)};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "MAYFLY_CRASH_")) {
      env_strings.push_back(*e);
    }
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string spec = "[crash-child]";
  std::vector<char*> argv = {exe.data(), spec.data(), nullptr};

  pid_t pid = 0;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  REQUIRE(rc == 0);

  Acks acks;
  std::string buffer;
  // Opening the store may take a while (a PostgreSQL connection); then
  // the kill comes at a random moment of the load.
  bool open = ReadUntil(fds[0], absl::Now() + absl::Seconds(60), &buffer, &acks,
                        [&] { return acks.ready || !acks.errors.empty(); });
  if (open && acks.ready) {
    std::uniform_int_distribution<int> delay_ms(5, 300);
    ReadUntil(fds[0], absl::Now() + absl::Milliseconds(delay_ms(*rng)), &buffer,
              &acks, [] { return false; });
  }
  kill(pid, SIGKILL);
  // Everything written before the kill is still in the pipe.
  ReadUntil(fds[0], absl::InfiniteFuture(), &buffer, &acks,
            [] { return false; });
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child status " << status);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
  return acks;
}

// ForEachParallel runs `fn(i)` for i in [0, n) on 8 threads, so checks that
// write (UseToken) share commits.
template <typename Fn>
void ForEachParallel(size_t n, Fn fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        fn(i);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

// CheckAcks reopens the store and counts what it lost of `acks`.
void CheckAcks(const std::string& backend, const std::string& target,
               const Acks& acks) {
  auto store = OpenBackend(backend, target);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  Store& s = **store;
  std::atomic<int> lost_tokens{0}, lost_certificates{0}, lost_revocations{0};
  ForEachParallel(acks.tokens.size(), [&](size_t i) {
    if (s.UseToken(acks.tokens[i], kNow + absl::Hours(1)).code() !=
        absl::StatusCode::kAlreadyExists) {
      lost_tokens.fetch_add(1);
    }
  });
  ForEachParallel(acks.certificates.size(), [&](size_t i) {
    if (!s.GetCertificate(acks.certificates[i]).ok()) {
      lost_certificates.fetch_add(1);
    }
  });
  ForEachParallel(acks.revocations.size(), [&](size_t i) {
    auto revocation = s.GetRevocation(acks.revocations[i]);
    auto lineage = s.FindRevokedInLineage(acks.revocations[i]);
    if (!revocation.ok() || !revocation->has_value() || !lineage.ok() ||
        !lineage->has_value()) {
      lost_revocations.fetch_add(1);
    }
  });
  CHECK(lost_tokens.load() == 0);
  CHECK(lost_certificates.load() == 0);
  CHECK(lost_revocations.load() == 0);
}

void CrashRounds(const std::string& backend, const std::string& target) {
  std::mt19937 rng(std::random_device{}());
  size_t total = 0;
  for (int round = 0; round < kCrashRounds; ++round) {
    INFO("round " << round);
    Acks acks =
        RunChildAndKill(backend, target, absl::StrCat("r", round, "-"), &rng);
    INFO((acks.errors.empty() ? "" : acks.errors.front()));
    REQUIRE(acks.errors.empty());
    REQUIRE(acks.ready);
    total +=
        acks.tokens.size() + acks.certificates.size() + acks.revocations.size();
    CheckAcks(backend, target, acks);
  }
  // The child must have been killed while working, not before.
  CHECK(total >= static_cast<size_t>(kCrashRounds));
}

TEST_CASE("Store: sqlite: nothing acknowledged is lost to SIGKILL",
          "[store][sqlite][crash]") {
  TempDir dir;
  CrashRounds("sqlite", dir.path() + "/ca.db");
}

TEST_CASE("Store: postgres: nothing acknowledged is lost to SIGKILL",
          "[store][postgres][crash]") {
  CrashRounds("postgres", FreshPostgresSchema());
}

// ---------------------------------------------------------------------------
// Two nodes on one database.

TEST_CASE("Store: postgres: two nodes accept each token exactly once",
          "[store][postgres]") {
  const std::string conninfo = FreshPostgresSchema();
  auto a = NewPostgresStore(conninfo);
  auto b = NewPostgresStore(conninfo);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  constexpr int kIds = 1000;
  constexpr int kPairs = 4;  // thread pairs, kIds / kPairs ids each
  std::vector<std::atomic<int>> wins(kIds);
  std::atomic<int> wrong_errors{0};
  // arrivals[p] counts threads of pair p that reached each id: both send
  // id k once arrivals[p] reaches 2 * (k + 1).
  std::vector<std::atomic<int>> arrivals(kPairs);
  std::vector<std::thread> threads;
  for (int p = 0; p < kPairs; ++p) {
    for (Store* node : {a->get(), b->get()}) {
      threads.emplace_back([&, p, node] {
        for (int k = 0; k < kIds / kPairs; ++k) {
          const int id = p * (kIds / kPairs) + k;
          arrivals[p].fetch_add(1);
          while (arrivals[p].load() < 2 * (k + 1)) {
            std::this_thread::yield();
          }
          absl::Status s =
              node->UseToken(absl::StrCat("jti-", id), kNow + absl::Hours(1));
          if (s.ok()) {
            wins[id].fetch_add(1);
          } else if (s.code() != absl::StatusCode::kAlreadyExists) {
            wrong_errors.fetch_add(1);
          }
        }
      });
    }
  }
  for (std::thread& t : threads) {
    t.join();
  }
  int total = 0;
  int not_once = 0;
  for (const std::atomic<int>& w : wins) {
    total += w.load();
    not_once += w.load() == 1 ? 0 : 1;
  }
  CHECK(total == kIds);
  CHECK(not_once == 0);
  CHECK(wrong_errors.load() == 0);
  CHECK(CountsOf(**a) == MakeCounts(kIds, 0, 0));
}

TEST_CASE("Store: postgres: a revocation on one node is seen by the other",
          "[store][postgres]") {
  const std::string conninfo = FreshPostgresSchema();
  auto a = NewPostgresStore(conninfo);
  auto b = NewPostgresStore(conninfo);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  for (int i = 0; i < 50; ++i) {
    const std::string parent = absl::StrCat("p", i);
    const std::string child = absl::StrCat("c", i);
    REQUIRE((*a)->RecordCertificate(Cert(parent)).ok());
    REQUIRE((*b)->RecordCertificate(Cert(child, parent)).ok());
    CHECK(LineageRevokedBy(**b, child) == "");
    REQUIRE((*a)->Revoke(Revocation(parent)).ok());
    // No waiting: once Revoke returned, node B refuses the renewal.
    CHECK(LineageRevokedBy(**b, child) == parent);
    CHECK(StatusIs((*b)->Revoke(Revocation(parent)),
                   absl::StatusCode::kAlreadyExists));
  }
}

// Two Authority instances (CA nodes) over one database: the whole Sign and
// Renew paths, not only the store.
TEST_CASE("Store: postgres: two CA nodes issue each token once",
          "[store][postgres][authority]") {
  const std::string conninfo = FreshPostgresSchema();
  TestCa t;
  auto node = [&]() {
    AuthorityParts parts{
        {t.certs.root}, t.certs.intermediate, t.certs.intermediate_key, {}};
    parts.config.dns_names = {"localhost", "ca.internal"};
    parts.config.provisioners = {t.provisioner};
    auto store = NewPostgresStore(conninfo);
    INFO(store.status().ToString());
    REQUIRE(store.ok());
    return Unwrap(Authority::FromParts(parts, std::move(*store), t.clock));
  };
  std::unique_ptr<Authority> a = node();
  std::unique_ptr<Authority> b = node();

  // 1,000 requests, each presented to both nodes at the same moment.
  constexpr int kRequests = 1000;
  constexpr int kPairs = 4;
  struct Request {
    CertificateRequest csr;
    std::string ott;
  };
  std::vector<Request> requests;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  for (int i = 0; i < kRequests; ++i) {
    const std::string name = absl::StrCat("svc", i, ".example.com");
    requests.push_back({TestCa::Csr(key, name, {name}), t.SignToken(name)});
  }
  std::vector<std::atomic<int>> issued(kRequests);
  std::vector<std::atomic<int>> arrivals(kPairs);
  std::atomic<int> wrong_errors{0};
  std::mutex first_mu;
  std::vector<IssuedCertificate> first;  // one certificate, for the renewal
  std::vector<std::thread> threads;
  for (int p = 0; p < kPairs; ++p) {
    for (Authority* ca : {a.get(), b.get()}) {
      threads.emplace_back([&, p, ca] {
        for (int k = 0; k < kRequests / kPairs; ++k) {
          const int i = p * (kRequests / kPairs) + k;
          arrivals[p].fetch_add(1);
          while (arrivals[p].load() < 2 * (k + 1)) {
            std::this_thread::yield();
          }
          auto cert = ca->Sign(requests[i].csr, requests[i].ott, {});
          if (cert.ok()) {
            issued[i].fetch_add(1);
            if (i == 0) {
              std::lock_guard<std::mutex> lock(first_mu);
              first.push_back(*std::move(cert));
            }
          } else if (cert.status().code() !=
                     absl::StatusCode::kUnauthenticated) {
            wrong_errors.fetch_add(1);
          }
        }
      });
    }
  }
  for (std::thread& th : threads) {
    th.join();
  }
  int total = 0;
  int not_once = 0;
  for (const std::atomic<int>& n : issued) {
    total += n.load();
    not_once += n.load() == 1 ? 0 : 1;
  }
  CHECK(total == kRequests);
  CHECK(not_once == 0);
  CHECK(wrong_errors.load() == 0);
  StoreCounts counts = Unwrap(a->store().Counts());
  CHECK(counts.used_tokens == kRequests);
  CHECK(counts.certificates == kRequests);

  // Revoked through node A, refused renewal by node B at once.
  REQUIRE(first.size() == 1);
  IssuedCertificate renewed = Unwrap(b->Renew(first[0].chain));
  RevokeRequest revoke;
  revoke.serial = first[0].leaf.SerialDecimal();
  revoke.ott = t.RevokeToken(revoke.serial);
  REQUIRE(a->Revoke(revoke).ok());
  CHECK(StatusIs(b->Renew(first[0].chain).status(),
                 absl::StatusCode::kUnauthenticated));
  // Nor can the renewal made before the revocation be renewed (lineage).
  CHECK(StatusIs(b->Renew(renewed.chain).status(),
                 absl::StatusCode::kUnauthenticated));
}

// ---------------------------------------------------------------------------
// A server restart under load.

TEST_CASE("Store: postgres: a server restart under load",
          "[store][postgres][restart]") {
  const std::string stop = PostgresEnvCommand("MAYFLY_TEST_POSTGRES_STOP");
  const std::string start = PostgresEnvCommand("MAYFLY_TEST_POSTGRES_START");
  const std::string conninfo = FreshPostgresSchema();
  auto opened = NewPostgresStore(conninfo);
  REQUIRE(opened.ok());
  Store& store = **opened;

  absl::Mutex mu;
  std::vector<std::string> acked;  // ids of tokens and certificates
  std::atomic<int> unavailable{0};
  std::atomic<int> other_errors{0};
  std::atomic<int> ops{0};
  std::atomic<bool> stop_load{false};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      for (int i = 0; !stop_load.load(); ++i) {
        const std::string id = absl::StrCat("load", t, "-", i);
        absl::Status s = store.UseToken(id, kNow + absl::Hours(1));
        if (s.ok()) {
          s = store.RecordCertificate(Cert(id));
        }
        ops.fetch_add(1);
        if (s.ok()) {
          absl::MutexLock lock(&mu);
          acked.push_back(id);
        } else if (s.code() == absl::StatusCode::kUnavailable) {
          unavailable.fetch_add(1);
          // Back off a little rather than spin on a refused connection.
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        } else {
          other_errors.fetch_add(1);
        }
      }
    });
  }
  auto wait_for_ops = [&](int n) {
    const int target = ops.load() + n;
    while (ops.load() < target) {
      std::this_thread::yield();
    }
  };

  wait_for_ops(50);
  CommandResult stopped = Run(stop);
  INFO(stopped.output);
  REQUIRE(stopped.exit_code == 0);
  // While it is down, every operation fails with Unavailable.
  CHECK(StatusIs(store.UseToken("probe-down", kNow),
                 absl::StatusCode::kUnavailable));
  CHECK(StatusIs(store.GetCertificate("x").status(),
                 absl::StatusCode::kUnavailable));
  CHECK(
      StatusIs(store.NextCrlNumber().status(), absl::StatusCode::kUnavailable));
  wait_for_ops(20);
  CommandResult started = Run(start);
  INFO(started.output);
  REQUIRE(started.exit_code == 0);
  // Back at once: dead pooled connections are replaced, not used.
  CHECK(store.UseToken("probe-up", kNow).ok());
  CHECK(store.NextCrlNumber().ok());
  wait_for_ops(50);
  stop_load.store(true);
  for (std::thread& t : load) {
    t.join();
  }

  CHECK(other_errors.load() == 0);
  CHECK(unavailable.load() > 0);
  // Every acknowledged write is there, whole.
  std::atomic<int> lost{0};
  ForEachParallel(acked.size(), [&](size_t i) {
    auto record = store.GetCertificate(acked[i]);
    if (!record.ok() || record->names != Cert(acked[i]).names ||
        record->not_after != Cert(acked[i]).not_after ||
        store.UseToken(acked[i], kNow).code() !=
            absl::StatusCode::kAlreadyExists) {
      lost.fetch_add(1);
    }
  });
  CHECK(lost.load() == 0);
  // Each statement was all or nothing: no row lacks a column, and every
  // recorded certificate belongs to a used token.
  CHECK(PostgresExec(conninfo,
                     "SELECT count(*) FROM mayfly_certificates c WHERE NOT "
                     "EXISTS (SELECT 1 FROM mayfly_used_tokens t WHERE t.id "
                     "= convert_to(c.serial, 'UTF8'))") == "0");
}

}  // namespace
}  // namespace testing
}  // namespace mayfly

// The Store conformance suite: every backend must pass the same functions.
// Each takes a StoreFactory that returns a fresh, empty store; a backend's
// test file runs every suite function against its factory, one TEST_CASE
// each (tests/store_test.cc does so for memory, SQLite and PostgreSQL).

#ifndef MAYFLY_TESTS_STORE_CONFORMANCE_H_
#define MAYFLY_TESTS_STORE_CONFORMANCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "mayfly/store.h"
#include "test_util.h"

namespace mayfly {
namespace testing {

using StoreFactory = std::function<std::unique_ptr<Store>()>;

// A fixed instant (2026-11-25T00:45:00Z); stores never read a clock.
inline const absl::Time kNow = absl::FromUnixSeconds(1795567500);

inline CertificateRecord Cert(const std::string& serial,
                              const std::string& renewed_from = "",
                              absl::Time not_after = kNow + absl::Hours(24)) {
  CertificateRecord r;
  r.serial = serial;
  r.subject = "svc.example.com";
  r.names = {"svc.example.com", "10.0.0.7"};
  r.not_before = not_after - absl::Hours(24) - absl::Minutes(1);
  r.not_after = not_after;
  r.provisioner = "admin@example.com";
  r.renewed_from = renewed_from;
  return r;
}

inline RevocationRecord Revocation(
    const std::string& serial, absl::Time revoked_at = kNow,
    absl::Time expires_at = absl::InfiniteFuture()) {
  RevocationRecord r;
  r.serial = serial;
  r.reason_code = 1;
  r.reason = "key compromise drill";
  r.revoked_at = revoked_at;
  r.expires_at = expires_at;
  r.passive = true;
  r.mtls = false;
  r.provisioner = "admin@example.com";
  return r;
}

inline StoreCounts CountsOf(Store& store) {
  auto counts = store.Counts();
  REQUIRE(counts.ok());
  return *counts;
}

inline StoreCounts MakeCounts(int64_t tokens, int64_t certs,
                              int64_t revocations) {
  StoreCounts c;
  c.used_tokens = tokens;
  c.certificates = certs;
  c.revocations = revocations;
  return c;
}

inline void CheckSameCert(const CertificateRecord& got,
                          const CertificateRecord& want) {
  CHECK(got.serial == want.serial);
  CHECK(got.subject == want.subject);
  CHECK(got.names == want.names);
  CHECK(got.not_before == want.not_before);
  CHECK(got.not_after == want.not_after);
  CHECK(got.provisioner == want.provisioner);
  CHECK(got.renewed_from == want.renewed_from);
}

inline void CheckSameRevocation(const RevocationRecord& got,
                                const RevocationRecord& want) {
  CHECK(got.serial == want.serial);
  CHECK(got.reason_code == want.reason_code);
  CHECK(got.reason == want.reason);
  CHECK(got.revoked_at == want.revoked_at);
  CHECK(got.expires_at == want.expires_at);
  CHECK(got.passive == want.passive);
  CHECK(got.mtls == want.mtls);
  CHECK(got.provisioner == want.provisioner);
}

// LineageRevokedBy returns the serial of the revocation found in the lineage
// of `serial`, or "" if none.
inline std::string LineageRevokedBy(Store& store, const std::string& serial) {
  auto found = store.FindRevokedInLineage(serial);
  REQUIRE(found.ok());
  return found->has_value() ? (*found)->serial : "";
}

// RecordChain records serials prefix0 .. prefix<n-1>, each renewed from the
// one before, and returns them.
inline std::vector<std::string> RecordChain(Store& store,
                                            const std::string& prefix, int n) {
  std::vector<std::string> serials;
  for (int i = 0; i < n; ++i) {
    std::string serial = absl::StrCat(prefix, i);
    REQUIRE(store
                .RecordCertificate(
                    Cert(serial, i == 0 ? "" : serials.back(),
                         kNow + absl::Hours(24) + absl::Hours(16) * i))
                .ok());
    serials.push_back(serial);
  }
  return serials;
}

// ---------------------------------------------------------------------------
// Single-threaded contract.

inline void TokenConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  REQUIRE(CountsOf(*store) == MakeCounts(0, 0, 0));

  SECTION("first use succeeds, a replay is AlreadyExists") {
    REQUIRE(store->UseToken("jti-1", kNow + absl::Minutes(5)).ok());
    CHECK(StatusIs(store->UseToken("jti-1", kNow + absl::Minutes(5)),
                   absl::StatusCode::kAlreadyExists, "already used"));
    // A replay with another expiry is still a replay.
    CHECK(StatusIs(store->UseToken("jti-1", kNow + absl::Hours(1)),
                   absl::StatusCode::kAlreadyExists));
    CHECK(CountsOf(*store) == MakeCounts(1, 0, 0));
    CHECK(store->UseToken("jti-2", kNow + absl::Minutes(5)).ok());
    CHECK(CountsOf(*store) == MakeCounts(2, 0, 0));
  }

  SECTION("ids are compared exactly") {
    REQUIRE(store->UseToken("abc", kNow).ok());
    CHECK(store->UseToken("ABC", kNow).ok());
    CHECK(store->UseToken("abc ", kNow).ok());
    CHECK(store->UseToken(std::string("abc\0", 4), kNow).ok());
    CHECK(CountsOf(*store) == MakeCounts(4, 0, 0));
  }

  SECTION("an expired id is still used until pruned, then forgotten") {
    REQUIRE(store->UseToken("jti", kNow + absl::Minutes(5)).ok());
    CHECK(StatusIs(store->UseToken("jti", kNow + absl::Minutes(5)),
                   absl::StatusCode::kAlreadyExists));
    auto pruned = store->Prune(kNow + absl::Minutes(6), absl::Hours(1));
    REQUIRE(pruned.ok());
    CHECK(*pruned == 1);
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
    CHECK(store->UseToken("jti", kNow + absl::Minutes(11)).ok());
  }
}

inline void CertificateConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();

  SECTION("a record round-trips") {
    CertificateRecord want =
        Cert("1234567890123456789012345678901234567", "42");
    want.names = {"a.example.com", "b.example.com", "10.0.0.1",
                  "mail@example.com", "spiffe://example.com/x"};
    REQUIRE(store->RecordCertificate(want).ok());
    auto got = store->GetCertificate(want.serial);
    REQUIRE(got.ok());
    CheckSameCert(*got, want);
    CHECK(CountsOf(*store) == MakeCounts(0, 1, 0));
  }

  SECTION("empty names and sub-second times round-trip") {
    CertificateRecord want = Cert("7");
    want.names.clear();
    want.subject = "";
    want.not_before = kNow + absl::Milliseconds(250);
    want.not_after = kNow + absl::Hours(1) + absl::Microseconds(5);
    REQUIRE(store->RecordCertificate(want).ok());
    auto got = store->GetCertificate("7");
    REQUIRE(got.ok());
    // Backends may store whole seconds; the CA issues whole seconds only.
    CHECK(absl::ToUnixSeconds(got->not_before) ==
          absl::ToUnixSeconds(want.not_before));
    CHECK(absl::ToUnixSeconds(got->not_after) ==
          absl::ToUnixSeconds(want.not_after));
    CHECK(got->names.empty());
  }

  SECTION("a duplicate serial is AlreadyExists and keeps the first record") {
    REQUIRE(store->RecordCertificate(Cert("100")).ok());
    CertificateRecord other = Cert("100", "99");
    other.subject = "other.example.com";
    CHECK(StatusIs(store->RecordCertificate(other),
                   absl::StatusCode::kAlreadyExists, "100"));
    auto got = store->GetCertificate("100");
    REQUIRE(got.ok());
    CheckSameCert(*got, Cert("100"));
    CHECK(CountsOf(*store) == MakeCounts(0, 1, 0));
  }

  SECTION("an unknown serial is NotFound") {
    REQUIRE(store->RecordCertificate(Cert("100")).ok());
    CHECK(StatusIs(store->GetCertificate("101").status(),
                   absl::StatusCode::kNotFound, "101"));
    CHECK(StatusIs(store->GetCertificate("").status(),
                   absl::StatusCode::kNotFound));
  }

  SECTION("an empty serial is InvalidArgument") {
    CHECK(StatusIs(store->RecordCertificate(Cert("")),
                   absl::StatusCode::kInvalidArgument, "serial"));
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
  }
}

inline void IssueConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  const absl::Time exp = kNow + absl::Minutes(5);

  SECTION("both the token and the record are stored") {
    REQUIRE(store->UseTokenAndRecord("jti-1", exp, Cert("500")).ok());
    CHECK(CountsOf(*store) == MakeCounts(1, 1, 0));
    auto got = store->GetCertificate("500");
    REQUIRE(got.ok());
    CheckSameCert(*got, Cert("500"));
    // The token is used for UseToken too, and the other way round.
    CHECK(StatusIs(store->UseToken("jti-1", exp),
                   absl::StatusCode::kAlreadyExists));
    REQUIRE(store->UseToken("jti-2", exp).ok());
    CHECK(StatusIs(store->UseTokenAndRecord("jti-2", exp, Cert("501")),
                   absl::StatusCode::kAlreadyExists, "already used"));
    CHECK(StatusIs(store->GetCertificate("501").status(),
                   absl::StatusCode::kNotFound));
  }

  SECTION("a replay is AlreadyExists and records nothing") {
    REQUIRE(store->UseTokenAndRecord("jti", exp, Cert("600")).ok());
    CHECK(StatusIs(store->UseTokenAndRecord("jti", exp, Cert("601")),
                   absl::StatusCode::kAlreadyExists, "already used"));
    CHECK(CountsOf(*store) == MakeCounts(1, 1, 0));
    CHECK(StatusIs(store->GetCertificate("601").status(),
                   absl::StatusCode::kNotFound));
  }

  SECTION("a duplicate serial is Aborted and leaves the token unused") {
    REQUIRE(store->RecordCertificate(Cert("700")).ok());
    CHECK(StatusIs(store->UseTokenAndRecord("jti-x", exp, Cert("700", "1")),
                   absl::StatusCode::kAborted, "700"));
    CHECK(CountsOf(*store) == MakeCounts(0, 1, 0));
    auto got = store->GetCertificate("700");
    REQUIRE(got.ok());
    CheckSameCert(*got, Cert("700"));
    CHECK(store->UseToken("jti-x", exp).ok());
  }

  SECTION("an empty serial is InvalidArgument and uses no token") {
    CHECK(StatusIs(store->UseTokenAndRecord("jti-y", exp, Cert("")),
                   absl::StatusCode::kInvalidArgument, "serial"));
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
  }

  SECTION("the lineage of a record made this way is walked") {
    REQUIRE(store->RecordCertificate(Cert("800")).ok());
    REQUIRE(store->UseTokenAndRecord("jti-z", exp, Cert("801", "800")).ok());
    RevocationRecord r;
    r.serial = "800";
    r.revoked_at = kNow;
    REQUIRE(store->Revoke(r).ok());
    CHECK(LineageRevokedBy(*store, "801") == "800");
  }
}

inline void RevocationConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();

  SECTION("a revocation round-trips") {
    RevocationRecord want = Revocation("555", kNow, kNow + absl::Hours(24));
    want.reason_code = 10;
    want.reason = "";
    want.passive = false;
    want.mtls = true;
    want.provisioner = "";
    REQUIRE(store->Revoke(want).ok());
    auto got = store->GetRevocation("555");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CheckSameRevocation(**got, want);
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 1));
  }

  SECTION("an unknown expiry round-trips as InfiniteFuture") {
    REQUIRE(store->Revoke(Revocation("556")).ok());
    auto got = store->GetRevocation("556");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->expires_at == absl::InfiniteFuture());
  }

  SECTION("revoking twice is AlreadyExists and keeps the first record") {
    REQUIRE(store->Revoke(Revocation("555")).ok());
    RevocationRecord again = Revocation("555", kNow + absl::Minutes(1));
    again.reason = "second";
    CHECK(StatusIs(store->Revoke(again), absl::StatusCode::kAlreadyExists,
                   "already revoked"));
    auto got = store->GetRevocation("555");
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CheckSameRevocation(**got, Revocation("555"));
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 1));
  }

  SECTION("an unrevoked serial has no revocation") {
    REQUIRE(store->RecordCertificate(Cert("1")).ok());
    auto got = store->GetRevocation("1");
    REQUIRE(got.ok());
    CHECK(!got->has_value());
  }

  SECTION("a serial need not be recorded to be revoked") {
    REQUIRE(store->Revoke(Revocation("999")).ok());
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 1));
    CHECK(StatusIs(store->GetCertificate("999").status(),
                   absl::StatusCode::kNotFound));
  }

  SECTION("an empty serial is InvalidArgument") {
    CHECK(StatusIs(store->Revoke(Revocation("")),
                   absl::StatusCode::kInvalidArgument, "serial"));
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
  }
}

inline void LineageConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();

  SECTION("depth 0: an unknown serial") {
    CHECK(LineageRevokedBy(*store, "1") == "");
    REQUIRE(store->Revoke(Revocation("1")).ok());
    CHECK(LineageRevokedBy(*store, "1") == "1");
  }

  SECTION("depth 0: a first issue") {
    REQUIRE(store->RecordCertificate(Cert("1")).ok());
    CHECK(LineageRevokedBy(*store, "1") == "");
    REQUIRE(store->Revoke(Revocation("1")).ok());
    CHECK(LineageRevokedBy(*store, "1") == "1");
  }

  SECTION("the whole record comes back") {
    std::vector<std::string> chain = RecordChain(*store, "g", 3);
    RevocationRecord want = Revocation("g0", kNow, kNow + absl::Hours(24));
    REQUIRE(store->Revoke(want).ok());
    auto found = store->FindRevokedInLineage("g2");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CheckSameRevocation(**found, want);
  }

  SECTION("revoking generation 0 reaches every renewal") {
    std::vector<std::string> chain = RecordChain(*store, "g", 5);
    std::vector<std::string> other = RecordChain(*store, "o", 3);
    for (const std::string& s : chain) {
      CHECK(LineageRevokedBy(*store, s) == "");
    }
    REQUIRE(store->Revoke(Revocation("g0")).ok());
    for (const std::string& s : chain) {
      INFO(s);
      CHECK(LineageRevokedBy(*store, s) == "g0");
    }
    for (const std::string& s : other) {
      CHECK(LineageRevokedBy(*store, s) == "");
    }
  }

  SECTION("revoking a middle generation reaches only its descendants") {
    std::vector<std::string> chain = RecordChain(*store, "g", 5);
    REQUIRE(store->Revoke(Revocation("g2")).ok());
    CHECK(LineageRevokedBy(*store, "g0") == "");
    CHECK(LineageRevokedBy(*store, "g1") == "");
    CHECK(LineageRevokedBy(*store, "g2") == "g2");
    CHECK(LineageRevokedBy(*store, "g3") == "g2");
    CHECK(LineageRevokedBy(*store, "g4") == "g2");
    // The nearest revocation is the one returned.
    REQUIRE(store->Revoke(Revocation("g0")).ok());
    REQUIRE(store->Revoke(Revocation("g3")).ok());
    CHECK(LineageRevokedBy(*store, "g1") == "g0");
    CHECK(LineageRevokedBy(*store, "g2") == "g2");
    CHECK(LineageRevokedBy(*store, "g4") == "g3");
  }

  SECTION("branches: a revoked sibling does not reach the other branch") {
    REQUIRE(store->RecordCertificate(Cert("root")).ok());
    REQUIRE(store->RecordCertificate(Cert("a", "root")).ok());
    REQUIRE(store->RecordCertificate(Cert("b", "root")).ok());
    REQUIRE(store->RecordCertificate(Cert("a1", "a")).ok());
    REQUIRE(store->RecordCertificate(Cert("b1", "b")).ok());
    REQUIRE(store->Revoke(Revocation("a")).ok());
    CHECK(LineageRevokedBy(*store, "a1") == "a");
    CHECK(LineageRevokedBy(*store, "b1") == "");
    CHECK(LineageRevokedBy(*store, "root") == "");
  }

  SECTION("a parent that was never recorded is still checked") {
    REQUIRE(store->RecordCertificate(Cert("child", "ghost")).ok());
    CHECK(LineageRevokedBy(*store, "child") == "");
    REQUIRE(store->Revoke(Revocation("ghost")).ok());
    CHECK(LineageRevokedBy(*store, "child") == "ghost");
  }

  SECTION("a deep lineage") {
    constexpr int kDepth = 1000;
    std::vector<std::string> chain = RecordChain(*store, "d", kDepth);
    CHECK(LineageRevokedBy(*store, chain.back()) == "");
    REQUIRE(store->Revoke(Revocation("d0")).ok());
    CHECK(LineageRevokedBy(*store, chain.back()) == "d0");
  }

  SECTION("a cycle is DataLoss") {
    REQUIRE(store->RecordCertificate(Cert("x", "y")).ok());
    REQUIRE(store->RecordCertificate(Cert("y", "z")).ok());
    REQUIRE(store->RecordCertificate(Cert("z", "x")).ok());
    CHECK(StatusIs(store->FindRevokedInLineage("x").status(),
                   absl::StatusCode::kDataLoss, "cycle"));
    CHECK(StatusIs(store->FindRevokedInLineage("z").status(),
                   absl::StatusCode::kDataLoss, "cycle"));
  }

  SECTION("a self-loop is DataLoss") {
    REQUIRE(store->RecordCertificate(Cert("self", "self")).ok());
    CHECK(StatusIs(store->FindRevokedInLineage("self").status(),
                   absl::StatusCode::kDataLoss, "cycle"));
  }

  SECTION("a tail entering a cycle is DataLoss") {
    REQUIRE(store->RecordCertificate(Cert("t", "x")).ok());
    REQUIRE(store->RecordCertificate(Cert("x", "y")).ok());
    REQUIRE(store->RecordCertificate(Cert("y", "x")).ok());
    CHECK(StatusIs(store->FindRevokedInLineage("t").status(),
                   absl::StatusCode::kDataLoss, "cycle"));
  }
}

inline void ListRevocationsConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();

  SECTION("empty") {
    auto list = store->ListRevocations(kNow);
    REQUIRE(list.ok());
    CHECK(list->empty());
  }

  SECTION("ordered by revoked_at then serial; expired entries left out") {
    const absl::Time t0 = kNow - absl::Hours(2);
    // Inserted out of order on purpose.
    REQUIRE(store->Revoke(Revocation("30", t0 + absl::Minutes(2))).ok());
    REQUIRE(store
                ->Revoke(Revocation("20", t0 + absl::Minutes(1),
                                    kNow + absl::Hours(1)))
                .ok());
    REQUIRE(store->Revoke(Revocation("10", t0 + absl::Minutes(1))).ok());
    REQUIRE(store->Revoke(Revocation("40", t0, kNow - absl::Seconds(1)))
                .ok());                                       // expired
    REQUIRE(store->Revoke(Revocation("50", t0, kNow)).ok());  // expires now
    REQUIRE(store
                ->Revoke(Revocation("05", t0 + absl::Minutes(3),
                                    kNow + absl::Seconds(1)))
                .ok());

    auto list = store->ListRevocations(kNow);
    REQUIRE(list.ok());
    std::vector<std::string> serials;
    for (const RevocationRecord& r : *list) {
      serials.push_back(r.serial);
    }
    CHECK(serials == std::vector<std::string>{"10", "20", "30", "05"});
    CheckSameRevocation(list->front(), Revocation("10", t0 + absl::Minutes(1)));

    // Later, the entry expiring within the hour has gone too.
    auto later = store->ListRevocations(kNow + absl::Hours(1));
    REQUIRE(later.ok());
    serials.clear();
    for (const RevocationRecord& r : *later) {
      serials.push_back(r.serial);
    }
    CHECK(serials == std::vector<std::string>{"10", "30"});

    // Listing changes nothing.
    CHECK(CountsOf(*store) == MakeCounts(0, 0, 6));
  }
}

inline void CrlNumberConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  auto first = store->NextCrlNumber();
  REQUIRE(first.ok());
  CHECK(*first == 1);
  int64_t last = *first;
  for (int i = 0; i < 100; ++i) {
    auto next = store->NextCrlNumber();
    REQUIRE(next.ok());
    CHECK(*next > last);
    last = *next;
  }
  CHECK(CountsOf(*store) == MakeCounts(0, 0, 0));
}

inline void PruneConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();

  SECTION("an empty store prunes nothing") {
    auto pruned = store->Prune(kNow, absl::Hours(1));
    REQUIRE(pruned.ok());
    CHECK(*pruned == 0);
  }

  SECTION("exactly what has expired goes") {
    const absl::Duration retention = absl::Hours(24);
    const absl::Time horizon = kNow - retention;
    // Tokens: expired before now (go), expiring exactly now and later (stay).
    REQUIRE(store->UseToken("t-old", kNow - absl::Seconds(1)).ok());
    REQUIRE(store->UseToken("t-now", kNow).ok());
    REQUIRE(store->UseToken("t-new", kNow + absl::Minutes(5)).ok());
    // Certificates: notAfter before the horizon goes, the rest stays (a
    // certificate expired within the retention window stays).
    REQUIRE(
        store->RecordCertificate(Cert("c-old", "", horizon - absl::Seconds(1)))
            .ok());
    REQUIRE(store->RecordCertificate(Cert("c-edge", "", horizon)).ok());
    REQUIRE(
        store->RecordCertificate(Cert("c-recent", "", kNow - absl::Hours(1)))
            .ok());
    REQUIRE(store->RecordCertificate(Cert("c-live", "", kNow + absl::Hours(1)))
                .ok());
    // Revocations: same rule on expires_at; unknown expiry never goes.
    REQUIRE(store
                ->Revoke(Revocation("c-old", kNow - absl::Hours(48),
                                    horizon - absl::Seconds(1)))
                .ok());
    REQUIRE(store
                ->Revoke(Revocation("c-recent", kNow - absl::Hours(2),
                                    kNow - absl::Hours(1)))
                .ok());
    REQUIRE(
        store->Revoke(Revocation("forever", kNow - absl::Hours(1000))).ok());
    REQUIRE(CountsOf(*store) == MakeCounts(3, 4, 3));

    auto pruned = store->Prune(kNow, retention);
    REQUIRE(pruned.ok());
    CHECK(*pruned == 3);
    CHECK(CountsOf(*store) == MakeCounts(2, 3, 2));

    CHECK(store->UseToken("t-old", kNow + absl::Minutes(5)).ok());
    CHECK(StatusIs(store->UseToken("t-now", kNow),
                   absl::StatusCode::kAlreadyExists));
    CHECK(StatusIs(store->UseToken("t-new", kNow),
                   absl::StatusCode::kAlreadyExists));
    CHECK(StatusIs(store->GetCertificate("c-old").status(),
                   absl::StatusCode::kNotFound));
    CHECK(store->GetCertificate("c-edge").ok());
    CHECK(store->GetCertificate("c-recent").ok());
    CHECK(store->GetCertificate("c-live").ok());
    auto old_rev = store->GetRevocation("c-old");
    REQUIRE(old_rev.ok());
    CHECK(!old_rev->has_value());
    auto recent_rev = store->GetRevocation("c-recent");
    REQUIRE(recent_rev.ok());
    CHECK(recent_rev->has_value());
    auto forever = store->GetRevocation("forever");
    REQUIRE(forever.ok());
    CHECK(forever->has_value());

    // Pruning again at the same instant removes nothing more.
    auto again = store->Prune(kNow, retention);
    REQUIRE(again.ok());
    CHECK(*again == 0);
  }

  SECTION("zero retention prunes right at notAfter") {
    REQUIRE(
        store->RecordCertificate(Cert("a", "", kNow - absl::Seconds(1))).ok());
    REQUIRE(store->RecordCertificate(Cert("b", "", kNow)).ok());
    auto pruned = store->Prune(kNow, absl::ZeroDuration());
    REQUIRE(pruned.ok());
    CHECK(*pruned == 1);
    CHECK(CountsOf(*store) == MakeCounts(0, 1, 0));
  }

  SECTION("a negative retention is InvalidArgument and prunes nothing") {
    REQUIRE(store->UseToken("t", kNow - absl::Hours(1)).ok());
    CHECK(StatusIs(store->Prune(kNow, -absl::Seconds(1)).status(),
                   absl::StatusCode::kInvalidArgument, "retention"));
    CHECK(CountsOf(*store) == MakeCounts(1, 0, 0));
  }
}

// ---------------------------------------------------------------------------
// Concurrency. Threads only start work together; nothing here depends on
// timing, only on the atomicity the interface promises.

inline constexpr int kThreads = 8;

inline void ConcurrentUseTokenConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  constexpr int kIds = 1000;
  std::vector<std::atomic<int>> wins(kIds);
  std::atomic<int> total{0};
  std::atomic<int> wrong_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread walks the ids from a different start so that they meet.
      for (int k = 0; k < kIds; ++k) {
        const int i = (k + t * (kIds / kThreads)) % kIds;
        absl::Status s =
            store->UseToken(absl::StrCat("jti-", i), kNow + absl::Minutes(5));
        if (s.ok()) {
          wins[i].fetch_add(1);
          total.fetch_add(1);
        } else if (s.code() != absl::StatusCode::kAlreadyExists) {
          wrong_errors.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  CHECK(total.load() == kIds);
  CHECK(wrong_errors.load() == 0);
  int not_once = 0;
  for (const std::atomic<int>& w : wins) {
    not_once += w.load() == 1 ? 0 : 1;
  }
  CHECK(not_once == 0);
  CHECK(CountsOf(*store) == MakeCounts(kIds, 0, 0));
}

// Several threads race one token each through UseTokenAndRecord with
// distinct serials: exactly one certificate per token is recorded.
inline void ConcurrentIssueConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  constexpr int kTokens = 250;
  std::vector<std::atomic<int>> wins(kTokens);
  std::atomic<int> wrong_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kTokens; ++k) {
        const int i = (k + t * (kTokens / kThreads)) % kTokens;
        absl::Status s = store->UseTokenAndRecord(
            absl::StrCat("jti-", i), kNow + absl::Minutes(5),
            Cert(absl::StrCat(1000 + i, "0", t)));
        if (s.ok()) {
          wins[i].fetch_add(1);
        } else if (s.code() != absl::StatusCode::kAlreadyExists) {
          wrong_errors.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  CHECK(wrong_errors.load() == 0);
  int not_once = 0;
  for (const std::atomic<int>& w : wins) {
    not_once += w.load() == 1 ? 0 : 1;
  }
  CHECK(not_once == 0);
  CHECK(CountsOf(*store) == MakeCounts(kTokens, kTokens, 0));
}

inline void ConcurrentWritesConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  constexpr int kSerials = 200;
  std::atomic<int> recorded{0};
  std::atomic<int> revoked{0};
  std::atomic<int> wrong_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSerials; ++i) {
        const std::string serial = absl::StrCat(i);
        absl::Status r = store->RecordCertificate(Cert(serial));
        if (r.ok()) {
          recorded.fetch_add(1);
        } else if (r.code() != absl::StatusCode::kAlreadyExists) {
          wrong_errors.fetch_add(1);
        }
        absl::Status v = store->Revoke(Revocation(serial));
        if (v.ok()) {
          revoked.fetch_add(1);
        } else if (v.code() != absl::StatusCode::kAlreadyExists) {
          wrong_errors.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  CHECK(recorded.load() == kSerials);
  CHECK(revoked.load() == kSerials);
  CHECK(wrong_errors.load() == 0);
  CHECK(CountsOf(*store) == MakeCounts(0, kSerials, kSerials));
}

// Revocations race lineage lookups and new renewals. The invariant checked
// is the one the CA relies on: once Revoke has returned, every lookup that
// starts afterwards, through any descendant (including ones recorded
// concurrently), sees it; and nothing outside a revoked lineage is ever
// reported revoked.
inline void ConcurrentLineageConformance(const StoreFactory& make) {
  std::unique_ptr<Store> store = make();
  constexpr int kLineages = 60;
  constexpr int kDepth = 4;
  std::vector<std::vector<std::string>> revoked_chains;
  std::vector<std::vector<std::string>> clean_chains;
  for (int l = 0; l < kLineages; ++l) {
    revoked_chains.push_back(
        RecordChain(*store, absl::StrCat("r", l, "-"), kDepth));
    clean_chains.push_back(
        RecordChain(*store, absl::StrCat("c", l, "-"), kDepth));
  }

  std::atomic<int> revoked_upto{0};  // lineages [0, revoked_upto) are done
  std::atomic<bool> writer_done{false};
  std::atomic<int> violations{0};
  std::atomic<int> errors{0};
  std::atomic<int> renewals{0};

  std::vector<std::thread> threads;
  // The revoker: revokes generation 0 of each revoked lineage in order.
  threads.emplace_back([&] {
    for (int l = 0; l < kLineages; ++l) {
      if (!store->Revoke(Revocation(revoked_chains[l][0])).ok()) {
        errors.fetch_add(1);
      }
      revoked_upto.store(l + 1);
    }
    writer_done.store(true);
  });
  // Readers and renewers.
  for (int t = 0; t < kThreads - 1; ++t) {
    threads.emplace_back([&, t] {
      int round = 0;
      while (!writer_done.load() || round < 3) {
        ++round;
        for (int l = 0; l < kLineages; ++l) {
          const int done = revoked_upto.load();
          // A new renewal of the newest generation of both lineages.
          const std::string child_r = absl::StrCat("r", l, "-t", t, "-", round);
          const std::string child_c = absl::StrCat("c", l, "-t", t, "-", round);
          if (!store->RecordCertificate(Cert(child_r, revoked_chains[l].back()))
                   .ok() ||
              !store->RecordCertificate(Cert(child_c, clean_chains[l].back()))
                   .ok()) {
            errors.fetch_add(1);
          }
          renewals.fetch_add(2);
          auto r = store->FindRevokedInLineage(child_r);
          auto c = store->FindRevokedInLineage(child_c);
          if (!r.ok() || !c.ok()) {
            errors.fetch_add(1);
            continue;
          }
          if (l < done &&
              (!r->has_value() || (*r)->serial != revoked_chains[l][0])) {
            violations.fetch_add(1);
          }
          if (r->has_value() && (*r)->serial != revoked_chains[l][0]) {
            violations.fetch_add(1);
          }
          if (c->has_value()) {
            violations.fetch_add(1);
          }
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  CHECK(errors.load() == 0);
  CHECK(violations.load() == 0);
  // Afterwards every revoked lineage is fully revoked, every clean one clean.
  for (int l = 0; l < kLineages; ++l) {
    for (const std::string& s : revoked_chains[l]) {
      CHECK(LineageRevokedBy(*store, s) == revoked_chains[l][0]);
    }
    for (const std::string& s : clean_chains[l]) {
      CHECK(LineageRevokedBy(*store, s) == "");
    }
  }
  CHECK(CountsOf(*store) ==
        MakeCounts(0, 2 * kLineages * kDepth + renewals.load(), kLineages));
}

}  // namespace testing
}  // namespace mayfly

#endif  // MAYFLY_TESTS_STORE_CONFORMANCE_H_

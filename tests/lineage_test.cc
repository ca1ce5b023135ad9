// Lineage: revoking a certificate passively revokes every renewal
// descending from it (issue #4; step-ca checks only the presented serial,
// STEP-PROTOCOL.md section 10).

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "mayfly/authority.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::Unwrap;

// Generations renews `gen0` `n` times, an hour apart; result[i] is gen-i.
std::vector<IssuedCertificate> Generations(TestCa& t, const Issued& gen0,
                                           int n) {
  std::vector<IssuedCertificate> gens = {gen0.cert};
  for (int i = 0; i < n; i++) {
    t.clock.Advance(absl::Hours(1));
    gens.push_back(Unwrap(t.ca->Renew(gens.back().chain)));
  }
  return gens;
}

absl::Status RenewStatus(TestCa& t, const IssuedCertificate& c) {
  StoreCounts before = t.Counts();
  absl::Status st = t.ca->Renew(c.chain).status();
  if (!st.ok()) {
    CHECK(t.Counts() == before);
  }
  return st;
}

TEST_CASE("Lineage: revoking gen-0 refuses the renewal of gen-3", "[lineage]") {
  TestCa t;
  Issued gen0 = t.Issue("svc.example.com");
  std::vector<IssuedCertificate> gens = Generations(t, gen0, 3);
  REQUIRE(t.Revoke(gen0.serial()).ok());
  for (int i = 0; i <= 3; i++) {
    INFO("gen-" << i);
    CHECK(StatusIs(RenewStatus(t, gens[i]), absl::StatusCode::kUnauthenticated,
                   "revoked"));
  }
  CHECK(StatusIs(RenewStatus(t, gens[3]), absl::StatusCode::kUnauthenticated,
                 gen0.serial()));
}

TEST_CASE("Lineage: revoking gen-2 spares gen-1 and unrelated certificates",
          "[lineage]") {
  TestCa t;
  Issued gen0 = t.Issue("svc.example.com");
  Issued unrelated = t.Issue("other.example.com");
  std::vector<IssuedCertificate> gens = Generations(t, gen0, 3);
  REQUIRE(t.Revoke(gens[2].leaf.SerialDecimal()).ok());
  CHECK(StatusIs(RenewStatus(t, gens[2]), absl::StatusCode::kUnauthenticated));
  CHECK(StatusIs(RenewStatus(t, gens[3]), absl::StatusCode::kUnauthenticated));
  CHECK(RenewStatus(t, gens[1]).ok());
  CHECK(RenewStatus(t, gens[0]).ok());
  CHECK(RenewStatus(t, unrelated.cert).ok());
}

TEST_CASE("Lineage: forks, rekeys and renew tokens all inherit revocation",
          "[lineage]") {
  TestCa t;
  Issued gen0 = t.Issue("svc.example.com");
  t.clock.Advance(absl::Hours(1));
  IssuedCertificate a = Unwrap(t.ca->Renew(gen0.cert.chain));
  IssuedCertificate b = Unwrap(t.ca->Renew(gen0.cert.chain));  // a fork
  PrivateKey key = Unwrap(PrivateKey::Generate());
  IssuedCertificate rekeyed =
      Unwrap(t.ca->Rekey(a.chain, TestCa::Csr(key, "", {})));
  t.clock.Advance(absl::Hours(1));
  REQUIRE(t.Revoke(gen0.serial()).ok());
  CHECK(StatusIs(RenewStatus(t, a), absl::StatusCode::kUnauthenticated));
  CHECK(StatusIs(RenewStatus(t, b), absl::StatusCode::kUnauthenticated));
  CHECK(StatusIs(RenewStatus(t, rekeyed), absl::StatusCode::kUnauthenticated));
  CHECK(StatusIs(t.ca->Rekey(b.chain, TestCa::Csr(key, "", {})).status(),
                 absl::StatusCode::kUnauthenticated));
}

TEST_CASE("Lineage: a renewal racing a revocation is caught afterwards",
          "[lineage]") {
  // gen-1 is renewed from gen-0 before gen-0's revocation completes; its
  // own renewal afterwards is refused, because the store links it to
  // gen-0.
  TestCa t;
  Issued gen0 = t.Issue("svc.example.com");
  IssuedCertificate gen1 = Unwrap(t.ca->Renew(gen0.cert.chain));
  REQUIRE(t.Revoke(gen0.serial()).ok());
  CHECK(StatusIs(RenewStatus(t, gen1), absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace mayfly

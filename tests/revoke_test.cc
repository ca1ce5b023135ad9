// Revoke: passive revocation authorised by a revoke token or by the
// certificate itself (STEP-PROTOCOL.md section 3.7).

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/bssl.h"
#include "mayfly/authority.h"
#include "mayfly/config.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::Unwrap;

void ExpectRefused(TestCa& t, const RevokeRequest& req, absl::StatusCode code,
                   absl::string_view fragment = {}) {
  StoreCounts before = t.Counts();
  CHECK(StatusIs(t.ca->Revoke(req), code, fragment));
  CHECK(t.Counts() == before);
}

RevokeRequest TokenRequestFor(const TestCa& t, const std::string& serial,
                              const std::string& token_subject = "") {
  RevokeRequest req;
  req.serial = serial;
  req.ott = t.RevokeToken(token_subject.empty() ? serial : token_subject);
  return req;
}

TEST_CASE("Revoke: with a revoke token", "[revoke]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com");
  RevokeRequest req = TokenRequestFor(t, c.serial());
  req.reason_code = 1;
  req.reason = "key compromise drill";
  REQUIRE(t.ca->Revoke(req).ok());
  std::optional<RevocationRecord> rec =
      Unwrap(t.ca->store().GetRevocation(c.serial()));
  REQUIRE(rec.has_value());
  CHECK(rec->reason_code == 1);
  CHECK(rec->reason == "key compromise drill");
  CHECK(rec->passive);
  CHECK_FALSE(rec->mtls);
  CHECK(rec->provisioner == "admin");
  CHECK(rec->revoked_at == t.clock.Now());
  CHECK(rec->expires_at == c.leaf().NotAfter());
  CHECK(t.Counts().revocations == 1);
}

TEST_CASE("Revoke: with the certificate itself (mTLS)", "[revoke]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com");
  RevokeRequest req;
  req.serial = c.serial();
  req.peer_chain = c.cert.chain;
  REQUIRE(t.ca->Revoke(req).ok());
  std::optional<RevocationRecord> rec =
      Unwrap(t.ca->store().GetRevocation(c.serial()));
  REQUIRE(rec.has_value());
  CHECK(rec->mtls);
  CHECK(rec->provisioner.empty());
  CHECK(rec->expires_at == c.leaf().NotAfter());

  SECTION("another certificate's serial") {
    Issued d = t.Issue("other.example.com");
    RevokeRequest other;
    other.serial = d.serial();
    other.peer_chain = c.cert.chain;
    ExpectRefused(t, other, absl::StatusCode::kPermissionDenied,
                  "do not match");
  }
  SECTION("another CA's certificate") {
    TestCa foreign;
    Issued f = foreign.Issue("svc.example.com");
    RevokeRequest other;
    other.serial = f.serial();
    other.peer_chain = f.cert.chain;
    ExpectRefused(t, other, absl::StatusCode::kUnauthenticated);
  }
  SECTION("an expired certificate") {
    Issued d = t.Issue("other.example.com");
    t.clock.Advance(absl::Hours(25));
    RevokeRequest other;
    other.serial = d.serial();
    other.peer_chain = d.cert.chain;
    ExpectRefused(t, other, absl::StatusCode::kUnauthenticated);
  }
}

TEST_CASE("Revoke: serial formats", "[revoke]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com");
  std::string hex = internal::Hex(c.leaf().Serial());
  SECTION("0x hex is normalised to decimal") {
    RevokeRequest req = TokenRequestFor(t, c.serial());
    req.serial = absl::StrCat("0x", hex);
    REQUIRE(t.ca->Revoke(req).ok());
    CHECK(Unwrap(t.ca->store().GetRevocation(c.serial())).has_value());
  }
  SECTION("upper-case 0X hex") {
    RevokeRequest req = TokenRequestFor(t, c.serial());
    req.serial = absl::StrCat("0X", absl::AsciiStrToUpper(hex));
    REQUIRE(t.ca->Revoke(req).ok());
  }
  SECTION("leading zeros are ambiguous (Go reads them as octal)") {
    RevokeRequest req = TokenRequestFor(t, c.serial());
    req.serial = absl::StrCat("0", c.serial());
    ExpectRefused(t, req, absl::StatusCode::kInvalidArgument, "leading zero");
  }
  SECTION("malformed") {
    for (const char* bad :
         {"", "12ab", "-5", "0x", "0xg1", " 12", "1 2", "0o17", "1e5"}) {
      INFO("serial \"" << bad << "\"");
      RevokeRequest req = TokenRequestFor(t, c.serial());
      req.serial = bad;
      ExpectRefused(t, req, absl::StatusCode::kInvalidArgument);
    }
    RevokeRequest req = TokenRequestFor(t, c.serial());
    req.serial = std::string(200, '1');
    ExpectRefused(t, req, absl::StatusCode::kInvalidArgument, "max");
    req.serial = "";
    ExpectRefused(t, req, absl::StatusCode::kInvalidArgument, "missing serial");
  }
}

TEST_CASE("Revoke: refusals change nothing", "[revoke]") {
  TestCa t;
  Issued c = t.Issue("svc.example.com");
  Issued d = t.Issue("other.example.com");
  SECTION("token subject is another serial") {
    ExpectRefused(t, TokenRequestFor(t, c.serial(), d.serial()),
                  absl::StatusCode::kPermissionDenied, "token subject");
  }
  SECTION("reason code out of range") {
    for (int code : {-1, 11, 100}) {
      RevokeRequest req = TokenRequestFor(t, c.serial());
      req.reason_code = code;
      ExpectRefused(t, req, absl::StatusCode::kInvalidArgument, "reason_code");
    }
  }
  SECTION("active revocation") {
    RevokeRequest req = TokenRequestFor(t, c.serial());
    req.passive = false;
    ExpectRefused(t, req, absl::StatusCode::kUnimplemented);
  }
  SECTION("no authorisation, or both") {
    RevokeRequest req;
    req.serial = c.serial();
    ExpectRefused(t, req, absl::StatusCode::kInvalidArgument,
                  "missing ott or client certificate");
    req = TokenRequestFor(t, c.serial());
    req.peer_chain = c.cert.chain;
    ExpectRefused(t, req, absl::StatusCode::kInvalidArgument);
  }
  SECTION("a sign token is no revoke token") {
    RevokeRequest req;
    req.serial = c.serial();
    req.ott = t.SignToken(c.serial());
    ExpectRefused(t, req, absl::StatusCode::kUnauthenticated);
  }
  SECTION("token replay") {
    RevokeRequest req = TokenRequestFor(t, c.serial());
    REQUIRE(t.ca->Revoke(req).ok());
    // The serial is revoked now, which is reported first.
    ExpectRefused(t, req, absl::StatusCode::kAlreadyExists);
  }
  SECTION("already revoked") {
    REQUIRE(t.Revoke(c.serial()).ok());
    RevokeRequest again = TokenRequestFor(t, c.serial());
    ExpectRefused(t, again, absl::StatusCode::kAlreadyExists,
                  absl::StrCat("certificate with serial number '", c.serial(),
                               "' is already revoked"));
    RevokeRequest mtls;
    mtls.serial = c.serial();
    mtls.peer_chain = c.cert.chain;
    ExpectRefused(t, mtls, absl::StatusCode::kAlreadyExists);
  }
}

TEST_CASE("Revoke: a serial this CA never recorded", "[revoke]") {
  TestCa t;
  REQUIRE(t.Revoke("12345").ok());
  std::optional<RevocationRecord> rec =
      Unwrap(t.ca->store().GetRevocation("12345"));
  REQUIRE(rec.has_value());
  CHECK(rec->expires_at == absl::InfiniteFuture());
}

TEST_CASE("Revoke: step's revoke token against step's CA", "[revoke]") {
  testing::TempDir dir;
  std::string json = absl::StrReplaceAll(
      testing::Testdata("step/steppath/config/ca.json"),
      {{"${STEPPATH}", testing::TestdataPath("step/steppath")}});
  CaConfig config =
      Unwrap(ParseConfig(json, absl::StrCat(dir.path(), "/config")));
  // The token was minted at 1795567540 and lives 5 minutes.
  FakeClock clock(absl::FromUnixSeconds(1795567540));
  std::unique_ptr<Authority> ca = Unwrap(Authority::Create(
      config, testing::Testdata("step/password.txt"), nullptr, clock));
  clock.Advance(absl::Seconds(5));
  RevokeRequest req;
  req.serial = "143804903222160052020812728477623572056";
  req.reason_code = 1;
  req.reason = "key compromise drill";
  std::string token = testing::Testdata("step/revoke-token.jwt");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  req.ott = token;
  REQUIRE(ca->Revoke(req).ok());
  CHECK(Unwrap(ca->store().GetRevocation(req.serial)).has_value());
}

}  // namespace
}  // namespace mayfly

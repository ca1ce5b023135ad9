// Certificates rotating in live TLS contexts (issue #7): while an in-process
// CA replaces the server's and the mTLS client's certificates many times a
// second, continuous full handshakes over loopback never fail, and the new
// certificates really reach them (distinct serials seen by the peers). The
// load itself is tests/rotation_harness.h, shared with
// benchmarks/rotation_bench.

#include <cstdint>
#include <iostream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "rotation_harness.h"

namespace mayfly {
namespace {

using testing::RotationLoadOptions;
using testing::RotationLoadResult;
using testing::RunRotationLoad;

// Floors are the least a run must show to count as a real load: enough
// handshakes of each kind, rotations, and distinct serials.
struct Floors {
  uint64_t handshakes = 0;
  uint64_t per_kind = 0;
  uint64_t rotations = 0;
  size_t serials = 0;
};

// Reasons lists the failure reasons of `r`, one per line, with counts.
std::string Reasons(const RotationLoadResult& r) {
  std::string out;
  for (const auto& [reason, count] : r.failure_reasons) {
    absl::StrAppend(&out, count, " x ", reason, "\n");
  }
  return out;
}

void CheckRotationUnderLoad(const RotationLoadOptions& options,
                            const Floors& floors) {
  absl::StatusOr<RotationLoadResult> run = RunRotationLoad(options);
  INFO(run.status().ToString());
  REQUIRE(run.ok());
  const RotationLoadResult& r = *run;
  std::cout << r.Summary() << std::endl;
  INFO(r.Summary());
  INFO(Reasons(r));

  // The mTLS listener really requires a client certificate, so every mTLS
  // handshake below was a verified client certificate.
  REQUIRE(r.mtls_refuses_anonymous_client);
  REQUIRE(r.failed_handshakes == 0);
  REQUIRE(r.rotation_failures == 0);
  REQUIRE(r.first_failure.empty());
  // Every attempt completed.
  REQUIRE(r.handshakes == r.server_auth_handshakes + r.mtls_handshakes);
  REQUIRE(r.handshakes >= floors.handshakes);
  REQUIRE(r.server_auth_handshakes >= floors.per_kind);
  REQUIRE(r.mtls_handshakes >= floors.per_kind);
  REQUIRE(r.rotations >= floors.rotations);
  // Rotation reached the handshakes: the clients were served many
  // different server certificates, the server was shown many different
  // client certificates.
  REQUIRE(r.distinct_server_serials_seen >= floors.serials);
  REQUIRE(r.distinct_client_serials_seen >= floors.serials);
  // No serial can be seen that was never issued: one per rotation plus the
  // first certificate.
  REQUIRE(r.distinct_server_serials_seen <= r.rotations + 1);
  REQUIRE(r.distinct_client_serials_seen <= r.rotations + 1);
  // The run stopped on time (the last connections finish within moments).
  REQUIRE(r.elapsed >= options.duration);
  REQUIRE(r.elapsed < options.duration + absl::Seconds(5));
}

TEST_CASE("tls: certificates rotate every 50 ms under handshakes, none fails",
          "[tls]") {
  RotationLoadOptions options;
  options.duration = absl::Seconds(2);
  options.rotate_every = absl::Milliseconds(50);
  // 40 rotations are due; the floors leave room for a loaded machine.
  Floors floors;
  floors.handshakes = 40;
  floors.per_kind = 10;
  floors.rotations = 10;
  floors.serials = 10;
  CheckRotationUnderLoad(options, floors);
}

// 30 s of load: run by CTest as tls.rotation_under_load.
TEST_CASE("tls: 30 s of handshakes while certificates rotate every 100 ms",
          "[.][rotation_load]") {
  RotationLoadOptions options;
  options.duration = absl::Seconds(30);
  options.rotate_every = absl::Milliseconds(100);
  // 300 rotations are due; a full handshake costs a few milliseconds of
  // CPU, so even a busy two-core machine does thousands.
  Floors floors;
  floors.handshakes = 1000;
  floors.per_kind = 300;
  floors.rotations = 150;
  floors.serials = 100;
  CheckRotationUnderLoad(options, floors);
}

}  // namespace
}  // namespace mayfly

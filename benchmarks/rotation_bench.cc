// rotation_bench: full TLS handshakes over loopback while an in-process CA
// replaces the server's and the mTLS client's certificates every 100 ms
// (the harness of the [rotation_load] test, tests/rotation_harness.h: one
// server-auth client and one mTLS client connecting continuously, each
// connection a full handshake plus a ping/pong and close_notify both ways).
//
// Figures (keys of benchmarks/out/summary.json):
// - rotation.handshakes: handshakes completed by the two clients.
// - rotation.failed_handshakes: handshakes that failed, on either side
//   (issue #7's claim is that this is 0).
// - rotation.rotations: rotations done (each replaces both certificates
//   with new keys and serials).
// - rotation.handshakes_per_s: completed handshakes per second of the run.
//
// The run lasts 30 s; MAYFLY_ROTATION_SECONDS=N makes it N seconds (the
// --benchmark_min_time that benchmarks/run passes has no effect: the
// benchmark runs exactly one iteration). The one-line report of the run is
// printed on stderr, so it does not mix with --benchmark_format=json.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "tests/rotation_harness.h"

namespace {

using mayfly::testing::RotationLoadOptions;
using mayfly::testing::RotationLoadResult;

constexpr int64_t kDefaultSeconds = 30;

void BM_RotationUnderLoad(benchmark::State& state) {
  RotationLoadOptions options;
  options.duration = absl::Seconds(kDefaultSeconds);
  options.rotate_every = absl::Milliseconds(100);
  if (const char* env = std::getenv("MAYFLY_ROTATION_SECONDS")) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(env, &seconds) || seconds <= 0) {
      state.SkipWithError(
          "MAYFLY_ROTATION_SECONDS must be a positive number of seconds");
      return;
    }
    options.duration = absl::Seconds(seconds);
  }

  RotationLoadResult result;
  for (auto _ : state) {
    absl::StatusOr<RotationLoadResult> run =
        mayfly::testing::RunRotationLoad(options);
    if (!run.ok()) {
      state.SkipWithError(run.status().ToString().c_str());
      return;
    }
    result = *std::move(run);
  }
  std::fprintf(stderr, "%s\n", result.Summary().c_str());

  state.counters["rotation.handshakes"] = static_cast<double>(
      result.server_auth_handshakes + result.mtls_handshakes);
  state.counters["rotation.failed_handshakes"] =
      static_cast<double>(result.failed_handshakes);
  state.counters["rotation.rotations"] = static_cast<double>(result.rotations);
  state.counters["rotation.handshakes_per_s"] = result.HandshakesPerSecond();
}

BENCHMARK(BM_RotationUnderLoad)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();

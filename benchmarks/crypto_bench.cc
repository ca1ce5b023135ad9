// crypto_bench: single-thread signing and verification through mayfly's
// key API (PrivateKey::Sign, PublicKey::Verify), the operations every token
// and certificate costs.
//
// Each benchmark reports its rate as a counter named after its key in
// benchmarks/out/summary.json; benchmarks/run collects them.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "mayfly/key.h"

namespace {

// A JWS signing input of the size the benchmark names: 33 bytes, the
// protected header and payload of a tiny ES256 token ({"sub":1}).
constexpr absl::string_view kMessage = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOjF9";

absl::Span<const uint8_t> Message() {
  return absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(kMessage.data()), kMessage.size());
}

// SetRate reports iterations per second as the counter `key`.
void SetRate(benchmark::State& state, const char* key) {
  state.counters[key] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Sign(benchmark::State& state, mayfly::KeyType type, const char* key) {
  absl::StatusOr<mayfly::PrivateKey> private_key =
      mayfly::PrivateKey::Generate(type);
  if (!private_key.ok()) {
    state.SkipWithError(private_key.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<std::vector<uint8_t>> sig = private_key->Sign(Message());
    if (!sig.ok()) {
      state.SkipWithError(sig.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(sig->data());
  }
  SetRate(state, key);
}

void BM_Verify(benchmark::State& state, mayfly::KeyType type, const char* key) {
  absl::StatusOr<mayfly::PrivateKey> private_key =
      mayfly::PrivateKey::Generate(type);
  if (!private_key.ok()) {
    state.SkipWithError(private_key.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::vector<uint8_t>> sig = private_key->Sign(Message());
  if (!sig.ok()) {
    state.SkipWithError(sig.status().ToString().c_str());
    return;
  }
  const mayfly::PublicKey public_key = private_key->public_key();
  for (auto _ : state) {
    absl::Status status = public_key.Verify(Message(), *sig);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(status);
  }
  SetRate(state, key);
}

BENCHMARK_CAPTURE(BM_Sign, p256, mayfly::KeyType::kP256,
                  "crypto.p256_sign_per_s");
BENCHMARK_CAPTURE(BM_Verify, p256, mayfly::KeyType::kP256,
                  "crypto.p256_verify_per_s");
BENCHMARK_CAPTURE(BM_Sign, ed25519, mayfly::KeyType::kEd25519,
                  "crypto.ed25519_sign_per_s");
BENCHMARK_CAPTURE(BM_Verify, ed25519, mayfly::KeyType::kEd25519,
                  "crypto.ed25519_verify_per_s");

}  // namespace

BENCHMARK_MAIN();

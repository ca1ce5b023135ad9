// scheduler_bench: RenewalScheduler's memory and speed with a million
// managed certificates.
//
// Figures (keys of benchmarks/out/summary.json):
// - scheduler.entries: how many entries the memory figure was measured
//   with (1,000,000).
// - scheduler.bytes_per_entry: growth of the process's resident memory
//   while adding them, divided by their number. Every entry holds the same
//   Credentials by reference (as a host holding its certificates elsewhere
//   would), so this is the scheduler's own cost: the entry, its heap node,
//   and allocator slack.
// - scheduler.add_per_s: Add calls per second into schedulers growing from
//   empty to 1,000,000 entries (Add validates the credentials, draws the
//   jitter and pushes onto the heap).
// - scheduler.next_due_per_s: with 1,000,000 entries, one entry comes due
//   and is run by RunDue (pop, renew, push back), plus a NextDeadline call.
// Targets (renewing client issue): 1,000,000 entries at <= 200 bytes each;
// add and next-due O(log n).

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/renewal.h"
#include "mayfly/tls.h"

namespace {

using mayfly::Certificate;
using mayfly::Credentials;
using mayfly::PrivateKey;
using mayfly::RenewalScheduler;

constexpr int64_t kEntries = 1000000;

// ResidentBytes reads the process's resident set size from /proc.
int64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) {
    return -1;
  }
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) {
    return -1;
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// Fixture is one self-signed 24 h certificate and its key, shared by every
// entry, and a renewal function that fails (the benchmarks measure the
// scheduler, not a CA).
struct Fixture {
  std::shared_ptr<const Credentials> credentials;
  std::string error;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
    if (!key.ok()) {
      f->error = key.status().ToString();
      return f;
    }
    mayfly::CertificateTemplate t;
    t.serial = {1};
    t.common_name = "svc.example.com";
    t.not_before = mayfly::Clock::Real().Now();
    t.not_after = t.not_before + absl::Hours(24);
    absl::StatusOr<Certificate> cert =
        mayfly::IssueCertificate(t, key->public_key(), *key, nullptr);
    if (!cert.ok()) {
      f->error = cert.status().ToString();
      return f;
    }
    f->credentials =
        std::make_shared<const Credentials>(Credentials{{*cert}, *key, 1});
    return f;
  }();
  return *fixture;
}

std::unique_ptr<RenewalScheduler> NewScheduler(const mayfly::Clock& clock,
                                               std::string* error) {
  mayfly::RenewalOptions options;
  options.renew =
      [](const Credentials&) -> absl::StatusOr<mayfly::IssuedCertificate> {
    return absl::UnavailableError("benchmark: no CA");
  };
  options.seed = 1;
  absl::StatusOr<std::unique_ptr<RenewalScheduler>> s =
      RenewalScheduler::Create(std::move(options), clock);
  if (!s.ok()) {
    *error = s.status().ToString();
    return nullptr;
  }
  return *std::move(s);
}

void BM_Memory(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  double bytes_per_entry = 0;
  for (auto _ : state) {
    std::string error;
    std::unique_ptr<RenewalScheduler> s =
        NewScheduler(mayfly::Clock::Real(), &error);
    if (s == nullptr) {
      state.SkipWithError(error.c_str());
      return;
    }
    int64_t before = ResidentBytes();
    for (int64_t i = 0; i < kEntries; ++i) {
      absl::StatusOr<uint64_t> id = s->Add(f.credentials);
      if (!id.ok()) {
        state.SkipWithError(id.status().ToString().c_str());
        return;
      }
    }
    int64_t after = ResidentBytes();
    if (before < 0 || after < 0 || s->size() != kEntries) {
      state.SkipWithError("cannot read /proc/self/statm");
      return;
    }
    bytes_per_entry = static_cast<double>(after - before) / kEntries;
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
  state.counters["scheduler.entries"] = static_cast<double>(kEntries);
  state.counters["scheduler.bytes_per_entry"] = bytes_per_entry;
}

void BM_Add(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  std::string error;
  std::unique_ptr<RenewalScheduler> s =
      NewScheduler(mayfly::Clock::Real(), &error);
  for (auto _ : state) {
    if (s == nullptr) {
      state.SkipWithError(error.c_str());
      return;
    }
    absl::StatusOr<uint64_t> id = s->Add(f.credentials);
    if (!id.ok()) {
      state.SkipWithError(id.status().ToString().c_str());
      return;
    }
    if (s->size() == kEntries) {
      state.PauseTiming();
      s = NewScheduler(mayfly::Clock::Real(), &error);
      state.ResumeTiming();
    }
  }
  state.counters["scheduler.add_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_NextDue(benchmark::State& state) {
  const Fixture& f = GetFixture();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  // A fake clock that each iteration moves to the next deadline: exactly
  // one entry (usually) comes due, fails, and is pushed back with a
  // backoff; the heap holds a million entries throughout.
  mayfly::FakeClock clock(mayfly::Clock::Real().Now());
  std::string error;
  std::unique_ptr<RenewalScheduler> s = NewScheduler(clock, &error);
  if (s == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  for (int64_t i = 0; i < kEntries; ++i) {
    if (!s->Add(f.credentials).ok()) {
      state.SkipWithError("Add failed");
      return;
    }
  }
  int64_t ran = 0;
  for (auto _ : state) {
    absl::Time next = s->NextDeadline();
    clock.Set(next);
    ran += static_cast<int64_t>(s->RunDue(next));
  }
  state.counters["scheduler.next_due_per_s"] =
      benchmark::Counter(static_cast<double>(ran), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Memory)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Add)->UseRealTime();
BENCHMARK(BM_NextDue)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

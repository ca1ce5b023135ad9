// RenewalScheduler and the renewal sinks of mayfly/renewal.h. The scheduler
// runs in host-loop mode on a FakeClock (RunDue at NextDeadline), so no
// test sleeps; the threaded-mode tests wait for events, never for time.

#include "mayfly/renewal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "cert_test_util.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/tls.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::StatusIs;
using testing::TempDir;

const absl::Time kStart = absl::FromUnixSeconds(1795567500);

// MiniCa issues leaf certificates with chosen validity, fast, for the
// scheduler's tests (which care about times, not about chains).
class MiniCa {
 public:
  MiniCa()
      : key_(testing::NewKey()),
        cert_(testing::Issue(testing::CaTemplate("Renewal Test CA", 0, kStart),
                             key_.public_key(), key_, nullptr)) {}

  Certificate Leaf(const PublicKey& subject, absl::Time not_before,
                   absl::Duration lifetime) {
    CertificateTemplate t;
    uint64_t serial = ++serial_;
    t.serial = {0x10};
    for (int i = 7; i >= 0; --i) {
      t.serial.push_back(static_cast<uint8_t>(serial >> (8 * i)));
    }
    t.common_name = "svc.example.com";
    t.not_before = not_before;
    t.not_after = not_before + lifetime;
    t.key_usage = kKeyUsageDigitalSignature;
    return testing::Issue(t, subject, key_, &cert_);
  }

  std::shared_ptr<const Credentials> Creds(const PrivateKey& key,
                                           absl::Time not_before,
                                           absl::Duration lifetime) {
    return std::make_shared<const Credentials>(Credentials{
        {Leaf(key.public_key(), not_before, lifetime), cert_}, key, 1});
  }

  // Renewed issues what a CA would for `c` at `now`: same key, same
  // lifetime, starting now.
  IssuedCertificate Renewed(const Credentials& c, absl::Time now) {
    const Certificate& old = c.chain.front();
    Certificate leaf =
        Leaf(c.key.public_key(), now, old.NotAfter() - old.NotBefore());
    return IssuedCertificate{leaf, {leaf, cert_}};
  }

  const Certificate& cert() const { return cert_; }

 private:
  PrivateKey key_;
  Certificate cert_;
  uint64_t serial_ = 0;
};

// Events records what a scheduler reports. Thread-safe.
class Events {
 public:
  std::function<void(const RenewalEvent&)> Callback() {
    return [this](const RenewalEvent& e) {
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    };
  }
  std::vector<RenewalEvent> Take() {
    absl::MutexLock lock(&mu_);
    return std::move(events_);
  }
  // WaitUntil waits until `done` holds for the events so far (or fails
  // after a generous bound, so a broken scheduler fails the test instead of
  // hanging it).
  bool WaitUntil(std::function<bool(const std::vector<RenewalEvent>&)> done) {
    absl::MutexLock lock(&mu_);
    auto ready = [this, &done]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done(events_);
    };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(60));
  }
  bool WaitFor(size_t n) {
    return WaitUntil(
        [n](const std::vector<RenewalEvent>& e) { return e.size() >= n; });
  }

 private:
  absl::Mutex mu_;
  std::vector<RenewalEvent> events_ ABSL_GUARDED_BY(mu_);
};

// Renewer is a scripted renewal function: it answers with the statuses
// queued in `script` (OK meaning "issue a certificate"), then with
// `otherwise`.
struct Renewer {
  Renewer(MiniCa* ca_in, FakeClock* clock_in) : ca(ca_in), clock(clock_in) {}

  MiniCa* ca;
  FakeClock* clock;
  std::vector<absl::Status> script;
  absl::Status otherwise = absl::OkStatus();
  int calls = 0;

  RenewFunction Function() {
    return [this](const Credentials& c) -> absl::StatusOr<IssuedCertificate> {
      absl::Status s = static_cast<size_t>(calls) < script.size()
                           ? script[static_cast<size_t>(calls)]
                           : otherwise;
      ++calls;
      if (!s.ok()) {
        return s;
      }
      return ca->Renewed(c, clock->Now());
    };
  }
};

std::unique_ptr<RenewalScheduler> NewScheduler(RenewalOptions options,
                                               const Clock& clock) {
  if (!options.seed.has_value()) {
    options.seed = 42;
  }
  absl::StatusOr<std::unique_ptr<RenewalScheduler>> s =
      RenewalScheduler::Create(std::move(options), clock);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return *std::move(s);
}

uint64_t MustAdd(RenewalScheduler& s, std::shared_ptr<const Credentials> c,
                 std::vector<std::shared_ptr<RenewalSink>> sinks = {}) {
  absl::StatusOr<uint64_t> id = s.Add(std::move(c), std::move(sinks));
  INFO(id.status().ToString());
  REQUIRE(id.ok());
  return *id;
}

std::shared_ptr<RenewalSink> Must(
    absl::StatusOr<std::shared_ptr<RenewalSink>> sink) {
  INFO(sink.status().ToString());
  REQUIRE(sink.ok());
  return *std::move(sink);
}

// Step moves the clock to the next deadline and runs what is due.
size_t Step(RenewalScheduler& s, FakeClock& clock) {
  absl::Time next = s.NextDeadline();
  REQUIRE(next != absl::InfiniteFuture());
  if (next > clock.Now()) {
    clock.Set(next);
  }
  return s.RunDue(clock.Now());
}

// RenewalWindow is where the first renewal of a certificate must fall.
struct Window {
  absl::Time earliest, latest;
};
Window RenewalWindow(absl::Time not_before, absl::Duration lifetime) {
  absl::Time latest = not_before + lifetime * 2 / 3;
  return {latest - lifetime / 20 - absl::Milliseconds(1),
          latest + absl::Milliseconds(1)};
}

TEST_CASE("Renewal: the first renewal is at 2/3 of the lifetime, jittered",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  RenewalOptions options;
  options.renew = renewer.Function();
  auto s = NewScheduler(std::move(options), clock);
  CHECK(s->NextDeadline() == absl::InfiniteFuture());

  PrivateKey key = testing::NewKey();
  const absl::Duration lifetime = absl::Hours(24);
  uint64_t id = MustAdd(*s, ca.Creds(key, kStart, lifetime));
  CHECK(id != 0);
  CHECK(s->size() == 1);
  RenewalEntry entry = testing::Unwrap(s->Get(id));
  Window w = RenewalWindow(kStart, lifetime);
  CHECK(entry.next_attempt >= w.earliest);
  CHECK(entry.next_attempt <= w.latest);
  CHECK(entry.attempts == 0);
  CHECK(s->NextDeadline() == entry.next_attempt);

  // Nothing runs before the deadline.
  CHECK(s->RunDue(entry.next_attempt - absl::Milliseconds(1)) == 0);
  CHECK(renewer.calls == 0);

  // A certificate added after its renewal time is due at once.
  PrivateKey late_key = testing::NewKey();
  uint64_t late =
      MustAdd(*s, ca.Creds(late_key, kStart - absl::Hours(20), lifetime));
  CHECK(testing::Unwrap(s->Get(late)).next_attempt <= kStart);
  CHECK(s->RunDue(kStart) == 1);
  CHECK(renewer.calls == 1);
}

TEST_CASE("Renewal: jitter spreads 10,000 certificates issued together",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  const absl::Duration lifetime = absl::Hours(24);
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, lifetime);
  const Window w = RenewalWindow(kStart, lifetime);

  auto deadlines = [&](uint64_t seed) {
    RenewalOptions options;
    options.renew = renewer.Function();
    options.seed = seed;
    auto s = NewScheduler(std::move(options), clock);
    std::vector<absl::Time> out;
    for (int i = 0; i < 10000; ++i) {
      out.push_back(testing::Unwrap(s->Get(MustAdd(*s, creds))).next_attempt);
    }
    return out;
  };
  std::vector<absl::Time> times = deadlines(7);

  const absl::Duration spread = lifetime / 20;  // 72 minutes
  int buckets[10] = {};
  std::set<int64_t> distinct;
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (absl::Time t : times) {
    REQUIRE(t >= w.earliest);
    REQUIRE(t <= w.latest);
    first = std::min(first, t);
    last = std::max(last, t);
    distinct.insert(absl::ToUnixMillis(t));
    int b = static_cast<int>((t - (kStart + lifetime * 2 / 3 - spread)) * 10 /
                             spread);
    buckets[std::min(std::max(b, 0), 9)]++;
  }
  // Uniform over the window: each tenth holds about 1,000 (sd ~30).
  for (int b : buckets) {
    CHECK(b > 850);
    CHECK(b < 1150);
  }
  // The whole window is used, and hardly two share a millisecond.
  CHECK(first - w.earliest < spread / 100);
  CHECK(w.latest - last < spread / 100);
  CHECK(distinct.size() > 9900);

  // The seed makes it reproducible; another seed draws other times.
  CHECK(deadlines(7) == times);
  CHECK(deadlines(8) != times);
}

TEST_CASE("Renewal: a renewal installs the new certificate and reschedules",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);

  PrivateKey key = testing::NewKey();
  auto rotating = std::make_shared<RotatingCredentials>();
  std::vector<std::string> order;
  auto record = [&order](std::string name) {
    return Must(CallbackSink([&order, name](const Credentials& c) {
      order.push_back(absl::StrCat(name, ":", c.generation));
      return absl::OkStatus();
    }));
  };
  auto first = ca.Creds(key, kStart, absl::Hours(24));
  uint64_t id = MustAdd(
      *s, first,
      {record("a"), Must(RotatingCredentialsSink(rotating)), record("b")});

  CHECK(Step(*s, clock) == 1);
  CHECK(renewer.calls == 1);
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() == 1);
  const RenewalEvent& e = got[0];
  CHECK(e.type == RenewalEventType::kRenewed);
  CHECK(std::string(RenewalEventTypeName(e.type)) == "renewed");
  CHECK(e.id == id);
  CHECK(e.status.ok());
  CHECK(e.time == clock.Now());
  REQUIRE(e.credentials != nullptr);
  CHECK(e.credentials->generation == 2);
  CHECK(!e.credentials->chain.front().Equals(first->chain.front()));
  CHECK(e.credentials->key.public_key().Equals(key.public_key()));
  // Sinks ran, in order, before the event.
  CHECK(order == std::vector<std::string>{"a:2", "b:2"});
  REQUIRE(rotating->Current() != nullptr);
  CHECK(
      rotating->Current()->chain.front().Equals(e.credentials->chain.front()));

  // The next renewal is scheduled from the new certificate.
  Window w = RenewalWindow(clock.Now(), absl::Hours(24));
  CHECK(e.next_attempt >= w.earliest);
  CHECK(e.next_attempt <= w.latest);
  RenewalEntry entry = testing::Unwrap(s->Get(id));
  CHECK(entry.next_attempt == e.next_attempt);
  CHECK(entry.credentials == e.credentials);
  CHECK(s->NextDeadline() == e.next_attempt);
}

TEST_CASE("Renewal: a backdated short certificate is not renewed at once",
          "[renewal]") {
  // A CA that backdates by a minute and issues 5 seconds: each certificate
  // is already past 2/3 of its life when it arrives. The scheduler waits
  // half of what is left (2.5 s) instead of renewing in a loop.
  FakeClock clock(kStart);
  MiniCa ca;
  int calls = 0;
  RenewalOptions options;
  options.renew =
      [&](const Credentials& c) -> absl::StatusOr<IssuedCertificate> {
    ++calls;
    Certificate leaf =
        ca.Leaf(c.key.public_key(), clock.Now() - absl::Minutes(1),
                absl::Minutes(1) + absl::Seconds(5));
    return IssuedCertificate{leaf, {leaf, ca.cert()}};
  };
  Events events;
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  MustAdd(*s, ca.Creds(key, kStart - absl::Minutes(1),
                       absl::Minutes(1) + absl::Seconds(5)));

  // Added already due: renewed at once. Each renewed certificate has about
  // 5 s left (X.509 times are whole seconds, so 4 to 5 s): the next renewal
  // waits half of that.
  CHECK(s->RunDue(kStart) == 1);
  absl::Time last = kStart;
  for (int i = 0; i < 10; ++i) {
    std::vector<RenewalEvent> got = events.Take();
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].type == RenewalEventType::kRenewed);
    const absl::Duration wait = got[0].next_attempt - last;
    CHECK(wait >= absl::Seconds(2));
    CHECK(wait <= absl::Milliseconds(2500));
    REQUIRE(Step(*s, clock) == 1);
    last = clock.Now();
  }
  CHECK(calls == 11);
}

// BackoffWindow is the largest delay allowed after the n-th failure.
absl::Duration BackoffWindow(int n, absl::Duration remaining) {
  absl::Duration cap =
      std::max(absl::Seconds(1), std::min(absl::Minutes(5), remaining / 10));
  absl::Duration window = absl::Seconds(1);
  for (int i = 1; i < n && window < cap; ++i) {
    window *= 2;
  }
  return std::min(window, cap);
}

TEST_CASE("Renewal: failures back off exponentially with full jitter",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  renewer.otherwise = absl::UnavailableError("CA down");
  constexpr int kEntries = 1000;
  constexpr int kAttempts = 12;
  std::unique_ptr<RenewalScheduler> s;
  // Largest delay drawn after the n-th failure, over all entries.
  std::vector<absl::Duration> largest(kAttempts + 1, absl::ZeroDuration());
  int failures = 0;
  bool all_in_window = true;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = [&](const RenewalEvent& e) {
    REQUIRE(e.type == RenewalEventType::kFailed);
    CHECK(e.status.code() == absl::StatusCode::kUnavailable);
    CHECK(e.credentials != nullptr);
    ++failures;
    absl::Duration delay = e.next_attempt - e.time;
    absl::Duration remaining = e.credentials->chain.front().NotAfter() - e.time;
    if (delay < absl::ZeroDuration() ||
        delay > BackoffWindow(e.attempts, remaining)) {
      all_in_window = false;
    }
    largest[static_cast<size_t>(e.attempts)] =
        std::max(largest[static_cast<size_t>(e.attempts)], delay);
    CHECK(testing::Unwrap(s->Get(e.id)).attempts == e.attempts);
    if (e.attempts == kAttempts) {
      REQUIRE(s->Remove(e.id).ok());  // from the callback: no lock held
    }
  };
  s = NewScheduler(std::move(options), clock);

  // 24 h certificates: 8 h left at the renewal time, so the cap is 5 min.
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  for (int i = 0; i < kEntries; ++i) {
    MustAdd(*s, creds);
  }
  while (s->size() > 0) {
    Step(*s, clock);
  }
  CHECK(failures == kEntries * kAttempts);
  CHECK(all_in_window);
  // The window doubles from 1 s (1, 2, 4, ... 256 s), then stays at the
  // 5 minute cap; over 1,000 draws the largest comes close to it.
  for (int n = 1; n <= kAttempts; ++n) {
    absl::Duration window = BackoffWindow(n, absl::Hours(8));
    INFO("attempt " << n << " window " << absl::FormatDuration(window)
                    << " largest " << absl::FormatDuration(largest[n]));
    CHECK(largest[static_cast<size_t>(n)] <= window);
    CHECK(largest[static_cast<size_t>(n)] >= window * 95 / 100);
  }
  CHECK(BackoffWindow(10, absl::Hours(8)) == absl::Minutes(5));
}

TEST_CASE("Renewal: retries never stop while the certificate is valid",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  renewer.otherwise = absl::DeadlineExceededError("timeout");
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  // One hour: 20 minutes left at the renewal time, so the cap is 1/10 of
  // what is left (2 minutes, shrinking), not 5 minutes.
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(1));
  const absl::Time expiry = kStart + absl::Hours(1);
  uint64_t id = MustAdd(*s, creds);
  while (s->size() > 0) {
    Step(*s, clock);
  }
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() > 20);
  absl::Time last_failure = absl::InfinitePast();
  for (size_t i = 0; i + 1 < got.size(); ++i) {
    const RenewalEvent& e = got[i];
    REQUIRE(e.type == RenewalEventType::kFailed);
    CHECK(e.id == id);
    CHECK(e.attempts == static_cast<int>(i) + 1);
    CHECK(e.time < expiry);
    absl::Duration delay = e.next_attempt - e.time;
    CHECK(delay <= BackoffWindow(e.attempts, expiry - e.time));
    CHECK(delay <= std::max(absl::Seconds(1), (expiry - e.time) / 10));
    last_failure = e.time;
  }
  // Tried until (nearly) the end; then reported expired, since no
  // renew_after_expiry function is configured.
  CHECK(expiry - last_failure <= absl::Seconds(2));
  const RenewalEvent& end = got.back();
  CHECK(end.type == RenewalEventType::kExpired);
  CHECK(end.id == id);
  CHECK(end.time >= expiry);
  CHECK(StatusIs(end.status, absl::StatusCode::kFailedPrecondition, "expired"));
  CHECK(end.next_attempt == absl::InfiniteFuture());
  CHECK(StatusIs(s->Get(id).status(), absl::StatusCode::kNotFound));
}

TEST_CASE("Renewal: after failures, a success restores the normal schedule",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  renewer.script = {absl::UnavailableError("a"), absl::InternalError("b"),
                    absl::UnavailableError("c"), absl::OkStatus(),
                    absl::UnavailableError("d")};
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  uint64_t id = MustAdd(*s, ca.Creds(key, kStart, absl::Hours(24)));

  for (int i = 1; i <= 3; ++i) {
    CHECK(Step(*s, clock) == 1);
    std::vector<RenewalEvent> got = events.Take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == RenewalEventType::kFailed);
    CHECK(got[0].attempts == i);
    CHECK(testing::Unwrap(s->Get(id)).attempts == i);
  }
  CHECK(Step(*s, clock) == 1);
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() == 1);
  CHECK(got[0].type == RenewalEventType::kRenewed);
  CHECK(testing::Unwrap(s->Get(id)).attempts == 0);
  Window w = RenewalWindow(clock.Now(), absl::Hours(24));
  CHECK(got[0].next_attempt >= w.earliest);
  CHECK(got[0].next_attempt <= w.latest);

  // The next failure starts the backoff again from 1 s.
  CHECK(Step(*s, clock) == 1);
  got = events.Take();
  REQUIRE(got.size() == 1);
  CHECK(got[0].type == RenewalEventType::kFailed);
  CHECK(got[0].attempts == 1);
  CHECK(got[0].next_attempt - got[0].time <= absl::Seconds(1));
}

TEST_CASE("Renewal: a refused renewal stops and is reported", "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  absl::Status refusal =
      GENERATE(absl::UnauthenticatedError("certificate revoked"),
               absl::PermissionDeniedError("renewal disabled"));
  renewer.script = {absl::UnavailableError("blip"), refusal};
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  uint64_t id = MustAdd(*s, creds);
  uint64_t other = MustAdd(*s, ca.Creds(key, kStart, absl::Hours(48)));

  CHECK(Step(*s, clock) == 1);
  CHECK(Step(*s, clock) == 1);
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() == 2);
  CHECK(got[1].type == RenewalEventType::kRevoked);
  CHECK(got[1].id == id);
  CHECK(got[1].status == refusal);
  CHECK(got[1].credentials == creds);
  CHECK(got[1].next_attempt == absl::InfiniteFuture());
  CHECK(StatusIs(s->Get(id).status(), absl::StatusCode::kNotFound));
  CHECK(StatusIs(s->Remove(id), absl::StatusCode::kNotFound));
  CHECK(s->size() == 1);
  CHECK(s->NextDeadline() == testing::Unwrap(s->Get(other)).next_attempt);
  CHECK(renewer.calls == 2);
}

TEST_CASE("Renewal: an expired certificate", "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  Renewer after{&ca, &clock};
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  PrivateKey key = testing::NewKey();
  // Expired an hour ago.
  auto creds = ca.Creds(key, kStart - absl::Hours(25), absl::Hours(24));

  SECTION("without renew_after_expiry is reported and dropped") {
    auto s = NewScheduler(std::move(options), clock);
    uint64_t id = MustAdd(*s, creds);
    CHECK(s->RunDue(clock.Now()) == 1);
    std::vector<RenewalEvent> got = events.Take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == RenewalEventType::kExpired);
    CHECK(got[0].id == id);
    CHECK(got[0].credentials == creds);
    CHECK(renewer.calls == 0);
    CHECK(s->size() == 0);
  }
  SECTION("with renew_after_expiry is renewed by it") {
    options.renew_after_expiry = after.Function();
    auto s = NewScheduler(std::move(options), clock);
    uint64_t id = MustAdd(*s, creds);
    CHECK(s->RunDue(clock.Now()) == 1);
    std::vector<RenewalEvent> got = events.Take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == RenewalEventType::kRenewed);
    CHECK(renewer.calls == 0);
    CHECK(after.calls == 1);
    CHECK(testing::Unwrap(s->Get(id)).credentials->chain.front().NotAfter() ==
          clock.Now() + absl::Hours(24));
  }
  SECTION("renew_after_expiry failing is retried with backoff up to 5 min") {
    after.otherwise = absl::UnavailableError("down");
    options.renew_after_expiry = after.Function();
    auto s = NewScheduler(std::move(options), clock);
    MustAdd(*s, creds);
    for (int i = 0; i < 14; ++i) {
      CHECK(Step(*s, clock) == 1);
    }
    std::vector<RenewalEvent> got = events.Take();
    REQUIRE(got.size() == 14);
    absl::Duration largest;
    for (const RenewalEvent& e : got) {
      CHECK(e.type == RenewalEventType::kFailed);
      largest = std::max(largest, e.next_attempt - e.time);
    }
    CHECK(largest <= absl::Minutes(5));
    CHECK(largest > absl::Seconds(16));  // it did grow
    CHECK(renewer.calls == 0);
  }
  SECTION("renew_after_expiry refused reports expiry") {
    after.otherwise = absl::UnauthenticatedError("beyond the grace period");
    options.renew_after_expiry = after.Function();
    auto s = NewScheduler(std::move(options), clock);
    MustAdd(*s, creds);
    CHECK(s->RunDue(clock.Now()) == 1);
    std::vector<RenewalEvent> got = events.Take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == RenewalEventType::kExpired);
    CHECK(StatusIs(got[0].status, absl::StatusCode::kUnauthenticated, "grace"));
    CHECK(s->size() == 0);
  }
}

TEST_CASE("Renewal: entries change while their renewal runs", "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Events events;
  std::unique_ptr<RenewalScheduler> s;
  std::function<void(const Credentials&)> during;
  RenewalOptions options;
  options.renew =
      [&](const Credentials& c) -> absl::StatusOr<IssuedCertificate> {
    during(c);  // runs with no scheduler lock held, or it would deadlock
    return ca.Renewed(c, clock.Now());
  };
  options.on_event = events.Callback();
  s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  int sink_calls = 0;
  auto sink = Must(CallbackSink([&sink_calls](const Credentials&) {
    ++sink_calls;
    return absl::OkStatus();
  }));
  uint64_t id = MustAdd(*s, ca.Creds(key, kStart, absl::Hours(24)), {sink});

  SECTION("removed: the result is dropped") {
    during = [&](const Credentials&) {
      CHECK(testing::Unwrap(s->Get(id)).next_attempt == absl::InfinitePast());
      REQUIRE(s->Remove(id).ok());
    };
    CHECK(Step(*s, clock) == 1);
    CHECK(events.Take().empty());
    CHECK(sink_calls == 0);
    CHECK(s->size() == 0);
    CHECK(s->NextDeadline() == absl::InfiniteFuture());
  }
  SECTION("updated: the host's credentials win") {
    auto replacement = ca.Creds(key, kStart + absl::Hours(1), absl::Hours(48));
    during = [&](const Credentials&) {
      REQUIRE(s->Update(id, replacement).ok());
    };
    CHECK(Step(*s, clock) == 1);
    CHECK(events.Take().empty());
    CHECK(sink_calls == 0);
    RenewalEntry entry = testing::Unwrap(s->Get(id));
    CHECK(entry.credentials == replacement);
    Window w = RenewalWindow(kStart + absl::Hours(1), absl::Hours(48));
    CHECK(entry.next_attempt >= w.earliest);
    CHECK(entry.next_attempt <= w.latest);
  }
  SECTION("added: the new entry is scheduled") {
    uint64_t added = 0;
    during = [&](const Credentials&) {
      if (added == 0) {
        added = MustAdd(*s, ca.Creds(key, clock.Now(), absl::Hours(1)));
      }
    };
    CHECK(Step(*s, clock) == 1);
    CHECK(events.Take().size() == 1);
    CHECK(sink_calls == 1);
    CHECK(s->size() == 2);
    CHECK(added != 0);
    CHECK(added != id);
    CHECK(s->NextDeadline() == testing::Unwrap(s->Get(added)).next_attempt);
  }
  SECTION("another due entry removed before its turn does not run") {
    uint64_t second = MustAdd(*s, ca.Creds(key, kStart, absl::Hours(24)));
    int renewals = 0;
    during = [&](const Credentials&) {
      ++renewals;
      // Whichever runs first removes the other.
      (void)s->Remove(id);
      (void)s->Remove(second);
    };
    clock.Set(kStart + absl::Hours(16));  // both are due
    CHECK(s->RunDue(clock.Now()) == 1);
    CHECK(renewals == 1);
    CHECK(s->size() == 0);
  }
}

TEST_CASE("Renewal: ids, validation and unchanged state on errors",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};

  RenewalOptions bad;
  CHECK(StatusIs(RenewalScheduler::Create(bad, clock).status(),
                 absl::StatusCode::kInvalidArgument, "renew"));
  bad.renew = renewer.Function();
  bad.first_retry = absl::ZeroDuration();
  CHECK(StatusIs(RenewalScheduler::Create(bad, clock).status(),
                 absl::StatusCode::kInvalidArgument, "first_retry"));
  bad.first_retry = absl::Minutes(10);
  CHECK(StatusIs(RenewalScheduler::Create(bad, clock).status(),
                 absl::StatusCode::kInvalidArgument, "max_retry"));

  RenewalOptions options;
  options.renew = renewer.Function();
  auto s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  PrivateKey other = testing::NewKey();
  auto good = ca.Creds(key, kStart, absl::Hours(24));

  CHECK(StatusIs(s->Add(nullptr).status(), absl::StatusCode::kInvalidArgument,
                 "NULL"));
  CHECK(StatusIs(
      s->Add(std::make_shared<const Credentials>(Credentials{{}, key, 1}))
          .status(),
      absl::StatusCode::kInvalidArgument, "empty"));
  CHECK(StatusIs(s->Add(std::make_shared<const Credentials>(
                            Credentials{good->chain, other, 1}))
                     .status(),
                 absl::StatusCode::kInvalidArgument, "does not belong"));
  CHECK(StatusIs(s->Add(good, {nullptr}).status(),
                 absl::StatusCode::kInvalidArgument, "sink 0"));
  CHECK(s->size() == 0);
  CHECK(s->NextDeadline() == absl::InfiniteFuture());

  uint64_t id = MustAdd(*s, good);
  absl::Time deadline = s->NextDeadline();
  CHECK(StatusIs(s->Update(id, std::make_shared<const Credentials>(
                                   Credentials{good->chain, other, 1})),
                 absl::StatusCode::kInvalidArgument, "does not belong"));
  CHECK(testing::Unwrap(s->Get(id)).credentials == good);
  CHECK(s->NextDeadline() == deadline);
  CHECK(StatusIs(s->Update(id + 1, good), absl::StatusCode::kNotFound));
  CHECK(StatusIs(s->Get(0).status(), absl::StatusCode::kNotFound));

  // A removed id is not handed out again, even though its slot is reused.
  REQUIRE(s->Remove(id).ok());
  CHECK(StatusIs(s->Remove(id), absl::StatusCode::kNotFound, "no entry"));
  uint64_t again = MustAdd(*s, good);
  CHECK(again != id);
  CHECK(StatusIs(s->Get(id).status(), absl::StatusCode::kNotFound));
  CHECK(s->Get(again).ok());
  CHECK(s->size() == 1);
}

TEST_CASE("Renewal: host-loop mode runs entries in deadline order",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  // Lifetimes of 1..50 hours, added in a scrambled order.
  std::vector<uint64_t> ids(51);
  for (int i = 0; i < 50; ++i) {
    int hours = 1 + (i * 17) % 50;
    ids[static_cast<size_t>(hours)] =
        MustAdd(*s, ca.Creds(key, kStart, absl::Hours(hours)));
  }
  // Remove and update some, to exercise the heap's middle.
  REQUIRE(s->Remove(ids[10]).ok());
  REQUIRE(s->Remove(ids[33]).ok());
  REQUIRE(s->Update(ids[49], ca.Creds(key, kStart, absl::Minutes(30))).ok());

  // Expected: first renewals in the order of the deadlines drawn.
  std::vector<std::pair<absl::Time, uint64_t>> by_deadline;
  for (int h = 1; h <= 50; ++h) {
    absl::StatusOr<RenewalEntry> e = s->Get(ids[static_cast<size_t>(h)]);
    if (e.ok()) {
      by_deadline.emplace_back(e->next_attempt, ids[static_cast<size_t>(h)]);
    }
  }
  REQUIRE(by_deadline.size() == 48);
  std::sort(by_deadline.begin(), by_deadline.end());
  std::vector<uint64_t> want;
  for (const auto& d : by_deadline) {
    want.push_back(d.second);
  }

  // A renewed certificate comes round again (the 1 h one at ~1 h 20 min),
  // so only first renewals are compared.
  std::vector<uint64_t> firsts;
  std::set<uint64_t> seen;
  absl::Time previous = absl::InfinitePast();
  while (seen.size() < 48) {
    absl::Time next = s->NextDeadline();
    CHECK(next >= previous);
    previous = next;
    clock.Set(next);
    CHECK(s->RunDue(next) >= 1);
    for (const RenewalEvent& e : events.Take()) {
      CHECK(e.type == RenewalEventType::kRenewed);
      if (seen.insert(e.id).second) {
        firsts.push_back(e.id);
      }
    }
  }
  CHECK(firsts == want);
  CHECK(StatusIs(s->Get(ids[10]).status(), absl::StatusCode::kNotFound));
}

TEST_CASE("Renewal: a CA's answer is checked before it is installed",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Events events;
  PrivateKey key = testing::NewKey();
  PrivateKey stranger = testing::NewKey();
  RenewalOptions options;
  options.renew = [&](const Credentials&) -> absl::StatusOr<IssuedCertificate> {
    // A certificate for somebody else's key.
    Certificate leaf =
        ca.Leaf(stranger.public_key(), clock.Now(), absl::Hours(24));
    return IssuedCertificate{leaf, {leaf}};
  };
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  uint64_t id = MustAdd(*s, creds);
  CHECK(Step(*s, clock) == 1);
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() == 1);
  CHECK(got[0].type == RenewalEventType::kFailed);
  CHECK(
      StatusIs(got[0].status, absl::StatusCode::kInternal, "does not belong"));
  CHECK(testing::Unwrap(s->Get(id)).credentials == creds);
}

TEST_CASE("Renewal: a failing sink is reported; the others still run",
          "[renewal]") {
  FakeClock clock(kStart);
  MiniCa ca;
  Renewer renewer{&ca, &clock};
  Events events;
  RenewalOptions options;
  options.renew = renewer.Function();
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);
  PrivateKey key = testing::NewKey();
  bool last_ran = false;
  auto failing = Must(CallbackSink(
      [](const Credentials&) { return absl::UnavailableError("disk full"); }));
  auto last = Must(CallbackSink([&last_ran](const Credentials&) {
    last_ran = true;
    return absl::OkStatus();
  }));
  uint64_t id =
      MustAdd(*s, ca.Creds(key, kStart, absl::Hours(24)), {failing, last});
  CHECK(Step(*s, clock) == 1);
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() == 2);
  CHECK(got[0].type == RenewalEventType::kSinkFailed);
  CHECK(got[0].id == id);
  CHECK(got[0].sink_index == 0);
  CHECK(StatusIs(got[0].status, absl::StatusCode::kUnavailable,
                 "sink 0: disk full"));
  CHECK(got[1].type == RenewalEventType::kRenewed);
  CHECK(got[0].credentials == got[1].credentials);
  CHECK(last_ran);
}

TEST_CASE("Renewal: an Authority renews until it revokes", "[renewal]") {
  testing::TestCa ca;
  testing::Issued issued = ca.Issue("svc.example.com");
  Events events;
  RenewalOptions options;
  options.renew = [&ca](const Credentials& c) { return ca.ca->Renew(c.chain); };
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), ca.clock);
  uint64_t id = MustAdd(*s, std::make_shared<const Credentials>(
                                Credentials{issued.cert.chain, issued.key, 1}));
  CHECK(Step(*s, ca.clock) == 1);
  std::vector<RenewalEvent> got = events.Take();
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].type == RenewalEventType::kRenewed);
  // Revoking the original revokes its lineage: the next renewal is refused.
  REQUIRE(ca.Revoke(issued.serial()).ok());
  CHECK(Step(*s, ca.clock) == 1);
  got = events.Take();
  REQUIRE(got.size() == 1);
  CHECK(got[0].type == RenewalEventType::kRevoked);
  CHECK(got[0].id == id);
  CHECK(got[0].status.code() == absl::StatusCode::kUnauthenticated);
  CHECK(s->size() == 0);
}

// --- Threaded mode ----------------------------------------------------------

TEST_CASE("Renewal: the scheduler thread renews what is due", "[renewal]") {
  // The clock stands past every deadline, so the thread never waits for
  // time; the test waits for its events.
  FakeClock clock(kStart + absl::Hours(17));
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  Events events;
  std::atomic<int> calls{0};
  RenewalOptions options;
  options.renew = [&](const Credentials& c) {
    ++calls;
    return absl::StatusOr<IssuedCertificate>(ca.Renewed(c, kStart));
  };
  options.on_event = events.Callback();
  auto s = NewScheduler(std::move(options), clock);

  REQUIRE(s->Start().ok());
  CHECK(StatusIs(s->Start(), absl::StatusCode::kFailedPrecondition,
                 "already running"));
  // Added while the thread sleeps with nothing to do: Add wakes it.
  uint64_t id = MustAdd(*s, creds);
  REQUIRE(events.WaitFor(1));
  std::vector<RenewalEvent> got = events.Take();
  CHECK(got[0].type == RenewalEventType::kRenewed);
  CHECK(got[0].id == id);

  // Adds and removes from another thread while it runs.
  // (Catch's assertions are not thread-safe: the thread only counts.)
  std::vector<uint64_t> kept;
  int host_errors = 0;
  std::thread host([&] {
    for (int i = 0; i < 500; ++i) {
      absl::StatusOr<uint64_t> a = s->Add(creds);
      absl::StatusOr<uint64_t> b = s->Add(creds);
      if (!a.ok() || !b.ok() || !s->Remove(*a).ok()) {
        ++host_errors;  // Remove succeeds even while a's renewal runs
        continue;
      }
      kept.push_back(*b);
    }
  });
  host.join();
  CHECK(host_errors == 0);
  CHECK(s->size() == 501);
  // Every kept entry is renewed once (renewed certificates start at kStart,
  // so they are not due again before 16 h).
  REQUIRE(events.WaitUntil([&kept](const std::vector<RenewalEvent>& got) {
    std::set<uint64_t> ids;
    for (const RenewalEvent& e : got) {
      ids.insert(e.id);
    }
    return std::all_of(kept.begin(), kept.end(),
                       [&ids](uint64_t k) { return ids.count(k) == 1; });
  }));
  s->Stop();
  s->Stop();  // a no-op
  std::set<uint64_t> renewed;
  for (const RenewalEvent& e : events.Take()) {
    CHECK(e.type == RenewalEventType::kRenewed);
    renewed.insert(e.id);
  }
  for (uint64_t k : kept) {
    CHECK(renewed.count(k) == 1);
  }
  CHECK(s->size() == 501);
  // Stopped: a new due entry waits for RunDue or a new Start.
  uint64_t late = MustAdd(*s, creds);
  CHECK(s->NextDeadline() <= clock.Now());
  REQUIRE(s->Start().ok());
  REQUIRE(events.WaitFor(1));
  CHECK(events.Take()[0].id == late);
}

TEST_CASE("Renewal: the scheduler may be stopped or destroyed from a callback",
          "[renewal]") {
  FakeClock clock(kStart + absl::Hours(17));
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  std::unique_ptr<RenewalScheduler> s;
  absl::Notification done;
  std::atomic<int> events{0};
  RenewalOptions options;
  options.renew = [&](const Credentials& c) {
    return absl::StatusOr<IssuedCertificate>(ca.Renewed(c, kStart));
  };

  SECTION("Stop on the scheduler thread") {
    Events seen;
    auto record = seen.Callback();
    options.on_event = [&, record](const RenewalEvent& e) {
      s->Stop();  // each thread stops after one renewal
      record(e);
    };
    s = NewScheduler(std::move(options), clock);
    uint64_t a = MustAdd(*s, creds);
    uint64_t b = MustAdd(*s, creds);
    REQUIRE(s->Start().ok());
    REQUIRE(seen.WaitFor(1));
    // The other entry, not reached, goes back to the heap; a new thread
    // runs it (and the stopped one is not revived by the Start).
    REQUIRE(s->Start().ok());
    REQUIRE(seen.WaitFor(2));
    std::vector<RenewalEvent> got = seen.Take();
    REQUIRE(got.size() == 2);
    CHECK(std::set<uint64_t>{got[0].id, got[1].id} == std::set<uint64_t>{a, b});
    s.reset();
  }
  SECTION("destroyed on the scheduler thread") {
    options.on_event = [&](const RenewalEvent&) {
      ++events;
      s.reset();  // waits for nothing, frees after the callback
      done.Notify();
    };
    s = NewScheduler(std::move(options), clock);
    MustAdd(*s, creds);
    MustAdd(*s, creds);
    REQUIRE(s->Start().ok());
    REQUIRE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
    CHECK(events == 1);
  }
  SECTION("destroyed in RunDue") {
    options.on_event = [&](const RenewalEvent&) {
      ++events;
      s.reset();
    };
    s = NewScheduler(std::move(options), clock);
    MustAdd(*s, creds);
    MustAdd(*s, creds);
    RenewalScheduler* raw = s.get();
    raw->RunDue(clock.Now());  // the object dies inside; no further events
    CHECK(events == 1);
  }
}

// --- Sinks ------------------------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

ino_t InodeOf(const std::string& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

// Matches reports whether the PEM texts parse completely and the
// certificate's key is the private key's.
bool Matches(const std::string& chain_pem, const std::string& key_pem) {
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::ParsePemBundle(chain_pem);
  absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(key_pem);
  return chain.ok() && key.ok() && chain->size() == 2 &&
         chain->front().public_key().Equals(key->public_key());
}

TEST_CASE("Renewal sinks: files are written atomically with their modes",
          "[renewal]") {
  TempDir dir;
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  FilesSinkOptions paths;
  paths.cert_path = dir.path() + "/cert.pem";
  paths.key_path = dir.path() + "/key.pem";
  paths.bundle_path = dir.path() + "/bundle.pem";
  auto files = Must(AtomicFilesSink(paths));

  // Modes are the sink's, whatever the umask.
  mode_t old_umask = umask(0);
  absl::Status delivered =
      files->Deliver(*ca.Creds(key, kStart, absl::Hours(24)));
  umask(077);
  absl::Status again = files->Deliver(*ca.Creds(key, kStart, absl::Hours(24)));
  umask(old_umask);
  REQUIRE(delivered.ok());
  REQUIRE(again.ok());
  CHECK(ModeOf(paths.cert_path) == 0644);
  CHECK(ModeOf(paths.key_path) == 0600);
  CHECK(ModeOf(paths.bundle_path) == 0600);
  CHECK(Matches(ReadFile(paths.cert_path), ReadFile(paths.key_path)));
  CHECK(ReadFile(paths.bundle_path) ==
        ReadFile(paths.cert_path) + ReadFile(paths.key_path));

  // No temporary file is left behind.
  CHECK(testing::Run("ls -A " + testing::ShellQuote(dir.path())).output ==
        "bundle.pem\ncert.pem\nkey.pem\n");

  // A renewal keeps the key: the key file is left alone.
  ino_t key_inode = InodeOf(paths.key_path);
  ino_t cert_inode = InodeOf(paths.cert_path);
  REQUIRE(files->Deliver(*ca.Creds(key, kStart, absl::Hours(24))).ok());
  CHECK(InodeOf(paths.key_path) == key_inode);
  CHECK(InodeOf(paths.cert_path) != cert_inode);
  // A new key replaces it.
  PrivateKey rekeyed = testing::NewKey();
  REQUIRE(files->Deliver(*ca.Creds(rekeyed, kStart, absl::Hours(24))).ok());
  CHECK(InodeOf(paths.key_path) != key_inode);
  CHECK(Matches(ReadFile(paths.cert_path), ReadFile(paths.key_path)));
  CHECK(PrivateKey::FromPem(ReadFile(paths.key_path))
            ->public_key()
            .Equals(rekeyed.public_key()));
}

TEST_CASE("Renewal sinks: a reader never sees a mismatched pair", "[renewal]") {
  TempDir dir;
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  std::vector<PrivateKey> keys = {testing::NewKey(), testing::NewKey()};
  FilesSinkOptions paths;
  paths.cert_path = dir.path() + "/cert.pem";
  paths.key_path = dir.path() + "/key.pem";
  paths.bundle_path = dir.path() + "/bundle.pem";
  auto files = Must(AtomicFilesSink(paths));
  REQUIRE(files->Deliver(*ca.Creds(key, kStart, absl::Hours(24))).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, bad_pairs{0}, bad_bundles{0};
  std::thread reader([&] {
    // Renewals keep the key, so the separate files always match; the
    // bundle matches even across key changes.
    while (!stop || reads < 50) {
      std::string cert = ReadFile(paths.cert_path);
      std::string k = ReadFile(paths.key_path);
      if (!Matches(cert, k)) {
        ++bad_pairs;
      }
      std::string bundle = ReadFile(paths.bundle_path);
      size_t split = bundle.find("-----BEGIN PRIVATE KEY-----");
      if (split == std::string::npos ||
          !Matches(bundle.substr(0, split), bundle.substr(split))) {
        ++bad_bundles;
      }
      ++reads;
    }
  });
  for (int i = 0; i < 150; ++i) {
    REQUIRE(files->Deliver(*ca.Creds(key, kStart, absl::Hours(24))).ok());
  }
  // Key changes: only the bundle promises a matched pair across them.
  FilesSinkOptions bundle_only;
  bundle_only.bundle_path = paths.bundle_path;
  auto bundle_sink = Must(AtomicFilesSink(bundle_only));
  for (int i = 0; i < 100; ++i) {
    REQUIRE(bundle_sink
                ->Deliver(*ca.Creds(keys[static_cast<size_t>(i % 2)], kStart,
                                    absl::Hours(24)))
                .ok());
  }
  stop = true;
  reader.join();
  CHECK(reads >= 50);
  CHECK(bad_pairs == 0);
  CHECK(bad_bundles == 0);
}

TEST_CASE("Renewal sinks: files errors", "[renewal]") {
  TempDir dir;
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  FilesSinkOptions o;
  CHECK(StatusIs(AtomicFilesSink(o).status(),
                 absl::StatusCode::kInvalidArgument, "no file"));
  o.cert_path = dir.path() + "/cert.pem";
  CHECK(StatusIs(AtomicFilesSink(o).status(),
                 absl::StatusCode::kInvalidArgument, "together"));
  o.key_path = o.cert_path;
  CHECK(StatusIs(AtomicFilesSink(o).status(),
                 absl::StatusCode::kInvalidArgument, "twice"));
  o.key_path = dir.path() + "/missing/key.pem";
  auto files = Must(AtomicFilesSink(o));
  absl::Status s = files->Deliver(*ca.Creds(key, kStart, absl::Hours(24)));
  CHECK(StatusIs(s, absl::StatusCode::kNotFound, "missing"));
  // Nothing was written: the key comes first, and it failed.
  CHECK(access(o.cert_path.c_str(), F_OK) != 0);
}

TEST_CASE("Renewal sinks: rotating credentials and callbacks", "[renewal]") {
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  CHECK(StatusIs(RotatingCredentialsSink(nullptr).status(),
                 absl::StatusCode::kInvalidArgument));
  CHECK(StatusIs(CallbackSink(nullptr).status(),
                 absl::StatusCode::kInvalidArgument));
  auto rotating = std::make_shared<RotatingCredentials>();
  auto sink = Must(RotatingCredentialsSink(rotating));
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  REQUIRE(sink->Deliver(*creds).ok());
  CHECK(rotating->Current()->chain.front().Equals(creds->chain.front()));
  // A pair that does not match is refused by RotatingCredentials.
  PrivateKey other = testing::NewKey();
  CHECK(StatusIs(sink->Deliver(Credentials{creds->chain, other, 2}),
                 absl::StatusCode::kInvalidArgument));
}

// SteppingClock moves one second each time it is read, so a timeout passes
// after a few reads without anybody waiting for real time.
class SteppingClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    now_ += absl::Seconds(1);
    return now_;
  }

 private:
  mutable absl::Mutex mu_;
  mutable absl::Time now_ ABSL_GUARDED_BY(mu_) = kStart;
};

TEST_CASE("Renewal sinks: a command runs after each renewal", "[renewal]") {
  TempDir dir;
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  CommandSinkOptions o;
  CHECK(StatusIs(CommandSink(o).status(), absl::StatusCode::kInvalidArgument,
                 "no program"));

  // No shell: the argument with spaces and quotes arrives as one.
  std::string out = dir.path() + "/out";
  o.argv = {"/bin/sh",          "-c", "printf '%s' \"$1\" > \"$2\"", "sh",
            "it's \"one\" arg", out};
  REQUIRE(Must(CommandSink(o))->Deliver(*creds).ok());
  CHECK(ReadFile(out) == "it's \"one\" arg");

  o.argv = {"false"};  // looked up in PATH
  CHECK(StatusIs(Must(CommandSink(o))->Deliver(*creds),
                 absl::StatusCode::kInternal, "exited with status 1"));
  o.argv = {dir.path() + "/no-such-program"};
  CHECK(StatusIs(Must(CommandSink(o))->Deliver(*creds),
                 absl::StatusCode::kNotFound, "no-such-program"));
  o.argv = {"/bin/sh", "-c", "kill -TERM $$"};
  CHECK(StatusIs(Must(CommandSink(o))->Deliver(*creds),
                 absl::StatusCode::kInternal, "signal 15"));

  SteppingClock stepping;
  o.argv = {"sleep", "600"};
  o.timeout = absl::Seconds(5);
  o.clock = &stepping;
  CHECK(StatusIs(Must(CommandSink(o))->Deliver(*creds),
                 absl::StatusCode::kDeadlineExceeded, "killed after 5s"));
}

volatile sig_atomic_t g_signalled = 0;
void OnSignal(int) { g_signalled = g_signalled + 1; }

TEST_CASE("Renewal sinks: a process is signalled", "[renewal]") {
  TempDir dir;
  MiniCa ca;
  PrivateKey key = testing::NewKey();
  auto creds = ca.Creds(key, kStart, absl::Hours(24));
  SignalSinkOptions o;
  CHECK(StatusIs(SignalSink(o).status(), absl::StatusCode::kInvalidArgument,
                 "exactly one"));
  o.pid = getpid();
  o.pid_file = dir.path() + "/pid";
  CHECK(StatusIs(SignalSink(o).status(), absl::StatusCode::kInvalidArgument,
                 "exactly one"));
  o.pid_file.clear();
  o.signal = 0;
  CHECK(StatusIs(SignalSink(o).status(), absl::StatusCode::kInvalidArgument,
                 "signal"));

  struct sigaction action = {}, previous = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  REQUIRE(sigaction(SIGUSR1, &action, &previous) == 0);
  g_signalled = 0;
  o.signal = SIGUSR1;
  // kill() delivers a signal to the calling process before it returns when
  // the calling thread does not block it.
  REQUIRE(Must(SignalSink(o))->Deliver(*creds).ok());
  CHECK(g_signalled == 1);

  SignalSinkOptions by_file;
  by_file.signal = SIGUSR1;
  by_file.pid_file = dir.path() + "/pid";
  auto sink = Must(SignalSink(by_file));
  CHECK(
      StatusIs(sink->Deliver(*creds), absl::StatusCode::kNotFound, "pid file"));
  dir.Write("pid", absl::StrCat(getpid(), "\n"));
  REQUIRE(sink->Deliver(*creds).ok());
  CHECK(g_signalled == 2);
  sigaction(SIGUSR1, &previous, nullptr);

  for (const char* bad : {"0", "-1", "abc", "", "99999999999"}) {
    dir.Write("pid", bad);
    CHECK(StatusIs(sink->Deliver(*creds), absl::StatusCode::kInvalidArgument,
                   "positive pid"));
  }
  // A process that has exited (and been reaped) is not found.
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    _exit(0);
  }
  REQUIRE(waitpid(child, nullptr, 0) == child);
  dir.Write("pid", absl::StrCat(child));
  CHECK(StatusIs(sink->Deliver(*creds), absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mayfly

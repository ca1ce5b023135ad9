#include "mayfly/clock.h"

#include <thread>
#include <vector>

#include "catch2/catch.hpp"

namespace mayfly {
namespace {

TEST_CASE("Clock: FakeClock stands still until moved", "[clock]") {
  const absl::Time start = absl::FromUnixSeconds(1764031500);
  FakeClock clock(start);
  CHECK(clock.Now() == start);
  CHECK(clock.Now() == start);
  clock.Advance(absl::Seconds(61));
  CHECK(clock.Now() == start + absl::Seconds(61));
  clock.Advance(-absl::Minutes(2));
  CHECK(clock.Now() == start - absl::Seconds(59));
  clock.Set(absl::UnixEpoch());
  CHECK(clock.Now() == absl::UnixEpoch());
}

TEST_CASE("Clock: FakeClock is safe to advance from many threads", "[clock]") {
  FakeClock clock(absl::UnixEpoch());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) {
        clock.Advance(absl::Seconds(1));
        (void)clock.Now();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(clock.Now() == absl::UnixEpoch() + absl::Seconds(4000));
}

TEST_CASE("Clock: the real clock moves with the system time", "[clock]") {
  const Clock& real = Clock::Real();
  CHECK(&real == &Clock::Real());
  absl::Time now = real.Now();
  // Later than this code was written, and not in the far future.
  CHECK(now > absl::FromUnixSeconds(1764000000));
  CHECK(now < absl::FromUnixSeconds(4102444800));
  CHECK(real.Now() >= now);
}

}  // namespace
}  // namespace mayfly

#include "mayfly/clock.h"

#include <new>

namespace mayfly {

absl::Time RealClock::Now() const { return absl::Now(); }

const Clock& Clock::Real() {
  // Never destroyed: a host may unload mayfly in any order at exit.
  alignas(RealClock) static unsigned char storage[sizeof(RealClock)];
  static const Clock* clock = new (storage) RealClock();
  return *clock;
}

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::Advance(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  now_ += d;
}

void FakeClock::Set(absl::Time t) {
  absl::MutexLock lock(&mu_);
  now_ = t;
}

}  // namespace mayfly

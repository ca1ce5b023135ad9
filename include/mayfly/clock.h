// File: mayfly/clock.h
//
// Time as an injected dependency. Every mayfly component that needs the time
// takes a `const Clock&`; only RealClock reads the system clock, so tests
// drive time with FakeClock and never sleep.
//
//   FakeClock clock(absl::FromUnixSeconds(1764031500));
//   Authority ca(..., clock);
//   clock.Advance(absl::Hours(16));  // renewal is now due

#ifndef MAYFLY_CLOCK_H_
#define MAYFLY_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mayfly {

// Clock is the source of the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;

  // Now returns the current time.
  virtual absl::Time Now() const = 0;

  // Real returns the process-wide wall clock. The object is never destroyed,
  // so it may be used during static destruction. Thread-safe.
  static const Clock& Real();
};

// RealClock reads the system's wall clock.
class RealClock final : public Clock {
 public:
  absl::Time Now() const override;
};

// FakeClock is a clock for tests: it stands still until told to move.
// Thread-safe: one thread may Advance while others read.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override ABSL_LOCKS_EXCLUDED(mu_);

  // Advance moves the clock forward by `d` (which may be negative).
  void Advance(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  // Set moves the clock to `t`.
  void Set(absl::Time t) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mayfly

#endif  // MAYFLY_CLOCK_H_

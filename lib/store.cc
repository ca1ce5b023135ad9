// NewStore picks a Store backend from a URL's scheme; DefaultStoreUrl and
// StorePruner serve every backend alike.

#include "mayfly/store.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "mayfly/status.h"

namespace mayfly {

absl::StatusOr<std::unique_ptr<Store>> NewStore(absl::string_view url) {
  // Only the scheme is ever echoed in errors: the rest of a database URL can
  // hold a password.
  const size_t colon = url.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        "store url has no scheme (expected e.g. \"memory:\")");
  }
  constexpr size_t kMaxEchoedScheme = 32;
  const absl::string_view scheme = url.substr(0, colon);
  const absl::string_view rest = url.substr(colon + 1);
  if (scheme == "memory") {
    if (!rest.empty()) {
      return absl::InvalidArgumentError(
          "store url \"memory:\" takes nothing after the scheme");
    }
    return NewMemoryStore();
  }
  if (scheme == "sqlite") {
    if (rest.empty()) {
      return absl::InvalidArgumentError(
          "store url \"sqlite:\" needs a file path (sqlite:PATH)");
    }
    return NewSqliteStore(std::string(rest));
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    // libpq reads the URL itself.
    return NewPostgresStore(std::string(url));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported store url scheme \"",
                   absl::CEscape(scheme.substr(0, kMaxEchoedScheme)),
                   "\"; supported: memory, sqlite, postgres"));
}

std::string DefaultStoreUrl(absl::string_view ca_dir) {
  if (ca_dir.empty()) {
    return "memory:";
  }
  return absl::StrCat("sqlite:", ca_dir, "/db/mayfly.db");
}

class StorePruner::Impl {
 public:
  Impl(Store& store, const Clock& clock, PruneOptions options)
      : store_(store), clock_(clock), options_(options) {}

  ~Impl() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void StartThread() {
    thread_ = std::thread([this] { Loop(); });
  }

  absl::StatusOr<int64_t> PruneNow() {
    return store_.Prune(clock_.Now(), options_.retention);
  }

  Stats stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

  // RunOnce prunes and records the outcome.
  void RunOnce() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::StatusOr<int64_t> removed = PruneNow();
    absl::MutexLock lock(&mu_);
    stats_.runs++;
    if (removed.ok()) {
      stats_.rows_removed += *removed;
      stats_.last_error = absl::OkStatus();
    } else {
      stats_.failures++;
      stats_.last_error = removed.status();
    }
  }

 private:
  void Loop() {
    for (;;) {
      {
        // Real time, not clock_: the interval paces work on this machine;
        // clock_ says what has expired.
        absl::MutexLock lock(&mu_);
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                                 options_.interval)) {
          return;
        }
      }
      RunOnce();
    }
  }

  Store& store_;
  const Clock& clock_;
  const PruneOptions options_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<StorePruner>> StorePruner::Start(
    Store& store, const Clock& clock, PruneOptions options) {
  if (options.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("prune interval must be positive");
  }
  if (options.retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("prune retention is negative");
  }
  auto impl = std::make_unique<Impl>(store, clock, options);
  // The first prune runs before Start returns, so what a caller sees right
  // after Start does not change under it until the first interval passed.
  impl->RunOnce();
  impl->StartThread();
  return std::unique_ptr<StorePruner>(new StorePruner(std::move(impl)));
}

StorePruner::StorePruner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StorePruner::~StorePruner() = default;

absl::StatusOr<int64_t> StorePruner::PruneNow() { return impl_->PruneNow(); }

StorePruner::Stats StorePruner::stats() const { return impl_->stats(); }

}  // namespace mayfly

// Counters and histograms of the HTTPS server, exposed in the Prometheus
// text format (version 0.0.4) at /metrics. Private to mayfly.
//
// Recording is lock-free once a series exists (relaxed atomic adds); the
// first sight of a new label value takes a writer lock once. Label values
// come from the router's route templates and outcome words, a small set;
// still, each family holds at most kMaxSeries label sets, and further ones
// are counted in one series labelled overflow="true" (histograms: route
// "other"), so no client can grow memory.

#ifndef MAYFLY_LIB_SERVER_METRICS_H_
#define MAYFLY_LIB_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mayfly {
namespace internal {

// CounterFamily is a counter keyed by one rendered label set
// (`route="/sign",code="201"`).
class CounterFamily {
 public:
  static constexpr size_t kMaxSeries = 512;

  // Add adds `n` to the series `labels` (already rendered; see Labels).
  void Add(const std::string& labels, uint64_t n = 1) ABSL_LOCKS_EXCLUDED(mu_);

  // Snapshot returns every series and its value, ordered by labels.
  std::map<std::string, uint64_t> Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::atomic<uint64_t>* Find(const std::string& labels)
      ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  // unique_ptr: the atomics stay put while the map grows.
  std::map<std::string, std::unique_ptr<std::atomic<uint64_t>>> series_
      ABSL_GUARDED_BY(mu_);
};

// Histogram of durations in seconds with fixed buckets.
class DurationHistogram {
 public:
  static constexpr std::array<double, 12> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

  void Observe(absl::Duration d);
  // Render appends the _bucket, _sum and _count lines of `name` with
  // `labels` (rendered, may be empty).
  void Render(absl::string_view name, absl::string_view labels,
              std::string* out) const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets.size()>
      buckets_{};  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// ServerMetrics is everything CaServer counts. Thread-safe.
class ServerMetrics {
 public:
  ServerMetrics() = default;
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // RecordRequest counts one answered request of `route` (the router's
  // template, or a word such as "none" for requests refused before
  // routing) with HTTP `status`, taking `duration`.
  void RecordRequest(absl::string_view route, int status,
                     absl::Duration duration);

  // RecordOutcome counts what a request did: "issued", "renewed",
  // "rekeyed", "revoked"; any other non-empty outcome of a 401 answer is a
  // refused token or client certificate, counted by that reason.
  void RecordOutcome(absl::string_view outcome, int status);

  // Connections: ones held by a worker or the 503 responder now, and ones
  // refused because the server was full ("overload": handed to the 503
  // responder; "dropped": closed unread).
  void ConnectionOpened() { open_connections_.fetch_add(1); }
  void ConnectionClosed() { open_connections_.fetch_sub(1); }
  void ConnectionRefused(absl::string_view reason);

  // Requests being read or answered now.
  void RequestStarted() { in_flight_.fetch_add(1); }
  void RequestFinished() { in_flight_.fetch_sub(1); }

  // ServerCertificateRotated records a new server certificate.
  void ServerCertificateRotated(absl::Time not_after);
  void ServerCertificateRotationFailed() { rotation_failures_.fetch_add(1); }

  // Text renders every metric in the Prometheus text format.
  std::string Text() const;

 private:
  CounterFamily requests_;  // route, code
  mutable absl::Mutex histograms_mu_;
  std::map<std::string, std::unique_ptr<DurationHistogram>> histograms_
      ABSL_GUARDED_BY(histograms_mu_);  // by route
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> renewed_{0};
  std::atomic<uint64_t> rekeyed_{0};
  std::atomic<uint64_t> revoked_{0};
  CounterFamily refused_;              // reason
  CounterFamily refused_connections_;  // reason
  std::atomic<int64_t> open_connections_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> rotations_{0};
  std::atomic<uint64_t> rotation_failures_{0};
  std::atomic<int64_t> certificate_not_after_{0};  // Unix seconds
};

// Labels renders `name="value"` pairs for a series, escaping values as the
// text format requires (backslash, double quote, newline).
std::string Labels(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        pairs);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_SERVER_METRICS_H_

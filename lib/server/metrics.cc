#include "server/metrics.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mayfly {
namespace internal {

namespace {

// Where series beyond CounterFamily::kMaxSeries go, and the route of
// histograms beyond it.
constexpr char kOverflowLabels[] = "overflow=\"true\"";
constexpr char kOtherRoute[] = "other";

void AppendEscaped(absl::string_view value, std::string* out) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '"':
        out->append("\\\"");
        break;
      case '\n':
        out->append("\\n");
        break;
      default:
        out->push_back(c);
    }
  }
}

// FormatSeconds prints a float the way Prometheus clients do: shortest
// round-trip form.
std::string FormatSeconds(double seconds) {
  return absl::StrFormat("%.9g", seconds);
}

void Header(absl::string_view name, absl::string_view type,
            absl::string_view help, std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type,
                  "\n");
}

void Sample(absl::string_view name, absl::string_view labels,
            absl::string_view value, std::string* out) {
  absl::StrAppend(out, name);
  if (!labels.empty()) {
    absl::StrAppend(out, "{", labels, "}");
  }
  absl::StrAppend(out, " ", value, "\n");
}

}  // namespace

std::string Labels(
    std::initializer_list<std::pair<absl::string_view, absl::string_view>>
        pairs) {
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) {
      out.push_back(',');
    }
    absl::StrAppend(&out, name, "=\"");
    AppendEscaped(value, &out);
    out.push_back('"');
  }
  return out;
}

std::atomic<uint64_t>* CounterFamily::Find(const std::string& labels) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = series_.find(labels);
    if (it != series_.end()) {
      return it->second.get();
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = series_.find(labels);
  if (it != series_.end()) {
    return it->second.get();
  }
  // Full: fold new label sets into one series rather than grow.
  const std::string key =
      series_.size() >= kMaxSeries ? std::string(kOverflowLabels) : labels;
  std::unique_ptr<std::atomic<uint64_t>>& slot = series_[key];
  if (slot == nullptr) {
    slot = std::make_unique<std::atomic<uint64_t>>(0);
  }
  return slot.get();
}

void CounterFamily::Add(const std::string& labels, uint64_t n) {
  Find(labels)->fetch_add(n, std::memory_order_relaxed);
}

std::map<std::string, uint64_t> CounterFamily::Snapshot() const {
  std::map<std::string, uint64_t> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [labels, value] : series_) {
    out.emplace(labels, value->load(std::memory_order_relaxed));
  }
  return out;
}

void DurationHistogram::Observe(absl::Duration d) {
  if (d < absl::ZeroDuration()) {
    d = absl::ZeroDuration();
  }
  const double seconds = absl::ToDoubleSeconds(d);
  for (size_t i = 0; i < kBuckets.size(); i++) {
    if (seconds <= kBuckets[i]) {
      buckets_[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  sum_ns_.fetch_add(static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)),
                    std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void DurationHistogram::Render(absl::string_view name, absl::string_view labels,
                               std::string* out) const {
  // Read the count first: buckets read later are at least as new, so the
  // cumulative "+Inf" bucket (the count) is never below a finite bucket
  // by more than what arrived in between; clamp to keep it monotonic.
  const uint64_t count = count_.load(std::memory_order_relaxed);
  const uint64_t sum_ns = sum_ns_.load(std::memory_order_relaxed);
  const std::string bucket = absl::StrCat(name, "_bucket");
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); i++) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    Sample(bucket,
           absl::StrCat(labels, sep, "le=\"", FormatSeconds(kBuckets[i]), "\""),
           absl::StrCat(std::min(cumulative, count)), out);
  }
  Sample(bucket, absl::StrCat(labels, sep, "le=\"+Inf\""), absl::StrCat(count),
         out);
  Sample(absl::StrCat(name, "_sum"), labels,
         FormatSeconds(static_cast<double>(sum_ns) / 1e9), out);
  Sample(absl::StrCat(name, "_count"), labels, absl::StrCat(count), out);
}

void ServerMetrics::RecordRequest(absl::string_view route, int status,
                                  absl::Duration duration) {
  requests_.Add(Labels({{"route", route}, {"code", absl::StrCat(status)}}));
  std::string key(route);
  DurationHistogram* histogram = nullptr;
  {
    absl::ReaderMutexLock lock(&histograms_mu_);
    auto it = histograms_.find(key);
    if (it != histograms_.end()) {
      histogram = it->second.get();
    }
  }
  if (histogram == nullptr) {
    absl::MutexLock lock(&histograms_mu_);
    if (histograms_.size() >= CounterFamily::kMaxSeries &&
        histograms_.count(key) == 0) {
      key = kOtherRoute;
    }
    std::unique_ptr<DurationHistogram>& slot = histograms_[key];
    if (slot == nullptr) {
      slot = std::make_unique<DurationHistogram>();
    }
    histogram = slot.get();
  }
  histogram->Observe(duration);
}

void ServerMetrics::RecordOutcome(absl::string_view outcome, int status) {
  if (outcome.empty()) {
    return;
  }
  if (outcome == "issued") {
    issued_.fetch_add(1, std::memory_order_relaxed);
  } else if (outcome == "renewed") {
    renewed_.fetch_add(1, std::memory_order_relaxed);
  } else if (outcome == "rekeyed") {
    rekeyed_.fetch_add(1, std::memory_order_relaxed);
  } else if (outcome == "revoked") {
    revoked_.fetch_add(1, std::memory_order_relaxed);
  } else if (status == 401) {
    refused_.Add(Labels({{"reason", outcome}}));
  }
}

void ServerMetrics::ConnectionRefused(absl::string_view reason) {
  refused_connections_.Add(Labels({{"reason", reason}}));
}

void ServerMetrics::ServerCertificateRotated(absl::Time not_after) {
  rotations_.fetch_add(1, std::memory_order_relaxed);
  certificate_not_after_.store(absl::ToUnixSeconds(not_after),
                               std::memory_order_relaxed);
}

std::string ServerMetrics::Text() const {
  std::string out;
  const char* requests = "mayfly_http_requests_total";
  Header(requests, "counter", "HTTP requests answered, by route and status.",
         &out);
  for (const auto& [labels, value] : requests_.Snapshot()) {
    Sample(requests, labels, absl::StrCat(value), &out);
  }

  const char* durations = "mayfly_http_request_duration_seconds";
  Header(durations, "histogram",
         "Time from the first byte of a request to its logged answer, by "
         "route.",
         &out);
  {
    absl::ReaderMutexLock lock(&histograms_mu_);
    for (const auto& [route, histogram] : histograms_) {
      histogram->Render(durations, Labels({{"route", route}}), &out);
    }
  }

  struct Plain {
    const char* name;
    const char* help;
    const std::atomic<uint64_t>& value;
  };
  const Plain certificates[] = {
      {"mayfly_certificates_issued_total", "Certificates issued by /sign.",
       issued_},
      {"mayfly_certificates_renewed_total", "Certificates renewed by /renew.",
       renewed_},
      {"mayfly_certificates_rekeyed_total", "Certificates rekeyed by /rekey.",
       rekeyed_},
      {"mayfly_certificates_revoked_total", "Certificates revoked by /revoke.",
       revoked_},
  };
  for (const Plain& p : certificates) {
    Header(p.name, "counter", p.help, &out);
    Sample(p.name, "", absl::StrCat(p.value.load(std::memory_order_relaxed)),
           &out);
  }

  const char* refused = "mayfly_tokens_refused_total";
  Header(refused, "counter",
         "Tokens and client certificates refused (answered 401), by reason.",
         &out);
  for (const auto& [labels, value] : refused_.Snapshot()) {
    Sample(refused, labels, absl::StrCat(value), &out);
  }

  const char* refused_conns = "mayfly_http_connections_refused_total";
  Header(refused_conns, "counter",
         "Connections refused because the server was full, by how (overload: "
         "handed to the 503 responder; dropped: closed unread).",
         &out);
  for (const auto& [labels, value] : refused_connections_.Snapshot()) {
    Sample(refused_conns, labels, absl::StrCat(value), &out);
  }

  const char* open = "mayfly_http_open_connections";
  Header(open, "gauge", "Connections held by a worker or by the 503 responder.",
         &out);
  Sample(open, "",
         absl::StrCat(open_connections_.load(std::memory_order_relaxed)), &out);

  const char* in_flight = "mayfly_http_requests_in_flight";
  Header(in_flight, "gauge", "Requests being read or answered.", &out);
  Sample(in_flight, "",
         absl::StrCat(in_flight_.load(std::memory_order_relaxed)), &out);

  const char* rotations = "mayfly_server_certificate_rotations_total";
  Header(rotations, "counter",
         "Server TLS certificates issued (the first one included).", &out);
  Sample(rotations, "",
         absl::StrCat(rotations_.load(std::memory_order_relaxed)), &out);
  const char* failures = "mayfly_server_certificate_rotation_failures_total";
  Header(failures, "counter", "Failed server TLS certificate renewals.", &out);
  Sample(failures, "",
         absl::StrCat(rotation_failures_.load(std::memory_order_relaxed)),
         &out);
  const char* expiry = "mayfly_server_certificate_expiry_timestamp_seconds";
  Header(expiry, "gauge",
         "When the served TLS certificate expires (Unix seconds).", &out);
  Sample(expiry, "",
         absl::StrCat(certificate_not_after_.load(std::memory_order_relaxed)),
         &out);
  return out;
}

}  // namespace internal
}  // namespace mayfly

// The in-memory Store: hash maps under one mutex. It is the reference
// backend of the store conformance suite (tests/store_test.cc), and what
// tests and single-process deployments that accept losing state on restart
// use.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "mayfly/store.h"

namespace mayfly {
namespace {

class MemoryStore final : public Store {
 public:
  MemoryStore() = default;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  absl::Status UseToken(absl::string_view id, absl::Time expires_at) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // An expired id that Prune has not removed yet still counts as used: the
    // contract is "kept at least until expires_at".
    if (!used_tokens_.try_emplace(std::string(id), expires_at).second) {
      return absl::AlreadyExistsError("token id was already used");
    }
    return absl::OkStatus();
  }

  absl::Status RecordCertificate(const CertificateRecord& record) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("certificate record has no serial");
    }
    absl::MutexLock lock(&mu_);
    if (!certificates_.try_emplace(record.serial, record).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("certificate ", record.serial, " is already recorded"));
    }
    return absl::OkStatus();
  }

  absl::Status UseTokenAndRecord(absl::string_view id, absl::Time expires_at,
                                 const CertificateRecord& record) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("certificate record has no serial");
    }
    absl::MutexLock lock(&mu_);
    std::string key(id);
    if (used_tokens_.count(key) != 0) {
      return absl::AlreadyExistsError("token id was already used");
    }
    if (certificates_.count(record.serial) != 0) {
      return absl::AbortedError(
          absl::StrCat("certificate ", record.serial, " is already recorded"));
    }
    used_tokens_.emplace(std::move(key), expires_at);
    certificates_.emplace(record.serial, record);
    return absl::OkStatus();
  }

  absl::StatusOr<CertificateRecord> GetCertificate(
      absl::string_view serial) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = certificates_.find(std::string(serial));
    if (it == certificates_.end()) {
      return absl::NotFoundError(
          absl::StrCat("certificate ", serial, " is not recorded"));
    }
    return it->second;
  }

  absl::Status Revoke(const RevocationRecord& record) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (record.serial.empty()) {
      return absl::InvalidArgumentError("revocation record has no serial");
    }
    absl::MutexLock lock(&mu_);
    if (!revocations_.try_emplace(record.serial, record).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("certificate ", record.serial, " is already revoked"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<RevocationRecord>> GetRevocation(
      absl::string_view serial) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = revocations_.find(std::string(serial));
    if (it == revocations_.end()) {
      return std::optional<RevocationRecord>();
    }
    return std::optional<RevocationRecord>(it->second);
  }

  absl::StatusOr<std::optional<RevocationRecord>> FindRevokedInLineage(
      absl::string_view serial) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    // One lock for the whole walk, so the answer reflects one state: a
    // revocation that completed before this call is always seen.
    std::unordered_set<std::string> visited;
    std::string current(serial);
    while (!current.empty()) {
      if (!visited.insert(current).second) {
        return absl::DataLossError(absl::StrCat(
            "certificate lineage of ", serial, " has a cycle at ", current));
      }
      // The revocation is checked even when no record exists: a serial can
      // be revoked without having been recorded (or after its record was
      // pruned).
      auto revoked = revocations_.find(current);
      if (revoked != revocations_.end()) {
        return std::optional<RevocationRecord>(revoked->second);
      }
      auto record = certificates_.find(current);
      if (record == certificates_.end()) {
        break;
      }
      current = record->second.renewed_from;
    }
    return std::optional<RevocationRecord>();
  }

  absl::StatusOr<std::vector<RevocationRecord>> ListRevocations(
      absl::Time now) override ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<RevocationRecord> out;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& entry : revocations_) {
        if (entry.second.expires_at > now) {
          out.push_back(entry.second);
        }
      }
    }
    std::sort(out.begin(), out.end(),
              [](const RevocationRecord& a, const RevocationRecord& b) {
                return std::tie(a.revoked_at, a.serial) <
                       std::tie(b.revoked_at, b.serial);
              });
    return out;
  }

  absl::StatusOr<int64_t> NextCrlNumber() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return ++crl_number_;
  }

  absl::StatusOr<int64_t> Prune(absl::Time now,
                                absl::Duration retention) override
      ABSL_LOCKS_EXCLUDED(mu_) {
    if (retention < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("prune retention is negative");
    }
    const absl::Time horizon = now - retention;
    int64_t removed = 0;
    absl::MutexLock lock(&mu_);
    removed += EraseIf(&used_tokens_,
                       [now](absl::Time expires) { return expires < now; });
    removed += EraseIf(&certificates_, [horizon](const CertificateRecord& r) {
      return r.not_after < horizon;
    });
    removed += EraseIf(&revocations_, [horizon](const RevocationRecord& r) {
      return r.expires_at < horizon;
    });
    return removed;
  }

  absl::StatusOr<StoreCounts> Counts() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    StoreCounts counts;
    counts.used_tokens = static_cast<int64_t>(used_tokens_.size());
    counts.certificates = static_cast<int64_t>(certificates_.size());
    counts.revocations = static_cast<int64_t>(revocations_.size());
    return counts;
  }

 private:
  // EraseIf removes the entries of `map` whose value satisfies `pred` and
  // returns how many it removed.
  template <typename Map, typename Pred>
  static int64_t EraseIf(Map* map, Pred pred) {
    int64_t removed = 0;
    for (auto it = map->begin(); it != map->end();) {
      if (pred(it->second)) {
        it = map->erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }

  absl::Mutex mu_;
  std::unordered_map<std::string, absl::Time> used_tokens_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, CertificateRecord> certificates_
      ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, RevocationRecord> revocations_
      ABSL_GUARDED_BY(mu_);
  int64_t crl_number_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() {
  return std::make_unique<MemoryStore>();
}

}  // namespace mayfly

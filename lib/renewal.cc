// RenewalScheduler: one indexed binary heap of deadlines over a slab of
// compact entries.
//
// Layout, for a million entries in well under 200 bytes each:
// - entries_ is a slab of 64-byte Entry records; an id is the slot in the
//   low 32 bits and the slot's generation in the high 32 bits, so lookups
//   need no hash map and a removed id never matches a reused slot.
// - heap_ holds 16-byte (deadline, slot) nodes ordered by deadline; each
//   entry knows its node's position, so Update and Remove are O(log n).
// Deadlines are int64 Unix milliseconds: renewals need no finer time, and
// integers keep the nodes small and comparisons cheap.
//
// Concurrency: one mutex guards everything. RunDue pops the due entries
// under it, then runs each renewal, sink and event callback without it. An
// entry whose renewal is running is out of the heap (heap_pos ==
// kNotInHeap); Update and Remove change its epoch or generation, and the
// renewal's result is dropped when it comes back to a different one.

#include "mayfly/renewal.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mayfly/status.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/x509.h"

namespace mayfly {

const char* RenewalEventTypeName(RenewalEventType type) {
  switch (type) {
    case RenewalEventType::kRenewed:
      return "renewed";
    case RenewalEventType::kFailed:
      return "failed";
    case RenewalEventType::kRevoked:
      return "revoked";
    case RenewalEventType::kExpired:
      return "expired";
    case RenewalEventType::kSinkFailed:
      return "sink_failed";
  }
  return "unknown";
}

namespace {

constexpr uint32_t kNotInHeap = std::numeric_limits<uint32_t>::max();
// The last generation a slot may carry; a slot that reaches it is retired
// rather than reused, so ids are never handed out twice.
constexpr uint32_t kLastGeneration = std::numeric_limits<uint32_t>::max();
constexpr uint16_t kMaxAttempts = std::numeric_limits<uint16_t>::max();
// The scheduler thread wakes at least this often even when nothing is due,
// so a jump of the wall clock (or a suspended machine) delays renewals by
// at most this much.
constexpr absl::Duration kMaxSleep = absl::Minutes(1);

using SinkList = std::vector<std::shared_ptr<RenewalSink>>;

// Entry is one managed certificate. 64 bytes on LP64.
struct Entry {
  std::shared_ptr<const Credentials> credentials;  // NULL when free
  std::shared_ptr<const SinkList> sinks;           // NULL when none
  int64_t not_before_ms = 0;
  int64_t not_after_ms = 0;
  // Position of the entry's node in heap_; kNotInHeap while its renewal is
  // running; the next free slot (or kNotInHeap) while the slot is free.
  uint32_t heap_pos = kNotInHeap;
  uint32_t generation = 1;  // high half of the id; starts at 1, so id != 0
  uint32_t epoch = 0;       // bumped by Update: drops a running renewal
  uint16_t attempts = 0;    // failures in a row
  bool live = false;
};

struct HeapNode {
  int64_t deadline_ms;
  uint32_t slot;
};

uint64_t MakeId(uint32_t slot, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | slot;
}

// Validity is what the schedule needs from a leaf.
struct Validity {
  int64_t not_before_ms;
  int64_t not_after_ms;
};

// KeyMatchesLeaf reports whether `key` is the private half of `leaf`'s
// public key. It compares the keys BoringSSL has already parsed (the
// certificate caches its key) instead of going through
// PublicKey::Equals, whose fresh copies of both keys (serialized, parsed
// and validated again) made Add ten times slower.
bool KeyMatchesLeaf(const Certificate& leaf, const PrivateKey& key) {
  bssl::UniquePtr<EVP_PKEY> leaf_key(X509_get_pubkey(leaf.native()));
  bool equal =
      leaf_key != nullptr && EVP_PKEY_cmp(leaf_key.get(), key.native()) == 1;
  ERR_clear_error();
  return equal;
}

absl::StatusOr<Validity> CheckCredentials(const Credentials* credentials) {
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("renewal: credentials are NULL");
  }
  if (credentials->chain.empty()) {
    return absl::InvalidArgumentError(
        "renewal: the credentials have an empty certificate chain");
  }
  const Certificate& leaf = credentials->chain.front();
  if (!KeyMatchesLeaf(leaf, credentials->key)) {
    return absl::InvalidArgumentError(
        "renewal: the private key does not belong to the leaf certificate");
  }
  Validity v{absl::ToUnixMillis(leaf.NotBefore()),
             absl::ToUnixMillis(leaf.NotAfter())};
  if (v.not_after_ms <= v.not_before_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("renewal: the leaf's validity is empty (notBefore ",
                     absl::FormatTime(leaf.NotBefore()), ", notAfter ",
                     absl::FormatTime(leaf.NotAfter()), ")"));
  }
  return v;
}

bool IsRefusal(absl::StatusCode code) {
  return code == absl::StatusCode::kUnauthenticated ||
         code == absl::StatusCode::kPermissionDenied;
}

// Job is an entry popped from the heap, to be run without the lock.
struct Job {
  uint64_t id;
  uint32_t epoch;
  int64_t deadline_ms;
};

}  // namespace

class RenewalScheduler::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(RenewalOptions options, const Clock& clock, uint64_t seed)
      : options_(std::move(options)),
        clock_(clock),
        first_retry_ms_(absl::ToInt64Milliseconds(options_.first_retry)),
        max_retry_ms_(absl::ToInt64Milliseconds(options_.max_retry)),
        rng_(seed) {}

  absl::StatusOr<uint64_t> Add(std::shared_ptr<const Credentials> credentials,
                               SinkList sinks) ABSL_LOCKS_EXCLUDED(mu_) {
    MAYFLY_ASSIGN_OR_RETURN(Validity v, CheckCredentials(credentials.get()));
    for (size_t i = 0; i < sinks.size(); ++i) {
      if (sinks[i] == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("renewal: sink ", i, " is NULL"));
      }
    }
    // Built before the lock: an allocation need not hold up the others.
    std::shared_ptr<const SinkList> sink_list;
    if (!sinks.empty()) {
      sink_list = std::make_shared<const SinkList>(std::move(sinks));
    }
    absl::MutexLock lock(&mu_);
    uint32_t slot;
    if (free_head_ != kNotInHeap) {
      slot = free_head_;
      free_head_ = entries_[slot].heap_pos;
    } else {
      if (entries_.size() >= kNotInHeap) {
        return absl::ResourceExhaustedError(
            "renewal: the scheduler is full (2^32 - 1 entries)");
      }
      slot = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
    }
    Entry& e = entries_[slot];
    e.credentials = std::move(credentials);
    e.sinks = std::move(sink_list);
    e.not_before_ms = v.not_before_ms;
    e.not_after_ms = v.not_after_ms;
    e.attempts = 0;
    e.live = true;
    ++live_;
    HeapPush(slot, NormalDeadline(v));
    if (e.heap_pos == 0) {
      wake_.Signal();  // the thread may be sleeping until a later deadline
    }
    return MakeId(slot, e.generation);
  }

  absl::Status Remove(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    Entry* e = Lookup(id);
    if (e == nullptr) {
      return NotFound(id);
    }
    FreeSlot(static_cast<uint32_t>(id));
    return absl::OkStatus();
  }

  absl::Status Update(uint64_t id,
                      std::shared_ptr<const Credentials> credentials)
      ABSL_LOCKS_EXCLUDED(mu_) {
    MAYFLY_ASSIGN_OR_RETURN(Validity v, CheckCredentials(credentials.get()));
    absl::MutexLock lock(&mu_);
    Entry* e = Lookup(id);
    if (e == nullptr) {
      return NotFound(id);
    }
    e->credentials = std::move(credentials);
    e->not_before_ms = v.not_before_ms;
    e->not_after_ms = v.not_after_ms;
    e->attempts = 0;
    ++e->epoch;
    uint32_t slot = static_cast<uint32_t>(id);
    if (e->heap_pos != kNotInHeap) {
      HeapErase(e->heap_pos);
    }
    HeapPush(slot, NormalDeadline(v));
    if (entries_[slot].heap_pos == 0) {
      wake_.Signal();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RenewalEntry> Get(uint64_t id) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const Entry* e = Lookup(id);
    if (e == nullptr) {
      return NotFound(id);
    }
    RenewalEntry out;
    out.credentials = e->credentials;
    out.attempts = e->attempts;
    out.next_attempt =
        e->heap_pos == kNotInHeap
            ? absl::InfinitePast()
            : absl::FromUnixMillis(heap_[e->heap_pos].deadline_ms);
    return out;
  }

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return live_;
  }

  absl::Time NextDeadline() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return heap_.empty() ? absl::InfiniteFuture()
                         : absl::FromUnixMillis(heap_[0].deadline_ms);
  }

  // RunDue runs the entries due at `now`. `run` is the scheduler thread's
  // run number, or 0 when a host calls it; the batch stops early when that
  // run is stopped or the scheduler is closed, and puts back what it did
  // not reach.
  size_t RunDue(absl::Time now, uint64_t run) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<Job> jobs;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) {
        return 0;
      }
      int64_t now_ms = absl::ToUnixMillis(now);
      // Popped together, so an entry retried with a zero delay waits for
      // the next call instead of spinning in this one.
      while (!heap_.empty() && heap_[0].deadline_ms <= now_ms) {
        HeapNode top = heap_[0];
        HeapErase(0);
        const Entry& e = entries_[top.slot];
        jobs.push_back(
            Job{MakeId(top.slot, e.generation), e.epoch, top.deadline_ms});
      }
    }
    size_t ran = 0;
    for (size_t i = 0; i < jobs.size(); ++i) {
      if (!Continuing(run)) {
        absl::MutexLock lock(&mu_);
        for (size_t j = i; j < jobs.size(); ++j) {
          Entry* e = Lookup(jobs[j].id);
          if (e != nullptr && e->epoch == jobs[j].epoch &&
              e->heap_pos == kNotInHeap) {
            HeapPush(static_cast<uint32_t>(jobs[j].id), jobs[j].deadline_ms);
          }
        }
        wake_.Signal();  // a thread started meanwhile may run them
        break;
      }
      if (RunJob(jobs[i], now)) {
        ++ran;
      }
    }
    return ran;
  }

  absl::Status Start() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return absl::FailedPreconditionError("renewal: scheduler is closed");
    }
    if (active_run_ != 0) {
      return absl::FailedPreconditionError(
          "renewal: the scheduler thread is already running");
    }
    uint64_t run = ++last_run_;
    active_run_ = run;
    thread_ =
        std::thread([self = shared_from_this(), run] { self->Loop(run); });
    return absl::OkStatus();
  }

  void Stop() ABSL_LOCKS_EXCLUDED(mu_) {
    std::thread thread;
    {
      absl::MutexLock lock(&mu_);
      if (active_run_ == 0) {
        return;
      }
      active_run_ = 0;
      wake_.SignalAll();
      thread = std::move(thread_);
    }
    if (thread.get_id() == std::this_thread::get_id()) {
      // Called from a callback on the scheduler thread: it cannot join
      // itself. It sees active_run_ change and exits after the callback.
      thread.detach();
    } else {
      thread.join();
    }
  }

  // Close stops everything for good: the thread, and any callback after
  // the one running now.
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    Stop();
  }

 private:
  absl::Status NotFound(uint64_t id) const {
    return absl::NotFoundError(absl::StrCat("renewal: no entry ", id));
  }

  Entry* Lookup(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    uint32_t slot = static_cast<uint32_t>(id);
    if (slot >= entries_.size()) {
      return nullptr;
    }
    Entry& e = entries_[slot];
    if (!e.live || e.generation != static_cast<uint32_t>(id >> 32)) {
      return nullptr;
    }
    return &e;
  }
  const Entry* Lookup(uint64_t id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return const_cast<Impl*>(this)->Lookup(id);
  }

  void FreeSlot(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Entry& e = entries_[slot];
    if (e.heap_pos != kNotInHeap) {
      HeapErase(e.heap_pos);
    }
    e.credentials.reset();
    e.sinks.reset();
    e.live = false;
    --live_;
    if (e.generation == kLastGeneration) {
      e.heap_pos = kNotInHeap;  // retired: never reused
      return;
    }
    ++e.generation;
    e.heap_pos = free_head_;
    free_head_ = slot;
  }

  // NormalDeadline is NotBefore + 2/3 lifetime - a jitter in
  // [0, lifetime/20].
  int64_t NormalDeadline(const Validity& v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t lifetime = v.not_after_ms - v.not_before_ms;
    std::uniform_int_distribution<int64_t> jitter(0, lifetime / 20);
    return v.not_before_ms + lifetime / 3 * 2 + (lifetime % 3) * 2 / 3 -
           jitter(rng_);
  }

  // RetryDelay draws the delay after the `attempts`-th failure in a row.
  int64_t RetryDelay(int attempts, int64_t remaining_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int64_t cap = max_retry_ms_;
    if (remaining_ms > 0) {
      cap = std::min(cap, remaining_ms / 10);
    }
    // A certificate seconds from expiry is not retried in a tight loop.
    cap = std::max(cap, first_retry_ms_);
    int64_t window = first_retry_ms_;
    for (int i = 1; i < attempts && window < cap; ++i) {
      window *= 2;
    }
    window = std::min(window, cap);
    std::uniform_int_distribution<int64_t> delay(0, window);
    return delay(rng_);
  }

  bool Continuing(uint64_t run) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return !closed_ && (run == 0 || active_run_ == run);
  }

  bool Closed() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

  void Emit(const RenewalEvent& event) ABSL_LOCKS_EXCLUDED(mu_) {
    if (options_.on_event && !Closed()) {
      options_.on_event(event);
    }
  }

  // RunJob renews one entry. Returns false if the entry was removed or
  // updated after it was popped (nothing was run).
  bool RunJob(const Job& job, absl::Time batch_now) ABSL_LOCKS_EXCLUDED(mu_) {
    std::shared_ptr<const Credentials> current;
    int64_t not_after_ms;
    {
      absl::MutexLock lock(&mu_);
      Entry* e = Lookup(job.id);
      if (e == nullptr || e->epoch != job.epoch || e->heap_pos != kNotInHeap) {
        return false;
      }
      current = e->credentials;
      not_after_ms = e->not_after_ms;
    }
    absl::Time start = std::max(batch_now, clock_.Now());
    bool expired = absl::ToUnixMillis(start) >= not_after_ms;

    RenewalEvent event;
    event.id = job.id;
    if (expired && !options_.renew_after_expiry) {
      {
        absl::MutexLock lock(&mu_);
        if (!Owns(job)) {
          return true;
        }
        FreeSlot(static_cast<uint32_t>(job.id));
      }
      event.type = RenewalEventType::kExpired;
      event.time = start;
      event.status = absl::FailedPreconditionError(
          absl::StrCat("renewal: the certificate expired at ",
                       absl::FormatTime(absl::FromUnixMillis(not_after_ms)),
                       " and renewal after expiry is not configured"));
      event.credentials = std::move(current);
      Emit(event);
      return true;
    }

    const RenewFunction& renew =
        expired ? options_.renew_after_expiry : options_.renew;
    absl::StatusOr<IssuedCertificate> issued = renew(*current);
    absl::StatusOr<std::shared_ptr<const Credentials>> next =
        NextCredentials(*current, std::move(issued));

    absl::Time end = std::max(start, clock_.Now());
    int64_t end_ms = absl::ToUnixMillis(end);
    event.time = end;
    std::shared_ptr<const SinkList> sinks;
    {
      absl::MutexLock lock(&mu_);
      if (!Owns(job)) {
        return true;  // removed or updated meanwhile: the result is dropped
      }
      uint32_t slot = static_cast<uint32_t>(job.id);
      Entry& e = entries_[slot];
      if (next.ok()) {
        Validity v{absl::ToUnixMillis((*next)->chain.front().NotBefore()),
                   absl::ToUnixMillis((*next)->chain.front().NotAfter())};
        e.credentials = *next;
        e.not_before_ms = v.not_before_ms;
        e.not_after_ms = v.not_after_ms;
        e.attempts = 0;
        // A certificate just received is renewed no sooner than halfway
        // through what is left of it. Normally 2/3 of the lifetime comes
        // later; it comes sooner, or is already past, when the CA's
        // backdate is large next to a short lifetime (5s asked, 1m
        // backdated) or clocks are apart, and renewing at once would then
        // hammer the CA.
        int64_t deadline = std::max(
            NormalDeadline(v),
            end_ms + std::max(first_retry_ms_, (v.not_after_ms - end_ms) / 2));
        HeapPush(slot, deadline);
        sinks = e.sinks;
        event.type = RenewalEventType::kRenewed;
        event.next_attempt = absl::FromUnixMillis(deadline);
        event.credentials = *next;
      } else if (IsRefusal(next.status().code())) {
        event.type =
            expired ? RenewalEventType::kExpired : RenewalEventType::kRevoked;
        event.status = next.status();
        event.credentials = e.credentials;
        FreeSlot(slot);
      } else {
        if (e.attempts < kMaxAttempts) {
          ++e.attempts;
        }
        int64_t deadline =
            end_ms + RetryDelay(e.attempts, e.not_after_ms - end_ms);
        HeapPush(slot, deadline);
        event.type = RenewalEventType::kFailed;
        event.status = next.status();
        event.attempts = e.attempts;
        event.next_attempt = absl::FromUnixMillis(deadline);
        event.credentials = e.credentials;
      }
      if (entries_[slot].heap_pos == 0) {
        wake_.Signal();
      }
    }

    if (sinks != nullptr) {
      for (size_t i = 0; i < sinks->size(); ++i) {
        if (Closed()) {
          return true;
        }
        absl::Status status = (*sinks)[i]->Deliver(*event.credentials);
        if (!status.ok()) {
          RenewalEvent failed;
          failed.type = RenewalEventType::kSinkFailed;
          failed.id = job.id;
          failed.time = end;
          failed.status = absl::Status(
              status.code(), absl::StrCat("sink ", i, ": ", status.message()));
          failed.next_attempt = event.next_attempt;
          failed.credentials = event.credentials;
          failed.sink_index = i;
          Emit(failed);
        }
      }
    }
    Emit(event);
    return true;
  }

  // Owns reports whether `job` still speaks for its entry: not removed,
  // not updated, not put back in the heap.
  bool Owns(const Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Entry* e = Lookup(job.id);
    return e != nullptr && e->epoch == job.epoch && e->heap_pos == kNotInHeap;
  }

  // NextCredentials checks what a renewal function returned: a chain whose
  // leaf is for the same key and has a real validity.
  static absl::StatusOr<std::shared_ptr<const Credentials>> NextCredentials(
      const Credentials& current, absl::StatusOr<IssuedCertificate> issued) {
    if (!issued.ok()) {
      return issued.status();
    }
    auto next = std::make_shared<Credentials>(Credentials{
        std::move(issued->chain), current.key, current.generation + 1});
    absl::StatusOr<Validity> v = CheckCredentials(next.get());
    if (!v.ok()) {
      // A broken answer is the CA's or the renewal function's bug; keep
      // the certificate we have and retry, as for any other failure.
      return absl::InternalError(absl::StrCat(
          "renewal returned an unusable certificate: ", v.status().message()));
    }
    return std::shared_ptr<const Credentials>(std::move(next));
  }

  void Loop(uint64_t run) ABSL_LOCKS_EXCLUDED(mu_) {
    while (true) {
      absl::Time now;
      {
        absl::MutexLock lock(&mu_);
        if (closed_ || active_run_ != run) {
          return;
        }
        now = clock_.Now();
        if (heap_.empty()) {
          wake_.WaitWithTimeout(&mu_, kMaxSleep);
          continue;
        }
        absl::Time due = absl::FromUnixMillis(heap_[0].deadline_ms);
        if (due > now) {
          wake_.WaitWithTimeout(&mu_, std::min(due - now, kMaxSleep));
          continue;
        }
      }
      RunDue(now, run);
    }
  }

  // The heap. Every move of a node updates its entry's heap_pos.
  void Place(uint32_t pos, HeapNode node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    heap_[pos] = node;
    entries_[node.slot].heap_pos = pos;
  }

  void SiftUp(uint32_t pos) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    HeapNode node = heap_[pos];
    while (pos > 0) {
      uint32_t parent = (pos - 1) / 2;
      if (heap_[parent].deadline_ms <= node.deadline_ms) {
        break;
      }
      Place(pos, heap_[parent]);
      pos = parent;
    }
    Place(pos, node);
  }

  void SiftDown(uint32_t pos) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    HeapNode node = heap_[pos];
    size_t n = heap_.size();
    while (true) {
      size_t child = 2 * static_cast<size_t>(pos) + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n &&
          heap_[child + 1].deadline_ms < heap_[child].deadline_ms) {
        ++child;
      }
      if (node.deadline_ms <= heap_[child].deadline_ms) {
        break;
      }
      Place(pos, heap_[child]);
      pos = static_cast<uint32_t>(child);
    }
    Place(pos, node);
  }

  void HeapPush(uint32_t slot, int64_t deadline_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    heap_.push_back(HeapNode{deadline_ms, slot});
    uint32_t pos = static_cast<uint32_t>(heap_.size() - 1);
    entries_[slot].heap_pos = pos;
    SiftUp(pos);
  }

  void HeapErase(uint32_t pos) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    entries_[heap_[pos].slot].heap_pos = kNotInHeap;
    uint32_t last = static_cast<uint32_t>(heap_.size() - 1);
    if (pos == last) {
      heap_.pop_back();
      return;
    }
    Place(pos, heap_[last]);
    heap_.pop_back();
    SiftDown(pos);
    SiftUp(pos);
  }

  const RenewalOptions options_;
  const Clock& clock_;
  const int64_t first_retry_ms_;
  const int64_t max_retry_ms_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<HeapNode> heap_ ABSL_GUARDED_BY(mu_);
  uint32_t free_head_ ABSL_GUARDED_BY(mu_) = kNotInHeap;
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // The scheduler thread's run number while it runs, else 0. A thread
  // whose run is no longer active exits, so a thread told to stop from its
  // own callback cannot be revived by a Start that follows.
  uint64_t active_run_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_run_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<RenewalScheduler>> RenewalScheduler::Create(
    RenewalOptions options, const Clock& clock) {
  if (!options.renew) {
    return absl::InvalidArgumentError("renewal: options.renew is not set");
  }
  if (options.first_retry < absl::Milliseconds(1) ||
      options.max_retry < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError(
        "renewal: first_retry and max_retry must be at least 1 ms");
  }
  if (options.first_retry > options.max_retry) {
    return absl::InvalidArgumentError(
        "renewal: first_retry is longer than max_retry");
  }
  uint64_t seed;
  if (options.seed.has_value()) {
    seed = *options.seed;
  } else {
    std::random_device device;  // the OS's generator (getrandom, urandom)
    seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  }
  auto impl = std::make_shared<Impl>(std::move(options), clock, seed);
  return std::unique_ptr<RenewalScheduler>(
      new RenewalScheduler(std::move(impl)));
}

RenewalScheduler::RenewalScheduler(std::shared_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

RenewalScheduler::~RenewalScheduler() { impl_->Close(); }

absl::StatusOr<uint64_t> RenewalScheduler::Add(
    std::shared_ptr<const Credentials> credentials,
    std::vector<std::shared_ptr<RenewalSink>> sinks) {
  return impl_->Add(std::move(credentials), std::move(sinks));
}

absl::Status RenewalScheduler::Remove(uint64_t id) { return impl_->Remove(id); }

absl::Status RenewalScheduler::Update(
    uint64_t id, std::shared_ptr<const Credentials> credentials) {
  return impl_->Update(id, std::move(credentials));
}

absl::StatusOr<RenewalEntry> RenewalScheduler::Get(uint64_t id) const {
  return impl_->Get(id);
}

size_t RenewalScheduler::size() const { return impl_->size(); }

absl::Time RenewalScheduler::NextDeadline() const {
  return impl_->NextDeadline();
}

size_t RenewalScheduler::RunDue(absl::Time now) {
  // A callback may destroy this object: keep the state alive for the call.
  std::shared_ptr<Impl> impl = impl_;
  return impl->RunDue(now, 0);
}

absl::Status RenewalScheduler::Start() { return impl_->Start(); }

void RenewalScheduler::Stop() { impl_->Stop(); }

}  // namespace mayfly

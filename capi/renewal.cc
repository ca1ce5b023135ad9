// The C ABI's rotating credentials and renewal scheduler: mayfly_credentials_*
// over RotatingCredentials, mayfly_scheduler_* over RenewalScheduler, with
// the events and sinks they report to and deliver into.
//
// Lifetimes. Host callbacks run on the scheduler's thread (or a host thread
// in RunDue) while the host may be freeing other objects, so everything a
// callback path touches is held by shared ownership or guarded:
// - a mayfly_credentials_t is a handle on a shared CredentialsState; the
//   scheduler's entries hold the state too, so a host may free the handle
//   while an entry still delivers into it. Freeing the handle retires its
//   change callbacks (waiting for any that run, then calling destroy), and
//   later deliveries only update the state nobody reads.
// - a scheduler passes every host callback, sink and renewal through its
//   Gate. mayfly_scheduler_free closes the gate after stopping the thread,
//   which also waits for a thread that was stopped from its own callback
//   (and so could not be joined); after that no host code runs for it, and
//   the host's destroy functions run, in mayfly_scheduler_free, outside any
//   lock.
// - host user data (CallbackHolder) is only ever released by a free
//   function or a failing registration, never by the scheduler dropping an
//   entry under its lock: the scheduler wrapper keeps its own reference to
//   every deliver callback its entries use, and the sinks in the entries
//   borrow it.

#include "mayfly/renewal.h"

#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "capi/internal.h"
#include "mayfly/authority.h"
#include "mayfly/c.h"
#include "mayfly/client.h"
#include "mayfly/status.h"
#include "mayfly/tls.h"
#include "openssl/mem.h"

namespace mayfly {
namespace capi {
namespace {

using ChangeCallback = CallbackHolder<mayfly_change_fn>;
using EventCallback = CallbackHolder<mayfly_event_fn>;
using DeliverCallback = CallbackHolder<mayfly_deliver_fn>;

// WipedPem is PEM text that may hold a private key: cleansed when freed.
class WipedPem {
 public:
  explicit WipedPem(std::string s) : s_(std::move(s)) {}
  ~WipedPem() { OPENSSL_cleanse(&s_[0], s_.size()); }
  WipedPem(const WipedPem&) = delete;
  WipedPem& operator=(const WipedPem&) = delete;
  const std::string& get() const { return s_; }

 private:
  std::string s_;
};

std::string ChainPem(const std::vector<Certificate>& chain) {
  std::string pem;
  for (const Certificate& cert : chain) {
    pem += cert.ToPem();
  }
  return pem;
}

// CheckPair refuses what RotatingCredentials::Set and RenewalScheduler::Add
// would refuse, so that mayfly_scheduler_add can install the pair in the
// entry's credentials before adding it and still change nothing on bad
// input.
absl::Status CheckPair(const std::vector<Certificate>& chain,
                       const PrivateKey& key) {
  if (chain.empty()) {
    return absl::InvalidArgumentError("chain is empty");
  }
  const Certificate& leaf = chain.front();
  if (!leaf.public_key().Equals(key.public_key())) {
    return absl::InvalidArgumentError(
        "key does not belong to the chain's leaf certificate");
  }
  if (leaf.NotAfter() <= leaf.NotBefore()) {
    return absl::InvalidArgumentError("the leaf's validity is empty");
  }
  return absl::OkStatus();
}

// CredentialsState is what a mayfly_credentials_t stands for: the rotating
// pair and the host's change callbacks.
class CredentialsState {
 public:
  // Set installs the pair, then tells every change callback, outside any
  // lock, on the calling thread.
  absl::Status Set(std::vector<Certificate> chain, PrivateKey key)
      ABSL_LOCKS_EXCLUDED(set_mu_, mu_) {
    uint64_t generation;
    {
      // Held across Set and the read that follows, so each Set reports its
      // own generation even when two threads set at once.
      absl::MutexLock lock(&set_mu_);
      MAYFLY_RETURN_IF_ERROR(
          credentials_.Set(std::move(chain), std::move(key)));
      generation = credentials_.Current()->generation;
    }
    Notify(generation);
    return absl::OkStatus();
  }

  std::shared_ptr<const Credentials> Current() const {
    return credentials_.Current();
  }

  void AddCallback(std::shared_ptr<ChangeCallback> callback)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    callbacks_.push_back(std::move(callback));
  }

  // Retire stops the change callbacks for good (the host freed its handle),
  // waits for those running, and releases them: the host's destroy runs
  // here, on the freeing thread.
  void Retire() ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::shared_ptr<ChangeCallback>> callbacks;
    {
      absl::MutexLock lock(&mu_);
      retired_ = true;
      mu_.Await(absl::Condition(
          +[](int* running) { return *running == 0; }, &running_));
      callbacks.swap(callbacks_);
    }
  }

 private:
  void Notify(uint64_t generation) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::shared_ptr<ChangeCallback>> callbacks;
    {
      absl::MutexLock lock(&mu_);
      if (retired_ || callbacks_.empty()) {
        return;
      }
      callbacks = callbacks_;
      ++running_;
    }
    for (const auto& callback : callbacks) {
      callback->fn(callback->user_data, generation);
    }
    // Our references go before Retire may proceed, so that the host's
    // destroy runs in Retire, never here.
    callbacks.clear();
    absl::MutexLock lock(&mu_);
    --running_;
  }

  RotatingCredentials credentials_;
  absl::Mutex set_mu_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<ChangeCallback>> callbacks_ ABSL_GUARDED_BY(mu_);
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool retired_ ABSL_GUARDED_BY(mu_) = false;
};

// Gate lets host code run for a scheduler until it is closed, and lets the
// closer wait for what is running.
class Gate {
 public:
  bool Enter() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return false;
    }
    ++running_;
    return true;
  }

  void Leave() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    --running_;
  }

  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    mu_.Await(absl::Condition(
        +[](int* running) { return *running == 0; }, &running_));
  }

 private:
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

// GatePass holds a gate open for one call.
class GatePass {
 public:
  explicit GatePass(Gate& gate) : gate_(gate), entered_(gate.Enter()) {}
  ~GatePass() {
    if (entered_) {
      gate_.Leave();
    }
  }
  GatePass(const GatePass&) = delete;
  GatePass& operator=(const GatePass&) = delete;
  explicit operator bool() const { return entered_; }

 private:
  Gate& gate_;
  const bool entered_;
};

absl::Status Closed() {
  return absl::CancelledError("the scheduler is being freed");
}

// GatedSink runs a standard sink while its scheduler's gate is open.
class GatedSink final : public RenewalSink {
 public:
  GatedSink(std::shared_ptr<Gate> gate, std::shared_ptr<RenewalSink> sink)
      : gate_(std::move(gate)), sink_(std::move(sink)) {}

  absl::Status Deliver(const Credentials& credentials) override {
    GatePass pass(*gate_);
    if (!pass) {
      return Closed();
    }
    return sink_->Deliver(credentials);
  }

 private:
  const std::shared_ptr<Gate> gate_;
  const std::shared_ptr<RenewalSink> sink_;
};

// CredentialsSink sets a mayfly_credentials_t's state, so that its change
// callbacks run after each renewal.
class CredentialsSink final : public RenewalSink {
 public:
  CredentialsSink(std::shared_ptr<Gate> gate,
                  std::shared_ptr<CredentialsState> state)
      : gate_(std::move(gate)), state_(std::move(state)) {}

  absl::Status Deliver(const Credentials& credentials) override {
    GatePass pass(*gate_);
    if (!pass) {
      return Closed();
    }
    return state_->Set(credentials.chain, credentials.key);
  }

 private:
  const std::shared_ptr<Gate> gate_;
  const std::shared_ptr<CredentialsState> state_;
};

// DeliverSink calls a host function with the PEM pair. The holder is
// borrowed: the scheduler wrapper owns a reference until its gate closes.
class DeliverSink final : public RenewalSink {
 public:
  DeliverSink(std::shared_ptr<Gate> gate, const DeliverCallback* callback)
      : gate_(std::move(gate)), callback_(callback) {}

  absl::Status Deliver(const Credentials& credentials) override {
    GatePass pass(*gate_);
    if (!pass) {
      return Closed();
    }
    std::string chain_pem = ChainPem(credentials.chain);
    WipedPem key_pem(credentials.key.ToPem());
    int rc =
        callback_->fn(callback_->user_data, chain_pem.c_str(), chain_pem.size(),
                      key_pem.get().c_str(), key_pem.get().size());
    if (rc != 0) {
      return absl::UnknownError(
          absl::StrCat("the host's deliver callback returned ", rc));
    }
    return absl::OkStatus();
  }

 private:
  const std::shared_ptr<Gate> gate_;
  const DeliverCallback* const callback_;
};

// SinkSpec is one destination of mayfly_entry_options_t. Gated per
// scheduler when an entry is added.
struct SinkSpec {
  std::shared_ptr<CredentialsState> credentials;  // add_credentials
  std::shared_ptr<DeliverCallback> callback;      // add_callback
  std::shared_ptr<RenewalSink> sink;              // files, exec, signal
};

int EventTypeToC(RenewalEventType type) {
  switch (type) {
    case RenewalEventType::kRenewed:
      return MAYFLY_EVENT_RENEWED;
    case RenewalEventType::kFailed:
      return MAYFLY_EVENT_FAILED;
    case RenewalEventType::kRevoked:
      return MAYFLY_EVENT_REVOKED;
    case RenewalEventType::kExpired:
      return MAYFLY_EVENT_EXPIRED;
    case RenewalEventType::kSinkFailed:
      return MAYFLY_EVENT_SINK_FAILED;
  }
  return -1;
}

int64_t TimeToC(absl::Time t) {
  if (t == absl::InfiniteFuture()) {
    return std::numeric_limits<int64_t>::max();
  }
  if (t == absl::InfinitePast()) {
    return std::numeric_limits<int64_t>::min();
  }
  return absl::ToUnixMillis(t);
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

// ---- The objects behind the opaque types ----------------------------------

struct mayfly_credentials {
  std::shared_ptr<mayfly::capi::CredentialsState> state;
};

// An event lends the RenewalEvent for the callback; the message is copied
// to be NUL-terminated, the chain made on first request.
struct mayfly_event {
  explicit mayfly_event(const mayfly::RenewalEvent& e)
      : event(e), message(e.status.message()) {}

  const mayfly::RenewalEvent& event;
  const std::string message;
  mutable absl::once_flag chain_once;
  mutable std::unique_ptr<mayfly_chain> chain;
};

struct mayfly_scheduler_options {
  std::shared_ptr<mayfly::CaClient> client;
  bool after_expiry = false;
  mayfly::Authority* authority = nullptr;
  std::shared_ptr<mayfly::capi::EventCallback> on_event;
  absl::Duration first_retry = absl::Seconds(1);
  absl::Duration max_retry = absl::Minutes(5);
};

struct mayfly_entry_options {
  std::vector<mayfly::capi::SinkSpec> sinks;
};

struct mayfly_scheduler {
  std::shared_ptr<mayfly::capi::Gate> gate;
  // The host callbacks the scheduler's callbacks borrow; released only in
  // mayfly_scheduler_free, after the gate has closed.
  std::shared_ptr<mayfly::capi::EventCallback> on_event;
  absl::Mutex mu;
  absl::flat_hash_map<const mayfly::capi::DeliverCallback*,
                      std::shared_ptr<mayfly::capi::DeliverCallback>>
      deliver_callbacks ABSL_GUARDED_BY(mu);
  std::unique_ptr<mayfly::RenewalScheduler> scheduler;
};

namespace mayfly {
namespace capi {
namespace {

// MakeRenewalOptions builds the C++ options: every host-visible call goes
// through `gate`.
absl::StatusOr<RenewalOptions> MakeRenewalOptions(
    const mayfly_scheduler_options& opts, const std::shared_ptr<Gate>& gate) {
  RenewalOptions options;
  if (opts.client != nullptr) {
    std::shared_ptr<CaClient> client = opts.client;
    options.renew =
        [gate, client](
            const Credentials& current) -> absl::StatusOr<IssuedCertificate> {
      GatePass pass(*gate);
      if (!pass) {
        return Closed();
      }
      return client->Renew(current.chain, current.key);
    };
    if (opts.after_expiry) {
      options.renew_after_expiry =
          [gate, client](
              const Credentials& current) -> absl::StatusOr<IssuedCertificate> {
        GatePass pass(*gate);
        if (!pass) {
          return Closed();
        }
        return client->RenewWithToken(current.chain, current.key);
      };
    }
  } else if (opts.authority != nullptr) {
    Authority* authority = opts.authority;
    // The scheduler holds the key, which is what mTLS would prove. An
    // expired certificate is tried too: the CA renews it only when its
    // provisioner allows renewal after expiry, and refuses (EXPIRED event)
    // otherwise.
    options.renew =
        [gate, authority](
            const Credentials& current) -> absl::StatusOr<IssuedCertificate> {
      GatePass pass(*gate);
      if (!pass) {
        return Closed();
      }
      return authority->Renew(current.chain);
    };
    options.renew_after_expiry = options.renew;
  } else {
    return absl::InvalidArgumentError(
        "opts: set a client (mayfly_scheduler_options_set_client) or a CA "
        "(mayfly_scheduler_options_set_ca)");
  }
  if (opts.on_event != nullptr) {
    const EventCallback* callback = opts.on_event.get();
    options.on_event = [gate, callback](const RenewalEvent& event) {
      GatePass pass(*gate);
      if (!pass) {
        return;
      }
      mayfly_event ev(event);
      callback->fn(callback->user_data, &ev);
    };
  }
  options.first_retry = opts.first_retry;
  options.max_retry = opts.max_retry;
  return options;
}

std::shared_ptr<const Credentials> MakeCredentials(const mayfly_chain* chain,
                                                   const mayfly_key* key) {
  return std::make_shared<const Credentials>(
      Credentials{chain->ToVector(), key->key, 0});
}

}  // namespace
}  // namespace capi
}  // namespace mayfly

using mayfly::capi::HandleStatus;

extern "C" {

// ---- Rotating credentials -------------------------------------------------

int mayfly_credentials_new(mayfly_credentials_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(out, err);
    return mayfly::capi::OutObject(
        std::make_shared<mayfly::capi::CredentialsState>(), out, err);
  })
}

void mayfly_credentials_free(mayfly_credentials_t* creds) {
  if (creds == nullptr) {
    return;
  }
  creds->state->Retire();
  delete creds;
}

int mayfly_credentials_set(mayfly_credentials_t* creds,
                           const mayfly_chain_t* chain, const mayfly_key_t* key,
                           mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(creds, err);
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    return HandleStatus(creds->state->Set(chain->ToVector(), key->key), err);
  })
}

int mayfly_credentials_current(const mayfly_credentials_t* creds,
                               char** chain_pem, size_t* chain_pem_len,
                               char** key_pem, size_t* key_pem_len,
                               uint64_t* generation, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(creds, err);
    std::shared_ptr<const mayfly::Credentials> current =
        creds->state->Current();
    if (current == nullptr) {
      return HandleStatus(absl::FailedPreconditionError(
                              "the credentials have not been set yet"),
                          err);
    }
    // Both texts are made before either output is written, so a failure
    // leaves them all untouched.
    std::string chain_text;
    if (chain_pem != nullptr || chain_pem_len != nullptr) {
      chain_text = mayfly::capi::ChainPem(current->chain);
    }
    mayfly::capi::WipedPem key_text(key_pem != nullptr || key_pem_len != nullptr
                                        ? current->key.ToPem()
                                        : std::string());
    char* chain_out = nullptr;
    char* key_out = nullptr;
    if (chain_pem != nullptr) {
      chain_out = mayfly::capi::CopyOut(chain_text);
    }
    if (key_pem != nullptr) {
      key_out = mayfly::capi::CopyOut(key_text.get());
    }
    if ((chain_pem != nullptr && chain_out == nullptr) ||
        (key_pem != nullptr && key_out == nullptr)) {
      free(chain_out);
      if (key_out != nullptr) {
        OPENSSL_cleanse(key_out, key_text.get().size());
        free(key_out);
      }
      return HandleStatus(absl::ResourceExhaustedError("out of memory"), err);
    }
    if (chain_pem != nullptr) {
      *chain_pem = chain_out;
    }
    if (chain_pem_len != nullptr) {
      *chain_pem_len = chain_text.size();
    }
    if (key_pem != nullptr) {
      *key_pem = key_out;
    }
    if (key_pem_len != nullptr) {
      *key_pem_len = key_text.get().size();
    }
    if (generation != nullptr) {
      *generation = current->generation;
    }
    return MAYFLY_OK;
  })
}

int mayfly_credentials_on_change(mayfly_credentials_t* creds,
                                 mayfly_change_fn fn, void* user_data,
                                 void (*destroy)(void* user_data),
                                 mayfly_error_t** err) {
  // The holder is made first: whatever fails after it, releasing it calls
  // destroy(user_data) at once, as a failed registration must.
  std::shared_ptr<mayfly::capi::ChangeCallback> callback =
      mayfly::capi::MakeCallback(fn, user_data, destroy);
  MAYFLY_CAPI_GUARD(err, {
    if (callback == nullptr) {
      return HandleStatus(absl::ResourceExhaustedError("out of memory"), err);
    }
    MAYFLY_CAPI_REQUIRE(creds, err);
    MAYFLY_CAPI_REQUIRE(fn, err);
    creds->state->AddCallback(std::move(callback));
    return MAYFLY_OK;
  })
}

// ---- Events ---------------------------------------------------------------

int mayfly_event_type(const mayfly_event_t* ev) {
  return ev == nullptr ? -1 : mayfly::capi::EventTypeToC(ev->event.type);
}

uint64_t mayfly_event_entry(const mayfly_event_t* ev) {
  return ev == nullptr ? 0 : ev->event.id;
}

int64_t mayfly_event_time_ms(const mayfly_event_t* ev) {
  return ev == nullptr ? 0 : mayfly::capi::TimeToC(ev->event.time);
}

int mayfly_event_code(const mayfly_event_t* ev) {
  return ev == nullptr ? MAYFLY_INVALID_ARGUMENT
                       : static_cast<int>(ev->event.status.code());
}

const char* mayfly_event_message(const mayfly_event_t* ev) {
  return ev == nullptr ? "" : ev->message.c_str();
}

int mayfly_event_attempts(const mayfly_event_t* ev) {
  return ev == nullptr ? 0 : ev->event.attempts;
}

int64_t mayfly_event_next_attempt_ms(const mayfly_event_t* ev) {
  return ev == nullptr ? std::numeric_limits<int64_t>::max()
                       : mayfly::capi::TimeToC(ev->event.next_attempt);
}

const mayfly_chain_t* mayfly_event_chain(const mayfly_event_t* ev) {
  if (ev == nullptr || ev->event.type != mayfly::RenewalEventType::kRenewed ||
      ev->event.credentials == nullptr) {
    return nullptr;
  }
  // Made once even if several threads ask; NULL only when out of memory.
  absl::call_once(ev->chain_once, [ev] {
    ev->chain.reset(mayfly_chain::FromVector(ev->event.credentials->chain));
  });
  return ev->chain.get();
}

// ---- Scheduler options ----------------------------------------------------

mayfly_scheduler_options_t* mayfly_scheduler_options_new(void) {
  return new (std::nothrow) mayfly_scheduler_options;
}

void mayfly_scheduler_options_free(mayfly_scheduler_options_t* opts) {
  delete opts;
}

int mayfly_scheduler_options_set_client(mayfly_scheduler_options_t* opts,
                                        mayfly_client_t* client,
                                        int after_expiry) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    MAYFLY_CAPI_REQUIRE(client, nullptr);
    // The renewal source is one or the other: the last call wins.
    opts->client = client->client;
    opts->after_expiry = after_expiry != 0;
    opts->authority = nullptr;
    return MAYFLY_OK;
  })
}

int mayfly_scheduler_options_set_ca(mayfly_scheduler_options_t* opts,
                                    mayfly_ca_t* ca) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    MAYFLY_CAPI_REQUIRE(ca, nullptr);
    opts->authority = mayfly::capi::CaAuthority(ca);
    opts->client.reset();
    opts->after_expiry = false;
    return MAYFLY_OK;
  })
}

int mayfly_scheduler_options_set_event_callback(
    mayfly_scheduler_options_t* opts, mayfly_event_fn fn, void* user_data,
    void (*destroy)(void* user_data)) {
  std::shared_ptr<mayfly::capi::EventCallback> callback =
      mayfly::capi::MakeCallback(fn, user_data, destroy);
  MAYFLY_CAPI_GUARD(nullptr, {
    if (callback == nullptr) {
      return MAYFLY_RESOURCE_EXHAUSTED;
    }
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    MAYFLY_CAPI_REQUIRE(fn, nullptr);
    // A callback set before is released here (its destroy runs): the
    // options no longer hold it, though a scheduler made from them may.
    opts->on_event = std::move(callback);
    return MAYFLY_OK;
  })
}

int mayfly_scheduler_options_set_retry(mayfly_scheduler_options_t* opts,
                                       int64_t first_ms, int64_t max_ms) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    if (first_ms < 1 || max_ms < 1 || first_ms > max_ms) {
      return MAYFLY_INVALID_ARGUMENT;
    }
    opts->first_retry = absl::Milliseconds(first_ms);
    opts->max_retry = absl::Milliseconds(max_ms);
    return MAYFLY_OK;
  })
}

// ---- Scheduler ------------------------------------------------------------

int mayfly_scheduler_new(const mayfly_scheduler_options_t* opts,
                         mayfly_scheduler_t** out, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(opts, err);
    MAYFLY_CAPI_REQUIRE(out, err);
    auto sched = std::make_unique<mayfly_scheduler>();
    sched->gate = std::make_shared<mayfly::capi::Gate>();
    sched->on_event = opts->on_event;
    absl::StatusOr<mayfly::RenewalOptions> options =
        mayfly::capi::MakeRenewalOptions(*opts, sched->gate);
    if (!options.ok()) {
      return HandleStatus(options.status(), err);
    }
    absl::StatusOr<std::unique_ptr<mayfly::RenewalScheduler>> scheduler =
        mayfly::RenewalScheduler::Create(*std::move(options));
    if (!scheduler.ok()) {
      return HandleStatus(scheduler.status(), err);
    }
    sched->scheduler = *std::move(scheduler);
    *out = sched.release();
    return MAYFLY_OK;
  })
}

void mayfly_scheduler_free(mayfly_scheduler_t* sched) {
  if (sched == nullptr) {
    return;
  }
  // Closes the scheduler and joins its thread: a renewal under way ends.
  sched->scheduler.reset();
  // A thread stopped from its own callback was detached and may still be
  // in host code: wait for it, and let nothing run after.
  sched->gate->Close();
  // The host's destroy functions run here, for what only the scheduler held.
  delete sched;
}

int mayfly_scheduler_start(mayfly_scheduler_t* sched, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(sched, err);
    return HandleStatus(sched->scheduler->Start(), err);
  })
}

void mayfly_scheduler_stop(mayfly_scheduler_t* sched) {
  if (sched != nullptr) {
    sched->scheduler->Stop();
  }
}

int64_t mayfly_scheduler_next_deadline_ms(const mayfly_scheduler_t* sched) {
  if (sched == nullptr) {
    return std::numeric_limits<int64_t>::max();
  }
  return mayfly::capi::TimeToC(sched->scheduler->NextDeadline());
}

size_t mayfly_scheduler_run_due(mayfly_scheduler_t* sched, int64_t now_ms) {
  if (sched == nullptr) {
    return 0;
  }
  try {
    return sched->scheduler->RunDue(absl::FromUnixMillis(now_ms));
  } catch (...) {
    return 0;
  }
}

size_t mayfly_scheduler_size(const mayfly_scheduler_t* sched) {
  return sched == nullptr ? 0 : sched->scheduler->size();
}

// ---- Entry options --------------------------------------------------------

mayfly_entry_options_t* mayfly_entry_options_new(void) {
  return new (std::nothrow) mayfly_entry_options;
}

void mayfly_entry_options_free(mayfly_entry_options_t* opts) { delete opts; }

int mayfly_entry_options_add_credentials(mayfly_entry_options_t* opts,
                                         mayfly_credentials_t* creds) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    MAYFLY_CAPI_REQUIRE(creds, nullptr);
    mayfly::capi::SinkSpec spec;
    spec.credentials = creds->state;
    opts->sinks.push_back(std::move(spec));
    return MAYFLY_OK;
  })
}

int mayfly_entry_options_add_files(mayfly_entry_options_t* opts,
                                   const char* cert_path,
                                   const char* key_path) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    // Both files, always: a certificate and a key out of step would break
    // whoever reads them.
    MAYFLY_CAPI_REQUIRE(cert_path, nullptr);
    MAYFLY_CAPI_REQUIRE(key_path, nullptr);
    mayfly::FilesSinkOptions files;
    files.cert_path = cert_path;
    files.key_path = key_path;
    absl::StatusOr<std::shared_ptr<mayfly::RenewalSink>> sink =
        mayfly::AtomicFilesSink(std::move(files));
    if (!sink.ok()) {
      return HandleStatus(sink.status(), nullptr);
    }
    mayfly::capi::SinkSpec spec;
    spec.sink = *std::move(sink);
    opts->sinks.push_back(std::move(spec));
    return MAYFLY_OK;
  })
}

int mayfly_entry_options_add_exec(mayfly_entry_options_t* opts,
                                  const char* const* argv, size_t argc) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    MAYFLY_CAPI_REQUIRE(argv, nullptr);
    mayfly::CommandSinkOptions command;
    for (size_t i = 0; i < argc; ++i) {
      if (argv[i] == nullptr) {
        return MAYFLY_INVALID_ARGUMENT;
      }
      command.argv.emplace_back(argv[i]);
    }
    absl::StatusOr<std::shared_ptr<mayfly::RenewalSink>> sink =
        mayfly::CommandSink(std::move(command));
    if (!sink.ok()) {
      return HandleStatus(sink.status(), nullptr);
    }
    mayfly::capi::SinkSpec spec;
    spec.sink = *std::move(sink);
    opts->sinks.push_back(std::move(spec));
    return MAYFLY_OK;
  })
}

int mayfly_entry_options_add_signal(mayfly_entry_options_t* opts, int pid,
                                    int signal) {
  MAYFLY_CAPI_GUARD(nullptr, {
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    if (pid <= 0) {
      return MAYFLY_INVALID_ARGUMENT;  // 0 and below signal process groups
    }
    mayfly::SignalSinkOptions target;
    target.pid = static_cast<pid_t>(pid);
    target.signal = signal;
    absl::StatusOr<std::shared_ptr<mayfly::RenewalSink>> sink =
        mayfly::SignalSink(std::move(target));
    if (!sink.ok()) {
      return HandleStatus(sink.status(), nullptr);
    }
    mayfly::capi::SinkSpec spec;
    spec.sink = *std::move(sink);
    opts->sinks.push_back(std::move(spec));
    return MAYFLY_OK;
  })
}

int mayfly_entry_options_add_callback(mayfly_entry_options_t* opts,
                                      mayfly_deliver_fn fn, void* user_data,
                                      void (*destroy)(void* user_data)) {
  std::shared_ptr<mayfly::capi::DeliverCallback> callback =
      mayfly::capi::MakeCallback(fn, user_data, destroy);
  MAYFLY_CAPI_GUARD(nullptr, {
    if (callback == nullptr) {
      return MAYFLY_RESOURCE_EXHAUSTED;
    }
    MAYFLY_CAPI_REQUIRE(opts, nullptr);
    MAYFLY_CAPI_REQUIRE(fn, nullptr);
    mayfly::capi::SinkSpec spec;
    spec.callback = std::move(callback);
    opts->sinks.push_back(std::move(spec));
    return MAYFLY_OK;
  })
}

// ---- Entries --------------------------------------------------------------

int mayfly_scheduler_add(mayfly_scheduler_t* sched, const mayfly_chain_t* chain,
                         const mayfly_key_t* key,
                         const mayfly_entry_options_t* opts, uint64_t* out_id,
                         mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(sched, err);
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    MAYFLY_CAPI_REQUIRE(out_id, err);
    std::shared_ptr<const mayfly::Credentials> credentials =
        mayfly::capi::MakeCredentials(chain, key);
    std::vector<std::shared_ptr<mayfly::RenewalSink>> sinks;
    std::vector<std::shared_ptr<mayfly::capi::CredentialsState>> install;
    if (opts != nullptr) {
      for (const mayfly::capi::SinkSpec& spec : opts->sinks) {
        if (spec.credentials != nullptr) {
          install.push_back(spec.credentials);
          sinks.push_back(std::make_shared<mayfly::capi::CredentialsSink>(
              sched->gate, spec.credentials));
        } else if (spec.callback != nullptr) {
          sinks.push_back(std::make_shared<mayfly::capi::DeliverSink>(
              sched->gate, spec.callback.get()));
        } else {
          sinks.push_back(std::make_shared<mayfly::capi::GatedSink>(sched->gate,
                                                                    spec.sink));
        }
      }
    }
    // The deliver callbacks are registered first: the entry's sinks borrow
    // them from the scheduler, which must hold them from the moment the
    // entry can run. Should Add fail, they stay until mayfly_scheduler_free.
    if (opts != nullptr) {
      absl::MutexLock lock(&sched->mu);
      for (const mayfly::capi::SinkSpec& spec : opts->sinks) {
        if (spec.callback != nullptr) {
          sched->deliver_callbacks.emplace(spec.callback.get(), spec.callback);
        }
      }
    }
    // The credentials get the pair before the entry exists, so a renewal
    // that starts at once cannot be overwritten by the older pair. Checked
    // first, so that bad input changes nothing.
    if (!install.empty()) {
      MAYFLY_CAPI_RETURN_IF_ERROR(
          mayfly::capi::CheckPair(credentials->chain, credentials->key), err);
      for (const auto& state : install) {
        MAYFLY_CAPI_RETURN_IF_ERROR(
            state->Set(credentials->chain, credentials->key), err);
      }
    }
    absl::StatusOr<uint64_t> id =
        sched->scheduler->Add(std::move(credentials), std::move(sinks));
    if (!id.ok()) {
      return HandleStatus(id.status(), err);
    }
    *out_id = *id;
    return MAYFLY_OK;
  })
}

int mayfly_scheduler_remove(mayfly_scheduler_t* sched, uint64_t id,
                            mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(sched, err);
    return HandleStatus(sched->scheduler->Remove(id), err);
  })
}

int mayfly_scheduler_update(mayfly_scheduler_t* sched, uint64_t id,
                            const mayfly_chain_t* chain,
                            const mayfly_key_t* key, mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(sched, err);
    MAYFLY_CAPI_REQUIRE(chain, err);
    MAYFLY_CAPI_REQUIRE(key, err);
    return HandleStatus(
        sched->scheduler->Update(id, mayfly::capi::MakeCredentials(chain, key)),
        err);
  })
}

int mayfly_scheduler_entry_info(const mayfly_scheduler_t* sched, uint64_t id,
                                mayfly_chain_t** chain,
                                int64_t* next_attempt_ms, int* attempts,
                                mayfly_error_t** err) {
  MAYFLY_CAPI_GUARD(err, {
    MAYFLY_CAPI_REQUIRE(sched, err);
    absl::StatusOr<mayfly::RenewalEntry> entry = sched->scheduler->Get(id);
    if (!entry.ok()) {
      return HandleStatus(entry.status(), err);
    }
    if (chain != nullptr) {
      mayfly_chain* copy = mayfly_chain::FromVector(entry->credentials->chain);
      if (copy == nullptr) {
        return HandleStatus(absl::ResourceExhaustedError("out of memory"), err);
      }
      *chain = copy;
    }
    if (next_attempt_ms != nullptr) {
      *next_attempt_ms = mayfly::capi::TimeToC(entry->next_attempt);
    }
    if (attempts != nullptr) {
      *attempts = entry->attempts;
    }
    return MAYFLY_OK;
  })
}

}  // extern "C"

// CaServer: the HTTPS shell around internal::Api. cpp-httplib parses
// requests and writes responses; this file owns everything around that:
// the TLS context and certificate rotation, the connection loop (so that
// every read is bounded in bytes and time, idle connections close on
// Shutdown, and keep-alive yields to waiting connections), a bounded worker
// pool with a 503 overflow responder, request bodies, request ids, the log
// line and the metrics.
//
// How a connection flows: httplib's accept loop hands each socket to
// ConnectionPool (our httplib::TaskQueue). A worker runs
// HttpsServer::process_and_close_socket, our override: TLS handshake, then
// one Server::process_request per request over a RequestStream. httplib
// reads the request line and headers through it, then calls the
// pre-routing handler, which does the rest (body, routing, response)
// without httplib's regex router. The post-routing, error and logger hooks
// add the request id, JSON error bodies, the log line and the metrics. The
// state of the request in flight is reached through a thread_local
// pointer: a worker serves one request at a time.

#include "mayfly/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "internal/bssl.h"
#include "mayfly/status.h"
#include "mayfly/tls.h"
#include "openssl/rand.h"
#include "openssl/ssl.h"
#include "server/access_log.h"
#include "server/api.h"
#include "server/metrics.h"

// cpp-httplib's HTTPS server, over the BoringSSL mayfly is built with.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include "httplib.h"

namespace mayfly {

namespace {

using internal::AccessLogEntry;
using internal::ApiRequest;
using internal::ApiResponse;
using internal::ServerMetrics;

// The request line may be this long before the connection is cut; httplib
// answers 414 for lines over CPPHTTPLIB_REQUEST_URI_MAX_LENGTH (8 KiB)
// shorter than this.
constexpr size_t kMaxRequestLineBytes = 16 * 1024;
// Slack over max_body_bytes for chunked framing.
constexpr size_t kBodyFramingSlack = 16 * 1024;
// The overflow responder: at most this many connections wait for their
// 503, each given at most kRejectTimeout per step.
constexpr size_t kMaxRejectBacklog = 64;
constexpr absl::Duration kRejectTimeout = absl::Seconds(1);
// After refusing a body, read what the client still sends for this long
// (or this much) so that it sees the answer rather than a reset.
constexpr absl::Duration kLingerTime = absl::Seconds(1);
constexpr size_t kLingerBytes = 1024 * 1024;
constexpr int kListenBacklog = 512;
constexpr size_t kKeepAliveMaxRequests = 1000;
constexpr size_t kMaxRequestIdBytes = 128;

absl::Time RealNow() { return Clock::Real().Now(); }

int PollMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration()) {
    return 0;
  }
  // Round up: a wait cut short would spin.
  int64_t ms = absl::ToInt64Milliseconds(d + absl::Microseconds(999));
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

// PollIn waits until `fd` is readable (or at EOF or in error) for at most
// `timeout`. With `wake` >= 0, it also returns once `wake` is readable:
// true if `fd` is readable too, else false.
bool PollIn(int fd, absl::Duration timeout, int wake = -1) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
  const nfds_t n = wake >= 0 ? 2 : 1;
  const absl::Time deadline = RealNow() + timeout;
  for (;;) {
    int r = poll(fds, n, PollMillis(deadline - RealNow()));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    // Data wins over the wake pipe: what a client already sent is served.
    return fds[0].revents != 0;
  }
}

void SetNonBlocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) {
    return;
  }
  fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK));
}

time_t WholeSeconds(absl::Duration d) {
  return static_cast<time_t>(absl::ToInt64Seconds(d));
}
time_t RemainderMicros(absl::Duration d) {
  return static_cast<time_t>(
      absl::ToInt64Microseconds(d - absl::Seconds(absl::ToInt64Seconds(d))));
}

// ---------------------------------------------------------------------------
// Per-connection and per-request state.

// How a pooled connection is to be handled; set by the thread that runs it.
enum class ConnectionMode { kServe, kReject, kDrop };
thread_local ConnectionMode t_mode = ConnectionMode::kServe;

// One TLS record's worth of plaintext: what a connection reads ahead.
constexpr int kReadAheadBytes = 16 * 1024;

struct ConnectionState {
  int sock = -1;
  SSL* ssl = nullptr;
  std::string remote_address;
  int remote_port = 0;
  std::string local_address;  // found on first use
  int local_port = 0;
  // Plaintext read from TLS and not yet given to httplib. httplib reads a
  // request's line and headers one byte at a time; serving those bytes from
  // here costs one SSL_read per record instead of one per byte. It lives
  // as long as the connection, since it may hold the start of the next
  // request.
  std::unique_ptr<char[]> inbuf;  // kReadAheadBytes, made on first read
  size_t inpos = 0;
  size_t inlen = 0;
  bool HasBuffered() const { return inpos < inlen; }
  bool peer_parsed = false;
  std::vector<Certificate> peer_chain;
  std::string peer_error;  // why a sent chain was not usable
};

class RequestStream;

enum class Limit { kNone, kRequestLine, kHeaders, kBody, kDeadline };

struct RequestState {
  ConnectionState* conn = nullptr;
  RequestStream* stream = nullptr;
  bool reject = false;      // answer 503 (overflow responder)
  absl::Time start;         // real clock, for the duration
  absl::Time logged_start;  // authority clock, for the log line
  std::string request_id;
  bool answered = false;  // ServeRequest made the response
  std::string route;      // "" until known
  std::string error;      // internal reason, for the log
  std::string outcome;
  Limit limit = Limit::kNone;
  bool close = false;   // close the connection after this answer
  bool linger = false;  // the client may still be sending: drain first
};
thread_local RequestState* t_request = nullptr;

// WaitFor waits until `sock` is ready for what `ssl` wants after `result`
// (an SSL_read, SSL_write or SSL_accept return value), at most until
// `deadline`. False on a real error or when time is up.
bool WaitForTls(SSL* ssl, int sock, int result, absl::Time deadline,
                int wake = -1) {
  const int err = SSL_get_error(ssl, result);
  const absl::Duration left = deadline - RealNow();
  if (left <= absl::ZeroDuration()) {
    return false;
  }
  if (err == SSL_ERROR_WANT_READ) {
    return PollIn(sock, left, wake);
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    pollfd fd = {sock, POLLOUT, 0};
    int r;
    do {
      r = poll(&fd, 1, PollMillis(left));
    } while (r < 0 && errno == EINTR);
    return r > 0;
  }
  return false;
}

// AddressOf returns the host part of the peer's (or, if !peer, our own)
// address of `sock`.
void AddressOf(int sock, bool peer, std::string* ip, int* port) {
  sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? getpeername(sock, sa, &len) : getsockname(sock, sa, &len)) != 0) {
    return;
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    *port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    *port = ntohs(in6->sin6_port);
  }
  *ip = text;
}

// RequestStream is the TLS stream of one request on a non-blocking socket.
// It bounds the bytes of the request line, the header block and the body,
// and the time of the whole request: past a bound, reads fail (and
// RequestState::limit says which). Each write gets `write_timeout`. It
// waits with poll(), so descriptors above FD_SETSIZE work, unlike
// httplib's select()-based streams.
class RequestStream final : public httplib::Stream {
 public:
  RequestStream(ConnectionState* conn, absl::Time deadline,
                absl::Duration write_timeout, size_t max_header_bytes,
                size_t max_body_bytes, RequestState* request)
      : conn_(conn),
        sock_(conn->sock),
        ssl_(conn->ssl),
        deadline_(deadline),
        write_timeout_(write_timeout),
        max_header_bytes_(max_header_bytes),
        body_budget_(max_body_bytes + kBodyFramingSlack),
        request_(request) {}

  bool is_readable() const override {
    return conn_->HasBuffered() || SSL_has_pending(ssl_) ||
           PollIn(sock_, absl::ZeroDuration());
  }
  bool is_writable() const override {
    pollfd fd = {sock_, POLLOUT, 0};
    return poll(&fd, 1, PollMillis(write_timeout_)) > 0 &&
           (fd.revents & (POLLERR | POLLHUP)) == 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (request_->limit != Limit::kNone || size == 0) {
      return -1;
    }
    // A reply the client waits for ("100 Continue") goes out first.
    if (!pending_.empty() && !Flush()) {
      return -1;
    }
    size_t room;
    switch (phase_) {
      case Phase::kRequestLine:
        room = kMaxRequestLineBytes - line_bytes_;
        break;
      case Phase::kHeaders:
        room = max_header_bytes_ - header_bytes_;
        break;
      case Phase::kBody:
      default:
        room = body_budget_ - body_bytes_;
        break;
    }
    if (room == 0) {
      request_->limit = phase_ == Phase::kRequestLine ? Limit::kRequestLine
                        : phase_ == Phase::kHeaders   ? Limit::kHeaders
                                                      : Limit::kBody;
      return -1;
    }
    const size_t want = std::min(size, room);
    if (!conn_->HasBuffered() && !Fill()) {
      return eof_ ? 0 : -1;
    }
    const size_t n = std::min(want, conn_->inlen - conn_->inpos);
    std::memcpy(ptr, conn_->inbuf.get() + conn_->inpos, n);
    conn_->inpos += n;
    Account(ptr, n);
    return static_cast<ssize_t>(n);
  }

  // write collects a response's pieces (httplib writes the status line and
  // headers, then the body) so that Flush sends them in one TLS record and
  // one system call; larger writes go out at once, after what is pending.
  ssize_t write(const char* ptr, size_t size) override {
    if (size == 0) {
      return 0;
    }
    if (pending_.size() + size <= kCoalesceBytes) {
      pending_.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    if (!Flush()) {
      return -1;
    }
    return WriteNow(ptr, size);
  }

  // Flush sends what write collected. False if the connection failed.
  bool Flush() {
    size_t sent = 0;
    while (sent < pending_.size()) {
      ssize_t n = WriteNow(pending_.data() + sent, pending_.size() - sent);
      if (n <= 0) {
        pending_.clear();
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    pending_.clear();
    return true;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = conn_->remote_address;
    port = conn_->remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (conn_->local_address.empty()) {
      AddressOf(sock_, false, &conn_->local_address, &conn_->local_port);
    }
    ip = conn_->local_address;
    port = conn_->local_port;
  }
  // httplib reads socket() only to refuse descriptors its select() cannot
  // watch (>= FD_SETSIZE, answered 500). This stream never uses select(),
  // so it reports no descriptor.
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  enum class Phase { kRequestLine, kHeaders, kBody };

  // One TLS record's worth of plaintext.
  static constexpr size_t kCoalesceBytes = 16 * 1024;

  ssize_t WriteNow(const char* ptr, size_t size) {
    const absl::Time deadline = RealNow() + write_timeout_;
    const int len = static_cast<int>(std::min<size_t>(size, 1 << 20));
    for (;;) {
      // A retried SSL_write gets the same arguments, as BoringSSL wants.
      int n = SSL_write(ssl_, ptr, len);
      if (n > 0) {
        return n;
      }
      if (!WaitForTls(ssl_, sock_, n, deadline)) {
        ERR_clear_error();
        return -1;
      }
    }
  }

  // Fill reads what one TLS record holds (at most kReadAheadBytes) into the
  // connection's empty buffer, waiting until the request's deadline. False
  // on an error, at the deadline, or at the client's close (eof_).
  bool Fill() {
    if (conn_->inbuf == nullptr) {
      conn_->inbuf = std::make_unique<char[]>(kReadAheadBytes);
    }
    conn_->inpos = 0;
    conn_->inlen = 0;
    for (;;) {
      int n = SSL_read(ssl_, conn_->inbuf.get(), kReadAheadBytes);
      if (n > 0) {
        conn_->inlen = static_cast<size_t>(n);
        return true;
      }
      if (SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN) {
        eof_ = true;  // the client closed its side
        return false;
      }
      if (!WaitForTls(ssl_, sock_, n, deadline_)) {
        if (RealNow() >= deadline_) {
          request_->limit = Limit::kDeadline;
        }
        ERR_clear_error();
        return false;
      }
    }
  }

  // Account counts `n` bytes just read against the phase they belong to,
  // finding the end of the request line and of the header block (a line
  // that is exactly CRLF, as httplib reads it).
  void Account(const char* p, size_t n) {
    for (size_t i = 0; i < n; i++) {
      const char c = p[i];
      switch (phase_) {
        case Phase::kRequestLine:
          line_bytes_++;
          if (c == '\n') {
            phase_ = Phase::kHeaders;
            line_length_ = 0;
          }
          break;
        case Phase::kHeaders:
          header_bytes_++;
          if (c == '\n') {
            if (line_length_ == 1 && previous_ == '\r') {
              phase_ = Phase::kBody;
            }
            line_length_ = 0;
          } else {
            line_length_++;
          }
          previous_ = c;
          break;
        case Phase::kBody:
          body_bytes_++;
          break;
      }
    }
  }

  ConnectionState* conn_;
  int sock_;
  SSL* ssl_;
  bool eof_ = false;
  absl::Time deadline_;
  absl::Duration write_timeout_;
  size_t max_header_bytes_;
  size_t body_budget_;
  RequestState* request_;
  Phase phase_ = Phase::kRequestLine;
  size_t line_bytes_ = 0;
  size_t header_bytes_ = 0;
  size_t body_bytes_ = 0;
  size_t line_length_ = 0;
  char previous_ = 0;
  std::string pending_;  // written, not yet sent
};

// ---------------------------------------------------------------------------
// The worker pool.

// ConnectionPool runs connections on `workers` threads. A connection is
// taken when fewer than min(workers + max_queued, max_connections) are
// running or waiting; others go to one overflow thread that answers 503
// (kReject), and when its backlog is full they are closed unread (kDrop)
// on the accepting thread.
class ConnectionPool {
 public:
  ConnectionPool(int workers, int max_queued, int max_connections,
                 ServerMetrics* metrics)
      : workers_(static_cast<size_t>(workers)),
        capacity_(std::min(
            static_cast<size_t>(workers) + static_cast<size_t>(max_queued),
            static_cast<size_t>(max_connections))),
        metrics_(metrics) {}

  ~ConnectionPool() { Join(); }

  // Start launches the threads (once).
  void Start() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (started_) {
      return;
    }
    started_ = true;
    for (size_t i = 0; i < workers_; i++) {
      threads_.emplace_back([this] { Work(); });
    }
    threads_.emplace_back([this] { Reject(); });
  }

  void Enqueue(std::function<void()> fn) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      if (!closed_ && running_ + queue_.size() < capacity_) {
        queue_.push_back(std::move(fn));
        UpdateWaiting();
        return;
      }
      if (!closed_ && rejects_.size() < kMaxRejectBacklog) {
        rejects_.push_back(std::move(fn));
        return;
      }
    }
    metrics_->ConnectionRefused("dropped");
    t_mode = ConnectionMode::kDrop;
    fn();
    t_mode = ConnectionMode::kServe;
  }

  // Close stops taking connections; the threads finish what is queued and
  // exit. Join waits for them.
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  void Join() ABSL_LOCKS_EXCLUDED(mu_) {
    Close();
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }

  // HasWaiters reports whether a connection waits with every worker busy.
  bool HasWaiters() const { return waiting_.load(std::memory_order_relaxed); }

  // AwaitIdle waits until nothing runs or waits, at most `timeout`.
  bool AwaitIdle(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(this, &ConnectionPool::Idle),
                                timeout);
  }

 private:
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return running_ == 0 && rejecting_ == 0 && queue_.empty() &&
           rejects_.empty();
  }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !queue_.empty();
  }
  bool HasRejects() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !rejects_.empty();
  }
  void UpdateWaiting() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    waiting_.store(running_ + queue_.size() > workers_,
                   std::memory_order_relaxed);
  }

  void Work() ABSL_LOCKS_EXCLUDED(mu_) {
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &ConnectionPool::HasWork));
        if (queue_.empty()) {
          return;  // closed and drained
        }
        fn = std::move(queue_.front());
        queue_.pop_front();
        running_++;
        UpdateWaiting();
      }
      fn();
      absl::MutexLock lock(&mu_);
      running_--;
      UpdateWaiting();
    }
  }

  void Reject() ABSL_LOCKS_EXCLUDED(mu_) {
    t_mode = ConnectionMode::kReject;
    for (;;) {
      std::function<void()> fn;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &ConnectionPool::HasRejects));
        if (rejects_.empty()) {
          return;
        }
        fn = std::move(rejects_.front());
        rejects_.pop_front();
        rejecting_++;
      }
      metrics_->ConnectionRefused("overload");
      fn();
      absl::MutexLock lock(&mu_);
      rejecting_--;
    }
  }

  const size_t workers_;
  const size_t capacity_;
  ServerMetrics* const metrics_;
  std::atomic<bool> waiting_{false};
  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  size_t rejecting_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> rejects_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
};

// PoolQueue is the httplib::TaskQueue httplib's accept loop creates; it
// forwards to the server's ConnectionPool, which outlives it.
class PoolQueue final : public httplib::TaskQueue {
 public:
  explicit PoolQueue(ConnectionPool* pool) : pool_(pool) { pool_->Start(); }
  void enqueue(std::function<void()> fn) override {
    pool_->Enqueue(std::move(fn));
  }
  void shutdown() override { pool_->Join(); }

 private:
  ConnectionPool* pool_;
};

// ---------------------------------------------------------------------------
// Small helpers.

bool IsRequestIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == ':' || c == '+' || c == '/' || c == '=' || c == '-';
}

std::string NewRequestId() {
  uint8_t b[16];
  RAND_bytes(b, sizeof(b));
  b[6] = (b[6] & 0x0f) | 0x40;  // UUID version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string hex = internal::Hex(b);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

// RequestIdFor takes the client's id when it is safe to echo and log.
std::string RequestIdFor(const httplib::Request& req) {
  for (const char* header : {"X-Request-Id", "X-Smallstep-Id"}) {
    std::string id = req.get_header_value(header);
    if (!id.empty() && id.size() <= kMaxRequestIdBytes &&
        std::all_of(id.begin(), id.end(), IsRequestIdChar)) {
      return id;
    }
  }
  return NewRequestId();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// PercentDecode decodes %XX escapes, and '+' as a space when `plus`; a '%'
// not followed by two hex digits stays as it is.
std::string PercentDecode(absl::string_view s, bool plus) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    if (c == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
        HexValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// QueryOf splits the query of `target` into decoded pairs, in order.
std::vector<std::pair<std::string, std::string>> QueryOf(
    absl::string_view target) {
  std::vector<std::pair<std::string, std::string>> query;
  size_t q = target.find('?');
  if (q == absl::string_view::npos) {
    return query;
  }
  for (absl::string_view part :
       absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    absl::string_view key = part.substr(0, eq);
    absl::string_view value = eq == absl::string_view::npos
                                  ? absl::string_view()
                                  : part.substr(eq + 1);
    query.emplace_back(PercentDecode(key, true), PercentDecode(value, true));
  }
  return query;
}

void SetResponse(const ApiResponse& api, httplib::Response* res) {
  res->status = api.status;
  res->body = api.body;
  if (!api.content_type.empty()) {
    res->set_header("Content-Type", api.content_type);
  }
  for (const auto& [name, value] : api.headers) {
    res->set_header(name, value);
  }
}

// BodyResult is what reading a request body came to.
struct BodyResult {
  int status = 0;  // 0: read; else the error status to answer
  std::string error;
  std::string message;  // shown to the client ("" for the default)
};

// BodyTimedOut is the answer to a body still incomplete at the request's
// deadline: 408, like a request line or headers that never finish.
BodyResult BodyTimedOut() {
  return {408, "request body not received within the read timeout", ""};
}

// ReadLine reads one line (through LF) of at most `max` bytes.
bool ReadLine(httplib::Stream& strm, size_t max, std::string* line) {
  line->clear();
  char c;
  while (line->size() < max) {
    if (strm.read(&c, 1) != 1) {
      return false;
    }
    line->push_back(c);
    if (c == '\n') {
      return true;
    }
  }
  return false;
}

bool ReadExactly(httplib::Stream& strm, size_t n, std::string* out) {
  char buf[16 * 1024];
  while (n > 0) {
    ssize_t got = strm.read(buf, std::min(n, sizeof(buf)));
    if (got <= 0) {
      return false;
    }
    out->append(buf, static_cast<size_t>(got));
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------

namespace {

class HttpsServer;

// ServerCore is the server's state and request handling. CaServer::Impl
// is a ServerCore: HttpsServer, in this file's unnamed namespace, cannot
// name a private member class of CaServer.
class ServerCore {
 public:
  ServerCore(Authority* authority, ServerOptions options, std::string host,
             int port)
      : authority_(authority),
        options_(std::move(options)),
        host_(std::move(host)),
        requested_port_(port),
        api_(authority, internal::ApiOptions{options_.version}),
        pool_(options_.worker_threads, options_.max_queued,
              options_.max_connections, &metrics_) {}

  ~ServerCore();

  absl::Status Init();
  absl::Status Start();
  void Shutdown(absl::Duration grace);
  absl::Status RotateCertificate();

  // --- called by HttpsServer on worker threads
  void ServeRequest(const httplib::Request& req, httplib::Response& res);
  void PostRouting(const httplib::Request& req, httplib::Response& res);
  bool OnError(const httplib::Request& req, httplib::Response& res);
  void OnException(httplib::Response& res);
  void LogRequest(const httplib::Request& req, const httplib::Response& res);
  void Log(absl::string_view line) const;

  // State.
  Authority* const authority_;
  const ServerOptions options_;
  const std::string host_;
  const int requested_port_;
  internal::Api api_;
  ServerMetrics metrics_;
  ConnectionPool pool_;
  std::shared_ptr<RotatingCredentials> credentials_ =
      std::make_shared<RotatingCredentials>();
  std::unique_ptr<HttpsServer> server_;
  std::thread listen_thread_;
  std::thread timer_thread_;
  std::atomic<int> port_{0};
  std::atomic<bool> listen_done_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> forced_{false};
  int wake_[2] = {-1, -1};  // written once on Shutdown, never read

  absl::Mutex state_mu_;
  bool started_ ABSL_GUARDED_BY(state_mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(state_mu_) = false;

  // The sockets being served, so that Shutdown can cut them after grace.
  absl::Mutex sockets_mu_;
  absl::flat_hash_set<int> sockets_ ABSL_GUARDED_BY(sockets_mu_);

  // Rotation.
  absl::Mutex rotate_mu_;  // one rotation at a time
  absl::Mutex timer_mu_;
  absl::CondVar timer_cv_;
  bool timer_stop_ ABSL_GUARDED_BY(timer_mu_) = false;
  absl::Time next_rotation_ ABSL_GUARDED_BY(timer_mu_) = absl::InfiniteFuture();

 private:
  void TimerLoop();
  BodyResult ReadBody(const httplib::Request& req, std::string* body);
  const std::vector<Certificate>& PeerChain(ConnectionState* conn);
};

}  // namespace

namespace {

// HttpsServer is httplib's SSLServer with our connection loop.
class HttpsServer final : public httplib::SSLServer {
 public:
  HttpsServer(const std::function<bool(SSL_CTX&)>& setup, ServerCore* impl)
      : httplib::SSLServer(setup), impl_(impl) {}

  // Bind binds and listens; returns the port or -1.
  int Bind(const std::string& host, int port) {
    int bound = -1;
    if (port == 0) {
      bound = bind_to_any_port(host);
    } else if (bind_to_port(host, port)) {
      bound = port;
    }
    if (bound > 0) {
      // httplib listens with a backlog of 5; a burst of connections
      // deserves more. listen() again only changes the backlog.
      ::listen(svr_sock_, kListenBacklog);
    }
    return bound;
  }

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool Handshake(SSL* ssl, int sock, absl::Duration timeout);
  void Close(int sock, SSL* ssl, bool graceful, bool linger);

  ServerCore* impl_;
};

}  // namespace

// ---------------------------------------------------------------------------
// The connection loop.

namespace {

bool HttpsServer::Handshake(SSL* ssl, int sock, absl::Duration timeout) {
  // A connection still in its handshake has no request in flight: it gives
  // up as soon as Shutdown begins (the wake pipe).
  const absl::Time deadline = RealNow() + timeout;
  for (;;) {
    int r = SSL_accept(ssl);
    if (r == 1) {
      return true;
    }
    if (!WaitForTls(ssl, sock, r, deadline, impl_->wake_[0])) {
      ERR_clear_error();
      return false;
    }
  }
}

void HttpsServer::Close(int sock, SSL* ssl, bool graceful, bool linger) {
  if (ssl != nullptr) {
    if (graceful) {
      SSL_shutdown(ssl);  // best effort: the socket does not block
    }
    SSL_free(ssl);
    ERR_clear_error();
  }
  if (linger) {
    // Stop writing, then read and discard what the client is still
    // sending: closing with unread input would reset the connection and
    // could destroy the answer before the client reads it.
    ::shutdown(sock, SHUT_WR);
    const absl::Time deadline = RealNow() + kLingerTime;
    size_t drained = 0;
    char buf[16 * 1024];
    while (drained < kLingerBytes && PollIn(sock, deadline - RealNow())) {
      ssize_t n = ::recv(sock, buf, sizeof(buf), 0);
      if (n <= 0) {
        break;
      }
      drained += static_cast<size_t>(n);
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

bool HttpsServer::process_and_close_socket(socket_t sock) {
  ServerCore& impl = *impl_;
  const ConnectionMode mode = t_mode;
  if (mode == ConnectionMode::kDrop || impl.forced_.load()) {
    ::close(sock);
    return false;
  }
  {
    absl::MutexLock lock(&impl.sockets_mu_);
    impl.sockets_.insert(sock);
  }
  impl.metrics_.ConnectionOpened();
  {
    // httplib writes a response's head and body separately; with Nagle the
    // body would wait for the client's delayed ACK (40 ms).
    int yes = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  }
  const bool reject = mode == ConnectionMode::kReject;
  const ServerOptions& o = impl.options_;
  const absl::Duration read_timeout =
      reject ? std::min(o.read_timeout, kRejectTimeout) : o.read_timeout;

  ConnectionState conn;
  conn.sock = sock;
  AddressOf(sock, true, &conn.remote_address, &conn.remote_port);
  // Every wait is a poll() with a deadline; nothing blocks in the kernel.
  SetNonBlocking(sock, true);
  bool ret = false;
  bool linger = false;
  SSL* ssl = SSL_new(ssl_context());
  if (ssl != nullptr && SSL_set_fd(ssl, sock) == 1 &&
      Handshake(ssl, sock, read_timeout)) {
    conn.ssl = ssl;
    for (size_t served = 0; served < kKeepAliveMaxRequests; served++) {
      // Wait for the next request. A request already sent is served even
      // when stopping (it is in flight); an idle connection closes then.
      const absl::Duration wait = served == 0 ? read_timeout
                                  : reject    ? absl::ZeroDuration()
                                              : o.idle_timeout;
      const bool ready =
          conn.HasBuffered() || SSL_has_pending(ssl) ||
          PollIn(sock, absl::ZeroDuration()) ||
          (!impl.stopping_.load() && PollIn(sock, wait, impl.wake_[0]));
      if (!ready) {
        ret = true;  // an orderly close
        break;
      }
      RequestState request;
      request.conn = &conn;
      request.reject = reject;
      request.start = RealNow();
      request.logged_start = impl.authority_->clock().Now();
      RequestStream strm(&conn, request.start + read_timeout, o.write_timeout,
                         o.max_header_bytes, o.max_body_bytes, &request);
      request.stream = &strm;
      // Keep-alive only while nobody waits for a worker: an open
      // connection holds one.
      const bool close_connection = reject || impl.stopping_.load() ||
                                    served + 1 == kKeepAliveMaxRequests ||
                                    impl.pool_.HasWaiters();
      bool connection_closed = false;
      t_request = &request;
      impl.metrics_.RequestStarted();
      try {
        ret = process_request(strm, close_connection, connection_closed,
                              [ssl](httplib::Request& req) { req.ssl = ssl; });
      } catch (...) {
        // httplib catches what handlers throw; this is what escapes its
        // parsing (std::bad_alloc): drop the connection, keep the worker.
        ret = false;
      }
      if (!strm.Flush()) {
        ret = false;
      }
      impl.metrics_.RequestFinished();
      t_request = nullptr;
      linger = request.linger;
      if (!ret || connection_closed || close_connection || request.close ||
          request.limit != Limit::kNone) {
        break;
      }
    }
  }
  {
    absl::MutexLock lock(&impl.sockets_mu_);
    impl.sockets_.erase(sock);
  }
  Close(sock, ssl, ret, linger && !impl.forced_.load());
  impl.metrics_.ConnectionClosed();
  return ret;
}

}  // namespace

// ---------------------------------------------------------------------------
// Requests.

const std::vector<Certificate>& ServerCore::PeerChain(ConnectionState* conn) {
  if (!conn->peer_parsed) {
    conn->peer_parsed = true;
    absl::StatusOr<std::vector<Certificate>> chain =
        PeerCertificates(conn->ssl);
    if (chain.ok()) {
      conn->peer_chain = *std::move(chain);
    } else {
      conn->peer_error = std::string(chain.status().message());
    }
  }
  return conn->peer_chain;
}

BodyResult ServerCore::ReadBody(const httplib::Request& req,
                                std::string* body) {
  RequestState& rs = *t_request;
  httplib::Stream& strm = *rs.stream;
  const size_t cap = options_.max_body_bytes;
  const std::string too_large =
      absl::StrCat("request body exceeds ", cap, " bytes");
  BodyResult result;
  const bool has_length = req.has_header("Content-Length");
  const bool has_encoding = req.has_header("Transfer-Encoding");
  if (has_length && has_encoding) {
    rs.close = true;
    return {400, "both Content-Length and Transfer-Encoding", ""};
  }
  if (has_encoding) {
    std::string te = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(req.get_header_value("Transfer-Encoding")));
    if (te != "chunked" ||
        req.get_header_value_count("Transfer-Encoding") != 1) {
      rs.close = true;
      rs.linger = true;
      return {501, absl::StrCat("unsupported transfer encoding"), ""};
    }
    std::string line;
    for (;;) {
      if (!ReadLine(strm, 1024, &line)) {
        rs.close = true;
        if (rs.limit == Limit::kBody) {
          rs.linger = true;
          return {413, too_large, too_large};
        }
        if (rs.limit == Limit::kDeadline) {
          return BodyTimedOut();
        }
        return {400, "malformed or incomplete chunked body", ""};
      }
      absl::string_view size_text(line);
      size_text = size_text.substr(0, size_text.find_first_of(";\r\n"));
      size_text = absl::StripAsciiWhitespace(size_text);
      uint64_t chunk = 0;
      if (size_text.empty() || size_text.size() > 15 ||
          !absl::SimpleHexAtoi(size_text, &chunk)) {
        rs.close = true;
        return {400, "malformed chunk size", ""};
      }
      if (chunk == 0) {
        break;
      }
      if (body->size() + chunk > cap) {
        rs.close = true;
        rs.linger = true;
        return {413, too_large, too_large};
      }
      std::string crlf;
      if (!ReadExactly(strm, chunk, body) || !ReadLine(strm, 2, &crlf) ||
          crlf != "\r\n") {
        rs.close = true;
        if (rs.limit == Limit::kDeadline) {
          return BodyTimedOut();
        }
        return {400, "malformed or incomplete chunked body", ""};
      }
    }
    // Trailer fields, ignored, then the final CRLF.
    for (int i = 0; i < 64; i++) {
      if (!ReadLine(strm, 1024, &line)) {
        rs.close = true;
        return {400, "malformed chunked trailer", ""};
      }
      if (line == "\r\n") {
        return result;
      }
    }
    rs.close = true;
    return {400, "too many chunked trailer fields", ""};
  }
  if (has_length) {
    std::string value = req.get_header_value("Content-Length");
    uint64_t length = 0;
    bool same = true;
    for (size_t i = 1; i < req.get_header_value_count("Content-Length"); i++) {
      same = same && req.get_header_value("Content-Length", i) == value;
    }
    if (!same || value.empty() || value.size() > 19 ||
        !std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(value, &length)) {
      rs.close = true;
      return {400, "malformed Content-Length", ""};
    }
    if (length > cap) {
      // Refused before reading it; the client learns at once.
      rs.close = true;
      rs.linger = true;
      return {413, too_large, too_large};
    }
    if (!ReadExactly(strm, static_cast<size_t>(length), body)) {
      rs.close = true;
      if (rs.limit == Limit::kDeadline) {
        return BodyTimedOut();
      }
      return {400, "request body shorter than its Content-Length", ""};
    }
  }
  // Neither header: no body (RFC 9112 section 6.3).
  return result;
}

void ServerCore::ServeRequest(const httplib::Request& req,
                              httplib::Response& res) {
  RequestState& rs = *t_request;
  rs.answered = true;
  rs.request_id = RequestIdFor(req);
  // Ranges make no sense for API answers (httplib would cut the body). The
  // Request is a non-const object httplib owns, handed to us as const, so
  // clearing it is well defined.
  const_cast<httplib::Request&>(req).ranges.clear();
  if (rs.reject) {
    rs.route = "none";
    rs.close = true;
    rs.linger = true;
    ApiResponse busy = internal::ErrorResponse(
        503, "",
        "server overloaded: every worker is busy and the queue is full");
    busy.headers.emplace_back("Retry-After", "1");
    SetResponse(busy, &res);
    rs.error = busy.error;
    return;
  }
  std::string body;
  BodyResult read = ReadBody(req, &body);
  if (read.status != 0) {
    ApiResponse failed =
        internal::ErrorResponse(read.status, read.message, read.error);
    SetResponse(failed, &res);
    rs.route = "none";
    rs.error = failed.error;
    return;
  }
  if ((req.method == "GET" || req.method == "HEAD") && req.path == "/metrics") {
    rs.route = "/metrics";
    res.status = 200;
    if (req.method == "GET") {
      res.body = metrics_.Text();
    }
    res.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return;
  }
  ApiRequest api_request;
  api_request.method = req.method;
  api_request.path = req.path;
  api_request.query = QueryOf(req.target);
  api_request.content_type = req.get_header_value("Content-Type");
  api_request.authorization = req.get_header_value("Authorization");
  api_request.body = std::move(body);
  api_request.peer_chain = PeerChain(rs.conn);
  ApiResponse answer = api_.Handle(api_request);
  rs.route = answer.route;
  rs.error = answer.error;
  rs.outcome = answer.outcome;
  if (!rs.conn->peer_error.empty() && answer.status >= 400) {
    absl::StrAppend(&rs.error, rs.error.empty() ? "" : "; ",
                    "client certificate ignored: ", rs.conn->peer_error);
  }
  SetResponse(answer, &res);
}

void ServerCore::PostRouting(const httplib::Request& req,
                             httplib::Response& res) {
  RequestState* rs = t_request;
  if (rs == nullptr) {
    return;
  }
  if (rs->request_id.empty()) {
    rs->request_id = RequestIdFor(req);
  }
  res.set_header("X-Request-Id", rs->request_id);
  if (stopping_.load()) {
    rs->close = true;  // draining: this is the connection's last answer
  }
  if (rs->close) {
    res.headers.erase("Keep-Alive");
    res.headers.erase("Connection");
    res.set_header("Connection", "close");
  }
}

bool ServerCore::OnError(const httplib::Request& req, httplib::Response& res) {
  RequestState* rs = t_request;
  if (rs == nullptr || rs->answered) {
    return false;  // our answer: it has its JSON body (unless HEAD)
  }
  // httplib refused the request before any route ran (malformed request
  // line or headers, URI too long, bad range): answer with step's JSON
  // shape and stop reading this connection.
  const_cast<httplib::Request&>(req).ranges.clear();
  rs->close = true;
  rs->route = "none";
  std::string message;
  if (rs->limit == Limit::kHeaders) {
    res.status = 431;
    rs->error = absl::StrCat("request headers exceed ",
                             options_.max_header_bytes, " bytes");
    message = "request headers too large";
  } else if (rs->limit == Limit::kDeadline) {
    res.status = 408;
    rs->error = "request not received within the read timeout";
  } else if (rs->error.empty()) {
    rs->error =
        absl::StrCat("http: ", httplib::detail::status_message(res.status));
  }
  ApiResponse answer = internal::ErrorResponse(res.status, message, rs->error);
  SetResponse(answer, &res);
  return true;
}

void ServerCore::OnException(httplib::Response& res) {
  ApiResponse answer =
      internal::ErrorResponse(500, "", "internal error: exception in handler");
  res.headers.clear();
  SetResponse(answer, &res);
  if (t_request != nullptr) {
    t_request->error = answer.error;
    t_request->close = true;
  }
}

void ServerCore::LogRequest(const httplib::Request& req,
                            const httplib::Response& res) {
  RequestState* rs = t_request;
  if (rs == nullptr) {
    return;
  }
  const absl::Duration duration = RealNow() - rs->start;
  const std::string route = rs->route.empty() ? "none" : rs->route;
  metrics_.RecordRequest(route, res.status, duration);
  metrics_.RecordOutcome(rs->outcome, res.status);

  AccessLogEntry entry;
  entry.start = rs->logged_start;
  entry.duration = duration;
  entry.request_id = rs->request_id;
  entry.method = req.method;
  entry.path = req.target;
  entry.protocol = req.version;
  entry.remote_address = rs->conn->remote_address;
  entry.user_agent = req.get_header_value("User-Agent");
  entry.referer = req.get_header_value("Referer");
  entry.status = res.status;
  entry.size = req.method == "HEAD" ? 0 : res.body.size();
  entry.error = rs->error;
  Log(internal::FormatAccessLog(entry, options_.log_format,
                                authority_->clock().Now()));
}

void ServerCore::Log(absl::string_view line) const {
  if (options_.log_sink) {
    options_.log_sink(line);
    return;
  }
  // One write per line: stdio locks the stream for it, so lines from
  // several workers do not interleave.
  std::string out = absl::StrCat(line, "\n");
  fwrite(out.data(), 1, out.size(), stderr);
}

// ---------------------------------------------------------------------------
// Lifecycle.

absl::Status ServerCore::Init() {
  if (pipe(wake_) != 0) {
    return absl::InternalError(
        absl::StrCat("server: cannot create a pipe: ", strerror(errno)));
  }
  fcntl(wake_[0], F_SETFD, FD_CLOEXEC);
  fcntl(wake_[1], F_SETFD, FD_CLOEXEC);
  MAYFLY_RETURN_IF_ERROR(RotateCertificate());

  // Client certificates: requested, naming the roots and the CA chain (so
  // Go clients offer theirs), and left for the Authority to verify.
  std::vector<Certificate> issuers = authority_->roots();
  issuers.insert(issuers.end(), authority_->ca_chain().begin(),
                 authority_->ca_chain().end());
  auto names = std::make_shared<TrustedRoots>(std::move(issuers));
  absl::Status tls_status;
  auto setup = [this, names, &tls_status](SSL_CTX& ctx) {
    tls_status = ConfigureServerContext(
        &ctx, credentials_, names, ClientAuth::kRequest, authority_->clock());
    return tls_status.ok();
  };
  server_ = std::make_unique<HttpsServer>(setup, this);
  if (!server_->is_valid()) {
    return tls_status.ok() ? absl::InternalError("server: no TLS context")
                           : tls_status;
  }
  HttpsServer& s = *server_;
  s.set_read_timeout(WholeSeconds(options_.read_timeout),
                     RemainderMicros(options_.read_timeout));
  s.set_write_timeout(WholeSeconds(options_.write_timeout),
                      RemainderMicros(options_.write_timeout));
  s.set_keep_alive_timeout(
      std::max<time_t>(1, WholeSeconds(options_.idle_timeout)));
  s.set_keep_alive_max_count(kKeepAliveMaxRequests);
  s.set_payload_max_length(options_.max_body_bytes);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let another
  // process bind the same port and take connections.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.new_task_queue = [this] { return new PoolQueue(&pool_); };
  s.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        ServeRequest(req, res);
        return httplib::Server::HandlerResponse::Handled;
      });
  s.set_post_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        PostRouting(req, res);
      });
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        return OnError(req, res) ? httplib::Server::HandlerResponse::Handled
                                 : httplib::Server::HandlerResponse::Unhandled;
      }));
  s.set_exception_handler([this](const httplib::Request&,
                                 httplib::Response& res,
                                 std::exception_ptr) { OnException(res); });
  s.set_logger([this](const httplib::Request& req,
                      const httplib::Response& res) { LogRequest(req, res); });
  return absl::OkStatus();
}

ServerCore::~ServerCore() {
  Shutdown(absl::Seconds(10));
  for (int fd : wake_) {
    if (fd >= 0) {
      close(fd);
    }
  }
}

absl::Status ServerCore::Start() {
  absl::MutexLock lock(&state_mu_);
  if (started_ || shut_down_) {
    return absl::FailedPreconditionError(
        shut_down_ ? "server: shut down" : "server: already started");
  }
  errno = 0;
  int port = server_->Bind(host_, requested_port_);
  if (port <= 0 && host_ == "::") {
    // No IPv6 here: every IPv4 interface, then.
    port = server_->Bind("0.0.0.0", requested_port_);
  }
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "server: cannot listen on ", host_, ":", requested_port_,
        errno != 0 ? absl::StrCat(": ", strerror(errno)) : std::string()));
  }
  port_.store(port);
  started_ = true;
  listen_thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_done_.store(true);
  });
  // The socket already listens (connections queue in the kernel); wait for
  // the accept loop so that Shutdown's stop() finds it running. (If it
  // ended at once, accept() failed; Shutdown then just joins.)
  while (!server_->is_running() && !listen_done_.load()) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  timer_thread_ = std::thread([this] { TimerLoop(); });
  return absl::OkStatus();
}

void ServerCore::Shutdown(absl::Duration grace) {
  bool started;
  {
    absl::MutexLock lock(&state_mu_);
    if (shut_down_) {
      return;
    }
    shut_down_ = true;
    started = started_;
  }
  stopping_.store(true);
  if (wake_[1] >= 0) {
    // Wakes every idle connection (they poll the read end); never drained.
    ssize_t n = write(wake_[1], "x", 1);
    (void)n;
  }
  {
    absl::MutexLock lock(&timer_mu_);
    timer_stop_ = true;
    timer_cv_.SignalAll();
  }
  if (timer_thread_.joinable()) {
    timer_thread_.join();
  }
  if (!started) {
    return;
  }
  server_->stop();  // closes the listening socket; the accept loop ends
  if (!pool_.AwaitIdle(std::max(grace, absl::ZeroDuration()))) {
    // Out of time: cut what is left. Blocked reads and writes fail at
    // once; queued connections are closed unserved.
    forced_.store(true);
    absl::MutexLock lock(&sockets_mu_);
    for (int sock : sockets_) {
      ::shutdown(sock, SHUT_RDWR);
    }
  }
  listen_thread_.join();  // httplib joins the pool on its way out
  pool_.Join();
}

absl::Status ServerCore::RotateCertificate() {
  absl::MutexLock rotating(&rotate_mu_);
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(KeyType::kP256));
  MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                          authority_->IssueServerCertificate(
                              key.public_key(), options_.tls_lifetime));
  const absl::Time not_before = issued.leaf.NotBefore();
  const absl::Time not_after = issued.leaf.NotAfter();
  MAYFLY_RETURN_IF_ERROR(credentials_->Set(std::move(issued.chain), key));
  metrics_.ServerCertificateRotated(not_after);
  absl::MutexLock lock(&timer_mu_);
  next_rotation_ = not_before + (not_after - not_before) * 2 / 3;
  timer_cv_.SignalAll();
  return absl::OkStatus();
}

void ServerCore::TimerLoop() {
  absl::Duration backoff = absl::Seconds(1);
  for (;;) {
    {
      absl::MutexLock lock(&timer_mu_);
      for (;;) {
        if (timer_stop_) {
          return;
        }
        const absl::Duration wait = next_rotation_ - authority_->clock().Now();
        if (wait <= absl::ZeroDuration()) {
          break;
        }
        // Wake at least once a minute: the clock may jump (a suspended
        // machine, a test's clock) without anyone signalling.
        timer_cv_.WaitWithTimeout(&timer_mu_, std::min(wait, absl::Minutes(1)));
      }
    }
    absl::Status status = RotateCertificate();
    if (status.ok()) {
      backoff = absl::Seconds(1);
      continue;
    }
    metrics_.ServerCertificateRotationFailed();
    Log(internal::FormatEventLog(
        "error", "renewing the server certificate failed", status.message(),
        options_.log_format, authority_->clock().Now()));
    absl::MutexLock lock(&timer_mu_);
    next_rotation_ = authority_->clock().Now() + backoff;
    backoff = std::min(backoff * 2, absl::Minutes(1));
  }
}

// ---------------------------------------------------------------------------
// CaServer.

class CaServer::Impl : public ServerCore {
 public:
  using ServerCore::ServerCore;
};

namespace {

// ParseAddress splits "host:port", "[v6]:port" or ":port".
absl::Status ParseAddress(absl::string_view address, std::string* host,
                          int* port) {
  absl::string_view host_part, port_part;
  if (absl::StartsWith(address, "[")) {
    size_t close = address.find("]:");
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("server: bad address \"", address, "\""));
    }
    host_part = address.substr(1, close - 1);
    port_part = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos ||
        address.substr(0, colon).find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "server: bad address \"", address, "\" (want host:port)"));
    }
    host_part = address.substr(0, colon);
    port_part = address.substr(colon + 1);
  }
  int value = -1;
  if (port_part.empty() || port_part.size() > 5 ||
      !std::all_of(port_part.begin(), port_part.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(port_part, &value) || value > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("server: bad port in address \"", address, "\""));
  }
  // ":port" listens on every interface, IPv6 and (dual-stack) IPv4.
  *host = host_part.empty() ? "::" : std::string(host_part);
  *port = value;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<CaServer>> CaServer::Create(
    Authority* authority, ServerOptions options) {
  if (authority == nullptr) {
    return absl::InvalidArgumentError("server: no authority");
  }
  if (options.worker_threads < 0 || options.max_connections < 1 ||
      options.max_queued < 0 || options.max_body_bytes == 0 ||
      options.max_header_bytes < 256) {
    return absl::InvalidArgumentError(
        "server: worker_threads must be >= 0, max_connections >= 1, "
        "max_queued >= 0, max_body_bytes > 0, max_header_bytes >= 256");
  }
  if (options.read_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration() ||
      options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("server: timeouts must be positive");
  }
  if (options.tls_lifetime < absl::Minutes(1)) {
    return absl::InvalidArgumentError(
        "server: tls_lifetime must be at least one minute");
  }
  if (options.worker_threads == 0) {
    // A kept-alive connection holds its worker while idle, and requests
    // mostly wait on crypto or the store's group commit: many workers,
    // not one per core.
    options.worker_threads = std::max(
        64, 16 * static_cast<int>(std::thread::hardware_concurrency()));
  }
  std::string host;
  int port = 0;
  MAYFLY_RETURN_IF_ERROR(ParseAddress(
      options.address.empty() ? authority->config().address : options.address,
      &host, &port));
  auto impl = std::make_unique<CaServer::Impl>(authority, std::move(options),
                                               std::move(host), port);
  MAYFLY_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<CaServer>(new CaServer(std::move(impl)));
}

CaServer::CaServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CaServer::~CaServer() = default;  // Impl's destructor shuts down

absl::Status CaServer::Start() { return impl_->Start(); }

int CaServer::port() const { return impl_->port_.load(); }

void CaServer::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

absl::Status CaServer::RotateCertificate() {
  return impl_->RotateCertificate();
}

absl::Status CaServer::ReloadProvisioners(const CaConfig& config) {
  return impl_->authority_->ReplaceProvisioners(config.provisioners,
                                                config.claims);
}

std::string CaServer::MetricsText() const { return impl_->metrics_.Text(); }

std::vector<Certificate> CaServer::CurrentCertificateChain() const {
  std::shared_ptr<const Credentials> current = impl_->credentials_->Current();
  return current == nullptr ? std::vector<Certificate>() : current->chain;
}

}  // namespace mayfly

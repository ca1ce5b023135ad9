// The rotation load harness: see rotation_harness.h.

#include "rotation_harness.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"
#include "mayfly/store.h"
#include "mayfly/tls.h"
#include "mayfly/token.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace mayfly {
namespace testing {

namespace {

// The names in the certificates. The clients connect to 127.0.0.1 and send
// kServerName as SNI, which the server certificate must match.
constexpr char kServerName[] = "server.rotation.test";
constexpr char kClientName[] = "client.rotation.test";
constexpr char kCaName[] = "ca.rotation.test";
constexpr char kCaUrl[] = "https://ca.rotation.test";

// What each side sends once the handshake is done.
constexpr absl::string_view kPing = "ping";
constexpr absl::string_view kPong = "pong";

// Failure reasons kept by name; any further distinct reason is counted
// under kOtherReason, so a run that fails in many ways stays small.
constexpr size_t kMaxReasons = 32;
constexpr char kOtherReason[] = "(other reasons)";

// How often an idle accept loop looks at its stop flag.
constexpr int kAcceptPollMillis = 50;

// ---------------------------------------------------------------------------
// The CA.

// Leaf is a certificate chain (leaf first) and its key.
struct Leaf {
  std::vector<Certificate> chain;
  PrivateKey key;
};

// LeafCa is an in-memory CA (root, intermediate, one JWK provisioner) on
// the real clock. It issues every leaf the way a client of a real CA gets
// one: a fresh key, a CSR, a one-time token, Authority::Sign.
class LeafCa {
 public:
  static absl::StatusOr<std::unique_ptr<LeafCa>> Create();

  // Issue issues a 10-minute certificate for a new key, with `name` as its
  // CN and only SAN.
  absl::StatusOr<Leaf> Issue(const std::string& name) const;

  const Certificate& root() const { return root_; }

 private:
  LeafCa(Certificate root, std::unique_ptr<Authority> authority,
         std::unique_ptr<TokenSigner> signer, std::string audience)
      : root_(std::move(root)),
        authority_(std::move(authority)),
        signer_(std::move(signer)),
        audience_(std::move(audience)) {}

  Certificate root_;
  std::unique_ptr<Authority> authority_;
  std::unique_ptr<TokenSigner> signer_;
  std::string audience_;
};

absl::StatusOr<std::unique_ptr<LeafCa>> LeafCa::Create() {
  const absl::Time now = Clock::Real().Now();
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey root_key, PrivateKey::Generate());
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey intermediate_key, PrivateKey::Generate());

  CertificateTemplate tmpl;
  tmpl.serial = {0x01};
  tmpl.common_name = "Rotation Root CA";
  tmpl.organization = "Rotation";
  tmpl.not_before = now - absl::Hours(1);
  tmpl.not_after = now + absl::Hours(24);
  tmpl.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
  tmpl.basic = BasicConstraints{true, 1};
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate root,
      IssueCertificate(tmpl, root_key.public_key(), root_key, nullptr));
  tmpl.serial = {0x02};
  tmpl.common_name = "Rotation Intermediate CA";
  tmpl.basic = BasicConstraints{true, 0};
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate intermediate,
      IssueCertificate(tmpl, intermediate_key.public_key(), root_key, &root));

  // The provisioner's encrypted key is never decrypted here, so its
  // password only has to be non-empty; few PBKDF2 iterations keep setup
  // fast.
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey provisioner_key, PrivateKey::Generate());
  MAYFLY_ASSIGN_OR_RETURN(
      Provisioner provisioner,
      Provisioner::FromPrivateKey("rotation", provisioner_key,
                                  "rotation-harness", Claims{}, 1000));
  auto signer = std::make_unique<TokenSigner>(provisioner_key, provisioner.kid,
                                              provisioner.name, Clock::Real());

  AuthorityParts parts{{root}, intermediate, intermediate_key, {}};
  parts.config.dns_names = {kCaName};
  parts.config.provisioners = {provisioner};
  MAYFLY_ASSIGN_OR_RETURN(
      std::unique_ptr<Authority> authority,
      Authority::FromParts(std::move(parts), NewMemoryStore(), Clock::Real()));
  MAYFLY_ASSIGN_OR_RETURN(std::string audience, SignAudience(kCaUrl));
  return std::unique_ptr<LeafCa>(
      new LeafCa(std::move(root), std::move(authority), std::move(signer),
                 std::move(audience)));
}

absl::StatusOr<Leaf> LeafCa::Issue(const std::string& name) const {
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  CsrOptions csr_options;
  csr_options.common_name = name;
  csr_options.sans = {name};
  MAYFLY_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::Create(key, csr_options));
  TokenRequest token;
  token.subject = name;
  token.audience = audience_;
  token.sans = {name};
  token.root_fingerprint = root_.FingerprintHex();
  MAYFLY_ASSIGN_OR_RETURN(std::string ott, signer_->Sign(token));
  SignOptions validity;
  validity.not_after = "10m";
  MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                          authority_->Sign(csr, ott, validity));
  return Leaf{std::move(issued.chain), std::move(key)};
}

// Replace issues a new leaf for `name` and makes it `credentials`' current
// one.
absl::Status Replace(const LeafCa& ca, const std::string& name,
                     RotatingCredentials& credentials) {
  MAYFLY_ASSIGN_OR_RETURN(Leaf leaf, ca.Issue(name));
  return credentials.Set(std::move(leaf.chain), std::move(leaf.key));
}

// ---------------------------------------------------------------------------
// What the threads saw.

enum class Side { kClient, kServer, kRotator };

// Recorder collects the counts of every thread. Thread-safe. One mutex is
// enough: it is taken a few times per handshake, which costs far less than
// the handshake.
class Recorder {
 public:
  void Attempted() {
    absl::MutexLock lock(&mu_);
    result_.handshakes++;
  }

  // ClientCompleted records a connection a client finished, and the serial
  // of the server certificate it was given.
  void ClientCompleted(bool mtls, std::string server_serial) {
    absl::MutexLock lock(&mu_);
    (mtls ? result_.mtls_handshakes : result_.server_auth_handshakes)++;
    server_serials_.insert(std::move(server_serial));
  }

  // ServerSawClient records the serial of a client certificate the mTLS
  // listener accepted.
  void ServerSawClient(std::string client_serial) {
    absl::MutexLock lock(&mu_);
    client_serials_.insert(std::move(client_serial));
  }

  void Rotated() {
    absl::MutexLock lock(&mu_);
    result_.rotations++;
  }

  // Failed counts a failure of `side`; `reason` names the thread and step.
  void Failed(Side side, std::string reason) {
    absl::MutexLock lock(&mu_);
    switch (side) {
      case Side::kClient:
        result_.client_failures++;
        result_.failed_handshakes++;
        break;
      case Side::kServer:
        result_.server_failures++;
        result_.failed_handshakes++;
        break;
      case Side::kRotator:
        result_.rotation_failures++;
        break;
    }
    if (result_.first_failure.empty()) {
      result_.first_failure = reason;
    }
    std::map<std::string, uint64_t>& reasons = result_.failure_reasons;
    if (reasons.count(reason) == 0 && reasons.size() >= kMaxReasons) {
      reason = kOtherReason;
    }
    reasons[reason]++;
  }

  RotationLoadResult Result() const {
    absl::MutexLock lock(&mu_);
    RotationLoadResult result = result_;
    result.distinct_server_serials_seen = server_serials_.size();
    result.distinct_client_serials_seen = client_serials_.size();
    return result;
  }

 private:
  mutable absl::Mutex mu_;
  RotationLoadResult result_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> server_serials_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> client_serials_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// Sockets and TLS I/O.

// Socket owns a file descriptor.
class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_;
};

std::string ErrnoFailure(absl::string_view step, int error) {
  return absl::StrCat(step, ": ", std::strerror(error));
}

// SslFailure describes why an SSL call on `ssl` that returned `ret` failed,
// from BoringSSL's error queue (which it then clears) or `saved_errno`.
std::string SslFailure(absl::string_view step, const SSL* ssl, int ret,
                       int saved_errno) {
  int code = SSL_get_error(ssl, ret);
  uint32_t packed = ERR_peek_error();
  std::string detail;
  if (packed != 0) {
    const char* reason = ERR_reason_error_string(packed);
    if (reason != nullptr) {
      detail = reason;
    } else {
      char buf[160];
      ERR_error_string_n(packed, buf, sizeof(buf));
      detail = buf;
    }
  } else if (code == SSL_ERROR_ZERO_RETURN) {
    detail = "the peer closed the connection (close_notify)";
  } else if (code == SSL_ERROR_SYSCALL) {
    // A receive or send timeout shows up here as EAGAIN.
    detail = ret == 0 || saved_errno == 0 ? "unexpected end of stream"
                                          : std::strerror(saved_errno);
  } else {
    detail = absl::StrCat("SSL_get_error ", code);
  }
  ERR_clear_error();
  return absl::StrCat(step, ": ", detail);
}

// SetTimeouts bounds every send, receive and connect on `fd`.
bool SetTimeouts(int fd, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(timeout);
  return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
         setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

// WriteAll writes `data` on `ssl`; "" or the failure.
std::string WriteAll(SSL* ssl, absl::string_view data) {
  ERR_clear_error();
  int r = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
  int saved_errno = errno;
  if (r != static_cast<int>(data.size())) {
    return SslFailure("write", ssl, r, saved_errno);
  }
  return "";
}

// ReadExactly reads `want` from `ssl`; "" or the failure (also for other
// bytes than `want`).
std::string ReadExactly(SSL* ssl, absl::string_view want) {
  std::string got(want.size(), '\0');
  size_t have = 0;
  while (have < want.size()) {
    ERR_clear_error();
    int r = SSL_read(ssl, &got[have], static_cast<int>(want.size() - have));
    int saved_errno = errno;
    if (r <= 0) {
      return SslFailure("read", ssl, r, saved_errno);
    }
    have += static_cast<size_t>(r);
  }
  if (got != want) {
    return absl::StrCat("read: expected \"", want, "\", got \"",
                        absl::CHexEscape(got), "\"");
  }
  return "";
}

// ---------------------------------------------------------------------------
// One connection, each side.

// ClientExchange runs the client side of one connection on `fd`: a full
// handshake, "ping", "pong", close_notify both ways. On success returns ""
// and sets `server_serial` to the serial of the certificate the server
// presented; otherwise returns the failure.
std::string ClientExchange(SSL_CTX* ctx, int fd, std::string* server_serial) {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  if (ssl == nullptr || !SSL_set_fd(ssl.get(), fd) ||
      !SSL_set_tlsext_host_name(ssl.get(), kServerName)) {
    ERR_clear_error();
    return "setup: cannot make the SSL object";
  }
  ERR_clear_error();
  int r = SSL_connect(ssl.get());
  int saved_errno = errno;
  if (r != 1) {
    return SslFailure("handshake", ssl.get(), r, saved_errno);
  }
  if (SSL_session_reused(ssl.get())) {
    return "handshake: session resumed (expected a full handshake)";
  }
  absl::StatusOr<std::vector<Certificate>> peer = PeerCertificates(ssl.get());
  if (!peer.ok() || peer->empty()) {
    return "handshake: no server certificate";
  }
  // In TLS 1.3 the client finishes before the server has judged its
  // certificate; the server's "pong" proves that it accepted it.
  std::string failure = WriteAll(ssl.get(), kPing);
  if (failure.empty()) {
    failure = ReadExactly(ssl.get(), kPong);
  }
  if (!failure.empty()) {
    return failure;
  }
  // Send close_notify, then wait for the server's.
  ERR_clear_error();
  r = SSL_shutdown(ssl.get());
  if (r == 0) {
    r = SSL_shutdown(ssl.get());
  }
  saved_errno = errno;
  if (r != 1) {
    return SslFailure("close", ssl.get(), r, saved_errno);
  }
  *server_serial = peer->front().SerialDecimal();
  return "";
}

// ServeExchange runs the server side of one connection on `fd`. On success
// returns "" and, when `mtls`, sets `client_serial` to the serial of the
// certificate the client presented; otherwise returns the failure.
std::string ServeExchange(SSL_CTX* ctx, int fd, bool mtls,
                          std::string* client_serial) {
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx));
  if (ssl == nullptr || !SSL_set_fd(ssl.get(), fd)) {
    ERR_clear_error();
    return "setup: cannot make the SSL object";
  }
  ERR_clear_error();
  int r = SSL_accept(ssl.get());
  int saved_errno = errno;
  if (r != 1) {
    return SslFailure("handshake", ssl.get(), r, saved_errno);
  }
  if (SSL_session_reused(ssl.get())) {
    return "handshake: session resumed (expected a full handshake)";
  }
  if (mtls) {
    absl::StatusOr<std::vector<Certificate>> peer = PeerCertificates(ssl.get());
    if (!peer.ok() || peer->empty()) {
      return "handshake: no client certificate";
    }
    *client_serial = peer->front().SerialDecimal();
  }
  std::string failure = ReadExactly(ssl.get(), kPing);
  if (failure.empty()) {
    failure = WriteAll(ssl.get(), kPong);
  }
  if (!failure.empty()) {
    return failure;
  }
  // Wait for the client's close_notify, so that nothing is left unread
  // when the socket closes, then answer with ours.
  char byte;
  ERR_clear_error();
  r = SSL_read(ssl.get(), &byte, 1);
  saved_errno = errno;
  if (r != 0 || SSL_get_error(ssl.get(), r) != SSL_ERROR_ZERO_RETURN) {
    return r > 0 ? std::string("close: data after the exchange")
                 : SslFailure("close", ssl.get(), r, saved_errno);
  }
  r = SSL_shutdown(ssl.get());
  saved_errno = errno;
  if (r != 1) {
    return SslFailure("close", ssl.get(), r, saved_errno);
  }
  return "";
}

// Dial connects to 127.0.0.1:`port`; "" or the failure.
std::string Dial(uint16_t port, absl::Duration timeout, Socket* out) {
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) {
    return ErrnoFailure("socket", errno);
  }
  int one = 1;
  if (!SetTimeouts(s.get(), timeout) ||
      setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return ErrnoFailure("setsockopt", errno);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s.get(), reinterpret_cast<const sockaddr*>(&addr),
              sizeof(addr)) != 0) {
    return ErrnoFailure("connect", errno);
  }
  *out = std::move(s);
  return "";
}

// CloseAbortively closes `s` with a reset. Only used once both
// close_notify have crossed, so nothing is lost: it spares the client's
// ports the TIME_WAIT state, which tens of thousands of connections a
// minute would otherwise exhaust.
void CloseAbortively(Socket& s) {
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  setsockopt(s.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  s.reset();
}

// ---------------------------------------------------------------------------
// Listeners and threads.

// Listener is a TCP socket listening on 127.0.0.1 on a port of the
// system's choosing.
struct Listener {
  Socket socket;
  uint16_t port = 0;
};

absl::StatusOr<Listener> Listen() {
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) {
    return absl::InternalError(ErrnoFailure("socket", errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) !=
          0 ||
      listen(s.get(), 64) != 0 ||
      getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::InternalError(ErrnoFailure("listen on 127.0.0.1", errno));
  }
  return Listener{std::move(s), ntohs(addr.sin_port)};
}

// Serve accepts and serves connections on `listener`, one at a time (each
// listener has one client), until `stop` is set.
void Serve(const Listener& listener, SSL_CTX* ctx, bool mtls,
           absl::Duration timeout, const std::atomic<bool>& stop,
           Recorder& recorder) {
  const char* name = mtls ? "mtls server: " : "server-auth server: ";
  while (!stop.load(std::memory_order_acquire)) {
    pollfd p{listener.socket.get(), POLLIN, 0};
    int n = poll(&p, 1, kAcceptPollMillis);
    if (n <= 0) {
      continue;  // timeout (look at `stop` again) or EINTR
    }
    Socket conn(accept4(listener.socket.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
      int error = errno;
      if (error != EAGAIN && error != EINTR && error != ECONNABORTED) {
        recorder.Failed(Side::kServer,
                        absl::StrCat(name, ErrnoFailure("accept", error)));
      }
      continue;
    }
    if (!SetTimeouts(conn.get(), timeout)) {
      recorder.Failed(Side::kServer,
                      absl::StrCat(name, ErrnoFailure("setsockopt", errno)));
      continue;
    }
    std::string client_serial;
    std::string failure = ServeExchange(ctx, conn.get(), mtls, &client_serial);
    if (!failure.empty()) {
      recorder.Failed(Side::kServer, absl::StrCat(name, failure));
    } else if (mtls) {
      recorder.ServerSawClient(std::move(client_serial));
    }
  }
}

// Connect makes connections to `port` one after the other until
// `deadline`.
void Connect(uint16_t port, SSL_CTX* ctx, bool mtls, absl::Duration timeout,
             absl::Time deadline, Recorder& recorder) {
  const char* name = mtls ? "mtls client: " : "server-auth client: ";
  while (Clock::Real().Now() < deadline) {
    recorder.Attempted();
    Socket s;
    std::string server_serial;
    std::string failure = Dial(port, timeout, &s);
    if (failure.empty()) {
      failure = ClientExchange(ctx, s.get(), &server_serial);
    }
    if (!failure.empty()) {
      recorder.Failed(Side::kClient, absl::StrCat(name, failure));
      continue;
    }
    CloseAbortively(s);
    recorder.ClientCompleted(mtls, std::move(server_serial));
  }
}

// Rotate replaces the server's and the mTLS client's certificates every
// `every` until `stop` is notified. Ticks are counted from the start, so
// the time a rotation takes does not stretch the period; a tick missed
// because a rotation overran is skipped rather than made up in a burst.
void Rotate(const LeafCa& ca, RotatingCredentials& server,
            RotatingCredentials& client, absl::Duration every,
            absl::Notification& stop, Recorder& recorder) {
  absl::Time next = Clock::Real().Now() + every;
  while (!stop.WaitForNotificationWithTimeout(next - Clock::Real().Now())) {
    absl::Status status = Replace(ca, kServerName, server);
    if (status.ok()) {
      status = Replace(ca, kClientName, client);
    }
    if (status.ok()) {
      recorder.Rotated();
    } else {
      recorder.Failed(Side::kRotator,
                      absl::StrCat("rotator: ", status.ToString()));
    }
    absl::Time now = Clock::Real().Now();
    next += every;
    if (next < now) {
      next = now;
    }
  }
}

// RefusesAnonymousClient runs one connection from `anonymous_ctx` (no
// client certificate) to `mtls_ctx` over a socket pair and reports whether
// both sides failed it, as they must when the server requires a
// certificate.
bool RefusesAnonymousClient(SSL_CTX* anonymous_ctx, SSL_CTX* mtls_ctx,
                            absl::Duration timeout) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return false;
  }
  Socket client(fds[0]);
  Socket server(fds[1]);
  if (!SetTimeouts(client.get(), timeout) ||
      !SetTimeouts(server.get(), timeout)) {
    return false;
  }
  std::string server_failure;
  std::thread server_thread([&] {
    std::string serial;
    server_failure = ServeExchange(mtls_ctx, server.get(), true, &serial);
    server.reset();  // the client must not wait for more
  });
  std::string serial;
  std::string client_failure =
      ClientExchange(anonymous_ctx, client.get(), &serial);
  server_thread.join();
  return !server_failure.empty() && !client_failure.empty();
}

bssl::UniquePtr<SSL_CTX> NewContext() {
  return bssl::UniquePtr<SSL_CTX>(SSL_CTX_new(TLS_method()));
}

}  // namespace

double RotationLoadResult::HandshakesPerSecond() const {
  double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0
             ? static_cast<double>(server_auth_handshakes + mtls_handshakes) /
                   seconds
             : 0;
}

std::string RotationLoadResult::Summary() const {
  std::string s = absl::StrFormat(
      "rotation: %d handshakes (%d server-auth, %d mTLS completed) in %.1f s "
      "= %.0f/s; %d failed (%d client side, %d server side); %d rotations "
      "(%d failed); %d distinct server serials and %d distinct client "
      "serials seen; anonymous mTLS client %s",
      handshakes, server_auth_handshakes, mtls_handshakes,
      absl::ToDoubleSeconds(elapsed), HandshakesPerSecond(), failed_handshakes,
      client_failures, server_failures, rotations, rotation_failures,
      distinct_server_serials_seen, distinct_client_serials_seen,
      mtls_refuses_anonymous_client ? "refused" : "NOT refused");
  if (!first_failure.empty()) {
    absl::StrAppend(&s, "; first failure: ", first_failure);
  }
  return s;
}

absl::StatusOr<RotationLoadResult> RunRotationLoad(
    const RotationLoadOptions& options) {
  if (options.duration <= absl::ZeroDuration() ||
      options.rotate_every <= absl::ZeroDuration() ||
      options.io_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "rotation load: duration, rotate_every and io_timeout must be "
        "positive");
  }
  // A peer that resets a connection must surface as EPIPE from write, not
  // kill the process, as for any server.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 &&
      current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }

  // The CA, and the first certificates of the server and the mTLS client.
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<LeafCa> ca, LeafCa::Create());
  auto roots =
      std::make_shared<TrustedRoots>(std::vector<Certificate>{ca->root()});
  auto server_credentials = std::make_shared<RotatingCredentials>();
  auto client_credentials = std::make_shared<RotatingCredentials>();
  MAYFLY_RETURN_IF_ERROR(Replace(*ca, kServerName, *server_credentials));
  MAYFLY_RETURN_IF_ERROR(Replace(*ca, kClientName, *client_credentials));

  // Two server contexts share the server's credentials: one asks nothing
  // of clients, the other requires and verifies a client certificate. The
  // clients verify the server's chain and name against the CA root; only
  // the mTLS client has a certificate to present.
  bssl::UniquePtr<SSL_CTX> server_auth_ctx = NewContext();
  bssl::UniquePtr<SSL_CTX> mtls_ctx = NewContext();
  bssl::UniquePtr<SSL_CTX> anonymous_client_ctx = NewContext();
  bssl::UniquePtr<SSL_CTX> mtls_client_ctx = NewContext();
  if (server_auth_ctx == nullptr || mtls_ctx == nullptr ||
      anonymous_client_ctx == nullptr || mtls_client_ctx == nullptr) {
    return absl::InternalError("rotation load: SSL_CTX_new failed");
  }
  MAYFLY_RETURN_IF_ERROR(ConfigureServerContext(
      server_auth_ctx.get(), server_credentials, nullptr, ClientAuth::kNone));
  MAYFLY_RETURN_IF_ERROR(ConfigureServerContext(
      mtls_ctx.get(), server_credentials, roots, ClientAuth::kRequired));
  MAYFLY_RETURN_IF_ERROR(
      ConfigureClientContext(anonymous_client_ctx.get(), roots, nullptr));
  MAYFLY_RETURN_IF_ERROR(
      ConfigureClientContext(mtls_client_ctx.get(), roots, client_credentials));
  MAYFLY_ASSIGN_OR_RETURN(Listener server_auth_listener, Listen());
  MAYFLY_ASSIGN_OR_RETURN(Listener mtls_listener, Listen());

  Recorder recorder;
  const bool refuses_anonymous = RefusesAnonymousClient(
      anonymous_client_ctx.get(), mtls_ctx.get(), options.io_timeout);

  std::atomic<bool> stop_serving{false};
  absl::Notification stop_rotating;
  std::thread server_auth_server([&] {
    Serve(server_auth_listener, server_auth_ctx.get(), false,
          options.io_timeout, stop_serving, recorder);
  });
  std::thread mtls_server([&] {
    Serve(mtls_listener, mtls_ctx.get(), true, options.io_timeout, stop_serving,
          recorder);
  });
  std::thread rotator([&] {
    Rotate(*ca, *server_credentials, *client_credentials, options.rotate_every,
           stop_rotating, recorder);
  });

  const absl::Time start = Clock::Real().Now();
  const absl::Time deadline = start + options.duration;
  std::thread server_auth_client([&] {
    Connect(server_auth_listener.port, anonymous_client_ctx.get(), false,
            options.io_timeout, deadline, recorder);
  });
  std::thread mtls_client([&] {
    Connect(mtls_listener.port, mtls_client_ctx.get(), true, options.io_timeout,
            deadline, recorder);
  });

  // Each client finishes its last connection (both sides done with it, as
  // it waits for the server's close_notify) before it returns; only then
  // may the servers and the rotator stop.
  server_auth_client.join();
  mtls_client.join();
  const absl::Duration elapsed = Clock::Real().Now() - start;
  stop_rotating.Notify();
  stop_serving.store(true, std::memory_order_release);
  rotator.join();
  server_auth_server.join();
  mtls_server.join();

  RotationLoadResult result = recorder.Result();
  result.elapsed = elapsed;
  result.mtls_refuses_anonymous_client = refuses_anonymous;
  return result;
}

}  // namespace testing
}  // namespace mayfly

// https_load: drives a step-ca compatible CA (mayfly-ca or step-ca itself)
// over HTTPS with POST /sign or mTLS POST /renew and reports throughput and
// latency per concurrency level.
//
//   https_load --ca-url https://127.0.0.1:9443 --config ca.json
//              --password-file pw --mode sign --connections 1,4,16,64
//              --duration 10 --warmup 1 --out sign.json
//
// What it measures, and what it keeps out of the measurement:
// - One thread per connection, each with one kept-alive TLS connection
//   opened at the start of the warm-up. A connection the server closes is
//   reopened inside the timed loop, and that handshake counts in the
//   request's latency, because a client of that server would pay it.
// - Sign: every token (they are single use) and every CSR is made before a
//   level starts, just before it so the tokens are fresh, and the request
//   bytes are ready to write. The client does no signing while timed.
// - Renew: one certificate per connection is signed first (untimed); each
//   connection then presents its certificate and renews it over and over.
// - Latency runs from writing a request to reading the last byte of its
//   response. A level runs `warmup` seconds whose requests are not counted,
//   then `duration` seconds; throughput is the number of 201 answers that
//   completed in that window divided by its length, p50/p99/max are over
//   the same answers.
//
// The token budget of a sign level is bounded (--max-rate per second of the
// level, or less when earlier levels showed the server slower). If it runs
// out before the time does, the window ends at that moment and the result
// says "budget_exhausted": the figures stay valid over a shorter window.
//
// Only loopback addresses are accepted: this is a benchmark, not a tool to
// load someone else's server.
//
// The output is one JSON object: {"ca_url":..., "label":..., "results":
// [{"mode","connections","requests","errors","reconnects","seconds",
// "per_s","p50_ms","p99_ms","max_ms","budget_exhausted"}, ...]}.
// benchmarks/https_bench.py runs it against both CAs.
//
// --mode mix (benchmarks/soak.py) is a steady mixed load instead of a
// throughput curve: one level of --connections, for --duration seconds (no
// warm-up), at a fixed --rate (requests per second; 0 = as fast as the
// server answers, to find its saturation), each request drawn by the --mix
// weights (default sign=70,renew=25,revoke=5):
// - sign: POST /sign with a token minted ahead by a producer thread (a
//   bounded queue, so tokens stay fresh over long runs) and a CSR made
//   before the run; the certificate joins the connection's pool;
// - renew: mTLS POST /renew of a certificate of the pool, on a new
//   connection presenting it (as a real client renews); the new
//   certificate replaces it. One renew in ten instead presents a
//   certificate revoked earlier: 401 is the expected answer;
// - revoke: POST /revoke with a revoke token for a certificate of the
//   pool (or, one time in three, for the one it was renewed from: its
//   renewed descendant is then revoked by lineage).
// Answers are counted as ok, expected refusals (401 for a revoked
// certificate) or unexpected errors (anything else, transport failures
// included). After the run every acknowledged revocation is checked: each
// revoked certificate (and each descendant revoked by lineage) must be
// refused renewal with 401. The output is {"ca_url", "label", "mix": {...}}
// (see MixResultJson).

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "internal/json.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/config.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/status.h"
#include "mayfly/token.h"
#include "openssl/err.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace mayfly {
namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr char kUsage[] =
    "usage: https_load --ca-url https://127.0.0.1:PORT --config CA_JSON\n"
    "                  --password-file FILE [--provisioner NAME] [--root "
    "FILE]\n"
    "                  --mode sign|renew [--connections 1,4,16,64]\n"
    "                  [--duration SECONDS] [--warmup SECONDS]\n"
    "                  [--max-rate PER_SECOND] [--label TEXT] [--out FILE]\n"
    "       https_load ... --mode mix [--mix sign=70,renew=25,revoke=5]\n"
    "                  [--rate PER_SECOND (0: unpaced)] [--connections N]\n"
    "                  [--duration SECONDS] [--label TEXT] [--out FILE]\n";

// Responses larger than this are refused: a CA answers a few KiB.
constexpr size_t kMaxResponseBytes = 1 << 20;
// Socket timeouts, so a server that stops answering ends the run with an
// error instead of hanging it.
constexpr int kSocketTimeoutSeconds = 30;
// Bounds of the command line, to keep a typo from exhausting the machine.
constexpr int kMaxConnections = 512;
constexpr double kMaxSeconds = 3600;
constexpr double kMaxRateBound = 100000;

double Seconds(SteadyClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string SslErrorString() {
  uint32_t err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) {
    return "no TLS error queued";
  }
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return buf;
}

// Target is where the CA listens, from its URL.
struct Target {
  std::string host;  // an IPv4 loopback literal
  int port = 443;
  std::string host_header;
  sockaddr_in addr{};
};

absl::StatusOr<Target> ParseTarget(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ca-url ", url, ": want https://HOST:PORT"));
  }
  rest = rest.substr(0, rest.find('/'));
  Target t;
  t.host_header = std::string(rest);
  size_t colon = rest.rfind(':');
  t.host = std::string(rest.substr(0, colon));
  if (colon != absl::string_view::npos &&
      (!absl::SimpleAtoi(rest.substr(colon + 1), &t.port) || t.port <= 0 ||
       t.port > 65535)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ca-url ", url, ": bad port"));
  }
  t.addr.sin_family = AF_INET;
  t.addr.sin_port = htons(static_cast<uint16_t>(t.port));
  if (inet_pton(AF_INET, t.host.c_str(), &t.addr.sin_addr) != 1 ||
      (ntohl(t.addr.sin_addr.s_addr) >> 24) != 127) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--ca-url ", url,
        ": the host must be an IPv4 loopback address such as 127.0.0.1"));
  }
  return t;
}

// ClientCert is what a renew connection presents.
struct ClientCert {
  Certificate leaf;
  std::vector<Certificate> chain;  // intermediates
  PrivateKey key;
};

struct Response {
  int status = 0;
  std::string body;
  bool close = false;  // the server will close the connection
};

// Connection is one blocking TLS connection speaking HTTP/1.1 with
// keep-alive. Not thread-safe; each load thread owns one.
class Connection {
 public:
  Connection(const Target& target, SSL_CTX* ctx, const ClientCert* cert)
      : target_(target), ctx_(ctx), cert_(cert) {}
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open() const { return ssl_ != nullptr; }

  // Open connects and completes the TLS handshake, verifying the server
  // against the root in ctx and the target address.
  absl::Status Open() {
    Close();
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{kSocketTimeoutSeconds, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&target_.addr),
                sizeof(target_.addr)) != 0) {
      absl::Status s = absl::UnavailableError(absl::StrCat(
          "connect to ", target_.host_header, ": ", strerror(errno)));
      Close();
      return s;
    }
    ssl_.reset(SSL_new(ctx_));
    if (ssl_ == nullptr || !SSL_set_fd(ssl_.get(), fd_)) {
      Close();
      return absl::InternalError("SSL_new failed");
    }
    if (cert_ != nullptr) {
      if (!SSL_use_certificate(ssl_.get(), cert_->leaf.native()) ||
          !SSL_use_PrivateKey(ssl_.get(), cert_->key.native())) {
        Close();
        return absl::InternalError(
            absl::StrCat("client certificate: ", SslErrorString()));
      }
      for (const Certificate& c : cert_->chain) {
        if (!SSL_add1_chain_cert(ssl_.get(), c.native())) {
          Close();
          return absl::InternalError(
              absl::StrCat("client chain: ", SslErrorString()));
        }
      }
    }
    if (SSL_connect(ssl_.get()) != 1) {
      const int saved_errno = errno;
      const uint32_t err = ERR_peek_error();
      std::string why;
      if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
          ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        why = absl::StrCat(
            "certificate verification: ",
            X509_verify_cert_error_string(SSL_get_verify_result(ssl_.get())));
        ERR_clear_error();
      } else if (err == 0) {
        why =
            saved_errno == EAGAIN || saved_errno == EWOULDBLOCK
                ? absl::StrCat("no answer within ", kSocketTimeoutSeconds, " s")
                : (saved_errno != 0 ? strerror(saved_errno)
                                    : "connection closed");
      } else {
        why = SslErrorString();
      }
      Close();
      return absl::UnavailableError(
          absl::StrCat("TLS handshake with ", target_.host_header, ": ", why));
    }
    in_.clear();
    return absl::OkStatus();
  }

  void Close() {
    ssl_.reset();
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    in_.clear();
  }

  // RoundTrip writes one complete request and reads its response. On a
  // transport error the connection is closed.
  absl::StatusOr<Response> RoundTrip(absl::string_view request) {
    if (!open()) {
      return absl::FailedPreconditionError("connection is closed");
    }
    absl::Status s = Write(request);
    if (!s.ok()) {
      Close();
      return s;
    }
    absl::StatusOr<Response> r = ReadResponse();
    if (!r.ok() || r->close) {
      Close();
    }
    return r;
  }

 private:
  absl::Status Write(absl::string_view data) {
    while (!data.empty()) {
      int n =
          SSL_write(ssl_.get(), data.data(),
                    static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
      if (n <= 0) {
        return absl::UnavailableError(
            absl::StrCat("write: ", SslErrorString()));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // ReadMore appends what the server sent next to in_.
  absl::Status ReadMore() {
    if (in_.size() >= kMaxResponseBytes) {
      return absl::ResourceExhaustedError("response too large");
    }
    char buf[16384];
    int n = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (n <= 0) {
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_ZERO_RETURN ||
          (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
        ERR_clear_error();
        return absl::UnavailableError("server closed the connection");
      }
      return absl::UnavailableError(absl::StrCat("read: ", SslErrorString()));
    }
    in_.append(buf, static_cast<size_t>(n));
    return absl::OkStatus();
  }

  // Ensure reads until in_ holds at least `n` bytes.
  absl::Status Ensure(size_t n) {
    while (in_.size() < n) {
      MAYFLY_RETURN_IF_ERROR(ReadMore());
    }
    return absl::OkStatus();
  }

  // Line reads up to the next CRLF starting at *pos and moves past it.
  absl::StatusOr<std::string> Line(size_t* pos) {
    while (true) {
      size_t end = in_.find("\r\n", *pos);
      if (end != std::string::npos) {
        std::string line = in_.substr(*pos, end - *pos);
        *pos = end + 2;
        return line;
      }
      MAYFLY_RETURN_IF_ERROR(ReadMore());
    }
  }

  absl::StatusOr<Response> ReadResponse() {
    size_t header_end;
    while ((header_end = in_.find("\r\n\r\n")) == std::string::npos) {
      MAYFLY_RETURN_IF_ERROR(ReadMore());
    }
    std::vector<absl::string_view> lines =
        absl::StrSplit(absl::string_view(in_).substr(0, header_end), "\r\n");
    Response r;
    std::vector<absl::string_view> status_line =
        absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
    if (status_line.size() < 2 || !absl::StartsWith(status_line[0], "HTTP/") ||
        !absl::SimpleAtoi(status_line[1], &r.status)) {
      return absl::DataLossError(
          absl::StrCat("bad status line: ", lines[0].substr(0, 80)));
    }
    r.close = status_line[0] == "HTTP/1.0";
    std::optional<size_t> content_length;
    bool chunked = false;
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      if (colon == absl::string_view::npos) {
        continue;
      }
      std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      std::string value = absl::AsciiStrToLower(
          absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      if (name == "content-length") {
        size_t n;
        if (!absl::SimpleAtoi(value, &n) || n > kMaxResponseBytes) {
          return absl::DataLossError("bad Content-Length");
        }
        content_length = n;
      } else if (name == "transfer-encoding") {
        chunked = absl::StrContains(value, "chunked");
      } else if (name == "connection") {
        if (value == "close") {
          r.close = true;
        } else if (value == "keep-alive") {
          r.close = false;
        }
      }
    }
    size_t pos = header_end + 4;
    if (chunked) {
      while (true) {
        MAYFLY_ASSIGN_OR_RETURN(std::string size_line, Line(&pos));
        size_t size;
        absl::string_view hex = size_line;
        hex = hex.substr(0, hex.find(';'));
        if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(hex), &size) ||
            size > kMaxResponseBytes) {
          return absl::DataLossError("bad chunk size");
        }
        if (size == 0) {
          // Trailers, then the empty line.
          while (true) {
            MAYFLY_ASSIGN_OR_RETURN(std::string trailer, Line(&pos));
            if (trailer.empty()) {
              break;
            }
          }
          break;
        }
        MAYFLY_RETURN_IF_ERROR(Ensure(pos + size + 2));
        r.body.append(in_, pos, size);
        pos += size + 2;
        if (r.body.size() > kMaxResponseBytes) {
          return absl::ResourceExhaustedError("response too large");
        }
      }
    } else if (content_length.has_value()) {
      MAYFLY_RETURN_IF_ERROR(Ensure(pos + *content_length));
      r.body = in_.substr(pos, *content_length);
      pos += *content_length;
    } else if (r.status >= 200 && r.status != 204 && r.status != 304) {
      // No length: the body runs to the end of the connection.
      while (ReadMore().ok()) {
      }
      r.body = in_.substr(pos);
      pos = in_.size();
      r.close = true;
    }
    in_.erase(0, pos);
    return r;
  }

  const Target& target_;
  SSL_CTX* ctx_;
  const ClientCert* cert_;
  int fd_ = -1;
  bssl::UniquePtr<SSL> ssl_;
  std::string in_;  // read but not yet parsed
};

// Options from the command line.
struct Options {
  std::string ca_url;
  std::string config_path;
  std::string password_file;
  std::string provisioner;
  std::string root_path;
  std::string mode;
  std::vector<int> connections = {1, 4, 16, 64};
  double duration = 10;
  double warmup = 1;
  double max_rate = 5000;
  std::string label;
  std::string out;
  // --mode mix: weights of sign, renew and revoke, and the paced rate
  // (0: as fast as the server answers).
  int mix_sign = 70;
  int mix_renew = 25;
  int mix_revoke = 5;
  double rate = 0;
};

// ParseMix reads "sign=70,renew=25,revoke=5" (any subset; missing ones are
// 0) into `o`.
absl::Status ParseMix(const std::string& value, Options* o) {
  o->mix_sign = o->mix_renew = o->mix_revoke = 0;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    std::vector<absl::string_view> kv = absl::StrSplit(part, '=');
    int weight = 0;
    if (kv.size() != 2 || !absl::SimpleAtoi(kv[1], &weight) || weight < 0 ||
        weight > 1000) {
      return absl::InvalidArgumentError(
          absl::StrCat("--mix ", value, ": want sign=N,renew=N,revoke=N"));
    }
    if (kv[0] == "sign") {
      o->mix_sign = weight;
    } else if (kv[0] == "renew") {
      o->mix_renew = weight;
    } else if (kv[0] == "revoke") {
      o->mix_revoke = weight;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--mix: unknown operation ", kv[0]));
    }
  }
  if (o->mix_sign + o->mix_renew + o->mix_revoke == 0) {
    return absl::InvalidArgumentError("--mix: every weight is 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ParseBoundedDouble(const std::string& flag,
                                          const std::string& value, double lo,
                                          double hi) {
  double d;
  if (!absl::SimpleAtod(value, &d) || !std::isfinite(d) || d < lo || d > hi) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--%s %s: want a number in [%g, %g]", flag, value, lo, hi));
  }
  return d;
}

absl::StatusOr<Options> ParseOptions(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      return absl::CancelledError("help");
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument ", arg));
    }
    std::string name, value;
    size_t eq = arg.find('=');
    if (eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else if (i + 1 < argc) {
      name = std::string(arg);
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", arg, " needs a value"));
    }
    values[name] = value;
  }
  for (const auto& [name, value] : values) {
    if (name == "ca-url") {
      o.ca_url = value;
    } else if (name == "config") {
      o.config_path = value;
    } else if (name == "password-file") {
      o.password_file = value;
    } else if (name == "provisioner") {
      o.provisioner = value;
    } else if (name == "root") {
      o.root_path = value;
    } else if (name == "mode") {
      if (value != "sign" && value != "renew" && value != "mix") {
        return absl::InvalidArgumentError("--mode: want sign, renew or mix");
      }
      o.mode = value;
    } else if (name == "connections") {
      o.connections.clear();
      for (absl::string_view part : absl::StrSplit(value, ',')) {
        int c;
        if (!absl::SimpleAtoi(part, &c) || c < 1 || c > kMaxConnections) {
          return absl::InvalidArgumentError(
              absl::StrCat("--connections: want a comma-separated list of 1..",
                           kMaxConnections));
        }
        o.connections.push_back(c);
      }
    } else if (name == "duration") {
      MAYFLY_ASSIGN_OR_RETURN(
          o.duration, ParseBoundedDouble(name, value, 0.1, kMaxSeconds));
    } else if (name == "warmup") {
      MAYFLY_ASSIGN_OR_RETURN(o.warmup,
                              ParseBoundedDouble(name, value, 0, kMaxSeconds));
    } else if (name == "max-rate") {
      MAYFLY_ASSIGN_OR_RETURN(
          o.max_rate, ParseBoundedDouble(name, value, 1, kMaxRateBound));
    } else if (name == "mix") {
      MAYFLY_RETURN_IF_ERROR(ParseMix(value, &o));
    } else if (name == "rate") {
      MAYFLY_ASSIGN_OR_RETURN(
          o.rate, ParseBoundedDouble(name, value, 0, kMaxRateBound));
    } else if (name == "label") {
      o.label = value;
    } else if (name == "out") {
      o.out = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  if (o.ca_url.empty() || o.config_path.empty() || o.password_file.empty() ||
      o.mode.empty()) {
    return absl::InvalidArgumentError(
        "--ca-url, --config, --password-file and --mode are required");
  }
  if (o.mode == "mix" && o.connections.size() != 1) {
    if (values.count("connections") > 0) {
      return absl::InvalidArgumentError(
          "--mode mix runs one level: give one --connections value");
    }
    o.connections = {16};
  }
  if (o.mode != "mix" &&
      (values.count("mix") > 0 || values.count("rate") > 0)) {
    return absl::InvalidArgumentError("--mix and --rate need --mode mix");
  }
  return o;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// LevelResult is what one concurrency level measured.
struct LevelResult {
  std::string mode;
  int connections = 0;
  int64_t requests = 0;  // 201 answers completed in the window
  int64_t errors = 0;    // other answers and transport errors, whole level
  int64_t reconnects = 0;
  double seconds = 0;  // the window's length
  double per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  bool budget_exhausted = false;
  std::string first_error;
};

std::string ResultJson(const LevelResult& r) {
  return absl::StrFormat(
      "{\"mode\": %s, \"connections\": %d, \"requests\": %d, \"errors\": %d, "
      "\"reconnects\": %d, \"seconds\": %.3f, \"per_s\": %.1f, "
      "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
      "\"budget_exhausted\": %s, \"first_error\": %s}",
      internal::JsonString(r.mode), r.connections, r.requests, r.errors,
      r.reconnects, r.seconds, r.per_s, r.p50_ms, r.p99_ms, r.max_ms,
      r.budget_exhausted ? "true" : "false",
      internal::JsonString(r.first_error));
}

// Percentile of sorted samples, nearest rank.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// OpCount tallies the answers to one operation of the mix.
struct OpCount {
  int64_t ok = 0;          // 201 (sign, renew) or 200 (revoke)
  int64_t expected = 0;    // refusals the load asked for (renew of revoked)
  int64_t unexpected = 0;  // anything else, transport failures included
};

// MixResult is what a --mode mix run saw.
struct MixResult {
  int connections = 0;
  double target_rate = 0;  // 0: unpaced
  double seconds = 0;      // how long requests were sent
  int64_t requests = 0;    // answered or failed, all operations
  OpCount sign, renew, revoke;
  int64_t reconnects = 0;   // keep-alive connections the server closed
  double max_lag_ms = 0;    // worst delay of a request behind its schedule
  int64_t revocations = 0;  // acknowledged (200)
  int64_t revoked_certificates = 0;    // those, plus descendants by lineage
  int64_t revocations_enforced = 0;    // refused renewal (401) at the end
  int64_t revocations_unenforced = 0;  // renewed (201) at the end: a bug
  int64_t verify_errors = 0;           // other answers or failures of the check
  std::vector<double> latencies_ms;    // of ok and expected answers
  std::vector<std::string> first_errors;

  int64_t unexpected() const {
    return sign.unexpected + renew.unexpected + revoke.unexpected +
           revocations_unenforced + verify_errors;
  }
};

std::string OpJson(const OpCount& c) {
  return absl::StrFormat(
      "{\"ok\": %d, \"expected_refusals\": %d, \"unexpected\": %d}", c.ok,
      c.expected, c.unexpected);
}

std::string MixResultJson(const MixResult& r) {
  std::string errors = "[";
  for (size_t i = 0; i < r.first_errors.size(); ++i) {
    absl::StrAppend(&errors, i > 0 ? ", " : "",
                    internal::JsonString(r.first_errors[i]));
  }
  errors += "]";
  return absl::StrFormat(
      "{\"connections\": %d, \"target_rate\": %.1f, \"seconds\": %.3f, "
      "\"requests\": %d, \"per_s\": %.1f, \"sign\": %s, \"renew\": %s, "
      "\"revoke\": %s, \"unexpected_errors\": %d, "
      "\"expected_refusals\": %d, \"reconnects\": %d, "
      "\"max_lag_ms\": %.1f, \"revocations\": %d, "
      "\"revoked_certificates\": %d, \"revocations_enforced\": %d, "
      "\"revocations_unenforced\": %d, \"verify_errors\": %d, "
      "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
      "\"first_errors\": %s}",
      r.connections, r.target_rate, r.seconds, r.requests,
      r.seconds > 0 ? r.requests / r.seconds : 0, OpJson(r.sign),
      OpJson(r.renew), OpJson(r.revoke), r.unexpected(),
      r.sign.expected + r.renew.expected + r.revoke.expected, r.reconnects,
      r.max_lag_ms, r.revocations, r.revoked_certificates,
      r.revocations_enforced, r.revocations_unenforced, r.verify_errors,
      Percentile(r.latencies_ms, 50), Percentile(r.latencies_ms, 99),
      r.latencies_ms.empty() ? 0 : r.latencies_ms.back(), errors);
}

// RequestQueue holds sign requests minted ahead by a producer thread, so
// no request waits for its token's signature, while the tokens stay
// fresh (at most `capacity` are made ahead).
class RequestQueue {
 public:
  RequestQueue(size_t capacity, std::function<std::string()> make)
      : capacity_(capacity), make_(std::move(make)) {}
  ~RequestQueue() { Stop(); }

  // Start fills the queue, then keeps it full on a thread.
  void Start() {
    for (size_t i = 0; i < capacity_; ++i) {
      ready_.push_back(make_());
    }
    producer_ = std::thread([this] { Produce(); });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (producer_.joinable()) {
      producer_.join();
    }
  }

  // Pop returns the next request, waiting for the producer if it is behind.
  std::string Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !ready_.empty() || stop_; });
    if (ready_.empty()) {
      lock.unlock();
      return make_();  // stopping: make it here
    }
    std::string request = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    cv_.notify_all();
    return request;
  }

 private:
  void Produce() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return ready_.size() < capacity_ || stop_; });
        if (stop_) {
          return;
        }
      }
      std::string request = make_();
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_.push_back(std::move(request));
      }
      cv_.notify_all();
    }
  }

  const size_t capacity_;
  const std::function<std::string()> make_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ready_;
  bool stop_ = false;
  std::thread producer_;
};

// Load holds what every level shares: the CA, the provisioner's signer and
// the client keys and CSRs.
class Load {
 public:
  static absl::StatusOr<std::unique_ptr<Load>> Create(const Options& o) {
    auto load = std::unique_ptr<Load>(new Load(o));
    MAYFLY_RETURN_IF_ERROR(load->Init());
    return load;
  }

  absl::StatusOr<LevelResult> RunLevel(int connections, double rate_guess);
  absl::StatusOr<MixResult> RunMix();

 private:
  explicit Load(const Options& o) : o_(o) {}

  absl::Status Init();
  std::string SignRequest(size_t csr_index) const;
  std::string RevokeRequest(const Certificate& leaf) const;
  absl::StatusOr<ClientCert> IssuedFrom(const std::string& body,
                                        const PrivateKey* key) const;
  std::string PostRequest(absl::string_view path, absl::string_view body) const;
  absl::Status EnsureClientCerts(int n);

  const Options& o_;
  Target target_;
  bssl::UniquePtr<SSL_CTX> ctx_;
  std::string audience_;
  std::string revoke_audience_;
  std::string root_fingerprint_;
  std::unique_ptr<TokenSigner> signer_;
  std::vector<PrivateKey> keys_;    // one per connection of the widest level
  std::vector<std::string> csrs_;   // their CSRs, PEM
  std::vector<std::string> names_;  // their subjects
  std::vector<ClientCert> client_certs_;  // renew mode
};

absl::Status Load::Init() {
  MAYFLY_ASSIGN_OR_RETURN(target_, ParseTarget(o_.ca_url));
  MAYFLY_ASSIGN_OR_RETURN(CaConfig config, LoadConfig(o_.config_path));
  MAYFLY_ASSIGN_OR_RETURN(std::string password, ReadFile(o_.password_file));
  // The first line, as step and mayfly-ca read password files.
  password = std::string(
      absl::StripSuffix(password.substr(0, password.find('\n')), "\r"));
  const Provisioner* prov = nullptr;
  for (const Provisioner& p : config.provisioners) {
    if (o_.provisioner.empty() || p.name == o_.provisioner) {
      prov = &p;
      break;
    }
  }
  if (prov == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(o_.config_path, " has no provisioner ",
                     o_.provisioner.empty() ? "at all" : o_.provisioner));
  }
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey prov_key, prov->DecryptKey(password));
  signer_ = std::make_unique<TokenSigner>(prov_key, prov->kid, prov->name,
                                          Clock::Real());
  MAYFLY_ASSIGN_OR_RETURN(audience_, SignAudience(o_.ca_url));
  MAYFLY_ASSIGN_OR_RETURN(revoke_audience_, RevokeAudience(o_.ca_url));

  std::string root_path = o_.root_path;
  if (root_path.empty()) {
    if (config.root.empty()) {
      return absl::InvalidArgumentError("no --root and no root in the config");
    }
    root_path = config.ResolvePath(config.root[0]);
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string root_pem, ReadFile(root_path));
  MAYFLY_ASSIGN_OR_RETURN(Certificate root, Certificate::FromPem(root_pem));
  root_fingerprint_ = root.FingerprintHex();

  ctx_.reset(SSL_CTX_new(TLS_method()));
  if (ctx_ == nullptr ||
      !SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION) ||
      !X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), root.native()) ||
      !X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx_.get()),
                                     target_.host.c_str())) {
    return absl::InternalError(
        absl::StrCat("TLS client context: ", SslErrorString()));
  }
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);

  int widest = *std::max_element(o_.connections.begin(), o_.connections.end());
  for (int i = 0; i < widest; ++i) {
    MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
    std::string name = absl::StrCat("load-", i, ".bench.internal");
    MAYFLY_ASSIGN_OR_RETURN(CertificateRequest csr,
                            CertificateRequest::Create(key, {name, {name}}));
    keys_.push_back(key);
    csrs_.push_back(csr.ToPem());
    names_.push_back(name);
  }
  if (o_.mode == "renew") {
    MAYFLY_RETURN_IF_ERROR(EnsureClientCerts(widest));
  }
  return absl::OkStatus();
}

std::string Load::PostRequest(absl::string_view path,
                              absl::string_view body) const {
  return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: ", target_.host_header,
                      "\r\nUser-Agent: mayfly-https-load\r\n"
                      "Content-Type: application/json\r\nContent-Length: ",
                      body.size(), "\r\n\r\n", body);
}

// SignRequest mints a fresh token (the only crypto of the request) and
// returns the whole request for the CSR at `csr_index`.
std::string Load::SignRequest(size_t csr_index) const {
  TokenRequest req;
  req.subject = names_[csr_index];
  req.audience = audience_;
  req.root_fingerprint = root_fingerprint_;
  absl::StatusOr<std::string> ott = signer_->Sign(req);
  if (!ott.ok()) {
    // The request is fixed and valid; failing here is a bug, so stop.
    std::cerr << "https_load: token: " << ott.status() << "\n";
    std::abort();
  }
  std::string body =
      absl::StrCat("{\"csr\":", internal::JsonString(csrs_[csr_index]),
                   ",\"ott\":", internal::JsonString(*ott),
                   ",\"notBefore\":\"\",\"notAfter\":\"\"}");
  return PostRequest("/sign", body);
}

// RevokeRequest returns a whole POST /revoke of `leaf` with a fresh revoke
// token.
std::string Load::RevokeRequest(const Certificate& leaf) const {
  const std::string serial = leaf.SerialDecimal();
  TokenRequest req;
  req.subject = serial;
  req.audience = revoke_audience_;
  req.root_fingerprint = root_fingerprint_;
  req.revoke = true;
  absl::StatusOr<std::string> ott = signer_->Sign(req);
  if (!ott.ok()) {
    std::cerr << "https_load: revoke token: " << ott.status() << "\n";
    std::abort();
  }
  std::string body = absl::StrCat(
      "{\"serial\":", internal::JsonString(serial),
      ",\"ott\":", internal::JsonString(*ott),
      ",\"reasonCode\":4,\"reason\":\"https_load\",\"passive\":true}");
  return PostRequest("/revoke", body);
}

// IssuedFrom reads the certificate of a sign or renew answer and pairs it
// with its key: `key`, or (NULL) the key of the CSR made for its subject.
// DataLoss if the certificate is not for that key.
absl::StatusOr<ClientCert> Load::IssuedFrom(const std::string& body,
                                            const PrivateKey* key) const {
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(body, "answer"));
  MAYFLY_ASSIGN_OR_RETURN(std::string crt,
                          internal::GetString(doc, "crt", "answer"));
  MAYFLY_ASSIGN_OR_RETURN(std::string ca,
                          internal::GetString(doc, "ca", "answer"));
  MAYFLY_ASSIGN_OR_RETURN(Certificate leaf, Certificate::FromPem(crt));
  MAYFLY_ASSIGN_OR_RETURN(Certificate inter, Certificate::FromPem(ca));
  if (key == nullptr) {
    const std::string cn = leaf.CommonName();
    for (size_t i = 0; i < names_.size() && key == nullptr; ++i) {
      if (names_[i] == cn) {
        key = &keys_[i];
      }
    }
  }
  if (key == nullptr || !leaf.public_key().Equals(key->public_key())) {
    return absl::DataLossError(
        "the CA answered a certificate for another name or key");
  }
  return ClientCert{leaf, {inter}, *key};
}

// EnsureClientCerts signs one certificate per connection over a single
// connection, before anything is timed.
absl::Status Load::EnsureClientCerts(int n) {
  Connection conn(target_, ctx_.get(), nullptr);
  MAYFLY_RETURN_IF_ERROR(conn.Open());
  for (int i = static_cast<int>(client_certs_.size()); i < n; ++i) {
    if (!conn.open()) {
      MAYFLY_RETURN_IF_ERROR(conn.Open());
    }
    MAYFLY_ASSIGN_OR_RETURN(Response r, conn.RoundTrip(SignRequest(i)));
    if (r.status != 201) {
      return absl::FailedPreconditionError(
          absl::StrCat("signing the client certificate: HTTP ", r.status, ": ",
                       r.body.substr(0, 300)));
    }
    MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                            internal::ParseJsonObject(r.body, "sign response"));
    MAYFLY_ASSIGN_OR_RETURN(std::string crt,
                            internal::GetString(doc, "crt", "sign response"));
    MAYFLY_ASSIGN_OR_RETURN(std::string ca,
                            internal::GetString(doc, "ca", "sign response"));
    MAYFLY_ASSIGN_OR_RETURN(Certificate leaf, Certificate::FromPem(crt));
    MAYFLY_ASSIGN_OR_RETURN(Certificate inter, Certificate::FromPem(ca));
    if (leaf.CommonName() != names_[i] ||
        !leaf.public_key().Equals(keys_[i].public_key())) {
      return absl::DataLossError(
          "the CA answered a certificate for another name or key");
    }
    client_certs_.push_back(ClientCert{leaf, {inter}, keys_[i]});
  }
  return absl::OkStatus();
}

absl::StatusOr<LevelResult> Load::RunLevel(int connections, double rate_guess) {
  LevelResult result;
  result.mode = o_.mode;
  result.connections = connections;
  const bool sign = o_.mode == "sign";

  // The requests, ready to write. Sign: one per token of the budget.
  std::vector<std::string> requests;
  size_t budget = 0;
  const TimePoint prepare_start = SteadyClock::now();
  if (sign) {
    budget =
        static_cast<size_t>(std::ceil(rate_guess * (o_.duration + o_.warmup))) +
        static_cast<size_t>(connections);
    requests.reserve(budget);
    for (size_t k = 0; k < budget; ++k) {
      requests.push_back(SignRequest(k % static_cast<size_t>(connections)));
    }
    std::cerr << absl::StrFormat(
        "https_load: %s c=%d: made %d tokens in %.2f s (untimed)\n", o_.label,
        connections, budget, Seconds(SteadyClock::now() - prepare_start));
  } else {
    requests.push_back(PostRequest("/renew", ""));
  }

  // A 201 answer: when it completed (seconds after the window start; may
  // be negative during the warm-up) and how long it took.
  struct Sample {
    double done_s;
    double latency_ms;
  };
  struct Worker {
    std::vector<Sample> samples;
    int64_t errors = 0;
    int64_t reconnects = 0;
    std::string first_error;
  };
  std::vector<Worker> workers(static_cast<size_t>(connections));
  std::atomic<size_t> next{0};
  std::atomic<bool> exhausted{false};
  // When the budget ran out (steady clock ticks), else max.
  std::atomic<int64_t> exhausted_at{INT64_MAX};

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  TimePoint window_start, window_end;

  // Each thread opens its connection when the warm-up starts, not before:
  // a server with a thread per connection and fewer threads than
  // connections handshakes only as its threads free up, so waiting for
  // every handshake first could wait forever. The first request of each
  // connection carries its handshake, in the warm-up when the server keeps
  // up; a later handshake (the server closed the connection) counts as a
  // reconnect.
  auto run = [&](size_t index) {
    Worker& w = workers[index];
    const ClientCert* cert = sign ? nullptr : &client_certs_[index];
    Connection conn(target_, ctx_.get(), cert);
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return started; });
    }
    bool first_connection = true;
    w.samples.reserve(65536);
    const TimePoint ws = window_start, we = window_end;
    // Bounded: by the clock, by the token budget, and by the connection
    // failing for good.
    while (true) {
      TimePoint begin = SteadyClock::now();
      if (begin >= we) {
        break;
      }
      const std::string* req = &requests[0];
      if (sign) {
        size_t k = next.fetch_add(1, std::memory_order_relaxed);
        if (k >= budget) {
          if (!exhausted.exchange(true)) {
            exhausted_at.store(begin.time_since_epoch().count());
          }
          break;
        }
        req = &requests[k];
      }
      if (!conn.open()) {
        if (!first_connection) {
          ++w.reconnects;
        }
        first_connection = false;
        absl::Status s = conn.Open();
        if (!s.ok()) {
          ++w.errors;
          if (w.first_error.empty()) {
            w.first_error = s.ToString();
          }
          break;  // the server is gone; no point spinning on it
        }
      }
      absl::StatusOr<Response> r = conn.RoundTrip(*req);
      TimePoint end = SteadyClock::now();
      if (!r.ok() || r->status != 201) {
        ++w.errors;
        if (w.first_error.empty()) {
          w.first_error = r.ok() ? absl::StrCat("HTTP ", r->status, ": ",
                                                r->body.substr(0, 300))
                                 : r.status().ToString();
        }
        continue;
      }
      if (end >= ws && end <= we) {
        w.samples.push_back(
            {Seconds(end - ws),
             std::chrono::duration<double, std::milli>(end - begin).count()});
      }
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back(run, i);
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    window_start =
        SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(o_.warmup));
    window_end =
        window_start + std::chrono::duration_cast<SteadyClock::duration>(
                           std::chrono::duration<double>(o_.duration));
    started = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) {
    t.join();
  }

  TimePoint end = window_end;
  if (exhausted.load()) {
    result.budget_exhausted = true;
    end = std::min(end, TimePoint(SteadyClock::duration(exhausted_at.load())));
    if (end <= window_start) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%d connections: the token budget (%d) ran out during the warm-up; "
          "raise --max-rate",
          connections, budget));
    }
  }
  // Answers after an early end of the window are not in it.
  const double limit_s = Seconds(end - window_start);
  std::vector<double> all;
  for (Worker& w : workers) {
    result.errors += w.errors;
    result.reconnects += w.reconnects;
    if (result.first_error.empty()) {
      result.first_error = w.first_error;
    }
    for (const Sample& s : w.samples) {
      if (s.done_s <= limit_s) {
        all.push_back(s.latency_ms);
      }
    }
  }
  std::sort(all.begin(), all.end());
  result.requests = static_cast<int64_t>(all.size());
  result.seconds = limit_s;
  result.per_s = result.requests / result.seconds;
  result.p50_ms = Percentile(all, 50);
  result.p99_ms = Percentile(all, 99);
  result.max_ms = all.empty() ? 0 : all.back();
  return result;
}

absl::StatusOr<MixResult> Load::RunMix() {
  MixResult result;
  const int connections = o_.connections.front();
  result.connections = connections;
  result.target_rate = o_.rate;
  const int total_weight = o_.mix_sign + o_.mix_renew + o_.mix_revoke;

  // Sign requests, minted ahead: about two seconds of the paced rate.
  const double sign_rate =
      o_.rate > 0 ? o_.rate * o_.mix_sign / total_weight : 2000;
  const size_t capacity =
      std::clamp<size_t>(static_cast<size_t>(sign_rate * 2), 64, 20000);
  std::atomic<size_t> csr_index{0};
  RequestQueue sign_requests(capacity, [&] {
    return SignRequest(csr_index.fetch_add(1) % keys_.size());
  });
  sign_requests.Start();

  // A certificate of a connection's pool, with the one it was renewed from
  // (revoking that one revokes it by lineage).
  struct Live {
    std::shared_ptr<const ClientCert> cert;
    std::shared_ptr<const ClientCert> parent;
  };
  enum class Op { kSign, kRenew, kRevoke };
  struct Worker {
    OpCount sign, renew, revoke;
    int64_t requests = 0;
    int64_t reconnects = 0;
    int64_t revocations = 0;
    double max_lag_ms = 0;
    std::vector<double> latencies_ms;
    std::vector<std::shared_ptr<const ClientCert>> revoked;
    std::vector<std::string> errors;  // the first few
  };
  constexpr size_t kMaxLive = 16;
  constexpr size_t kErrorsKept = 3;
  std::vector<Worker> workers(static_cast<size_t>(connections));
  std::atomic<uint64_t> next{0};
  std::atomic<bool> done{false};
  const TimePoint start = SteadyClock::now();
  const TimePoint end =
      start + std::chrono::duration_cast<SteadyClock::duration>(
                  std::chrono::duration<double>(o_.duration));
  const std::string renew_request = PostRequest("/renew", "");

  auto run = [&](size_t index) {
    Worker& w = workers[index];
    std::mt19937_64 rng(0x5eed0000 + index);
    Connection plain(target_, ctx_.get(), nullptr);
    std::vector<Live> live;
    bool first_connection = true;
    auto note = [&](OpCount& count, const std::string& what) {
      ++count.unexpected;
      if (w.errors.size() < kErrorsKept) {
        w.errors.push_back(what);
      }
    };
    // Send sends one request on the kept-alive connection.
    auto send = [&](const std::string& request) -> absl::StatusOr<Response> {
      if (!plain.open()) {
        if (!first_connection) {
          ++w.reconnects;
        }
        first_connection = false;
        MAYFLY_RETURN_IF_ERROR(plain.Open());
      }
      return plain.RoundTrip(request);
    };
    // Renew renews `cert` over a new mTLS connection presenting it.
    auto renew = [&](const ClientCert* cert) -> absl::StatusOr<Response> {
      Connection mtls(target_, ctx_.get(), cert);
      MAYFLY_RETURN_IF_ERROR(mtls.Open());
      return mtls.RoundTrip(renew_request);
    };
    while (true) {
      const uint64_t k = next.fetch_add(1, std::memory_order_relaxed);
      TimePoint due = SteadyClock::now();
      if (o_.rate > 0) {
        due = start + std::chrono::duration_cast<SteadyClock::duration>(
                          std::chrono::duration<double>(k / o_.rate));
        if (due >= end) {
          break;
        }
        std::this_thread::sleep_until(due);
      }
      const TimePoint begin = SteadyClock::now();
      if (begin >= end) {
        break;
      }
      w.max_lag_ms = std::max(
          w.max_lag_ms,
          std::chrono::duration<double, std::milli>(begin - due).count());
      const int draw = static_cast<int>(rng() % total_weight);
      Op op = draw < o_.mix_sign                  ? Op::kSign
              : draw < o_.mix_sign + o_.mix_renew ? Op::kRenew
                                                  : Op::kRevoke;
      if (op != Op::kSign && live.empty()) {
        op = Op::kSign;  // nothing to renew or revoke yet
      }
      ++w.requests;
      if (op == Op::kSign) {
        absl::StatusOr<Response> r = send(sign_requests.Pop());
        const TimePoint finish = SteadyClock::now();
        if (!r.ok() || r->status != 201) {
          note(w.sign, r.ok() ? absl::StrCat("sign: HTTP ", r->status, ": ",
                                             r->body.substr(0, 200))
                              : absl::StrCat("sign: ", r.status().ToString()));
          continue;
        }
        absl::StatusOr<ClientCert> issued = IssuedFrom(r->body, nullptr);
        if (!issued.ok()) {
          note(w.sign, absl::StrCat("sign: ", issued.status().ToString()));
          continue;
        }
        ++w.sign.ok;
        w.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(finish - begin).count());
        if (live.size() >= kMaxLive) {
          live.erase(live.begin());  // the oldest leaves the pool
        }
        live.push_back(
            {std::make_shared<const ClientCert>(*std::move(issued)), nullptr});
      } else if (op == Op::kRenew) {
        // One renew in ten presents a revoked certificate: 401 expected.
        if (!w.revoked.empty() && rng() % 10 == 0) {
          const auto& cert = w.revoked[rng() % w.revoked.size()];
          absl::StatusOr<Response> r = renew(cert.get());
          const TimePoint finish = SteadyClock::now();
          if (r.ok() && r->status == 401) {
            ++w.renew.expected;
            w.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(finish - begin)
                    .count());
          } else {
            note(w.renew,
                 r.ok() ? absl::StrCat("renew of revoked serial ",
                                       cert->leaf.SerialDecimal(), ": HTTP ",
                                       r->status, " (want 401)")
                        : absl::StrCat("renew of revoked: ",
                                       r.status().ToString()));
          }
          continue;
        }
        const size_t i = rng() % live.size();
        absl::StatusOr<Response> r = renew(live[i].cert.get());
        const TimePoint finish = SteadyClock::now();
        absl::StatusOr<ClientCert> next_cert =
            r.ok() && r->status == 201
                ? IssuedFrom(r->body, &live[i].cert->key)
                : absl::StatusOr<ClientCert>(absl::UnknownError(
                      r.ok() ? absl::StrCat("HTTP ", r->status, ": ",
                                            r->body.substr(0, 200))
                             : r.status().ToString()));
        if (!next_cert.ok()) {
          note(w.renew, absl::StrCat("renew: ", next_cert.status().ToString()));
          continue;
        }
        ++w.renew.ok;
        w.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(finish - begin).count());
        live[i] = {std::make_shared<const ClientCert>(*std::move(next_cert)),
                   live[i].cert};
      } else {
        const size_t i = rng() % live.size();
        // One revoke in three hits the certificate this one was renewed
        // from, which revokes this one too, by lineage.
        const bool ancestor = live[i].parent != nullptr && rng() % 3 == 0;
        const ClientCert& target = ancestor ? *live[i].parent : *live[i].cert;
        absl::StatusOr<Response> r = send(RevokeRequest(target.leaf));
        const TimePoint finish = SteadyClock::now();
        if (!r.ok() || r->status != 200) {
          note(w.revoke, r.ok()
                             ? absl::StrCat("revoke: HTTP ", r->status, ": ",
                                            r->body.substr(0, 200))
                             : absl::StrCat("revoke: ", r.status().ToString()));
          continue;
        }
        ++w.revoke.ok;
        ++w.revocations;
        w.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(finish - begin).count());
        if (ancestor) {
          w.revoked.push_back(live[i].parent);
        }
        w.revoked.push_back(live[i].cert);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back(run, i);
  }
  // Progress every 30 s, so a long run shows it is alive.
  std::thread progress([&] {
    TimePoint at = start;
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (SteadyClock::now() - at >= std::chrono::seconds(30) && !done.load()) {
        at = SteadyClock::now();
        std::cerr << absl::StrFormat(
            "https_load: %s mix: %.0f s, %d requests scheduled\n", o_.label,
            Seconds(at - start), next.load());
      }
    }
  });
  for (std::thread& t : threads) {
    t.join();
  }
  result.seconds = std::min(Seconds(SteadyClock::now() - start), o_.duration);
  done.store(true);
  progress.join();
  sign_requests.Stop();

  std::vector<std::shared_ptr<const ClientCert>> revoked;
  for (Worker& w : workers) {
    for (auto [from, to] :
         {std::pair<OpCount*, OpCount*>{&w.sign, &result.sign},
          {&w.renew, &result.renew},
          {&w.revoke, &result.revoke}}) {
      to->ok += from->ok;
      to->expected += from->expected;
      to->unexpected += from->unexpected;
    }
    result.requests += w.requests;
    result.reconnects += w.reconnects;
    result.revocations += w.revocations;
    result.max_lag_ms = std::max(result.max_lag_ms, w.max_lag_ms);
    result.latencies_ms.insert(result.latencies_ms.end(),
                               w.latencies_ms.begin(), w.latencies_ms.end());
    revoked.insert(revoked.end(), w.revoked.begin(), w.revoked.end());
    for (const std::string& e : w.errors) {
      if (result.first_errors.size() < 10) {
        result.first_errors.push_back(e);
      }
    }
  }
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  result.revoked_certificates = static_cast<int64_t>(revoked.size());

  // Every acknowledged revocation holds: each revoked certificate, and each
  // descendant of a revoked one, is refused renewal.
  std::atomic<size_t> check{0};
  std::atomic<int64_t> enforced{0}, unenforced{0}, failed{0};
  std::mutex errors_mu;
  auto verify = [&] {
    while (true) {
      const size_t i = check.fetch_add(1);
      if (i >= revoked.size()) {
        return;
      }
      Connection mtls(target_, ctx_.get(), revoked[i].get());
      absl::Status opened = mtls.Open();
      absl::StatusOr<Response> r = opened.ok()
                                       ? mtls.RoundTrip(renew_request)
                                       : absl::StatusOr<Response>(opened);
      if (r.ok() && r->status == 401) {
        ++enforced;
        continue;
      }
      (r.ok() && r->status == 201 ? unenforced : failed)++;
      std::lock_guard<std::mutex> lock(errors_mu);
      if (result.first_errors.size() < 20) {
        result.first_errors.push_back(
            r.ok() ? absl::StrCat("after the run, revoked serial ",
                                  revoked[i]->leaf.SerialDecimal(),
                                  " renew: HTTP ", r->status, " (want 401)")
                   : absl::StrCat("after the run, revoked serial ",
                                  revoked[i]->leaf.SerialDecimal(), ": ",
                                  r.status().ToString()));
      }
    }
  };
  const TimePoint verify_start = SteadyClock::now();
  threads.clear();
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back(verify);
  }
  for (std::thread& t : threads) {
    t.join();
  }
  result.revocations_enforced = enforced.load();
  result.revocations_unenforced = unenforced.load();
  result.verify_errors = failed.load();
  std::cerr << absl::StrFormat(
      "https_load: %s mix: checked %d revoked certificates in %.1f s: %d "
      "refused renewal, %d renewed, %d other answers\n",
      o_.label, revoked.size(), Seconds(SteadyClock::now() - verify_start),
      result.revocations_enforced, result.revocations_unenforced,
      result.verify_errors);
  return result;
}

int RunMixMain(const Options& o, Load& load) {
  absl::StatusOr<MixResult> r = load.RunMix();
  if (!r.ok()) {
    std::cerr << "https_load: " << r.status() << "\n";
    return 1;
  }
  std::cerr << absl::StrFormat(
      "https_load: %s mix c=%d: %d requests in %.1f s (%.1f/s, target %s), "
      "sign %d/%d, renew %d/%d (+%d expected 401), revoke %d/%d; %d "
      "unexpected errors, revocations %d enforced of %d certificates\n",
      o.label, r->connections, r->requests, r->seconds,
      r->requests / std::max(r->seconds, 1e-9),
      o.rate > 0 ? absl::StrFormat("%.1f/s", o.rate) : "unpaced", r->sign.ok,
      r->sign.ok + r->sign.unexpected, r->renew.ok,
      r->renew.ok + r->renew.unexpected + r->renew.expected, r->renew.expected,
      r->revoke.ok, r->revoke.ok + r->revoke.unexpected, r->unexpected(),
      r->revocations_enforced, r->revoked_certificates);
  for (const std::string& e : r->first_errors) {
    std::cerr << "https_load: error: " << e << "\n";
  }
  const std::string json =
      absl::StrCat("{\"ca_url\": ", internal::JsonString(o.ca_url),
                   ", \"label\": ", internal::JsonString(o.label),
                   ", \"mix\": ", MixResultJson(*r), "}\n");
  if (o.out.empty()) {
    std::cout << json;
  } else {
    std::ofstream out(o.out, std::ios::trunc);
    out << json;
    if (!out.good()) {
      std::cerr << "https_load: cannot write " << o.out << "\n";
      return 1;
    }
  }
  return 0;
}

int Main(int argc, char** argv) {
  absl::StatusOr<Options> o = ParseOptions(argc, argv);
  if (!o.ok()) {
    if (absl::IsCancelled(o.status())) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "https_load: " << o.status().message() << "\n" << kUsage;
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Load>> load = Load::Create(*o);
  if (!load.ok()) {
    std::cerr << "https_load: " << load.status() << "\n";
    return 1;
  }
  if (o->mode == "mix") {
    return RunMixMain(*o, **load);
  }
  std::vector<LevelResult> results;
  double rate_guess = o->max_rate;
  for (int c : o->connections) {
    absl::StatusOr<LevelResult> r = (*load)->RunLevel(c, rate_guess);
    if (!r.ok()) {
      std::cerr << "https_load: " << r.status() << "\n";
      return 1;
    }
    std::cerr << absl::StrFormat(
        "https_load: %s %s c=%d: %.1f/s p50 %.2f ms p99 %.2f ms (%d answers "
        "in %.2f s, %d errors, %d reconnects%s)\n",
        o->label, r->mode, c, r->per_s, r->p50_ms, r->p99_ms, r->requests,
        r->seconds, r->errors, r->reconnects,
        r->budget_exhausted ? ", token budget ran out" : "");
    if (!r->first_error.empty()) {
      std::cerr << "https_load: first error: " << r->first_error << "\n";
    }
    results.push_back(*r);
    // The next level's budget: four times what this level would give at
    // the next width if each connection kept its rate (servers saturate,
    // so this overestimates), within --max-rate; all of it after a level
    // that ran out. Tokens cost the client about 30 us each.
    size_t i = results.size();
    if (i < o->connections.size()) {
      double widen = std::max(1.0, static_cast<double>(o->connections[i]) / c);
      rate_guess =
          r->budget_exhausted
              ? o->max_rate
              : std::min(o->max_rate, std::max(1000.0, 4 * r->per_s * widen));
    }
  }
  std::string json = absl::StrCat(
      "{\"ca_url\": ", internal::JsonString(o->ca_url),
      ", \"label\": ", internal::JsonString(o->label), ", \"results\": [\n");
  for (size_t i = 0; i < results.size(); ++i) {
    absl::StrAppend(&json, "  ", ResultJson(results[i]),
                    i + 1 < results.size() ? ",\n" : "\n");
  }
  absl::StrAppend(&json, "]}\n");
  if (o->out.empty()) {
    std::cout << json;
  } else {
    std::ofstream out(o->out, std::ios::trunc);
    out << json;
    if (!out.good()) {
      std::cerr << "https_load: cannot write " << o->out << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace mayfly

int main(int argc, char** argv) { return mayfly::Main(argc, argv); }

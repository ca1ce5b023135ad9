// CaClient: step-ca's HTTP API over cpp-httplib. Every request gets its own
// connection and SSL_CTX, configured by ConfigureClientContext (mayfly/tls.h)
// so the CA's certificate is verified by the same code as everywhere else in
// mayfly; httplib's own verification stays off.

#include "mayfly/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/jose.h"
#include "mayfly/status.h"
#include "mayfly/tls.h"
#include "mayfly/token.h"
#include "mayfly/version.h"
#include "openssl/mem.h"
#include "openssl/rand.h"
#include "openssl/ssl.h"

// cpp-httplib's HTTPS client, over the BoringSSL mayfly is built with.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include "httplib.h"

namespace mayfly {
namespace {

// A CA's answers are small (a provisioner page of 100 entries is the
// largest); anything bigger is refused rather than buffered.
constexpr size_t kMaxResponseBytes = 1 << 20;
// /provisioners pages followed before giving up on a CA whose cursor never
// ends.
constexpr int kMaxProvisionerPages = 1000;
// Renew tokens: step's issuer, and step's lifetime.
constexpr char kRenewTokenIssuer[] = "step-ca-client/1.0";
constexpr absl::Duration kRenewTokenLifetime = absl::Minutes(5);
// The CA's message is quoted in errors up to this many characters.
constexpr size_t kMaxQuotedMessage = 512;

// CaUrl is a parsed "https://host[:port]".
struct CaUrl {
  std::string url;        // "https://" + authority
  std::string authority;  // as written in the URL: the Host header
  std::string host;       // without brackets: what is dialled and checked
  int port = 443;
};

absl::Status BadUrl(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("client: CA URL \"", url.substr(0, 256), "\" ", why,
                   " (want https://host[:port])"));
}

bool IsDnsChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.' || c == '_';
}

absl::StatusOr<CaUrl> ParseCaUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "https://";
  if (url.size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(url.substr(0, kScheme.size()), kScheme)) {
    return BadUrl(url, "is not https");
  }
  absl::string_view rest = url.substr(kScheme.size());
  size_t end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, end);
  if (end != absl::string_view::npos && rest.substr(end) != "/") {
    return BadUrl(url, "has a path, query or fragment");
  }
  if (absl::StrContains(authority, '@')) {
    return BadUrl(url, "has user info");
  }
  CaUrl out;
  absl::string_view port_text;
  bool has_port = false;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return BadUrl(url, "has an unterminated IPv6 address");
    }
    out.host = std::string(authority.substr(1, close - 1));
    in6_addr addr;
    if (inet_pton(AF_INET6, out.host.c_str(), &addr) != 1) {
      return BadUrl(url, "has a malformed IPv6 address");
    }
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return BadUrl(url, "has text after the IPv6 address");
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    for (char c : out.host) {
      if (!IsDnsChar(c)) {
        return BadUrl(url,
                      "has a host that is neither a DNS name nor an IP "
                      "(IPv6 addresses go in brackets)");
      }
    }
  }
  if (out.host.empty()) {
    return BadUrl(url, "has no host");
  }
  if (has_port) {
    int port = 0;
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
      return BadUrl(url, "has a bad port");
    }
    out.port = port;
  }
  out.authority = std::string(authority);
  out.url = absl::StrCat(kScheme, authority);
  return out;
}

// NewRequestId returns a random UUIDv4, as step's client sends.
std::string NewRequestId() {
  uint8_t b[16];
  RAND_bytes(b, sizeof(b));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string hex = internal::Hex(absl::MakeConstSpan(b, sizeof(b)));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

// ScopedSigpipeBlock blocks SIGPIPE on this thread while a request runs.
// BoringSSL writes to the socket with send() without MSG_NOSIGNAL, so a CA
// closing the connection mid-request would otherwise kill the host process.
// A SIGPIPE the request raised is consumed before the mask is restored.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ =
        sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) {
      return;
    }
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
  bool blocked_ = false;
};

// The TLS alerts this thread's last handshake sent and received, recorded
// by an info callback. They are all that is left to say why a handshake
// failed: httplib handshakes on the calling thread but frees the connection
// before returning, and BoringSSL's SSL_shutdown clears the error queue.
thread_local int t_sent_alert = -1;
thread_local int t_received_alert = -1;

void RecordAlerts(const SSL* /*ssl*/, int type, int value) {
  if ((type & SSL_CB_WRITE_ALERT) != 0) {
    t_sent_alert = value & 0xff;
  } else if ((type & SSL_CB_READ_ALERT) != 0) {
    t_received_alert = value & 0xff;
  }
}

bool IsCertificateAlert(int alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
      return true;
    default:
      return false;
  }
}

// HttpCall is one request to the CA.
struct HttpCall {
  const char* method = "GET";
  std::string path;
  std::string body;
  std::string content_type;   // "" sends no Content-Type
  std::string authorization;  // "" sends no Authorization
  // The client certificate for mTLS, or NULL.
  std::shared_ptr<RotatingCredentials> client_credentials;
  // Only bootstrap's GET /root/{sha} skips verification: the fingerprint
  // check on the answer takes its place.
  bool verify_server = true;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string request_id;
};

// Quote returns a message from the CA made safe for a log line: bounded,
// control characters replaced.
std::string Quote(absl::string_view text) {
  std::string out(text.substr(0, kMaxQuotedMessage));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = ' ';
    }
  }
  if (text.size() > kMaxQuotedMessage) {
    out += "...";
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

absl::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 429:
      return absl::StatusCode::kUnavailable;
    case 501:
      return absl::StatusCode::kUnimplemented;
    default:
      return status >= 500 ? absl::StatusCode::kUnavailable
                           : absl::StatusCode::kInvalidArgument;
  }
}

// HttpError turns an error response into a status carrying the CA's
// message (step's {"status","message"} body, or the start of whatever else
// it sent) and the request id.
absl::Status HttpError(const HttpCall& call, const HttpResponse& res) {
  std::string message;
  internal::JsonLimits limits;
  limits.max_bytes = kMaxResponseBytes;
  absl::StatusOr<rapidjson::Document> doc =
      internal::ParseJsonObject(res.body, "CA error", limits);
  if (doc.ok()) {
    auto m = doc->FindMember("message");
    if (m != doc->MemberEnd() && m->value.IsString()) {
      message = Quote(
          absl::string_view(m->value.GetString(), m->value.GetStringLength()));
    }
  }
  if (message.empty()) {
    message = res.body.empty() ? httplib::detail::status_message(res.status)
                               : Quote(res.body);
  }
  return absl::Status(CodeForHttpStatus(res.status),
                      absl::StrCat("CA answered ", res.status, " to ",
                                   call.method, " ", call.path, ": ", message,
                                   " (request id ", res.request_id, ")"));
}

absl::Status BadResponse(const HttpCall& call, const HttpResponse& res,
                         absl::string_view why) {
  return absl::InternalError(absl::StrCat(
      "CA's answer to ", call.method, " ", call.path, " is malformed: ", why,
      " (request id ", res.request_id, ")"));
}

absl::StatusOr<rapidjson::Document> ParseBody(const HttpCall& call,
                                              const HttpResponse& res) {
  internal::JsonLimits limits;
  limits.max_bytes = kMaxResponseBytes;
  absl::StatusOr<rapidjson::Document> doc =
      internal::ParseJsonObject(res.body, "response", limits);
  if (!doc.ok()) {
    return BadResponse(call, res, doc.status().message());
  }
  return doc;
}

absl::StatusOr<std::string> BodyString(const HttpCall& call,
                                       const HttpResponse& res,
                                       const rapidjson::Value& obj,
                                       const char* name) {
  absl::StatusOr<std::string> s = internal::GetString(obj, name, "response");
  if (!s.ok()) {
    return BadResponse(call, res, s.status().message());
  }
  return s;
}

absl::StatusOr<Certificate> BodyCertificate(const HttpCall& call,
                                            const HttpResponse& res,
                                            absl::string_view pem,
                                            absl::string_view what) {
  absl::StatusOr<Certificate> cert = Certificate::FromPem(pem);
  if (!cert.ok()) {
    return BadResponse(call, res,
                       absl::StrCat(what, ": ", cert.status().message()));
  }
  return cert;
}

absl::StatusOr<std::vector<Certificate>> BodyCertificates(
    const HttpCall& call, const HttpResponse& res, const rapidjson::Value& obj,
    const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsArray()) {
    return BadResponse(call, res, absl::StrCat("no array \"", name, "\""));
  }
  std::vector<Certificate> certs;
  for (const rapidjson::Value& v : it->value.GetArray()) {
    if (!v.IsString()) {
      return BadResponse(call, res,
                         absl::StrCat("\"", name, "\" holds a non-string"));
    }
    MAYFLY_ASSIGN_OR_RETURN(
        Certificate cert,
        BodyCertificate(call, res,
                        absl::string_view(v.GetString(), v.GetStringLength()),
                        name));
    certs.push_back(std::move(cert));
  }
  return certs;
}

std::string JsonText(const rapidjson::Document& doc) {
  return internal::ToJson(doc);
}

void AddString(rapidjson::Document& doc, const char* name,
               absl::string_view value) {
  auto& alloc = doc.GetAllocator();
  doc.AddMember(
      rapidjson::Value(name, alloc),
      rapidjson::Value(value.data(),
                       static_cast<rapidjson::SizeType>(value.size()), alloc),
      alloc);
}

// MakeRenewToken builds step's x5cInsecure renew token (STEP-PROTOCOL.md
// section 4.6): the chain in the header, signed by the leaf's key, so the CA
// can renew a certificate without a TLS client certificate.
absl::StatusOr<std::string> MakeRenewToken(
    const std::vector<Certificate>& chain, const PrivateKey& key,
    const std::string& ca_url, absl::Time now) {
  JwsHeader header;
  header.typ = "JWT";
  header.kid = chain.front().public_key().JwkThumbprint();
  for (const Certificate& cert : chain) {
    header.x5c_insecure.push_back(internal::Base64Encode(cert.der()));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string audience, RenewAudience(ca_url));
  int64_t iat = absl::ToUnixSeconds(now);
  int64_t exp = absl::ToUnixSeconds(now + kRenewTokenLifetime);
  rapidjson::Document claims(rapidjson::kObjectType);
  auto& alloc = claims.GetAllocator();
  AddString(claims, "aud", audience);
  claims.AddMember("exp", rapidjson::Value(exp), alloc);
  claims.AddMember("iat", rapidjson::Value(iat), alloc);
  AddString(claims, "iss", kRenewTokenIssuer);
  claims.AddMember("nbf", rapidjson::Value(iat), alloc);
  AddString(claims, "sub", chain.front().CommonName());
  return SignJws(key, header, JsonText(claims));
}

absl::Status CheckChainAndKey(const std::vector<Certificate>& chain,
                              const PrivateKey& key) {
  if (chain.empty()) {
    return absl::InvalidArgumentError("client: empty certificate chain");
  }
  if (!chain.front().public_key().Equals(key.public_key())) {
    return absl::InvalidArgumentError(
        "client: the private key does not belong to the leaf certificate");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<RotatingCredentials>> MtlsCredentials(
    const std::vector<Certificate>& chain, const PrivateKey& key) {
  MAYFLY_RETURN_IF_ERROR(CheckChainAndKey(chain, key));
  auto creds = std::make_shared<RotatingCredentials>();
  MAYFLY_RETURN_IF_ERROR(creds->Set(chain, key));
  return creds;
}

// IsHexFingerprint reports whether `fp` is 64 hex digits.
bool IsHexFingerprint(absl::string_view fp) {
  return fp.size() == 64 && std::all_of(fp.begin(), fp.end(), [](char c) {
           return absl::ascii_isxdigit(static_cast<unsigned char>(c));
         });
}

std::vector<uint8_t> HexBytes(absl::string_view hex) {
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) -> uint8_t {
    if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
    return static_cast<uint8_t>(absl::ascii_tolower(c) - 'a' + 10);
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(
        static_cast<uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

}  // namespace

class CaClient::Impl {
 public:
  Impl(CaUrl url, std::vector<Certificate> roots, ClientOptions options)
      : url_(std::move(url)),
        roots_(std::move(roots)),
        trusted_(std::make_shared<TrustedRoots>(roots_)),
        options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : Clock::Real()),
        user_agent_(options_.user_agent.empty()
                        ? std::string("mayfly/" MAYFLY_VERSION_STRING)
                        : options_.user_agent) {}

  const CaUrl& url() const { return url_; }
  const std::vector<Certificate>& roots() const { return roots_; }
  const Clock& clock() const { return clock_; }

  // Send performs `call`, retrying transport failures as the header says;
  // it returns any HTTP answer, error statuses included.
  absl::StatusOr<HttpResponse> Send(const HttpCall& call) const;

  // Call is Send, turning HTTP errors (>= 400) into statuses.
  absl::StatusOr<HttpResponse> Call(const HttpCall& call) const {
    MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, Send(call));
    if (res.status >= 400) {
      return HttpError(call, res);
    }
    return res;
  }

  // Issue sends a call answered by step's sign response and checks that the
  // certificate is for `key` and chains to a pinned root.
  absl::StatusOr<IssuedCertificate> Issue(const HttpCall& call,
                                          const PublicKey& key) const;

 private:
  // Attempt makes one connection and one request.
  absl::StatusOr<HttpResponse> Attempt(const HttpCall& call,
                                       const std::string& request_id,
                                       bool* retryable) const;

  CaUrl url_;
  std::vector<Certificate> roots_;
  std::shared_ptr<TrustedRoots> trusted_;
  ClientOptions options_;
  const Clock& clock_;
  std::string user_agent_;
};

absl::StatusOr<HttpResponse> CaClient::Impl::Attempt(
    const HttpCall& call, const std::string& request_id,
    bool* retryable) const {
  *retryable = false;
  httplib::SSLClient cli(url_.host, url_.port);
  if (!cli.is_valid()) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "client: cannot create a TLS context");
  }
  // Verification is ConfigureClientContext's; httplib's would replace it.
  cli.enable_server_certificate_verification(false);
  if (call.verify_server) {
    MAYFLY_RETURN_IF_ERROR(ConfigureClientContext(
        cli.ssl_context(), trusted_, call.client_credentials, clock_));
  }
  SSL_CTX_set_info_callback(cli.ssl_context(), RecordAlerts);
  int64_t connect_us = absl::ToInt64Microseconds(options_.connect_timeout);
  cli.set_connection_timeout(static_cast<time_t>(connect_us / 1000000),
                             static_cast<time_t>(connect_us % 1000000));
  cli.set_read_timeout(absl::ToChronoMicroseconds(options_.request_timeout));
  cli.set_write_timeout(absl::ToChronoMicroseconds(options_.request_timeout));
  cli.set_keep_alive(false);

  httplib::Request req;
  req.method = call.method;
  req.path = call.path;
  req.set_header("Host", url_.authority);
  req.set_header("User-Agent", user_agent_);
  req.set_header("Accept", "application/json");
  req.set_header("X-Request-Id", request_id);
  if (!call.content_type.empty()) {
    req.set_header("Content-Type", call.content_type);
  }
  if (!call.authorization.empty()) {
    req.set_header("Authorization", call.authorization);
  }
  req.body = call.body;
  std::string body;
  bool too_large = false;
  req.content_receiver = [&](const char* data, size_t len, uint64_t /*off*/,
                             uint64_t /*total*/) {
    if (body.size() + len > kMaxResponseBytes) {
      too_large = true;
      return false;
    }
    body.append(data, len);
    return true;
  };

  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  bool sent;
  {
    ScopedSigpipeBlock no_sigpipe;
    t_sent_alert = -1;
    t_received_alert = -1;
    sent = cli.send(req, res, error);
  }
  std::string where = absl::StrCat(call.method, " ", url_.url, call.path);
  if (!sent) {
    switch (error) {
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
        // Nothing reached the CA: safe to retry any request.
        *retryable = true;
        return absl::UnavailableError(
            absl::StrCat("cannot connect to the CA for ", where, ": ",
                         httplib::to_string(error)));
      case httplib::Error::SSLConnection: {
        if (IsCertificateAlert(t_sent_alert)) {
          // Only the server's certificate can make this client send one.
          return absl::FailedPreconditionError(absl::StrCat(
              "the CA's TLS certificate did not verify for ", where, " (",
              SSL_alert_desc_string_long(t_sent_alert),
              "): it must chain to the pinned root",
              roots_.size() == 1 ? "" : "s", " and name ", url_.host));
        }
        if (IsCertificateAlert(t_received_alert) &&
            call.client_credentials != nullptr) {
          // step-ca verifies a client certificate in the handshake.
          return absl::UnauthenticatedError(absl::StrCat(
              "the CA refused the client certificate in the TLS handshake "
              "for ",
              where, " (", SSL_alert_desc_string_long(t_received_alert), ")"));
        }
        *retryable = true;
        return absl::UnavailableError(absl::StrCat(
            "TLS handshake with the CA failed for ", where,
            t_received_alert >= 0
                ? absl::StrCat(": the CA sent the alert \"",
                               SSL_alert_desc_string_long(t_received_alert),
                               "\"")
                : std::string()));
      }
      case httplib::Error::Canceled:
        if (too_large) {
          return absl::UnavailableError(
              absl::StrCat("the CA's answer to ", where, " exceeds ",
                           kMaxResponseBytes, " bytes"));
        }
        break;
      default:
        break;
    }
    // Read and write failures and timeouts: the request may have reached
    // the CA, so only requests that change nothing are retried.
    *retryable = absl::string_view(call.method) == "GET";
    return absl::UnavailableError(absl::StrCat("request to the CA failed for ",
                                               where, ": ",
                                               httplib::to_string(error)));
  }
  HttpResponse out;
  out.status = res.status;
  out.body = std::move(body);
  out.request_id = res.get_header_value("X-Request-Id");
  if (out.request_id.empty()) {
    out.request_id = request_id;
  }
  return out;
}

absl::StatusOr<HttpResponse> CaClient::Impl::Send(const HttpCall& call) const {
  std::string request_id = NewRequestId();
  int attempts = std::max(1, options_.get_attempts);
  absl::Status last;
  for (int i = 0; i < attempts; i++) {
    if (i > 0) {
      // A short, growing pause: long enough for a restarting CA, short
      // enough for an interactive command.
      absl::SleepFor(absl::Milliseconds(100) * i);
    }
    bool retryable = false;
    absl::StatusOr<HttpResponse> res = Attempt(call, request_id, &retryable);
    if (res.ok() || !retryable) {
      return res;
    }
    last = res.status();
  }
  return last;
}

absl::StatusOr<IssuedCertificate> CaClient::Impl::Issue(
    const HttpCall& call, const PublicKey& key) const {
  MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, Call(call));
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseBody(call, res));
  std::vector<Certificate> chain;
  auto list = doc.FindMember("certChain");
  if (list != doc.MemberEnd() && list->value.IsArray() &&
      !list->value.Empty()) {
    MAYFLY_ASSIGN_OR_RETURN(chain,
                            BodyCertificates(call, res, doc, "certChain"));
  } else {
    // CAs older than certChain send the leaf and the intermediate only.
    MAYFLY_ASSIGN_OR_RETURN(std::string crt, BodyString(call, res, doc, "crt"));
    MAYFLY_ASSIGN_OR_RETURN(std::string ca, BodyString(call, res, doc, "ca"));
    MAYFLY_ASSIGN_OR_RETURN(Certificate leaf,
                            BodyCertificate(call, res, crt, "crt"));
    MAYFLY_ASSIGN_OR_RETURN(Certificate issuer,
                            BodyCertificate(call, res, ca, "ca"));
    chain = {std::move(leaf), std::move(issuer)};
  }
  IssuedCertificate out{chain.front(), std::move(chain)};
  if (!out.leaf.public_key().Equals(key)) {
    return BadResponse(call, res,
                       "the certificate is not for the key that was sent");
  }
  // The signatures must lead to a pinned root, or the certificate is of no
  // use with this CA. Checked now, but within the leaf's validity, so that a
  // clock skewed from the CA's does not refuse a good certificate.
  absl::Time at = std::min(std::max(clock_.Now(), out.leaf.NotBefore()),
                           out.leaf.NotAfter());
  absl::Status chains = VerifyChain(
      out.leaf, absl::MakeConstSpan(out.chain).subspan(1), roots_, at);
  if (!chains.ok()) {
    return BadResponse(
        call, res,
        absl::StrCat("the certificate does not chain to the pinned roots: ",
                     chains.message()));
  }
  return out;
}

CaClient::CaClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CaClient::~CaClient() = default;

absl::StatusOr<std::unique_ptr<CaClient>> CaClient::Create(
    absl::string_view ca_url, std::vector<Certificate> roots,
    ClientOptions options) {
  MAYFLY_ASSIGN_OR_RETURN(CaUrl url, ParseCaUrl(ca_url));
  if (roots.empty()) {
    return absl::InvalidArgumentError("client: no roots to trust");
  }
  if (options.get_attempts < 1) {
    return absl::InvalidArgumentError("client: get_attempts must be >= 1");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("client: timeouts must be positive");
  }
  return std::unique_ptr<CaClient>(new CaClient(std::make_unique<Impl>(
      std::move(url), std::move(roots), std::move(options))));
}

absl::StatusOr<std::unique_ptr<CaClient>> CaClient::Bootstrap(
    absl::string_view ca_url, absl::string_view fingerprint,
    ClientOptions options) {
  if (!IsHexFingerprint(fingerprint)) {
    return absl::InvalidArgumentError(
        "client: the root fingerprint must be 64 hex digits (SHA-256)");
  }
  std::string fp = absl::AsciiStrToLower(fingerprint);
  MAYFLY_ASSIGN_OR_RETURN(CaUrl url, ParseCaUrl(ca_url));
  if (options.get_attempts < 1) {
    return absl::InvalidArgumentError("client: get_attempts must be >= 1");
  }
  // An unpinned client for the one unverified request; its roots are never
  // consulted.
  Impl unpinned(url, {}, options);
  HttpCall call;
  call.path = absl::StrCat("/root/", fp);
  call.verify_server = false;
  MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, unpinned.Send(call));
  if (res.status == 404) {
    // For the caller this is a fingerprint that does not match, not a
    // missing resource to retry.
    return absl::FailedPreconditionError(absl::StrCat(
        "client: the CA at ", url.url, " has no root with fingerprint ", fp,
        " (request id ", res.request_id, ")"));
  }
  if (res.status >= 400) {
    return HttpError(call, res);
  }
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseBody(call, res));
  MAYFLY_ASSIGN_OR_RETURN(std::string pem, BodyString(call, res, doc, "ca"));
  MAYFLY_ASSIGN_OR_RETURN(Certificate root,
                          BodyCertificate(call, res, pem, "ca"));
  std::vector<uint8_t> want = HexBytes(fp);
  std::vector<uint8_t> got = root.Sha256Fingerprint();
  if (got.size() != want.size() ||
      CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "client: root certificate fingerprint does not match: asked for ", fp,
        ", the CA at ", url.url, " sent ", root.FingerprintHex(),
        " (request id ", res.request_id, ")"));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> client,
                          Create(url.url, {std::move(root)}, options));
  // The pin is of no use unless the CA's TLS certificate chains to it; say
  // so now rather than on the first renewal.
  MAYFLY_RETURN_IF_ERROR(client->Health());
  return client;
}

const std::string& CaClient::url() const { return impl_->url().url; }

const std::vector<Certificate>& CaClient::roots() const {
  return impl_->roots();
}

absl::Status CaClient::Health() {
  HttpCall call;
  call.path = "/health";
  MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, impl_->Call(call));
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseBody(call, res));
  MAYFLY_ASSIGN_OR_RETURN(std::string status,
                          BodyString(call, res, doc, "status"));
  if (status != "ok") {
    return absl::UnavailableError(absl::StrCat("CA health is \"", Quote(status),
                                               "\" (request id ",
                                               res.request_id, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Certificate>> CaClient::Roots() {
  HttpCall call;
  call.path = "/roots";
  MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, impl_->Call(call));
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseBody(call, res));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> roots,
                          BodyCertificates(call, res, doc, "crts"));
  if (roots.empty()) {
    return BadResponse(call, res, "no roots");
  }
  return roots;
}

absl::StatusOr<std::vector<ProvisionerInfo>> CaClient::Provisioners() {
  std::vector<ProvisionerInfo> out;
  std::string cursor;
  for (int page = 0; page < kMaxProvisionerPages; page++) {
    HttpCall call;
    // As step does: the largest page, then the cursor until it is empty.
    call.path = cursor.empty() ? std::string("/provisioners?limit=100")
                               : absl::StrCat("/provisioners?cursor=", cursor,
                                              "&limit=100");
    MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, impl_->Call(call));
    MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseBody(call, res));
    auto list = doc.FindMember("provisioners");
    if (list == doc.MemberEnd() || !list->value.IsArray()) {
      return BadResponse(call, res, "no array \"provisioners\"");
    }
    for (const rapidjson::Value& p : list->value.GetArray()) {
      if (!p.IsObject()) {
        return BadResponse(call, res, "a provisioner is not an object");
      }
      ProvisionerInfo info;
      info.json = internal::ToJson(p);
      MAYFLY_ASSIGN_OR_RETURN(
          std::optional<std::string> type,
          internal::GetOptionalString(p, "type", "provisioner"));
      MAYFLY_ASSIGN_OR_RETURN(
          std::optional<std::string> name,
          internal::GetOptionalString(p, "name", "provisioner"));
      info.type = type.value_or("");
      info.name = name.value_or("");
      // Only JWK provisioners have a key with a kid and an encrypted key;
      // other types are listed with type, name and their JSON.
      if (absl::EqualsIgnoreCase(info.type, "JWK")) {
        auto key = p.FindMember("key");
        if (key != p.MemberEnd() && key->value.IsObject()) {
          MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> kid,
                                  internal::GetOptionalString(
                                      key->value, "kid", "provisioner key"));
          info.kid = kid.value_or("");
        }
        MAYFLY_ASSIGN_OR_RETURN(
            std::optional<std::string> enc,
            internal::GetOptionalString(p, "encryptedKey", "provisioner"));
        info.encrypted_key = enc.value_or("");
      }
      out.push_back(std::move(info));
    }
    auto next = doc.FindMember("nextCursor");
    std::string next_cursor;
    if (next != doc.MemberEnd()) {
      if (!next->value.IsString()) {
        return BadResponse(call, res, "\"nextCursor\" is not a string");
      }
      next_cursor.assign(next->value.GetString(),
                         next->value.GetStringLength());
    }
    if (next_cursor.empty()) {
      return out;
    }
    // The cursor goes back into a URL: step's is lowercase hex.
    if (next_cursor == cursor || next_cursor.size() > 128 ||
        !std::all_of(next_cursor.begin(), next_cursor.end(), [](char c) {
          return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                 c == '-' || c == '_';
        })) {
      return BadResponse(call, res, "\"nextCursor\" is not a usable cursor");
    }
    cursor = std::move(next_cursor);
  }
  return absl::InternalError(
      absl::StrCat("client: the CA's provisioner list did not end after ",
                   kMaxProvisionerPages, " pages"));
}

absl::StatusOr<std::string> CaClient::ProvisionerKey(absl::string_view kid) {
  // A kid is an RFC 7638 thumbprint (base64url); anything else would have
  // to be escaped into the path, and no CA would know it.
  if (kid.empty() || kid.size() > 256 ||
      !std::all_of(kid.begin(), kid.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               c == '_';
      })) {
    return absl::InvalidArgumentError(
        "client: a provisioner kid is 1 to 256 base64url characters");
  }
  HttpCall call;
  call.path = absl::StrCat("/provisioners/", kid, "/encrypted-key");
  MAYFLY_ASSIGN_OR_RETURN(HttpResponse res, impl_->Call(call));
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseBody(call, res));
  return BodyString(call, res, doc, "key");
}

absl::StatusOr<IssuedCertificate> CaClient::Sign(const CertificateRequest& csr,
                                                 absl::string_view ott,
                                                 const SignOptions& options) {
  if (ott.empty()) {
    return absl::InvalidArgumentError("client: sign needs a token");
  }
  rapidjson::Document body(rapidjson::kObjectType);
  AddString(body, "csr", csr.ToPem());
  AddString(body, "ott", ott);
  // step always sends both, "" when unset.
  AddString(body, "notBefore", options.not_before);
  AddString(body, "notAfter", options.not_after);
  HttpCall call;
  call.method = "POST";
  call.path = "/sign";
  call.body = JsonText(body);
  call.content_type = "application/json";
  return impl_->Issue(call, csr.public_key());
}

absl::StatusOr<IssuedCertificate> CaClient::Sign(const PrivateKey& key,
                                                 absl::string_view ott,
                                                 const SignOptions& options) {
  // The token is read, not verified: the CA does that. Its claims only say
  // what the CSR must contain to be accepted.
  absl::StatusOr<TokenClaims> claims = ParseTokenClaims(ott);
  if (!claims.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client: cannot read the sign token: ", claims.status().message()));
  }
  CsrOptions csr_options;
  csr_options.common_name = claims->subject;
  csr_options.sans = claims->sans.empty()
                         ? std::vector<std::string>{claims->subject}
                         : claims->sans;
  MAYFLY_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::Create(key, csr_options));
  return Sign(csr, ott, options);
}

absl::StatusOr<IssuedCertificate> CaClient::Renew(
    const std::vector<Certificate>& chain, const PrivateKey& key) {
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RotatingCredentials> creds,
                          MtlsCredentials(chain, key));
  HttpCall call;
  call.method = "POST";
  call.path = "/renew";
  // step's client: an empty body, still labelled JSON.
  call.content_type = "application/json";
  call.client_credentials = std::move(creds);
  return impl_->Issue(call, key.public_key());
}

absl::StatusOr<IssuedCertificate> CaClient::RenewWithToken(
    const std::vector<Certificate>& chain, const PrivateKey& key) {
  MAYFLY_RETURN_IF_ERROR(CheckChainAndKey(chain, key));
  MAYFLY_ASSIGN_OR_RETURN(
      std::string token,
      MakeRenewToken(chain, key, impl_->url().url, impl_->clock().Now()));
  HttpCall call;
  call.method = "POST";
  call.path = "/renew";
  call.authorization = absl::StrCat("Bearer ", token);
  return impl_->Issue(call, key.public_key());
}

absl::StatusOr<IssuedCertificate> CaClient::Rekey(
    const std::vector<Certificate>& chain, const PrivateKey& key,
    const PrivateKey& new_key) {
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RotatingCredentials> creds,
                          MtlsCredentials(chain, key));
  // The CSR only carries the new key, as step's does.
  MAYFLY_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::Create(new_key, {}));
  rapidjson::Document body(rapidjson::kObjectType);
  AddString(body, "csr", csr.ToPem());
  HttpCall call;
  call.method = "POST";
  call.path = "/rekey";
  call.body = JsonText(body);
  call.content_type = "application/json";
  call.client_credentials = std::move(creds);
  return impl_->Issue(call, new_key.public_key());
}

absl::Status CaClient::Revoke(absl::string_view serial, int reason_code,
                              absl::string_view reason, absl::string_view ott,
                              const std::vector<Certificate>& chain,
                              const PrivateKey* key) {
  if (ott.empty() == chain.empty()) {
    return absl::InvalidArgumentError(
        "client: revoke needs either a revoke token or a certificate chain "
        "and key, not both");
  }
  if (reason_code < 0 || reason_code > 10) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client: reason code ", reason_code, " is not 0..10 (RFC 5280)"));
  }
  HttpCall call;
  std::string serial_text(serial);
  if (!chain.empty()) {
    if (key == nullptr) {
      return absl::InvalidArgumentError(
          "client: revoking over mTLS needs the certificate's key");
    }
    MAYFLY_ASSIGN_OR_RETURN(call.client_credentials,
                            MtlsCredentials(chain, *key));
    if (serial_text.empty()) {
      serial_text = chain.front().SerialDecimal();
    }
  }
  if (serial_text.empty()) {
    return absl::InvalidArgumentError("client: revoke needs a serial");
  }
  rapidjson::Document body(rapidjson::kObjectType);
  auto& alloc = body.GetAllocator();
  AddString(body, "serial", serial_text);
  AddString(body, "ott", ott);
  body.AddMember("reasonCode", rapidjson::Value(reason_code), alloc);
  AddString(body, "reason", reason);
  body.AddMember("passive", rapidjson::Value(true), alloc);
  call.method = "POST";
  call.path = "/revoke";
  call.body = JsonText(body);
  call.content_type = "application/json";
  return impl_->Call(call).status();
}

}  // namespace mayfly

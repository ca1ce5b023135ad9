// In-process TLS rotation: RotatingCredentials, TrustedRoots and the
// BoringSSL SSL_CTX callbacks that read them on every handshake.

#include "mayfly/tls.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "internal/bssl.h"
#include "mayfly/status.h"
#include "openssl/pool.h"
#include "openssl/ssl.h"

namespace mayfly {

absl::Status RotatingCredentials::Set(std::vector<Certificate> chain,
                                      PrivateKey key) {
  // Checked before the lock, so handshakes reading Current() never wait for
  // the comparison.
  if (chain.empty()) {
    return absl::InvalidArgumentError("credentials: empty certificate chain");
  }
  if (!chain.front().public_key().Equals(key.public_key())) {
    return absl::InvalidArgumentError(
        "credentials: the private key does not belong to the leaf "
        "certificate");
  }
  auto next = std::make_shared<Credentials>(
      Credentials{std::move(chain), std::move(key), 0});
  absl::MutexLock lock(&mu_);
  next->generation = ++generation_;
  current_ = std::move(next);
  return absl::OkStatus();
}

std::shared_ptr<const Credentials> RotatingCredentials::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

TrustedRoots::TrustedRoots(std::vector<Certificate> roots)
    : roots_(
          std::make_shared<const std::vector<Certificate>>(std::move(roots))) {}

void TrustedRoots::Set(std::vector<Certificate> roots) {
  auto next =
      std::make_shared<const std::vector<Certificate>>(std::move(roots));
  absl::MutexLock lock(&mu_);
  roots_ = std::move(next);
}

std::shared_ptr<const std::vector<Certificate>> TrustedRoots::Current() const {
  absl::MutexLock lock(&mu_);
  return roots_;
}

namespace {

// TLS 1.2 suites: ECDHE key exchange with AEAD ciphers only. TLS 1.3 suites
// are all AEAD and BoringSSL does not make them configurable.
constexpr char kCipherList[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Signature algorithms a peer may sign the handshake with: no SHA-1.
constexpr uint16_t kVerifyAlgorithms[] = {
    SSL_SIGN_ECDSA_SECP256R1_SHA256,
    SSL_SIGN_RSA_PSS_RSAE_SHA256,
    SSL_SIGN_RSA_PKCS1_SHA256,
    SSL_SIGN_ECDSA_SECP384R1_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA384,
    SSL_SIGN_RSA_PKCS1_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA512,
    SSL_SIGN_RSA_PKCS1_SHA512,
    SSL_SIGN_ED25519,
};

// TlsState is what a configured SSL_CTX keeps in its ex_data: the objects
// its callbacks read. Freed with the context.
struct TlsState {
  std::shared_ptr<RotatingCredentials> credentials;  // may be NULL (client)
  std::shared_ptr<TrustedRoots> roots;               // may be NULL (kNone)
  ClientAuth client_auth = ClientAuth::kNone;
  const Clock* clock = nullptr;
};

void FreeTlsState(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/,
                  int /*index*/, long /*argl*/, void* /*argp*/) {
  delete static_cast<TlsState*>(ptr);
}

int StateIndex() {
  // Thread-safe initialisation of a function-local static.
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeTlsState);
  return index;
}

const TlsState* StateOf(const SSL* ssl) {
  return static_cast<const TlsState*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), StateIndex()));
}

absl::Status InstallState(SSL_CTX* ctx, std::unique_ptr<TlsState> state) {
  int index = StateIndex();
  if (index < 0) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "tls: cannot allocate SSL_CTX ex_data");
  }
  void* old = SSL_CTX_get_ex_data(ctx, index);
  if (!SSL_CTX_set_ex_data(ctx, index, state.get())) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "tls: cannot store the TLS state");
  }
  state.release();
  delete static_cast<TlsState*>(old);
  return absl::OkStatus();
}

absl::Status ApplyPolicy(SSL_CTX* ctx) {
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "tls: cannot set the protocol versions");
  }
  if (!SSL_CTX_set_strict_cipher_list(ctx, kCipherList)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "tls: cannot set the cipher suites");
  }
  if (!SSL_CTX_set_verify_algorithm_prefs(
          ctx, kVerifyAlgorithms,
          sizeof(kVerifyAlgorithms) / sizeof(kVerifyAlgorithms[0]))) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "tls: cannot set the signature algorithms");
  }
  return absl::OkStatus();
}

// SetCredentials puts `creds` on `ssl` as its certificate chain and key.
bool SetCredentials(SSL* ssl, const Credentials& creds) {
  std::vector<bssl::UniquePtr<CRYPTO_BUFFER>> owned;
  std::vector<CRYPTO_BUFFER*> certs;
  owned.reserve(creds.chain.size());
  for (const Certificate& cert : creds.chain) {
    const std::vector<uint8_t>& der = cert.der();
    bssl::UniquePtr<CRYPTO_BUFFER> buf(
        CRYPTO_BUFFER_new(der.data(), der.size(), nullptr));
    if (buf == nullptr) {
      return false;
    }
    certs.push_back(buf.get());
    owned.push_back(std::move(buf));
  }
  return SSL_set_chain_and_key(ssl, certs.data(), certs.size(),
                               creds.key.native(), nullptr) == 1;
}

// SetClientCaNames names the subjects of `roots` in the CertificateRequest,
// so that clients (Go's among them) pick a certificate these roots issued.
bool SetClientCaNames(SSL* ssl, const std::vector<Certificate>& roots) {
  bssl::UniquePtr<STACK_OF(CRYPTO_BUFFER)> names(sk_CRYPTO_BUFFER_new_null());
  if (names == nullptr) {
    return false;
  }
  for (const Certificate& root : roots) {
    std::vector<uint8_t> subject = root.RawSubject();
    bssl::UniquePtr<CRYPTO_BUFFER> name(
        CRYPTO_BUFFER_new(subject.data(), subject.size(), nullptr));
    if (name == nullptr || !bssl::PushToStack(names.get(), std::move(name))) {
      return false;
    }
  }
  SSL_set0_client_CAs(ssl, names.release());
  return true;
}

// ServerCertCallback runs on every server handshake, after the ClientHello:
// it serves the newest credentials, read once, so the chain and key always
// belong together.
int ServerCertCallback(SSL* ssl, void* /*arg*/) {
  const TlsState* state = StateOf(ssl);
  if (state == nullptr || state->credentials == nullptr) {
    return 0;
  }
  std::shared_ptr<const Credentials> creds = state->credentials->Current();
  if (creds == nullptr || !SetCredentials(ssl, *creds)) {
    return 0;
  }
  if (state->client_auth != ClientAuth::kNone &&
      !SetClientCaNames(ssl, *state->roots->Current())) {
    return 0;
  }
  return 1;
}

// ClientCertCallback runs when a server asks for a client certificate.
// Without credentials the client continues without one.
int ClientCertCallback(SSL* ssl, void* /*arg*/) {
  const TlsState* state = StateOf(ssl);
  if (state == nullptr || state->credentials == nullptr) {
    return 1;
  }
  std::shared_ptr<const Credentials> creds = state->credentials->Current();
  if (creds == nullptr) {
    return 1;
  }
  return SetCredentials(ssl, *creds) ? 1 : 0;
}

// VerifyPeer verifies the chain the peer sent against the state's roots for
// `purpose`; on failure it picks the alert that says why.
absl::Status VerifyPeer(const SSL* ssl, const TlsState& state,
                        const char* purpose) {
  absl::StatusOr<std::vector<Certificate>> chain = PeerCertificates(ssl);
  if (!chain.ok()) {
    return chain.status();
  }
  if (chain->empty()) {
    return absl::UnauthenticatedError("tls: the peer sent no certificate");
  }
  std::vector<Certificate> intermediates(chain->begin() + 1, chain->end());
  VerifyOptions options;
  options.purpose = purpose;
  std::shared_ptr<const std::vector<Certificate>> roots =
      state.roots->Current();
  return VerifyChain(chain->front(), intermediates, *roots, state.clock->Now(),
                     options);
}

uint8_t AlertFor(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return SSL_AD_BAD_CERTIFICATE;
  }
  if (absl::StrContains(status.message(), "expired") ||
      absl::StrContains(status.message(), "not yet valid")) {
    return SSL_AD_CERTIFICATE_EXPIRED;
  }
  return SSL_AD_BAD_CERTIFICATE;
}

enum ssl_verify_result_t VerifyClient(SSL* ssl, uint8_t* out_alert) {
  const TlsState* state = StateOf(ssl);
  if (state == nullptr) {
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  if (state->client_auth == ClientAuth::kRequest) {
    // Proof of possession is the handshake's CertificateVerify; the chain
    // is for the application to judge.
    return ssl_verify_ok;
  }
  absl::Status status = VerifyPeer(ssl, *state, kOidClientAuth);
  if (!status.ok()) {
    *out_alert = AlertFor(status);
    return ssl_verify_invalid;
  }
  return ssl_verify_ok;
}

// NameMatches reports whether `pattern`, a DNS subjectAltName, matches
// `host`: equal ignoring case, or "*.rest" matching one label before
// "rest".
bool NameMatches(absl::string_view pattern, absl::string_view host) {
  if (absl::EqualsIgnoreCase(pattern, host)) {
    return true;
  }
  if (!absl::StartsWith(pattern, "*.") || pattern.size() < 3) {
    return false;
  }
  size_t dot = host.find('.');
  if (dot == 0 || dot == absl::string_view::npos) {
    return false;
  }
  return absl::EqualsIgnoreCase(pattern.substr(1), host.substr(dot));
}

absl::Status CheckServerName(const SSL* ssl, const Certificate& leaf) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr || *name == '\0') {
    return absl::UnauthenticatedError(
        "tls: no server name to check (set one with "
        "SSL_set_tlsext_host_name)");
  }
  absl::string_view host(name);
  SubjectAltName want = ClassifySan(host);
  for (const SubjectAltName& san : leaf.Sans()) {
    if (want.type == SanType::kIp) {
      if (san.type == SanType::kIp && san.value == want.value) {
        return absl::OkStatus();
      }
    } else if (san.type == SanType::kDns && NameMatches(san.value, host)) {
      return absl::OkStatus();
    }
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "tls: the server certificate does not name ", host.substr(0, 255)));
}

enum ssl_verify_result_t VerifyServer(SSL* ssl, uint8_t* out_alert) {
  const TlsState* state = StateOf(ssl);
  if (state == nullptr) {
    *out_alert = SSL_AD_INTERNAL_ERROR;
    return ssl_verify_invalid;
  }
  absl::Status status = VerifyPeer(ssl, *state, kOidServerAuth);
  if (status.ok()) {
    absl::StatusOr<std::vector<Certificate>> chain = PeerCertificates(ssl);
    status = chain.ok() ? CheckServerName(ssl, chain->front()) : chain.status();
  }
  if (!status.ok()) {
    *out_alert = AlertFor(status);
    return ssl_verify_invalid;
  }
  return ssl_verify_ok;
}

}  // namespace

absl::StatusOr<std::vector<Certificate>> PeerCertificates(const ssl_st* ssl) {
  std::vector<Certificate> chain;
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs == nullptr) {
    return chain;
  }
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(certs); i++) {
    const CRYPTO_BUFFER* buf = sk_CRYPTO_BUFFER_value(certs, i);
    absl::StatusOr<Certificate> cert = Certificate::FromDer(
        absl::MakeConstSpan(CRYPTO_BUFFER_data(buf), CRYPTO_BUFFER_len(buf)));
    if (!cert.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tls: peer certificate ", i, ": ", cert.status().message()));
    }
    chain.push_back(*std::move(cert));
  }
  return chain;
}

absl::Status ConfigureServerContext(
    ssl_ctx_st* ctx, std::shared_ptr<RotatingCredentials> credentials,
    std::shared_ptr<TrustedRoots> client_roots, ClientAuth client_auth,
    const Clock& clock) {
  if (ctx == nullptr || credentials == nullptr) {
    return absl::InvalidArgumentError(
        "tls: server context needs a context and credentials");
  }
  if (client_auth != ClientAuth::kNone && client_roots == nullptr) {
    return absl::InvalidArgumentError(
        "tls: client authentication needs client roots");
  }
  if (credentials->Current() == nullptr) {
    return absl::FailedPreconditionError(
        "tls: the server credentials have never been set");
  }
  MAYFLY_RETURN_IF_ERROR(ApplyPolicy(ctx));
  // No resumption: a resumed session would skip the certificate callback
  // and the client verification, i.e. keep judging by stale roots.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

  auto state = std::make_unique<TlsState>();
  state->credentials = std::move(credentials);
  state->roots = std::move(client_roots);
  state->client_auth = client_auth;
  state->clock = &clock;
  MAYFLY_RETURN_IF_ERROR(InstallState(ctx, std::move(state)));

  SSL_CTX_set_cert_cb(ctx, ServerCertCallback, nullptr);
  switch (client_auth) {
    case ClientAuth::kNone:
      SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kOptional:
    case ClientAuth::kRequest:
      SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_PEER, VerifyClient);
      break;
    case ClientAuth::kRequired:
      SSL_CTX_set_custom_verify(
          ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyClient);
      break;
  }
  return absl::OkStatus();
}

absl::Status ConfigureClientContext(
    ssl_ctx_st* ctx, std::shared_ptr<TrustedRoots> roots,
    std::shared_ptr<RotatingCredentials> credentials, const Clock& clock) {
  if (ctx == nullptr || roots == nullptr) {
    return absl::InvalidArgumentError(
        "tls: client context needs a context and roots");
  }
  MAYFLY_RETURN_IF_ERROR(ApplyPolicy(ctx));
  auto state = std::make_unique<TlsState>();
  state->credentials = std::move(credentials);
  state->roots = std::move(roots);
  state->clock = &clock;
  MAYFLY_RETURN_IF_ERROR(InstallState(ctx, std::move(state)));
  SSL_CTX_set_cert_cb(ctx, ClientCertCallback, nullptr);
  SSL_CTX_set_custom_verify(ctx, SSL_VERIFY_PEER, VerifyServer);
  return absl::OkStatus();
}

}  // namespace mayfly

// RotatingCredentials, TrustedRoots and the SSL_CTX helpers of mayfly/tls.h.
// Handshakes run in memory over a BIO pair, both ends on this thread, so
// the tests need no sockets and no timing.

#include "mayfly/tls.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "openssl/pool.h"
#include "openssl/ssl.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::StatusIs;
using testing::TestCa;
using testing::TestCaOptions;
using testing::Unwrap;

// ServerCredentials issues the CA's own TLS certificate for a new key.
std::shared_ptr<RotatingCredentials> ServerCredentials(TestCa& ca) {
  auto creds = std::make_shared<RotatingCredentials>();
  PrivateKey key = Unwrap(PrivateKey::Generate());
  IssuedCertificate issued =
      Unwrap(ca.ca->IssueServerCertificate(key.public_key(), absl::Hours(24)));
  REQUIRE(creds->Set(issued.chain, key).ok());
  return creds;
}

std::shared_ptr<RotatingCredentials> ClientCredentials(const Issued& issued) {
  auto creds = std::make_shared<RotatingCredentials>();
  REQUIRE(creds->Set(issued.cert.chain, issued.key).ok());
  return creds;
}

std::shared_ptr<TrustedRoots> RootsOf(const TestCa& ca) {
  return std::make_shared<TrustedRoots>(
      std::vector<Certificate>{ca.certs.root});
}

bssl::UniquePtr<SSL_CTX> NewContext() {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  REQUIRE(ctx != nullptr);
  return ctx;
}

// Connection is one client and one server SSL joined by a BIO pair.
struct Connection {
  bssl::UniquePtr<SSL> client;
  bssl::UniquePtr<SSL> server;

  // Handshake drives both ends until both finished (true) or one failed.
  bool Handshake() {
    bool client_done = false, server_done = false;
    for (int i = 0; i < 64 && !(client_done && server_done); i++) {
      if (!Step(client.get(), &client_done) ||
          !Step(server.get(), &server_done)) {
        return false;
      }
    }
    return client_done && server_done;
  }

  const Certificate ServerLeaf() const {
    std::vector<Certificate> chain = Unwrap(PeerCertificates(client.get()));
    REQUIRE(!chain.empty());
    return chain.front();
  }

 private:
  static bool Step(SSL* ssl, bool* done) {
    if (*done) {
      return true;
    }
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      *done = true;
      return true;
    }
    int err = SSL_get_error(ssl, r);
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }
};

// Connect makes a connection whose client sends `server_name` (NULL for
// none).
Connection Connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx,
                   const char* server_name = "localhost") {
  Connection c;
  c.client.reset(SSL_new(client_ctx));
  c.server.reset(SSL_new(server_ctx));
  REQUIRE(c.client != nullptr);
  REQUIRE(c.server != nullptr);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  REQUIRE(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0));
  SSL_set_bio(c.client.get(), client_bio, client_bio);
  SSL_set_bio(c.server.get(), server_bio, server_bio);
  SSL_set_connect_state(c.client.get());
  SSL_set_accept_state(c.server.get());
  if (server_name != nullptr) {
    REQUIRE(SSL_set_tlsext_host_name(c.client.get(), server_name));
  }
  return c;
}

// Fixture: a CA, a server context serving its TLS certificate, and a
// client context trusting its root.
struct TlsFixture {
  explicit TlsFixture(ClientAuth auth = ClientAuth::kNone,
                      TestCaOptions options = {})
      : ca(options),
        server_creds(ServerCredentials(ca)),
        server_ctx(NewContext()),
        client_ctx(NewContext()) {
    REQUIRE(ConfigureServerContext(server_ctx.get(), server_creds, RootsOf(ca),
                                   auth, ca.clock)
                .ok());
    REQUIRE(
        ConfigureClientContext(client_ctx.get(), RootsOf(ca), nullptr, ca.clock)
            .ok());
  }

  TestCa ca;
  std::shared_ptr<RotatingCredentials> server_creds;
  bssl::UniquePtr<SSL_CTX> server_ctx;
  bssl::UniquePtr<SSL_CTX> client_ctx;
};

TEST_CASE("credentials: Set refuses a key that is not the leaf's", "[tls]") {
  TestCa ca;
  Issued a = ca.Issue("a.internal");
  Issued b = ca.Issue("b.internal");
  RotatingCredentials creds;
  CHECK(creds.Current() == nullptr);
  REQUIRE(creds.Set(a.cert.chain, a.key).ok());
  CHECK(creds.Current()->generation == 1);

  CHECK(StatusIs(creds.Set(a.cert.chain, b.key),
                 absl::StatusCode::kInvalidArgument, "does not belong"));
  CHECK(StatusIs(creds.Set({}, a.key), absl::StatusCode::kInvalidArgument,
                 "empty"));
  // The refused sets changed nothing.
  std::shared_ptr<const Credentials> current = creds.Current();
  CHECK(current->generation == 1);
  CHECK(current->chain.front().Equals(a.leaf()));

  REQUIRE(creds.Set(b.cert.chain, b.key).ok());
  CHECK(creds.Current()->generation == 2);
  CHECK(creds.Current()->chain.front().Equals(b.leaf()));
  // What a reader held stays as it was.
  CHECK(current->chain.front().Equals(a.leaf()));
}

TEST_CASE("tls: server context needs credentials that were set", "[tls]") {
  TestCa ca;
  bssl::UniquePtr<SSL_CTX> ctx = NewContext();
  auto empty = std::make_shared<RotatingCredentials>();
  CHECK(StatusIs(
      ConfigureServerContext(ctx.get(), empty, nullptr, ClientAuth::kNone),
      absl::StatusCode::kFailedPrecondition));
  CHECK(StatusIs(ConfigureServerContext(ctx.get(), ServerCredentials(ca),
                                        nullptr, ClientAuth::kOptional),
                 absl::StatusCode::kInvalidArgument));
  CHECK(StatusIs(ConfigureClientContext(ctx.get(), nullptr, nullptr),
                 absl::StatusCode::kInvalidArgument));
}

TEST_CASE("tls: the next handshake serves the rotated certificate", "[tls]") {
  TlsFixture f;
  Connection first = Connect(f.client_ctx.get(), f.server_ctx.get());
  REQUIRE(first.Handshake());
  CHECK(SSL_version(first.client.get()) == TLS1_3_VERSION);
  std::vector<Certificate> chain = Unwrap(PeerCertificates(first.client.get()));
  REQUIRE(chain.size() == 2);  // leaf + intermediate
  CHECK(chain[1].Equals(f.ca.certs.intermediate));
  const Certificate old_leaf = chain[0];
  CHECK(old_leaf.Equals(f.server_creds->Current()->chain[0]));

  std::shared_ptr<RotatingCredentials> next = ServerCredentials(f.ca);
  std::shared_ptr<const Credentials> renewed = next->Current();
  REQUIRE(f.server_creds->Set(renewed->chain, renewed->key).ok());

  Connection second = Connect(f.client_ctx.get(), f.server_ctx.get());
  REQUIRE(second.Handshake());
  CHECK(second.ServerLeaf().Equals(renewed->chain[0]));
  CHECK_FALSE(second.ServerLeaf().Equals(old_leaf));
}

TEST_CASE("tls: TLS 1.0 and 1.1 clients are refused", "[tls]") {
  TlsFixture f;
  for (uint16_t version : {TLS1_VERSION, TLS1_1_VERSION}) {
    INFO("version " << version);
    bssl::UniquePtr<SSL_CTX> old = NewContext();
    REQUIRE(SSL_CTX_set_min_proto_version(old.get(), version));
    REQUIRE(SSL_CTX_set_max_proto_version(old.get(), version));
    Connection c = Connect(old.get(), f.server_ctx.get());
    CHECK_FALSE(c.Handshake());
  }
  // The same plain client at TLS 1.2 gets through: the version is the
  // reason.
  bssl::UniquePtr<SSL_CTX> modern = NewContext();
  REQUIRE(SSL_CTX_set_max_proto_version(modern.get(), TLS1_2_VERSION));
  Connection ok = Connect(modern.get(), f.server_ctx.get());
  CHECK(ok.Handshake());
  CHECK(SSL_version(ok.server.get()) == TLS1_2_VERSION);
}

TEST_CASE("tls: CBC, SHA-1 and RSA key exchange suites are refused", "[tls]") {
  TlsFixture f;
  for (const char* suite :
       {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-RSA-AES128-SHA", "AES128-SHA", "AES128-GCM-SHA256"}) {
    INFO(suite);
    bssl::UniquePtr<SSL_CTX> weak = NewContext();
    REQUIRE(SSL_CTX_set_max_proto_version(weak.get(), TLS1_2_VERSION));
    REQUIRE(SSL_CTX_set_strict_cipher_list(weak.get(), suite));
    Connection c = Connect(weak.get(), f.server_ctx.get());
    CHECK_FALSE(c.Handshake());
  }
  bssl::UniquePtr<SSL_CTX> aead = NewContext();
  REQUIRE(SSL_CTX_set_max_proto_version(aead.get(), TLS1_2_VERSION));
  REQUIRE(SSL_CTX_set_strict_cipher_list(aead.get(),
                                         "ECDHE-ECDSA-AES128-GCM-SHA256"));
  Connection c = Connect(aead.get(), f.server_ctx.get());
  REQUIRE(c.Handshake());
  CHECK(std::string(SSL_CIPHER_get_name(SSL_get_current_cipher(
            c.server.get()))) == "ECDHE-ECDSA-AES128-GCM-SHA256");
}

TEST_CASE("tls: required client auth refuses another CA and no certificate",
          "[tls]") {
  TlsFixture f(ClientAuth::kRequired);
  TestCaOptions other_options;
  other_options.name = "Other";
  TestCa other(other_options);

  struct Case {
    const char* what;
    std::shared_ptr<RotatingCredentials> creds;
    bool ok;
  };
  const Case cases[] = {
      {"no certificate", nullptr, false},
      {"another CA's certificate",
       ClientCredentials(other.Issue("svc.internal")), false},
      {"this CA's certificate", ClientCredentials(f.ca.Issue("svc.internal")),
       true},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    bssl::UniquePtr<SSL_CTX> client = NewContext();
    REQUIRE(
        ConfigureClientContext(client.get(), RootsOf(f.ca), c.creds, f.ca.clock)
            .ok());
    Connection conn = Connect(client.get(), f.server_ctx.get());
    CHECK(conn.Handshake() == c.ok);
    if (c.ok) {
      std::vector<Certificate> seen =
          Unwrap(PeerCertificates(conn.server.get()));
      REQUIRE(seen.size() == 2);
      CHECK(seen[0].Equals(c.creds->Current()->chain[0]));
    }
  }

  // An expired client certificate from the right CA is refused too.
  std::shared_ptr<RotatingCredentials> creds =
      ClientCredentials(f.ca.Issue("late.internal"));
  f.ca.clock.Advance(absl::Hours(48));
  bssl::UniquePtr<SSL_CTX> client = NewContext();
  REQUIRE(ConfigureClientContext(client.get(), RootsOf(f.ca), creds, f.ca.clock)
              .ok());
  // (The server's own certificate expired as well; renew it first.)
  std::shared_ptr<const Credentials> fresh = ServerCredentials(f.ca)->Current();
  REQUIRE(f.server_creds->Set(fresh->chain, fresh->key).ok());
  Connection conn = Connect(client.get(), f.server_ctx.get());
  CHECK_FALSE(conn.Handshake());
}

TEST_CASE("tls: optional client auth works without a certificate", "[tls]") {
  TlsFixture f(ClientAuth::kOptional);
  Connection none = Connect(f.client_ctx.get(), f.server_ctx.get());
  REQUIRE(none.Handshake());
  CHECK(Unwrap(PeerCertificates(none.server.get())).empty());

  // A certificate that is sent must verify.
  TestCaOptions other_options;
  other_options.name = "Other";
  TestCa other(other_options);
  bssl::UniquePtr<SSL_CTX> foreign = NewContext();
  REQUIRE(ConfigureClientContext(foreign.get(), RootsOf(f.ca),
                                 ClientCredentials(other.Issue("x.internal")),
                                 f.ca.clock)
              .ok());
  Connection bad = Connect(foreign.get(), f.server_ctx.get());
  CHECK_FALSE(bad.Handshake());

  bssl::UniquePtr<SSL_CTX> own = NewContext();
  REQUIRE(ConfigureClientContext(own.get(), RootsOf(f.ca),
                                 ClientCredentials(f.ca.Issue("y.internal")),
                                 f.ca.clock)
              .ok());
  Connection good = Connect(own.get(), f.server_ctx.get());
  CHECK(good.Handshake());
  CHECK(Unwrap(PeerCertificates(good.server.get())).size() == 2);
}

TEST_CASE("tls: kRequest passes any client chain on for the application",
          "[tls]") {
  TlsFixture f(ClientAuth::kRequest);
  TestCaOptions other_options;
  other_options.name = "Other";
  TestCa other(other_options);
  Issued foreign = other.Issue("x.internal");
  bssl::UniquePtr<SSL_CTX> client = NewContext();
  REQUIRE(ConfigureClientContext(client.get(), RootsOf(f.ca),
                                 ClientCredentials(foreign), f.ca.clock)
              .ok());
  Connection conn = Connect(client.get(), f.server_ctx.get());
  REQUIRE(conn.Handshake());
  std::vector<Certificate> seen = Unwrap(PeerCertificates(conn.server.get()));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].Equals(foreign.leaf()));
}

// RecordRequestedCas is a client certificate callback that keeps the
// acceptable issuers the server named, and sends no certificate.
int RecordRequestedCas(SSL* ssl, void* arg) {
  auto* names = static_cast<std::vector<std::vector<uint8_t>>*>(arg);
  const STACK_OF(CRYPTO_BUFFER)* cas = SSL_get0_server_requested_CAs(ssl);
  for (size_t i = 0; cas != nullptr && i < sk_CRYPTO_BUFFER_num(cas); i++) {
    const CRYPTO_BUFFER* name = sk_CRYPTO_BUFFER_value(cas, i);
    names->emplace_back(CRYPTO_BUFFER_data(name),
                        CRYPTO_BUFFER_data(name) + CRYPTO_BUFFER_len(name));
  }
  return 1;
}

TEST_CASE("tls: the certificate request names the client roots", "[tls]") {
  TlsFixture f(ClientAuth::kRequest);
  bssl::UniquePtr<SSL_CTX> client = NewContext();  // verifies nothing
  std::vector<std::vector<uint8_t>> names;
  SSL_CTX_set_cert_cb(client.get(), RecordRequestedCas, &names);
  REQUIRE(Connect(client.get(), f.server_ctx.get()).Handshake());
  REQUIRE(names.size() == 1);
  CHECK(names[0] == f.ca.certs.root.RawSubject());
}

TEST_CASE("tls: the client verifies the server's chain and name", "[tls]") {
  TestCaOptions options;
  options.dns_names = {"localhost", "127.0.0.1", "*.svc.internal"};
  TlsFixture f(ClientAuth::kNone, options);

  struct Case {
    const char* name;
    bool ok;
  };
  const Case cases[] = {
      {"localhost", true},
      {"LOCALHOST", true},
      {"127.0.0.1", true},
      {"a.svc.internal", true},
      {"a.b.svc.internal", false},
      {"svc.internal", false},
      {"evil.example", false},
      {"127.0.0.2", false},
      {nullptr, false},
  };
  for (const Case& c : cases) {
    INFO((c.name == nullptr ? "(no name)" : c.name));
    Connection conn = Connect(f.client_ctx.get(), f.server_ctx.get(), c.name);
    CHECK(conn.Handshake() == c.ok);
  }

  // A client trusting another root refuses this server.
  TestCaOptions other_options;
  other_options.name = "Other";
  TestCa other(other_options);
  bssl::UniquePtr<SSL_CTX> stranger = NewContext();
  REQUIRE(ConfigureClientContext(stranger.get(), RootsOf(other), nullptr,
                                 f.ca.clock)
              .ok());
  Connection untrusted = Connect(stranger.get(), f.server_ctx.get());
  CHECK_FALSE(untrusted.Handshake());

  // Rotating the client's roots takes effect on the next handshake.
  auto roots = RootsOf(other);
  bssl::UniquePtr<SSL_CTX> rotating = NewContext();
  REQUIRE(
      ConfigureClientContext(rotating.get(), roots, nullptr, f.ca.clock).ok());
  CHECK_FALSE(Connect(rotating.get(), f.server_ctx.get()).Handshake());
  roots->Set({f.ca.certs.root});
  CHECK(Connect(rotating.get(), f.server_ctx.get()).Handshake());

  // An expired server certificate is refused.
  f.ca.clock.Advance(absl::Hours(25));
  CHECK_FALSE(Connect(f.client_ctx.get(), f.server_ctx.get()).Handshake());
}

}  // namespace
}  // namespace mayfly

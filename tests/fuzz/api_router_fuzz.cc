// Fuzz target: HTTP requests through the step-ca API router
// (lib/server/api.h, internal::Api), over an in-memory Authority on a fixed
// FakeClock.
//
// Input: up to kMaxRequests requests separated by a line "~~~", each
//
//   METHOD TARGET            e.g. "POST /1.0/sign" or "GET
//   /provisioners?limit=1" name: value              content-type,
//   authorization, peer (0 or more)
//                            (a blank line)
//   body                     the rest, up to the next "~~~" line
//
// "peer" names the TLS client chain, comma-separated, from a fixed set of
// certificates (kPeers). $NAME anywhere in the target, a header value or
// the body is replaced by one of a fixed set of values made at start-up
// (kVariables in the README): valid tokens, CSRs (JSON-escaped PEM),
// serials, the root fingerprint, provisioner kids, a provisioner cursor.
// The fuzzer cannot forge a signature, so without them every token and
// client certificate would be refused at the first check.
//
// Each input runs against a fresh Authority (same keys, certificates and
// provisioners, a new memory store holding the same five certificate
// records and one revocation), so an input's result does not depend on
// what ran before it: a crash replays from its input alone.
//
// Properties, per request (api.h, STEP-PROTOCOL.md, ARCHITECTURE.md):
// - the route is the one the path names (at "/" and "/1.0/"), or "unknown"
//   with a 404; a method the route does not serve is 405 with Allow;
// - the status is in the route's expected set: never a 5xx but /revoke's
//   documented 501 for non-passive revocation;
// - every error is JSON {"status":N,"message":"..."} with N the status, and
//   carries an internal reason; a success carries none; HEAD has no body;
// - the outcome label is from api.h's fixed set, set for POST routes and
//   empty for the others;
// - a refused request leaves the store as it was; an issued certificate
//   chains to the root at the fixed time and is recorded; a revocation is
//   recorded;
// - no response (body, headers, internal reason) holds a private key
//   ("d" of any key made here), the provisioner password, or the token the
//   request authenticated with.
// Recommended -max_len: 4096 (tests/fuzz/README.md).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz_check.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/config.h"
#include "mayfly/jose.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"
#include "mayfly/token.h"
#include "rapidjson/document.h"
#include "server/api.h"

namespace {

using mayfly::Authority;
using mayfly::Certificate;
using mayfly::PrivateKey;
using mayfly::internal::Api;
using mayfly::internal::ApiRequest;
using mayfly::internal::ApiResponse;

// 2026-11-25T00:45:00Z, when tests/testdata/step was made; the clock never
// moves, so the tokens made at start-up stay valid for the whole run.
const absl::Time kNow = absl::FromUnixSeconds(1795567500);
constexpr char kCaUrl[] = "https://ca.internal:9000";
constexpr char kPassword[] = "fuzz-provisioner-password";
constexpr size_t kMaxRequests = 8;
constexpr absl::string_view kSeparator = "\n~~~\n";

// Test-only keys, fixed so that every run builds the same PKI (the leaf
// serials the Authority draws at start-up are the one random part).
// RFC 7515 appendix A.3: the root's key.
constexpr char kRootJwk[] =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
    R"("d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})";
// RFC 8037 appendix A.1: the "ops@example.com" provisioner's key (EdDSA).
constexpr char kOpsJwk[] =
    R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",)"
    R"("x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
constexpr char kIntermediateKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeKHEJDHX0UeiPkfo
Kq1xt3EnHRoJla0Tcvwl0yQNbvGhRANCAAT7KRpdLZoUboBGc1x5OaoJ25eBdRXr
OAdvVX+0dTGl4xvpEMMiXSC1cCll6FvD6prsY3hgkuwMJOyGbxLFTyBJ
-----END PRIVATE KEY-----
)";
constexpr char kAdminKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrk87LIFkgoklhzkN
enKIhkDx6WTaNY6zKKm+PoN8zR6hRANCAASskAMmBFE2iJOV0KyTOZJuTRcpz50h
Slql8+FWGPAUDMFH6g6m+YMNzXlwD1Uso6IbdXM4g48VZhacKi2q9LaJ
-----END PRIVATE KEY-----
)";
constexpr char kLeafKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkoi/JqYolSluqeu6
7CcDyg0GVenK1ZkWiuthpcOosoihRANCAAR2+masfZ2Zyto3M6XIHpO/5XJyJriG
APCz7Nzw+ZtgAfIumxg4Lv3k86H4PfO3if0jPaaVvexRa1B6Ehi6AJVn
-----END PRIVATE KEY-----
)";
constexpr char kShortKey[] = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDBW2y3Mn8Z3zHVkKZ/M
js/3orzpCOCFlOeP1q99dgFIfrpCq/TVaXar+6sbYuFZOq6hZANiAATv+QWN3csS
eaNNCWy5eo8HaDg9X57uERs9ynwdV13SmaaukyBaCmrCEfXahC4t7CSfupxK94ZG
yMOfW0kIgCl2HoHQJdXdcdNutynJGc8rHdYN7IwTh3NoSFYe+9EEdBw=
-----END PRIVATE KEY-----
)";

// Must returns the value of a start-up step, or stops the target saying
// why: without its fixed world the target tests nothing.
template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "api_router_fuzz: %s: %s\n", what,
                 v.status().ToString().c_str());
    std::abort();
  }
  return *std::move(v);
}

void MustOk(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "api_router_fuzz: %s: %s\n", what,
                 s.ToString().c_str());
    std::abort();
  }
}

// Ed25519Key makes an Ed25519 key whose seed is 32 bytes of `tag`: PKCS#8
// (RFC 8410) is a fixed 16-byte prefix and the seed.
PrivateKey Ed25519Key(uint8_t tag) {
  std::vector<uint8_t> der = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                              0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
  der.insert(der.end(), 32, tag);
  return Must(PrivateKey::FromDer(der), "Ed25519 key");
}

const mayfly::FakeClock& FixedClock() {
  static const mayfly::FakeClock* clock = new mayfly::FakeClock(kNow);
  return *clock;
}

// World is everything made once: the PKI, the configuration, certificates
// issued before kNow, and the values $NAME stands for.
struct World {
  std::unique_ptr<mayfly::AuthorityParts> parts;
  std::vector<mayfly::CertificateRecord> records;
  mayfly::RevocationRecord revocation;
  std::map<std::string, std::vector<Certificate>, std::less<>> peers;
  std::map<std::string, std::string, std::less<>> vars;
  // Never in any response: each key's private "d" and the password.
  std::vector<std::string> secrets;
};

std::string JwkD(const PrivateKey& key) {
  const std::string jwk = key.ToJwk();
  absl::StatusOr<rapidjson::Document> doc =
      mayfly::internal::ParseJsonObject(jwk, "jwk");
  FUZZ_CHECK(doc.ok() && doc->HasMember("d") && (*doc)["d"].IsString(),
             "a private JWK has d");
  return std::string((*doc)["d"].GetString(), (*doc)["d"].GetStringLength());
}

// JsonEscaped is `s` as the inside of a JSON string.
std::string JsonEscaped(absl::string_view s) {
  std::string quoted = mayfly::internal::JsonString(s);
  return quoted.substr(1, quoted.size() - 2);
}

std::string CsrPem(const PrivateKey& key, const std::string& cn,
                   std::vector<std::string> sans) {
  mayfly::CsrOptions options;
  options.common_name = cn;
  options.sans = std::move(sans);
  return Must(mayfly::CertificateRequest::Create(key, options), "CSR").ToPem();
}

std::string SignToken(const mayfly::TokenSigner& signer, const std::string& sub,
                      std::vector<std::string> sans, const std::string& sha) {
  mayfly::TokenRequest req;
  req.subject = sub;
  req.audience = Must(mayfly::SignAudience(kCaUrl), "sign audience");
  req.sans = std::move(sans);
  req.root_fingerprint = sha;
  return Must(signer.Sign(req), "sign token");
}

std::string RevokeToken(const mayfly::TokenSigner& signer,
                        const std::string& serial, const std::string& sha) {
  mayfly::TokenRequest req;
  req.subject = serial;
  req.audience = Must(mayfly::RevokeAudience(kCaUrl), "revoke audience");
  req.root_fingerprint = sha;
  req.revoke = true;
  return Must(signer.Sign(req), "revoke token");
}

// RenewToken is step's x5cInsecure renew token (STEP-PROTOCOL.md 4.6).
std::string RenewToken(const mayfly::IssuedCertificate& issued,
                       const PrivateKey& key) {
  mayfly::JwsHeader header;
  header.kid = key.public_key().JwkThumbprint();
  header.typ = "JWT";
  for (const Certificate& cert : issued.chain) {
    header.x5c_insecure.push_back(mayfly::internal::Base64Encode(cert.der()));
  }
  const int64_t t = absl::ToUnixSeconds(kNow);
  const std::string claims =
      absl::StrCat(R"({"aud":)",
                   mayfly::internal::JsonString(
                       Must(mayfly::RenewAudience(kCaUrl), "renew audience")),
                   R"(,"exp":)", t + 300, R"(,"iat":)", t,
                   R"(,"iss":"step-ca-client/1.0","nbf":)", t, R"(,"sub":)",
                   mayfly::internal::JsonString(issued.leaf.CommonName()), "}");
  return Must(mayfly::SignJws(key, header, claims), "renew token");
}

// Issued is a certificate issued at start-up with its key.
struct Issued {
  mayfly::IssuedCertificate cert;
  PrivateKey key;
};

Issued IssueAt(Authority& ca, const mayfly::TokenSigner& signer,
               const PrivateKey& key, const std::string& cn,
               const std::string& sha) {
  absl::StatusOr<mayfly::CertificateRequest> csr =
      mayfly::CertificateRequest::FromPem(CsrPem(key, cn, {cn}));
  const std::string ott = SignToken(signer, cn, {cn}, sha);
  return Issued{
      Must(ca.Sign(Must(std::move(csr), "CSR parse"), ott, {}), "setup sign"),
      key};
}

World* BuildWorld() {
  auto* w = new World;
  const PrivateKey root_key = Must(PrivateKey::FromJwk(kRootJwk), "root key");
  const PrivateKey int_key =
      Must(PrivateKey::FromPem(kIntermediateKey), "intermediate key");
  mayfly::CertificateTemplate tmpl;
  tmpl.serial = {0x4d, 0x46, 0x01};
  tmpl.common_name = "Fuzz Root CA";
  tmpl.organization = "mayfly fuzz";
  tmpl.not_before = kNow - absl::Hours(24 * 365);
  tmpl.not_after = kNow + absl::Hours(24 * 3650);
  tmpl.key_usage = mayfly::kKeyUsageKeyCertSign | mayfly::kKeyUsageCrlSign;
  tmpl.basic = mayfly::BasicConstraints{true, 1};
  const Certificate root = Must(
      mayfly::IssueCertificate(tmpl, root_key.public_key(), root_key, nullptr),
      "root certificate");
  tmpl.serial = {0x4d, 0x46, 0x02};
  tmpl.common_name = "Fuzz Intermediate CA";
  tmpl.basic = mayfly::BasicConstraints{true, 0};
  const Certificate intermediate = Must(
      mayfly::IssueCertificate(tmpl, int_key.public_key(), root_key, &root),
      "intermediate certificate");
  // A CA of its own, for chains that are not ours.
  const PrivateKey foreign_key = Ed25519Key(0x21);
  tmpl.serial = {0x4d, 0x46, 0x03};
  tmpl.common_name = "Foreign CA";
  tmpl.basic = mayfly::BasicConstraints{true, 0};
  const Certificate foreign =
      Must(mayfly::IssueCertificate(tmpl, foreign_key.public_key(), foreign_key,
                                    nullptr),
           "foreign certificate");

  // Three provisioners: "admin" (ES256, renewal after expiry allowed),
  // "ops@example.com" (EdDSA, renewal disabled, no encrypted key) and
  // "short" (ES384, lifetimes of 1 to 10 minutes).
  const PrivateKey admin_key = Must(PrivateKey::FromPem(kAdminKey), "admin");
  const PrivateKey ops_key = Must(PrivateKey::FromJwk(kOpsJwk), "ops");
  const PrivateKey short_key = Must(PrivateKey::FromPem(kShortKey), "short");
  mayfly::Claims admin_claims;
  admin_claims.allow_renewal_after_expiry = true;
  mayfly::Provisioner admin =
      Must(mayfly::Provisioner::FromPrivateKey("admin", admin_key, kPassword,
                                               admin_claims, 1000),
           "admin provisioner");
  mayfly::Claims ops_claims;
  ops_claims.disable_renewal = true;
  mayfly::Provisioner ops =
      Must(mayfly::Provisioner::FromPrivateKey("ops@example.com", ops_key,
                                               kPassword, ops_claims, 1000),
           "ops provisioner");
  ops.encrypted_key.clear();
  mayfly::Claims short_claims;
  short_claims.min_tls_duration = absl::Minutes(1);
  short_claims.default_tls_duration = absl::Minutes(5);
  short_claims.max_tls_duration = absl::Minutes(10);
  mayfly::Provisioner short_p =
      Must(mayfly::Provisioner::FromPrivateKey("short", short_key, kPassword,
                                               short_claims, 1000),
           "short provisioner");

  mayfly::CaConfig config;
  config.dns_names = {"ca.internal", "localhost", "127.0.0.1"};
  config.provisioners = {admin, ops, short_p};
  config.crl.enabled = true;
  w->parts = std::make_unique<mayfly::AuthorityParts>(
      mayfly::AuthorityParts{{root}, intermediate, int_key, config});
  const std::string sha = root.FingerprintHex();

  // Certificates issued before kNow by an Authority over the same parts:
  // one that expired an hour ago (within admin's renewal grace period),
  // one valid, one to be revoked and one renewed from it (revoked through
  // its lineage), and one from "ops@example.com".
  mayfly::FakeClock setup_clock(kNow - absl::Hours(25));
  std::unique_ptr<Authority> setup = Must(
      Authority::FromParts(*w->parts, mayfly::NewMemoryStore(), setup_clock),
      "setup authority");
  const mayfly::TokenSigner admin_then(admin_key, admin.kid, admin.name,
                                       setup_clock);
  const mayfly::TokenSigner ops_then(ops_key, ops.kid, ops.name, setup_clock);
  const Issued expired =
      IssueAt(*setup, admin_then, Ed25519Key(0x11), "old.example.com", sha);
  setup_clock.Set(kNow - absl::Hours(1));
  const Issued leaf = IssueAt(*setup, admin_then,
                              Must(PrivateKey::FromPem(kLeafKey), "leaf key"),
                              "svc.example.com", sha);
  const Issued revoked =
      IssueAt(*setup, admin_then, Ed25519Key(0x12), "gone.example.com", sha);
  const Issued child{Must(setup->Renew(revoked.cert.chain), "setup renew"),
                     revoked.key};
  const Issued ops_leaf =
      IssueAt(*setup, ops_then, Ed25519Key(0x13), "ops.example.com", sha);

  for (const Issued* i : {&expired, &leaf, &revoked, &child, &ops_leaf}) {
    w->records.push_back(Must(
        setup->store().GetCertificate(i->cert.leaf.SerialDecimal()), "record"));
  }
  w->revocation.serial = revoked.cert.leaf.SerialDecimal();
  w->revocation.reason_code = 1;
  w->revocation.reason = "key compromise";
  w->revocation.revoked_at = kNow - absl::Minutes(30);
  w->revocation.expires_at = revoked.cert.leaf.NotAfter();
  w->revocation.provisioner = admin.name;

  w->peers = {{"leaf", {leaf.cert.leaf}},
              {"expired", {expired.cert.leaf}},
              {"revoked", {revoked.cert.leaf}},
              {"child", {child.cert.leaf}},
              {"ops", {ops_leaf.cert.leaf}},
              {"intermediate", {intermediate}},
              {"root", {root}},
              {"foreign", {foreign}}};

  // Tokens made at kNow, valid for the run.
  const mayfly::TokenSigner admin_now(admin_key, admin.kid, admin.name,
                                      FixedClock());
  const mayfly::TokenSigner ops_now(ops_key, ops.kid, ops.name, FixedClock());
  const mayfly::TokenSigner short_now(short_key, short_p.kid, short_p.name,
                                      FixedClock());
  const PrivateKey csr_key = Ed25519Key(0x31);
  const std::vector<std::string> multi = {"multi.example.com", "10.0.0.7",
                                          "ops@example.com",
                                          "spiffe://example.org/svc"};
  auto& v = w->vars;
  v["SIGN"] = SignToken(admin_now, "svc.example.com", {}, sha);
  v["SIGN_MULTI"] = SignToken(admin_now, "multi.example.com", multi, sha);
  v["SIGN_OPS"] = SignToken(ops_now, "ops.example.com", {}, sha);
  v["SIGN_SHORT"] = SignToken(short_now, "short.example.com", {}, sha);
  v["REVOKE"] = RevokeToken(admin_now, leaf.cert.leaf.SerialDecimal(), sha);
  v["REVOKE_EXPIRED"] =
      RevokeToken(admin_now, expired.cert.leaf.SerialDecimal(), sha);
  v["REVOKE_REVOKED"] =
      RevokeToken(admin_now, revoked.cert.leaf.SerialDecimal(), sha);
  v["REVOKE_OPS"] =
      RevokeToken(ops_now, ops_leaf.cert.leaf.SerialDecimal(), sha);
  v["RENEW"] = RenewToken(leaf.cert, leaf.key);
  v["RENEW_EXPIRED"] = RenewToken(expired.cert, expired.key);
  v["RENEW_CHILD"] = RenewToken(child.cert, child.key);
  v["CSR"] =
      JsonEscaped(CsrPem(csr_key, "svc.example.com", {"svc.example.com"}));
  v["CSR_MULTI"] = JsonEscaped(CsrPem(csr_key, "multi.example.com", multi));
  v["CSR_OPS"] =
      JsonEscaped(CsrPem(csr_key, "ops.example.com", {"ops.example.com"}));
  v["CSR_SHORT"] =
      JsonEscaped(CsrPem(csr_key, "short.example.com", {"short.example.com"}));
  v["SERIAL"] = leaf.cert.leaf.SerialDecimal();
  v["SERIAL_HEX"] =
      absl::StrCat("0x", mayfly::internal::Hex(leaf.cert.leaf.Serial()));
  v["SERIAL_EXPIRED"] = expired.cert.leaf.SerialDecimal();
  v["SERIAL_REVOKED"] = revoked.cert.leaf.SerialDecimal();
  v["SERIAL_CHILD"] = child.cert.leaf.SerialDecimal();
  v["SERIAL_OPS"] = ops_leaf.cert.leaf.SerialDecimal();
  v["ROOT_SHA"] = sha;
  v["KID"] = admin.kid;
  v["KID_OPS"] = ops.kid;
  v["KID_SHORT"] = short_p.kid;

  for (const PrivateKey* key :
       {&root_key, &int_key, &foreign_key, &admin_key, &ops_key, &short_key,
        &csr_key, &expired.key, &leaf.key, &revoked.key, &ops_leaf.key}) {
    w->secrets.push_back(JwkD(*key));
  }
  w->secrets.push_back(kPassword);
  return w;
}

std::unique_ptr<Authority> NewAuthority(const World& w) {
  std::unique_ptr<mayfly::Store> store = mayfly::NewMemoryStore();
  for (const mayfly::CertificateRecord& record : w.records) {
    MustOk(store->RecordCertificate(record), "record certificate");
  }
  MustOk(store->Revoke(w.revocation), "revoke");
  return Must(Authority::FromParts(*w.parts, std::move(store), FixedClock()),
              "authority");
}

// Cursor returns the nextCursor of a one-provisioner page: what a client
// sends for the second page.
std::string Cursor(const World& w) {
  std::unique_ptr<Authority> ca = NewAuthority(w);
  Api api(ca.get(), mayfly::internal::ApiOptions{"0.0.0-fuzz"});
  ApiRequest req;
  req.method = "GET";
  req.path = "/provisioners";
  req.query = {{"limit", "1"}};
  ApiResponse res = api.Handle(req);
  absl::StatusOr<rapidjson::Document> doc =
      mayfly::internal::ParseJsonObject(res.body, "provisioners");
  FUZZ_CHECK(doc.ok() && doc->HasMember("nextCursor") &&
                 (*doc)["nextCursor"].IsString(),
             "a provisioners page has a nextCursor");
  return (*doc)["nextCursor"].GetString();
}

const World& GetWorld() {
  static const World* world = [] {
    World* w = BuildWorld();
    w->vars["CURSOR"] = Cursor(*w);
    return w;
  }();
  return *world;
}

// Expand replaces each $NAME (upper case, digits, '_') that names a
// variable by its value; anything else is left as it is.
std::string Expand(absl::string_view s, const World& w) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '$') {
      size_t j = i + 1;
      while (j < s.size() &&
             (absl::ascii_isupper(static_cast<unsigned char>(s[j])) ||
              absl::ascii_isdigit(static_cast<unsigned char>(s[j])) ||
              s[j] == '_')) {
        j++;
      }
      auto it = w.vars.find(s.substr(i + 1, j - i - 1));
      if (it != w.vars.end()) {
        out += it->second;
        i = j;
        continue;
      }
    }
    out.push_back(s[i]);
    i++;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PercentDecode decodes %XX (a malformed escape stays as written) and, in
// a query, '+' as a space, as an HTTP server hands them to the router.
std::string PercentDecode(absl::string_view s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
        HexValue(s[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (query && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// ParseRequest reads one request of the input format; `raw` gets the
// expanded text of all its parts, to tell where a token appears.
ApiRequest ParseRequest(absl::string_view text, const World& w,
                        std::string* raw) {
  ApiRequest req;
  absl::string_view head = text;
  absl::string_view body;
  size_t blank = text.find("\n\n");
  if (blank != absl::string_view::npos) {
    head = text.substr(0, blank);
    body = text.substr(blank + 2);
  }
  std::vector<absl::string_view> lines = absl::StrSplit(head, '\n');
  absl::string_view request_line = lines[0];
  size_t space = request_line.find(' ');
  req.method = std::string(request_line.substr(0, space));
  absl::string_view target = space == absl::string_view::npos
                                 ? absl::string_view()
                                 : request_line.substr(space + 1);
  size_t question = target.find('?');
  const std::string path = Expand(target.substr(0, question), w);
  req.path = PercentDecode(path, false);
  *raw = absl::StrCat(req.method, "\n", path, "\n", req.path);
  if (question != absl::string_view::npos) {
    const std::string query = Expand(target.substr(question + 1), w);
    absl::StrAppend(raw, "\n", query);
    for (absl::string_view pair : absl::StrSplit(query, '&')) {
      if (pair.empty()) {
        continue;
      }
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      req.query.emplace_back(PercentDecode(kv.first, true),
                             PercentDecode(kv.second, true));
      absl::StrAppend(raw, "\n", req.query.back().first, "\n",
                      req.query.back().second);
    }
  }
  for (size_t i = 1; i < lines.size(); i++) {
    size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) {
      continue;
    }
    const std::string name = absl::AsciiStrToLower(
        absl::StripAsciiWhitespace(lines[i].substr(0, colon)));
    const std::string value =
        Expand(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)), w);
    absl::StrAppend(raw, "\n", value);
    if (name == "content-type") {
      req.content_type = value;
    } else if (name == "authorization") {
      req.authorization = value;
    } else if (name == "peer") {
      for (absl::string_view peer : absl::StrSplit(value, ',')) {
        auto it = w.peers.find(absl::StripAsciiWhitespace(peer));
        if (it != w.peers.end()) {
          req.peer_chain.insert(req.peer_chain.end(), it->second.begin(),
                                it->second.end());
        }
      }
    }
  }
  req.body = Expand(body, w);
  absl::StrAppend(raw, "\n", req.body);
  return req;
}

// The routes as api.h serves them, with the statuses each may answer.
struct RouteRule {
  const char* path;
  bool post;
  std::vector<int> statuses;
  bool issues = false;  // a 201 is a new certificate
};

const std::vector<RouteRule>& Rules() {
  static const auto* rules = new std::vector<RouteRule>{
      {"/health", false, {200}},
      {"/version", false, {200}},
      {"/root/{sha}", false, {200, 404}},
      {"/roots", false, {201}},
      {"/roots.pem", false, {200}},
      {"/intermediates", false, {201}},
      {"/intermediates.pem", false, {200}},
      {"/federation", false, {201}},
      {"/provisioners", false, {200, 400}},
      {"/provisioners/{kid}/encrypted-key", false, {200, 404}},
      {"/crl", false, {200}},
      {"/sign", true, {201, 400, 401, 403, 415}, true},
      {"/renew", true, {201, 400, 401, 403, 415}, true},
      {"/re-sign", true, {201, 400, 401, 403, 415}, true},
      {"/rekey", true, {201, 400, 401, 403, 415}, true},
      // 501: passive = false (STEP-PROTOCOL.md 3.7), the one documented 5xx.
      {"/revoke", true, {200, 400, 401, 403, 415, 501}},
  };
  return *rules;
}

// ExpectedRule matches `path` on its own terms: at "/" or under "/1.0/",
// a {param} being one non-empty segment.
const RouteRule* ExpectedRule(absl::string_view path) {
  if (absl::StartsWith(path, "/1.0/")) {
    path.remove_prefix(4);
  }
  auto one_segment = [](absl::string_view s) {
    return !s.empty() && s.find('/') == absl::string_view::npos;
  };
  for (const RouteRule& rule : Rules()) {
    absl::string_view tmpl = rule.path;
    if (tmpl == path) {
      return &rule;
    }
    if (tmpl == "/root/{sha}" && absl::StartsWith(path, "/root/") &&
        one_segment(path.substr(6))) {
      return &rule;
    }
    constexpr absl::string_view kKeyPrefix = "/provisioners/";
    constexpr absl::string_view kKeySuffix = "/encrypted-key";
    if (tmpl == "/provisioners/{kid}/encrypted-key" &&
        path.size() > kKeyPrefix.size() + kKeySuffix.size() &&
        absl::StartsWith(path, kKeyPrefix) &&
        absl::EndsWith(path, kKeySuffix) &&
        one_segment(
            path.substr(kKeyPrefix.size(),
                        path.size() - kKeyPrefix.size() - kKeySuffix.size()))) {
      return &rule;
    }
  }
  return nullptr;
}

bool IsOutcome(const std::string& outcome) {
  static const char* const kOutcomes[] = {"issued",
                                          "renewed",
                                          "rekeyed",
                                          "revoked",
                                          "malformed",
                                          "provisioner",
                                          "signature",
                                          "audience",
                                          "time",
                                          "replay",
                                          "claims",
                                          "certificate_revoked",
                                          "certificate_expired",
                                          "certificate_untrusted",
                                          "renewal_disabled",
                                          "certificate",
                                          "invalid",
                                          "forbidden",
                                          "already_revoked",
                                          "unsupported",
                                          "conflict",
                                          "error"};
  for (const char* o : kOutcomes) {
    if (outcome == o) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> Header(const ApiResponse& res,
                                  absl::string_view name) {
  for (const auto& [k, v] : res.headers) {
    if (k == name) {
      return v;
    }
  }
  return std::nullopt;
}

// LooksLikeJws: base64url segments joined by exactly two dots, long enough
// that no fixed message text can hold it by chance.
bool LooksLikeJws(absl::string_view s) {
  if (s.size() < 20) {
    return false;
  }
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      dots++;
    } else if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
               c != '-' && c != '_') {
      return false;
    }
  }
  return dots == 2;
}

size_t Count(absl::string_view haystack, absl::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != absl::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    n++;
  }
  return n;
}

// AuthToken returns the token a request authenticates with, where the
// route reads one: the body's "ott" (sign, revoke) or a Bearer header
// (renew).
std::optional<std::string> AuthToken(const RouteRule& rule,
                                     const ApiRequest& req) {
  const absl::string_view path = rule.path;
  if (path == "/sign" || path == "/revoke") {
    absl::StatusOr<rapidjson::Document> doc =
        mayfly::internal::ParseJsonObject(req.body, "body");
    if (doc.ok() && doc->HasMember("ott") && (*doc)["ott"].IsString()) {
      return std::string((*doc)["ott"].GetString(),
                         (*doc)["ott"].GetStringLength());
    }
  } else if (path == "/renew" || path == "/re-sign") {
    absl::string_view auth = req.authorization;
    if (auth.size() > 7 &&
        absl::EqualsIgnoreCase(auth.substr(0, 7), "bearer ")) {
      return std::string(absl::StripAsciiWhitespace(auth.substr(7)));
    }
  }
  return std::nullopt;
}

void CheckNoSecrets(const World& w, const ApiRequest& req,
                    const std::string& raw, const RouteRule* rule,
                    const ApiResponse& res) {
  std::vector<absl::string_view> texts = {res.body, res.error};
  for (const auto& [k, v] : res.headers) {
    texts.push_back(v);
  }
  for (const std::string& secret : w.secrets) {
    // This very comparison shows the secret to libFuzzer (its memmem hook
    // adds compared bytes to the mutation dictionary), which then writes
    // it into requests: a secret the request itself carries may come back
    // in an echo of what was sent (a content type, a path) and proves
    // nothing.
    if (absl::StrContains(raw, secret)) {
      continue;
    }
    for (absl::string_view text : texts) {
      FUZZ_CHECK(!absl::StrContains(text, secret),
                 "no response holds key material or the password");
    }
  }
  if (rule == nullptr || !rule->post) {
    return;
  }
  std::optional<std::string> token = AuthToken(*rule, req);
  // A token that also appears elsewhere in the request (a path, a serial)
  // may be echoed from there; only one used as a token alone must not be.
  if (!token.has_value() || !LooksLikeJws(*token) || Count(raw, *token) != 1) {
    return;
  }
  FUZZ_CHECK(!absl::StrContains(res.body, *token) &&
                 !absl::StrContains(res.error, *token),
             "no response echoes the token of its request");
}

absl::StatusOr<rapidjson::Document> JsonBody(const ApiResponse& res) {
  FUZZ_CHECK(!res.body.empty() && res.body.back() == '\n',
             "a JSON body ends with a newline");
  mayfly::internal::JsonLimits limits;
  limits.max_bytes = 1 << 20;
  return mayfly::internal::ParseJsonObject(
      absl::string_view(res.body).substr(0, res.body.size() - 1), "response",
      limits);
}

void CheckIssued(const World& w, const rapidjson::Document& doc) {
  FUZZ_CHECK(doc.HasMember("crt") && doc["crt"].IsString() &&
                 doc.HasMember("ca") && doc["ca"].IsString() &&
                 doc.HasMember("certChain") && doc["certChain"].IsArray() &&
                 doc["certChain"].Size() >= 2,
             "an issued response has crt, ca and certChain");
  absl::StatusOr<Certificate> leaf = Certificate::FromPem(
      absl::string_view(doc["crt"].GetString(), doc["crt"].GetStringLength()));
  absl::StatusOr<Certificate> ca = Certificate::FromPem(
      absl::string_view(doc["ca"].GetString(), doc["ca"].GetStringLength()));
  FUZZ_CHECK(leaf.ok() && ca.ok(), "crt and ca parse");
  FUZZ_CHECK(ca->Equals(w.parts->intermediate), "ca is the intermediate");
  // A requested notBefore may lie ahead (step's --not-before); the chain
  // must verify from the moment the certificate starts, which also proves
  // it does not outlive its issuer's validity at that moment.
  const absl::Time from = std::max(kNow, leaf->NotBefore());
  FUZZ_CHECK(mayfly::VerifyChain(*leaf, {*ca}, w.parts->roots, from).ok(),
             "an issued certificate chains to the root from its notBefore");
  FUZZ_CHECK(leaf->NotAfter() <= ca->NotAfter(),
             "an issued certificate ends no later than its issuer");
  FUZZ_CHECK(doc["certChain"][0].IsString() &&
                 absl::string_view(doc["certChain"][0].GetString(),
                                   doc["certChain"][0].GetStringLength()) ==
                     absl::string_view(doc["crt"].GetString(),
                                       doc["crt"].GetStringLength()),
             "certChain starts with crt");
}

void CheckResponse(const World& w, const ApiRequest& req,
                   const std::string& raw, const ApiResponse& res,
                   const mayfly::StoreCounts& before,
                   const mayfly::StoreCounts& after) {
  const RouteRule* rule = ExpectedRule(req.path);
  const bool head = req.method == "HEAD";
  if (rule == nullptr) {
    FUZZ_CHECK(res.route == "unknown", "an unmatched path is route unknown");
    FUZZ_CHECK(res.status == 404, "an unmatched path is 404");
  } else {
    FUZZ_CHECK(res.route == rule->path, "the route is the one the path names");
    const bool allowed =
        rule->post ? req.method == "POST" : (req.method == "GET" || head);
    if (!allowed) {
      FUZZ_CHECK(res.status == 405, "a method the route does not serve is 405");
      FUZZ_CHECK(Header(res, "Allow") == std::optional<std::string>(
                                             rule->post ? "POST" : "GET, HEAD"),
                 "a 405 says what is allowed");
    } else {
      bool expected = false;
      for (int s : rule->statuses) {
        expected = expected || s == res.status;
      }
      if (!expected) {
        std::fprintf(stderr, "%s %s -> %d %s (%s)\n", req.method.c_str(),
                     req.path.c_str(), res.status, res.body.c_str(),
                     res.error.c_str());
      }
      FUZZ_CHECK(expected, "the status is one the route may answer");
    }
    if (allowed && rule->post) {
      FUZZ_CHECK(IsOutcome(res.outcome), "a POST answer names its outcome");
    } else {
      FUZZ_CHECK(res.outcome.empty(), "only POST routes name an outcome");
    }
  }
  if (rule == nullptr) {
    FUZZ_CHECK(res.outcome.empty(), "an unmatched request has no outcome");
  }

  const bool failed = res.status >= 400;
  FUZZ_CHECK(failed == !res.error.empty(),
             "an error, and only an error, has an internal reason");
  if (head) {
    FUZZ_CHECK(res.body.empty(), "HEAD has no body");
  }
  if (failed) {
    FUZZ_CHECK(res.content_type == "application/json",
               "an error is application/json");
    FUZZ_CHECK(after == before, "a refused request changes nothing stored");
    if (!head) {
      absl::StatusOr<rapidjson::Document> doc = JsonBody(res);
      FUZZ_CHECK(doc.ok(), "an error body is a JSON object");
      FUZZ_CHECK(doc->MemberCount() == 2 && doc->HasMember("status") &&
                     (*doc)["status"].IsInt() &&
                     (*doc)["status"].GetInt() == res.status &&
                     doc->HasMember("message") &&
                     (*doc)["message"].IsString() &&
                     (*doc)["message"].GetStringLength() > 0,
                 "an error body is {status, message} with the status");
    }
  } else if (rule != nullptr) {
    const absl::string_view path = rule->path;
    if (rule->issues) {
      FUZZ_CHECK(after.certificates == before.certificates + 1 &&
                     after.revocations == before.revocations,
                 "an issued certificate is recorded");
    } else if (path == "/revoke") {
      FUZZ_CHECK(after.revocations == before.revocations + 1 &&
                     after.certificates == before.certificates,
                 "a revocation is recorded");
    } else {
      FUZZ_CHECK(after == before, "a GET changes nothing stored");
    }
    if (!head && res.content_type == "application/json") {
      absl::StatusOr<rapidjson::Document> doc = JsonBody(res);
      FUZZ_CHECK(doc.ok(), "a JSON success body is a JSON object");
      if (rule->issues) {
        CheckIssued(w, *doc);
      }
    }
    if (path == "/crl") {
      FUZZ_CHECK(Header(res, "Content-Disposition").has_value() &&
                     Header(res, "Expires").has_value(),
                 "a CRL has Content-Disposition and Expires");
    }
  }
  CheckNoSecrets(w, req, raw, rule, res);
}

// Verbose: API_ROUTER_FUZZ_VERBOSE=1 prints each request's answer, to see
// what a seed reaches.
bool Verbose() {
  static const bool verbose = std::getenv("API_ROUTER_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const World& w = GetWorld();
  std::unique_ptr<Authority> ca = NewAuthority(w);
  const Api api(ca.get(), mayfly::internal::ApiOptions{"v0.0.0-fuzz"});
  absl::string_view input = mayfly::fuzz::AsText(data, size);
  for (size_t n = 0; n < kMaxRequests && !input.empty(); n++) {
    size_t end = input.find(kSeparator);
    absl::string_view text = input.substr(0, end);
    input = end == absl::string_view::npos
                ? absl::string_view()
                : input.substr(end + kSeparator.size());
    std::string raw;
    const ApiRequest req = ParseRequest(text, w, &raw);
    const mayfly::StoreCounts before =
        Must(ca->store().Counts(), "store counts");
    const ApiResponse res = api.Handle(req);
    const mayfly::StoreCounts after =
        Must(ca->store().Counts(), "store counts");
    if (Verbose()) {
      std::fprintf(stderr, "%s %s -> %d %s outcome=%s error=%s\n",
                   req.method.c_str(), req.path.c_str(), res.status,
                   res.route.c_str(), res.outcome.c_str(), res.error.c_str());
    }
    CheckResponse(w, req, raw, res, before, after);
  }
  return 0;
}

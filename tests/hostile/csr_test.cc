// The hostile-input suite (issue #9), certificate requests. Each case
// presents one bad CSR with a VALID fresh token, in-process through
// CertificateRequest parsing and Authority::Sign and over the wire through
// the router's /1.0/sign, checks the refusal and that the store did not
// change, and then that the same token still issues a certificate for a
// good CSR: the token is the one thing a bad request could have burnt.
//
// The requests are built here with CBB, field by field, so that each
// differs from a good one in the one hostile way; the good request of every
// case is built the same way, which checks the builder.

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../ca_fixture.h"
#include "../test_util.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "catch2/catch.hpp"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "mayfly/store.h"
#include "openssl/bn.h"
#include "openssl/bytestring.h"
#include "openssl/digest.h"
#include "openssl/ec.h"
#include "openssl/ec_key.h"
#include "openssl/ecdsa.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/rand.h"
#include "openssl/rsa.h"
#include "server/api.h"

namespace mayfly {
namespace {

using internal::Api;
using internal::ApiOptions;
using internal::ApiRequest;
using internal::ApiResponse;
using testing::StatusIs;
using testing::TestCa;
using testing::Unwrap;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;

constexpr char kSubject[] = "svc.example.com";

// step-ca's body for a request it cannot parse or whose signature fails.
constexpr char kInvalidCsrBody[] =
    "{\"status\":400,\"message\":\"The request could not be completed: "
    "invalid csr.\"}\n";
constexpr char kForbiddenPrefix[] =
    "{\"status\":403,\"message\":\"The request was forbidden by the "
    "certificate authority: ";

// Dotted OIDs of the algorithms used below.
constexpr char kOidEcPublicKey[] = "1.2.840.10045.2.1";
constexpr char kOidSecp192r1[] = "1.2.840.10045.3.1.1";
constexpr char kOidEcdsaSha256[] = "1.2.840.10045.4.3.2";
constexpr char kOidRsaSha256[] = "1.2.840.113549.1.1.11";

std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

ApiRequest SignPost(const std::string& csr_pem, const std::string& ott) {
  ApiRequest r;
  r.method = "POST";
  r.path = "/1.0/sign";
  r.content_type = "application/json";
  r.body =
      absl::StrCat("{\"csr\":", Quote(csr_pem), ",\"ott\":", Quote(ott), "}");
  return r;
}

bool AddOid(CBB* cbb, const char* oid) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_OBJECT) &&
         CBB_add_asn1_oid_from_text(&child, oid, strlen(oid)) && CBB_flush(cbb);
}

std::vector<uint8_t> Finish(CBB* cbb) {
  return Unwrap(internal::CbbToVector(cbb));
}

// SanExtension is a subjectAltName naming `names` (each classified as step
// does: IP, URI, e-mail or DNS).
Extension SanExtension(const std::vector<std::string>& names) {
  std::vector<SubjectAltName> sans;
  for (const std::string& name : names) {
    sans.push_back(ClassifySan(name));
  }
  return Extension{internal::kOidSubjectAltName, false,
                   Unwrap(internal::EncodeGeneralNames(sans))};
}

// CsrInfo is a CertificationRequestInfo (RFC 2986 section 4.1): version 0,
// subject CN=`cn`, `spki`, and an extensionRequest attribute holding
// `extensions` (no attribute when there are none).
std::vector<uint8_t> CsrInfo(const std::string& cn,
                             absl::Span<const uint8_t> spki,
                             const std::vector<Extension>& extensions) {
  const std::vector<uint8_t> name = Unwrap(internal::EncodeName(cn, ""));
  bssl::ScopedCBB cbb;
  CBB info, attrs;
  REQUIRE(CBB_init(cbb.get(), 512));
  REQUIRE(CBB_add_asn1(cbb.get(), &info, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1_uint64(&info, 0));
  REQUIRE(CBB_add_bytes(&info, name.data(), name.size()));
  REQUIRE(CBB_add_bytes(&info, spki.data(), spki.size()));
  REQUIRE(CBB_add_asn1(&info, &attrs,
                       CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0));
  if (!extensions.empty()) {
    CBB attr, values, exts;
    REQUIRE(CBB_add_asn1(&attrs, &attr, CBS_ASN1_SEQUENCE));
    REQUIRE(AddOid(&attr, internal::kOidExtensionRequest));
    REQUIRE(CBB_add_asn1(&attr, &values, CBS_ASN1_SET));
    REQUIRE(CBB_add_asn1(&values, &exts, CBS_ASN1_SEQUENCE));
    for (const Extension& e : extensions) {
      CBB ext;
      REQUIRE(CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE));
      REQUIRE(AddOid(&ext, e.oid.c_str()));
      if (e.critical) {
        REQUIRE(CBB_add_asn1_bool(&ext, 1));
      }
      REQUIRE(CBB_add_asn1_octet_string(&ext, e.value.data(), e.value.size()));
      REQUIRE(CBB_flush(&exts));
    }
  }
  return Finish(cbb.get());
}

// SignedRequest wraps `info` as a CertificationRequest with an algorithm
// identifier and a signature made outside mayfly (for keys mayfly refuses
// to hold).
std::vector<uint8_t> SignedRequest(absl::Span<const uint8_t> info,
                                   const char* alg_oid, bool null_params,
                                   absl::Span<const uint8_t> signature) {
  bssl::ScopedCBB cbb;
  CBB req, alg, params, bits;
  REQUIRE(CBB_init(cbb.get(), info.size() + signature.size() + 32));
  REQUIRE(CBB_add_asn1(cbb.get(), &req, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_bytes(&req, info.data(), info.size()));
  REQUIRE(CBB_add_asn1(&req, &alg, CBS_ASN1_SEQUENCE));
  REQUIRE(AddOid(&alg, alg_oid));
  if (null_params) {
    REQUIRE(CBB_add_asn1(&alg, &params, CBS_ASN1_NULL));
    REQUIRE(CBB_flush(&alg));
  }
  REQUIRE(CBB_add_asn1(&req, &bits, CBS_ASN1_BITSTRING));
  REQUIRE(CBB_add_u8(&bits, 0));  // no unused bits
  REQUIRE(CBB_add_bytes(&bits, signature.data(), signature.size()));
  return Finish(cbb.get());
}

// Request is a CSR for `key` with CN `cn`, SANs `sans` and `extra`
// requested extensions, self-signed by mayfly's own code.
std::vector<uint8_t> Request(const PrivateKey& key, const std::string& cn,
                             const std::vector<std::string>& sans,
                             std::vector<Extension> extra = {}) {
  std::vector<Extension> exts;
  if (!sans.empty()) {
    exts.push_back(SanExtension(sans));
  }
  for (Extension& e : extra) {
    exts.push_back(std::move(e));
  }
  const std::vector<uint8_t> info =
      CsrInfo(cn, key.public_key().ToSpkiDer(), exts);
  return Unwrap(internal::SignToBeSigned(key, info));
}

std::string Pem(absl::Span<const uint8_t> der) {
  return internal::EncodePem("CERTIFICATE REQUEST", der);
}

// Bench is a CA in memory behind the router, with one valid sign token
// for svc.example.com that every case tries to burn.
struct Bench {
  Bench()
      : api(t.ca.get(), ApiOptions{"hostile"}), ott(t.SignToken(kSubject)) {}

  // Good is a well-formed request the token allows, made by Request.
  static std::vector<uint8_t> Good() {
    return Request(Unwrap(PrivateKey::Generate()), kSubject, {kSubject});
  }

  // Parsed parses `der`, which must parse: the request is refused later.
  static CertificateRequest Parsed(absl::Span<const uint8_t> der) {
    return Unwrap(CertificateRequest::FromDer(der));
  }

  // Refused expects Authority::Sign to refuse `csr` with the token, with
  // `code` and `fragment`, and the store unchanged.
  void Refused(const CertificateRequest& csr, absl::StatusCode code,
               absl::string_view fragment) {
    const StoreCounts before = t.Counts();
    absl::StatusOr<IssuedCertificate> issued = t.ca->Sign(csr, ott, {});
    INFO(issued.status().ToString());
    CHECK(StatusIs(issued.status(), code, fragment));
    REQUIRE(t.Counts() == before);
  }

  // RefusedOnWire posts `csr_pem` with the token to /1.0/sign and expects
  // `status` with `body` (or, for 403, a body starting with the forbidden
  // text and `body`), and the store unchanged.
  void RefusedOnWire(const std::string& csr_pem, int status,
                     const std::string& body) {
    const StoreCounts before = t.Counts();
    ApiResponse res = api.Handle(SignPost(csr_pem, ott));
    INFO(res.error);
    CHECK(res.status == status);
    CHECK(res.content_type == "application/json");
    if (status == 403) {
      CHECK(absl::StartsWith(res.body, kForbiddenPrefix + body));
      CHECK(res.outcome == "forbidden");
    } else {
      CHECK(res.body == body);
      CHECK(res.outcome == "invalid");
    }
    CHECK_FALSE(absl::StrContains(res.error, ott));
    REQUIRE(t.Counts() == before);
  }

  // InvalidOnWire is RefusedOnWire for step-ca's "invalid csr".
  void InvalidOnWire(const std::string& csr_pem) {
    RefusedOnWire(csr_pem, 400, kInvalidCsrBody);
  }

  // TokenStillWorks signs a good request with the token: it was not
  // consumed by the refusals.
  void TokenStillWorks() {
    StoreCounts want = t.Counts();
    want.used_tokens++;
    want.certificates++;
    absl::StatusOr<IssuedCertificate> issued =
        t.ca->Sign(Parsed(Good()), ott, {});
    INFO(issued.status().ToString());
    REQUIRE(issued.ok());
    CHECK(issued->leaf.CommonName() == kSubject);
    REQUIRE(t.Counts() == want);
  }

  TestCa t;
  Api api;
  std::string ott;
};

// BigNum parses hex; the test fails if it does not.
bssl::UniquePtr<BIGNUM> BigNum(const char* hex) {
  BIGNUM* bn = nullptr;
  REQUIRE(BN_hex2bn(&bn, hex) > 0);
  return bssl::UniquePtr<BIGNUM>(bn);
}

TEST_CASE("hostile: csr: signature with a flipped byte",
          "[hostile][hostile_csr]") {
  Bench b;
  std::vector<uint8_t> der = Bench::Good();
  // The last byte is the last byte of S in the DER ECDSA signature.
  der.back() ^= 0x01;
  const CertificateRequest csr = Bench::Parsed(der);
  CHECK(StatusIs(csr.VerifySignature(), kInvalid, "does not verify"));
  b.Refused(csr, kInvalid, "invalid csr");
  b.InvalidOnWire(Pem(der));
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: signed by a key other than the one it carries",
          "[hostile][hostile_csr]") {
  Bench b;
  const PrivateKey carried = Unwrap(PrivateKey::Generate());
  const PrivateKey signer = Unwrap(PrivateKey::Generate());
  const std::vector<uint8_t> info = CsrInfo(
      kSubject, carried.public_key().ToSpkiDer(), {SanExtension({kSubject})});
  // Whoever holds `signer` asks for a certificate on `carried`, a key they
  // do not own.
  const std::vector<uint8_t> der =
      Unwrap(internal::SignToBeSigned(signer, info));
  const CertificateRequest csr = Bench::Parsed(der);
  CHECK(csr.public_key().Equals(carried.public_key()));
  b.Refused(csr, kInvalid, "invalid csr");
  b.InvalidOnWire(Pem(der));
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: RSA 1024-bit key", "[hostile][hostile_csr]") {
  Bench b;
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  REQUIRE(BN_set_word(e.get(), RSA_F4));
  REQUIRE(RSA_generate_key_ex(rsa.get(), 1024, e.get(), nullptr));
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  REQUIRE(EVP_PKEY_set1_RSA(pkey.get(), rsa.get()));
  bssl::ScopedCBB spki_cbb;
  REQUIRE(CBB_init(spki_cbb.get(), 256));
  REQUIRE(EVP_marshal_public_key(spki_cbb.get(), pkey.get()));
  const std::vector<uint8_t> spki = Finish(spki_cbb.get());
  const std::vector<uint8_t> info =
      CsrInfo(kSubject, spki, {SanExtension({kSubject})});
  // Properly self-signed (sha256WithRSAEncryption): only the size is wrong.
  bssl::ScopedEVP_MD_CTX ctx;
  size_t sig_len = 0;
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                             pkey.get()));
  REQUIRE(
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, info.data(), info.size()));
  std::vector<uint8_t> sig(sig_len);
  REQUIRE(EVP_DigestSign(ctx.get(), sig.data(), &sig_len, info.data(),
                         info.size()));
  sig.resize(sig_len);
  const std::vector<uint8_t> der =
      SignedRequest(info, kOidRsaSha256, true, sig);

  CHECK(StatusIs(CertificateRequest::FromDer(der).status(), kInvalid,
                 "RSA key is 1024 bits; min 2048"));
  b.InvalidOnWire(Pem(der));
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: P-192 key", "[hostile][hostile_csr]") {
  Bench b;
  // BoringSSL has no P-192 (secp192r1), so the curve is built from its
  // SEC 2 parameters and the key made and used on it directly: the request
  // is then correctly self-signed, and only its curve is wrong.
  bssl::UniquePtr<BIGNUM> p =
      BigNum("fffffffffffffffffffffffffffffffeffffffffffffffff");
  bssl::UniquePtr<BIGNUM> a =
      BigNum("fffffffffffffffffffffffffffffffefffffffffffffffc");
  bssl::UniquePtr<BIGNUM> bb =
      BigNum("64210519e59c80e70fa7e9ab72243049feb8deecc146b9b1");
  bssl::UniquePtr<BIGNUM> gx =
      BigNum("188da80eb03090f67cbf20eb43a18800f4ff0afd82ff1012");
  bssl::UniquePtr<BIGNUM> gy =
      BigNum("07192b95ffc8da78631011ed6b24cdd573f977a11e794811");
  bssl::UniquePtr<BIGNUM> n =
      BigNum("ffffffffffffffffffffffff99def836146bc9b1b4d22831");
  bssl::UniquePtr<EC_GROUP> group(
      EC_GROUP_new_curve_GFp(p.get(), a.get(), bb.get(), nullptr));
  REQUIRE(group != nullptr);
  bssl::UniquePtr<EC_POINT> g(EC_POINT_new(group.get()));
  REQUIRE(g != nullptr);
  REQUIRE(EC_POINT_set_affine_coordinates_GFp(group.get(), g.get(), gx.get(),
                                              gy.get(), nullptr));
  REQUIRE(
      EC_GROUP_set_generator(group.get(), g.get(), n.get(), BN_value_one()));
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new());
  REQUIRE(EC_KEY_set_group(ec.get(), group.get()));
  REQUIRE(EC_KEY_generate_key(ec.get()));

  uint8_t point[1 + 2 * 24];
  REQUIRE(EC_POINT_point2oct(group.get(), EC_KEY_get0_public_key(ec.get()),
                             POINT_CONVERSION_UNCOMPRESSED, point,
                             sizeof(point), nullptr) == sizeof(point));
  bssl::ScopedCBB spki_cbb;
  CBB spki, alg, bits;
  REQUIRE(CBB_init(spki_cbb.get(), 96));
  REQUIRE(CBB_add_asn1(spki_cbb.get(), &spki, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&spki, &alg, CBS_ASN1_SEQUENCE));
  REQUIRE(AddOid(&alg, kOidEcPublicKey));
  REQUIRE(AddOid(&alg, kOidSecp192r1));
  REQUIRE(CBB_add_asn1(&spki, &bits, CBS_ASN1_BITSTRING));
  REQUIRE(CBB_add_u8(&bits, 0));
  REQUIRE(CBB_add_bytes(&bits, point, sizeof(point)));
  const std::vector<uint8_t> spki_der = Finish(spki_cbb.get());

  const std::vector<uint8_t> info =
      CsrInfo(kSubject, spki_der, {SanExtension({kSubject})});
  const std::vector<uint8_t> digest = internal::Sha256(info);
  bssl::UniquePtr<ECDSA_SIG> sig(
      ECDSA_do_sign(digest.data(), digest.size(), ec.get()));
  REQUIRE(sig != nullptr);
  REQUIRE(ECDSA_do_verify(digest.data(), digest.size(), sig.get(), ec.get()));
  uint8_t* sig_der = nullptr;
  size_t sig_len = 0;
  REQUIRE(ECDSA_SIG_to_bytes(&sig_der, &sig_len, sig.get()));
  bssl::UniquePtr<uint8_t> sig_owned(sig_der);
  const std::vector<uint8_t> der = SignedRequest(
      info, kOidEcdsaSha256, false, absl::MakeConstSpan(sig_der, sig_len));

  CHECK(StatusIs(CertificateRequest::FromDer(der).status(), kInvalid));
  b.InvalidOnWire(Pem(der));
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: P-256 point not on the curve",
          "[hostile][hostile_csr]") {
  Bench b;
  const PrivateKey key = Unwrap(PrivateKey::Generate());
  std::vector<uint8_t> spki = key.public_key().ToSpkiDer();
  // The SPKI ends with the 32 bytes of y: a changed y leaves the encoding
  // well-formed and the point off the curve (for a given x only two y
  // values are on it).
  spki.back() ^= 0x01;
  REQUIRE_FALSE(PublicKey::FromSpkiDer(spki).ok());
  const std::vector<uint8_t> info =
      CsrInfo(kSubject, spki, {SanExtension({kSubject})});
  // Signed with the real key; parsing must refuse the point before any
  // signature is looked at.
  const std::vector<uint8_t> der = Unwrap(internal::SignToBeSigned(key, info));

  CHECK(StatusIs(CertificateRequest::FromDer(der).status(), kInvalid));
  b.InvalidOnWire(Pem(der));
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: SAN other than the token's",
          "[hostile][hostile_csr]") {
  Bench b;
  const PrivateKey key = Unwrap(PrivateKey::Generate());
  const std::vector<uint8_t> der =
      Request(key, kSubject, {"other.example.com"});
  b.Refused(Bench::Parsed(der), kDenied,
            "csr dns names do not match the token's sans");
  b.RefusedOnWire(Pem(der), 403, "csr dns names do not match");
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: one SAN more than the token names",
          "[hostile][hostile_csr]") {
  Bench b;
  const PrivateKey key = Unwrap(PrivateKey::Generate());
  const std::vector<uint8_t> der =
      Request(key, kSubject, {kSubject, "admin.example.com"});
  b.Refused(Bench::Parsed(der), kDenied,
            "csr dns names do not match the token's sans");
  b.RefusedOnWire(Pem(der), 403, "csr dns names do not match");
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: subject CN other than the token's",
          "[hostile][hostile_csr]") {
  Bench b;
  const PrivateKey key = Unwrap(PrivateKey::Generate());
  const std::vector<uint8_t> der =
      Request(key, "admin.example.com", {kSubject});
  b.Refused(Bench::Parsed(der), kDenied,
            "csr common name \"admin.example.com\" is neither");
  b.RefusedOnWire(Pem(der), 403, "csr common name");
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: e-mail, URI or IP SAN the token does not authorize",
          "[hostile][hostile_csr]") {
  Bench b;
  struct Case {
    const char* name;
    const char* type;
  };
  // The token names a DNS name only; each request adds a name of another
  // type next to it.
  for (const Case& c :
       {Case{"admin@example.com", "email"},
        Case{"spiffe://example.org/admin", "uri"}, Case{"10.0.0.1", "ip"}}) {
    INFO(c.name);
    const PrivateKey key = Unwrap(PrivateKey::Generate());
    const std::vector<uint8_t> der = Request(key, kSubject, {kSubject, c.name});
    const std::string reason =
        absl::StrCat("csr ", c.type, " names do not match the token's sans");
    b.Refused(Bench::Parsed(der), kDenied, reason);
    b.RefusedOnWire(Pem(der), 403, reason);
  }
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: garbage DER in a CERTIFICATE REQUEST block",
          "[hostile][hostile_csr]") {
  Bench b;
  std::vector<uint8_t> random(300);
  REQUIRE(RAND_bytes(random.data(), random.size()));
  random[0] = 0x30;  // looks like a SEQUENCE, then is not one
  const std::vector<std::vector<uint8_t>> garbage = {
      random,
      {0x30, 0x03, 0x02, 0x01, 0x00},              // SEQUENCE { INTEGER 0 }
      {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00},  // absurd length
      b.t.certs.root.der(),  // a certificate labelled as a request
  };
  for (const std::vector<uint8_t>& der : garbage) {
    CHECK(StatusIs(CertificateRequest::FromDer(der).status(), kInvalid));
    b.InvalidOnWire(Pem(der));
  }
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: trailing garbage after the request",
          "[hostile][hostile_csr]") {
  Bench b;
  const std::vector<uint8_t> good = Bench::Good();
  // Bytes after the request's DER, inside its PEM block: a second
  // structure smuggled behind the one that is checked.
  std::vector<uint8_t> smuggled = good;
  for (uint8_t byte : {0x30, 0x03, 0x02, 0x01, 0x00}) {
    smuggled.push_back(byte);
  }
  CHECK(StatusIs(CertificateRequest::FromDer(smuggled).status(), kInvalid));
  b.InvalidOnWire(Pem(smuggled));
  // A good block followed by the start of another that never ends.
  const std::string unterminated =
      Pem(good) + "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n";
  CHECK(StatusIs(CertificateRequest::FromPem(unterminated).status(), kInvalid,
                 "no END line"));
  b.InvalidOnWire(unterminated);
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: empty request", "[hostile][hostile_csr]") {
  Bench b;
  CHECK(StatusIs(CertificateRequest::FromDer({}).status(), kInvalid));
  // An empty PEM block, and text with no block at all.
  const std::string empty_block =
      "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE "
      "REQUEST-----\n";
  CHECK(StatusIs(CertificateRequest::FromPem(empty_block).status(), kInvalid));
  b.InvalidOnWire(empty_block);
  b.InvalidOnWire("\n");
  b.TokenStillWorks();
}

TEST_CASE("hostile: csr: requests CA:true and keyCertSign",
          "[hostile][hostile_csr]") {
  Bench b;
  const PrivateKey key = Unwrap(PrivateKey::Generate());
  // basicConstraints { cA TRUE } and keyUsage keyCertSign | cRLSign, both
  // critical, as a CA's own request would carry them.
  const Extension ca{
      internal::kOidBasicConstraints, true, {0x30, 0x03, 0x01, 0x01, 0xff}};
  const Extension ku{internal::kOidKeyUsage, true, {0x03, 0x02, 0x01, 0x06}};
  const std::vector<uint8_t> der = Request(key, kSubject, {kSubject}, {ca, ku});
  const CertificateRequest csr = Bench::Parsed(der);
  REQUIRE(csr.VerifySignature().ok());

  // mayfly builds the leaf from its own profile and ignores requested
  // extensions other than the SANs: the request is honoured as a leaf.
  StoreCounts want = b.t.Counts();
  want.used_tokens++;
  want.certificates++;
  absl::StatusOr<IssuedCertificate> issued = b.t.ca->Sign(csr, b.ott, {});
  INFO(issued.status().ToString());
  REQUIRE(issued.ok());
  CHECK(b.t.Counts() == want);
  const Certificate& leaf = issued->leaf;
  const std::optional<BasicConstraints> basic = leaf.Basic();
  CHECK((!basic.has_value() || !basic->is_ca));
  REQUIRE(leaf.KeyUsage().has_value());
  CHECK((*leaf.KeyUsage() & kKeyUsageKeyCertSign) == 0);
  CHECK((*leaf.KeyUsage() & kKeyUsageCrlSign) == 0);
  const std::vector<std::string> leaf_eku = {kOidServerAuth, kOidClientAuth};
  CHECK(leaf.ExtKeyUsage() == leaf_eku);

  // And the leaf cannot act as a CA: a certificate its key signs does not
  // chain to the root through it.
  const PrivateKey victim = Unwrap(PrivateKey::Generate());
  CertificateTemplate tmpl;
  tmpl.serial = {0x01, 0x02, 0x03};
  tmpl.common_name = "bank.example.com";
  tmpl.sans = {ClassifySan("bank.example.com")};
  tmpl.not_before = b.t.clock.Now() - absl::Minutes(1);
  tmpl.not_after = b.t.clock.Now() + absl::Hours(1);
  tmpl.key_usage = kKeyUsageDigitalSignature;
  tmpl.ext_key_usage = {kOidServerAuth};
  const Certificate forged =
      Unwrap(IssueCertificate(tmpl, victim.public_key(), key, &leaf));
  const std::vector<Certificate> intermediates = {leaf, b.t.certs.intermediate};
  const std::vector<Certificate> roots = {b.t.certs.root};
  CHECK(StatusIs(VerifyChain(forged, intermediates, roots, b.t.clock.Now(),
                             {kOidServerAuth}),
                 absl::StatusCode::kUnauthenticated));
  // The leaf itself does chain: the refusal above is about its CA powers.
  CHECK(VerifyChain(leaf, {b.t.certs.intermediate}, roots, b.t.clock.Now(),
                    {kOidServerAuth})
            .ok());
}

// Found by the api_router fuzz target: a notBefore far in the future was
// issued, a certificate that could never verify since its issuer expires
// first. The same token then issues with a sane validity.
TEST_CASE("hostile: sign: validity beyond the issuing CA's notAfter",
          "[hostile][hostile_csr]") {
  TestCa ca;
  PrivateKey key = Unwrap(PrivateKey::Generate());
  CertificateRequest csr = ca.Csr(key, "far.example", {"far.example"});
  std::string ott = ca.SignToken("far.example", {"far.example"});
  const StoreCounts before = ca.Counts();
  for (const char* not_before : {"4052-11-25T00:40:00Z", "87600h"}) {
    SignOptions options;
    options.not_before = not_before;
    absl::StatusOr<IssuedCertificate> refused = ca.ca->Sign(csr, ott, options);
    INFO(not_before << ": " << refused.status());
    REQUIRE(refused.status().code() == absl::StatusCode::kInvalidArgument);
    REQUIRE(absl::StrContains(refused.status().message(),
                              "issuing CA certificate's notAfter"));
    REQUIRE(ca.Counts() == before);
  }
  REQUIRE(ca.ca->Sign(csr, ott, {}).ok());
}

}  // namespace
}  // namespace mayfly

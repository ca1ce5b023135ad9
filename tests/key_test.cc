#include "mayfly/key.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "openssl/bn.h"
#include "openssl/bytestring.h"
#include "openssl/ec_key.h"
#include "openssl/evp.h"
#include "openssl/rsa.h"
#include "test_util.h"

namespace mayfly {
namespace {

using ::mayfly::testing::Run;
using ::mayfly::testing::ShellQuote;
using ::mayfly::testing::StatusIs;
using ::mayfly::testing::TempDir;
using ::mayfly::testing::Testdata;
using ::mayfly::testing::TestdataPath;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kUnauthenticated =
    absl::StatusCode::kUnauthenticated;

std::string Password() { return Testdata("step/password.txt"); }

// Sh runs `command`, requires it to succeed and returns its output.
std::string Sh(const std::string& command) {
  testing::CommandResult result = Run(command);
  INFO(command << "\n" << result.output);
  REQUIRE(result.exit_code == 0);
  return result.output;
}

std::vector<uint8_t> ToVector(absl::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::string ToString(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

// CertPublicKey returns the public key of a certificate file, as openssl
// prints it.
PublicKey CertPublicKey(const std::string& cert_path) {
  auto key = PublicKey::FromPem(Sh(
      absl::StrCat("openssl x509 -pubkey -noout -in ", ShellQuote(cert_path))));
  REQUIRE(key.ok());
  return *key;
}

const KeyType kSigningTypes[] = {KeyType::kP256, KeyType::kP384,
                                 KeyType::kEd25519};

TEST_CASE("Key: KeyTypeName names every type", "[key]") {
  CHECK(KeyTypeName(KeyType::kP256) == "P-256");
  CHECK(KeyTypeName(KeyType::kP384) == "P-384");
  CHECK(KeyTypeName(KeyType::kEd25519) == "Ed25519");
  CHECK(KeyTypeName(KeyType::kRsa) == "RSA");
}

TEST_CASE("Key: generate, sign and verify each type", "[key]") {
  const std::vector<uint8_t> message = ToVector("mayfly signs this");
  for (KeyType type : kSigningTypes) {
    INFO(KeyTypeName(type));
    auto key = PrivateKey::Generate(type);
    REQUIRE(key.ok());
    CHECK(key->type() == type);
    PublicKey pub = key->public_key();
    CHECK(pub.type() == type);
    auto sig = key->Sign(message);
    REQUIRE(sig.ok());
    CHECK(pub.Verify(message, *sig).ok());

    std::vector<uint8_t> tampered_message = message;
    tampered_message[0] ^= 1;
    CHECK(StatusIs(pub.Verify(tampered_message, *sig), kUnauthenticated,
                   "does not verify"));
    std::vector<uint8_t> tampered_sig = *sig;
    tampered_sig[tampered_sig.size() / 2] ^= 1;
    CHECK(StatusIs(pub.Verify(message, tampered_sig), kUnauthenticated));
    CHECK(StatusIs(pub.Verify(message, {}), kUnauthenticated));

    // Another key of the same type does not verify it either.
    auto other = PrivateKey::Generate(type);
    REQUIRE(other.ok());
    CHECK(
        StatusIs(other->public_key().Verify(message, *sig), kUnauthenticated));
    CHECK_FALSE(other->public_key().Equals(pub));
    CHECK(pub.Equals(key->public_key()));
  }
}

TEST_CASE("Key: bits and default JWS algorithm", "[key]") {
  struct Case {
    KeyType type;
    int bits;
    absl::string_view alg;
  } cases[] = {{KeyType::kP256, 256, "ES256"},
               {KeyType::kP384, 384, "ES384"},
               {KeyType::kEd25519, 255, "EdDSA"}};
  for (const Case& c : cases) {
    auto key = PrivateKey::Generate(c.type);
    REQUIRE(key.ok());
    CHECK(key->public_key().bits() == c.bits);
    CHECK(key->public_key().DefaultJwsAlgorithm() == c.alg);
  }
  auto rsa = PrivateKey::FromPem(Testdata("step/rsa-csr.key"));
  REQUIRE(rsa.ok());
  CHECK(rsa->public_key().bits() == 2048);
  CHECK(rsa->public_key().DefaultJwsAlgorithm() == "RS256");
}

TEST_CASE("Key: Generate refuses RSA", "[key]") {
  CHECK(StatusIs(PrivateKey::Generate(KeyType::kRsa).status(), kInvalid,
                 "not RSA"));
  auto key = PrivateKey::Generate();
  REQUIRE(key.ok());
  CHECK(key->type() == KeyType::kP256);
}

TEST_CASE("Key: signatures interoperate with openssl", "[key]") {
  TempDir dir;
  const std::string message = "signed by mayfly, checked by openssl";
  const std::string msg_path = dir.Write("msg", message);
  struct Case {
    KeyType type;
    const char* verify;  // openssl command, %s = public key path
  } cases[] = {
      {KeyType::kP256, "openssl dgst -sha256 -verify"},
      {KeyType::kP384, "openssl dgst -sha384 -verify"},
      {KeyType::kEd25519, "openssl pkeyutl -verify -rawin -pubin -inkey"},
  };
  for (const Case& c : cases) {
    INFO(KeyTypeName(c.type));
    auto key = PrivateKey::Generate(c.type);
    REQUIRE(key.ok());
    auto sig = key->Sign(ToVector(message));
    REQUIRE(sig.ok());
    const std::string pub_path =
        dir.Write("pub.pem", key->public_key().ToPem());
    const std::string sig_path = dir.Write("sig", ToString(*sig));
    if (c.type == KeyType::kEd25519) {
      Sh(absl::StrCat(c.verify, " ", pub_path, " -in ", msg_path, " -sigfile ",
                      sig_path));
    } else {
      Sh(absl::StrCat(c.verify, " ", pub_path, " -signature ", sig_path, " ",
                      msg_path));
    }
  }

  // And the other way: openssl signs, we verify (P-384 with SHA-384, RSA
  // PKCS#1 v1.5 with SHA-256).
  const std::string p384_path = dir.Write(
      "p384.pem",
      Sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384"));
  struct Signed {
    std::string key_path;
    std::string digest;
  } signed_cases[] = {{p384_path, "-sha384"},
                      {TestdataPath("step/rsa-csr.key"), "-sha256"},
                      {TestdataPath("step/leaf.key"), "-sha256"}};
  for (const Signed& s : signed_cases) {
    INFO(s.key_path);
    const std::string sig_path = absl::StrCat(dir.path(), "/sig.bin");
    Sh(absl::StrCat("openssl dgst ", s.digest, " -sign ", s.key_path, " -out ",
                    sig_path, " ", msg_path));
    std::string sig = Sh(absl::StrCat("cat ", sig_path));
    auto key = PrivateKey::FromPem(Sh(absl::StrCat("cat ", s.key_path)));
    REQUIRE(key.ok());
    CHECK(key->public_key().Verify(ToVector(message), ToVector(sig)).ok());
    CHECK(StatusIs(key->public_key().Verify(ToVector("other"), ToVector(sig)),
                   kUnauthenticated));
  }
}

TEST_CASE("Key: RSA signs and verifies with PKCS#1 v1.5 SHA-256", "[key]") {
  auto key = PrivateKey::FromPem(Testdata("step/rsa-csr.key"));
  REQUIRE(key.ok());
  CHECK(key->type() == KeyType::kRsa);
  const std::vector<uint8_t> message = ToVector("rsa message");
  auto sig = key->Sign(message);
  REQUIRE(sig.ok());
  CHECK(sig->size() == 256);
  CHECK(key->public_key().Verify(message, *sig).ok());
  (*sig)[0] ^= 0x80;
  CHECK(StatusIs(key->public_key().Verify(message, *sig), kUnauthenticated));
}

TEST_CASE("Key: ECDSA signatures are DER, not raw r||s", "[key]") {
  auto key = PrivateKey::Generate(KeyType::kP256);
  REQUIRE(key.ok());
  const std::vector<uint8_t> message = ToVector("m");
  auto sig = key->Sign(message);
  REQUIRE(sig.ok());
  CHECK((*sig)[0] == 0x30);
  // A 64-byte JOSE-style signature is refused.
  std::vector<uint8_t> raw(64, 0x11);
  CHECK(StatusIs(key->public_key().Verify(message, raw), kUnauthenticated));
  // Trailing bytes after the DER signature are refused.
  std::vector<uint8_t> trailing = *sig;
  trailing.push_back(0);
  CHECK(
      StatusIs(key->public_key().Verify(message, trailing), kUnauthenticated));
}

TEST_CASE("Key: DER and PEM round trips", "[key]") {
  for (KeyType type : kSigningTypes) {
    INFO(KeyTypeName(type));
    auto key = PrivateKey::Generate(type);
    REQUIRE(key.ok());
    const PublicKey pub = key->public_key();

    auto from_der = PrivateKey::FromDer(key->ToPkcs8Der());
    REQUIRE(from_der.ok());
    CHECK(from_der->type() == type);
    CHECK(from_der->public_key().Equals(pub));
    CHECK(from_der->ToPkcs8Der() == key->ToPkcs8Der());

    const std::string pem = key->ToPem();
    CHECK(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
    auto from_pem = PrivateKey::FromPem(pem);
    REQUIRE(from_pem.ok());
    CHECK(from_pem->public_key().Equals(pub));

    auto spki = PublicKey::FromSpkiDer(pub.ToSpkiDer());
    REQUIRE(spki.ok());
    CHECK(spki->Equals(pub));
    CHECK(spki->ToSpkiDer() == pub.ToSpkiDer());

    const std::string pub_pem = pub.ToPem();
    CHECK(pub_pem.rfind("-----BEGIN PUBLIC KEY-----\n", 0) == 0);
    CHECK(pub_pem.back() == '\n');
    auto from_pub_pem = PublicKey::FromPem(pub_pem);
    REQUIRE(from_pub_pem.ok());
    CHECK(from_pub_pem->Equals(pub));

    // openssl reads what we write.
    TempDir dir;
    const std::string path = dir.Write("key.pem", pem);
    CHECK(Sh(absl::StrCat("openssl pkey -pubout -in ", path)) == pub_pem);
  }
}

TEST_CASE("Key: SEC 1 and PKCS#1 DER parse", "[key]") {
  auto sec1 = PrivateKey::FromDer(ToVector(
      Sh(absl::StrCat("openssl ec -outform DER -in ",
                      TestdataPath("step/leaf.key"), " 2>/dev/null"))));
  REQUIRE(sec1.ok());
  CHECK(sec1->type() == KeyType::kP256);
  auto pkcs1 = PrivateKey::FromDer(ToVector(
      Sh(absl::StrCat("openssl rsa -traditional -outform DER -in ",
                      TestdataPath("step/rsa-csr.key"), " 2>/dev/null"))));
  REQUIRE(pkcs1.ok());
  CHECK(pkcs1->type() == KeyType::kRsa);

  CHECK(StatusIs(PrivateKey::FromDer({}).status(), kInvalid));
  CHECK(StatusIs(PrivateKey::FromDer(ToVector("not DER")).status(), kInvalid));
  std::vector<uint8_t> trailing = sec1->ToPkcs8Der();
  trailing.push_back(0);
  CHECK(StatusIs(PrivateKey::FromDer(trailing).status(), kInvalid));
}

TEST_CASE("Key: SPKI strictness", "[key]") {
  auto key = PrivateKey::Generate();
  REQUIRE(key.ok());
  std::vector<uint8_t> der = key->public_key().ToSpkiDer();
  std::vector<uint8_t> trailing = der;
  trailing.push_back(0);
  CHECK(StatusIs(PublicKey::FromSpkiDer(trailing).status(), kInvalid,
                 "trailing data"));
  CHECK(StatusIs(PublicKey::FromSpkiDer({}).status(), kInvalid));
  CHECK(StatusIs(PublicKey::FromSpkiDer(key->ToPkcs8Der()).status(), kInvalid));

  // Private key PEM, two blocks, or a certificate are not a public key PEM.
  CHECK(StatusIs(PublicKey::FromPem(key->ToPem()).status(), kInvalid,
                 "not a PUBLIC KEY"));
  const std::string pub_pem = key->public_key().ToPem();
  CHECK(StatusIs(PublicKey::FromPem(pub_pem + pub_pem).status(), kInvalid,
                 "2 blocks"));
  CHECK(StatusIs(PublicKey::FromPem(Testdata("step/leaf.crt")).status(),
                 kInvalid));
  CHECK(StatusIs(PublicKey::FromPem("no pem here").status(), kInvalid));
}

TEST_CASE("Key: points not on the curve are refused", "[key]") {
  for (KeyType type : {KeyType::kP256, KeyType::kP384}) {
    auto key = PrivateKey::Generate(type);
    REQUIRE(key.ok());
    std::vector<uint8_t> der = key->public_key().ToSpkiDer();
    der.back() ^= 1;  // the last bit of y
    CHECK(StatusIs(PublicKey::FromSpkiDer(der).status(), kInvalid));
  }

  // Ed25519 SubjectPublicKeyInfo around a chosen 32-byte encoding.
  auto ed_spki = [](std::vector<uint8_t> point) {
    std::vector<uint8_t> der = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    der.insert(der.end(), point.begin(), point.end());
    return der;
  };
  auto good = PrivateKey::Generate(KeyType::kEd25519);
  REQUIRE(good.ok());
  CHECK(good->public_key().ToSpkiDer().size() == 44);
  CHECK(PublicKey::FromSpkiDer(good->public_key().ToSpkiDer()).ok());

  // y = 2: (y^2 - 1) / (d y^2 + 1) is not a square mod p.
  std::vector<uint8_t> y2(32, 0);
  y2[0] = 2;
  CHECK(StatusIs(PublicKey::FromSpkiDer(ed_spki(y2)).status(), kInvalid,
                 "not a point on the curve"));
  // y = p = 2^255 - 19 is not canonical.
  std::vector<uint8_t> y_p(32, 0xff);
  y_p[0] = 0xed;
  y_p[31] = 0x7f;
  CHECK(StatusIs(PublicKey::FromSpkiDer(ed_spki(y_p)).status(), kInvalid,
                 "not a point on the curve"));
  // y = 1 gives x = 0, which cannot carry the sign bit.
  std::vector<uint8_t> y1(32, 0);
  y1[0] = 1;
  CHECK(PublicKey::FromSpkiDer(ed_spki(y1)).ok());
  y1[31] = 0x80;
  CHECK(StatusIs(PublicKey::FromSpkiDer(ed_spki(y1)).status(), kInvalid,
                 "not a point on the curve"));
}

TEST_CASE("Key: RSA below 2048 or above 8192 bits is refused", "[key]") {
  TempDir dir;
  const std::string path = absl::StrCat(dir.path(), "/rsa1024.pem");
  Sh(absl::StrCat("openssl genrsa -out ", path, " 1024"));
  const std::string pem = Sh(absl::StrCat("cat ", path));
  CHECK(StatusIs(PrivateKey::FromPem(pem).status(), kInvalid,
                 "RSA key is 1024 bits; min 2048"));
  const std::string traditional =
      Sh(absl::StrCat("openssl rsa -traditional -in ", path));
  CHECK(StatusIs(PrivateKey::FromPem(traditional).status(), kInvalid,
                 "min 2048"));
  const std::string pub = Sh(absl::StrCat("openssl rsa -pubout -in ", path));
  CHECK(StatusIs(PublicKey::FromPem(pub).status(), kInvalid, "min 2048"));

  // An 8200-bit modulus (no need for real primes: only the size is read).
  bssl::UniquePtr<BIGNUM> n(BN_new());
  bssl::UniquePtr<BIGNUM> e(BN_new());
  REQUIRE(BN_rand(n.get(), 8200, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD));
  REQUIRE(BN_set_word(e.get(), 65537));
  bssl::UniquePtr<RSA> rsa(RSA_new());
  REQUIRE(RSA_set0_key(rsa.get(), n.release(), e.release(), nullptr));
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  REQUIRE(EVP_PKEY_set1_RSA(pkey.get(), rsa.get()));
  bssl::ScopedCBB cbb;
  REQUIRE(CBB_init(cbb.get(), 0));
  REQUIRE(EVP_marshal_public_key(cbb.get(), pkey.get()));
  auto der = internal::CbbToVector(cbb.get());
  REQUIRE(der.ok());
  CHECK(StatusIs(PublicKey::FromSpkiDer(*der).status(), kInvalid,
                 "RSA key is 8200 bits; max 8192"));
  CHECK(StatusIs(PublicKey::FromNative(pkey.get()).status(), kInvalid,
                 "max 8192"));
}

TEST_CASE("Key: unsupported curves and key types are refused", "[key]") {
  // BoringSSL does not know the first two at all; it knows P-224 and P-521
  // but mayfly does not take them.
  for (const char* curve :
       {"prime192v1", "secp256k1", "secp224r1", "secp521r1"}) {
    INFO(curve);
    const std::string sec1 =
        Sh(absl::StrCat("openssl ecparam -genkey -noout -name ", curve));
    CHECK(StatusIs(PrivateKey::FromPem(sec1).status(), kInvalid));
    TempDir dir;
    const std::string path = dir.Write("key.pem", sec1);
    const std::string pkcs8 = Sh(absl::StrCat("openssl pkey -in ", path));
    CHECK(StatusIs(PrivateKey::FromPem(pkcs8).status(), kInvalid));
    const std::string pub = Sh(absl::StrCat("openssl pkey -pubout -in ", path));
    CHECK(StatusIs(PublicKey::FromPem(pub).status(), kInvalid));
  }
  const std::string p521 =
      Sh("openssl ecparam -genkey -noout -name secp521r1 | openssl pkey");
  CHECK(StatusIs(PrivateKey::FromPem(p521).status(), kInvalid,
                 "secp521r1 is not supported"));

  for (const char* algorithm : {"X25519", "Ed448", "X448"}) {
    INFO(algorithm);
    const std::string pem =
        Sh(absl::StrCat("openssl genpkey -algorithm ", algorithm));
    CHECK(StatusIs(PrivateKey::FromPem(pem).status(), kInvalid));
    TempDir dir;
    const std::string path = dir.Write("key.pem", pem);
    CHECK(StatusIs(
        PublicKey::FromPem(Sh(absl::StrCat("openssl pkey -pubout -in ", path)))
            .status(),
        kInvalid));
  }
}

TEST_CASE("Key: step CA keys decrypt with the password", "[key]") {
  const std::string password = Password();
  struct Case {
    const char* key;
    const char* cert;
  } cases[] = {
      {"step/steppath/secrets/root_ca_key", "step/steppath/certs/root_ca.crt"},
      {"step/steppath/secrets/intermediate_ca_key",
       "step/steppath/certs/intermediate_ca.crt"},
  };
  for (const Case& c : cases) {
    INFO(c.key);
    const std::string pem = Testdata(c.key);
    REQUIRE(pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
    auto key = PrivateKey::FromPem(pem, password);
    REQUIRE(key.ok());
    CHECK(key->type() == KeyType::kP256);
    CHECK(key->public_key().Equals(CertPublicKey(TestdataPath(c.cert))));

    CHECK(StatusIs(PrivateKey::FromPem(pem, "wrong password").status(),
                   kUnauthenticated, "wrong password"));
    CHECK(StatusIs(PrivateKey::FromPem(pem).status(), kUnauthenticated,
                   "needs a password"));
  }
  // Each key matches only its own certificate.
  auto root = PrivateKey::FromPem(Testdata("step/steppath/secrets/root_ca_key"),
                                  password);
  REQUIRE(root.ok());
  CHECK_FALSE(root->public_key().Equals(
      CertPublicKey(TestdataPath("step/steppath/certs/intermediate_ca.crt"))));
}

TEST_CASE("Key: step key files parse", "[key]") {
  auto leaf = PrivateKey::FromPem(Testdata("step/leaf.key"));
  REQUIRE(leaf.ok());
  CHECK(leaf->type() == KeyType::kP256);
  // leaf.crt holds the leaf first; openssl x509 reads the first block.
  CHECK(
      leaf->public_key().Equals(CertPublicKey(TestdataPath("step/leaf.crt"))));

  auto enc =
      PrivateKey::FromPem(Testdata("step/key-pkcs8-enc.pem"), Password());
  REQUIRE(enc.ok());
  CHECK(enc->public_key().Equals(leaf->public_key()));
  CHECK(enc->ToPkcs8Der() == leaf->ToPkcs8Der());
  CHECK(StatusIs(
      PrivateKey::FromPem(Testdata("step/key-pkcs8-enc.pem"), "nope").status(),
      kUnauthenticated, "wrong password"));
  CHECK(
      StatusIs(PrivateKey::FromPem(Testdata("step/key-pkcs8-enc.pem")).status(),
               kUnauthenticated, "needs a password"));

  struct Case {
    const char* key;
    const char* csr;
    KeyType type;
  } cases[] = {{"step/csr.key", "step/csr.pem", KeyType::kP256},
               {"step/ed-csr.key", "step/ed-csr.pem", KeyType::kEd25519},
               {"step/rsa-csr.key", "step/rsa-csr.pem", KeyType::kRsa}};
  for (const Case& c : cases) {
    INFO(c.key);
    auto key = PrivateKey::FromPem(Testdata(c.key));
    REQUIRE(key.ok());
    CHECK(key->type() == c.type);
    auto csr_key = PublicKey::FromPem(Sh(
        absl::StrCat("openssl req -pubkey -noout -in ", TestdataPath(c.csr))));
    REQUIRE(csr_key.ok());
    CHECK(key->public_key().Equals(*csr_key));
    // A password given for an unencrypted key is ignored.
    CHECK(PrivateKey::FromPem(Testdata(c.key), "unused").ok());
  }
}

TEST_CASE("Key: encrypted PKCS#8 that we write is read by others", "[key]") {
  const std::string password = "correct horse battery staple";
  TempDir dir;
  for (KeyType type : kSigningTypes) {
    INFO(KeyTypeName(type));
    auto key = PrivateKey::Generate(type);
    REQUIRE(key.ok());
    auto pem = key->ToEncryptedPem(password);
    REQUIRE(pem.ok());
    CHECK(pem->rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 0) == 0);
    const std::string path = dir.Write("enc.pem", *pem);
    const std::string pub_pem = key->public_key().ToPem();

    // PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as the header says.
    const std::string asn1 = Sh(absl::StrCat("openssl asn1parse -in ", path));
    CHECK(asn1.find(":PBES2") != std::string::npos);
    CHECK(asn1.find(":hmacWithSHA256") != std::string::npos);
    CHECK(asn1.find(":aes-256-cbc") != std::string::npos);

    CHECK(Sh(absl::StrCat("openssl pkey -pubout -in ", path,
                          " -passin pass:", ShellQuote(password))) == pub_pem);
    testing::CommandResult wrong = Run(
        absl::StrCat("openssl pkey -pubout -in ", path, " -passin pass:wrong"));
    CHECK(wrong.exit_code != 0);

    const std::string script = absl::StrCat(
        "import sys\n"
        "from cryptography.hazmat.primitives import serialization as s\n"
        "k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), "
        "sys.argv[2].encode())\n"
        "sys.stdout.write(k.public_key().public_bytes(s.Encoding.PEM, "
        "s.PublicFormat.SubjectPublicKeyInfo).decode())\n");
    const std::string script_path = dir.Write("load.py", script);
    CHECK(Sh(absl::StrCat("python3 ", script_path, " ", path, " ",
                          ShellQuote(password))) == pub_pem);

    // And we read it back.
    auto back = PrivateKey::FromPem(*pem, password);
    REQUIRE(back.ok());
    CHECK(back->public_key().Equals(key->public_key()));
    CHECK(StatusIs(PrivateKey::FromPem(*pem, "wrong").status(),
                   kUnauthenticated, "wrong password"));
    CHECK(StatusIs(PrivateKey::FromPem(*pem).status(), kUnauthenticated,
                   "needs a password"));
  }
  auto key = PrivateKey::Generate();
  REQUIRE(key.ok());
  CHECK(StatusIs(key->ToEncryptedPem("").status(), kInvalid, "empty"));
  // Two encryptions of one key differ (fresh salt and IV).
  CHECK(*key->ToEncryptedPem("pw") != *key->ToEncryptedPem("pw"));
}

TEST_CASE("Key: encrypted PKCS#8 written by openssl and python", "[key]") {
  const std::string password = "openssl-password";
  auto leaf = PrivateKey::FromPem(Testdata("step/leaf.key"));
  REQUIRE(leaf.ok());
  const std::string leaf_path = TestdataPath("step/leaf.key");
  for (const char* options :
       {"-v2 aes-256-cbc", "-v2 aes-256-cbc -v2prf hmacWithSHA1",
        "-v2 aes-128-cbc -v2prf hmacWithSHA512",
        "-v2 aes-192-cbc -v2prf hmacWithSHA384 -iter 1"}) {
    INFO(options);
    const std::string pem =
        Sh(absl::StrCat("openssl pkcs8 -topk8 ", options, " -in ", leaf_path,
                        " -passout pass:", password));
    auto key = PrivateKey::FromPem(pem, password);
    REQUIRE(key.ok());
    CHECK(key->public_key().Equals(leaf->public_key()));
    CHECK(
        StatusIs(PrivateKey::FromPem(pem, "wrong").status(), kUnauthenticated));
  }
  // PKCS#12 PBES1 and scrypt are not PBES2 with PBKDF2.
  CHECK(StatusIs(
      PrivateKey::FromPem(Sh(absl::StrCat("openssl pkcs8 -topk8 -v1 "
                                          "PBE-SHA1-3DES -in ",
                                          leaf_path, " -passout pass:pw")),
                          "pw")
          .status(),
      kInvalid, "PBES2"));
  CHECK(StatusIs(
      PrivateKey::FromPem(Sh(absl::StrCat("openssl pkcs8 -topk8 -scrypt "
                                          "-scrypt_N 1024 -in ",
                                          leaf_path, " -passout pass:pw")),
                          "pw")
          .status(),
      kInvalid, "PBKDF2"));

  // Python cryptography's best available encryption, for each key type.
  TempDir dir;
  const std::string script = dir.Write(
      "write.py",
      "import sys\n"
      "from cryptography.hazmat.primitives import serialization as s\n"
      "k = s.load_pem_private_key(sys.stdin.buffer.read(), None)\n"
      "sys.stdout.write(k.private_bytes(s.Encoding.PEM, "
      "s.PrivateFormat.PKCS8, "
      "s.BestAvailableEncryption(b'py-password')).decode())\n");
  for (const char* file :
       {"step/leaf.key", "step/ed-csr.key", "step/rsa-csr.key"}) {
    INFO(file);
    testing::CommandResult out =
        Run(absl::StrCat("python3 ", script), Testdata(file));
    INFO(out.output);
    REQUIRE(out.exit_code == 0);
    auto key = PrivateKey::FromPem(out.output, "py-password");
    REQUIRE(key.ok());
    auto plain = PrivateKey::FromPem(Testdata(file));
    REQUIRE(plain.ok());
    CHECK(key->public_key().Equals(plain->public_key()));
  }
}

TEST_CASE("Key: legacy encrypted PEM written by openssl", "[key]") {
  const std::string leaf_path = TestdataPath("step/leaf.key");
  const std::string rsa_path = TestdataPath("step/rsa-csr.key");
  auto leaf = PrivateKey::FromPem(Testdata("step/leaf.key"));
  auto rsa = PrivateKey::FromPem(Testdata("step/rsa-csr.key"));
  REQUIRE(leaf.ok());
  REQUIRE(rsa.ok());
  struct Case {
    std::string command;
    const PrivateKey* want;
  } cases[] = {
      {absl::StrCat("openssl ec -aes256 -in ", leaf_path), &*leaf},
      {absl::StrCat("openssl ec -aes128 -in ", leaf_path), &*leaf},
      {absl::StrCat("openssl ec -aes192 -in ", leaf_path), &*leaf},
      {absl::StrCat("openssl rsa -traditional -aes256 -in ", rsa_path), &*rsa},
  };
  for (const Case& c : cases) {
    INFO(c.command);
    const std::string pem = Sh(c.command + " -passout pass:legacy");
    REQUIRE(pem.find("DEK-Info: AES-") != std::string::npos);
    auto key = PrivateKey::FromPem(pem, "legacy");
    REQUIRE(key.ok());
    CHECK(key->public_key().Equals(c.want->public_key()));
    CHECK(StatusIs(PrivateKey::FromPem(pem, "Legacy").status(),
                   kUnauthenticated, "wrong password"));
    CHECK(StatusIs(PrivateKey::FromPem(pem).status(), kUnauthenticated,
                   "needs a password"));
  }
  const std::string des3 = Sh(absl::StrCat("openssl ec -des3 -in ", leaf_path,
                                           " -passout pass:legacy"));
  CHECK(StatusIs(PrivateKey::FromPem(des3, "legacy").status(), kInvalid,
                 "not supported"));

  // Damaged headers.
  std::string pem = Testdata("step/steppath/secrets/root_ca_key");
  std::string no_proc = pem;
  no_proc.replace(no_proc.find("Proc-Type: 4,ENCRYPTED"), 22, "X-Note: hello");
  CHECK(StatusIs(PrivateKey::FromPem(no_proc, Password()).status(), kInvalid,
                 "unexpected header"));
  std::string bad_iv = pem;
  bad_iv.replace(bad_iv.find("AES-256-CBC,") + 12, 2, "zz");
  CHECK(StatusIs(PrivateKey::FromPem(bad_iv, Password()).status(), kInvalid,
                 "IV"));
  std::string short_iv = pem;
  short_iv.erase(short_iv.find("AES-256-CBC,") + 12, 2);
  CHECK(StatusIs(PrivateKey::FromPem(short_iv, Password()).status(), kInvalid,
                 "IV"));
}

TEST_CASE("Key: private key PEM framing", "[key]") {
  auto key = PrivateKey::Generate();
  REQUIRE(key.ok());
  const std::string pem = key->ToPem();
  CHECK(StatusIs(PrivateKey::FromPem(pem + pem).status(), kInvalid,
                 "more than one private key"));
  CHECK(StatusIs(PrivateKey::FromPem(key->public_key().ToPem()).status(),
                 kInvalid, "not a private key"));
  CHECK(StatusIs(PrivateKey::FromPem(Testdata("step/leaf.crt")).status(),
                 kInvalid, "not a private key"));
  CHECK(StatusIs(PrivateKey::FromPem("").status(), kInvalid));

  // `openssl ecparam -genkey` puts EC PARAMETERS before the key.
  CHECK(
      PrivateKey::FromPem(Sh("openssl ecparam -genkey -name prime256v1")).ok());

  // The label must match the structure inside.
  auto der = key->ToPkcs8Der();
  CHECK(StatusIs(
      PrivateKey::FromPem(internal::EncodePem("EC PRIVATE KEY", der)).status(),
      kInvalid, "holds another key format"));
  CHECK(StatusIs(
      PrivateKey::FromPem(internal::EncodePem("RSA PRIVATE KEY", der)).status(),
      kInvalid, "holds another key format"));

  // Headers on an unencrypted PKCS#8 block.
  std::string with_header = pem;
  with_header.insert(with_header.find('\n') + 1, "Comment: x\n\n");
  CHECK(
      StatusIs(PrivateKey::FromPem(with_header).status(), kInvalid, "headers"));
}

// EncryptedPkcs8 builds an EncryptedPrivateKeyInfo with chosen parameters.
std::string EncryptedPkcs8(uint64_t iterations, std::vector<uint8_t> prf_oid,
                           std::vector<uint8_t> cipher_oid, size_t iv_len,
                           size_t data_len) {
  static const uint8_t kPbes2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                   0x0d, 0x01, 0x05, 0x0d};
  static const uint8_t kPbkdf2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                    0x0d, 0x01, 0x05, 0x0c};
  const std::vector<uint8_t> salt(16, 7), iv(iv_len, 9), data(data_len, 3);
  bssl::ScopedCBB cbb;
  CBB epki, alg, oid, params, kdf, kdf_params, prf, scheme, octets;
  REQUIRE(CBB_init(cbb.get(), 0));
  REQUIRE(CBB_add_asn1(cbb.get(), &epki, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&epki, &alg, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&alg, &oid, CBS_ASN1_OBJECT));
  REQUIRE(CBB_add_bytes(&oid, kPbes2, sizeof(kPbes2)));
  REQUIRE(CBB_add_asn1(&alg, &params, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&params, &kdf, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&kdf, &oid, CBS_ASN1_OBJECT));
  REQUIRE(CBB_add_bytes(&oid, kPbkdf2, sizeof(kPbkdf2)));
  REQUIRE(CBB_add_asn1(&kdf, &kdf_params, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&kdf_params, &octets, CBS_ASN1_OCTETSTRING));
  REQUIRE(CBB_add_bytes(&octets, salt.data(), salt.size()));
  REQUIRE(CBB_add_asn1_uint64(&kdf_params, iterations));
  REQUIRE(CBB_add_asn1(&kdf_params, &prf, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&prf, &oid, CBS_ASN1_OBJECT));
  REQUIRE(CBB_add_bytes(&oid, prf_oid.data(), prf_oid.size()));
  REQUIRE(CBB_add_asn1(&params, &scheme, CBS_ASN1_SEQUENCE));
  REQUIRE(CBB_add_asn1(&scheme, &oid, CBS_ASN1_OBJECT));
  REQUIRE(CBB_add_bytes(&oid, cipher_oid.data(), cipher_oid.size()));
  REQUIRE(CBB_add_asn1(&scheme, &octets, CBS_ASN1_OCTETSTRING));
  REQUIRE(CBB_add_bytes(&octets, iv.data(), iv.size()));
  REQUIRE(CBB_add_asn1(&epki, &octets, CBS_ASN1_OCTETSTRING));
  REQUIRE(CBB_add_bytes(&octets, data.data(), data.size()));
  auto der = internal::CbbToVector(cbb.get());
  REQUIRE(der.ok());
  return internal::EncodePem("ENCRYPTED PRIVATE KEY", *der);
}

TEST_CASE("Key: encrypted PKCS#8 strictness", "[key]") {
  const std::vector<uint8_t> sha256 = {0x2a, 0x86, 0x48, 0x86,
                                       0xf7, 0x0d, 0x02, 0x09};
  const std::vector<uint8_t> md5 = {0x2a, 0x86, 0x48, 0x86,
                                    0xf7, 0x0d, 0x02, 0x06};
  const std::vector<uint8_t> aes256 = {0x60, 0x86, 0x48, 0x01, 0x65,
                                       0x03, 0x04, 0x01, 0x2a};
  const std::vector<uint8_t> des3 = {0x2a, 0x86, 0x48, 0x86,
                                     0xf7, 0x0d, 0x03, 0x07};
  // Garbage ciphertext under valid parameters is a wrong password.
  CHECK(StatusIs(
      PrivateKey::FromPem(EncryptedPkcs8(1, sha256, aes256, 16, 48), "pw")
          .status(),
      kUnauthenticated, "wrong password"));
  CHECK(StatusIs(
      PrivateKey::FromPem(EncryptedPkcs8(1, sha256, aes256, 16, 48)).status(),
      kUnauthenticated, "needs a password"));
  // The iteration count is bounded before any work is done.
  CHECK(StatusIs(PrivateKey::FromPem(
                     EncryptedPkcs8(20000000, sha256, aes256, 16, 48), "pw")
                     .status(),
                 kInvalid, "iteration count is 20000000; want 1 to 10000000"));
  CHECK(StatusIs(
      PrivateKey::FromPem(EncryptedPkcs8(0, sha256, aes256, 16, 48), "pw")
          .status(),
      kInvalid, "iteration count"));
  CHECK(
      StatusIs(PrivateKey::FromPem(EncryptedPkcs8(1, md5, aes256, 16, 48), "pw")
                   .status(),
               kInvalid, "PRF"));
  CHECK(
      StatusIs(PrivateKey::FromPem(EncryptedPkcs8(1, sha256, des3, 8, 48), "pw")
                   .status(),
               kInvalid, "cipher"));
  CHECK(StatusIs(
      PrivateKey::FromPem(EncryptedPkcs8(1, sha256, aes256, 8, 48), "pw")
          .status(),
      kInvalid, "IV is 8 bytes; want 16"));
  CHECK(StatusIs(
      PrivateKey::FromPem(EncryptedPkcs8(1, sha256, aes256, 16, 47), "pw")
          .status(),
      kInvalid, "multiple of 16"));
  CHECK(StatusIs(
      PrivateKey::FromPem(
          internal::EncodePem("ENCRYPTED PRIVATE KEY", ToVector("junk")), "pw")
          .status(),
      kInvalid, "malformed"));
}

TEST_CASE("Key: FromNative and native", "[key]") {
  CHECK(StatusIs(PublicKey::FromNative(nullptr).status(), kInvalid));
  auto key = PrivateKey::Generate(KeyType::kP384);
  REQUIRE(key.ok());
  auto pub = PublicKey::FromNative(key->public_key().native());
  REQUIRE(pub.ok());
  CHECK(pub->type() == KeyType::kP384);
  CHECK(pub->Equals(key->public_key()));
  CHECK(key->native() != nullptr);
  // public_key() holds no private half.
  CHECK(EVP_PKEY_get0_EC_KEY(key->public_key().native()) != nullptr);
  CHECK(EC_KEY_get0_private_key(
            EVP_PKEY_get0_EC_KEY(key->public_key().native())) == nullptr);
}

TEST_CASE("Key: copies share the key and are thread-safe values", "[key]") {
  auto key = PrivateKey::Generate(KeyType::kEd25519);
  REQUIRE(key.ok());
  PrivateKey copy = *key;
  CHECK(copy.native() == key->native());
  auto sig = copy.Sign(ToVector("x"));
  REQUIRE(sig.ok());
  CHECK(key->public_key().Verify(ToVector("x"), *sig).ok());
  // Ed25519 is deterministic.
  CHECK(*key->Sign(ToVector("x")) == *sig);
}

}  // namespace
}  // namespace mayfly

// Keys: generation, DER, public PEM, signatures and validation. PEM private
// keys are in key_pem.cc and JWKs in jwk.cc.

#include "mayfly/key.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "internal/bssl.h"
#include "key_internal.h"
#include "mayfly/status.h"
#include "openssl/bn.h"
#include "openssl/bytestring.h"
#include "openssl/curve25519.h"
#include "openssl/digest.h"
#include "openssl/ec.h"
#include "openssl/ec_key.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/nid.h"
#include "openssl/obj.h"
#include "openssl/rsa.h"

namespace mayfly {
namespace internal {
namespace {

// Ed25519PointIsValid reports whether the 32-byte encoding `enc` decodes to
// a point on the curve, following RFC 8032 section 5.1.3: y below p, and
// x^2 = (y^2 - 1) / (d y^2 + 1) a square mod p (x = 0 only with sign bit 0).
// BoringSSL stores any 32 bytes as an Ed25519 public key, so without this a
// key that can never verify anything would be accepted.
bool Ed25519PointIsValid(const uint8_t enc[ED25519_PUBLIC_KEY_LEN]) {
  uint8_t be[ED25519_PUBLIC_KEY_LEN];
  for (size_t i = 0; i < sizeof(be); i++) {
    be[i] = enc[sizeof(be) - 1 - i];
  }
  const bool sign = (be[0] & 0x80) != 0;
  be[0] &= 0x7f;

  bssl::UniquePtr<BN_CTX> ctx(BN_CTX_new());
  bssl::UniquePtr<BIGNUM> p(BN_new()), y(BN_bin2bn(be, sizeof(be), nullptr)),
      t(BN_new()), d(BN_new()), y2(BN_new()), u(BN_new()), v(BN_new()),
      x2(BN_new()), r(BN_new());
  if (!ctx || !p || !y || !t || !d || !y2 || !u || !v || !x2 || !r) {
    return false;
  }
  // p = 2^255 - 19.
  if (!BN_set_bit(p.get(), 255) || !BN_sub_word(p.get(), 19)) {
    return false;
  }
  if (BN_cmp(y.get(), p.get()) >= 0) {
    return false;
  }
  // d = -121665 / 121666 mod p.
  if (!BN_set_word(t.get(), 121666) ||
      !BN_mod_inverse(d.get(), t.get(), p.get(), ctx.get()) ||
      !BN_set_word(t.get(), 121665) || !BN_sub(t.get(), p.get(), t.get()) ||
      !BN_mod_mul(d.get(), d.get(), t.get(), p.get(), ctx.get())) {
    return false;
  }
  // u = y^2 - 1, v = d y^2 + 1, x2 = u / v. v is never 0: d is not a square.
  if (!BN_mod_sqr(y2.get(), y.get(), p.get(), ctx.get()) ||
      !BN_mod_sub(u.get(), y2.get(), BN_value_one(), p.get(), ctx.get()) ||
      !BN_mod_mul(v.get(), d.get(), y2.get(), p.get(), ctx.get()) ||
      !BN_mod_add(v.get(), v.get(), BN_value_one(), p.get(), ctx.get()) ||
      !BN_mod_inverse(v.get(), v.get(), p.get(), ctx.get()) ||
      !BN_mod_mul(x2.get(), u.get(), v.get(), p.get(), ctx.get())) {
    ERR_clear_error();
    return false;
  }
  if (BN_is_zero(x2.get())) {
    return !sign;
  }
  // Euler's criterion: x2 is a square iff x2^((p-1)/2) = 1.
  if (!BN_sub(t.get(), p.get(), BN_value_one()) ||
      !BN_rshift1(t.get(), t.get()) ||
      !BN_mod_exp(r.get(), x2.get(), t.get(), p.get(), ctx.get())) {
    ERR_clear_error();
    return false;
  }
  return BN_is_one(r.get());
}

absl::string_view FormatName(PrivateKeyFormat format) {
  switch (format) {
    case PrivateKeyFormat::kPkcs8:
      return "PKCS#8";
    case PrivateKeyFormat::kSec1:
      return "SEC 1";
    case PrivateKeyFormat::kPkcs1:
      return "PKCS#1";
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<KeyType> CheckKey(const EVP_PKEY* pkey, bool need_private) {
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("no key");
  }
  switch (EVP_PKEY_id(pkey)) {
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
      const EC_GROUP* group = ec == nullptr ? nullptr : EC_KEY_get0_group(ec);
      if (group == nullptr) {
        return absl::InvalidArgumentError("EC key has no curve");
      }
      KeyType type;
      const int nid = EC_GROUP_get_curve_name(group);
      if (nid == NID_X9_62_prime256v1) {
        type = KeyType::kP256;
      } else if (nid == NID_secp384r1) {
        type = KeyType::kP384;
      } else {
        const char* name = OBJ_nid2sn(nid);
        return absl::InvalidArgumentError(
            absl::StrCat("EC curve ", name == nullptr ? "(unnamed)" : name,
                         " is not supported; use P-256 or P-384"));
      }
      if (EC_KEY_get0_public_key(ec) == nullptr) {
        return absl::InvalidArgumentError("EC key has no public point");
      }
      // Checks the point is on the curve and not at infinity, and that the
      // private scalar, if any, yields it.
      if (!EC_KEY_check_key(ec)) {
        return BsslError(absl::StatusCode::kInvalidArgument,
                         "EC key is not valid");
      }
      if (need_private && EC_KEY_get0_private_key(ec) == nullptr) {
        return absl::InvalidArgumentError("EC key has no private scalar");
      }
      return type;
    }
    case EVP_PKEY_ED25519: {
      uint8_t pub[ED25519_PUBLIC_KEY_LEN];
      size_t pub_len = sizeof(pub);
      if (!EVP_PKEY_get_raw_public_key(pkey, pub, &pub_len) ||
          pub_len != sizeof(pub)) {
        return BsslError(absl::StatusCode::kInvalidArgument,
                         "Ed25519 key has no public key");
      }
      if (!Ed25519PointIsValid(pub)) {
        return absl::InvalidArgumentError(
            "Ed25519 public key is not a point on the curve");
      }
      if (need_private) {
        size_t priv_len = 0;
        if (!EVP_PKEY_get_raw_private_key(pkey, nullptr, &priv_len)) {
          ERR_clear_error();
          return absl::InvalidArgumentError("Ed25519 key has no private key");
        }
      }
      return KeyType::kEd25519;
    }
    case EVP_PKEY_RSA: {
      const RSA* rsa = EVP_PKEY_get0_RSA(pkey);
      if (rsa == nullptr || RSA_get0_n(rsa) == nullptr) {
        return absl::InvalidArgumentError("RSA key has no modulus");
      }
      // Bounds first: RSA_check_key on a huge modulus is the expensive part.
      const unsigned bits = RSA_bits(rsa);
      if (bits < static_cast<unsigned>(kMinRsaBits)) {
        return absl::InvalidArgumentError(
            absl::StrCat("RSA key is ", bits, " bits; min ", kMinRsaBits));
      }
      if (bits > static_cast<unsigned>(kMaxRsaBits)) {
        return absl::InvalidArgumentError(
            absl::StrCat("RSA key is ", bits, " bits; max ", kMaxRsaBits));
      }
      if (!RSA_check_key(rsa)) {
        return BsslError(absl::StatusCode::kInvalidArgument,
                         "RSA key is not valid");
      }
      if (need_private && RSA_get0_d(rsa) == nullptr) {
        return absl::InvalidArgumentError("RSA key has no private exponent");
      }
      return KeyType::kRsa;
    }
    default:
      return absl::InvalidArgumentError(
          "key type is not supported; use P-256, P-384, Ed25519 or RSA");
  }
}

absl::StatusOr<PrivateKeyFormat> DetectPrivateKeyFormat(
    absl::Span<const uint8_t> der) {
  CBS cbs, seq;
  CBS_init(&cbs, der.data(), der.size());
  uint64_t version = 0;
  if (CBS_get_asn1(&cbs, &seq, CBS_ASN1_SEQUENCE) && CBS_len(&cbs) == 0 &&
      CBS_get_asn1_uint64(&seq, &version)) {
    // PrivateKeyInfo: version, AlgorithmIdentifier. ECPrivateKey: version
    // 1, OCTET STRING. RSAPrivateKey: version, INTEGER modulus.
    if (CBS_peek_asn1_tag(&seq, CBS_ASN1_SEQUENCE)) {
      return PrivateKeyFormat::kPkcs8;
    }
    if (CBS_peek_asn1_tag(&seq, CBS_ASN1_OCTETSTRING)) {
      return PrivateKeyFormat::kSec1;
    }
    if (CBS_peek_asn1_tag(&seq, CBS_ASN1_INTEGER)) {
      return PrivateKeyFormat::kPkcs1;
    }
  }
  return absl::InvalidArgumentError(
      "private key DER is not PKCS#8, SEC 1 or PKCS#1");
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParsePrivateKeyDer(
    absl::Span<const uint8_t> der, PrivateKeyFormat format) {
  CBS cbs;
  CBS_init(&cbs, der.data(), der.size());
  bssl::UniquePtr<EVP_PKEY> pkey;
  switch (format) {
    case PrivateKeyFormat::kPkcs8:
      pkey.reset(EVP_parse_private_key(&cbs));
      break;
    case PrivateKeyFormat::kSec1: {
      // With no group given, the key must name its curve, as step's do.
      bssl::UniquePtr<EC_KEY> ec(EC_KEY_parse_private_key(&cbs, nullptr));
      if (ec) {
        pkey.reset(EVP_PKEY_new());
        if (!pkey || !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get())) {
          return BsslError(absl::StatusCode::kInternal, "wrapping EC key");
        }
        ec.release();
      }
      break;
    }
    case PrivateKeyFormat::kPkcs1: {
      bssl::UniquePtr<RSA> rsa(RSA_parse_private_key(&cbs));
      if (rsa) {
        pkey.reset(EVP_PKEY_new());
        if (!pkey || !EVP_PKEY_assign_RSA(pkey.get(), rsa.get())) {
          return BsslError(absl::StatusCode::kInternal, "wrapping RSA key");
        }
        rsa.release();
      }
      break;
    }
  }
  if (!pkey) {
    return BsslError(absl::StatusCode::kInvalidArgument,
                     absl::StrCat("malformed or unsupported ",
                                  FormatName(format), " private key"));
  }
  if (CBS_len(&cbs) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(FormatName(format), " private key has trailing data"));
  }
  MAYFLY_RETURN_IF_ERROR(CheckKey(pkey.get(), true).status());
  return pkey;
}

absl::string_view JwsAlgorithmFor(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return "ES256";
    case KeyType::kP384:
      return "ES384";
    case KeyType::kEd25519:
      return "EdDSA";
    case KeyType::kRsa:
      return "RS256";
  }
  return "";
}

}  // namespace internal

namespace {

// TypeOf returns the type of a key that CheckKey accepted.
KeyType TypeOf(const EVP_PKEY* pkey) {
  switch (EVP_PKEY_id(pkey)) {
    case EVP_PKEY_EC: {
      const EC_GROUP* group = EC_KEY_get0_group(EVP_PKEY_get0_EC_KEY(pkey));
      return EC_GROUP_get_curve_name(group) == NID_secp384r1 ? KeyType::kP384
                                                             : KeyType::kP256;
    }
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    default:
      return KeyType::kRsa;
  }
}

// DigestFor returns the hash signatures with `type` use; NULL for Ed25519,
// which hashes internally.
const EVP_MD* DigestFor(KeyType type) {
  switch (type) {
    case KeyType::kP384:
      return EVP_sha384();
    case KeyType::kEd25519:
      return nullptr;
    case KeyType::kP256:
    case KeyType::kRsa:
      break;
  }
  return EVP_sha256();
}

}  // namespace

absl::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kP256:
      return "P-256";
    case KeyType::kP384:
      return "P-384";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kRsa:
      return "RSA";
  }
  return "unknown";
}

// PublicKey

absl::StatusOr<PublicKey> PublicKey::FromSpkiDer(
    absl::Span<const uint8_t> der) {
  CBS cbs;
  CBS_init(&cbs, der.data(), der.size());
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_parse_public_key(&cbs));
  if (!pkey) {
    return internal::BsslError(absl::StatusCode::kInvalidArgument,
                               "malformed or unsupported SubjectPublicKeyInfo");
  }
  if (CBS_len(&cbs) != 0) {
    return absl::InvalidArgumentError("SubjectPublicKeyInfo has trailing data");
  }
  MAYFLY_RETURN_IF_ERROR(internal::CheckKey(pkey.get(), false).status());
  return PublicKey(internal::ShareKey(std::move(pkey)));
}

absl::StatusOr<PublicKey> PublicKey::FromPem(absl::string_view pem) {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<internal::PemBlock> blocks,
                          internal::DecodePemBlocks(pem));
  if (blocks.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key PEM has ", blocks.size(), " blocks; want 1"));
  }
  const internal::PemBlock& block = blocks.front();
  if (block.type != "PUBLIC KEY") {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM block ", block.type, " is not a PUBLIC KEY"));
  }
  if (!block.headers.empty()) {
    return absl::InvalidArgumentError("PUBLIC KEY PEM block has headers");
  }
  return FromSpkiDer(block.der);
}

KeyType PublicKey::type() const { return TypeOf(pkey_.get()); }

int PublicKey::bits() const {
  switch (type()) {
    case KeyType::kP256:
      return 256;
    case KeyType::kP384:
      return 384;
    case KeyType::kEd25519:
      return 255;
    case KeyType::kRsa:
      break;
  }
  return static_cast<int>(RSA_bits(EVP_PKEY_get0_RSA(pkey_.get())));
}

std::vector<uint8_t> PublicKey::ToSpkiDer() const {
  bssl::ScopedCBB cbb;
  if (!CBB_init(cbb.get(), 128) ||
      !EVP_marshal_public_key(cbb.get(), pkey_.get())) {
    ERR_clear_error();
    return {};
  }
  auto der = internal::CbbToVector(cbb.get());
  return der.ok() ? *std::move(der) : std::vector<uint8_t>();
}

std::string PublicKey::ToPem() const {
  return internal::EncodePem("PUBLIC KEY", ToSpkiDer());
}

absl::string_view PublicKey::DefaultJwsAlgorithm() const {
  return internal::JwsAlgorithmFor(type());
}

absl::Status PublicKey::Verify(absl::Span<const uint8_t> message,
                               absl::Span<const uint8_t> signature) const {
  bssl::ScopedEVP_MD_CTX ctx;
  if (!EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(type()), nullptr,
                            pkey_.get())) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "starting signature verification");
  }
  if (!EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                        message.data(), message.size())) {
    ERR_clear_error();
    return absl::UnauthenticatedError(
        absl::StrCat(KeyTypeName(type()), " signature does not verify"));
  }
  return absl::OkStatus();
}

bool PublicKey::Equals(const PublicKey& other) const {
  const bool equal = EVP_PKEY_cmp(pkey_.get(), other.pkey_.get()) == 1;
  ERR_clear_error();
  return equal;
}

absl::StatusOr<PublicKey> PublicKey::FromNative(evp_pkey_st* pkey) {
  MAYFLY_RETURN_IF_ERROR(internal::CheckKey(pkey, false).status());
  EVP_PKEY_up_ref(pkey);
  return PublicKey(internal::ShareKey(bssl::UniquePtr<EVP_PKEY>(pkey)));
}

// PrivateKey

absl::StatusOr<PrivateKey> PrivateKey::Generate(KeyType type) {
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!pkey) {
    return internal::BsslError(absl::StatusCode::kInternal, "allocating key");
  }
  switch (type) {
    case KeyType::kP256:
    case KeyType::kP384: {
      bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(
          type == KeyType::kP256 ? NID_X9_62_prime256v1 : NID_secp384r1));
      if (!ec || !EC_KEY_generate_key(ec.get()) ||
          !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get())) {
        return internal::BsslError(absl::StatusCode::kInternal,
                                   "generating EC key");
      }
      ec.release();
      break;
    }
    case KeyType::kEd25519: {
      uint8_t pub[ED25519_PUBLIC_KEY_LEN];
      uint8_t priv[ED25519_PRIVATE_KEY_LEN];
      ED25519_keypair(pub, priv);
      // BoringSSL's 64-byte private key is the seed followed by the public
      // key; the EVP form takes the 32-byte seed.
      pkey.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv,
                                              ED25519_PUBLIC_KEY_LEN));
      OPENSSL_cleanse(priv, sizeof(priv));
      if (!pkey) {
        return internal::BsslError(absl::StatusCode::kInternal,
                                   "generating Ed25519 key");
      }
      break;
    }
    case KeyType::kRsa:
      return absl::InvalidArgumentError(
          "mayfly generates P-256, P-384 and Ed25519 keys; not RSA");
  }
  return PrivateKey(internal::ShareKey(std::move(pkey)));
}

absl::StatusOr<PrivateKey> PrivateKey::FromDer(absl::Span<const uint8_t> der) {
  MAYFLY_ASSIGN_OR_RETURN(internal::PrivateKeyFormat format,
                          internal::DetectPrivateKeyFormat(der));
  MAYFLY_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> pkey,
                          internal::ParsePrivateKeyDer(der, format));
  return PrivateKey(internal::ShareKey(std::move(pkey)));
}

KeyType PrivateKey::type() const { return TypeOf(pkey_.get()); }

PublicKey PrivateKey::public_key() const {
  // A separate public-only EVP_PKEY, so that code holding the PublicKey
  // (certificates, verifiers) never holds the private half.
  bssl::ScopedCBB cbb;
  uint8_t* der = nullptr;
  size_t der_len = 0;
  if (CBB_init(cbb.get(), 128) &&
      EVP_marshal_public_key(cbb.get(), pkey_.get()) &&
      CBB_finish(cbb.get(), &der, &der_len)) {
    bssl::UniquePtr<uint8_t> owned(der);
    CBS cbs;
    CBS_init(&cbs, der, der_len);
    bssl::UniquePtr<EVP_PKEY> pub(EVP_parse_public_key(&cbs));
    if (pub) {
      return PublicKey(internal::ShareKey(std::move(pub)));
    }
  }
  // Only on allocation failure: share the private key, which still answers
  // every PublicKey method correctly.
  ERR_clear_error();
  return PublicKey(pkey_);
}

std::vector<uint8_t> PrivateKey::ToPkcs8Der() const {
  bssl::ScopedCBB cbb;
  uint8_t* der = nullptr;
  size_t der_len = 0;
  // Sized for the largest RSA key so the buffer never moves while it holds
  // key material.
  if (!CBB_init(cbb.get(), 8192) ||
      !EVP_marshal_private_key(cbb.get(), pkey_.get()) ||
      !CBB_finish(cbb.get(), &der, &der_len)) {
    ERR_clear_error();
    return {};
  }
  std::vector<uint8_t> out(der, der + der_len);
  OPENSSL_cleanse(der, der_len);
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> PrivateKey::Sign(
    absl::Span<const uint8_t> message) const {
  bssl::ScopedEVP_MD_CTX ctx;
  if (!EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(type()), nullptr,
                          pkey_.get())) {
    return internal::BsslError(absl::StatusCode::kInternal, "starting signing");
  }
  size_t sig_len = EVP_PKEY_size(pkey_.get());
  std::vector<uint8_t> sig(sig_len);
  if (!EVP_DigestSign(ctx.get(), sig.data(), &sig_len, message.data(),
                      message.size())) {
    return internal::BsslError(absl::StatusCode::kInternal, "signing");
  }
  sig.resize(sig_len);
  return sig;
}

}  // namespace mayfly

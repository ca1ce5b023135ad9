// Private keys in PEM: plain PKCS#8, SEC 1 and PKCS#1, password-encrypted
// PKCS#8 (PBES2, RFC 8018) and the legacy RFC 1423 encrypted PEM that
// `step ca init` writes for the CA keys.
//
// PBES2 is parsed and built here with CBS/CBB rather than through
// PKCS8_encrypt/PKCS8_decrypt: this BoringSSL always writes the default
// HMAC-SHA1 PRF, and a parser of our own can bound the iteration count and
// tell a wrong password (Unauthenticated) from a malformed file
// (InvalidArgument). The legacy format likewise: EVP_BytesToKey and AES-CBC
// over the block DecodePemBlocks already decoded, instead of a second PEM
// parser in PEM_read_bio_PrivateKey that reports every failure alike.

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "internal/bssl.h"
#include "key_internal.h"
#include "mayfly/key.h"
#include "mayfly/status.h"
#include "openssl/bytestring.h"
#include "openssl/cipher.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/rand.h"

namespace mayfly {
namespace {

using internal::PrivateKeyFormat;

// OIDs, DER contents only (RFC 8018 appendices A.2, A.4, B.1.2, B.2.5).
constexpr uint8_t kOidPbes2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                 0x0d, 0x01, 0x05, 0x0d};
constexpr uint8_t kOidPbkdf2[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                  0x0d, 0x01, 0x05, 0x0c};
constexpr uint8_t kOidHmacSha1[] = {0x2a, 0x86, 0x48, 0x86,
                                    0xf7, 0x0d, 0x02, 0x07};
constexpr uint8_t kOidHmacSha256[] = {0x2a, 0x86, 0x48, 0x86,
                                      0xf7, 0x0d, 0x02, 0x09};
constexpr uint8_t kOidHmacSha384[] = {0x2a, 0x86, 0x48, 0x86,
                                      0xf7, 0x0d, 0x02, 0x0a};
constexpr uint8_t kOidHmacSha512[] = {0x2a, 0x86, 0x48, 0x86,
                                      0xf7, 0x0d, 0x02, 0x0b};
constexpr uint8_t kOidAes128Cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65,
                                     0x03, 0x04, 0x01, 0x02};
constexpr uint8_t kOidAes192Cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65,
                                     0x03, 0x04, 0x01, 0x16};
constexpr uint8_t kOidAes256Cbc[] = {0x60, 0x86, 0x48, 0x01, 0x65,
                                     0x03, 0x04, 0x01, 0x2a};

// kPbkdf2Iterations is what we write: the count `step crypto key format`
// uses (600000, OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
constexpr unsigned kPbkdf2Iterations = 600000;
// kMaxPbkdf2Iterations bounds the work a hostile file can demand (a few
// seconds); OpenSSL writes 2048 and step 600000.
constexpr uint64_t kMaxPbkdf2Iterations = 10000000;
constexpr size_t kSaltLen = 16;
constexpr size_t kMaxSaltLen = 64;

constexpr absl::string_view kWrongPassword =
    "encrypted private key does not decrypt: wrong password or corrupt data";
constexpr absl::string_view kNeedPassword =
    "encrypted private key needs a password";

// SecretBytes is a byte buffer wiped when it goes out of scope.
struct SecretBytes {
  explicit SecretBytes(size_t n = 0) : v(n) {}
  ~SecretBytes() { internal::Cleanse(&v); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  std::vector<uint8_t> v;
};

// BlocksWiper wipes the decoded DER of every PEM block on scope exit.
struct BlocksWiper {
  ~BlocksWiper() {
    for (internal::PemBlock& block : *blocks) {
      internal::Cleanse(&block.der);
    }
  }
  std::vector<internal::PemBlock>* blocks;
};

bool OidIs(const CBS& oid, absl::Span<const uint8_t> want) {
  return CBS_len(&oid) == want.size() &&
         CBS_mem_equal(&oid, want.data(), want.size());
}

const EVP_CIPHER* AesCbcForOid(const CBS& oid) {
  if (OidIs(oid, kOidAes128Cbc)) {
    return EVP_aes_128_cbc();
  }
  if (OidIs(oid, kOidAes192Cbc)) {
    return EVP_aes_192_cbc();
  }
  if (OidIs(oid, kOidAes256Cbc)) {
    return EVP_aes_256_cbc();
  }
  return nullptr;
}

const EVP_MD* HmacDigestForOid(const CBS& oid) {
  if (OidIs(oid, kOidHmacSha1)) {
    return EVP_sha1();
  }
  if (OidIs(oid, kOidHmacSha256)) {
    return EVP_sha256();
  }
  if (OidIs(oid, kOidHmacSha384)) {
    return EVP_sha384();
  }
  if (OidIs(oid, kOidHmacSha512)) {
    return EVP_sha512();
  }
  return nullptr;
}

// CbcDecrypt decrypts `ciphertext` with PKCS#7 padding. A padding failure
// is what a wrong password looks like: Unauthenticated.
absl::Status CbcDecrypt(const EVP_CIPHER* cipher, absl::Span<const uint8_t> key,
                        absl::Span<const uint8_t> iv,
                        absl::Span<const uint8_t> ciphertext,
                        SecretBytes* out) {
  const size_t block = EVP_CIPHER_block_size(cipher);
  if (ciphertext.empty() || ciphertext.size() % block != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted private key is ", ciphertext.size(),
                     " bytes; want a non-zero multiple of ", block));
  }
  out->v.resize(ciphertext.size() + block);
  bssl::ScopedEVP_CIPHER_CTX ctx;
  int len1 = 0;
  int len2 = 0;
  if (!EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data()) ||
      !EVP_DecryptUpdate(ctx.get(), out->v.data(), &len1, ciphertext.data(),
                         static_cast<int>(ciphertext.size()))) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "decrypting private key");
  }
  if (!EVP_DecryptFinal_ex(ctx.get(), out->v.data() + len1, &len2)) {
    ERR_clear_error();
    return absl::UnauthenticatedError(kWrongPassword);
  }
  OPENSSL_cleanse(out->v.data() + len1 + len2,
                  out->v.size() - static_cast<size_t>(len1 + len2));
  out->v.resize(static_cast<size_t>(len1 + len2));
  return absl::OkStatus();
}

// ParseDecrypted parses what a password decrypted. Plaintext that is not
// even the outer structure of `format` came from a wrong password whose
// padding happened to check out (about 1 in 256): Unauthenticated. A
// well-formed key that mayfly refuses keeps its own error.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParseDecrypted(
    absl::Span<const uint8_t> plaintext, PrivateKeyFormat format) {
  auto detected = internal::DetectPrivateKeyFormat(plaintext);
  if (!detected.ok() || *detected != format) {
    return absl::UnauthenticatedError(kWrongPassword);
  }
  return internal::ParsePrivateKeyDer(plaintext, format);
}

// DecryptPkcs8 decrypts an EncryptedPrivateKeyInfo (RFC 5958 section 3)
// protected with PBES2 / PBKDF2 / AES-CBC.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DecryptPkcs8(
    absl::Span<const uint8_t> der, absl::string_view password) {
  const absl::Status malformed =
      absl::InvalidArgumentError("malformed ENCRYPTED PRIVATE KEY");
  CBS in, epki, alg, oid, params, kdf, kdf_oid, kdf_params, salt, scheme,
      scheme_oid, iv, data;
  CBS_init(&in, der.data(), der.size());
  if (!CBS_get_asn1(&in, &epki, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&epki, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&epki, &data, CBS_ASN1_OCTETSTRING) ||
      CBS_len(&epki) != 0 || !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT)) {
    return malformed;
  }
  if (!OidIs(oid, kOidPbes2)) {
    return absl::InvalidArgumentError(
        "encrypted private key does not use PBES2; re-encrypt it with "
        "PBES2 (openssl pkcs8 -topk8 -v2 aes-256-cbc)");
  }
  if (!CBS_get_asn1(&alg, &params, CBS_ASN1_SEQUENCE) || CBS_len(&alg) != 0 ||
      !CBS_get_asn1(&params, &kdf, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&params, &scheme, CBS_ASN1_SEQUENCE) ||
      CBS_len(&params) != 0 || !CBS_get_asn1(&kdf, &kdf_oid, CBS_ASN1_OBJECT)) {
    return malformed;
  }
  if (!OidIs(kdf_oid, kOidPbkdf2)) {
    return absl::InvalidArgumentError(
        "encrypted private key uses a key derivation other than PBKDF2");
  }
  uint64_t iterations = 0;
  if (!CBS_get_asn1(&kdf, &kdf_params, CBS_ASN1_SEQUENCE) ||
      CBS_len(&kdf) != 0 ||
      !CBS_get_asn1(&kdf_params, &salt, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1_uint64(&kdf_params, &iterations)) {
    return malformed;
  }
  uint64_t key_length = 0;
  bool has_key_length = false;
  if (CBS_peek_asn1_tag(&kdf_params, CBS_ASN1_INTEGER)) {
    if (!CBS_get_asn1_uint64(&kdf_params, &key_length)) {
      return malformed;
    }
    has_key_length = true;
  }
  const EVP_MD* prf = EVP_sha1();  // the DEFAULT of PBKDF2-params
  if (CBS_len(&kdf_params) != 0) {
    CBS prf_alg, prf_oid, null;
    if (!CBS_get_asn1(&kdf_params, &prf_alg, CBS_ASN1_SEQUENCE) ||
        CBS_len(&kdf_params) != 0 ||
        !CBS_get_asn1(&prf_alg, &prf_oid, CBS_ASN1_OBJECT)) {
      return malformed;
    }
    if (CBS_len(&prf_alg) != 0 &&
        (!CBS_get_asn1(&prf_alg, &null, CBS_ASN1_NULL) || CBS_len(&null) != 0 ||
         CBS_len(&prf_alg) != 0)) {
      return malformed;
    }
    prf = HmacDigestForOid(prf_oid);
    if (prf == nullptr) {
      return absl::InvalidArgumentError(
          "encrypted private key PBKDF2 PRF is not HMAC-SHA1/256/384/512");
    }
  }
  if (!CBS_get_asn1(&scheme, &scheme_oid, CBS_ASN1_OBJECT) ||
      !CBS_get_asn1(&scheme, &iv, CBS_ASN1_OCTETSTRING) ||
      CBS_len(&scheme) != 0) {
    return malformed;
  }
  const EVP_CIPHER* cipher = AesCbcForOid(scheme_oid);
  if (cipher == nullptr) {
    return absl::InvalidArgumentError(
        "encrypted private key cipher is not AES-128/192/256-CBC");
  }
  if (CBS_len(&iv) != EVP_CIPHER_iv_length(cipher)) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted private key IV is ", CBS_len(&iv),
                     " bytes; want ", EVP_CIPHER_iv_length(cipher)));
  }
  if (has_key_length && key_length != EVP_CIPHER_key_length(cipher)) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted private key keyLength is ", key_length,
                     "; the cipher needs ", EVP_CIPHER_key_length(cipher)));
  }
  if (CBS_len(&salt) == 0 || CBS_len(&salt) > kMaxSaltLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted private key salt is ", CBS_len(&salt),
                     " bytes; want 1 to ", kMaxSaltLen));
  }
  if (iterations == 0 || iterations > kMaxPbkdf2Iterations) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted private key PBKDF2 iteration count is ",
                     iterations, "; want 1 to ", kMaxPbkdf2Iterations));
  }
  if (password.empty()) {
    return absl::UnauthenticatedError(kNeedPassword);
  }

  SecretBytes key(EVP_CIPHER_key_length(cipher));
  if (!PKCS5_PBKDF2_HMAC(password.data(), password.size(), CBS_data(&salt),
                         CBS_len(&salt), static_cast<unsigned>(iterations), prf,
                         key.v.size(), key.v.data())) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "deriving the key-encryption key");
  }
  SecretBytes plaintext;
  MAYFLY_RETURN_IF_ERROR(CbcDecrypt(
      cipher, key.v, absl::MakeConstSpan(CBS_data(&iv), CBS_len(&iv)),
      absl::MakeConstSpan(CBS_data(&data), CBS_len(&data)), &plaintext));
  return ParseDecrypted(plaintext.v, PrivateKeyFormat::kPkcs8);
}

// HexDecode decodes hex of either case into `out`; false for an odd length
// or a character that is not a hex digit.
bool HexDecode(absl::string_view hex, std::vector<uint8_t>* out) {
  if (hex.size() % 2 != 0) {
    return false;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    c = absl::ascii_tolower(static_cast<unsigned char>(c));
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out->push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return true;
}

// DecryptLegacyPem decrypts an RFC 1423 encrypted block as OpenSSL (and
// step's pemutil) write it: "Proc-Type: 4,ENCRYPTED", "DEK-Info:
// AES-256-CBC,<hex IV>", key = EVP_BytesToKey(MD5, salt = the IV's first 8
// bytes, one round).
absl::Status DecryptLegacyPem(const internal::PemBlock& block,
                              absl::string_view password,
                              SecretBytes* plaintext) {
  bool encrypted = false;
  std::string dek_info;
  for (absl::string_view header : block.headers) {
    const size_t colon = header.find(':');
    const absl::string_view name =
        absl::StripAsciiWhitespace(header.substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(header.substr(colon + 1));
    if (name == "Proc-Type") {
      if (value != "4,ENCRYPTED") {
        return absl::InvalidArgumentError(
            "PEM Proc-Type is not \"4,ENCRYPTED\"");
      }
      encrypted = true;
    } else if (name == "DEK-Info") {
      dek_info = std::string(value);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM block has unexpected header \"", name, "\""));
    }
  }
  if (!encrypted || dek_info.empty()) {
    return absl::InvalidArgumentError(
        "PEM block has headers but no Proc-Type and DEK-Info");
  }
  const size_t comma = dek_info.find(',');
  const std::string cipher_name =
      absl::AsciiStrToUpper(absl::string_view(dek_info).substr(0, comma));
  const EVP_CIPHER* cipher = nullptr;
  if (cipher_name == "AES-128-CBC") {
    cipher = EVP_aes_128_cbc();
  } else if (cipher_name == "AES-192-CBC") {
    cipher = EVP_aes_192_cbc();
  } else if (cipher_name == "AES-256-CBC") {
    cipher = EVP_aes_256_cbc();
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM DEK-Info cipher \"", cipher_name,
                     "\" is not supported; want AES-128/192/256-CBC"));
  }
  std::vector<uint8_t> iv;
  if (comma == std::string::npos ||
      !HexDecode(absl::string_view(dek_info).substr(comma + 1), &iv) ||
      iv.size() != EVP_CIPHER_iv_length(cipher)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM DEK-Info IV is not ", EVP_CIPHER_iv_length(cipher), " hex bytes"));
  }
  if (password.empty()) {
    return absl::UnauthenticatedError(kNeedPassword);
  }
  SecretBytes key(EVP_CIPHER_key_length(cipher));
  if (!EVP_BytesToKey(cipher, EVP_md5(), iv.data(),
                      reinterpret_cast<const uint8_t*>(password.data()),
                      password.size(), 1, key.v.data(), nullptr)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "deriving the PEM encryption key");
  }
  return CbcDecrypt(cipher, key.v, iv, block.der, plaintext);
}

absl::StatusOr<PrivateKeyFormat> FormatForLabel(absl::string_view label) {
  if (label == "PRIVATE KEY") {
    return PrivateKeyFormat::kPkcs8;
  }
  if (label == "EC PRIVATE KEY") {
    return PrivateKeyFormat::kSec1;
  }
  if (label == "RSA PRIVATE KEY") {
    return PrivateKeyFormat::kPkcs1;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("PEM block ", label, " is not a private key"));
}

}  // namespace

absl::StatusOr<PrivateKey> PrivateKey::FromPem(absl::string_view pem,
                                               absl::string_view password) {
  MAYFLY_ASSIGN_OR_RETURN(std::vector<internal::PemBlock> blocks,
                          internal::DecodePemBlocks(pem));
  BlocksWiper wiper{&blocks};
  const internal::PemBlock* key_block = nullptr;
  for (const internal::PemBlock& block : blocks) {
    // `openssl ecparam -genkey` writes the curve before the key.
    if (block.type == "EC PARAMETERS") {
      continue;
    }
    if (block.type != "ENCRYPTED PRIVATE KEY") {
      MAYFLY_RETURN_IF_ERROR(FormatForLabel(block.type).status());
    }
    if (key_block != nullptr) {
      return absl::InvalidArgumentError("PEM holds more than one private key");
    }
    key_block = &block;
  }
  if (key_block == nullptr) {
    return absl::InvalidArgumentError("PEM holds no private key");
  }

  bssl::UniquePtr<EVP_PKEY> pkey;
  if (key_block->type == "ENCRYPTED PRIVATE KEY") {
    if (!key_block->headers.empty()) {
      return absl::InvalidArgumentError(
          "ENCRYPTED PRIVATE KEY PEM block has headers");
    }
    MAYFLY_ASSIGN_OR_RETURN(pkey, DecryptPkcs8(key_block->der, password));
  } else {
    MAYFLY_ASSIGN_OR_RETURN(PrivateKeyFormat format,
                            FormatForLabel(key_block->type));
    if (!key_block->headers.empty()) {
      if (format == PrivateKeyFormat::kPkcs8) {
        return absl::InvalidArgumentError("PRIVATE KEY PEM block has headers");
      }
      SecretBytes plaintext;
      MAYFLY_RETURN_IF_ERROR(
          DecryptLegacyPem(*key_block, password, &plaintext));
      MAYFLY_ASSIGN_OR_RETURN(pkey, ParseDecrypted(plaintext.v, format));
    } else {
      MAYFLY_ASSIGN_OR_RETURN(PrivateKeyFormat detected,
                              internal::DetectPrivateKeyFormat(key_block->der));
      if (detected != format) {
        return absl::InvalidArgumentError(absl::StrCat(
            "PEM block ", key_block->type, " holds another key format"));
      }
      MAYFLY_ASSIGN_OR_RETURN(
          pkey, internal::ParsePrivateKeyDer(key_block->der, format));
    }
  }
  return PrivateKey(internal::ShareKey(std::move(pkey)));
}

std::string PrivateKey::ToPem() const {
  SecretBytes der;
  der.v = ToPkcs8Der();
  return internal::EncodePem("PRIVATE KEY", der.v);
}

absl::StatusOr<std::string> PrivateKey::ToEncryptedPem(
    absl::string_view password) const {
  if (password.empty()) {
    return absl::InvalidArgumentError(
        "password for an encrypted private key is empty");
  }
  const EVP_CIPHER* cipher = EVP_aes_256_cbc();
  uint8_t salt[kSaltLen];
  uint8_t iv[16];
  RAND_bytes(salt, sizeof(salt));
  RAND_bytes(iv, sizeof(iv));
  SecretBytes key(EVP_CIPHER_key_length(cipher));
  if (!PKCS5_PBKDF2_HMAC(password.data(), password.size(), salt, sizeof(salt),
                         kPbkdf2Iterations, EVP_sha256(), key.v.size(),
                         key.v.data())) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "deriving the key-encryption key");
  }
  SecretBytes plaintext;
  plaintext.v = ToPkcs8Der();
  if (plaintext.v.empty()) {
    return absl::InternalError("encoding PKCS#8 private key");
  }
  std::vector<uint8_t> ciphertext(plaintext.v.size() +
                                  EVP_CIPHER_block_size(cipher));
  bssl::ScopedEVP_CIPHER_CTX ctx;
  int len1 = 0;
  int len2 = 0;
  if (!EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.v.data(), iv) ||
      !EVP_EncryptUpdate(ctx.get(), ciphertext.data(), &len1,
                         plaintext.v.data(),
                         static_cast<int>(plaintext.v.size())) ||
      !EVP_EncryptFinal_ex(ctx.get(), ciphertext.data() + len1, &len2)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "encrypting private key");
  }
  ciphertext.resize(static_cast<size_t>(len1 + len2));

  // EncryptedPrivateKeyInfo { PBES2 { PBKDF2 { salt, iterations,
  // hmacWithSHA256 }, aes256-CBC { iv } }, encryptedData }.
  bssl::ScopedCBB cbb;
  CBB epki, alg, oid, params, kdf, kdf_params, prf, scheme, data;
  if (!CBB_init(cbb.get(), ciphertext.size() + 128) ||
      !CBB_add_asn1(cbb.get(), &epki, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&epki, &alg, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&alg, &oid, CBS_ASN1_OBJECT) ||
      !CBB_add_bytes(&oid, kOidPbes2, sizeof(kOidPbes2)) ||
      !CBB_add_asn1(&alg, &params, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&params, &kdf, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&kdf, &oid, CBS_ASN1_OBJECT) ||
      !CBB_add_bytes(&oid, kOidPbkdf2, sizeof(kOidPbkdf2)) ||
      !CBB_add_asn1(&kdf, &kdf_params, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1_octet_string(&kdf_params, salt, sizeof(salt)) ||
      !CBB_add_asn1_uint64(&kdf_params, kPbkdf2Iterations) ||
      !CBB_add_asn1(&kdf_params, &prf, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&prf, &oid, CBS_ASN1_OBJECT) ||
      !CBB_add_bytes(&oid, kOidHmacSha256, sizeof(kOidHmacSha256)) ||
      !CBB_add_asn1(&prf, &oid, CBS_ASN1_NULL) ||
      !CBB_add_asn1(&params, &scheme, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&scheme, &oid, CBS_ASN1_OBJECT) ||
      !CBB_add_bytes(&oid, kOidAes256Cbc, sizeof(kOidAes256Cbc)) ||
      !CBB_add_asn1_octet_string(&scheme, iv, sizeof(iv)) ||
      !CBB_add_asn1(&epki, &data, CBS_ASN1_OCTETSTRING) ||
      !CBB_add_bytes(&data, ciphertext.data(), ciphertext.size())) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "encoding ENCRYPTED PRIVATE KEY");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> der,
                          internal::CbbToVector(cbb.get()));
  return internal::EncodePem("ENCRYPTED PRIVATE KEY", der);
}

}  // namespace mayfly

// Password-based JWE: PBES2-HS256+A128KW key wrapping (RFC 7518 section 4.8)
// with A128GCM or A256GCM content encryption (RFC 7518 section 5.3), in the
// compact (RFC 7516 section 7.1) and flattened JSON (section 7.2.2)
// serializations; STEP-PROTOCOL.md section 5.2 describes step's use of it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/jose.h"
#include "mayfly/status.h"
#include "openssl/aead.h"
#include "openssl/aes.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/rand.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace mayfly {
namespace {

constexpr absl::string_view kAlg = "PBES2-HS256+A128KW";
constexpr size_t kKekLen = 16;  // A128KW
constexpr size_t kSaltLen = 16;
constexpr size_t kIvLen = 12;
constexpr size_t kTagLen = 16;
constexpr size_t kWrapOverhead = 8;  // RFC 3394 integrity block
constexpr uint32_t kMinP2c = 1000;
constexpr uint32_t kMaxP2c = 1000000;

// Header members refused in a JWE for the same reasons as in a JWS (see
// jose.h): a key-carrying member or an extension we would not honour.
constexpr const char* kRefusedHeaderMembers[] = {"crit", "jwk", "jku",
                                                 "x5u",  "x5c", "zip"};

absl::string_view EncName(JweEncryption enc) {
  return enc == JweEncryption::kA128GCM ? "A128GCM" : "A256GCM";
}

size_t CekLen(JweEncryption enc) {
  return enc == JweEncryption::kA128GCM ? 16 : 32;
}

const EVP_AEAD* Aead(JweEncryption enc) {
  return enc == JweEncryption::kA128GCM ? EVP_aead_aes_128_gcm()
                                        : EVP_aead_aes_256_gcm();
}

// SecretBytes is a fixed-size buffer wiped on destruction.
class SecretBytes {
 public:
  explicit SecretBytes(size_t n) : bytes_(n) {}
  ~SecretBytes() { internal::Cleanse(&bytes_); }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
};

// DeriveKek runs PBKDF2-HMAC-SHA256 with the salt of RFC 7518 section
// 4.8.1.1: UTF8(alg) || 0x00 || p2s.
absl::Status DeriveKek(absl::string_view password, absl::string_view p2s,
                       uint32_t p2c, SecretBytes* kek) {
  std::string salt = absl::StrCat(kAlg, absl::string_view("\0", 1), p2s);
  // An empty string_view may hold NULL, which HMAC reads as "keep the
  // previous key"; point it at a real empty string instead.
  const char* pw = password.empty() ? "" : password.data();
  if (!PKCS5_PBKDF2_HMAC(
          pw, password.size(), reinterpret_cast<const uint8_t*>(salt.data()),
          salt.size(), p2c, EVP_sha256(), kek->size(), kek->data())) {
    return internal::BsslError(absl::StatusCode::kInternal, "jwe pbkdf2");
  }
  return absl::OkStatus();
}

using StrictWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>,
                      rapidjson::UTF8<>, rapidjson::CrtAllocator,
                      rapidjson::kWriteValidateEncodingFlag>;

// HeaderJson writes the protected header with members sorted by name
// (alg, cty, enc, p2c, p2s), as step writes it.
absl::StatusOr<std::string> HeaderJson(const JweEncryptOptions& options,
                                       absl::string_view p2s_b64) {
  rapidjson::StringBuffer buf;
  StrictWriter w(buf);
  w.StartObject();
  w.Key("alg");
  w.String(kAlg.data(), kAlg.size());
  if (!options.cty.empty()) {
    w.Key("cty");
    if (!w.String(options.cty.data(),
                  static_cast<rapidjson::SizeType>(options.cty.size()))) {
      return absl::InvalidArgumentError("jwe cty is not valid utf-8");
    }
  }
  w.Key("enc");
  absl::string_view enc = EncName(options.enc);
  w.String(enc.data(), enc.size());
  w.Key("p2c");
  w.Uint(options.p2c);
  w.Key("p2s");
  w.String(p2s_b64.data(), p2s_b64.size());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

// JweParts holds the five base64url fields of either serialization.
struct JweParts {
  std::string protected_b64;
  std::string encrypted_key_b64;
  std::string iv_b64;
  std::string ciphertext_b64;
  std::string tag_b64;
};

absl::StatusOr<JweParts> SplitCompact(absl::string_view jwe) {
  std::vector<absl::string_view> parts = absl::StrSplit(jwe, '.');
  if (parts.size() != 5) {
    return absl::InvalidArgumentError(absl::StrCat(
        "jwe must have 5 dot-separated parts; got ", parts.size()));
  }
  return JweParts{std::string(parts[0]), std::string(parts[1]),
                  std::string(parts[2]), std::string(parts[3]),
                  std::string(parts[4])};
}

// SplitFlattened reads the flattened JSON serialization. Members that would
// change what is authenticated or decrypted (`aad`, an unprotected `header`
// or `unprotected` block, general-form `recipients`) are refused, and so is
// anything else unknown.
absl::StatusOr<JweParts> SplitFlattened(absl::string_view jwe,
                                        size_t max_bytes) {
  internal::JsonLimits limits;
  limits.max_bytes = max_bytes;
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(jwe, "jwe", limits));
  static constexpr const char* kKnown[] = {"protected", "encrypted_key", "iv",
                                           "ciphertext", "tag"};
  for (const auto& member : doc.GetObject()) {
    absl::string_view name(member.name.GetString(),
                           member.name.GetStringLength());
    bool known = false;
    for (const char* k : kKnown) {
      known = known || name == k;
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "jwe member \"", absl::CHexEscape(name.substr(0, 32)),
          "\" is not supported; want protected, encrypted_key, iv, "
          "ciphertext and tag only"));
    }
  }
  JweParts parts;
  MAYFLY_ASSIGN_OR_RETURN(parts.protected_b64,
                          internal::GetString(doc, "protected", "jwe"));
  MAYFLY_ASSIGN_OR_RETURN(parts.encrypted_key_b64,
                          internal::GetString(doc, "encrypted_key", "jwe"));
  MAYFLY_ASSIGN_OR_RETURN(parts.iv_b64, internal::GetString(doc, "iv", "jwe"));
  MAYFLY_ASSIGN_OR_RETURN(parts.ciphertext_b64,
                          internal::GetString(doc, "ciphertext", "jwe"));
  MAYFLY_ASSIGN_OR_RETURN(parts.tag_b64,
                          internal::GetString(doc, "tag", "jwe"));
  return parts;
}

// ParsedHeader is what DecryptJwe needs from the protected header.
struct ParsedHeader {
  JweEncryption enc = JweEncryption::kA256GCM;
  uint32_t p2c = 0;
  std::string p2s;
};

absl::StatusOr<ParsedHeader> ParseHeader(absl::string_view header_b64,
                                         const JweLimits& limits) {
  MAYFLY_ASSIGN_OR_RETURN(std::string json,
                          internal::Base64UrlDecode(header_b64, "jwe header"));
  internal::JsonLimits json_limits;
  json_limits.max_bytes = limits.max_bytes;
  MAYFLY_ASSIGN_OR_RETURN(
      rapidjson::Document header,
      internal::ParseJsonObject(json, "jwe header", json_limits));
  MAYFLY_ASSIGN_OR_RETURN(std::string alg,
                          internal::GetString(header, "alg", "jwe header"));
  if (alg != kAlg) {
    return absl::InvalidArgumentError(
        "jwe alg is not supported; want PBES2-HS256+A128KW");
  }
  for (const char* name : kRefusedHeaderMembers) {
    if (header.HasMember(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("jwe header member \"", name, "\" is not allowed"));
    }
  }
  ParsedHeader out;
  MAYFLY_ASSIGN_OR_RETURN(std::string enc,
                          internal::GetString(header, "enc", "jwe header"));
  if (enc == "A128GCM") {
    out.enc = JweEncryption::kA128GCM;
  } else if (enc == "A256GCM") {
    out.enc = JweEncryption::kA256GCM;
  } else {
    return absl::InvalidArgumentError(
        "jwe enc is not supported; want A128GCM or A256GCM");
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::optional<int64_t> p2c,
      internal::GetOptionalInt64(header, "p2c", "jwe header"));
  if (!p2c.has_value()) {
    return absl::InvalidArgumentError("jwe header has no member \"p2c\"");
  }
  // The cap bounds the PBKDF2 work an attacker-supplied JWE can demand; it
  // is checked before any key derivation.
  if (*p2c < static_cast<int64_t>(limits.min_p2c) ||
      *p2c > static_cast<int64_t>(limits.max_p2c)) {
    return absl::InvalidArgumentError(absl::StrCat("jwe p2c is ", *p2c,
                                                   "; want ", limits.min_p2c,
                                                   " to ", limits.max_p2c));
  }
  out.p2c = static_cast<uint32_t>(*p2c);
  MAYFLY_ASSIGN_OR_RETURN(std::string p2s_b64,
                          internal::GetString(header, "p2s", "jwe header"));
  MAYFLY_ASSIGN_OR_RETURN(out.p2s,
                          internal::Base64UrlDecode(p2s_b64, "jwe p2s"));
  if (out.p2s.empty()) {
    return absl::InvalidArgumentError("jwe p2s is empty");
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> EncryptJwe(absl::string_view plaintext,
                                       absl::string_view password,
                                       const JweEncryptOptions& options) {
  if (password.empty()) {
    return absl::InvalidArgumentError("jwe password is empty");
  }
  if (options.p2c < kMinP2c || options.p2c > kMaxP2c) {
    return absl::InvalidArgumentError(absl::StrCat(
        "jwe p2c is ", options.p2c, "; want ", kMinP2c, " to ", kMaxP2c));
  }
  uint8_t p2s[kSaltLen];
  RAND_bytes(p2s, sizeof(p2s));
  MAYFLY_ASSIGN_OR_RETURN(
      std::string header,
      HeaderJson(options, internal::Base64UrlEncode(
                              absl::Span<const uint8_t>(p2s, sizeof(p2s)))));
  const std::string header_b64 = internal::Base64UrlEncode(header);

  SecretBytes kek(kKekLen);
  MAYFLY_RETURN_IF_ERROR(DeriveKek(
      password, internal::Chars(absl::Span<const uint8_t>(p2s, sizeof(p2s))),
      options.p2c, &kek));
  const size_t cek_len = CekLen(options.enc);
  SecretBytes cek(cek_len);
  RAND_bytes(cek.data(), cek.size());

  AES_KEY aes;
  std::vector<uint8_t> wrapped(cek_len + kWrapOverhead);
  bool wrap_ok = AES_set_encrypt_key(kek.data(), 8 * kKekLen, &aes) == 0 &&
                 AES_wrap_key(&aes, nullptr, wrapped.data(), cek.data(),
                              cek.size()) == static_cast<int>(wrapped.size());
  OPENSSL_cleanse(&aes, sizeof(aes));
  if (!wrap_ok) {
    return internal::BsslError(absl::StatusCode::kInternal, "jwe key wrap");
  }

  uint8_t iv[kIvLen];
  RAND_bytes(iv, sizeof(iv));
  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(ctx.get(), Aead(options.enc), cek.data(), cek.size(),
                         kTagLen, nullptr)) {
    return internal::BsslError(absl::StatusCode::kInternal, "jwe aead init");
  }
  std::vector<uint8_t> sealed(plaintext.size() + kTagLen);
  size_t sealed_len = 0;
  // RFC 7516 section 5.1 step 14: the AAD is the encoded protected header.
  if (!EVP_AEAD_CTX_seal(
          ctx.get(), sealed.data(), &sealed_len, sealed.size(), iv, sizeof(iv),
          reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size(),
          reinterpret_cast<const uint8_t*>(header_b64.data()),
          header_b64.size()) ||
      sealed_len != plaintext.size() + kTagLen) {
    return internal::BsslError(absl::StatusCode::kInternal, "jwe aead seal");
  }
  absl::Span<const uint8_t> all(sealed.data(), sealed_len);
  return absl::StrCat(
      header_b64, ".", internal::Base64UrlEncode(wrapped), ".",
      internal::Base64UrlEncode(absl::Span<const uint8_t>(iv, sizeof(iv))), ".",
      internal::Base64UrlEncode(all.subspan(0, plaintext.size())), ".",
      internal::Base64UrlEncode(all.subspan(plaintext.size(), kTagLen)));
}

absl::StatusOr<std::string> DecryptJwe(absl::string_view jwe,
                                       absl::string_view password,
                                       const JweLimits& limits) {
  if (jwe.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("jwe is ", jwe.size(), " bytes; max ", limits.max_bytes));
  }
  JweParts parts;
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(jwe);
  if (!trimmed.empty() && trimmed.front() == '{') {
    MAYFLY_ASSIGN_OR_RETURN(parts, SplitFlattened(jwe, limits.max_bytes));
  } else {
    MAYFLY_ASSIGN_OR_RETURN(parts, SplitCompact(jwe));
  }
  MAYFLY_ASSIGN_OR_RETURN(ParsedHeader header,
                          ParseHeader(parts.protected_b64, limits));
  MAYFLY_ASSIGN_OR_RETURN(
      std::string wrapped,
      internal::Base64UrlDecode(parts.encrypted_key_b64, "jwe encrypted_key"));
  MAYFLY_ASSIGN_OR_RETURN(std::string iv,
                          internal::Base64UrlDecode(parts.iv_b64, "jwe iv"));
  MAYFLY_ASSIGN_OR_RETURN(
      std::string ciphertext,
      internal::Base64UrlDecode(parts.ciphertext_b64, "jwe ciphertext"));
  MAYFLY_ASSIGN_OR_RETURN(std::string tag,
                          internal::Base64UrlDecode(parts.tag_b64, "jwe tag"));
  const size_t cek_len = CekLen(header.enc);
  if (wrapped.size() != cek_len + kWrapOverhead) {
    return absl::InvalidArgumentError(
        absl::StrCat("jwe encrypted_key is ", wrapped.size(), " bytes; want ",
                     cek_len + kWrapOverhead, " for ", EncName(header.enc)));
  }
  if (iv.size() != kIvLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("jwe iv is ", iv.size(), " bytes; want ", kIvLen));
  }
  if (tag.size() != kTagLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("jwe tag is ", tag.size(), " bytes; want ", kTagLen));
  }

  SecretBytes kek(kKekLen);
  MAYFLY_RETURN_IF_ERROR(DeriveKek(password, header.p2s, header.p2c, &kek));
  SecretBytes cek(cek_len);
  AES_KEY aes;
  bool unwrap_ok =
      AES_set_decrypt_key(kek.data(), 8 * kKekLen, &aes) == 0 &&
      AES_unwrap_key(&aes, nullptr, cek.data(),
                     reinterpret_cast<const uint8_t*>(wrapped.data()),
                     wrapped.size()) == static_cast<int>(cek_len);
  OPENSSL_cleanse(&aes, sizeof(aes));
  ERR_clear_error();
  if (!unwrap_ok) {
    return absl::UnauthenticatedError(
        "jwe key unwrap failed: wrong password or altered jwe");
  }

  bssl::ScopedEVP_AEAD_CTX ctx;
  if (!EVP_AEAD_CTX_init(ctx.get(), Aead(header.enc), cek.data(), cek.size(),
                         kTagLen, nullptr)) {
    return internal::BsslError(absl::StatusCode::kInternal, "jwe aead init");
  }
  std::string sealed = ciphertext + tag;
  std::string plaintext(ciphertext.size(), '\0');
  size_t out_len = 0;
  if (!EVP_AEAD_CTX_open(
          ctx.get(), reinterpret_cast<uint8_t*>(plaintext.data()), &out_len,
          plaintext.size(), reinterpret_cast<const uint8_t*>(iv.data()),
          iv.size(), reinterpret_cast<const uint8_t*>(sealed.data()),
          sealed.size(),
          reinterpret_cast<const uint8_t*>(parts.protected_b64.data()),
          parts.protected_b64.size())) {
    ERR_clear_error();
    internal::Cleanse(&plaintext);
    return absl::UnauthenticatedError(
        "jwe content decryption failed: altered jwe");
  }
  plaintext.resize(out_len);
  return plaintext;
}

}  // namespace mayfly

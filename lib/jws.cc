// Compact JWS (RFC 7515) with the algorithms of RFC 7518 section 3 and
// RFC 8037 that mayfly accepts; see jose.h for the rules enforced.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "mayfly/jose.h"
#include "mayfly/status.h"
#include "openssl/bn.h"
#include "openssl/digest.h"
#include "openssl/ec_key.h"
#include "openssl/ecdsa.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/rsa.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace mayfly {
namespace {

// Header members that would let a token name or carry its own verification
// key (RFC 7515 sections 4.1.2 to 4.1.6). The verifier always chooses the
// key, so their presence means the token was made for someone else's rules.
constexpr const char* kRefusedHeaderMembers[] = {"jwk", "jku", "x5u", "x5c"};

// PrintableAlg returns `alg` for an error message if it looks like an
// algorithm name, so that an attacker's string is never echoed at length.
std::string PrintableAlg(absl::string_view alg) {
  if (alg.empty() || alg.size() > 32) {
    return "(unprintable)";
  }
  for (char c : alg) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '+' && c != '_') {
      return "(unprintable)";
    }
  }
  return std::string(alg);
}

// AlgFromName maps a header `alg` to a JwsAlgorithm, or says why not.
absl::StatusOr<JwsAlgorithm> AlgFromName(absl::string_view name) {
  constexpr JwsAlgorithm kAll[] = {JwsAlgorithm::kES256, JwsAlgorithm::kES384,
                                   JwsAlgorithm::kEdDSA, JwsAlgorithm::kRS256,
                                   JwsAlgorithm::kPS256};
  for (JwsAlgorithm alg : kAll) {
    if (name == JwsAlgorithmName(alg)) {
      return alg;
    }
  }
  if (name == "none") {
    return absl::InvalidArgumentError(
        "jws alg \"none\" is not allowed: tokens must be signed");
  }
  if (name == "HS256" || name == "HS384" || name == "HS512") {
    return absl::InvalidArgumentError(absl::StrCat(
        "jws alg ", name, " is not allowed: mayfly accepts no hmac tokens"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "jws alg ", PrintableAlg(name),
      " is not supported; want ES256, ES384, EdDSA, RS256 or PS256"));
}

// KeyTypeFor is the only key type that may verify `alg`.
KeyType KeyTypeFor(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kES256:
      return KeyType::kP256;
    case JwsAlgorithm::kES384:
      return KeyType::kP384;
    case JwsAlgorithm::kEdDSA:
      return KeyType::kEd25519;
    case JwsAlgorithm::kRS256:
    case JwsAlgorithm::kPS256:
      return KeyType::kRsa;
  }
  return KeyType::kRsa;
}

// EcdsaSize returns the byte size of R (and of S) for an ECDSA algorithm
// (RFC 7518 section 3.4), or 0 for the others.
size_t EcdsaSize(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kES256:
      return 32;
    case JwsAlgorithm::kES384:
      return 48;
    default:
      return 0;
  }
}

const EVP_MD* EcdsaDigest(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kES384 ? EVP_sha384() : EVP_sha256();
}

absl::StatusOr<std::vector<uint8_t>> Digest(const EVP_MD* md,
                                            absl::string_view message) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  if (!EVP_Digest(message.data(), message.size(), out.data(), &len, md,
                  nullptr)) {
    return internal::BsslError(absl::StatusCode::kInternal, "jws digest");
  }
  out.resize(len);
  return out;
}

// SignEcdsa signs with `pkey`'s EC key and returns R||S, each left-padded to
// `n` bytes (RFC 7518 section 3.4), rather than the DER form X.509 uses.
absl::StatusOr<std::string> SignEcdsa(EVP_PKEY* pkey, JwsAlgorithm alg,
                                      absl::string_view message) {
  const size_t n = EcdsaSize(alg);
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
  if (ec == nullptr) {
    return absl::InternalError("jws signing key is not an ec key");
  }
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> digest,
                          Digest(EcdsaDigest(alg), message));
  bssl::UniquePtr<ECDSA_SIG> sig(
      ECDSA_do_sign(digest.data(), digest.size(), ec));
  if (sig == nullptr) {
    return internal::BsslError(absl::StatusCode::kInternal, "jws ecdsa sign");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * n, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  if (!BN_bn2bin_padded(p, n, r) || !BN_bn2bin_padded(p + n, n, s)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "jws ecdsa signature encoding");
  }
  return out;
}

// VerifyEcdsa checks an R||S signature. Returns false for any mismatch,
// including R or S outside [1, order).
absl::StatusOr<bool> VerifyEcdsa(EVP_PKEY* pkey, JwsAlgorithm alg,
                                 absl::string_view message,
                                 absl::string_view signature) {
  const size_t n = EcdsaSize(alg);
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
  if (ec == nullptr || signature.size() != 2 * n) {
    return false;
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(signature.data());
  bssl::UniquePtr<BIGNUM> r(BN_bin2bn(p, n, nullptr));
  bssl::UniquePtr<BIGNUM> s(BN_bin2bn(p + n, n, nullptr));
  bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr ||
      !ECDSA_SIG_set0(sig.get(), r.get(), s.get())) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "jws ecdsa signature decoding");
  }
  // ECDSA_SIG_set0 took ownership.
  r.release();
  s.release();
  MAYFLY_ASSIGN_OR_RETURN(std::vector<uint8_t> digest,
                          Digest(EcdsaDigest(alg), message));
  bool ok = ECDSA_do_verify(digest.data(), digest.size(), sig.get(), ec) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> SignEd25519(EVP_PKEY* pkey,
                                        absl::string_view message) {
  bssl::ScopedEVP_MD_CTX ctx;
  size_t len = 0;
  if (!EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey) ||
      !EVP_DigestSign(ctx.get(), nullptr, &len,
                      reinterpret_cast<const uint8_t*>(message.data()),
                      message.size())) {
    return internal::BsslError(absl::StatusCode::kInternal, "jws ed25519 sign");
  }
  std::string out(len, '\0');
  if (!EVP_DigestSign(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len,
                      reinterpret_cast<const uint8_t*>(message.data()),
                      message.size())) {
    return internal::BsslError(absl::StatusCode::kInternal, "jws ed25519 sign");
  }
  out.resize(len);
  return out;
}

// VerifyWithEvp checks Ed25519 (md NULL), RS256 and PS256 signatures.
absl::StatusOr<bool> VerifyWithEvp(EVP_PKEY* pkey, JwsAlgorithm alg,
                                   absl::string_view message,
                                   absl::string_view signature) {
  bssl::ScopedEVP_MD_CTX ctx;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  const EVP_MD* md = alg == JwsAlgorithm::kEdDSA ? nullptr : EVP_sha256();
  if (!EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, pkey)) {
    return internal::BsslError(absl::StatusCode::kInternal, "jws verify init");
  }
  if (alg == JwsAlgorithm::kPS256) {
    // RFC 7518 section 3.5: MGF1 with the same hash, salt as long as it.
    if (!EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) ||
        !EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) ||
        !EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256())) {
      return internal::BsslError(absl::StatusCode::kInternal,
                                 "jws pss parameters");
    }
  }
  bool ok = EVP_DigestVerify(ctx.get(),
                             reinterpret_cast<const uint8_t*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const uint8_t*>(message.data()),
                             message.size()) == 1;
  ERR_clear_error();
  return ok;
}

using StrictWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>,
                      rapidjson::UTF8<>, rapidjson::CrtAllocator,
                      rapidjson::kWriteValidateEncodingFlag>;

absl::Status WriteString(StrictWriter& w, absl::string_view s,
                         absl::string_view what) {
  if (!w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("jws header ", what, " is not valid utf-8"));
  }
  return absl::OkStatus();
}

// HeaderJson writes the protected header with members sorted by name, as
// go-jose does (STEP-PROTOCOL.md section 4.1).
absl::StatusOr<std::string> HeaderJson(JwsAlgorithm alg,
                                       const JwsHeader& header) {
  rapidjson::StringBuffer buf;
  StrictWriter w(buf);
  w.StartObject();
  w.Key("alg");
  MAYFLY_RETURN_IF_ERROR(WriteString(w, JwsAlgorithmName(alg), "alg"));
  if (!header.kid.empty()) {
    w.Key("kid");
    MAYFLY_RETURN_IF_ERROR(WriteString(w, header.kid, "kid"));
  }
  if (!header.typ.empty()) {
    w.Key("typ");
    MAYFLY_RETURN_IF_ERROR(WriteString(w, header.typ, "typ"));
  }
  if (!header.x5c_insecure.empty()) {
    w.Key("x5cInsecure");
    w.StartArray();
    for (const std::string& cert : header.x5c_insecure) {
      MAYFLY_RETURN_IF_ERROR(WriteString(w, cert, "x5cInsecure"));
    }
    w.EndArray();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

absl::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kES256:
      return "ES256";
    case JwsAlgorithm::kES384:
      return "ES384";
    case JwsAlgorithm::kEdDSA:
      return "EdDSA";
    case JwsAlgorithm::kRS256:
      return "RS256";
    case JwsAlgorithm::kPS256:
      return "PS256";
  }
  return "unknown";
}

absl::StatusOr<std::string> SignJws(const PrivateKey& key,
                                    const JwsHeader& header,
                                    absl::string_view payload) {
  JwsAlgorithm alg;
  switch (key.type()) {
    case KeyType::kP256:
      alg = JwsAlgorithm::kES256;
      break;
    case KeyType::kP384:
      alg = JwsAlgorithm::kES384;
      break;
    case KeyType::kEd25519:
      alg = JwsAlgorithm::kEdDSA;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("jws signing with a ", KeyTypeName(key.type()),
                       " key is not supported; use P-256, P-384 or Ed25519"));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string header_json, HeaderJson(alg, header));
  std::string out = absl::StrCat(internal::Base64UrlEncode(header_json), ".",
                                 internal::Base64UrlEncode(payload));
  std::string signature;
  if (alg == JwsAlgorithm::kEdDSA) {
    MAYFLY_ASSIGN_OR_RETURN(signature, SignEd25519(key.native(), out));
  } else {
    MAYFLY_ASSIGN_OR_RETURN(signature, SignEcdsa(key.native(), alg, out));
  }
  absl::StrAppend(&out, ".", internal::Base64UrlEncode(signature));
  return out;
}

absl::StatusOr<Jws> Jws::Parse(absl::string_view compact,
                               const JwsLimits& limits) {
  if (compact.size() > limits.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "jws is ", compact.size(), " bytes; max ", limits.max_bytes));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(compact, '.');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "jws must have 3 dot-separated parts; got ", parts.size()));
  }
  internal::JsonLimits json_limits;
  json_limits.max_bytes = limits.max_bytes;

  Jws jws;
  MAYFLY_ASSIGN_OR_RETURN(jws.header_json_,
                          internal::Base64UrlDecode(parts[0], "jws header"));
  MAYFLY_ASSIGN_OR_RETURN(
      rapidjson::Document header,
      internal::ParseJsonObject(jws.header_json_, "jws header", json_limits));

  MAYFLY_ASSIGN_OR_RETURN(std::string alg_name,
                          internal::GetString(header, "alg", "jws header"));
  MAYFLY_ASSIGN_OR_RETURN(jws.alg_, AlgFromName(alg_name));
  // RFC 7515 section 4.1.11: a recipient must refuse extensions it does not
  // understand, and mayfly understands none.
  if (header.HasMember("crit")) {
    return absl::InvalidArgumentError(
        "jws header member \"crit\" is not allowed: no extensions are "
        "supported");
  }
  for (const char* name : kRefusedHeaderMembers) {
    if (header.HasMember(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "jws header member \"", name,
          "\" is not allowed: a token may not choose its verification key"));
    }
  }
  MAYFLY_ASSIGN_OR_RETURN(
      std::optional<std::string> kid,
      internal::GetOptionalString(header, "kid", "jws header"));
  jws.kid_ = kid.value_or("");
  MAYFLY_ASSIGN_OR_RETURN(
      std::optional<std::string> typ,
      internal::GetOptionalString(header, "typ", "jws header"));
  jws.typ_ = typ.value_or("");
  auto x5c = header.FindMember("x5cInsecure");
  if (x5c != header.MemberEnd()) {
    if (!x5c->value.IsArray()) {
      return absl::InvalidArgumentError(
          "jws header member \"x5cInsecure\" is not an array of strings");
    }
    for (const rapidjson::Value& cert : x5c->value.GetArray()) {
      if (!cert.IsString()) {
        return absl::InvalidArgumentError(
            "jws header member \"x5cInsecure\" is not an array of strings");
      }
      jws.x5c_insecure_.emplace_back(cert.GetString(), cert.GetStringLength());
    }
  }

  MAYFLY_ASSIGN_OR_RETURN(jws.payload_,
                          internal::Base64UrlDecode(parts[1], "jws payload"));
  MAYFLY_RETURN_IF_ERROR(
      internal::ParseJsonObject(jws.payload_, "jws payload", json_limits)
          .status());

  MAYFLY_ASSIGN_OR_RETURN(jws.signature_,
                          internal::Base64UrlDecode(parts[2], "jws signature"));
  if (jws.signature_.empty()) {
    return absl::InvalidArgumentError("jws signature is empty");
  }
  const size_t ecdsa_size = EcdsaSize(jws.alg_);
  if (ecdsa_size != 0 && jws.signature_.size() != 2 * ecdsa_size) {
    // RFC 7518 section 3.4: R||S, never the DER form.
    return absl::InvalidArgumentError(absl::StrCat(
        "jws ", JwsAlgorithmName(jws.alg_), " signature is ",
        jws.signature_.size(), " bytes; want ", 2 * ecdsa_size, " (R||S)"));
  }
  if (jws.alg_ == JwsAlgorithm::kEdDSA && jws.signature_.size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "jws EdDSA signature is ", jws.signature_.size(), " bytes; want 64"));
  }
  jws.signing_input_ =
      std::string(compact.substr(0, parts[0].size() + 1 + parts[1].size()));
  return jws;
}

absl::Status Jws::Verify(const PublicKey& key) const {
  const KeyType want = KeyTypeFor(alg_);
  if (key.type() != want) {
    return absl::UnauthenticatedError(
        absl::StrCat("jws alg ", JwsAlgorithmName(alg_), " does not fit a ",
                     KeyTypeName(key.type()), " key"));
  }
  bool ok = false;
  if (EcdsaSize(alg_) != 0) {
    MAYFLY_ASSIGN_OR_RETURN(
        ok, VerifyEcdsa(key.native(), alg_, signing_input_, signature_));
  } else {
    MAYFLY_ASSIGN_OR_RETURN(
        ok, VerifyWithEvp(key.native(), alg_, signing_input_, signature_));
  }
  if (!ok) {
    return absl::UnauthenticatedError(absl::StrCat(
        "jws ", JwsAlgorithmName(alg_), " signature does not verify"));
  }
  return absl::OkStatus();
}

}  // namespace mayfly

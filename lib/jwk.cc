// JWK (RFC 7517, 7518 section 6, RFC 8037) import and export, and the
// RFC 7638 thumbprint. Members are written in the order go-jose (and so
// step) writes them; see STEP-PROTOCOL.md section 5.1.

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "internal/base64.h"
#include "internal/bssl.h"
#include "internal/json.h"
#include "key_internal.h"
#include "mayfly/key.h"
#include "mayfly/status.h"
#include "openssl/bn.h"
#include "openssl/curve25519.h"
#include "openssl/ec.h"
#include "openssl/ec_key.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/nid.h"
#include "openssl/rsa.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace {

constexpr absl::string_view kWhat = "JWK";

// Secret is a string wiped when it goes out of scope.
struct Secret {
  Secret() = default;
  explicit Secret(std::string s) : value(std::move(s)) {}
  ~Secret() { internal::Cleanse(&value); }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  std::string value;
};

// DocumentWiper wipes the top-level string members of a parsed JWK on scope
// exit: a private JWK's `d` must not linger in freed memory.
struct DocumentWiper {
  ~DocumentWiper() {
    for (auto& member : doc->GetObject()) {
      if (member.value.IsString()) {
        OPENSSL_cleanse(const_cast<char*>(member.value.GetString()),
                        member.value.GetStringLength());
      }
    }
  }
  rapidjson::Document* doc;
};

// Quoted returns `value` in quotes for an error message when it is short
// printable ASCII, and a placeholder otherwise, so that a hostile JWK cannot
// fill logs.
std::string Quoted(absl::string_view value) {
  constexpr size_t kMaxShown = 24;
  if (value.size() > kMaxShown) {
    return "(a long value)";
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      return "(a non-printable value)";
    }
  }
  return absl::StrCat("\"", value, "\"");
}

// GetBytes decodes the required base64url member `name`.
absl::StatusOr<std::string> GetBytes(const rapidjson::Value& obj,
                                     const char* name) {
  MAYFLY_ASSIGN_OR_RETURN(std::string text_value,
                          internal::GetString(obj, name, kWhat));
  Secret text(std::move(text_value));
  return internal::Base64UrlDecode(text.value,
                                   absl::StrCat("JWK member \"", name, "\""));
}

absl::Status CheckLength(const std::string& bytes, const char* name,
                         size_t want, absl::string_view crv) {
  if (bytes.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK ", name, " is ", bytes.size(), " bytes; want ", want,
                     " for ", crv));
  }
  return absl::OkStatus();
}

// BnFromBytes returns the big-endian unsigned integer in `bytes`.
absl::StatusOr<bssl::UniquePtr<BIGNUM>> BnFromBytes(absl::string_view bytes) {
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), nullptr));
  if (!bn) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "allocating a bignum");
  }
  return bn;
}

// BnToBase64Url returns `bn` base64url-encoded: minimal big-endian when
// `len` is 0 (RFC 7518 section 2 Base64urlUInt), else padded to `len`.
std::string BnToBase64Url(const BIGNUM* bn, size_t len = 0) {
  if (len == 0) {
    len = BN_num_bytes(bn);
  }
  std::vector<uint8_t> buf(len);
  if (!BN_bn2bin_padded(buf.data(), buf.size(), bn)) {
    return "";
  }
  std::string out = internal::Base64UrlEncode(buf);
  internal::Cleanse(&buf);
  return out;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParseEcJwk(
    const rapidjson::Value& doc, bool want_private) {
  MAYFLY_ASSIGN_OR_RETURN(std::string crv,
                          internal::GetString(doc, "crv", kWhat));
  int nid;
  size_t size;
  if (crv == "P-256") {
    nid = NID_X9_62_prime256v1;
    size = 32;
  } else if (crv == "P-384") {
    nid = NID_secp384r1;
    size = 48;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK crv ", Quoted(crv),
                     " is not supported for kty EC; want P-256 or P-384"));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string x, GetBytes(doc, "x"));
  MAYFLY_ASSIGN_OR_RETURN(std::string y, GetBytes(doc, "y"));
  MAYFLY_RETURN_IF_ERROR(CheckLength(x, "x", size, crv));
  MAYFLY_RETURN_IF_ERROR(CheckLength(y, "y", size, crv));

  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(nid));
  if (!ec) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "allocating EC key");
  }
  const EC_GROUP* group = EC_KEY_get0_group(ec.get());
  bssl::UniquePtr<EC_POINT> point(EC_POINT_new(group));
  const std::string encoded = absl::StrCat("\x04", x, y);
  // EC_POINT_oct2point refuses points that are not on the curve.
  if (!point ||
      !EC_POINT_oct2point(group, point.get(),
                          reinterpret_cast<const uint8_t*>(encoded.data()),
                          encoded.size(), nullptr) ||
      !EC_KEY_set_public_key(ec.get(), point.get())) {
    return internal::BsslError(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("JWK x and y are not a point on ", crv));
  }
  if (want_private) {
    MAYFLY_ASSIGN_OR_RETURN(std::string d_value, GetBytes(doc, "d"));
    Secret d(std::move(d_value));
    // RFC 7518 section 6.2.2.1: d is exactly the curve order's size.
    MAYFLY_RETURN_IF_ERROR(CheckLength(d.value, "d", size, crv));
    MAYFLY_ASSIGN_OR_RETURN(bssl::UniquePtr<BIGNUM> scalar,
                            BnFromBytes(d.value));
    if (BN_is_zero(scalar.get()) ||
        BN_cmp(scalar.get(), EC_GROUP_get0_order(group)) >= 0 ||
        !EC_KEY_set_private_key(ec.get(), scalar.get())) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("JWK d is not a valid ", crv, " private key"));
    }
    if (!EC_KEY_check_key(ec.get())) {
      ERR_clear_error();
      return absl::InvalidArgumentError("JWK d does not match x and y");
    }
  }
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!pkey || !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.get())) {
    return internal::BsslError(absl::StatusCode::kInternal, "wrapping EC key");
  }
  ec.release();
  return pkey;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParseOkpJwk(
    const rapidjson::Value& doc, bool want_private) {
  MAYFLY_ASSIGN_OR_RETURN(std::string crv,
                          internal::GetString(doc, "crv", kWhat));
  if (crv != "Ed25519") {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK crv ", Quoted(crv),
                     " is not supported for kty OKP; want Ed25519"));
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string x, GetBytes(doc, "x"));
  MAYFLY_RETURN_IF_ERROR(CheckLength(x, "x", ED25519_PUBLIC_KEY_LEN, crv));
  bssl::UniquePtr<EVP_PKEY> pkey;
  if (!want_private) {
    pkey.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const uint8_t*>(x.data()),
        x.size()));
    if (!pkey) {
      return internal::BsslError(absl::StatusCode::kInvalidArgument,
                                 "JWK x is not an Ed25519 public key");
    }
    return pkey;
  }
  MAYFLY_ASSIGN_OR_RETURN(std::string d_value, GetBytes(doc, "d"));
  Secret d(std::move(d_value));
  MAYFLY_RETURN_IF_ERROR(CheckLength(d.value, "d", 32, crv));
  pkey.reset(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const uint8_t*>(d.value.data()), d.value.size()));
  uint8_t pub[ED25519_PUBLIC_KEY_LEN];
  size_t pub_len = sizeof(pub);
  if (!pkey || !EVP_PKEY_get_raw_public_key(pkey.get(), pub, &pub_len)) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "making Ed25519 key");
  }
  if (pub_len != x.size() || CRYPTO_memcmp(pub, x.data(), pub_len) != 0) {
    return absl::InvalidArgumentError("JWK d does not match x");
  }
  return pkey;
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParseRsaJwk(
    const rapidjson::Value& doc, bool want_private) {
  MAYFLY_ASSIGN_OR_RETURN(std::string n_bytes, GetBytes(doc, "n"));
  MAYFLY_ASSIGN_OR_RETURN(std::string e_bytes, GetBytes(doc, "e"));
  // RFC 7518 section 2: a Base64urlUInt uses the fewest octets. This keeps
  // the thumbprint of a key unique.
  for (const char* name : {"n", "e"}) {
    const std::string& bytes = name[0] == 'n' ? n_bytes : e_bytes;
    if (bytes.empty() || bytes[0] == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("JWK ", name,
                       " is not a minimal unsigned integer (RFC 7518 "
                       "section 2)"));
    }
  }
  // Bound before any arithmetic: CheckKey repeats this with the exact size.
  if (n_bytes.size() * 8 > static_cast<size_t>(kMaxRsaBits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RSA key is ", n_bytes.size() * 8, " bits; max ", kMaxRsaBits));
  }
  MAYFLY_ASSIGN_OR_RETURN(bssl::UniquePtr<BIGNUM> n, BnFromBytes(n_bytes));
  MAYFLY_ASSIGN_OR_RETURN(bssl::UniquePtr<BIGNUM> e, BnFromBytes(e_bytes));
  bssl::UniquePtr<RSA> rsa(RSA_new());
  if (!rsa) {
    return internal::BsslError(absl::StatusCode::kInternal,
                               "allocating RSA key");
  }
  if (!want_private) {
    if (!RSA_set0_key(rsa.get(), n.get(), e.get(), nullptr)) {
      return internal::BsslError(absl::StatusCode::kInternal, "making RSA key");
    }
    n.release();
    e.release();
  } else {
    if (doc.HasMember("oth")) {
      return absl::InvalidArgumentError(
          "JWK RSA keys with more than two primes are not supported");
    }
    // The CRT members are optional in RFC 7518 but required here: every
    // RSA library writes them and BoringSSL signs with them.
    static constexpr const char* kNames[] = {"d", "p", "q", "dp", "dq", "qi"};
    bssl::UniquePtr<BIGNUM> parts[6];
    for (size_t i = 0; i < 6; i++) {
      MAYFLY_ASSIGN_OR_RETURN(std::string bytes_value,
                              GetBytes(doc, kNames[i]));
      Secret bytes(std::move(bytes_value));
      MAYFLY_ASSIGN_OR_RETURN(parts[i], BnFromBytes(bytes.value));
    }
    if (!RSA_set0_key(rsa.get(), n.get(), e.get(), parts[0].get())) {
      return internal::BsslError(absl::StatusCode::kInternal, "making RSA key");
    }
    n.release();
    e.release();
    parts[0].release();
    if (!RSA_set0_factors(rsa.get(), parts[1].get(), parts[2].get())) {
      return internal::BsslError(absl::StatusCode::kInternal, "making RSA key");
    }
    parts[1].release();
    parts[2].release();
    if (!RSA_set0_crt_params(rsa.get(), parts[3].get(), parts[4].get(),
                             parts[5].get())) {
      return internal::BsslError(absl::StatusCode::kInternal, "making RSA key");
    }
    parts[3].release();
    parts[4].release();
    parts[5].release();
  }
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!pkey || !EVP_PKEY_assign_RSA(pkey.get(), rsa.get())) {
    return internal::BsslError(absl::StatusCode::kInternal, "wrapping RSA key");
  }
  rsa.release();
  return pkey;
}

// ParseJwk parses and validates a JWK; with `want_private` the private
// members must be present and match. `members` is written only on success.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> ParseJwk(absl::string_view json,
                                                   bool want_private,
                                                   JwkMembers* members) {
  MAYFLY_ASSIGN_OR_RETURN(rapidjson::Document doc,
                          internal::ParseJsonObject(json, kWhat));
  DocumentWiper wiper{&doc};
  MAYFLY_ASSIGN_OR_RETURN(std::string kty,
                          internal::GetString(doc, "kty", kWhat));
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> kid,
                          internal::GetOptionalString(doc, "kid", kWhat));
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> alg,
                          internal::GetOptionalString(doc, "alg", kWhat));
  MAYFLY_ASSIGN_OR_RETURN(std::optional<std::string> use,
                          internal::GetOptionalString(doc, "use", kWhat));
  bssl::UniquePtr<EVP_PKEY> pkey;
  if (kty == "EC") {
    MAYFLY_ASSIGN_OR_RETURN(pkey, ParseEcJwk(doc, want_private));
  } else if (kty == "OKP") {
    MAYFLY_ASSIGN_OR_RETURN(pkey, ParseOkpJwk(doc, want_private));
  } else if (kty == "RSA") {
    MAYFLY_ASSIGN_OR_RETURN(pkey, ParseRsaJwk(doc, want_private));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "JWK kty ", Quoted(kty), " is not supported; want EC, OKP or RSA"));
  }
  MAYFLY_ASSIGN_OR_RETURN(KeyType type,
                          internal::CheckKey(pkey.get(), want_private));
  // mayfly verifies a key only with its one algorithm, so a JWK that says
  // otherwise describes a key we would misuse.
  const absl::string_view want_alg = internal::JwsAlgorithmFor(type);
  if (alg.has_value() && *alg != want_alg) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK alg ", Quoted(*alg), " does not fit a ",
                     KeyTypeName(type), " key; want ", want_alg));
  }
  if (members != nullptr) {
    members->kid = kid.value_or("");
    members->alg = alg.value_or("");
    members->use = use.value_or("");
  }
  return pkey;
}

// AppendJsonString appends `s` as a JSON string literal.
void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

// JwkFields are the key's own JWK members, base64url-encoded, in output
// order.
struct JwkFields {
  absl::string_view kty;
  absl::string_view crv;  // empty for RSA
  std::vector<std::pair<const char*, std::string>> public_members;
  std::vector<std::pair<const char*, std::string>> private_members;

  ~JwkFields() {
    for (auto& member : private_members) {
      internal::Cleanse(&member.second);
    }
  }
};

void FillJwkFields(const EVP_PKEY* pkey, KeyType type, bool with_private,
                   JwkFields* out) {
  switch (type) {
    case KeyType::kP256:
    case KeyType::kP384: {
      const size_t size = type == KeyType::kP256 ? 32 : 48;
      out->kty = "EC";
      out->crv = KeyTypeName(type);
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(pkey);
      uint8_t point[1 + 2 * 48];
      const size_t len = EC_POINT_point2oct(
          EC_KEY_get0_group(ec), EC_KEY_get0_public_key(ec),
          POINT_CONVERSION_UNCOMPRESSED, point, sizeof(point), nullptr);
      if (len != 1 + 2 * size) {
        ERR_clear_error();
        return;
      }
      out->public_members.emplace_back(
          "x", internal::Base64UrlEncode(absl::MakeConstSpan(point + 1, size)));
      out->public_members.emplace_back(
          "y", internal::Base64UrlEncode(
                   absl::MakeConstSpan(point + 1 + size, size)));
      if (with_private && EC_KEY_get0_private_key(ec) != nullptr) {
        out->private_members.emplace_back(
            "d", BnToBase64Url(EC_KEY_get0_private_key(ec), size));
      }
      return;
    }
    case KeyType::kEd25519: {
      out->kty = "OKP";
      out->crv = "Ed25519";
      uint8_t raw[ED25519_PUBLIC_KEY_LEN];
      size_t raw_len = sizeof(raw);
      if (EVP_PKEY_get_raw_public_key(pkey, raw, &raw_len)) {
        out->public_members.emplace_back(
            "x", internal::Base64UrlEncode(absl::MakeConstSpan(raw, raw_len)));
      }
      raw_len = sizeof(raw);
      if (with_private && EVP_PKEY_get_raw_private_key(pkey, raw, &raw_len)) {
        out->private_members.emplace_back(
            "d", internal::Base64UrlEncode(absl::MakeConstSpan(raw, raw_len)));
      }
      OPENSSL_cleanse(raw, sizeof(raw));
      ERR_clear_error();
      return;
    }
    case KeyType::kRsa: {
      out->kty = "RSA";
      const RSA* rsa = EVP_PKEY_get0_RSA(pkey);
      out->public_members.emplace_back("n", BnToBase64Url(RSA_get0_n(rsa)));
      out->public_members.emplace_back("e", BnToBase64Url(RSA_get0_e(rsa)));
      if (with_private) {
        const std::pair<const char*, const BIGNUM*> parts[] = {
            {"d", RSA_get0_d(rsa)},     {"p", RSA_get0_p(rsa)},
            {"q", RSA_get0_q(rsa)},     {"dp", RSA_get0_dmp1(rsa)},
            {"dq", RSA_get0_dmq1(rsa)}, {"qi", RSA_get0_iqmp(rsa)}};
        for (const auto& [name, bn] : parts) {
          if (bn != nullptr) {
            out->private_members.emplace_back(name, BnToBase64Url(bn));
          }
        }
      }
      return;
    }
  }
}

// WriteJwk returns the compact JWK in go-jose's member order: use, kty,
// kid, crv, alg, x, y / n, e, then d (p, q, dp, dq, qi).
std::string WriteJwk(const EVP_PKEY* pkey, KeyType type, bool with_private,
                     const JwkMembers& members) {
  JwkFields fields;
  FillJwkFields(pkey, type, with_private, &fields);
  std::string out;
  // Reserved up front so the buffer never moves (leaving copies of private
  // members behind): members are at most 6x their size once escaped.
  size_t reserve =
      256 + 6 * (members.use.size() + members.kid.size() + members.alg.size());
  for (const auto& member : fields.public_members) {
    reserve += member.second.size() + 16;
  }
  for (const auto& member : fields.private_members) {
    reserve += member.second.size() + 16;
  }
  out.reserve(reserve);
  bool first = true;
  auto add = [&](absl::string_view name, absl::string_view value) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    AppendJsonString(&out, name);
    out.push_back(':');
    AppendJsonString(&out, value);
  };
  out.push_back('{');
  if (!members.use.empty()) {
    add("use", members.use);
  }
  add("kty", fields.kty);
  if (!members.kid.empty()) {
    add("kid", members.kid);
  }
  if (!fields.crv.empty()) {
    add("crv", fields.crv);
  }
  if (!members.alg.empty()) {
    add("alg", members.alg);
  }
  for (const auto& member : fields.public_members) {
    add(member.first, member.second);
  }
  for (const auto& member : fields.private_members) {
    add(member.first, member.second);
  }
  out.push_back('}');
  return out;
}

}  // namespace

absl::StatusOr<PublicKey> PublicKey::FromJwk(absl::string_view json,
                                             JwkMembers* members) {
  MAYFLY_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> pkey,
                          ParseJwk(json, /*want_private=*/false, members));
  return PublicKey(internal::ShareKey(std::move(pkey)));
}

std::string PublicKey::ToJwk(const JwkMembers& members) const {
  return WriteJwk(pkey_.get(), type(), /*with_private=*/false, members);
}

std::string PublicKey::JwkThumbprint() const {
  // RFC 7638 section 3.2: the required members only, in lexicographic order,
  // no whitespace.
  JwkFields fields;
  FillJwkFields(pkey_.get(), type(), /*with_private=*/false, &fields);
  std::string canonical;
  if (fields.kty == "RSA") {
    canonical = absl::StrCat(R"({"e":")", fields.public_members[1].second,
                             R"(","kty":"RSA","n":")",
                             fields.public_members[0].second, R"("})");
  } else {
    canonical = absl::StrCat(R"({"crv":")", fields.crv, R"(","kty":")",
                             fields.kty, "\"");
    for (const auto& member : fields.public_members) {
      absl::StrAppend(&canonical, ",\"", member.first, "\":\"", member.second,
                      "\"");
    }
    canonical.push_back('}');
  }
  return internal::Base64UrlEncode(
      internal::Sha256(internal::Bytes(canonical)));
}

absl::StatusOr<PrivateKey> PrivateKey::FromJwk(absl::string_view json,
                                               JwkMembers* members) {
  MAYFLY_ASSIGN_OR_RETURN(bssl::UniquePtr<EVP_PKEY> pkey,
                          ParseJwk(json, /*want_private=*/true, members));
  return PrivateKey(internal::ShareKey(std::move(pkey)));
}

std::string PrivateKey::ToJwk(const JwkMembers& members) const {
  return WriteJwk(pkey_.get(), type(), /*with_private=*/true, members);
}

}  // namespace mayfly

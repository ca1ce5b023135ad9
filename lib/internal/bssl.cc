#include "internal/bssl.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "internal/base64.h"
#include "openssl/digest.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/mem.h"
#include "openssl/sha.h"

namespace mayfly {
namespace internal {

absl::Status BsslError(absl::StatusCode code, absl::string_view what) {
  uint32_t err = ERR_peek_last_error();
  std::string msg(what);
  if (err != 0) {
    const char* reason = ERR_reason_error_string(err);
    if (reason != nullptr) {
      absl::StrAppend(&msg, ": ", absl::AsciiStrToLower(reason));
    }
  }
  ERR_clear_error();
  return absl::Status(code, msg);
}

std::vector<uint8_t> Sha256(absl::Span<const uint8_t> data) {
  std::vector<uint8_t> out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

std::vector<uint8_t> Sha1(absl::Span<const uint8_t> data) {
  std::vector<uint8_t> out(SHA_DIGEST_LENGTH);
  SHA1(data.data(), data.size(), out.data());
  return out;
}

std::string Hex(absl::Span<const uint8_t> data) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string HexColons(absl::Span<const uint8_t> data) {
  std::string hex = absl::AsciiStrToUpper(Hex(data));
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) {
      out.push_back(':');
    }
    out.append(hex, i, 2);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> CbbToVector(CBB* cbb) {
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!CBB_finish(cbb, &data, &len)) {
    return BsslError(absl::StatusCode::kInternal, "encoding DER");
  }
  bssl::UniquePtr<uint8_t> owned(data);
  return std::vector<uint8_t>(data, data + len);
}

absl::StatusOr<std::vector<PemBlock>> DecodePemBlocks(absl::string_view text) {
  std::vector<PemBlock> blocks;
  constexpr absl::string_view kBegin = "-----BEGIN ";
  constexpr absl::string_view kDashes = "-----";
  size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != absl::string_view::npos) {
    size_t type_start = pos + kBegin.size();
    size_t type_end = text.find(kDashes, type_start);
    size_t eol = text.find('\n', type_start);
    if (type_end == absl::string_view::npos ||
        (eol != absl::string_view::npos && type_end > eol)) {
      return absl::InvalidArgumentError("malformed PEM BEGIN line");
    }
    PemBlock block;
    block.type = std::string(text.substr(type_start, type_end - type_start));
    std::string end_line = absl::StrCat("-----END ", block.type, kDashes);
    size_t body_start = type_end + kDashes.size();
    size_t end = text.find(end_line, body_start);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM block ", block.type, " has no END line"));
    }
    std::string b64;
    bool in_headers = true;
    for (absl::string_view line :
         absl::StrSplit(text.substr(body_start, end - body_start), '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (line.empty()) {
        // The rest of the BEGIN line is empty too; only a blank line after
        // headers ends them (RFC 1421 section 4.4).
        if (!block.headers.empty()) {
          in_headers = false;
        }
        continue;
      }
      if (in_headers && line.find(':') != absl::string_view::npos) {
        block.headers.emplace_back(line);
        continue;
      }
      in_headers = false;
      b64.append(line.data(), line.size());
    }
    auto der = Base64Decode(b64, absl::StrCat("PEM block ", block.type));
    if (!der.ok()) {
      return der.status();
    }
    block.der.assign(der->begin(), der->end());
    Cleanse(&*der);
    blocks.push_back(std::move(block));
    pos = end + end_line.size();
  }
  if (blocks.empty()) {
    return absl::InvalidArgumentError("no PEM block found");
  }
  return blocks;
}

std::string EncodePem(absl::string_view type, absl::Span<const uint8_t> der) {
  std::string b64 = Base64Encode(der);
  std::string out = absl::StrCat("-----BEGIN ", type, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) {
    absl::StrAppend(&out, absl::string_view(b64).substr(i, 64), "\n");
  }
  absl::StrAppend(&out, "-----END ", type, "-----\n");
  Cleanse(&b64);
  return out;
}

std::shared_ptr<EVP_PKEY> ShareKey(bssl::UniquePtr<EVP_PKEY> key) {
  return std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
}

void Cleanse(std::string* s) { OPENSSL_cleanse(s->data(), s->size()); }

void Cleanse(std::vector<uint8_t>* v) { OPENSSL_cleanse(v->data(), v->size()); }

}  // namespace internal
}  // namespace mayfly

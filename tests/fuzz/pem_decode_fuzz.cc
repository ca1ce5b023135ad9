// Fuzz target: the generic PEM reader every typed parser starts with
// (internal::DecodePemBlocks), and the strict base64 decoders under it and
// under JOSE (Base64Decode, Base64UrlDecode), on untrusted text.
//
// The typed targets (key_parse, certificate_parse, csr_parse) only see what
// survives their own checks; here the reader's own contract is the
// property. Failures are InvalidArgument (bssl.h, base64.h); a decoded
// block re-encodes (EncodePem) to a block that decodes to the same type and
// bytes, and all blocks together decode back to the same list; a base64
// text that decodes is the one canonical encoding of its bytes, so encoding
// them again gives exactly the input.
// Recommended -max_len: 8192 (tests/fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "internal/base64.h"
#include "internal/bssl.h"

namespace {

using mayfly::internal::PemBlock;

bool SameBlocks(const std::vector<PemBlock>& a,
                const std::vector<PemBlock>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); i++) {
    if (a[i].type != b[i].type || a[i].der != b[i].der) {
      return false;
    }
  }
  return true;
}

void CheckPem(absl::string_view text) {
  absl::StatusOr<std::vector<PemBlock>> blocks =
      mayfly::internal::DecodePemBlocks(text);
  if (!blocks.ok()) {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(blocks.status(),
                                     absl::StatusCode::kInvalidArgument),
               "DecodePemBlocks fails with InvalidArgument");
    return;
  }
  FUZZ_CHECK(!blocks->empty(), "a decoded text has a block");
  std::string all;
  for (const PemBlock& block : *blocks) {
    FUZZ_CHECK(block.type.find('\n') == std::string::npos,
               "a block type is on its BEGIN line");
    for (const std::string& header : block.headers) {
      FUZZ_CHECK(header.find(':') != std::string::npos,
                 "a header line has a colon");
    }
    // The type ends at the first "-----" of its line, so no decoded type
    // holds one, and each writes back to a BEGIN line that reads the same.
    std::string pem = mayfly::internal::EncodePem(block.type, block.der);
    absl::StatusOr<std::vector<PemBlock>> again =
        mayfly::internal::DecodePemBlocks(pem);
    FUZZ_CHECK(again.ok(), "EncodePem output decodes");
    FUZZ_CHECK(again->size() == 1, "EncodePem writes one block");
    FUZZ_CHECK((*again)[0].der == block.der, "the bytes round-trip");
    FUZZ_CHECK((*again)[0].type == block.type, "the type round-trips");
    FUZZ_CHECK((*again)[0].headers.empty(), "EncodePem writes no headers");
    all += pem;
  }
  absl::StatusOr<std::vector<PemBlock>> again =
      mayfly::internal::DecodePemBlocks(all);
  FUZZ_CHECK(again.ok() && SameBlocks(*again, *blocks),
             "every block re-encoded decodes to the same list");
}

void CheckBase64(absl::string_view text) {
  absl::StatusOr<std::string> std64 =
      mayfly::internal::Base64Decode(text, "fuzz input");
  if (std64.ok()) {
    FUZZ_CHECK(
        mayfly::internal::Base64Encode(mayfly::internal::Bytes(*std64)) == text,
        "a base64 text that decodes is canonical");
  } else {
    FUZZ_CHECK(mayfly::fuzz::IsOneOf(std64.status(),
                                     absl::StatusCode::kInvalidArgument),
               "Base64Decode fails with InvalidArgument");
  }
  absl::StatusOr<std::string> url =
      mayfly::internal::Base64UrlDecode(text, "fuzz input");
  if (url.ok()) {
    FUZZ_CHECK(mayfly::internal::Base64UrlEncode(*url) == text,
               "a base64url text that decodes is canonical");
    // The alphabets share A-Z a-z 0-9; a text of only those (length 0 mod
    // 4, no padding needed) decodes to the same bytes under both.
    if (std64.ok()) {
      FUZZ_CHECK(*std64 == *url, "both decoders agree where both accept");
    }
  } else {
    FUZZ_CHECK(
        mayfly::fuzz::IsOneOf(url.status(), absl::StatusCode::kInvalidArgument),
        "Base64UrlDecode fails with InvalidArgument");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text = mayfly::fuzz::AsText(data, size);
  CheckPem(text);
  CheckBase64(text);
  return 0;
}

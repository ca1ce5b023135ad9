// Strict base64 helpers over Abseil. Private to mayfly.

#ifndef MAYFLY_LIB_INTERNAL_BASE64_H_
#define MAYFLY_LIB_INTERNAL_BASE64_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mayfly {
namespace internal {

// Base64UrlEncode returns the unpadded base64url text of `data` (RFC 7515
// section 2).
std::string Base64UrlEncode(absl::Span<const uint8_t> data);
std::string Base64UrlEncode(absl::string_view data);

// Base64UrlDecode decodes unpadded base64url text and refuses anything that
// is not the one canonical encoding of its bytes: padding, whitespace,
// characters outside the alphabet, a length of 1 mod 4, or non-zero unused
// bits in the last character. `what` names the field in the error message.
// InvalidArgument on any of these.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text,
                                            absl::string_view what);

// Base64Encode / Base64Decode: standard, padded base64 (RFC 4648 section 4),
// with the same canonical-form rule on decode.
std::string Base64Encode(absl::Span<const uint8_t> data);
absl::StatusOr<std::string> Base64Decode(absl::string_view text,
                                         absl::string_view what);

// Bytes views the characters of a string as bytes.
inline absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()),
                                   s.size());
}

// Chars views bytes as a string.
inline absl::string_view Chars(absl::Span<const uint8_t> b) {
  return absl::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_INTERNAL_BASE64_H_

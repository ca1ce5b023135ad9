#include "internal/base64.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mayfly {
namespace internal {
namespace {

bool IsUrlAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool IsStdAlphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::string Base64UrlEncode(absl::Span<const uint8_t> data) {
  return absl::WebSafeBase64Escape(Chars(data));
}

std::string Base64UrlEncode(absl::string_view data) {
  return absl::WebSafeBase64Escape(data);
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text,
                                            absl::string_view what) {
  for (char c : text) {
    if (!IsUrlAlphabet(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": invalid base64url character"));
    }
  }
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": invalid base64url length"));
  }
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": invalid base64url"));
  }
  // The decoder ignores unused low bits of the last character; require them
  // to be zero so that every byte string has exactly one accepted encoding.
  if (absl::WebSafeBase64Escape(out) != text) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": non-canonical base64url"));
  }
  return out;
}

std::string Base64Encode(absl::Span<const uint8_t> data) {
  return absl::Base64Escape(Chars(data));
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text,
                                         absl::string_view what) {
  size_t body = text.size();
  while (body > 0 && text[body - 1] == '=' && text.size() - body < 2) {
    --body;
  }
  for (size_t i = 0; i < body; ++i) {
    if (!IsStdAlphabet(text[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": invalid base64 character"));
    }
  }
  std::string out;
  if (text.size() % 4 != 0 || !absl::Base64Unescape(text, &out) ||
      absl::Base64Escape(out) != text) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": invalid or non-canonical base64"));
  }
  return out;
}

}  // namespace internal
}  // namespace mayfly

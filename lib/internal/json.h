// Strict JSON over RapidJSON. Private to mayfly.
//
// Everything mayfly reads from outside (tokens, JWKs, JWE headers, configs,
// request bodies) goes through ParseJsonObject: UTF-8 validated, a single
// object, no duplicate member names at any depth, bounded size and nesting.

#ifndef MAYFLY_LIB_INTERNAL_JSON_H_
#define MAYFLY_LIB_INTERNAL_JSON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace internal {

struct JsonLimits {
  size_t max_bytes = 64 * 1024;
  int max_depth = 32;
};

// ParseJsonObject parses `text` as one JSON object. `what` names the input
// in error messages. InvalidArgument for malformed JSON, invalid UTF-8,
// trailing data, a non-object top level, duplicate member names, or input
// beyond `limits`.
absl::StatusOr<rapidjson::Document> ParseJsonObject(
    absl::string_view text, absl::string_view what,
    const JsonLimits& limits = {});

// Member accessors for a parsed object. Each returns InvalidArgument naming
// `what` and the member when it has the wrong type; the Optional forms
// return nullopt when the member is absent (but fail on a wrong type).
absl::StatusOr<std::string> GetString(const rapidjson::Value& obj,
                                      const char* name, absl::string_view what);
absl::StatusOr<std::optional<std::string>> GetOptionalString(
    const rapidjson::Value& obj, const char* name, absl::string_view what);

// GetOptionalInt64 accepts only integral JSON numbers that fit in int64 (no
// fractions, no exponents that overflow).
absl::StatusOr<std::optional<int64_t>> GetOptionalInt64(
    const rapidjson::Value& obj, const char* name, absl::string_view what);

// ToJson serializes a value compactly (no spaces), members in stored order.
std::string ToJson(const rapidjson::Value& value);

// AppendJsonString appends `s` as a JSON string written the way Go's
// encoding/json writes it: quote, backslash and control characters
// escaped, '<', '>' and '&' as \u003c, \u003e, \u0026, U+2028 and U+2029
// escaped, and each byte of invalid UTF-8 as \ufffd.
void AppendJsonString(std::string* out, absl::string_view s);
std::string JsonString(absl::string_view s);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_INTERNAL_JSON_H_

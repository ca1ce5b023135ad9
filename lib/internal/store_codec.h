// How the SQL stores (SQLite, PostgreSQL) write store values into columns.
// Private to mayfly.
//
// - Instants are int64 microseconds since the Unix epoch; the infinite past
//   and future are INT64_MIN and INT64_MAX, so "expires_at > now" needs no
//   special case for a revocation that never expires.
// - A certificate's SAN list is one text column holding a JSON array of
//   strings: readable by an operator with the database's own shell, and
//   safe for any character a SAN may contain.

#ifndef MAYFLY_LIB_INTERNAL_STORE_CODEC_H_
#define MAYFLY_LIB_INTERNAL_STORE_CODEC_H_

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace mayfly {
namespace internal {

// TimeToMicros encodes `t`; sub-microsecond parts are dropped (certificate
// and token times are whole seconds).
inline int64_t TimeToMicros(absl::Time t) {
  if (t == absl::InfiniteFuture()) {
    return std::numeric_limits<int64_t>::max();
  }
  if (t == absl::InfinitePast()) {
    return std::numeric_limits<int64_t>::min();
  }
  return absl::ToUnixMicros(t);  // saturates beyond +-292,000 years
}

// MicrosToTime decodes what TimeToMicros wrote.
inline absl::Time MicrosToTime(int64_t micros) {
  if (micros == std::numeric_limits<int64_t>::max()) {
    return absl::InfiniteFuture();
  }
  if (micros == std::numeric_limits<int64_t>::min()) {
    return absl::InfinitePast();
  }
  return absl::FromUnixMicros(micros);
}

// EncodeNames returns `names` as a compact JSON array of strings.
inline std::string EncodeNames(const std::vector<std::string>& names) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const std::string& name : names) {
    writer.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  }
  writer.EndArray();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// DecodeNames parses what EncodeNames wrote. DataLoss if the column holds
// anything else: the store was changed behind mayfly's back.
inline absl::StatusOr<std::vector<std::string>> DecodeNames(
    absl::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsArray()) {
    return absl::DataLossError("stored certificate names are not a JSON array");
  }
  std::vector<std::string> names;
  names.reserve(doc.Size());
  for (const rapidjson::Value& v : doc.GetArray()) {
    if (!v.IsString()) {
      return absl::DataLossError(
          "stored certificate names hold a non-string value");
    }
    names.emplace_back(v.GetString(), v.GetStringLength());
  }
  return names;
}

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_INTERNAL_STORE_CODEC_H_

#include "internal/json.h"

#include <string>

#include "catch2/catch.hpp"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::GetOptionalInt64;
using internal::GetOptionalString;
using internal::GetString;
using internal::JsonLimits;
using internal::ParseJsonObject;
using testing::StatusIs;

TEST_CASE("Json: parses one object and reads typed members", "[json]") {
  auto doc = ParseJsonObject(
      R"({"iss":"admin","exp":1764031800,"sans":["a","b"],"n":{"k":1}})",
      "claims");
  REQUIRE(doc.ok());
  CHECK(*GetString(*doc, "iss", "claims") == "admin");
  CHECK(**GetOptionalInt64(*doc, "exp", "claims") == 1764031800);
  CHECK_FALSE(GetOptionalString(*doc, "sub", "claims")->has_value());
  CHECK(StatusIs(GetString(*doc, "sub", "claims").status(),
                 absl::StatusCode::kInvalidArgument,
                 "claims has no member \"sub\""));
  CHECK(StatusIs(GetString(*doc, "exp", "claims").status(),
                 absl::StatusCode::kInvalidArgument,
                 "member \"exp\" is not a string"));
  CHECK(internal::ToJson(*doc) ==
        R"({"iss":"admin","exp":1764031800,"sans":["a","b"],"n":{"k":1}})");
}

TEST_CASE("Json: refuses what a strict parser must refuse", "[json]") {
  struct Case {
    const char* name;
    std::string text;
    const char* fragment;
  };
  const Case cases[] = {
      {"empty", "", "not valid JSON"},
      {"truncated", R"({"a":1)", "not valid JSON"},
      {"garbage", "\x01\x02", "not valid JSON"},
      {"trailing data", R"({"a":1} {"b":2})", "not valid JSON"},
      {"array at top", R"([1,2])", "not a JSON object"},
      {"string at top", R"("x")", "not a JSON object"},
      {"duplicate member", R"({"a":1,"a":2})", "duplicate member \"a\""},
      {"nested duplicate", R"({"a":{"b":1,"b":1}})", "duplicate member \"b\""},
      {"duplicate in array", R"({"a":[{"c":1,"c":2}]})",
       "duplicate member \"c\""},
      {"invalid utf-8", "{\"a\":\"\xff\xfe\"}", "not valid JSON"},
      {"comments", "{\"a\":1 /* c */}", "not valid JSON"},
      {"single quotes", "{'a':1}", "not valid JSON"},
      {"deep nesting", std::string(100, '[') + std::string(100, ']'),
       "nests deeper than 32 levels"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(StatusIs(ParseJsonObject(c.text, "body").status(),
                   absl::StatusCode::kInvalidArgument, c.fragment));
  }
}

TEST_CASE("Json: a very deep document fails fast without recursion", "[json]") {
  JsonLimits limits;
  limits.max_bytes = 4 << 20;
  std::string deep = "{\"a\":" + std::string(1 << 20, '[');
  CHECK(StatusIs(ParseJsonObject(deep, "body", limits).status(),
                 absl::StatusCode::kInvalidArgument, "nests deeper"));
}

TEST_CASE("Json: size is capped before parsing", "[json]") {
  JsonLimits limits;
  limits.max_bytes = 16;
  CHECK(StatusIs(
      ParseJsonObject(R"({"abcdefghijklmnop":1})", "token", limits).status(),
      absl::StatusCode::kInvalidArgument, "token is 22 bytes; max 16"));
}

TEST_CASE("Json: integers must be integral and within int64", "[json]") {
  auto doc = ParseJsonObject(
      R"({"huge":123456789012345678901234567890,"frac":1.5,"neg":-7,)"
      R"("str":"1","exp":1e3})",
      "claims");
  REQUIRE(doc.ok());
  CHECK(StatusIs(GetOptionalInt64(*doc, "huge", "claims").status(),
                 absl::StatusCode::kInvalidArgument, "\"huge\""));
  CHECK(StatusIs(GetOptionalInt64(*doc, "frac", "claims").status(),
                 absl::StatusCode::kInvalidArgument, "\"frac\""));
  CHECK(StatusIs(GetOptionalInt64(*doc, "str", "claims").status(),
                 absl::StatusCode::kInvalidArgument, "\"str\""));
  CHECK(StatusIs(GetOptionalInt64(*doc, "exp", "claims").status(),
                 absl::StatusCode::kInvalidArgument, "\"exp\""));
  CHECK(**GetOptionalInt64(*doc, "neg", "claims") == -7);
}

TEST_CASE("Json: strings are written as Go's encoding/json writes them",
          "[json]") {
  using internal::JsonString;
  CHECK(JsonString("") == "\"\"");
  // A PEM block: runs of plain text, newlines escaped.
  CHECK(JsonString("-----BEGIN X-----\nMIIB+/a=\n") ==
        "\"-----BEGIN X-----\\nMIIB+/a=\\n\"");
  // The escapes Go writes, at the start, middle and end of runs.
  CHECK(JsonString("\"a\\b<c>d&e\r\t\x01") ==
        "\"\\\"a\\\\b\\u003cc\\u003ed\\u0026e\\r\\t\\u0001\"");
  // Multi-byte UTF-8 passes through; U+2028/2029 are escaped; a bad byte
  // becomes U+FFFD.
  CHECK(JsonString("caf\xc3\xa9 \xe2\x80\xa8|\xff|") ==
        "\"caf\xc3\xa9 \\u2028|\\ufffd|\"");
  std::string appended = "x=";
  internal::AppendJsonString(&appended, "y");
  CHECK(appended == "x=\"y\"");
}

}  // namespace
}  // namespace mayfly

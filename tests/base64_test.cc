#include "internal/base64.h"

#include <string>

#include "catch2/catch.hpp"
#include "test_util.h"

namespace mayfly {
namespace {

using internal::Base64Decode;
using internal::Base64Encode;
using internal::Base64UrlDecode;
using internal::Base64UrlEncode;
using testing::StatusIs;

TEST_CASE("Base64: url encoding round trips without padding", "[base64]") {
  // RFC 4648 section 10 vectors, in the url alphabet without padding.
  CHECK(Base64UrlEncode(absl::string_view("")) == "");
  CHECK(Base64UrlEncode(absl::string_view("f")) == "Zg");
  CHECK(Base64UrlEncode(absl::string_view("fo")) == "Zm8");
  CHECK(Base64UrlEncode(absl::string_view("foo")) == "Zm9v");
  CHECK(Base64UrlEncode(absl::string_view("foobar")) == "Zm9vYmFy");
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  std::string enc = Base64UrlEncode(all);
  CHECK(enc.find_first_of("+/=") == std::string::npos);
  auto dec = Base64UrlDecode(enc, "all bytes");
  REQUIRE(dec.ok());
  CHECK(*dec == all);
}

TEST_CASE("Base64: url decoding refuses every non-canonical form", "[base64]") {
  SECTION("padding") {
    CHECK(StatusIs(Base64UrlDecode("Zg==", "x").status(),
                   absl::StatusCode::kInvalidArgument,
                   "x: invalid base64url character"));
  }
  SECTION("standard alphabet") {
    CHECK(StatusIs(Base64UrlDecode("ab+/", "x").status(),
                   absl::StatusCode::kInvalidArgument, "character"));
  }
  SECTION("whitespace") {
    CHECK(StatusIs(Base64UrlDecode("Zm9v Zg", "x").status(),
                   absl::StatusCode::kInvalidArgument, "character"));
  }
  SECTION("impossible length") {
    CHECK(StatusIs(Base64UrlDecode("Zm9vY", "x").status(),
                   absl::StatusCode::kInvalidArgument, "length"));
  }
  SECTION("non-zero unused bits") {
    // "Zh" decodes to "f" like "Zg" but sets bits the encoding never sets.
    CHECK(StatusIs(Base64UrlDecode("Zh", "claims").status(),
                   absl::StatusCode::kInvalidArgument,
                   "claims: non-canonical base64url"));
  }
}

TEST_CASE("Base64: standard decoding is canonical and padded", "[base64]") {
  CHECK(*Base64Decode("Zm9vYg==", "x") == "foob");
  const uint8_t bytes[] = {0, 1, 2};
  CHECK(Base64Encode(bytes) == "AAEC");
  CHECK(StatusIs(Base64Decode("Zm9vYg", "pem").status(),
                 absl::StatusCode::kInvalidArgument, "pem: invalid"));
  CHECK(StatusIs(Base64Decode("Zm9vYh==", "pem").status(),
                 absl::StatusCode::kInvalidArgument, "non-canonical"));
  CHECK(StatusIs(Base64Decode("Zm9v-_==", "pem").status(),
                 absl::StatusCode::kInvalidArgument, "character"));
}

}  // namespace
}  // namespace mayfly

#include "mayfly/status.h"

#include <string>

#include "catch2/catch.hpp"

namespace mayfly {
namespace {

int calls = 0;

absl::Status Fail(absl::StatusCode code) {
  ++calls;
  return absl::Status(code, "failed on purpose");
}

absl::StatusOr<int> Value(bool ok) {
  ++calls;
  if (!ok) {
    return absl::NotFoundError("no value");
  }
  return 42;
}

absl::Status ReturnIfError(absl::StatusCode code, bool* reached_end) {
  MAYFLY_RETURN_IF_ERROR(Fail(code));
  *reached_end = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> AssignTwice(bool first_ok, bool second_ok) {
  MAYFLY_ASSIGN_OR_RETURN(int a, Value(first_ok));
  int b = 0;
  MAYFLY_ASSIGN_OR_RETURN(b, Value(second_ok));
  return std::to_string(a + b);
}

TEST_CASE("Status: RETURN_IF_ERROR returns the error and evaluates once",
          "[status]") {
  calls = 0;
  bool reached_end = false;
  absl::Status s = ReturnIfError(absl::StatusCode::kUnavailable, &reached_end);
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(s.message() == "failed on purpose");
  CHECK_FALSE(reached_end);
  CHECK(calls == 1);

  calls = 0;
  s = ReturnIfError(absl::StatusCode::kOk, &reached_end);
  CHECK(s.ok());
  CHECK(reached_end);
  CHECK(calls == 1);
}

TEST_CASE("Status: ASSIGN_OR_RETURN declares, assigns and propagates",
          "[status]") {
  calls = 0;
  auto both = AssignTwice(true, true);
  REQUIRE(both.ok());
  CHECK(*both == "84");
  CHECK(calls == 2);

  calls = 0;
  auto first = AssignTwice(false, true);
  CHECK(first.status().code() == absl::StatusCode::kNotFound);
  CHECK(calls == 1);

  auto second = AssignTwice(true, false);
  CHECK(second.status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mayfly

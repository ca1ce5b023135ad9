// Helpers shared by mayfly's tests.

#ifndef MAYFLY_TESTS_TEST_UTIL_H_
#define MAYFLY_TESTS_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mayfly {
namespace testing {

// Testdata returns the contents of tests/testdata/<path>; fails the test if
// the file cannot be read.
std::string Testdata(absl::string_view path);

// TestdataPath returns the absolute path of tests/testdata/<path>.
std::string TestdataPath(absl::string_view path);

// TestsDir returns the absolute path of tests/.
std::string TestsDir();

// CommandResult is what a finished command printed and how it exited.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Run runs `command` with /bin/sh -c, feeding `input` on stdin, and
// returns its exit code and output.
CommandResult Run(const std::string& command, absl::string_view input = {});

// TempDir is a fresh directory removed (with its contents) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Write writes `contents` to <dir>/<name> and returns its path.
  std::string Write(absl::string_view name, absl::string_view contents) const;

 private:
  std::string path_;
};

// ShellQuote quotes `s` for /bin/sh.
std::string ShellQuote(absl::string_view s);

// StatusIs reports whether `status` has `code` and its message contains
// `fragment`; prints both when it does not.
bool StatusIs(const absl::Status& status, absl::StatusCode code,
              absl::string_view fragment = {});

}  // namespace testing
}  // namespace mayfly

#endif  // MAYFLY_TESTS_TEST_UTIL_H_

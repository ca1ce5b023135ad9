// A small command-line parser shared by mayfly's example programs: flags of
// the forms --name VALUE, --name=VALUE and --bool, in any order with
// positional arguments (a bare "--" ends the flags).

#ifndef MAYFLY_EXAMPLES_CLI_ARGS_H_
#define MAYFLY_EXAMPLES_CLI_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/key.h"

namespace mayfly {
namespace cli {

class Args {
 public:
  // Parse reads argv[first..argc). `value_flags` take a value (repeatable),
  // `bool_flags` do not. InvalidArgument for an unknown flag or a missing
  // value.
  static absl::StatusOr<Args> Parse(int argc, char** argv, int first,
                                    const std::set<std::string>& value_flags,
                                    const std::set<std::string>& bool_flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& flag) const { return values_.count(flag) > 0; }
  // Get returns the last value of `flag`, or `fallback`.
  std::string Get(const std::string& flag,
                  const std::string& fallback = "") const;
  // GetAll returns every value of a repeatable flag in order.
  std::vector<std::string> GetAll(const std::string& flag) const;
  // GetList returns every value of a repeatable flag, each also split on
  // commas ("--dns a,b --dns c" gives a, b, c); empty items are dropped.
  std::vector<std::string> GetList(const std::string& flag) const;
  // GetDuration returns the last value of `flag` read as a Go duration
  // ("90s", "5m", "24h"), or nullopt when the flag is absent.
  // InvalidArgument naming the flag for other text or, unless
  // `allow_nonpositive`, a duration that is not above zero.
  absl::StatusOr<std::optional<absl::Duration>> GetDuration(
      const std::string& flag, bool allow_nonpositive = false) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
};

// ReadFile / WriteFile: whole-file I/O with clear errors. WriteFile creates
// the file with `mode` (0600 for keys) and refuses to overwrite unless
// `overwrite`.
absl::StatusOr<std::string> ReadFile(const std::string& path);
absl::Status WriteFile(const std::string& path, absl::string_view contents,
                       int mode, bool overwrite);

// ReplaceFile atomically replaces the existing file `path` with `contents`:
// a temporary file in the same directory gets the old file's mode (and, when
// allowed, owner), is written and synced, then renamed over `path`, and the
// directory is synced. A symlink is followed, so its target is replaced.
// Readers see the old or the new file, never a mix; after a crash one of
// the two is there. NotFound if `path` does not exist; on any failure the
// old file is unchanged and the temporary file removed.
absl::Status ReplaceFile(const std::string& path, absl::string_view contents);

// ReadPasswordFile returns the file's first line without its line ending.
absl::StatusOr<std::string> ReadPasswordFile(const std::string& path);

// DefaultStepPath returns where step keeps its files: $STEPPATH, else
// $HOME/.step. FailedPrecondition if neither variable is set.
absl::StatusOr<std::string> DefaultStepPath();

// ParseKeyType reads step's --kty/--curve pair: EC P-256 (the default when
// both are empty), EC P-384 or OKP Ed25519. InvalidArgument otherwise.
absl::StatusOr<KeyType> ParseKeyType(const std::string& kty,
                                     const std::string& curve);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_CLI_ARGS_H_

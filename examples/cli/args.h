// A small command-line parser shared by mayfly's example programs: flags of
// the forms --name VALUE, --name=VALUE and --bool, in any order with
// positional arguments (a bare "--" ends the flags).

#ifndef MAYFLY_EXAMPLES_CLI_ARGS_H_
#define MAYFLY_EXAMPLES_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

// ReadPasswordFile returns the file's first line without its line ending.
absl::StatusOr<std::string> ReadPasswordFile(const std::string& path);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_CLI_ARGS_H_

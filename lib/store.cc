// NewStore: picks a Store backend from a URL's scheme.

#include "mayfly/store.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mayfly {

absl::StatusOr<std::unique_ptr<Store>> NewStore(absl::string_view url) {
  // Only the scheme is ever echoed in errors: the rest of a database URL can
  // hold a password.
  const size_t colon = url.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(
        "store url has no scheme (expected e.g. \"memory:\")");
  }
  constexpr size_t kMaxEchoedScheme = 32;
  const absl::string_view scheme = url.substr(0, colon);
  const absl::string_view rest = url.substr(colon + 1);
  if (scheme == "memory") {
    if (!rest.empty()) {
      return absl::InvalidArgumentError(
          "store url \"memory:\" takes nothing after the scheme");
    }
    return NewMemoryStore();
  }
  if (scheme == "sqlite") {
    if (rest.empty()) {
      return absl::InvalidArgumentError(
          "store url \"sqlite:\" needs a file path (sqlite:PATH)");
    }
    return NewSqliteStore(std::string(rest));
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    // libpq reads the URL itself.
    return NewPostgresStore(std::string(url));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported store url scheme \"",
                   absl::CEscape(scheme.substr(0, kMaxEchoedScheme)),
                   "\"; supported: memory, sqlite, postgres"));
}

}  // namespace mayfly

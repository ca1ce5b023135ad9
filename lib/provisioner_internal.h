// ca.json helpers shared by provisioner.cc and config.cc. Private to mayfly.

#ifndef MAYFLY_LIB_PROVISIONER_INTERNAL_H_
#define MAYFLY_LIB_PROVISIONER_INTERNAL_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mayfly/provisioner.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace internal {

// GetOptionalBool / GetOptionalDuration read member `name` of the object
// `obj`; absent and JSON null give nullopt. Durations are Go duration
// strings. InvalidArgument naming `what`.`name` for another type or bad
// duration text.
absl::StatusOr<std::optional<bool>> GetOptionalBool(const rapidjson::Value& obj,
                                                    const char* name,
                                                    absl::string_view what);
absl::StatusOr<std::optional<absl::Duration>> GetOptionalDuration(
    const rapidjson::Value& obj, const char* name, absl::string_view what);

// ParseClaims reads a ca.json "claims" object (members the claims of
// provisioner.h know; others, such as step's SSH claims, are ignored).
// `what` names the object in errors ("authority.claims"). InvalidArgument
// for a non-object, wrong member types, bad or negative durations.
absl::StatusOr<Claims> ParseClaims(const rapidjson::Value& value,
                                   absl::string_view what);

// CheckClaimValues refuses negative durations. InvalidArgument naming `what`.
absl::Status CheckClaimValues(const Claims& claims, absl::string_view what);

// ClaimsEmpty reports whether no member of `claims` is set.
bool ClaimsEmpty(const Claims& claims);

// ClaimsToValue returns the set members of `claims` as a JSON object in
// ca.json's names, durations in Go's format.
rapidjson::Value ClaimsToValue(const Claims& claims,
                               rapidjson::Document::AllocatorType& alloc);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_PROVISIONER_INTERNAL_H_

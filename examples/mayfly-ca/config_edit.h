// Editing ca.json in place, the way `mayfly-ca provisioner add|remove` and
// `mayfly-ca init` change it: only the members being edited change; every
// other member, including those mayfly does not use (step's "ssh", "kms",
// "templates", ...), is written back as it was.

#ifndef MAYFLY_EXAMPLES_MAYFLY_CA_CONFIG_EDIT_H_
#define MAYFLY_EXAMPLES_MAYFLY_CA_CONFIG_EDIT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rapidjson/document.h"

namespace mayfly {
namespace cli {

// EditConfigFile reads the ca.json at `path` as a JSON document, lets
// `edit` change it, checks that the result still loads (mayfly's
// ParseConfig), and replaces the file atomically with its mode kept (see
// ReplaceFile). Editors are serialised by an exclusive flock on the file's
// directory, so two concurrent edits do not lose each other's changes.
// Errors from `edit` are returned as they are; a result that would not load
// is InvalidArgument. On any error the file is unchanged.
absl::Status EditConfigFile(
    const std::string& path,
    const std::function<absl::Status(rapidjson::Document* doc)>& edit);

// ProvisionerList returns the "authority.provisioners" array of a ca.json
// document, creating "authority" and the array when they are absent or
// null. InvalidArgument if either has another type.
absl::StatusOr<rapidjson::Value*> ProvisionerList(rapidjson::Document* doc);

// ProvisionerName returns the "name" of one provisioner object, or "" when
// it has none.
std::string ProvisionerName(const rapidjson::Value& provisioner);

// PrettyJson writes `value` indented by `indent` spaces per level, with a
// final newline.
std::string PrettyJson(const rapidjson::Value& value, int indent);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_MAYFLY_CA_CONFIG_EDIT_H_

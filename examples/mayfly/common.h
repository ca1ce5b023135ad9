// What the `mayfly` client's commands share: the defaults `mayfly
// bootstrap` leaves in $STEPPATH, connecting to the CA from --ca-url and
// --root (or those defaults), minting one-time tokens with a provisioner
// key fetched from the CA, and reading certificate and key files.

#ifndef MAYFLY_EXAMPLES_MAYFLY_COMMON_H_
#define MAYFLY_EXAMPLES_MAYFLY_COMMON_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "mayfly/certificate.h"
#include "mayfly/client.h"
#include "mayfly/key.h"

namespace mayfly {
namespace cli {

// Defaults are the members of $STEPPATH/config/defaults.json that the
// client reads, written by `mayfly bootstrap`, `step ca bootstrap`,
// `mayfly-ca init` or `step ca init`. Each becomes the default of the flag
// of the same name, as in the step CLI.
struct Defaults {
  std::string ca_url;       // "ca-url"
  std::string root;         // "root"
  std::string fingerprint;  // "fingerprint"
  std::string provisioner;  // "provisioner"
};

// ReadDefaults reads `path`. A missing file gives empty defaults (nothing
// bootstrapped yet); a file that is not a JSON object, or a member that is
// not a string, is InvalidArgument.
absl::StatusOr<Defaults> ReadDefaults(const std::string& path);

// The flags of every command that talks to the CA, and their help text.
extern const std::set<std::string> kCaValueFlags;  // ca-url, root
extern const char kCaFlagsHelp[];

// CaTarget is where a command's CA is and which roots it trusts.
struct CaTarget {
  std::string url;
  std::string root_path;
  Defaults defaults;
};

// ResolveTarget picks the CA URL (--ca-url, else "ca-url" of the defaults)
// and the root file (--root, else "root" of the defaults, else
// $STEPPATH/certs/root_ca.crt). FailedPrecondition, telling the user to
// bootstrap, when there is no URL.
absl::StatusOr<CaTarget> ResolveTarget(const Args& args);

// Connect makes a client for ResolveTarget's CA, trusting only the
// certificates of the root file.
absl::StatusOr<std::unique_ptr<CaClient>> Connect(const CaTarget& target);

// TokenOptions say which provisioner signs a token and how.
struct TokenOptions {
  std::string provisioner;    // name; "" = the only one the CA has
  std::string password_file;  // the provisioner password
  absl::Duration lifetime = absl::Minutes(5);
};

// MintToken does what `step ca token` does: lists the CA's provisioners,
// picks the JWK one named in `options` (or the defaults' "provisioner", or
// the CA's only one), downloads its encrypted key
// (/provisioners/{kid}/encrypted-key), decrypts it with the password, and
// signs a token for `subject` addressed to the CA's sign (or, with
// `revoke`, revoke) audience, carrying the root's fingerprint and `sans`
// (sign tokens: `subject` when empty).
absl::StatusOr<std::string> MintToken(CaClient& ca, const CaTarget& target,
                                      const TokenOptions& options,
                                      const std::string& subject,
                                      const std::vector<std::string>& sans,
                                      bool revoke);

// LoadChain reads a PEM file of one or more certificates, leaf first.
absl::StatusOr<std::vector<Certificate>> LoadChain(const std::string& path);

// LoadKey reads a PEM private key (encrypted ones with the password in
// `password_file`, if given) and checks that it belongs to `leaf`.
absl::StatusOr<PrivateKey> LoadKey(const std::string& path,
                                   const std::string& password_file,
                                   const Certificate& leaf);

// ChainPem is the chain as concatenated PEM blocks.
std::string ChainPem(const std::vector<Certificate>& chain);

// ParseValidity returns the value of a validity flag (--not-before,
// --not-after) after checking it is what step's TimeDuration accepts: an
// RFC 3339 time or a Go duration such as 90s; "" when absent.
// InvalidArgument naming the flag otherwise.
absl::StatusOr<std::string> ParseValidity(const Args& args,
                                          const std::string& flag);

// Human prints a duration truncated to whole seconds ("1m30s", "0s").
std::string Human(absl::Duration d);

// LocalTime prints a time as "2006-01-02 15:04:05 MST" in local time.
std::string LocalTime(absl::Time t);

// With returns the union of two flag sets.
std::set<std::string> With(std::set<std::string> a,
                           const std::set<std::string>& b);

// Finish maps a command's status to its exit code: 0, or 1 with
// "error: MESSAGE" on stderr.
int Finish(const absl::Status& status);

// ParseCommand parses the flags of `mayfly COMMAND ...` (from argv[2]),
// adding --help. It returns nullopt when the command should stop at once,
// with `*exit_code` set and the usage printed: 0 for --help (on stdout), 2
// for an unknown flag, a missing value or a number of positional arguments
// outside [min_positional, max_positional] (on stderr).
std::optional<Args> ParseCommand(int argc, char** argv,
                                 std::set<std::string> value_flags,
                                 std::set<std::string> bool_flags,
                                 size_t min_positional, size_t max_positional,
                                 const std::string& usage, int* exit_code);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_MAYFLY_COMMON_H_

// `mayfly-ca certificate create|verify`: make keys and certificates from the
// command line, in the manner of `step certificate create|verify`.

#ifndef MAYFLY_EXAMPLES_CLI_CERTIFICATE_COMMANDS_H_
#define MAYFLY_EXAMPLES_CLI_CERTIFICATE_COMMANDS_H_

#include "mayfly/clock.h"

namespace mayfly {
namespace cli {

// CertificateCommand runs `argv[0] certificate SUBCOMMAND ...` and returns
// the process exit code (0 ok, 1 failure, 2 usage).
int CertificateCommand(int argc, char** argv, const Clock& clock);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_CLI_CERTIFICATE_COMMANDS_H_

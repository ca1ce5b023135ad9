// The CA administration commands of mayfly-ca:
//   mayfly-ca init ...                      a new PKI, as `step ca init`
//   mayfly-ca provisioner add|remove|list   JWK provisioners in ca.json

#ifndef MAYFLY_EXAMPLES_MAYFLY_CA_CA_COMMANDS_H_
#define MAYFLY_EXAMPLES_MAYFLY_CA_CA_COMMANDS_H_

#include "mayfly/clock.h"

namespace mayfly {
namespace cli {

// InitCommand runs `argv[0] init ...` and returns the exit code (0 ok,
// 1 failure, 2 usage).
int InitCommand(int argc, char** argv, const Clock& clock);

// ProvisionerCommand runs `argv[0] provisioner add|remove|list ...` and
// returns the exit code.
int ProvisionerCommand(int argc, char** argv);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_MAYFLY_CA_CA_COMMANDS_H_

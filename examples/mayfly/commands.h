// The commands of `mayfly`, the example client. Each takes main's argv
// (argv[1] is the command's name) and returns the process exit code: 0 on
// success, 1 on failure (the reason on stderr), 2 for a usage error.

#ifndef MAYFLY_EXAMPLES_MAYFLY_COMMANDS_H_
#define MAYFLY_EXAMPLES_MAYFLY_COMMANDS_H_

namespace mayfly {
namespace cli {

int BootstrapCommand(int argc, char** argv);
int TokenCommand(int argc, char** argv);
int RequestCertificateCommand(int argc, char** argv);  // `certificate`
int RenewCommand(int argc, char** argv);
int RevokeCommand(int argc, char** argv);
int InspectCommand(int argc, char** argv);
int RootsCommand(int argc, char** argv);
int HealthCommand(int argc, char** argv);

}  // namespace cli
}  // namespace mayfly

#endif  // MAYFLY_EXAMPLES_MAYFLY_COMMANDS_H_

// mayfly: the example client of a step-ca compatible CA (mayfly-ca or
// step-ca). Its commands and flags follow `step ca ...`, so the step
// walkthroughs read the same with `mayfly` in place of `step ca`:
//
//   mayfly bootstrap --ca-url https://ca:9000 --fingerprint FP
//   mayfly token svc.example.com --provisioner admin --password-file pw
//   mayfly certificate svc.example.com svc.crt svc.key --token TOKEN
//   mayfly renew --daemon svc.crt svc.key --exec "systemctl reload svc"
//   mayfly revoke --cert svc.crt --key svc.key
//
// Run any command with --help.

#include <iostream>
#include <string>

#include "commands.h"
#include "mayfly/c.h"

namespace {

constexpr char kUsage[] =
    "usage: mayfly COMMAND [ARGS]\n"
    "\n"
    "A client for a step-ca compatible certificate authority (mayfly-ca or\n"
    "step-ca), with the commands and flags of `step ca ...`.\n"
    "\n"
    "commands:\n"
    "  bootstrap      trust a CA by its root fingerprint; save its root and\n"
    "                 the defaults of the other commands in $STEPPATH\n"
    "  token          mint a one-time token (sign or revoke) with a JWK\n"
    "                 provisioner's password\n"
    "  certificate    get a new key and certificate\n"
    "  renew          renew a certificate, once or as a daemon\n"
    "  revoke         revoke a certificate (passively)\n"
    "  roots          print the CA's roots\n"
    "  health         check that the CA is up\n"
    "  inspect        describe a certificate, request or token file\n"
    "  version        print the version\n"
    "\n"
    "Run a command with --help for its flags.\n";

}  // namespace

int main(int argc, char** argv) {
  struct Command {
    const char* name;
    int (*run)(int argc, char** argv);
  };
  static const Command kCommands[] = {
      {"bootstrap", mayfly::cli::BootstrapCommand},
      {"token", mayfly::cli::TokenCommand},
      {"certificate", mayfly::cli::RequestCertificateCommand},
      {"renew", mayfly::cli::RenewCommand},
      {"revoke", mayfly::cli::RevokeCommand},
      {"roots", mayfly::cli::RootsCommand},
      {"health", mayfly::cli::HealthCommand},
      {"inspect", mayfly::cli::InspectCommand},
  };
  const std::string cmd = argc > 1 ? argv[1] : "";
  for (const Command& c : kCommands) {
    if (cmd == c.name) {
      return c.run(argc, argv);
    }
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "mayfly " << mayfly_version() << "\n";
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (cmd.empty() ? "" : "error: unknown command " + cmd + "\n")
            << kUsage;
  return 2;
}

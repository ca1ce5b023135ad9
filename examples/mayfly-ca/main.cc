// mayfly-ca: the example CA program.
//
// Subcommands:
//   mayfly-ca init --name NAME --dns NAMES --provisioner NAME ...
//   mayfly-ca serve CONFIG --password-file FILE [flags]
//   mayfly-ca provisioner add|remove|list ...
//   mayfly-ca version
//   mayfly-ca inspect FILE
//   mayfly-ca certificate create SUBJECT CRT_FILE KEY_FILE [flags]
//   mayfly-ca certificate verify CRT_FILE --roots FILE
// Run any of them with --help.

#include <stdio.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/certificate_commands.h"
#include "mayfly-ca/ca_commands.h"
#include "mayfly-ca/serve.h"
#include "mayfly/c.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"

namespace mayfly {
namespace {

constexpr char kUsage[] =
    "usage: mayfly-ca COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  init                    create a new PKI (root, intermediate, "
    "ca.json)\n"
    "  serve CONFIG            run the CA (step-ca's HTTPS API)\n"
    "  provisioner add|remove|list\n"
    "                          manage the JWK provisioners in ca.json\n"
    "  version                 print the version\n"
    "  inspect FILE            describe a certificate, chain or CSR (PEM/DER)\n"
    "  certificate create      make a key and a certificate (root, "
    "intermediate or leaf)\n"
    "  certificate verify      verify a certificate chain against roots\n"
    "\n"
    "Run a command with --help for its flags.\n";

constexpr char kVersionUsage[] =
    "usage: mayfly-ca version\n"
    "\n"
    "Prints the version of mayfly-ca (the mayfly library it is built on).\n";

constexpr char kInspectUsage[] =
    "usage: mayfly-ca inspect FILE\n"
    "\n"
    "Describes each certificate in FILE (PEM bundle or DER), or the\n"
    "certificate request in it.\n";

int Version(int argc, char** argv) {
  auto args = cli::Args::Parse(argc, argv, 2, {}, {"help"});
  if (args.ok() && args->Has("help")) {
    std::cout << kVersionUsage;
    return 0;
  }
  if (!args.ok() || !args->positional().empty()) {
    std::cerr << kVersionUsage;
    return 2;
  }
  std::cout << "mayfly-ca " << mayfly_version() << "\n";
  return 0;
}

int InspectFile(int argc, char** argv) {
  auto args = cli::Args::Parse(argc, argv, 2, {}, {"help"});
  if (!args.ok() || args->Has("help") || args->positional().size() != 1) {
    std::cerr << (args.ok()
                      ? ""
                      : absl::StrCat("error: ", args.status().message(), "\n"))
              << kInspectUsage;
    return args.ok() && args->Has("help") ? 0 : 2;
  }
  auto data = cli::ReadFile(args->positional()[0]);
  if (!data.ok()) {
    std::cerr << "error: " << data.status().message() << "\n";
    return 1;
  }
  bool pem = data->find("-----BEGIN ") != std::string::npos;
  if (pem && data->find("CERTIFICATE REQUEST-----") != std::string::npos) {
    auto csr = CertificateRequest::FromPem(*data);
    if (!csr.ok()) {
      std::cerr << "error: " << csr.status().message() << "\n";
      return 1;
    }
    std::cout << Inspect(*csr);
    return 0;
  }
  std::vector<Certificate> certs;
  if (pem) {
    auto bundle = Certificate::ParsePemBundle(*data);
    if (!bundle.ok()) {
      std::cerr << "error: " << bundle.status().message() << "\n";
      return 1;
    }
    certs = std::move(*bundle);
  } else {
    auto bytes = absl::Span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(data->data()), data->size());
    auto cert = Certificate::FromDer(bytes);
    if (cert.ok()) {
      certs.push_back(*cert);
    } else {
      auto csr = CertificateRequest::FromDer(bytes);
      if (!csr.ok()) {
        std::cerr << "error: " << args->positional()[0]
                  << " is neither a certificate nor a certificate request\n";
        return 1;
      }
      std::cout << Inspect(*csr);
      return 0;
    }
  }
  for (size_t i = 0; i < certs.size(); ++i) {
    if (i > 0) {
      std::cout << "\n";
    }
    std::cout << Inspect(certs[i]);
  }
  return 0;
}

}  // namespace
}  // namespace mayfly

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "version" || cmd == "--version") {
    return mayfly::Version(argc, argv);
  }
  if (cmd == "init") {
    return mayfly::cli::InitCommand(argc, argv, mayfly::Clock::Real());
  }
  if (cmd == "serve") {
    return mayfly::cli::ServeCommand(argc, argv);
  }
  if (cmd == "provisioner") {
    return mayfly::cli::ProvisionerCommand(argc, argv);
  }
  if (cmd == "inspect") {
    return mayfly::InspectFile(argc, argv);
  }
  if (cmd == "certificate") {
    return mayfly::cli::CertificateCommand(argc, argv, mayfly::Clock::Real());
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << mayfly::kUsage;
    return 0;
  }
  std::cerr << (cmd.empty() ? "" : "error: unknown command " + cmd + "\n")
            << mayfly::kUsage;
  return 2;
}

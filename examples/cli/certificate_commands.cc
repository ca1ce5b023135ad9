#include "cli/certificate_commands.h"

#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "mayfly/certificate.h"
#include "mayfly/key.h"
#include "mayfly/status.h"
#include "openssl/rand.h"

namespace mayfly {
namespace cli {
namespace {

constexpr char kCreateUsage[] =
    "usage: mayfly-ca certificate create SUBJECT CRT_FILE KEY_FILE [flags]\n"
    "\n"
    "Makes a new key and a certificate for SUBJECT (the common name).\n"
    "\n"
    "flags:\n"
    "  --profile P           leaf (default), root-ca or intermediate-ca\n"
    "  --ca FILE             issuing CA certificate (not for root-ca)\n"
    "  --ca-key FILE         issuing CA key\n"
    "  --ca-password-file F  password of an encrypted CA key\n"
    "  --san NAME            subject alternative name (repeatable; a leaf\n"
    "                        defaults to SUBJECT)\n"
    "  --not-after D         lifetime, e.g. 5m, 24h (leaf 24h, CA 87600h)\n"
    "  --kty T --curve C     EC P-256 (default), EC P-384 or OKP Ed25519\n"
    "  --password-file F     encrypt the new key with this password\n"
    "  --no-password --insecure  write the new key unencrypted\n"
    "  --force               overwrite existing files\n";

constexpr char kVerifyUsage[] =
    "usage: mayfly-ca certificate verify CRT_FILE --roots FILE "
    "[--purpose server|client]\n"
    "\n"
    "Verifies the chain in CRT_FILE (leaf first, then intermediates) up to\n"
    "one of the roots, at the current time.\n";

absl::StatusOr<std::vector<uint8_t>> RandomSerial() {
  std::vector<uint8_t> serial(16);
  if (!RAND_bytes(serial.data(), serial.size())) {
    return absl::InternalError("no randomness for the serial number");
  }
  serial[0] &= 0x7f;  // positive, at most 128 bits
  if (serial[0] == 0) {
    serial[0] = 1;  // and no leading zero byte
  }
  return serial;
}

absl::Status Create(const Args& args, const Clock& clock) {
  const auto& pos = args.positional();
  const std::string profile = args.Get("profile", "leaf");
  const bool is_root = profile == "root-ca";
  const bool is_intermediate = profile == "intermediate-ca";
  if (!is_root && !is_intermediate && profile != "leaf") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown --profile ", profile));
  }
  if (args.Has("password-file") == args.Has("no-password")) {
    return absl::InvalidArgumentError(
        "give either --password-file or --no-password --insecure");
  }
  if (args.Has("no-password") && !args.Has("insecure")) {
    return absl::InvalidArgumentError("--no-password requires --insecure");
  }
  if (is_root == (args.Has("ca") || args.Has("ca-key"))) {
    return absl::InvalidArgumentError(
        is_root ? "a root-ca is self-signed: drop --ca and --ca-key"
                : "--ca and --ca-key are required for this profile");
  }
  MAYFLY_ASSIGN_OR_RETURN(KeyType type,
                          ParseKeyType(args.Get("kty"), args.Get("curve")));
  absl::Duration lifetime =
      is_root || is_intermediate ? absl::Hours(87600) : absl::Hours(24);
  if (args.Has("not-after") &&
      !absl::ParseDuration(args.Get("not-after"), &lifetime)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--not-after ", args.Get("not-after"),
                     " is not a duration like 5m or 24h"));
  }
  if (lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--not-after must be positive");
  }

  std::string password;
  if (args.Has("password-file")) {
    MAYFLY_ASSIGN_OR_RETURN(password,
                            ReadPasswordFile(args.Get("password-file")));
  }
  std::optional<Certificate> ca;
  std::optional<PrivateKey> ca_key;
  if (!is_root) {
    MAYFLY_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(args.Get("ca")));
    absl::StatusOr<Certificate> ca_cert = Certificate::FromPem(ca_pem);
    if (!ca_cert.ok()) {
      return absl::Status(ca_cert.status().code(),
                          absl::StrCat("--ca ", args.Get("ca"), ": ",
                                       ca_cert.status().message()));
    }
    ca = *std::move(ca_cert);
    std::string ca_password;
    if (args.Has("ca-password-file")) {
      MAYFLY_ASSIGN_OR_RETURN(ca_password,
                              ReadPasswordFile(args.Get("ca-password-file")));
    }
    MAYFLY_ASSIGN_OR_RETURN(std::string key_pem, ReadFile(args.Get("ca-key")));
    absl::StatusOr<PrivateKey> key = PrivateKey::FromPem(key_pem, ca_password);
    if (!key.ok()) {
      return absl::Status(key.status().code(),
                          absl::StrCat("--ca-key ", args.Get("ca-key"), ": ",
                                       key.status().message()));
    }
    ca_key = *std::move(key);
    if (!ca_key->public_key().Equals(ca->public_key())) {
      return absl::InvalidArgumentError("--ca-key does not match --ca");
    }
  }

  MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(type));
  CertificateTemplate tmpl;
  MAYFLY_ASSIGN_OR_RETURN(tmpl.serial, RandomSerial());
  tmpl.common_name = pos[0];
  const absl::Time now = clock.Now();
  tmpl.not_before = now - absl::Minutes(1);
  tmpl.not_after = now + lifetime;
  if (is_root || is_intermediate) {
    tmpl.key_usage = kKeyUsageKeyCertSign | kKeyUsageCrlSign;
    tmpl.basic = BasicConstraints{true, is_root ? 1 : 0};
  } else {
    tmpl.key_usage = kKeyUsageDigitalSignature;
    tmpl.ext_key_usage = {kOidServerAuth, kOidClientAuth};
  }
  std::vector<std::string> sans = args.GetAll("san");
  if (sans.empty() && !is_root && !is_intermediate) {
    sans.push_back(pos[0]);
  }
  for (const std::string& san : sans) {
    tmpl.sans.push_back(ClassifySan(san));
  }
  MAYFLY_ASSIGN_OR_RETURN(
      Certificate cert,
      IssueCertificate(tmpl, key.public_key(), is_root ? key : *ca_key,
                       is_root ? nullptr : &*ca));

  std::string key_pem;
  if (args.Has("password-file")) {
    MAYFLY_ASSIGN_OR_RETURN(key_pem, key.ToEncryptedPem(password));
  } else {
    key_pem = key.ToPem();
  }
  std::string chain = cert.ToPem();
  if (!is_root && !is_intermediate && ca->Subject() != ca->Issuer()) {
    // A leaf's file carries its issuing intermediate, as step saves it.
    chain += ca->ToPem();
  }
  const bool force = args.Has("force");
  MAYFLY_RETURN_IF_ERROR(WriteFile(pos[1], chain, 0600, force));
  MAYFLY_RETURN_IF_ERROR(WriteFile(pos[2], key_pem, 0600, force));
  std::cout << "Your certificate has been saved in " << pos[1] << ".\n"
            << "Your private key has been saved in " << pos[2] << ".\n";
  return absl::OkStatus();
}

absl::Status Verify(const Args& args, const Clock& clock) {
  MAYFLY_ASSIGN_OR_RETURN(std::string chain_pem,
                          ReadFile(args.positional()[0]));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                          Certificate::ParsePemBundle(chain_pem));
  MAYFLY_ASSIGN_OR_RETURN(std::string roots_pem, ReadFile(args.Get("roots")));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> roots,
                          Certificate::ParsePemBundle(roots_pem));
  VerifyOptions options;
  const std::string purpose = args.Get("purpose");
  if (purpose == "server") {
    options.purpose = kOidServerAuth;
  } else if (purpose == "client") {
    options.purpose = kOidClientAuth;
  } else if (!purpose.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown --purpose ", purpose, "; use server or client"));
  }
  absl::Span<const Certificate> intermediates(chain);
  MAYFLY_RETURN_IF_ERROR(VerifyChain(chain[0], intermediates.subspan(1), roots,
                                     clock.Now(), options));
  std::cout << "certificate " << chain[0].Subject() << " is valid\n";
  return absl::OkStatus();
}

}  // namespace

int CertificateCommand(int argc, char** argv, const Clock& clock) {
  std::string sub = argc > 2 ? argv[2] : "";
  const bool create = sub == "create";
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::cout << kCreateUsage << "\n" << kVerifyUsage;
    return 0;
  }
  if (!create && sub != "verify") {
    std::cerr << kCreateUsage << "\n" << kVerifyUsage;
    return 2;
  }
  const char* usage = create ? kCreateUsage : kVerifyUsage;
  auto args =
      create
          ? Args::Parse(argc, argv, 3,
                        {"profile", "ca", "ca-key", "ca-password-file", "san",
                         "not-after", "kty", "curve", "password-file"},
                        {"no-password", "insecure", "force", "help"})
          : Args::Parse(argc, argv, 3, {"roots", "purpose"}, {"help"});
  if (args.ok() && args->Has("help")) {
    std::cout << usage;
    return 0;
  }
  const size_t want = create ? 3 : 1;
  if (!args.ok() || args->positional().size() != want ||
      (!create && !args->Has("roots"))) {
    if (!args.ok()) {
      std::cerr << "error: " << args.status().message() << "\n";
    }
    std::cerr << usage;
    return 2;
  }
  absl::Status status = create ? Create(*args, clock) : Verify(*args, clock);
  if (!status.ok()) {
    std::cerr << "error: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace cli
}  // namespace mayfly

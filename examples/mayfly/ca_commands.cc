// `mayfly bootstrap | token | certificate | revoke | roots | health |
// inspect`: the step CLI's `step ca ...` commands of the same names, as far
// as X.509 and JWK provisioners go.

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/mem.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "common.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/client.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "mayfly/renewal.h"
#include "mayfly/status.h"
#include "mayfly/token.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

namespace mayfly {
namespace cli {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// MakeDir creates `path` with mode 0700 unless it exists, as step does for
// the folders of $STEPPATH.
absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::Status(
        absl::ErrnoToStatusCode(errno),
        absl::StrCat("cannot create ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// bootstrap

constexpr char kBootstrapUsage[] =
    "usage: mayfly bootstrap --ca-url URL --fingerprint FP [--dir DIR] "
    "[--force]\n"
    "\n"
    "Fetches the CA's root certificate from URL/root/FP without trusting\n"
    "the connection, checks that its SHA-256 is FP, checks that the CA's\n"
    "own TLS certificate chains to it, and saves it, as `step ca bootstrap`\n"
    "does:\n"
    "  DIR/certs/root_ca.crt        the root (0600)\n"
    "  DIR/config/defaults.json     ca-url, fingerprint and root: the\n"
    "                               defaults of the other commands\n"
    "\n"
    "flags:\n"
    "  --ca-url URL        the CA, https://host:port\n"
    "  --fingerprint FP    the root's SHA-256, 64 hex digits (printed by\n"
    "                      `mayfly-ca init` and `mayfly-ca serve`)\n"
    "  --dir DIR           default $STEPPATH, else ~/.step\n"
    "  --force             replace files a previous bootstrap wrote\n";

std::string DefaultsJson(const std::string& url, const std::string& fp,
                         const std::string& root) {
  rapidjson::StringBuffer buf;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
  w.SetIndent(' ', 3);  // step writes its JSON with three spaces
  w.StartObject();
  w.Key("ca-url");
  w.String(url.c_str());
  w.Key("fingerprint");
  w.String(fp.c_str());
  w.Key("root");
  w.String(root.c_str());
  w.EndObject();
  return absl::StrCat(absl::string_view(buf.GetString(), buf.GetSize()), "\n");
}

absl::Status Bootstrap(const Args& args) {
  std::string dir = args.Get("dir");
  if (dir.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(dir, DefaultStepPath());
  }
  std::error_code ec;
  dir = std::filesystem::absolute(dir, ec).lexically_normal().string();
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve --dir: ", ec.message()));
  }
  while (dir.size() > 1 && dir.back() == '/') {
    dir.pop_back();
  }
  const std::string root_path = absl::StrCat(dir, "/certs/root_ca.crt");
  const std::string defaults_path = absl::StrCat(dir, "/config/defaults.json");
  const bool force = args.Has("force");
  for (const std::string& path : {root_path, defaults_path}) {
    if (!force && Exists(path)) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists; use --force to replace it"));
    }
  }
  // Everything the CA has to say is checked before anything is written.
  const std::string fp = absl::AsciiStrToLower(args.Get("fingerprint"));
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca,
                          CaClient::Bootstrap(args.Get("ca-url"), fp));
  for (const std::string& d : {dir, dir + "/certs", dir + "/config"}) {
    MAYFLY_RETURN_IF_ERROR(MakeDir(d));
  }
  MAYFLY_RETURN_IF_ERROR(
      WriteFile(root_path, ChainPem(ca->roots()), 0600, force));
  MAYFLY_RETURN_IF_ERROR(WriteFile(
      defaults_path, DefaultsJson(ca->url(), fp, root_path), 0644, force));
  std::cout << "The root certificate has been saved in " << root_path << ".\n"
            << "The authority configuration has been saved in " << defaults_path
            << ".\n";
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// token

constexpr char kTokenUsage[] =
    "usage: mayfly token SUBJECT [flags]\n"
    "\n"
    "Mints a one-time token authorising one certificate for SUBJECT (or,\n"
    "with --revoke, the revocation of serial number SUBJECT), as `step ca\n"
    "token` does: the provisioner's encrypted key is downloaded from the CA\n"
    "and decrypted with the password. Prints the token.\n"
    "\n"
    "flags:\n"
    "  --san NAME                     a DNS name, IP address, email or URI\n"
    "                                 the certificate may carry\n"
    "                                 (repeatable; default SUBJECT)\n"
    "  --provisioner NAME             the JWK provisioner (default: the\n"
    "                                 CA's only one)\n"
    "  --password-file FILE           the provisioner's password (also\n"
    "                                 --provisioner-password-file)\n"
    "  --not-after D                  how long the token is valid, 10s..1h\n"
    "                                 (default 5m)\n"
    "  --revoke                       a revoke token; SUBJECT is a serial\n";

// NormaliseSerial returns a serial number in decimal, as tokens and the CA
// want it: decimal as given, or 0x-prefixed hex converted.
absl::StatusOr<std::string> NormaliseSerial(const std::string& text) {
  const bool hex = absl::StartsWithIgnoreCase(text, "0x");
  const std::string digits = hex ? text.substr(2) : text;
  bool ok = !digits.empty() && digits.size() <= 100;
  for (char c : digits) {
    ok = ok && (hex ? std::isxdigit(static_cast<unsigned char>(c))
                    : std::isdigit(static_cast<unsigned char>(c)));
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "serial number \"", text, "\" is neither decimal nor 0x-prefixed hex"));
  }
  if (!hex) {
    return digits;
  }
  BIGNUM* bn = nullptr;
  if (BN_hex2bn(&bn, digits.c_str()) == 0) {
    return absl::InternalError("cannot convert the serial number");
  }
  char* dec = BN_bn2dec(bn);
  BN_free(bn);
  if (dec == nullptr) {
    return absl::InternalError("cannot convert the serial number");
  }
  std::string out = dec;
  OPENSSL_free(dec);
  return out;
}

absl::StatusOr<TokenOptions> TokenOptionsFromArgs(const Args& args) {
  TokenOptions options;
  options.provisioner = args.Get("provisioner");
  options.password_file =
      args.Get("provisioner-password-file", args.Get("password-file"));
  return options;
}

absl::Status Token(const Args& args) {
  MAYFLY_ASSIGN_OR_RETURN(TokenOptions options, TokenOptionsFromArgs(args));
  MAYFLY_ASSIGN_OR_RETURN(std::optional<absl::Duration> lifetime,
                          args.GetDuration("not-after"));
  if (lifetime.has_value()) {
    if (*lifetime < absl::Seconds(10) || *lifetime > absl::Hours(1)) {
      return absl::InvalidArgumentError(
          "--not-after must be between 10s and 1h (a token's lifetime)");
    }
    options.lifetime = *lifetime;
  }
  const bool revoke = args.Has("revoke");
  std::string subject = args.positional()[0];
  if (revoke) {
    if (args.Has("san")) {
      return absl::InvalidArgumentError("a revoke token carries no --san");
    }
    MAYFLY_ASSIGN_OR_RETURN(subject, NormaliseSerial(subject));
  }
  MAYFLY_ASSIGN_OR_RETURN(CaTarget target, ResolveTarget(args));
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca, Connect(target));
  MAYFLY_ASSIGN_OR_RETURN(
      std::string token,
      MintToken(*ca, target, options, subject, args.GetList("san"), revoke));
  std::cout << token << "\n";
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// certificate

constexpr char kCertificateUsage[] =
    "usage: mayfly certificate SUBJECT CRT_FILE KEY_FILE [flags]\n"
    "\n"
    "Gets a certificate for SUBJECT from the CA, as `step ca certificate`\n"
    "does: makes a new key, sends a CSR (CN SUBJECT, the token's SANs) with\n"
    "a one-time token to /sign, and writes the chain (leaf, intermediate)\n"
    "to CRT_FILE (0644) and the key, unencrypted PKCS#8, to KEY_FILE\n"
    "(0600), each atomically.\n"
    "\n"
    "flags:\n"
    "  --token TOKEN                  a token from `mayfly token`, or:\n"
    "  --provisioner NAME             mint the token here with this\n"
    "  --provisioner-password-file F  provisioner and its password\n"
    "  --san NAME                     more SANs (repeatable; the token's\n"
    "                                 must allow them)\n"
    "  --not-before T, --not-after T  validity: a duration (90s, 5m) or an\n"
    "                                 RFC 3339 time; default the CA's\n"
    "  --kty T --curve C              key: EC P-256 (default), EC P-384, OKP\n"
    "                                 Ed25519\n"
    "  --force                        replace existing files\n";

// WriteCredentials installs a chain and its key at the two paths with the
// files sink of the renewal library, so they are written the way every
// renewal rewrites them: temporary file, fsync, rename.
absl::Status WriteCredentials(const std::string& crt_path,
                              const std::string& key_path,
                              const IssuedCertificate& issued,
                              const PrivateKey& key) {
  FilesSinkOptions paths;
  paths.cert_path = crt_path;
  paths.key_path = key_path;
  MAYFLY_ASSIGN_OR_RETURN(std::shared_ptr<RenewalSink> files,
                          AtomicFilesSink(paths));
  return files->Deliver(Credentials{issued.chain, key});
}

absl::Status RequestCertificate(const Args& args) {
  const std::string& subject = args.positional()[0];
  const std::string& crt_path = args.positional()[1];
  const std::string& key_path = args.positional()[2];
  if (crt_path == key_path) {
    return absl::InvalidArgumentError("CRT_FILE and KEY_FILE are the same");
  }
  if (!args.Has("force")) {
    for (const std::string& path : {crt_path, key_path}) {
      if (Exists(path)) {
        return absl::AlreadyExistsError(
            absl::StrCat(path, " already exists; use --force to replace it"));
      }
    }
  }
  if (args.Has("token") == args.Has("provisioner-password-file")) {
    return absl::InvalidArgumentError(
        "give either --token, or --provisioner-password-file to mint one");
  }
  SignOptions validity;
  MAYFLY_ASSIGN_OR_RETURN(validity.not_before,
                          ParseValidity(args, "not-before"));
  MAYFLY_ASSIGN_OR_RETURN(validity.not_after, ParseValidity(args, "not-after"));
  MAYFLY_ASSIGN_OR_RETURN(KeyType type,
                          ParseKeyType(args.Get("kty"), args.Get("curve")));
  std::vector<std::string> sans = args.GetList("san");

  MAYFLY_ASSIGN_OR_RETURN(CaTarget target, ResolveTarget(args));
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca, Connect(target));
  std::string token = args.Get("token");
  if (token.empty()) {
    MAYFLY_ASSIGN_OR_RETURN(TokenOptions options, TokenOptionsFromArgs(args));
    MAYFLY_ASSIGN_OR_RETURN(token,
                            MintToken(*ca, target, options, subject, sans,
                                      /*revoke=*/false));
  } else {
    // As step does: the token must be for SUBJECT, and its SANs go into
    // the request with any given here.
    MAYFLY_ASSIGN_OR_RETURN(TokenClaims claims, ParseTokenClaims(token));
    if (!absl::EqualsIgnoreCase(claims.subject, subject)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the token is for \"", claims.subject,
                       "\", not for the SUBJECT \"", subject, "\""));
    }
    for (const std::string& san : claims.sans) {
      if (std::find(sans.begin(), sans.end(), san) == sans.end()) {
        sans.push_back(san);
      }
    }
  }
  if (sans.empty()) {
    sans.push_back(subject);
  }
  MAYFLY_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(type));
  CsrOptions csr_options;
  csr_options.common_name = subject;
  csr_options.sans = sans;
  MAYFLY_ASSIGN_OR_RETURN(CertificateRequest csr,
                          CertificateRequest::Create(key, csr_options));
  MAYFLY_ASSIGN_OR_RETURN(IssuedCertificate issued,
                          ca->Sign(csr, token, validity));
  MAYFLY_RETURN_IF_ERROR(WriteCredentials(crt_path, key_path, issued, key));
  std::cout << "Certificate: " << crt_path << " (" << subject << ", serial "
            << issued.leaf.SerialDecimal() << ", valid until "
            << LocalTime(issued.leaf.NotAfter()) << ")\n"
            << "Private Key: " << key_path << "\n";
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// revoke

constexpr char kRevokeUsage[] =
    "usage: mayfly revoke SERIAL [--token TOKEN | --provisioner-password-file "
    "F] [flags]\n"
    "       mayfly revoke --cert CRT_FILE --key KEY_FILE [flags]\n"
    "\n"
    "Revokes a certificate passively, as `step ca revoke` does: the CA\n"
    "records the serial and refuses to renew it (and lists it in its CRL);\n"
    "the certificate itself stays valid until it expires. Authorised by a\n"
    "revoke token for SERIAL (given, or minted here with the provisioner's\n"
    "password), or by the certificate and its key over mutual TLS.\n"
    "\n"
    "flags:\n"
    "  --token TOKEN                  from `mayfly token --revoke SERIAL`\n"
    "  --provisioner NAME             mint the revoke token here with this\n"
    "  --provisioner-password-file F  provisioner and its password\n"
    "  --cert FILE --key FILE         the certificate to revoke, and its key\n"
    "  --password-file FILE           the password of an encrypted --key\n"
    "  --reason TEXT                  why, for the CA's records\n"
    "  --reasonCode N                 RFC 5280 reason, 0..10 or a name\n"
    "                                 (keyCompromise, superseded, ...)\n";

absl::StatusOr<int> ParseReasonCode(const std::string& text) {
  if (text.empty()) {
    return 0;
  }
  int code = 0;
  if (absl::SimpleAtoi(text, &code)) {
    if (code < 0 || code > 10) {
      return absl::InvalidArgumentError("--reasonCode must be 0..10");
    }
    return code;
  }
  // step accepts the RFC 5280 names, ignoring case and spaces.
  static const char* const kNames[] = {
      "unspecified",     "keycompromise",
      "cacompromise",    "affiliationchanged",
      "superseded",      "cessationofoperation",
      "certificatehold", "",  // 7 is unused
      "removefromcrl",   "privilegewithdrawn",
      "aacompromise"};
  std::string name;
  for (char c : text) {
    if (c != ' ') {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  for (int i = 0; i <= 10; ++i) {
    if (!name.empty() && name == kNames[i]) {
      return i;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--reasonCode ", text,
      " is neither 0..10 nor a reason name such as keyCompromise"));
}

absl::Status Revoke(const Args& args) {
  MAYFLY_ASSIGN_OR_RETURN(int reason_code,
                          ParseReasonCode(args.Get("reasonCode")));
  const std::string reason = args.Get("reason");
  const bool mtls = args.Has("cert") || args.Has("key");
  if (mtls) {
    if (!args.Has("cert") || !args.Has("key")) {
      return absl::InvalidArgumentError("--cert and --key go together");
    }
    if (args.Has("token") || args.Has("provisioner-password-file")) {
      return absl::InvalidArgumentError(
          "--cert/--key revoke over mutual TLS; they take no token");
    }
  } else if (args.positional().empty()) {
    return absl::InvalidArgumentError(
        "name the SERIAL to revoke, or give --cert and --key");
  }
  std::string serial;
  if (!args.positional().empty()) {
    MAYFLY_ASSIGN_OR_RETURN(serial, NormaliseSerial(args.positional()[0]));
  }
  MAYFLY_ASSIGN_OR_RETURN(CaTarget target, ResolveTarget(args));
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca, Connect(target));
  if (mtls) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> chain,
                            LoadChain(args.Get("cert")));
    MAYFLY_ASSIGN_OR_RETURN(
        PrivateKey key,
        LoadKey(args.Get("key"), args.Get("password-file"), chain[0]));
    if (serial.empty()) {
      serial = chain[0].SerialDecimal();
    }
    MAYFLY_RETURN_IF_ERROR(
        ca->Revoke(serial, reason_code, reason, "", chain, &key));
  } else {
    std::string token = args.Get("token");
    if (token.empty()) {
      MAYFLY_ASSIGN_OR_RETURN(TokenOptions options, TokenOptionsFromArgs(args));
      MAYFLY_ASSIGN_OR_RETURN(
          token, MintToken(*ca, target, options, serial, {}, /*revoke=*/true));
    }
    MAYFLY_RETURN_IF_ERROR(
        ca->Revoke(serial, reason_code, reason, token, {}, nullptr));
  }
  std::cout << "Certificate with Serial Number " << serial
            << " has been revoked.\n";
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// roots, health

constexpr char kRootsUsage[] =
    "usage: mayfly roots [FILE] [--force] [CA flags]\n"
    "\n"
    "Prints the CA's roots (GET /roots) as PEM, or writes them to FILE.\n";

absl::Status Roots(const Args& args) {
  MAYFLY_ASSIGN_OR_RETURN(CaTarget target, ResolveTarget(args));
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca, Connect(target));
  MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> roots, ca->Roots());
  if (args.positional().empty()) {
    std::cout << ChainPem(roots);
    return absl::OkStatus();
  }
  const std::string& path = args.positional()[0];
  MAYFLY_RETURN_IF_ERROR(
      WriteFile(path, ChainPem(roots), 0644, args.Has("force")));
  std::cout << "The root certificate" << (roots.size() == 1 ? " has" : "s have")
            << " been saved in " << path << ".\n";
  return absl::OkStatus();
}

constexpr char kHealthUsage[] =
    "usage: mayfly health [CA flags]\n"
    "\n"
    "Prints \"ok\" if the CA answers /health with {\"status\":\"ok\"}.\n";

absl::Status Health(const Args& args) {
  MAYFLY_ASSIGN_OR_RETURN(CaTarget target, ResolveTarget(args));
  MAYFLY_ASSIGN_OR_RETURN(std::unique_ptr<CaClient> ca, Connect(target));
  MAYFLY_RETURN_IF_ERROR(ca->Health());
  std::cout << "ok\n";
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// inspect

constexpr char kInspectUsage[] =
    "usage: mayfly inspect FILE\n"
    "\n"
    "Describes each certificate in FILE (PEM bundle or DER), a certificate\n"
    "request, or a one-time token (its claims, NOT verified).\n";

std::string DescribeToken(const TokenClaims& c) {
  std::string out = "One-time token (claims decoded, signature NOT verified)\n";
  absl::StrAppend(&out, "  issuer (provisioner): ", c.issuer, "\n",
                  "  subject:              ", c.subject, "\n",
                  "  audience:             ", c.audience, "\n",
                  "  not before:           ", LocalTime(c.not_before), "\n",
                  "  expires:              ", LocalTime(c.expiry), "\n",
                  "  id:                   ", c.id, "\n");
  if (!c.root_fingerprint.empty()) {
    absl::StrAppend(&out, "  root fingerprint:     ", c.root_fingerprint, "\n");
  }
  if (!c.sans.empty()) {
    absl::StrAppend(
        &out, "  sans:                 ", absl::StrJoin(c.sans, ", "), "\n");
  }
  return out;
}

absl::Status InspectFile(const Args& args) {
  const std::string& path = args.positional()[0];
  MAYFLY_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  const bool pem = absl::StrContains(data, "-----BEGIN ");
  if (pem && absl::StrContains(data, "CERTIFICATE REQUEST-----")) {
    MAYFLY_ASSIGN_OR_RETURN(CertificateRequest csr,
                            CertificateRequest::FromPem(data));
    std::cout << Inspect(csr);
    return absl::OkStatus();
  }
  if (pem) {
    MAYFLY_ASSIGN_OR_RETURN(std::vector<Certificate> certs, LoadChain(path));
    for (size_t i = 0; i < certs.size(); ++i) {
      std::cout << (i > 0 ? "\n" : "") << Inspect(certs[i]);
    }
    return absl::OkStatus();
  }
  const std::string text(absl::StripAsciiWhitespace(data));
  if (std::count(text.begin(), text.end(), '.') == 2) {
    absl::StatusOr<TokenClaims> claims = ParseTokenClaims(text);
    if (claims.ok()) {
      std::cout << DescribeToken(*claims);
      return absl::OkStatus();
    }
  }
  const absl::Span<const uint8_t> der(
      reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (absl::StatusOr<Certificate> cert = Certificate::FromDer(der); cert.ok()) {
    std::cout << Inspect(*cert);
    return absl::OkStatus();
  }
  if (absl::StatusOr<CertificateRequest> csr = CertificateRequest::FromDer(der);
      csr.ok()) {
    std::cout << Inspect(*csr);
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, " is neither a certificate, a certificate request nor a token"));
}

}  // namespace

int BootstrapCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args =
      ParseCommand(argc, argv, {"ca-url", "fingerprint", "dir"}, {"force"}, 0,
                   0, kBootstrapUsage, &rc);
  if (!args.has_value()) {
    return rc;
  }
  for (const char* flag : {"ca-url", "fingerprint"}) {
    if (args->Get(flag).empty()) {
      std::cerr << "error: --" << flag << " is required\n" << kBootstrapUsage;
      return 2;
    }
  }
  return Finish(Bootstrap(*args));
}

int TokenCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args = ParseCommand(
      argc, argv,
      With({"san", "provisioner", "password-file", "provisioner-password-file",
            "not-after"},
           kCaValueFlags),
      {"revoke"}, 1, 1, absl::StrCat(kTokenUsage, "\n", kCaFlagsHelp), &rc);
  return args.has_value() ? Finish(Token(*args)) : rc;
}

int RequestCertificateCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args =
      ParseCommand(argc, argv,
                   With({"token", "provisioner", "provisioner-password-file",
                         "san", "not-before", "not-after", "kty", "curve"},
                        kCaValueFlags),
                   {"force"}, 3, 3,
                   absl::StrCat(kCertificateUsage, "\n", kCaFlagsHelp), &rc);
  return args.has_value() ? Finish(RequestCertificate(*args)) : rc;
}

int RevokeCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args = ParseCommand(
      argc, argv,
      With({"token", "provisioner", "provisioner-password-file", "cert", "key",
            "password-file", "reason", "reasonCode"},
           kCaValueFlags),
      {}, 0, 1, absl::StrCat(kRevokeUsage, "\n", kCaFlagsHelp), &rc);
  return args.has_value() ? Finish(Revoke(*args)) : rc;
}

int RootsCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args =
      ParseCommand(argc, argv, kCaValueFlags, {"force"}, 0, 1,
                   absl::StrCat(kRootsUsage, "\n", kCaFlagsHelp), &rc);
  return args.has_value() ? Finish(Roots(*args)) : rc;
}

int HealthCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args =
      ParseCommand(argc, argv, kCaValueFlags, {}, 0, 0,
                   absl::StrCat(kHealthUsage, "\n", kCaFlagsHelp), &rc);
  return args.has_value() ? Finish(Health(*args)) : rc;
}

int InspectCommand(int argc, char** argv) {
  int rc = 0;
  std::optional<Args> args =
      ParseCommand(argc, argv, {}, {}, 1, 1, kInspectUsage, &rc);
  return args.has_value() ? Finish(InspectFile(*args)) : rc;
}

}  // namespace cli
}  // namespace mayfly

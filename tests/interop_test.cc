// Certificates and requests cross between mayfly, the openssl command and
// Python's `cryptography`: each side must read, and verify, what the other
// wrote.

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "catch2/catch.hpp"
#include "cert_test_util.h"
#include "internal/bssl.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/key.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::CommandResult;
using testing::Run;
using testing::ShellQuote;
using testing::TempDir;

bool Have(const std::string& probe) {
  if (Run(probe).exit_code == 0) {
    return true;
  }
  WARN("skipped: `" << probe << "` failed");
  return false;
}

bool HaveOpenssl() { return Have("openssl version"); }

bool HaveCryptography() {
  return Have(
      "python3 -c 'from cryptography import x509; "
      "x509.Certificate.verify_directly_issued_by'");
}

CommandResult MustRun(const std::string& command,
                      absl::string_view input = {}) {
  CommandResult r = Run(command, input);
  INFO("command: " << command << "\noutput:\n" << r.output);
  REQUIRE(r.exit_code == 0);
  return r;
}

std::string ReadFile(const std::string& path) {
  return MustRun(absl::StrCat("cat ", ShellQuote(path))).output;
}

struct PkiFiles {
  std::string root, inter, leaf;
};

PkiFiles WritePki(const TempDir& dir, const testing::TestPki& pki) {
  return PkiFiles{dir.Write("root.pem", pki.root.ToPem()),
                  dir.Write("inter.pem", pki.inter.ToPem()),
                  dir.Write("leaf.pem", pki.leaf.ToPem())};
}

std::string OpensslVerify(const PkiFiles& f, const std::string& purpose) {
  return absl::StrCat("openssl verify -x509_strict -purpose ", purpose,
                      " -CAfile ", ShellQuote(f.root), " -untrusted ",
                      ShellQuote(f.inter), " ", ShellQuote(f.leaf));
}

struct KeyTypes {
  KeyType root, inter, leaf;
};

const KeyTypes kCombos[] = {
    {KeyType::kP256, KeyType::kP256, KeyType::kP256},
    {KeyType::kP384, KeyType::kP384, KeyType::kP256},
    {KeyType::kEd25519, KeyType::kEd25519, KeyType::kEd25519},
    {KeyType::kP256, KeyType::kEd25519, KeyType::kP384},
};

TEST_CASE("Interop: openssl verifies mayfly's chains", "[interop]") {
  if (!HaveOpenssl()) {
    return;
  }
  // openssl checks validity against the real clock.
  absl::Time now = Clock::Real().Now();
  for (const KeyTypes& types : kCombos) {
    INFO("keys " << KeyTypeName(types.root) << " / " << KeyTypeName(types.inter)
                 << " / " << KeyTypeName(types.leaf));
    testing::TestPki pki =
        testing::MakePki(now, types.root, types.inter, types.leaf);
    TempDir dir;
    PkiFiles f = WritePki(dir, pki);

    CHECK(absl::StrContains(MustRun(OpensslVerify(f, "sslserver")).output,
                            ": OK"));
    CHECK(absl::StrContains(MustRun(OpensslVerify(f, "sslclient")).output,
                            ": OK"));
    // Without the intermediate there is no path.
    CHECK(Run(absl::StrCat("openssl verify -CAfile ", ShellQuote(f.root), " ",
                           ShellQuote(f.leaf)))
              .exit_code != 0);

    std::string text = MustRun(absl::StrCat("openssl x509 -noout -text -in ",
                                            ShellQuote(f.leaf)))
                           .output;
    INFO(text);
    CHECK(absl::StrContains(text, "DNS:svc.example.com"));
    CHECK(absl::StrContains(text, "IP Address:10.0.0.7"));
    CHECK(absl::StrContains(text, "IP Address:2001:DB8:0:0:0:0:0:1"));
    CHECK(absl::StrContains(text, "email:ops@example.com"));
    CHECK(absl::StrContains(text, "URI:spiffe://example.org/svc"));
    CHECK(absl::StrContains(text, "X509v3 Key Usage: critical"));
    CHECK(absl::StrContains(
        text, "TLS Web Server Authentication, TLS Web Client Authentication"));
    CHECK(absl::StrContains(text, "Version: 3 (0x2)"));

    std::string inter_text =
        MustRun(
            absl::StrCat("openssl x509 -noout -text -in ", ShellQuote(f.inter)))
            .output;
    CHECK(absl::StrContains(inter_text, "X509v3 Basic Constraints: critical"));
    CHECK(absl::StrContains(inter_text, "CA:TRUE, pathlen:0"));
    CHECK(absl::StrContains(inter_text, "Certificate Sign, CRL Sign"));

    // Serial and fingerprint agree.
    std::string serial =
        MustRun(absl::StrCat("openssl x509 -noout -serial -in ",
                             ShellQuote(f.leaf)))
            .output;
    CHECK(absl::AsciiStrToLower(serial) ==
          absl::StrCat("serial=", internal::Hex(pki.leaf.Serial()), "\n"));
    std::string fp =
        MustRun(absl::StrCat("openssl x509 -noout -fingerprint -sha256 -in ",
                             ShellQuote(f.leaf)))
            .output;
    CHECK(absl::StrContains(
        absl::AsciiStrToLower(absl::StrReplaceAll(fp, {{":", ""}})),
        pki.leaf.FingerprintHex()));
  }
}

TEST_CASE("Interop: openssl verifies mayfly's requests", "[interop]") {
  if (!HaveOpenssl()) {
    return;
  }
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    INFO("key " << KeyTypeName(type));
    CsrOptions options;
    options.common_name = "req.example.com";
    options.sans = {"req.example.com", "192.0.2.9", "2001:db8::9",
                    "req@example.com", "spiffe://example.org/req"};
    absl::StatusOr<CertificateRequest> csr =
        CertificateRequest::Create(testing::NewKey(type), options);
    REQUIRE(csr.ok());
    TempDir dir;
    std::string path = dir.Write("req.pem", csr->ToPem());
    std::string out = MustRun(absl::StrCat("openssl req -verify -noout -text "
                                           "-in ",
                                           ShellQuote(path)))
                          .output;
    INFO(out);
    CHECK(absl::StrContains(out, "verify OK"));
    CHECK(absl::StrContains(out, "Subject: CN = req.example.com"));
    CHECK(absl::StrContains(out, "DNS:req.example.com"));
    CHECK(absl::StrContains(out, "IP Address:192.0.2.9"));
    CHECK(absl::StrContains(out, "IP Address:2001:DB8:0:0:0:0:0:9"));
    CHECK(absl::StrContains(out, "email:req@example.com"));
    CHECK(absl::StrContains(out, "URI:spiffe://example.org/req"));

    // A request whose subject was changed after signing fails there too.
    std::vector<uint8_t> der = csr->der();
    std::string bytes(der.begin(), der.end());
    size_t at = bytes.find("req.example.com");
    REQUIRE(at != std::string::npos);
    der[at] = 'x';
    std::string bad =
        dir.Write("bad.pem", internal::EncodePem("CERTIFICATE REQUEST", der));
    // (openssl 3.0 exits 0 here; its message tells.)
    CommandResult r =
        Run(absl::StrCat("openssl req -verify -noout -in ", ShellQuote(bad)));
    CHECK_FALSE(absl::StrContains(r.output, "verify OK"));
    CHECK(absl::StrContains(r.output, "verify failure"));
  }
}

// The Python checks: parse with cryptography's strict DER parser, verify
// each signature with the issuer's key, read the extensions, and (for the
// ECDSA chains) run its RFC 5280 path validator.
constexpr char kPythonCheck[] = R"PY(
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
d, serial, now, webpki = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
def load(n):
    return x509.load_pem_x509_certificate(open(f"{d}/{n}.pem", "rb").read())
root, inter, leaf = load("root"), load("inter"), load("leaf")
root.verify_directly_issued_by(root)
inter.verify_directly_issued_by(root)
leaf.verify_directly_issued_by(inter)
try:
    leaf.verify_directly_issued_by(root)
    raise SystemExit("leaf verified with the root key")
except (ValueError, TypeError, Exception) as e:
    if isinstance(e, SystemExit):
        raise
ext = lambda c, cls: c.extensions.get_extension_for_class(cls)
san = ext(leaf, x509.SubjectAlternativeName).value
assert san.get_values_for_type(x509.DNSName) == ["svc.example.com"], san
assert san.get_values_for_type(x509.IPAddress) == [
    ipaddress.ip_address("10.0.0.7"), ipaddress.ip_address("2001:db8::1")], san
assert san.get_values_for_type(x509.RFC822Name) == ["ops@example.com"], san
assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
    "spiffe://example.org/svc"], san
for c, path_len in ((root, 1), (inter, 0)):
    bc = ext(c, x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == path_len, bc
    ku = ext(c, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign, ku
    assert not ku.value.digital_signature, ku
ku = ext(leaf, x509.KeyUsage)
assert ku.critical and ku.value.digital_signature and not ku.value.key_cert_sign
eku = ext(leaf, x509.ExtendedKeyUsage).value
assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH,
                     ExtendedKeyUsageOID.CLIENT_AUTH], eku
for c in (root, inter, leaf):
    ski = ext(c, x509.SubjectKeyIdentifier)
    assert not ski.critical
    want = x509.SubjectKeyIdentifier.from_public_key(c.public_key()).digest
    assert ski.value.digest == want, (ski, want)
for c, issuer in ((inter, root), (leaf, inter)):
    aki = ext(c, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ext(issuer, x509.SubjectKeyIdentifier).value.digest
try:
    ext(root, x509.AuthorityKeyIdentifier)
    raise SystemExit("self-signed root has an AKI")
except x509.ExtensionNotFound:
    pass
assert leaf.version == x509.Version.v3
assert leaf.serial_number == serial, (leaf.serial_number, serial)
assert root.subject.rfc4514_string() == "CN=Mayfly Test Root CA,O=Mayfly Test"
assert leaf.issuer == inter.subject and inter.issuer == root.subject
if webpki:
    from cryptography.x509.verification import PolicyBuilder, Store
    at = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc)
    builder = PolicyBuilder().store(Store([root])).time(at)
    chain = builder.build_server_verifier(
        x509.DNSName("svc.example.com")).verify(leaf, [inter])
    assert len(chain) == 3, chain
    builder.build_client_verifier().verify(leaf, [inter])
csr = x509.load_pem_x509_csr(open(f"{d}/req.pem", "rb").read())
assert csr.is_signature_valid
names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
assert [str(n.value) for n in names] == [
    "req.example.com", "192.0.2.9", "req@example.com",
    "spiffe://example.org/req"], names
print("python ok")
)PY";

TEST_CASE("Interop: Python cryptography verifies mayfly's output",
          "[interop]") {
  if (!HaveCryptography()) {
    return;
  }
  absl::Time now = absl::FromUnixSeconds(1795567600);
  for (const KeyTypes& types : kCombos) {
    INFO("keys " << KeyTypeName(types.root) << " / " << KeyTypeName(types.inter)
                 << " / " << KeyTypeName(types.leaf));
    testing::TestPki pki =
        testing::MakePki(now, types.root, types.inter, types.leaf);
    TempDir dir;
    WritePki(dir, pki);
    CsrOptions options;
    options.common_name = "req.example.com";
    options.sans = {"req.example.com", "192.0.2.9", "req@example.com",
                    "spiffe://example.org/req"};
    absl::StatusOr<CertificateRequest> csr =
        CertificateRequest::Create(pki.leaf_key, options);
    REQUIRE(csr.ok());
    dir.Write("req.pem", csr->ToPem());
    // cryptography's web PKI policy accepts only RSA and ECDSA signatures.
    bool webpki =
        types.root != KeyType::kEd25519 && types.inter != KeyType::kEd25519;
    std::string script = dir.Write("check.py", kPythonCheck);
    CommandResult r = Run(
        absl::StrCat("python3 ", ShellQuote(script), " ",
                     ShellQuote(dir.path()), " ", pki.leaf.SerialDecimal(), " ",
                     absl::ToUnixSeconds(now), " ", webpki ? "1" : "0"));
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(absl::StrContains(r.output, "python ok"));
  }
}

TEST_CASE("Interop: mayfly reads openssl's certificates and requests",
          "[interop]") {
  if (!HaveOpenssl()) {
    return;
  }
  TempDir dir;
  std::string d = ShellQuote(dir.path());
  MustRun(absl::StrCat(
      "cd ", d,
      " && openssl req -new -x509 -newkey ec -pkeyopt "
      "ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 "
      "-subj '/O=OpenSSL Org/CN=OpenSSL Test CA' -addext "
      "'subjectAltName=DNS:ca.example.com,IP:192.0.2.1,email:ca@example.com,"
      "URI:https://example.com/ca' -addext 'keyUsage=critical,keyCertSign,"
      "cRLSign'"));
  absl::StatusOr<Certificate> ca =
      Certificate::FromPem(ReadFile(dir.path() + "/ca.pem"));
  INFO(ca.status().ToString());
  REQUIRE(ca.ok());
  CHECK(ca->Subject() == "CN=OpenSSL Test CA,O=OpenSSL Org");
  CHECK(ca->Issuer() == ca->Subject());
  CHECK(ca->CommonName() == "OpenSSL Test CA");
  CHECK(ca->Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "ca.example.com"},
                                    {SanType::kIp, "192.0.2.1"},
                                    {SanType::kEmail, "ca@example.com"},
                                    {SanType::kUri, "https://example.com/ca"}});
  REQUIRE(ca->Basic().has_value());
  CHECK(ca->Basic()->is_ca);
  CHECK(ca->KeyUsage() ==
        std::optional<uint32_t>(kKeyUsageKeyCertSign | kKeyUsageCrlSign));
  std::string ski =
      MustRun(absl::StrCat("openssl x509 -noout -ext subjectKeyIdentifier "
                           "-in ",
                           d, "/ca.pem"))
          .output;
  CHECK(absl::StrContains(ski, internal::HexColons(ca->SubjectKeyId())));
  CHECK(ca->VerifySignature(ca->public_key()).ok());
  absl::Time at = ca->NotBefore() + absl::Minutes(1);
  std::vector<Certificate> roots = {*ca};
  CHECK(VerifyChain(*ca, {}, roots, at).ok());

  // Requests with Ed25519 and RSA keys.
  MustRun(absl::StrCat(
      "cd ", d,
      " && openssl req -new -newkey ed25519 -nodes -keyout ed.key -out "
      "ed.csr -subj '/CN=ossl-ed.example.com' -addext "
      "'subjectAltName=DNS:ossl-ed.example.com,IP:2001:db8::2'"
      " && openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -out "
      "rsa.csr -subj '/CN=ossl-rsa.example.com' -addext "
      "'subjectAltName=DNS:ossl-rsa.example.com,email:rsa@example.com'"));
  absl::StatusOr<CertificateRequest> ed =
      CertificateRequest::FromPem(ReadFile(dir.path() + "/ed.csr"));
  REQUIRE(ed.ok());
  CHECK(ed->CommonName() == "ossl-ed.example.com");
  CHECK(ed->Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "ossl-ed.example.com"},
                                    {SanType::kIp, "2001:db8::2"}});
  CHECK(ed->public_key().type() == KeyType::kEd25519);
  CHECK(ed->VerifySignature().ok());
  absl::StatusOr<CertificateRequest> rsa =
      CertificateRequest::FromPem(ReadFile(dir.path() + "/rsa.csr"));
  REQUIRE(rsa.ok());
  CHECK(rsa->Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "ossl-rsa.example.com"},
                                    {SanType::kEmail, "rsa@example.com"}});
  CHECK(rsa->public_key().type() == KeyType::kRsa);
  CHECK(rsa->VerifySignature().ok());

  // openssl signs the Ed25519 request with its CA; mayfly verifies the chain.
  MustRun(absl::StrCat(
      "cd ", d,
      " && printf 'extendedKeyUsage=serverAuth\\nkeyUsage=critical,"
      "digitalSignature\\nsubjectAltName=DNS:ossl-ed.example.com\\n' > ext"
      " && openssl x509 -req -in ed.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 1 -extfile ext -out ed.pem"));
  absl::StatusOr<Certificate> ed_cert =
      Certificate::FromPem(ReadFile(dir.path() + "/ed.pem"));
  REQUIRE(ed_cert.ok());
  CHECK(ed_cert->Issuer() == ca->Subject());
  CHECK(ed_cert->public_key().Equals(ed->public_key()));
  absl::Time leaf_at = ed_cert->NotBefore() + absl::Minutes(1);
  CHECK(VerifyChain(*ed_cert, {}, roots, leaf_at, {kOidServerAuth}).ok());
  CHECK_FALSE(VerifyChain(*ed_cert, {}, roots, leaf_at, {kOidClientAuth}).ok());

  // mayfly signs the RSA request with openssl's CA key; openssl verifies.
  absl::StatusOr<PrivateKey> ca_key =
      PrivateKey::FromPem(ReadFile(dir.path() + "/ca.key"));
  REQUIRE(ca_key.ok());
  CertificateTemplate t =
      testing::LeafTemplate("ossl-rsa.example.com", Clock::Real().Now());
  t.sans = rsa->Sans();
  t.key_usage = kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment;
  Certificate issued = testing::Issue(t, rsa->public_key(), *ca_key, &*ca);
  CHECK(issued.AuthorityKeyId() == ca->SubjectKeyId());
  std::string leaf_path = dir.Write("rsa.pem", issued.ToPem());
  CHECK(absl::StrContains(
      MustRun(absl::StrCat("openssl verify -x509_strict -purpose sslserver "
                           "-CAfile ",
                           d, "/ca.pem ", ShellQuote(leaf_path)))
          .output,
      ": OK"));
}

}  // namespace
}  // namespace mayfly

#include "mayfly/certificate.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "cert_test_util.h"
#include "internal/bssl.h"
#include "internal/x509.h"
#include "openssl/bytestring.h"
#include "openssl/mem.h"
#include "openssl/x509.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::MakePki;
using testing::StatusIs;
using testing::Testdata;
using testing::TestdataPath;

// A fixed time for certificates mayfly makes in these tests.
const absl::Time kNow = absl::FromUnixSeconds(1795567600);

Certificate StepCert(const std::string& path) {
  absl::StatusOr<std::vector<Certificate>> certs =
      Certificate::ParsePemBundle(Testdata(path));
  INFO(certs.status().ToString());
  REQUIRE(certs.ok());
  REQUIRE(!certs->empty());
  return certs->front();
}

std::string OpensslField(const std::string& path, const std::string& flag) {
  testing::CommandResult r =
      testing::Run(absl::StrCat("openssl x509 -noout ", flag, " -in ",
                                testing::ShellQuote(TestdataPath(path))));
  REQUIRE(r.exit_code == 0);
  std::string out(absl::StripAsciiWhitespace(r.output));
  size_t eq = out.find('=');
  REQUIRE(eq != std::string::npos);
  return out.substr(eq + 1);
}

std::string Unhex(const std::string& colons) {
  std::string out;
  for (char c : colons) {
    if (c != ':') {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

TEST_CASE("Certificate: parses step's root CA", "[certificate]") {
  Certificate root = StepCert("step/steppath/certs/root_ca.crt");
  CHECK(root.Subject() == "CN=Fixture Root CA,O=Fixture");
  CHECK(root.Issuer() == "CN=Fixture Root CA,O=Fixture");
  CHECK(root.CommonName() == "Fixture Root CA");
  CHECK(root.RawSubject() == root.RawIssuer());
  REQUIRE(root.Basic().has_value());
  CHECK(root.Basic()->is_ca);
  CHECK(root.Basic()->path_len == std::optional<int>(1));
  CHECK(root.KeyUsage() ==
        std::optional<uint32_t>(kKeyUsageKeyCertSign | kKeyUsageCrlSign));
  CHECK(root.ExtKeyUsage().empty());
  CHECK(root.Sans().empty());
  CHECK(internal::Hex(root.SubjectKeyId()) ==
        "81602b58fec666eba83a47f29954b5f5a7eba094");
  CHECK(root.AuthorityKeyId().empty());
  CHECK(root.SignatureAlgorithm() == "ecdsa-with-SHA256");
  CHECK(root.public_key().type() == KeyType::kP256);
  CHECK(root.NotBefore() == absl::FromUnixSeconds(1795567530));
  CHECK(root.NotAfter() == absl::FromUnixSeconds(2110927530));
  CHECK(root.SerialDecimal() == "330740319852325429874032021028521999371");
  CHECK(root.VerifySignature(root.public_key()).ok());

  // The same facts as openssl reads them.
  std::string path = "step/steppath/certs/root_ca.crt";
  CHECK(internal::Hex(root.Serial()) == Unhex(OpensslField(path, "-serial")));
  CHECK(root.FingerprintHex() ==
        Unhex(OpensslField(path, "-fingerprint -sha256")));
  // defaults.json pins this fingerprint (STEP-PROTOCOL.md section 7).
  CHECK(root.FingerprintHex() ==
        "4dceb20eabc1dddac854f49742aab02177fa16aee767a9699bf652a2c53d2f2d");

  std::vector<Extension> exts = root.Extensions();
  REQUIRE(exts.size() == 3);
  CHECK(exts[0].oid == "2.5.29.15");
  CHECK(exts[0].critical);
  CHECK(exts[1].oid == "2.5.29.19");
  CHECK(exts[1].critical);
  CHECK(exts[2].oid == "2.5.29.14");
  CHECK_FALSE(exts[2].critical);
  CHECK_FALSE(root.FindExtension(kOidStepProvisioner).has_value());

  // A round trip through PEM gives the same DER.
  absl::StatusOr<Certificate> again = Certificate::FromPem(root.ToPem());
  REQUIRE(again.ok());
  CHECK(again->Equals(root));
}

TEST_CASE("Certificate: parses step's intermediate and leaf", "[certificate]") {
  Certificate root = StepCert("step/steppath/certs/root_ca.crt");
  Certificate inter = StepCert("step/steppath/certs/intermediate_ca.crt");
  CHECK(inter.Subject() == "CN=Fixture Intermediate CA,O=Fixture");
  CHECK(inter.Issuer() == root.Subject());
  REQUIRE(inter.Basic().has_value());
  CHECK(inter.Basic()->is_ca);
  CHECK(inter.Basic()->path_len == std::optional<int>(0));
  CHECK(inter.AuthorityKeyId() == root.SubjectKeyId());
  CHECK(inter.SerialDecimal() == "64091816480178699346146867371129660626");
  CHECK(inter.VerifySignature(root.public_key()).ok());
  CHECK(StatusIs(inter.VerifySignature(inter.public_key()),
                 absl::StatusCode::kUnauthenticated));

  absl::StatusOr<std::vector<Certificate>> bundle =
      Certificate::ParsePemBundle(Testdata("step/leaf.crt"));
  REQUIRE(bundle.ok());
  REQUIRE(bundle->size() == 2);
  CHECK((*bundle)[1].Equals(inter));
  const Certificate& leaf = (*bundle)[0];
  CHECK(leaf.Subject() == "CN=svc.example.com");
  CHECK(leaf.CommonName() == "svc.example.com");
  CHECK(leaf.Issuer() == "CN=Fixture Intermediate CA,O=Fixture");
  CHECK(leaf.Sans() ==
        std::vector<SubjectAltName>{{SanType::kDns, "svc.example.com"},
                                    {SanType::kIp, "10.0.0.7"}});
  CHECK(leaf.ExtKeyUsage() ==
        std::vector<std::string>{kOidServerAuth, kOidClientAuth});
  CHECK(leaf.KeyUsage() == std::optional<uint32_t>(kKeyUsageDigitalSignature));
  CHECK_FALSE(leaf.Basic().has_value());
  CHECK(leaf.AuthorityKeyId() == inter.SubjectKeyId());
  CHECK(internal::Hex(leaf.SubjectKeyId()) ==
        "4c84c1b513d56d1b83cf6c716201834b003fde68");
  CHECK(leaf.NotBefore() == absl::FromUnixSeconds(1795567479));
  CHECK(leaf.NotAfter() == absl::FromUnixSeconds(1795571139));
  CHECK(leaf.SerialDecimal() == "89483317536564257818843452713520209493");
  CHECK(internal::Hex(leaf.Serial()) ==
        Unhex(OpensslField("step/leaf.crt", "-serial")));
  CHECK(leaf.FingerprintHex() ==
        Unhex(OpensslField("step/leaf.crt", "-fingerprint -sha256")));
  CHECK(leaf.VerifySignature(inter.public_key()).ok());

  // step's provisioner extension (STEP-PROTOCOL.md section 6.2).
  std::optional<Extension> prov = leaf.FindExtension(kOidStepProvisioner);
  REQUIRE(prov.has_value());
  CHECK_FALSE(prov->critical);
  absl::StatusOr<internal::StepProvisioner> p =
      internal::ParseStepProvisioner(prov->value);
  REQUIRE(p.ok());
  CHECK(p->type == 1);
  CHECK(p->name == "admin@example.com");
  CHECK(p->credential_id == "c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE");
  CHECK(p->key_value_pairs.empty());

  // The leaf's SKI is SHA-1 of its public key bits, the method mayfly uses.
  absl::StatusOr<std::vector<uint8_t>> bits =
      internal::SubjectPublicKeyBits(leaf.public_key().ToSpkiDer());
  REQUIRE(bits.ok());
  CHECK(internal::Sha1(*bits) == leaf.SubjectKeyId());

  // renewed.crt: same key and subject, a new serial, revoke-token.jwt's sub.
  Certificate renewed = StepCert("step/renewed.crt");
  CHECK(renewed.public_key().Equals(leaf.public_key()));
  CHECK(renewed.Subject() == leaf.Subject());
  CHECK(renewed.Sans() == leaf.Sans());
  CHECK(renewed.SubjectKeyId() == leaf.SubjectKeyId());
  CHECK(renewed.SerialDecimal() == "143804903222160052020812728477623572056");
  CHECK(renewed.FindExtension(kOidStepProvisioner).has_value());
}

TEST_CASE("Certificate: verifies step's chain at a time inside validity",
          "[certificate]") {
  Certificate root = StepCert("step/steppath/certs/root_ca.crt");
  Certificate inter = StepCert("step/steppath/certs/intermediate_ca.crt");
  Certificate leaf = StepCert("step/leaf.crt");
  std::vector<Certificate> inters = {inter};
  std::vector<Certificate> roots = {root};
  // The leaf is backdated a minute before the intermediate existed.
  absl::Time at = leaf.NotBefore() + absl::Minutes(1);

  CHECK(VerifyChain(leaf, inters, roots, at).ok());
  CHECK(VerifyChain(leaf, inters, roots, at, {kOidServerAuth}).ok());
  CHECK(VerifyChain(leaf, inters, roots, at, {kOidClientAuth}).ok());
  CHECK(VerifyChain(inter, {}, roots, at).ok());

  SECTION("outside validity") {
    CHECK(StatusIs(
        VerifyChain(leaf, inters, roots, leaf.NotAfter() + absl::Seconds(1)),
        absl::StatusCode::kUnauthenticated, "expired"));
    CHECK(StatusIs(
        VerifyChain(leaf, inters, roots, leaf.NotBefore() - absl::Seconds(1)),
        absl::StatusCode::kUnauthenticated, "not yet valid"));
  }
  SECTION("wrong root") {
    testing::TestPki other = MakePki(at);
    std::vector<Certificate> wrong = {other.root};
    CHECK(StatusIs(VerifyChain(leaf, inters, wrong, at),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("no roots, or the intermediate missing") {
    CHECK(StatusIs(VerifyChain(leaf, inters, {}, at),
                   absl::StatusCode::kUnauthenticated));
    CHECK(StatusIs(VerifyChain(leaf, {}, roots, at),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("the intermediate is not trusted as a root") {
    CHECK(StatusIs(VerifyChain(leaf, {}, inters, at),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("a purpose the leaf lacks") {
    CHECK(StatusIs(VerifyChain(leaf, inters, roots, at, {"1.3.6.1.5.5.7.3.3"}),
                   absl::StatusCode::kUnauthenticated, "1.3.6.1.5.5.7.3.3"));
    CHECK(StatusIs(VerifyChain(leaf, inters, roots, at, {"not-an-oid"}),
                   absl::StatusCode::kInvalidArgument));
  }
}

TEST_CASE("Certificate: parsing is strict", "[certificate]") {
  Certificate root = StepCert("step/steppath/certs/root_ca.crt");
  std::vector<uint8_t> der = root.der();

  SECTION("garbage") {
    std::vector<uint8_t> garbage = {0x01, 0x02, 0x03, 0x04};
    CHECK(StatusIs(Certificate::FromDer(garbage).status(),
                   absl::StatusCode::kInvalidArgument));
    CHECK(StatusIs(Certificate::FromDer({}).status(),
                   absl::StatusCode::kInvalidArgument));
    std::vector<uint8_t> seq = {0x30, 0x03, 0x02, 0x01, 0x01};
    CHECK(StatusIs(Certificate::FromDer(seq).status(),
                   absl::StatusCode::kInvalidArgument));
  }
  SECTION("trailing bytes") {
    der.push_back(0);
    CHECK(StatusIs(Certificate::FromDer(der).status(),
                   absl::StatusCode::kInvalidArgument, "trailing"));
  }
  SECTION("truncated") {
    for (size_t n : {der.size() - 1, der.size() / 2, size_t{10}}) {
      std::vector<uint8_t> cut(der.begin(), der.begin() + n);
      CHECK(StatusIs(Certificate::FromDer(cut).status(),
                     absl::StatusCode::kInvalidArgument));
    }
  }
  SECTION("two certificates in FromPem") {
    CHECK(StatusIs(Certificate::FromPem(Testdata("step/leaf.crt")).status(),
                   absl::StatusCode::kInvalidArgument, "want exactly 1"));
  }
  SECTION("wrong PEM type") {
    CHECK(StatusIs(Certificate::FromPem(Testdata("step/csr.pem")).status(),
                   absl::StatusCode::kInvalidArgument));
    CHECK(StatusIs(
        Certificate::ParsePemBundle(Testdata("step/leaf.key")).status(),
        absl::StatusCode::kInvalidArgument));
    CHECK(StatusIs(Certificate::FromPem("no pem here").status(),
                   absl::StatusCode::kInvalidArgument));
  }
  SECTION("a corrupt block in a bundle") {
    std::string pem =
        root.ToPem() + internal::EncodePem("CERTIFICATE", {0x30, 0x00});
    CHECK(StatusIs(Certificate::ParsePemBundle(pem).status(),
                   absl::StatusCode::kInvalidArgument, "PEM certificate 2"));
  }
  SECTION("text around the block is ignored") {
    absl::StatusOr<Certificate> cert =
        Certificate::FromPem("subject=...\n" + root.ToPem() + "trailer\n");
    REQUIRE(cert.ok());
    CHECK(cert->Equals(root));
  }
}

TEST_CASE("Certificate: IssueCertificate builds a verifiable chain",
          "[certificate]") {
  for (KeyType type : {KeyType::kP256, KeyType::kP384, KeyType::kEd25519}) {
    INFO("key type " << KeyTypeName(type));
    testing::TestPki pki = MakePki(kNow, type, type, type);
    const char* alg = type == KeyType::kP256   ? "ecdsa-with-SHA256"
                      : type == KeyType::kP384 ? "ecdsa-with-SHA384"
                                               : "ED25519";
    CHECK(pki.root.SignatureAlgorithm() == alg);
    CHECK(pki.inter.SignatureAlgorithm() == alg);
    CHECK(pki.leaf.SignatureAlgorithm() == alg);

    CHECK(pki.root.Subject() == "CN=Mayfly Test Root CA,O=Mayfly Test");
    CHECK(pki.root.Issuer() == pki.root.Subject());
    CHECK(pki.inter.Issuer() == pki.root.Subject());
    CHECK(pki.leaf.Issuer() == pki.inter.Subject());
    CHECK(pki.leaf.Subject() == "CN=svc.example.com");
    CHECK(X509_get_version(pki.leaf.native()) == 2);

    // SKI = SHA-1 of the key bits; AKI = the issuer's SKI; none on a root.
    for (const Certificate* c : {&pki.root, &pki.inter, &pki.leaf}) {
      absl::StatusOr<std::vector<uint8_t>> bits =
          internal::SubjectPublicKeyBits(c->public_key().ToSpkiDer());
      REQUIRE(bits.ok());
      CHECK(c->SubjectKeyId() == internal::Sha1(*bits));
    }
    CHECK(pki.root.AuthorityKeyId().empty());
    CHECK(pki.inter.AuthorityKeyId() == pki.root.SubjectKeyId());
    CHECK(pki.leaf.AuthorityKeyId() == pki.inter.SubjectKeyId());

    CHECK(pki.root.Basic()->path_len == std::optional<int>(1));
    CHECK(pki.inter.Basic()->path_len == std::optional<int>(0));
    CHECK_FALSE(pki.leaf.Basic().has_value());
    CHECK(pki.leaf.KeyUsage() ==
          std::optional<uint32_t>(kKeyUsageDigitalSignature));
    CHECK(pki.leaf.ExtKeyUsage() ==
          std::vector<std::string>{kOidServerAuth, kOidClientAuth});
    CHECK(pki.leaf.Sans() == std::vector<SubjectAltName>{
                                 {SanType::kDns, "svc.example.com"},
                                 {SanType::kIp, "10.0.0.7"},
                                 {SanType::kIp, "2001:db8::1"},
                                 {SanType::kEmail, "ops@example.com"},
                                 {SanType::kUri, "spiffe://example.org/svc"}});
    CHECK(pki.leaf.public_key().Equals(pki.leaf_key.public_key()));
    CHECK(pki.leaf.NotBefore() == kNow - absl::Minutes(1));
    CHECK(pki.leaf.NotAfter() == kNow + absl::Hours(24));

    // Extension order and criticality as Go writes them.
    std::vector<std::string> oids;
    std::vector<bool> critical;
    for (const Extension& e : pki.inter.Extensions()) {
      oids.push_back(e.oid);
      critical.push_back(e.critical);
    }
    CHECK(oids == std::vector<std::string>{"2.5.29.15", "2.5.29.19",
                                           "2.5.29.14", "2.5.29.35"});
    CHECK(critical == std::vector<bool>{true, true, false, false});

    CHECK(pki.inter.VerifySignature(pki.root_key.public_key()).ok());
    CHECK(pki.leaf.VerifySignature(pki.inter_key.public_key()).ok());
    std::vector<Certificate> inters = {pki.inter};
    std::vector<Certificate> roots = {pki.root};
    CHECK(VerifyChain(pki.leaf, inters, roots, kNow, {kOidServerAuth}).ok());
    CHECK(VerifyChain(pki.leaf, inters, roots, kNow, {kOidClientAuth}).ok());
  }
}

TEST_CASE("Certificate: serial numbers keep their value", "[certificate]") {
  PrivateKey key = testing::NewKey();
  CertificateTemplate t = testing::CaTemplate("Serial Test", 0, kNow);
  SECTION("top bit set") {
    t.serial = {0x80, 0x01};
    Certificate c = testing::Issue(t, key.public_key(), key, nullptr);
    CHECK(c.Serial() == std::vector<uint8_t>{0x80, 0x01});
    CHECK(c.SerialDecimal() == "32769");
  }
  SECTION("leading zeros dropped") {
    t.serial = {0x00, 0x00, 0x2a};
    Certificate c = testing::Issue(t, key.public_key(), key, nullptr);
    CHECK(c.Serial() == std::vector<uint8_t>{0x2a});
    CHECK(c.SerialDecimal() == "42");
  }
  SECTION("twenty bytes") {
    t.serial = std::vector<uint8_t>(20, 0xff);
    Certificate c = testing::Issue(t, key.public_key(), key, nullptr);
    CHECK(c.Serial() == t.serial);
  }
}

TEST_CASE("Certificate: IssueCertificate refuses bad templates",
          "[certificate]") {
  PrivateKey key = testing::NewKey();
  PrivateKey other = testing::NewKey();
  CertificateTemplate t = testing::CaTemplate("Bad Template", 0, kNow);
  auto issue = [&](const CertificateTemplate& tmpl) {
    return IssueCertificate(tmpl, key.public_key(), key, nullptr).status();
  };
  const auto kInvalid = absl::StatusCode::kInvalidArgument;

  SECTION("serial") {
    t.serial.clear();
    CHECK(StatusIs(issue(t), kInvalid, "serial is empty"));
    t.serial = std::vector<uint8_t>(21, 0x01);
    CHECK(StatusIs(issue(t), kInvalid, "serial is 21 bytes; max 20"));
    t.serial = {0x00, 0x00};
    CHECK(StatusIs(issue(t), kInvalid, "serial is zero"));
  }
  SECTION("validity") {
    t.not_after = t.not_before - absl::Seconds(1);
    CHECK(StatusIs(issue(t), kInvalid, "not_after is before not_before"));
    t.not_after = absl::InfiniteFuture();
    CHECK(StatusIs(issue(t), kInvalid, "not_after year"));
  }
  SECTION("keys") {
    CHECK(
        StatusIs(IssueCertificate(t, other.public_key(), key, nullptr).status(),
                 kInvalid, "self-signed"));
    Certificate root = testing::Issue(t, key.public_key(), key, nullptr);
    CHECK(
        StatusIs(IssueCertificate(t, other.public_key(), other, &root).status(),
                 kInvalid, "issuer_key does not match"));
  }
  SECTION("names") {
    t.common_name = std::string(65, 'a');
    CHECK(StatusIs(issue(t), kInvalid, "common_name is 65 characters; max 64"));
    t.common_name = "ok";
    t.raw_subject = {0x30, 0x03, 0x01};
    CHECK(StatusIs(issue(t), kInvalid, "raw_subject"));
  }
  SECTION("SANs") {
    t.sans = {{SanType::kIp, "10.0.0.300"}};
    CHECK(StatusIs(issue(t), kInvalid, "not an IP address"));
    t.sans = {{SanType::kDns, "b\xc3\xa4r.example"}};
    CHECK(StatusIs(issue(t), kInvalid, "printable ASCII"));
    t.sans = {{SanType::kDns, ""}};
    CHECK(StatusIs(issue(t), kInvalid, "san is empty"));
  }
  SECTION("usages and constraints") {
    t.key_usage = 1u << 9;
    CHECK(StatusIs(issue(t), kInvalid, "key_usage"));
    t.key_usage = kKeyUsageKeyCertSign;
    t.ext_key_usage = {"server"};
    CHECK(StatusIs(issue(t), kInvalid, "ext_key_usage"));
    t.ext_key_usage.clear();
    t.basic = BasicConstraints{false, 0};
    CHECK(StatusIs(issue(t), kInvalid, "path_len"));
  }
  SECTION("extra extensions") {
    t.extra_extensions = {{"2.5.29.15", false, {0x03, 0x02, 0x07, 0x80}}};
    CHECK(StatusIs(issue(t), kInvalid, "also set by the template"));
    t.extra_extensions = {{"2.5.29.14", false, {0x04, 0x01, 0x00}}};
    CHECK(StatusIs(issue(t), kInvalid, "always set by IssueCertificate"));
    t.extra_extensions = {{"1.2.3.4", false, {0x05, 0x00}},
                          {"1.2.3.4", false, {0x05, 0x00}}};
    CHECK(StatusIs(issue(t), kInvalid, "given twice"));
    t.extra_extensions = {{"bogus", false, {0x05, 0x00}}};
    CHECK(StatusIs(issue(t), kInvalid, "not an OID"));
  }
}

TEST_CASE("Certificate: raw subjects and extra extensions are kept",
          "[certificate]") {
  Certificate step_leaf = StepCert("step/leaf.crt");
  PrivateKey key = testing::NewKey();
  CertificateTemplate root_t = testing::CaTemplate("Extra Root", 1, kNow);
  Certificate root = testing::Issue(root_t, key.public_key(), key, nullptr);

  // A renewal-style template: step's raw subject and provisioner extension.
  CertificateTemplate t = testing::LeafTemplate("ignored", kNow);
  t.raw_subject = step_leaf.RawSubject();
  t.sans = step_leaf.Sans();
  std::optional<Extension> prov = step_leaf.FindExtension(kOidStepProvisioner);
  REQUIRE(prov.has_value());
  t.extra_extensions = {*prov, {"1.2.3.4.5", true, {0x05, 0x00}}};
  Certificate c = testing::Issue(t, step_leaf.public_key(), key, &root);
  CHECK(c.RawSubject() == step_leaf.RawSubject());
  CHECK(c.Subject() == "CN=svc.example.com");
  CHECK(c.Sans() == step_leaf.Sans());
  std::optional<Extension> copied = c.FindExtension(kOidStepProvisioner);
  REQUIRE(copied.has_value());
  CHECK(copied->value == prov->value);
  CHECK_FALSE(copied->critical);
  std::optional<Extension> custom = c.FindExtension("1.2.3.4.5");
  REQUIRE(custom.has_value());
  CHECK(custom->critical);
  CHECK(c.SubjectKeyId() == step_leaf.SubjectKeyId());
  CHECK(c.Extensions().back().oid == "1.2.3.4.5");
}

TEST_CASE("Certificate: subjects are escaped per RFC 4514", "[certificate]") {
  PrivateKey key = testing::NewKey();
  CertificateTemplate t = testing::CaTemplate(" a,b+c\"d\\e<f>g;h ", 0, kNow);
  t.organization = "#Org";
  Certificate c = testing::Issue(t, key.public_key(), key, nullptr);
  CHECK(c.Subject() == "CN=\\ a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\ ,O=\\#Org");
  CHECK(c.CommonName() == " a,b+c\"d\\e<f>g;h ");

  t.common_name = "Zürich & Co*";  // not PrintableString: UTF8String
  t.organization.clear();
  Certificate u = testing::Issue(t, key.public_key(), key, nullptr);
  CHECK(u.Subject() == "CN=Zürich & Co*");

  t.common_name.clear();
  t.sans = {{SanType::kDns, "only-san.example"}};
  Certificate empty = testing::Issue(t, key.public_key(), key, nullptr);
  CHECK(empty.Subject().empty());
  CHECK(empty.CommonName().empty());
  std::optional<Extension> san = empty.FindExtension("2.5.29.17");
  REQUIRE(san.has_value());
  CHECK(san->critical);  // RFC 5280 section 4.2.1.6
}

TEST_CASE("Certificate: VerifyChain checks CA constraints", "[certificate]") {
  testing::TestPki pki = MakePki(kNow);
  std::vector<Certificate> roots = {pki.root};

  SECTION("a leaf presented as an intermediate") {
    PrivateKey key = testing::NewKey();
    CertificateTemplate t = testing::LeafTemplate("under-leaf.example", kNow);
    Certificate sub =
        testing::Issue(t, key.public_key(), pki.leaf_key, &pki.leaf);
    std::vector<Certificate> inters = {pki.leaf, pki.inter};
    CHECK(StatusIs(VerifyChain(sub, inters, roots, kNow),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("a non-CA intermediate") {
    PrivateKey inter_key = testing::NewKey();
    CertificateTemplate it = testing::CaTemplate("Not A CA", 0, kNow);
    it.basic = BasicConstraints{false, std::nullopt};
    Certificate inter =
        testing::Issue(it, inter_key.public_key(), pki.root_key, &pki.root);
    PrivateKey key = testing::NewKey();
    Certificate leaf = testing::Issue(testing::LeafTemplate("x.example", kNow),
                                      key.public_key(), inter_key, &inter);
    std::vector<Certificate> inters = {inter};
    CHECK(StatusIs(VerifyChain(leaf, inters, roots, kNow),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("a path length exceeded") {
    // The intermediate has pathlen 0: no CA may sit below it.
    PrivateKey sub_key = testing::NewKey();
    CertificateTemplate st = testing::CaTemplate("Too Deep CA", 0, kNow);
    Certificate sub_ca =
        testing::Issue(st, sub_key.public_key(), pki.inter_key, &pki.inter);
    PrivateKey key = testing::NewKey();
    Certificate leaf =
        testing::Issue(testing::LeafTemplate("deep.example", kNow),
                       key.public_key(), sub_key, &sub_ca);
    std::vector<Certificate> inters = {sub_ca, pki.inter};
    CHECK(StatusIs(VerifyChain(leaf, inters, roots, kNow),
                   absl::StatusCode::kUnauthenticated, "path length"));
  }
  SECTION("a leaf for clients only, checked for servers") {
    CertificateTemplate t = testing::LeafTemplate("client.example", kNow);
    t.ext_key_usage = {kOidClientAuth};
    PrivateKey key = testing::NewKey();
    Certificate leaf =
        testing::Issue(t, key.public_key(), pki.inter_key, &pki.inter);
    std::vector<Certificate> inters = {pki.inter};
    CHECK(VerifyChain(leaf, inters, roots, kNow, {kOidClientAuth}).ok());
    CHECK(StatusIs(VerifyChain(leaf, inters, roots, kNow, {kOidServerAuth}),
                   absl::StatusCode::kUnauthenticated));
  }
  SECTION("a forged signature") {
    std::vector<uint8_t> der = pki.leaf.der();
    der[der.size() - 3] ^= 0x01;
    absl::StatusOr<Certificate> forged = Certificate::FromDer(der);
    if (forged.ok()) {  // the flipped byte may break the DER signature
      std::vector<Certificate> inters = {pki.inter};
      CHECK(StatusIs(VerifyChain(*forged, inters, roots, kNow),
                     absl::StatusCode::kUnauthenticated));
      CHECK(StatusIs(forged->VerifySignature(pki.inter_key.public_key()),
                     absl::StatusCode::kUnauthenticated));
    }
  }
}

TEST_CASE("Certificate: ClassifySan follows step-ca", "[certificate]") {
  CHECK(ClassifySan("10.0.0.7") == SubjectAltName{SanType::kIp, "10.0.0.7"});
  CHECK(ClassifySan("2001:DB8:0:0::1") ==
        SubjectAltName{SanType::kIp, "2001:db8::1"});
  CHECK(ClassifySan("::ffff:192.0.2.1") ==
        SubjectAltName{SanType::kIp, "192.0.2.1"});
  CHECK(ClassifySan("spiffe://example.org/a") ==
        SubjectAltName{SanType::kUri, "spiffe://example.org/a"});
  CHECK(ClassifySan("mailto:a@example.com").type == SanType::kUri);
  CHECK(ClassifySan("ops@example.com") ==
        SubjectAltName{SanType::kEmail, "ops@example.com"});
  CHECK(ClassifySan("svc.example.com") ==
        SubjectAltName{SanType::kDns, "svc.example.com"});
  CHECK(ClassifySan("*.example.com").type == SanType::kDns);
  CHECK(ClassifySan("010.0.0.1").type == SanType::kDns);  // not an IP in Go
  // Go's url.Parse reads "fe80" as a scheme; net.ParseIP refuses zones.
  CHECK(ClassifySan("fe80::1%eth0").type == SanType::kUri);
  CHECK(ClassifySan("svc.example.com:8443").type == SanType::kUri);
  CHECK(ClassifySan("a b:c@example.com").type == SanType::kEmail);
  CHECK(ClassifySan(":8080").type == SanType::kDns);
  CHECK(ClassifySan("1http:x").type == SanType::kDns);
}

TEST_CASE("Certificate: Inspect shows the key fields", "[certificate]") {
  Certificate leaf = StepCert("step/leaf.crt");
  std::string text = Inspect(leaf);
  INFO(text);
  CHECK(
      absl::StrContains(text,
                        "Serial Number: 89483317536564257818843452713520209493 "
                        "(0x4351dc2dfc344e62ec3f70033e5e1e55)"));
  CHECK(absl::StrContains(text, "Subject: CN=svc.example.com"));
  CHECK(
      absl::StrContains(text, "Issuer: CN=Fixture Intermediate CA,O=Fixture"));
  CHECK(absl::StrContains(text, "Not Before: Nov 25 00:44:39 2026 UTC"));
  CHECK(absl::StrContains(text, "DNS:svc.example.com"));
  CHECK(absl::StrContains(text, "IP Address:10.0.0.7"));
  CHECK(absl::StrContains(text, "X509v3 Key Usage: critical"));
  CHECK(
      absl::StrContains(text, "Server Authentication, Client Authentication"));
  CHECK(absl::StrContains(text, "Curve: P-256"));
  CHECK(absl::StrContains(text, "Type: JWK"));
  CHECK(absl::StrContains(text, "Name: admin@example.com"));
  CHECK(absl::StrContains(
      text, "CredentialID: c1seFaquhVYlhEV-qd8PS8O_OnMrjxWf9PCzVpb_PpE"));
  CHECK(absl::StrContains(text, "keyid:B5:A9:E0:15"));
  CHECK(absl::StrContains(text, leaf.FingerprintHex()));

  Certificate root = StepCert("step/steppath/certs/root_ca.crt");
  std::string root_text = Inspect(root);
  CHECK(absl::StrContains(root_text, "CA:TRUE, pathlen:1"));
  CHECK(absl::StrContains(root_text, "Certificate Sign, CRL Sign"));

  // Unknown extensions appear by OID with their criticality.
  PrivateKey key = testing::NewKey(KeyType::kEd25519);
  CertificateTemplate t = testing::CaTemplate("Inspect", 0, kNow);
  t.extra_extensions = {{"1.2.3.4.5", true, {0x05, 0x00}}};
  std::string custom =
      Inspect(testing::Issue(t, key.public_key(), key, nullptr));
  CHECK(absl::StrContains(custom, "1.2.3.4.5: critical"));
  CHECK(absl::StrContains(custom, "Public Key Algorithm: Ed25519"));
}

}  // namespace
}  // namespace mayfly

namespace mayfly {
namespace {

TEST_CASE("Certificate: CertificateSpki finds the encoded public key",
          "[certificate]") {
  absl::StatusOr<std::vector<Certificate>> chain =
      Certificate::ParsePemBundle(Testdata("step/leaf.crt"));
  REQUIRE(chain.ok());
  REQUIRE(chain->size() == 2);  // the leaf and the intermediate
  for (const Certificate& cert : *chain) {
    absl::StatusOr<absl::Span<const uint8_t>> spki =
        internal::CertificateSpki(cert.der());
    REQUIRE(spki.ok());
    std::vector<uint8_t> got(spki->begin(), spki->end());
    CHECK(got == cert.public_key().ToSpkiDer());
  }
  const std::vector<uint8_t>& der = chain->front().der();
  for (size_t cut : {size_t{0}, size_t{10}, der.size() / 2}) {
    CHECK(
        StatusIs(internal::CertificateSpki(absl::MakeConstSpan(der.data(), cut))
                     .status(),
                 absl::StatusCode::kInvalidArgument, "malformed"));
  }
}

TEST_CASE("Certificate: OidToText writes what BoringSSL writes",
          "[certificate]") {
  // BoringSSL's text, or "" where it refuses the encoding.
  auto boring = [](const std::vector<uint8_t>& der) {
    CBS cbs;
    CBS_init(&cbs, der.data(), der.size());
    char* text = CBS_asn1_oid_to_text(&cbs);
    std::string out = text == nullptr ? "" : text;
    OPENSSL_free(text);
    return out;
  };
  auto ours = [](const std::vector<uint8_t>& der) {
    CBS cbs;
    CBS_init(&cbs, der.data(), der.size());
    return internal::OidToText(cbs);
  };
  const std::vector<std::vector<uint8_t>> cases = {
      {},                                                // empty
      {0x55, 0x1d, 0x0f},                                // 2.5.29.15
      {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01},  // 1.3.6.1.5.5.7.3.1
      {0x00},                                            // 0.0
      {0x27},                                            // 0.39
      {0x28},                                            // 1.0
      {0x4f},                                            // 1.39
      {0x50},                                            // 2.0
      {0x88, 0x37, 0x03},                                // 2.999.3
      {0x80, 0x01},                                      // leading 0x80
      {0x55, 0x80, 0x01},                                // leading 0x80 later
      {0x55, 0x81},                                      // truncated
      {0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f},  // 2^63+
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  // too big
      {0x8f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  // under 2^64
  };
  for (const std::vector<uint8_t>& der : cases) {
    INFO(internal::Hex(der));
    CHECK(ours(der) == boring(der));
  }
  // And random encodings of up to 12 bytes, biased towards the edges.
  uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return static_cast<uint8_t>(seed >> 16);
  };
  for (int i = 0; i < 20000; i++) {
    std::vector<uint8_t> der(next() % 13);
    for (uint8_t& b : der) {
      uint8_t r = next();
      b = r < 64 ? 0x80 : r < 128 ? 0xff : r < 160 ? 0x7f : next();
    }
    INFO(internal::Hex(der));
    REQUIRE(ours(der) == boring(der));
  }
}

}  // namespace
}  // namespace mayfly

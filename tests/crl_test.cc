// GetCrl: the CRL step-ca publishes (STEP-PROTOCOL.md section 3.8), checked
// with BoringSSL's parser, `openssl crl`, and against step's own crl.der.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ca_fixture.h"
#include "catch2/catch.hpp"
#include "internal/bssl.h"
#include "mayfly/authority.h"
#include "openssl/asn1.h"
#include "openssl/bn.h"
#include "openssl/mem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "test_util.h"

namespace mayfly {
namespace {

using testing::Issued;
using testing::TestCa;
using testing::Unwrap;

bssl::UniquePtr<X509_CRL> ParseCrl(const std::vector<uint8_t>& der) {
  const uint8_t* p = der.data();
  bssl::UniquePtr<X509_CRL> crl(
      d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  REQUIRE(crl != nullptr);
  REQUIRE(p == der.data() + der.size());
  return crl;
}

std::string DecimalOf(const ASN1_INTEGER* serial) {
  bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  REQUIRE(bn != nullptr);
  char* text = BN_bn2dec(bn.get());
  std::string out(text);
  OPENSSL_free(text);
  return out;
}

// Entries maps each revoked serial (decimal) to its reason code (-1 when
// the entry has none).
std::map<std::string, int> Entries(X509_CRL* crl) {
  std::map<std::string, int> out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (size_t i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
    X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    int crit = 0;
    bssl::UniquePtr<ASN1_ENUMERATED> reason(static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, nullptr)));
    out[DecimalOf(X509_REVOKED_get0_serialNumber(r))] =
        reason == nullptr ? -1
                          : static_cast<int>(ASN1_ENUMERATED_get(reason.get()));
  }
  return out;
}

// ExtensionShape lists each CRL extension's NID and criticality.
std::vector<std::pair<int, bool>> ExtensionShape(X509_CRL* crl) {
  std::vector<std::pair<int, bool>> out;
  for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    out.emplace_back(OBJ_obj2nid(X509_EXTENSION_get_object(ext)),
                     X509_EXTENSION_get_critical(ext) != 0);
  }
  return out;
}

int64_t CrlNumber(X509_CRL* crl) {
  bssl::UniquePtr<ASN1_INTEGER> n(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
  REQUIRE(n != nullptr);
  return ASN1_INTEGER_get(n.get());
}

std::string IdpUri(X509_CRL* crl) {
  int crit = 0;
  std::unique_ptr<ISSUING_DIST_POINT, decltype(&ISSUING_DIST_POINT_free)> idp(
      static_cast<ISSUING_DIST_POINT*>(X509_CRL_get_ext_d2i(
          crl, NID_issuing_distribution_point, &crit, nullptr)),
      ISSUING_DIST_POINT_free);
  REQUIRE(idp != nullptr);
  CHECK(crit == 1);
  REQUIRE(idp->distpoint != nullptr);
  REQUIRE(idp->distpoint->type == 0);
  GENERAL_NAMES* names = idp->distpoint->name.fullname;
  REQUIRE(sk_GENERAL_NAME_num(names) == 1);
  GENERAL_NAME* name = sk_GENERAL_NAME_value(names, 0);
  REQUIRE(name->type == GEN_URI);
  const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     ASN1_STRING_length(uri));
}

TEST_CASE("Crl: lists the unexpired revoked serials, signed", "[crl]") {
  TestCa t;
  Issued a = t.Issue("a.example.com");
  Issued b = t.Issue("b.example.com");
  Issued c = t.Issue("c.example.com");
  REQUIRE(t.Revoke(a.serial(), 1).ok());
  REQUIRE(t.Revoke(b.serial(), 0).ok());

  Crl crl = Unwrap(t.ca->GetCrl());
  bssl::UniquePtr<X509_CRL> parsed = ParseCrl(crl.der);
  CHECK(X509_CRL_get_version(parsed.get()) == X509_CRL_VERSION_2);
  CHECK(X509_CRL_verify(parsed.get(),
                        t.certs.intermediate.public_key().native()) == 1);
  CHECK(X509_NAME_cmp(X509_CRL_get_issuer(parsed.get()),
                      X509_get_subject_name(t.certs.intermediate.native())) ==
        0);
  CHECK(Entries(parsed.get()) ==
        std::map<std::string, int>{{a.serial(), 1}, {b.serial(), -1}});
  CHECK(CrlNumber(parsed.get()) == crl.number);
  CHECK(crl.this_update == t.clock.Now());
  CHECK(crl.next_update == crl.this_update + absl::Hours(24));
  CHECK(IdpUri(parsed.get()) == "https://localhost/1.0/crl");
  CHECK(ExtensionShape(parsed.get()) ==
        std::vector<std::pair<int, bool>>{
            {NID_authority_key_identifier, false},
            {NID_crl_number, false},
            {NID_issuing_distribution_point, true}});
  CHECK(crl.ToPem().rfind("-----BEGIN X509 CRL-----\n", 0) == 0);

  // `openssl crl` reads it and lists both serials.
  testing::TempDir dir;
  std::string path =
      dir.Write("crl.der", std::string(crl.der.begin(), crl.der.end()));
  testing::CommandResult r = testing::Run(absl::StrCat(
      "openssl crl -inform DER -noout -text -in ", testing::ShellQuote(path)));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  for (const Issued* i : {&a, &b}) {
    CHECK(r.output.find(absl::AsciiStrToUpper(
              internal::Hex(i->leaf().Serial()))) != std::string::npos);
  }
  CHECK(r.output.find("Key Compromise") != std::string::npos);
  CHECK(r.output.find(absl::AsciiStrToUpper(
            internal::Hex(c.leaf().Serial()))) == std::string::npos);
  // And verifies its signature with the intermediate.
  std::string ca = dir.Write("int.pem", t.certs.intermediate.ToPem());
  r = testing::Run(absl::StrCat("openssl crl -inform DER -noout -in ",
                                testing::ShellQuote(path), " -CAfile ",
                                testing::ShellQuote(ca)));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("verify OK") != std::string::npos);
}

TEST_CASE("Crl: cached, rebuilt on revocation and when half-stale", "[crl]") {
  TestCa t;
  Issued a = t.Issue("a.example.com");
  Issued b = t.Issue("b.example.com");
  Crl empty = Unwrap(t.ca->GetCrl());
  bssl::UniquePtr<X509_CRL> parsed = ParseCrl(empty.der);
  CHECK(Entries(parsed.get()).empty());
  CHECK((X509_CRL_get_REVOKED(parsed.get()) == nullptr ||
         sk_X509_REVOKED_num(X509_CRL_get_REVOKED(parsed.get())) == 0));
  CHECK(X509_CRL_verify(parsed.get(),
                        t.certs.intermediate.public_key().native()) == 1);

  // Cached while nothing changed.
  t.clock.Advance(absl::Hours(1));
  Crl again = Unwrap(t.ca->GetCrl());
  CHECK(again.der == empty.der);
  CHECK(again.number == empty.number);

  // A revocation rebuilds it with a higher number.
  REQUIRE(t.Revoke(a.serial(), 4).ok());
  Crl one = Unwrap(t.ca->GetCrl());
  CHECK(one.number > empty.number);
  CHECK(Entries(ParseCrl(one.der).get()) ==
        std::map<std::string, int>{{a.serial(), 4}});

  // Older than half the cache duration: rebuilt.
  t.clock.Advance(absl::Hours(12));
  Crl later = Unwrap(t.ca->GetCrl());
  CHECK(later.number > one.number);
  CHECK(later.this_update == t.clock.Now());

  // Revocations drop out once their certificate expired.
  REQUIRE(t.Revoke(b.serial(), 5).ok());
  CHECK(Entries(ParseCrl(Unwrap(t.ca->GetCrl()).der).get()).size() == 2);
  t.clock.Advance(absl::Hours(12));  // past both certificates' notAfter
  Crl expired = Unwrap(t.ca->GetCrl());
  CHECK(Entries(ParseCrl(expired.der).get()).empty());
}

TEST_CASE("Crl: has the structure of step-ca's", "[crl]") {
  std::string step = testing::Testdata("step/crl.der");
  bssl::UniquePtr<X509_CRL> theirs =
      ParseCrl(std::vector<uint8_t>(step.begin(), step.end()));
  CHECK(X509_CRL_get_version(theirs.get()) == X509_CRL_VERSION_2);
  CHECK(CrlNumber(theirs.get()) == 1);
  CHECK(IdpUri(theirs.get()) == "https://localhost/1.0/crl");
  CHECK(Entries(theirs.get()) ==
        std::map<std::string, int>{
            {"143804903222160052020812728477623572056", 1}});

  TestCa t;
  Issued a = t.Issue("a.example.com");
  REQUIRE(t.Revoke(a.serial(), 1).ok());
  bssl::UniquePtr<X509_CRL> ours = ParseCrl(Unwrap(t.ca->GetCrl()).der);
  CHECK(ExtensionShape(ours.get()) == ExtensionShape(theirs.get()));
  // Same entry shape: serial, date, a non-critical reason code.
  X509_REVOKED* mine =
      sk_X509_REVOKED_value(X509_CRL_get_REVOKED(ours.get()), 0);
  X509_REVOKED* step_entry =
      sk_X509_REVOKED_value(X509_CRL_get_REVOKED(theirs.get()), 0);
  CHECK(X509_REVOKED_get_ext_count(mine) ==
        X509_REVOKED_get_ext_count(step_entry));
  // Same signature algorithm.
  CHECK(X509_CRL_get_signature_nid(ours.get()) ==
        X509_CRL_get_signature_nid(theirs.get()));
}

}  // namespace
}  // namespace mayfly

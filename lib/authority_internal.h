// Authority::Impl, shared by authority.cc, authority_renew.cc and crl.cc.
// Private to mayfly.

#ifndef MAYFLY_LIB_AUTHORITY_INTERNAL_H_
#define MAYFLY_LIB_AUTHORITY_INTERNAL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mayfly/authority.h"
#include "mayfly/certificate.h"
#include "mayfly/clock.h"
#include "mayfly/config.h"
#include "mayfly/key.h"
#include "mayfly/provisioner.h"
#include "mayfly/store.h"
#include "mayfly/token.h"
#include "openssl/base.h"

namespace mayfly {
namespace internal {

// ProvisionerSet is an immutable snapshot of the provisioners in force with
// their resolved claims. Requests take a reference to the current snapshot
// and work on it without a lock; changes build a new snapshot and swap it
// in, so validation never holds a lock while it does crypto.
struct ProvisionerSet {
  std::vector<Provisioner> provisioners;
  std::vector<ResolvedClaims> claims;  // claims[i] is provisioners[i]'s
  std::vector<Extension> extensions;   // the provisioner extension of each
  Claims authority_claims;

  // Find returns the index of the provisioner named `name`, or -1.
  int Find(absl::string_view name) const;
  // IndexOf returns the index of `p`, which must point into provisioners.
  size_t IndexOf(const Provisioner* p) const {
    return static_cast<size_t>(p - provisioners.data());
  }
};

// FloorSecond truncates `t` to the second (certificates carry seconds).
inline absl::Time FloorSecond(absl::Time t) {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(t));
}

// BuildProvisionerSet checks `provisioners` as a whole (names and kids
// unique and non-empty, claims resolve over `authority_claims`) and returns
// the snapshot. InvalidArgument or AlreadyExists otherwise.
absl::StatusOr<std::shared_ptr<const ProvisionerSet>> BuildProvisionerSet(
    std::vector<Provisioner> provisioners, const Claims& authority_claims);

// NewSerial returns 16 random bytes that are not all zero (a 128-bit
// positive serial as step-ca draws it, STEP-PROTOCOL.md section 6.1).
absl::StatusOr<std::vector<uint8_t>> NewSerial();

// SerialToDecimal returns the decimal text of big-endian `serial` bytes.
std::string SerialToDecimal(absl::Span<const uint8_t> serial);

// ProvisionerExtension returns step's provisioner extension for a JWK
// provisioner (STEP-PROTOCOL.md section 6.2): SEQUENCE { INTEGER 1,
// OCTET STRING name, OCTET STRING kid }, non-critical.
absl::StatusOr<Extension> ProvisionerExtension(const Provisioner& p);

// CheckLeafKey refuses subject keys step-ca refuses: RSA below 2048 bits.
// (P-256, P-384 and Ed25519 are the only other types a PublicKey holds.)
absl::Status CheckLeafKey(const PublicKey& key);

// AddAsn1Time writes `t` as RFC 5280 requires (section 4.1.2.5; the same for
// CRLs): UTCTime through 2049, GeneralizedTime from 2050, to the second.
// False for a year outside 1950..9999 or a CBB failure.
bool AddAsn1Time(CBB* cbb, absl::Time t);

// LeafIssuer signs step's default leaf (STEP-PROTOCOL.md section 6.1) with
// the intermediate on Sign's hot path. Everything that does not depend on
// the request (issuer name, signature algorithm, AKI, key usage, EKU) is
// encoded once, and the subject key is taken from the CSR as it came, so
// an issuance costs one signature and one parse of the result. The DER is
// byte for byte what IssueCertificate makes of the same template
// (tests/authority_test.cc compares them).
class LeafIssuer {
 public:
  // Leaf is what varies per certificate.
  struct Leaf {
    std::vector<uint8_t> serial;  // big-endian, positive
    std::string common_name;      // non-empty
    std::vector<SubjectAltName> sans;
    absl::Time not_before;
    absl::Time not_after;
    // The subject's DER SubjectPublicKeyInfo and key type.
    absl::Span<const uint8_t> spki;
    KeyType key_type = KeyType::kP256;
    const Extension* provisioner = nullptr;  // added last when set
  };

  static absl::StatusOr<LeafIssuer> Create(const Certificate& issuer,
                                           const PrivateKey& key);

  // Tbs encodes the TBSCertificate of `leaf`: every check of the request's
  // contents (name lengths, SAN syntax) fails here, before anything is
  // consumed or signed. InvalidArgument for contents that cannot be
  // encoded.
  absl::StatusOr<std::vector<uint8_t>> Tbs(const Leaf& leaf) const;

  // Sign signs a TBSCertificate made by Tbs.
  absl::StatusOr<Certificate> Sign(absl::Span<const uint8_t> tbs) const;

 private:
  explicit LeafIssuer(PrivateKey key) : key_(std::move(key)) {}
  PrivateKey key_;
  std::vector<uint8_t> issuer_name_;
  std::vector<uint8_t> aki_ext_;  // whole Extension elements
  std::vector<uint8_t> eku_ext_;
  std::vector<uint8_t> ku_ext_;      // digitalSignature
  std::vector<uint8_t> ku_rsa_ext_;  // digitalSignature, keyEncipherment
};

// CsrSpki returns the DER SubjectPublicKeyInfo of `csr` as LeafIssuer
// wants it: the request's own bytes when they are already in the form
// PublicKey::ToSpkiDer writes (an EC point uncompressed), else re-encoded.
std::vector<uint8_t> CsrSpki(const CertificateRequest& csr,
                             const PublicKey& key);

}  // namespace internal

class Authority::Impl {
 public:
  // `ca_chain` is the intermediate first, then any certificates above it
  // (what the crt file holds); every issued leaf is sent with it.
  Impl(CaConfig config, std::vector<Certificate> roots,
       std::vector<Certificate> ca_chain, PrivateKey intermediate_key,
       internal::LeafIssuer leaf_issuer, std::unique_ptr<Store> store,
       const Clock& clock,
       std::shared_ptr<const internal::ProvisionerSet> provisioners);

  // Build checks that the parts belong together (the key matches the
  // intermediate, which is a CA chaining to the roots now; the provisioners
  // and claims resolve) and makes the Impl.
  static absl::StatusOr<std::unique_ptr<Impl>> Build(
      std::vector<Certificate> roots, std::vector<Certificate> ca_chain,
      PrivateKey intermediate_key, CaConfig config,
      std::unique_ptr<Store> store, const Clock& clock);

  // Snapshot returns the provisioners in force.
  std::shared_ptr<const internal::ProvisionerSet> Snapshot() const
      ABSL_LOCKS_EXCLUDED(mu_);
  // mu() guards read-modify-write of the snapshot (Add/Remove/Replace).
  absl::Mutex& mu() ABSL_LOCK_RETURNED(mu_) { return mu_; }
  std::shared_ptr<const internal::ProvisionerSet> SnapshotLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return provisioners_;
  }
  void SetSnapshotLocked(std::shared_ptr<const internal::ProvisionerSet> set)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    provisioners_ = std::move(set);
  }

  // validator_options are the token checks of this CA.
  const TokenValidatorOptions& validator_options() const {
    return validator_options_;
  }

  // Issue signs `tmpl` for `key` with the intermediate.
  absl::StatusOr<Certificate> Issue(const CertificateTemplate& tmpl,
                                    const PublicKey& key) const;

  // IssueRenewal is Issue for a template made of a verified, strictly
  // parsed certificate's parts: the result is not parsed back until read.
  // `spki` is `key` as the old certificate encodes it, or empty (rekey).
  absl::StatusOr<Certificate> IssueRenewal(
      const CertificateTemplate& tmpl, const PublicKey& key,
      absl::Span<const uint8_t> spki) const;

  const internal::LeafIssuer& leaf_issuer() const { return leaf_issuer_; }

  // WithChain returns `leaf` with the chain sent to clients.
  IssuedCertificate WithChain(Certificate leaf) const;

  // TokenUse is a renew token's replay id and how long to keep it.
  struct TokenUse {
    std::string id;
    absl::Time keep;
  };

  // RenewLeaf is the core of Renew, Rekey and RenewWithToken: it checks
  // the presented chain and the lineage, then issues the renewal (with
  // `new_key` when rekeying). `check_token` serves RenewWithToken: it runs
  // once the leaf's provisioner is known. With `token_use`, its id is
  // consumed in the same atomic store write that records the renewal.
  absl::StatusOr<IssuedCertificate> RenewLeaf(
      absl::Span<const Certificate> chain, const PublicKey* new_key,
      const std::function<absl::Status(const Provisioner&)>& check_token,
      const TokenUse* token_use);

  // VerifyClientChain verifies `chain` (leaf first) to the roots for TLS
  // client use at `at`. Signatures never change, so a leaf whose chain
  // verified is remembered (by the SHA-256 of its DER, with the window in
  // which its path is valid) and not verified again: a client renewing
  // over a kept-alive connection, or retrying, costs no signature check,
  // as a TLS stack that verifies once per handshake would. Revocation,
  // lineage and the provisioner's rules are checked on every call.
  absl::Status VerifyClientChain(absl::Span<const Certificate> chain,
                                 absl::Time at)
      ABSL_LOCKS_EXCLUDED(verified_mu_);

  // revocation_generation increases with every revocation (the CRL cache
  // compares it).
  int64_t revocation_generation() const {
    return revocation_generation_.load(std::memory_order_acquire);
  }
  void BumpRevocationGeneration() {
    revocation_generation_.fetch_add(1, std::memory_order_acq_rel);
  }

  absl::StatusOr<Crl> GetCrl() ABSL_LOCKS_EXCLUDED(crl_mu_);

  const CaConfig config_;
  const std::vector<Certificate> roots_;
  const std::vector<Certificate> ca_chain_;   // intermediate first
  std::vector<Certificate> federated_roots_;  // set once, before any use
  const PrivateKey intermediate_key_;
  const std::unique_ptr<Store> store_;
  const Clock& clock_;
  // pruner_ prunes store_ in the background (declared after it, so it stops
  // first); NULL when config_.prune.interval is 0.
  std::unique_ptr<StorePruner> pruner_;

 private:
  TokenValidatorOptions validator_options_;
  const internal::LeafIssuer leaf_issuer_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const internal::ProvisionerSet> provisioners_
      ABSL_GUARDED_BY(mu_);

  std::atomic<int64_t> revocation_generation_{0};

  static constexpr size_t kMaxVerifiedChains = 1 << 16;
  absl::Mutex verified_mu_;
  absl::flat_hash_map<std::string, std::pair<absl::Time, absl::Time>> verified_
      ABSL_GUARDED_BY(verified_mu_);

  absl::Mutex crl_mu_;
  std::optional<Crl> crl_ ABSL_GUARDED_BY(crl_mu_);
  int64_t crl_generation_ ABSL_GUARDED_BY(crl_mu_) = -1;
};

}  // namespace mayfly

#endif  // MAYFLY_LIB_AUTHORITY_INTERNAL_H_

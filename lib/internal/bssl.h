// Helpers around BoringSSL shared by mayfly's modules. Private to mayfly.

#ifndef MAYFLY_LIB_INTERNAL_BSSL_H_
#define MAYFLY_LIB_INTERNAL_BSSL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "openssl/base.h"
#include "openssl/bytestring.h"

namespace mayfly {
namespace internal {

// BsslError returns a status with `code` and `what`, followed by the reason
// of the newest entry on BoringSSL's error queue (if any); the queue is
// cleared either way so errors never leak into the next call.
absl::Status BsslError(absl::StatusCode code, absl::string_view what);

// Sha256 / Sha1 return the digest of `data`.
std::vector<uint8_t> Sha256(absl::Span<const uint8_t> data);
std::vector<uint8_t> Sha1(absl::Span<const uint8_t> data);

// Hex returns lowercase hex, HexColons "AB:CD:..." uppercase as inspect
// tools print them.
std::string Hex(absl::Span<const uint8_t> data);
std::string HexColons(absl::Span<const uint8_t> data);

// CbbToVector finishes `cbb` and returns its bytes; Internal on failure.
absl::StatusOr<std::vector<uint8_t>> CbbToVector(CBB* cbb);

// PemBlock is one decoded PEM block.
struct PemBlock {
  std::string type;                  // "CERTIFICATE", "PRIVATE KEY", ...
  std::vector<std::string> headers;  // RFC 1421 header lines, verbatim
  std::vector<uint8_t> der;
};

// DecodePemBlocks returns every PEM block in `text` in order; text outside
// the blocks is ignored. InvalidArgument for a block that is malformed
// (bad base64, unterminated), or none at all.
absl::StatusOr<std::vector<PemBlock>> DecodePemBlocks(absl::string_view text);

// EncodePem returns one PEM block of `type` (64-column lines, trailing
// newline).
std::string EncodePem(absl::string_view type, absl::Span<const uint8_t> der);

// Shared ownership of BoringSSL objects for mayfly's value types.
std::shared_ptr<EVP_PKEY> ShareKey(bssl::UniquePtr<EVP_PKEY> key);

// Cleanse wipes a buffer that held secrets.
void Cleanse(std::string* s);
void Cleanse(std::vector<uint8_t>* v);

}  // namespace internal
}  // namespace mayfly

#endif  // MAYFLY_LIB_INTERNAL_BSSL_H_

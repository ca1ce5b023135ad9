// consumer.cc: a C++17 program built against an installed mayfly's static
// library (the C++ API) through find_package(mayfly). Generates a key,
// signs and verifies; exits non-zero on any failure.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mayfly/key.h"
#include "mayfly/version.h"

int main() {
  absl::StatusOr<mayfly::PrivateKey> key = mayfly::PrivateKey::Generate();
  if (!key.ok()) {
    std::fprintf(stderr, "Generate: %s\n", key.status().ToString().c_str());
    return 1;
  }
  const std::string text = "mayfly consumer test message";
  std::vector<uint8_t> message(text.begin(), text.end());
  absl::StatusOr<std::vector<uint8_t>> sig = key->Sign(message);
  if (!sig.ok()) {
    std::fprintf(stderr, "Sign: %s\n", sig.status().ToString().c_str());
    return 1;
  }
  absl::Status verified = key->public_key().Verify(message, *sig);
  if (!verified.ok()) {
    std::fprintf(stderr, "Verify: %s\n", verified.ToString().c_str());
    return 1;
  }
  message[0] ^= 1;
  if (key->public_key().Verify(message, *sig).ok()) {
    std::fprintf(stderr, "Verify accepted an altered message\n");
    return 1;
  }
  std::printf("mayfly %s: %s key signed and verified (%zu-byte signature)\n",
              MAYFLY_VERSION_STRING,
              std::string(mayfly::KeyTypeName(key->type())).c_str(),
              sig->size());
  return 0;
}

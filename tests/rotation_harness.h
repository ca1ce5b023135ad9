// Certificate rotation under TLS load: the harness shared by the
// [rotation_load] test (tests/rotation_test.cc) and benchmarks/rotation_bench.
//
// RunRotationLoad builds a CA in memory (through the public Authority API,
// on the real clock, since handshakes check validity periods), serves TLS on
// two loopback listeners whose SSL_CTXs come from mayfly/tls.h and share one
// RotatingCredentials, and for `duration` runs:
// - a server-auth client: full handshakes against the first listener
//   (ClientAuth::kNone), verifying the server's chain and name against the
//   CA root, presenting no certificate;
// - an mTLS client: full handshakes against the second listener
//   (ClientAuth::kRequired), presenting the newest certificate of its own
//   RotatingCredentials;
// - a rotator: every `rotate_every`, a fresh leaf (new key, new serial) for
//   the server and one for the mTLS client, signed by the CA with a one-time
//   token, swapped into the RotatingCredentials.
// Each connection is a full handshake (the server keeps no session cache and
// issues no tickets; a resumed session counts as a failure), then "ping" from
// the client, "pong" from the server and close_notify both ways, so that
// each side knows the other finished the handshake (in TLS 1.3 a client
// only learns that the server refused its certificate when it reads).
//
// Nothing here depends on Catch2: failures are counted, with their reasons,
// in the result, and the caller judges them.

#ifndef MAYFLY_TESTS_ROTATION_HARNESS_H_
#define MAYFLY_TESTS_ROTATION_HARNESS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mayfly {
namespace testing {

// RotationLoadOptions configure RunRotationLoad.
struct RotationLoadOptions {
  // How long the clients keep connecting. Positive.
  absl::Duration duration = absl::Seconds(30);
  // How often the server's and the mTLS client's certificates are replaced.
  // Positive.
  absl::Duration rotate_every = absl::Milliseconds(100);
  // A connection that makes no progress for this long (a send, a receive or
  // the connect) fails, so a stuck peer is reported instead of hanging the
  // run. Positive.
  absl::Duration io_timeout = absl::Seconds(10);
};

// RotationLoadResult is what one run saw.
struct RotationLoadResult {
  // Connections the two clients attempted.
  uint64_t handshakes = 0;
  // Failures seen by the clients plus failures seen by the servers: a
  // connection that fails on both sides counts twice.
  uint64_t failed_handshakes = 0;
  uint64_t client_failures = 0;
  uint64_t server_failures = 0;
  // Connections completed on the client side, by kind.
  uint64_t server_auth_handshakes = 0;
  uint64_t mtls_handshakes = 0;
  // Rounds in which both the server's and the client's certificates were
  // replaced, and rounds that failed (the CA refused, say).
  uint64_t rotations = 0;
  uint64_t rotation_failures = 0;
  // Distinct serials of the server certificates the two clients received,
  // and of the client certificates the mTLS listener received.
  size_t distinct_server_serials_seen = 0;
  size_t distinct_client_serials_seen = 0;
  // Whether the mTLS listener, probed once before the load with a client
  // that has no certificate, refused it (it must).
  bool mtls_refuses_anonymous_client = false;
  // Time from the start of the load until every client had stopped.
  absl::Duration elapsed;
  // The first failure of any kind ("" if none), and the number of failures
  // by reason ("mtls client: handshake: ...").
  std::string first_failure;
  std::map<std::string, uint64_t> failure_reasons;

  // HandshakesPerSecond is completed handshakes (both kinds) per second of
  // `elapsed`.
  double HandshakesPerSecond() const;

  // Summary is a one-line report of the figures above.
  std::string Summary() const;
};

// RunRotationLoad runs the load described in the file comment and returns
// what it saw; handshake and rotation failures are counted in the result,
// not returned as errors. Every thread it starts has been joined when it
// returns. InvalidArgument for a non-positive option; another error if the
// CA, the first certificates or the listeners cannot be set up.
absl::StatusOr<RotationLoadResult> RunRotationLoad(
    const RotationLoadOptions& options = {});

}  // namespace testing
}  // namespace mayfly

#endif  // MAYFLY_TESTS_ROTATION_HARNESS_H_

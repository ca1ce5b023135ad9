#!/usr/bin/env bash
# Builds and tests the Rust bindings (mayfly-sys, mayfly) against the
# libmayfly.so of BUILD_DIR, then runs the embed_ca example.
#
#   bindings/rust/run_tests.sh BUILD_DIR
#
# Needs cargo, and pkg-config with OpenSSL's headers (Debian: libssl-dev
# pkg-config) for the rotation test's TLS server and client. Build output
# goes to bindings/rust/target (git-ignored). Crates come from crates.io
# unless they are already in cargo's cache.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ ! -e "$BUILD_DIR/libmayfly.so" ]]; then
  echo "rust: no libmayfly.so in $BUILD_DIR (build the mayfly_shared target)" >&2
  exit 1
fi
if ! command -v cargo >/dev/null; then
  echo "rust: cargo is not installed" >&2
  exit 1
fi
if ! pkg-config --exists openssl 2>/dev/null; then
  echo "rust: the rotation test needs OpenSSL's headers: apt-get install libssl-dev pkg-config" >&2
  exit 1
fi

export MAYFLY_LIB_DIR="$BUILD_DIR"
export CARGO_TARGET_DIR="$HERE/target"
export CARGO_TERM_COLOR=never
cd "$HERE"

flags=()
if [[ -f Cargo.lock ]]; then
  flags+=(--locked)
fi
# Offline when every crate is in cargo's cache already.
if cargo fetch --offline "${flags[@]}" >/dev/null 2>&1; then
  flags+=(--offline)
fi

echo "rust: cargo test against $BUILD_DIR/libmayfly.so"
cargo test "${flags[@]}" --workspace

echo "rust: example embed_ca"
out=$(cargo run "${flags[@]}" --quiet -p mayfly --example embed_ca)
printf '%s\n' "$out"
for want in "serial: " "common name: web.example.internal" "valid: " "chain: 2 certificates"; do
  if ! grep -qF "$want" <<<"$out"; then
    echo "rust: embed_ca printed no \"$want\"" >&2
    exit 1
  fi
done
echo "rust: all passed"

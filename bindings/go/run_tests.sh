#!/usr/bin/env bash
# Builds and tests the Go binding against the libmayfly.so of BUILD_DIR:
# go vet, go test -race, and the mTLS example for a few seconds.
#
#   bindings/go/run_tests.sh /path/to/build
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${here}/../.." && pwd)

if [[ ! -e "${build_dir}/libmayfly.so" ]]; then
  echo "${build_dir}/libmayfly.so is missing: build the mayfly_shared target" >&2
  exit 1
fi

# The library and headers of the build tree; rpath so the test binaries
# find libmayfly.so without LD_LIBRARY_PATH.
export CGO_ENABLED=1
export CGO_CFLAGS="-g -O2 -I${src}/include -I${build_dir}/include"
export CGO_LDFLAGS="-L${build_dir} -Wl,-rpath,${build_dir}"
# The module has no dependencies: never download a toolchain or module.
export GOTOOLCHAIN=local GOPROXY=off

cd "${here}"
echo "== go vet"
go vet ./...
echo "== go test -race"
go test -race -count=1 -timeout 150s ./...
echo "== examples/mtls"
go run ./examples/mtls -seconds 4 -lifetime 2s
echo "== Go binding OK"

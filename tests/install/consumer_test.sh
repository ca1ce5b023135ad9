#!/usr/bin/env bash
# consumer_test.sh: installs a built mayfly into a scratch prefix, then
# builds and runs programs against the install tree only:
#   (a) consumer.c via find_package(mayfly), linking mayfly::mayfly (shared)
#   (b) consumer.c via pkg-config (mayfly.pc)
#   (c) consumer.cc (C++17) via find_package, linking mayfly::mayfly_static
# Fails on any error.
#
# Usage: consumer_test.sh CMAKE_BINARY_DIR SCRATCH_DIR
set -euo pipefail

bin="$(cd "${1:?usage: consumer_test.sh CMAKE_BINARY_DIR SCRATCH_DIR}" && pwd)"
scratch="${2:?usage: consumer_test.sh CMAKE_BINARY_DIR SCRATCH_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src_root="$(cd "$here/../.." && pwd)"
version="$(head -n1 "$src_root/VERSION" | tr -d '[:space:]')"

fail() { echo "consumer_test: $*" >&2; exit 1; }
step() { echo "== $*"; }

rm -rf "$scratch"
mkdir -p "$scratch"
scratch="$(cd "$scratch" && pwd)"
prefix="$scratch/prefix"

step "cmake --install $bin --prefix $prefix"
cmake --install "$bin" --prefix "$prefix" >"$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log"; fail "cmake --install failed"; }

# The compilers the project was built with.
cache_value() {
  sed -n "s/^$1:[A-Z]*=//p" "$bin/CMakeCache.txt" | head -n1
}
cc="$(cache_value CMAKE_C_COMPILER)"
cxx="$(cache_value CMAKE_CXX_COMPILER)"
[ -n "$cc" ] || cc=cc
[ -n "$cxx" ] || cxx=c++

# Where the install put the libraries (lib, lib64 or lib/<multiarch>).
pc="$(find "$prefix" -name mayfly.pc -path '*/pkgconfig/*' | head -n1)"
[ -n "$pc" ] || fail "no mayfly.pc installed under $prefix"
libdir="$(dirname "$(dirname "$pc")")"
for f in include/mayfly/c.h include/mayfly/version.h include/mayfly/key.h; do
  [ -f "$prefix/$f" ] || fail "$f not installed"
done
[ -f "$libdir/libmayfly.a" ] || fail "libmayfly.a not installed in $libdir"
ls "$libdir"/libmayfly.so.* >/dev/null 2>&1 ||
  fail "libmayfly.so.* not installed in $libdir"
[ -f "$libdir/cmake/mayfly/mayflyConfig.cmake" ] ||
  fail "mayflyConfig.cmake not installed in $libdir/cmake/mayfly"

# Nothing installed may point back into the build or source tree.
if grep -rlF -e "$bin" -e "$src_root/" "$libdir/cmake/mayfly" "$pc"; then
  fail "installed files above refer to the build or source tree"
fi

step "(a) + (c): find_package(mayfly) project"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$here" -B "$scratch/cmake-build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DMAYFLY_EXPECTED_VERSION="$version" >"$scratch/configure.log" 2>&1 ||
  { cat "$scratch/configure.log"; fail "configuring the consumer failed"; }
grep -F "found mayfly $version in $libdir/cmake/mayfly" "$scratch/configure.log" ||
  { cat "$scratch/configure.log"; fail "find_package did not use $prefix"; }
cmake --build "$scratch/cmake-build" >"$scratch/build.log" 2>&1 ||
  { cat "$scratch/build.log"; fail "building the consumer failed"; }

step "(a) consumer_c (shared library via find_package)"
LD_LIBRARY_PATH="$libdir" "$scratch/cmake-build/consumer_c" ||
  fail "consumer_c failed"
LD_LIBRARY_PATH="$libdir" ldd "$scratch/cmake-build/consumer_c" |
  grep -F "$libdir/libmayfly.so" ||
  fail "consumer_c does not load $libdir/libmayfly.so"

step "(b) consumer.c via pkg-config"
flags="$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs mayfly)" ||
  fail "pkg-config --cflags --libs mayfly failed"
echo "pkg-config: $flags"
# shellcheck disable=SC2086  # $flags is a list of words
"$cc" -std=c99 -Wall -Wextra -Werror "$here/consumer.c" -o "$scratch/consumer_pc" \
  $flags || fail "building consumer.c with pkg-config flags failed"
LD_LIBRARY_PATH="$libdir" "$scratch/consumer_pc" || fail "consumer_pc failed"

step "(c) consumer_cxx (static library via find_package)"
"$scratch/cmake-build/consumer_cxx" || fail "consumer_cxx failed"
if ldd "$scratch/cmake-build/consumer_cxx" | grep -F libmayfly.so; then
  fail "consumer_cxx links the shared library instead of libmayfly.a"
fi

echo "consumer_test: 3 consumers built and run against $prefix"

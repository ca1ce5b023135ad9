#!/usr/bin/env bash
# Runs the Python binding's tests, example and benchmark smoke test against
# BUILD_DIR/libmayfly.so:
#   bindings/python/run_tests.sh BUILD_DIR
# A virtual environment is made in BUILD_DIR/python-venv (reused); the
# package is installed into it from a copy of the sources (so the source
# tree stays clean), with pytest. Quiet on success but for one summary line.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB="$BUILD_DIR/libmayfly.so"
if [[ ! -e "$LIB" ]]; then
  echo "run_tests.sh: $LIB not found: build the mayfly_shared target first" >&2
  exit 1
fi

VENV="$BUILD_DIR/python-venv"
LOG="$BUILD_DIR/python-tests.log"
: >"$LOG"

fail() {
  echo "python bindings: $1 (log: $LOG)" >&2
  tail -n 60 "$LOG" >&2
  exit 1
}

PY="$VENV/bin/python"
if [[ ! -x "$PY" ]] || ! "$PY" -c "import pytest, setuptools" >/dev/null 2>&1; then
  python3 -m venv "$VENV" >>"$LOG" 2>&1 || fail "cannot create $VENV"
  "$PY" -m pip install --quiet --disable-pip-version-check \
    "setuptools>=61" wheel pytest >>"$LOG" 2>&1 ||
    fail "cannot install pytest and setuptools from PyPI"
fi

# Install the package from a fresh copy: setuptools builds in the source
# directory, and the copy keeps build/ and *.egg-info out of the tree.
SRC="$BUILD_DIR/python-src"
rm -rf "$SRC"
mkdir -p "$SRC"
cp -R "$HERE/pyproject.toml" "$HERE/README.md" "$HERE/src" "$SRC/"
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps \
  --no-build-isolation --force-reinstall "$SRC" >>"$LOG" 2>&1 ||
  fail "pip install of the package failed"

export MAYFLY_LIBRARY="$LIB"
export PYTHONDONTWRITEBYTECODE=1
cd "$HERE"
if ! timeout 600 "$PY" -m pytest -q -p no:cacheprovider \
  -o faulthandler_timeout=180 tests >>"$LOG" 2>&1; then
  fail "tests failed"
fi
echo "python bindings: $(tail -n 1 "$LOG" | tr -d '=' | sed 's/^ *//')"

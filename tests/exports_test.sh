#!/usr/bin/env bash
# Fails if the shared library exports any symbol not named mayfly_*.
set -euo pipefail
lib="$1"
syms="$(nm -D --defined-only "$lib" | awk '{print $NF}')"
[ -n "$syms" ] || { echo "no exported symbols in $lib"; exit 1; }
bad="$(printf '%s\n' "$syms" | grep -v '^mayfly_' || true)"
if [ -n "$bad" ]; then
  echo "exported symbols other than mayfly_* in $lib:"
  printf '%s\n' "$bad" | head -50
  exit 1
fi
echo "$(printf '%s\n' "$syms" | wc -l) exported symbols, all mayfly_*"

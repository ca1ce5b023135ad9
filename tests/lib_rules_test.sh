#!/usr/bin/env bash
# Rules for lib/ that the compiler does not check:
# - time comes from a Clock: only lib/clock.cc may read the system clock;
# - public headers never include lib/ headers.
set -euo pipefail
root="$1"
fail=0
hits="$(grep -rnE 'absl::Now\(|system_clock|steady_clock|time\(NULL\)|time\(nullptr\)|gettimeofday|clock_gettime' \
          "$root/lib" | grep -v '^'"$root"'/lib/clock.cc:' || true)"
if [ -n "$hits" ]; then
  echo "lib/ reads the system clock outside lib/clock.cc (use a Clock):"
  echo "$hits"
  fail=1
fi
hits="$(grep -rnE '#include "(internal/|lib/)' "$root/include" || true)"
if [ -n "$hits" ]; then
  echo "public headers include private ones:"
  echo "$hits"
  fail=1
fi
[ "$fail" = 0 ] && echo "lib/ rules hold"
exit "$fail"

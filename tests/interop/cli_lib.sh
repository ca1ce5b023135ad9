# Helpers shared by the interop scripts that drive the mayfly CLI; sourced,
# not run. The sourcing script defines fail MESSAGE (report and exit 1) and
# mf ARGS... (run the mayfly CLI, bounded in time, never reading stdin).

# serial_of FILE prints the certificate's serial in hex, as openssl does.
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

# mode_of FILE prints the file's permission bits in octal.
mode_of() { stat -c '%a' "$1"; }

# expect_fail NAME PATTERN ARGS...: mayfly ARGS must exit 1 and print
# PATTERN (an extended regex) on stderr; its output goes to NAME.out and
# NAME.err.
expect_fail() {
  local name="$1" pattern="$2"
  shift 2
  local rc=0
  mf "$@" >"$name.out" 2>"$name.err" || rc=$?
  [ "$rc" = 1 ] || fail "mayfly $* exited $rc, want 1: $(cat "$name.out" "$name.err")"
  grep -Eq "$pattern" "$name.err" ||
    fail "mayfly $* failed without /$pattern/: $(cat "$name.err")"
}

#!/usr/bin/env bash
# `mayfly-ca serve` hardens its own process, checked from outside on the
# running process (/proc/PID/status, /proc/PID/limits):
#
# usage: serve_privileges_test.sh MAYFLY_CA [MAYFLY]
#        (or MAYFLY_CA_BIN=... MAYFLY_BIN=... serve_privileges_test.sh)
#
# - always: umask 077, core dumps off (RLIMIT_CORE 0/0), not dumpable
#   (its /proc/PID/{status,mem,environ} belong to root, so processes of its
#   own user can neither ptrace it nor read its memory or environment);
# - a password that does not decrypt the key: exit 1, and neither the
#   wrong nor the right password appears in the output;
# - as root (CI runs as root):
#   - without --user: serves (hardened as always) and logs a warning that
#     --allow-root silences;
#   - --user nobody: after start the process is nobody (real, effective,
#     saved and filesystem uids; nobody's group only; no capabilities; no
#     new privileges), still serves HTTPS (keys read before the switch),
#     and with MAYFLY (the client) it signs, renews and revokes, so its
#     store, opened as nobody and owned by nobody, is written after the
#     switch; SIGTERM still stops it cleanly;
#   - --user nobody with a store nobody cannot write: a clear error at
#     start, not a failure at the first request;
#   - unknown user, --group without --user, --user with --allow-root: usage
#     errors (exit 2);
# - not as root: --user naming another user is refused (exit 1).
set -euo pipefail

mayfly_ca="${1:-${MAYFLY_CA_BIN:-}}"
mayfly="${2:-${MAYFLY_BIN:-}}"

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${log:-}" ] && [ -f "${log:-}" ]; then
    echo "---- $log (last 30 lines) ----" >&2
    tail -n 30 "$log" | cut -c 1-500 >&2
  fi
  exit 1
}

[ -n "$mayfly_ca" ] || fail "usage: $0 MAYFLY_CA [MAYFLY] (or set MAYFLY_CA_BIN)"
[ -x "$mayfly_ca" ] || fail "mayfly-ca not found or not executable: $mayfly_ca"
if [ -n "$mayfly" ]; then
  [ -x "$mayfly" ] || fail "mayfly not found or not executable: $mayfly"
fi
command -v python3 >/dev/null || fail "python3 is needed"
# Absolute, as the test works in its own folder.
mayfly_ca="$(cd "$(dirname "$mayfly_ca")" && pwd)/$(basename "$mayfly_ca")"
[ -z "$mayfly" ] || mayfly="$(cd "$(dirname "$mayfly")" && pwd)/$(basename "$mayfly")"

work="$(mktemp -d "${TMPDIR:-/tmp}/mayfly-privileges.XXXXXX")"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # MAYFLY_KEEP_TEST_DIR=1 keeps the folder (logs) to look at.
  if [ -z "${MAYFLY_KEEP_TEST_DIR:-}" ]; then
    rm -rf "$work"
  else
    echo "kept $work (exit $rc)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$work"
export HOME="$work" STEPPATH="$work/step"

ca_password='privileges-ca-password-5e1f'
wrong_password='privileges-wrong-password-77d0'
printf '%s\n' "$ca_password" >password
printf '%s\n' "$wrong_password" >wrong-password

# The store lives apart from the CA folder, in a folder that the user the
# server switches to may write (as root: nobody's).
mkdir -p "$work/store"
"$mayfly_ca" init --dir "$work/ca" --name "Privileges Test" --dns 127.0.0.1 \
  --address 127.0.0.1:0 --provisioner admin --password-file password \
  --store "sqlite:$work/store/mayfly.db" >init.out 2>&1 ||
  fail "mayfly-ca init failed: $(cat init.out)"
config="$work/ca/config/ca.json"
root="$work/ca/certs/root_ca.crt"

# start_server LOG ARGS...: starts serve; sets ca_pid and port.
start_server() {
  log="$1"
  shift
  "$mayfly_ca" serve "$config" "$@" >"$log" 2>&1 &
  ca_pid=$!
  pids+=("$ca_pid")
  port=""
  for _ in $(seq 1 300); do
    port="$(sed -n 's/.*Serving HTTPS on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)"
    [ -n "$port" ] && return 0
    kill -0 "$ca_pid" 2>/dev/null || fail "mayfly-ca serve $* exited at start"
    sleep 0.1
  done
  fail "mayfly-ca serve $* printed no 'Serving HTTPS on 127.0.0.1:PORT' within 30s"
}

# stop_server: SIGTERM, and the exit status must be 0.
stop_server() {
  kill -TERM "$ca_pid"
  local rc=0
  wait "$ca_pid" || rc=$?
  pids=()
  [ "$rc" = 0 ] || fail "mayfly-ca exited $rc after SIGTERM, want 0"
}

# expect_refused NAME CODE PATTERN ARGS...: serve ARGS must exit CODE at
# once with PATTERN (an extended regex) in its output.
expect_refused() {
  local name="$1" code="$2" pattern="$3"
  shift 3
  local rc=0
  log="$work/$name.log"
  timeout 30 "$mayfly_ca" serve "$config" "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = "$code" ] || fail "serve $* exited $rc, want $code"
  grep -Eq -- "$pattern" "$log" || fail "serve $* did not say /$pattern/"
}

health() {  # GET /health over TLS verified against the root
  python3 - "$port" "$root" <<'EOF'
import json, socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as s:
    with ctx.wrap_socket(s, server_hostname="127.0.0.1") as c:
        c.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
head, _, body = data.partition(b"\r\n\r\n")
if b" 200 " not in head.split(b"\r\n")[0] + b" " or json.loads(body) != {"status": "ok"}:
    sys.exit("GET /health: %r" % data[:300])
EOF
}

# status_field PID NAME prints the value of NAME: in /proc/PID/status.
status_field() {
  sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s '[:space:]' ' ' |
    sed 's/ $//'
}

# check_hardened PID WHAT: the checks that hold for every serve process.
check_hardened() {
  local pid="$1" what="$2"
  [ "$(status_field "$pid" Umask)" = 0077 ] ||
    fail "$what: umask is $(status_field "$pid" Umask), want 0077"
  local core
  core="$(sed -n 's/^Max core file size[[:space:]]*//p' "/proc/$pid/limits" |
    awk '{print $1, $2}')"
  [ "$core" = "0 0" ] || fail "$what: core file size limit is '$core', want '0 0'"
}

# check_not_dumpable PID WHAT: only meaningful for a process that is not
# root: the files under /proc/PID of a non-dumpable process (mem, environ,
# status, ...) belong to root, so its own user cannot open them for ptrace
# access.
check_not_dumpable() {
  local pid="$1" what="$2"
  local f owner
  for f in status mem environ; do
    owner="$(stat -c %u "/proc/$pid/$f")"
    [ "$owner" = 0 ] ||
      fail "$what: /proc/$pid/$f belongs to uid $owner, not root: the process is dumpable"
  done
}

# --- a wrong password: refused, and no password in the output -------------------
as_root_flags=()
[ "$(id -u)" = 0 ] && as_root_flags=(--allow-root)
expect_refused wrong-password 1 "cannot load the CA" \
  --password-file wrong-password --address 127.0.0.1:0 "${as_root_flags[@]}"
if grep -qF -e "$wrong_password" -e "$ca_password" "$work/wrong-password.log"; then
  fail "the output of a refused start holds a password"
fi

if [ "$(id -u)" = 0 ]; then
  # --- root without a decision: serves, hardened, and warns -----------------
  start_server root.log --password-file password --address 127.0.0.1:0
  check_hardened "$ca_pid" "serve as root"
  grep -q "level=warning.*serving as root: pass --user" root.log ||
    fail "serve as root without --user logged no warning"
  health || fail "serve as root does not serve"
  stop_server
  expect_refused bad-user 2 "no such user" --user no-such-user-mayfly \
    --password-file password --address 127.0.0.1:0
  expect_refused group-alone 2 "--group needs --user" --group nogroup \
    --password-file password --address 127.0.0.1:0
  expect_refused user-and-root 2 "contradict" --user nobody --allow-root \
    --password-file password --address 127.0.0.1:0
  expect_refused user-root 2 "unprivileged" --user root \
    --password-file password --address 127.0.0.1:0

  # --- --allow-root: hardened all the same ------------------------------------
  start_server allow-root.log --password-file password \
    --address 127.0.0.1:0 --allow-root
  check_hardened "$ca_pid" "serve --allow-root"
  if grep -q "serving as root" allow-root.log; then
    fail "serve --allow-root still warns about serving as root"
  fi
  health || fail "serve --allow-root does not serve"
  stop_server

  nobody_uid="$(id -u nobody)" || fail "no user nobody on this system"
  nobody_gid="$(id -g nobody)"

  # --- --user nobody with a store nobody cannot write: refused at start -------
  chmod 0711 "$work"  # nobody may pass through, not list
  chown root:root "$work/store" "$work/store/mayfly.db"* 2>/dev/null || true
  chmod 0700 "$work/store"
  expect_refused store-denied 1 "cannot open the store.*as user nobody" \
    --user nobody --password-file password --address 127.0.0.1:0

  # --- --user nobody ----------------------------------------------------------
  chown -R nobody: "$work/store"
  start_server nobody.log --password-file password --address 127.0.0.1:0 \
    --user nobody
  grep -q "Switched to user nobody (uid $nobody_uid)" nobody.log ||
    fail "serve --user nobody did not log the switch"
  uids="$(status_field "$ca_pid" Uid)"
  gids="$(status_field "$ca_pid" Gid)"
  [ "$uids" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] ||
    fail "Uid line is '$uids', want nobody's uid ($nobody_uid) four times"
  [ "$gids" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ] ||
    fail "Gid line is '$gids', want nobody's gid ($nobody_gid) four times"
  [ "$(status_field "$ca_pid" Groups)" = "$nobody_gid" ] ||
    fail "supplementary groups are '$(status_field "$ca_pid" Groups)', want $nobody_gid"
  [ "$(status_field "$ca_pid" CapEff)" = 0000000000000000 ] &&
    [ "$(status_field "$ca_pid" CapPrm)" = 0000000000000000 ] ||
    fail "capabilities left: CapEff $(status_field "$ca_pid" CapEff)"
  [ "$(status_field "$ca_pid" NoNewPrivs)" = 1 ] ||
    fail "NoNewPrivs is not set"
  # Every thread switched, not just the main one.
  for task in /proc/"$ca_pid"/task/*; do
    [ "$(sed -n 's/^Uid:[[:space:]]*//p' "$task/status" | awk '{print $1, $2, $3, $4}')" = \
      "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] ||
      fail "thread $task still has uids $(sed -n 's/^Uid://p' "$task/status")"
  done
  check_hardened "$ca_pid" "serve --user nobody"
  check_not_dumpable "$ca_pid" "serve --user nobody"
  health || fail "serve --user nobody does not serve"
  [ "$(stat -c %U "$work/store/mayfly.db")" = nobody ] ||
    fail "the store belongs to $(stat -c %U "$work/store/mayfly.db"), want nobody"
  if [ -n "$mayfly" ]; then
    # Sign, renew and revoke: the key in memory signs, the store (opened as
    # nobody) takes writes after the switch.
    url="https://127.0.0.1:$port"
    printf '%s\n' "$ca_password" >prov-password
    mf() { timeout 60 "$mayfly" "$@" --ca-url "$url" --root "$root" </dev/null; }
    mf certificate svc.internal svc.crt svc.key --provisioner admin \
      --provisioner-password-file prov-password >cert.out 2>&1 ||
      fail "mayfly certificate against serve --user nobody: $(cat cert.out)"
    mf renew svc.crt svc.key --force >renew.out 2>&1 ||
      fail "mayfly renew against serve --user nobody: $(cat renew.out)"
    serial="$(openssl x509 -in svc.crt -noout -serial | sed 's/^serial=//')"
    serial_dec="$(python3 -c 'import sys; print(int(sys.argv[1], 16))' "$serial")"
    mf revoke "$serial_dec" --provisioner admin \
      --provisioner-password-file prov-password \
      >revoke.out 2>&1 || fail "mayfly revoke: $(cat revoke.out)"
    if mf renew svc.crt svc.key --force >renew2.out 2>&1; then
      fail "a revoked certificate was renewed"
    fi
  fi
  stop_server
  grep -q "stopped" nobody.log || fail "no 'stopped' line after SIGTERM"
  summary="root refused without --user; --allow-root and --user nobody hardened; the switch to nobody holds on every thread and the server still serves${mayfly:+, signs, renews and revokes}"
else
  # --- not root: hardened, not dumpable; --user elsewhere refused -------------
  other=""
  for u in daemon bin nobody; do
    uid="$(id -u "$u" 2>/dev/null)" || continue
    if [ "$uid" != "$(id -u)" ] && [ "$uid" != 0 ]; then
      other="$u"
      break
    fi
  done
  [ -n "$other" ] || fail "no user other than $(id -un) to switch to"
  expect_refused user-needs-root 1 "needs root" --user "$other" \
    --password-file password --address 127.0.0.1:0
  start_server plain.log --password-file password --address 127.0.0.1:0
  check_hardened "$ca_pid" "serve"
  check_not_dumpable "$ca_pid" "serve"
  if cat "/proc/$ca_pid/environ" >/dev/null 2>&1; then
    fail "a process of the same user reads /proc/$ca_pid/environ"
  fi
  health || fail "serve does not serve"
  stop_server
  summary="hardened (umask, core, not dumpable) as uid $(id -u); --user refused without root"
fi

echo "PASS: no password in a refused start's output; $summary"

#!/usr/bin/env bash
# The `mayfly` client CLI against `mayfly-ca serve`: the walkthrough of
# scripts/demo, with assertions.
#
# usage: mayfly_cli_test.sh MAYFLY MAYFLY_CA
#
# In a temporary directory, with a STEPPATH of its own: mayfly-ca init with
# claims that allow certificates of a few seconds (and authority.backdate
# 1s, so that such certificates renew seconds apart), mayfly-ca serve on a
# free 127.0.0.1 port, then mayfly bootstrap (a wrong fingerprint first),
# health, roots, token (and a wrong password), certificate (with --token,
# replayed, for another subject, and with --provisioner-password-file),
# renew (mTLS, --expires-in, --mtls=false), renew --daemon --exec until it
# has renewed twice, SIGHUP and SIGTERM on a daemon, revoke over mTLS while
# a daemon runs (the daemon must stop with exit 1), revoke by token, and
# renew of revoked certificates, which must fail with the CA's 401 message
# and leave a WARN line with status=401 in mayfly-ca's log. Key files must
# stay 0600 throughout.
set -euo pipefail
interop_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

mayfly="${1:-}"
mayfly_ca="${2:-}"

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${work:-}" ] && [ -f "$work/ca.log" ]; then
    echo "---- mayfly-ca log (last 30 lines) ----" >&2
    tail -n 30 "$work/ca.log" | cut -c 1-400 >&2
  fi
  exit 1
}
mf() {
  # mf ARGS...: the client, bounded in time, never reading stdin.
  timeout 60 "$mayfly" "$@" </dev/null
}

[ -n "$mayfly" ] && [ -n "$mayfly_ca" ] || fail "usage: $0 MAYFLY MAYFLY_CA"
[ -x "$mayfly" ] || fail "mayfly not found or not executable: $mayfly"
[ -x "$mayfly_ca" ] || fail "mayfly-ca not found or not executable: $mayfly_ca"
# The test runs in a folder of its own: make the paths absolute.
mayfly="$(cd "$(dirname "$mayfly")" && pwd)/$(basename "$mayfly")"
mayfly_ca="$(cd "$(dirname "$mayfly_ca")" && pwd)/$(basename "$mayfly_ca")"
for tool in python3 timeout openssl; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/mayfly-cli.XXXXXX")"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # MAYFLY_KEEP_TEST_DIR=1 keeps the folder (logs, certificates) to look at.
  if [ -z "${MAYFLY_KEEP_TEST_DIR:-}" ]; then
    rm -rf "$work"
  else
    echo "kept $work (exit $rc)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export STEPPATH="$work/client"
export HOME="$work/home"
mkdir -p "$HOME"
cd "$work"
printf 'ca password for the cli test\n' >ca-password
printf 'provisioner password\n' >prov-password
printf 'not the password\n' >wrong-password

. "$interop_dir/cli_lib.sh"

# --- usage ---------------------------------------------------------------
mf --help | grep -q "renew" || fail "mayfly --help lists no renew command"
for cmd in bootstrap token certificate renew revoke roots health inspect; do
  mf "$cmd" --help >help.out || fail "mayfly $cmd --help failed"
  grep -q "usage: mayfly $cmd" help.out || fail "mayfly $cmd --help: $(cat help.out)"
done
rc=0
mf renew --bogus a b >/dev/null 2>usage.err || rc=$?
[ "$rc" = 2 ] && grep -q "unknown flag --bogus" usage.err ||
  fail "an unknown flag exited $rc: $(cat usage.err)"
expect_fail no-ca "no CA URL" health

# --- CA ----------------------------------------------------------------------
# A 1s backdate: a certificate asked for 15s then lives 16s and is renewed
# about every 10s (at two thirds of its life).
"$mayfly_ca" init --dir "$work/ca" --name "CLI Test" \
  --dns 127.0.0.1,localhost --address 127.0.0.1:0 \
  --provisioner admin@example.com --password-file ca-password \
  --provisioner-password-file prov-password \
  --min-tls-duration 10s --default-tls-duration 2m --backdate 1s >init.out ||
  fail "mayfly-ca init failed"
fp="$(sed -n 's/^Root fingerprint: \([0-9a-f]\{64\}\)$/\1/p' init.out)"
[ -n "$fp" ] || fail "init printed no root fingerprint: $(cat init.out)"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["authority"]["backdate"] != "1s")' \
  "$work/ca/config/ca.json" || fail "init --backdate 1s did not reach ca.json"

"$mayfly_ca" serve "$work/ca/config/ca.json" --password-file ca-password \
  --tls-lifetime 1h >ca.log 2>&1 &
ca_pid=$!
pids+=("$ca_pid")
port=""
for _ in $(seq 1 300); do
  port="$(sed -n 's/.*Serving HTTPS on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' ca.log | head -n 1)"
  [ -n "$port" ] && break
  kill -0 "$ca_pid" 2>/dev/null || fail "mayfly-ca serve exited before serving"
  sleep 0.1
done
[ -n "$port" ] || fail "mayfly-ca serve printed no 'Serving HTTPS on 127.0.0.1:PORT' within 30s"
url="https://127.0.0.1:$port"

# --- bootstrap -------------------------------------------------------------
wrong_fp="$(printf '%064d' 0)"
expect_fail bad-fp "fingerprint" bootstrap --ca-url "$url" --fingerprint "$wrong_fp"
[ ! -e "$STEPPATH/certs/root_ca.crt" ] || fail "a failed bootstrap wrote the root"
mf bootstrap --ca-url "$url" --fingerprint "$fp" >bootstrap.out ||
  fail "mayfly bootstrap failed"
grep -q "root certificate has been saved in $STEPPATH/certs/root_ca.crt" bootstrap.out ||
  fail "bootstrap printed: $(cat bootstrap.out)"
cmp -s "$STEPPATH/certs/root_ca.crt" "$work/ca/certs/root_ca.crt" ||
  fail "bootstrap saved a root other than the CA's"
[ "$(mode_of "$STEPPATH/certs/root_ca.crt")" = 600 ] || fail "root_ca.crt is not 0600"
python3 - "$STEPPATH/config/defaults.json" "$url" "$fp" "$STEPPATH/certs/root_ca.crt" <<'EOF' ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"ca-url": sys.argv[2], "fingerprint": sys.argv[3], "root": sys.argv[4]}, d
EOF
  fail "defaults.json is not as step writes it: $(cat "$STEPPATH/config/defaults.json")"
expect_fail bootstrap-again "already exists" bootstrap --ca-url "$url" --fingerprint "$fp"

# --- health, roots ------------------------------------------------------------
[ "$(mf health)" = ok ] || fail "mayfly health did not print ok"
mf roots >roots.pem || fail "mayfly roots failed"
got_fp="$(openssl x509 -in roots.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')"
[ "$got_fp" = "$fp" ] || fail "mayfly roots returned $got_fp, want $fp"

# --- token ----------------------------------------------------------------------
token="$(mf token svc.example.com --san svc.example.com --san 127.0.0.1 \
  --provisioner admin@example.com --password-file prov-password 2>token.err)" ||
  fail "mayfly token: $(cat token.err)"
[ "$(tr -cd . <<<"$token" | wc -c)" = 2 ] || fail "mayfly token printed no JWT: $token"
printf '%s\n' "$token" >token.jwt
mf inspect token.jwt >token.txt || fail "mayfly inspect token"
grep -q "subject: *svc.example.com" token.txt && grep -q "127.0.0.1" token.txt &&
  grep -q "admin@example.com" token.txt || fail "inspect of the token: $(cat token.txt)"
expect_fail wrong-pw "decrypt" token svc.example.com --password-file wrong-password
expect_fail no-prov "no provisioner" token svc.example.com \
  --provisioner nobody --password-file prov-password

# --- certificate ----------------------------------------------------------------
expect_fail other-subject "not for the SUBJECT" certificate other.example.com \
  other.crt other.key --token "$token"
[ ! -e other.crt ] && [ ! -e other.key ] || fail "a refused certificate left files"
mf certificate svc.example.com svc.crt svc.key --token "$token" >cert.out 2>&1 ||
  fail "mayfly certificate --token: $(cat cert.out)"
[ "$(mode_of svc.key)" = 600 ] || fail "svc.key is $(mode_of svc.key), want 600"
"$mayfly_ca" certificate verify svc.crt --roots "$STEPPATH/certs/root_ca.crt" >/dev/null ||
  fail "svc.crt does not verify against the root"
mf inspect svc.crt >svc.txt || fail "mayfly inspect svc.crt"
grep -q "svc.example.com" svc.txt && grep -q "127.0.0.1" svc.txt ||
  fail "svc.crt lacks its names: $(cat svc.txt)"
[ "$(grep -c 'BEGIN CERTIFICATE' svc.crt)" = 2 ] || fail "svc.crt is not leaf + intermediate"
# The token is single use.
expect_fail replay "401|lacked necessary authorization" certificate svc.example.com \
  again.crt again.key --token "$token"
expect_fail exists "already exists" certificate svc.example.com svc.crt svc.key \
  --provisioner-password-file prov-password
expect_fail too-short "403|duration" certificate short.example.com short.crt short.key \
  --provisioner-password-file prov-password --not-after 2s

# --- renew (one-shot) --------------------------------------------------------------
cp svc.key svc.key.orig
old="$(serial_of svc.crt)"
mf renew svc.crt svc.key --expires-in 10s >skip.out || fail "renew --expires-in"
grep -q "certificate not renewed: expires in" skip.out || fail "renew --expires-in: $(cat skip.out)"
[ "$(serial_of svc.crt)" = "$old" ] || fail "renew --expires-in renewed a fresh certificate"
mf renew svc.crt svc.key --force >renew.out || fail "mayfly renew --force"
grep -q "Your certificate has been saved in svc.crt" renew.out || fail "renew printed: $(cat renew.out)"
new="$(serial_of svc.crt)"
[ "$new" != "$old" ] || fail "renew kept the serial $old"
cmp -s svc.key svc.key.orig || fail "renew rewrote the key file"
[ "$(mode_of svc.key)" = 600 ] || fail "svc.key is no longer 0600 after renew"
# A renew token instead of mTLS, then SIGUSR1 to the process in a pid file.
sh -c "trap 'echo USR1 >\"$work/usr1\"; exit 0' USR1; while :; do sleep 0.1; done" &
waiter=$!
pids+=("$waiter")
echo "$waiter" >waiter.pid
mf renew svc.crt svc.key --force --mtls=false --signal USR1 \
  --pid-file waiter.pid >renew-token.out || fail "mayfly renew --mtls=false"
[ "$(serial_of svc.crt)" != "$new" ] || fail "renew --mtls=false kept the serial"
for _ in $(seq 1 50); do [ -s usr1 ] && break; sleep 0.1; done
[ -s usr1 ] || fail "renew --signal USR1 --pid-file did not signal the process"
expect_fail bad-signal "not a signal" renew svc.crt svc.key --force --signal NOPE \
  --pid-file waiter.pid

# --- renew --daemon -------------------------------------------------------------
mf certificate daemon.example.com daemon.crt daemon.key \
  --provisioner admin@example.com --provisioner-password-file prov-password \
  --not-after 15s >cert2.out 2>&1 || fail "mayfly certificate --provisioner-password-file: $(cat cert2.out)"
[ "$(mode_of daemon.key)" = 600 ] || fail "daemon.key is not 0600"
cat >hook.sh <<EOF
#!/bin/sh
openssl x509 -in "$work/daemon.crt" -noout -serial >>"$work/renewals"
EOF
chmod +x hook.sh
first="$(serial_of daemon.crt)"
timeout 120 "$mayfly" renew --daemon --exec "$work/hook.sh" daemon.crt daemon.key \
  </dev/null >daemon.log 2>&1 &
daemon_pid=$!
pids+=("$daemon_pid")
for _ in $(seq 1 450); do
  [ -f renewals ] && [ "$(wc -l <renewals)" -ge 2 ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon exited: $(cat daemon.log)"
  sleep 0.1
done
[ -f renewals ] && [ "$(wc -l <renewals)" -ge 2 ] ||
  fail "the daemon did not renew twice within 45s: $(cat daemon.log)"
grep -q "first renewal in" daemon.log || fail "the daemon did not announce its schedule: $(cat daemon.log)"
[ "$(grep -c '^[0-9:]* renewed daemon.example.com' daemon.log)" -ge 2 ] ||
  fail "the daemon did not log its renewals: $(cat daemon.log)"
[ "$(sort -u renewals | wc -l)" = "$(wc -l <renewals)" ] ||
  fail "the hook saw the same certificate twice: $(cat renewals)"
grep -q "$first" renewals && fail "the hook saw the first certificate"
[ "$(mode_of daemon.key)" = 600 ] || fail "daemon.key is not 0600 after renewals"
"$mayfly_ca" certificate verify daemon.crt --roots "$STEPPATH/certs/root_ca.crt" >/dev/null ||
  fail "the daemon's daemon.crt does not verify"

# Revoked while the daemon runs: at its next renewal the CA refuses, and the
# daemon says so and exits 1. Revoke right after a renewal, so that the
# next one (about 10s later) is for the revoked serial.
n="$(wc -l <renewals)"
for _ in $(seq 1 200); do
  [ "$(wc -l <renewals)" -gt "$n" ] && break
  sleep 0.1
done
mf revoke --cert daemon.crt --key daemon.key >revoke.out 2>&1 ||
  fail "mayfly revoke --cert --key: $(cat revoke.out)"
revoked="$(serial_of daemon.crt)"
grep -q "Certificate with Serial Number [0-9]* has been revoked" revoke.out ||
  fail "revoke printed: $(cat revoke.out)"
rc=0
wait "$daemon_pid" || rc=$?
[ "$rc" = 1 ] || fail "the daemon exited $rc after the revocation, want 1: $(cat daemon.log)"
grep -q "STOPPED: the CA refused to renew daemon.example.com" daemon.log ||
  fail "the daemon did not explain why it stopped: $(cat daemon.log)"
[ "$(serial_of daemon.crt)" = "$revoked" ] || fail "daemon.crt changed after the revocation"
expect_fail renew-revoked "401.*lacked necessary authorization" renew daemon.crt daemon.key --force

# --- SIGHUP and SIGTERM ---------------------------------------------------------
mf certificate sig.example.com sig.crt sig.key \
  --provisioner-password-file prov-password >/dev/null 2>&1 || fail "certificate sig"
before="$(serial_of sig.crt)"
"$mayfly" renew --daemon sig.crt sig.key </dev/null >sig.log 2>&1 &
sig_pid=$!
pids+=("$sig_pid")
for _ in $(seq 1 100); do grep -qs "first renewal in" sig.log && break; sleep 0.1; done
kill -HUP "$sig_pid"
for _ in $(seq 1 100); do grep -qs "renewed on SIGHUP" sig.log && break; sleep 0.1; done
grep -q "renewed on SIGHUP" sig.log || fail "SIGHUP did not renew: $(cat sig.log)"
[ "$(serial_of sig.crt)" != "$before" ] || fail "SIGHUP renewed but sig.crt kept its serial"
kill -TERM "$sig_pid"
rc=0
wait "$sig_pid" || rc=$?
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM, want 0: $(cat sig.log)"
grep -q "stopping on TERM" sig.log || fail "the daemon did not say it stops: $(cat sig.log)"

# --- revoke by token ----------------------------------------------------------------
svc_hex="$(serial_of svc.crt)"
mf revoke "0x$svc_hex" --provisioner-password-file prov-password \
  --reason "cli drill" --reasonCode keyCompromise >revoke2.out 2>&1 ||
  fail "mayfly revoke SERIAL: $(cat revoke2.out)"
expect_fail revoke-twice "already revoked" revoke "0x$svc_hex" \
  --provisioner-password-file prov-password
expect_fail renew-revoked2 "401" renew svc.crt svc.key --force
expect_fail bad-reason "reasonCode" revoke 1 --reasonCode 11 --token x

# mayfly-ca logs the refused renewals at WARN level with the status.
for _ in $(seq 1 50); do
  grep -E 'level=warn|WARN' ca.log | grep 'status=401' | grep -q 'path=/renew' && break
  sleep 0.1
done
grep -E 'level=warn|WARN' ca.log | grep 'status=401' | grep -q 'path=/renew' ||
  fail "mayfly-ca's log has no WARN line with status=401 for /renew"
grep -q "$token" ca.log daemon.log sig.log && fail "a one-time token was logged"
for key in svc.key daemon.key sig.key; do
  [ "$(mode_of "$key")" = 600 ] || fail "$key is $(mode_of "$key"), want 600"
done

kill -0 "$ca_pid" 2>/dev/null || fail "mayfly-ca died during the test"
echo "PASS: mayfly CLI (bootstrap, health, roots, token, certificate, renew," \
  "renew --daemon, SIGHUP/SIGTERM, revoke, renew refused after revoke)"

#!/usr/bin/env bash
# The `mayfly` client CLI against a real step-ca: what a step-ca user does
# with mayfly in place of the step CLI.
#
# usage: mayfly_cli_stepca_test.sh MAYFLY STEP STEP_CA
#
# STEP and STEP_CA come from scripts/setup (third_party/go-bin). In a
# temporary directory: `step ca init` a standalone CA on a free 127.0.0.1
# port and start step-ca; then, with a STEPPATH of the client's own,
# mayfly bootstrap (a wrong fingerprint first), health, roots, token (the
# provisioner key fetched from step-ca and decrypted), certificate (and the
# token replayed), renew over mTLS and with a renew token, rekey-free
# renew --expires-in, revoke over mTLS, renew refused after it, revoke by
# token, and renew refused after that too. Nothing is skipped: a missing
# binary fails the test.
set -euo pipefail
interop_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

mayfly="${1:-}"
step="${2:-}"
step_ca="${3:-}"

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${work:-}" ] && [ -f "$work/step-ca.log" ]; then
    echo "---- step-ca log (last 20 lines) ----" >&2
    tail -n 20 "$work/step-ca.log" | cut -c 1-400 >&2
  fi
  exit 1
}
[ -n "$mayfly" ] && [ -n "$step" ] && [ -n "$step_ca" ] ||
  fail "usage: $0 MAYFLY STEP STEP_CA"
for bin in "$mayfly" "$step" "$step_ca"; do
  [ -x "$bin" ] || fail "$bin is missing or not executable (scripts/setup builds step and step-ca)"
done
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
mayfly="$(abs "$mayfly")"
step="$(abs "$step")"
step_ca="$(abs "$step_ca")"
for tool in python3 timeout openssl; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/mayfly-cli-stepca.XXXXXX")"
ca_pid=""
cleanup() {
  local rc=$?
  if [ -n "$ca_pid" ]; then
    kill "$ca_pid" 2>/dev/null || true
    wait "$ca_pid" 2>/dev/null || true
  fi
  if [ -z "${MAYFLY_KEEP_TEST_DIR:-}" ]; then
    rm -rf "$work"
  else
    echo "kept $work" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
cd "$work"

mf() {
  # mf ARGS...: the client with its own STEPPATH, bounded, never reading stdin.
  STEPPATH="$work/client" timeout 60 "$mayfly" "$@" </dev/null
}
. "$interop_dir/cli_lib.sh"

# --- step-ca -----------------------------------------------------------------
printf 'stepca-interop-%s\n' "$RANDOM$RANDOM" >password
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
STEPPATH="$work/ca" "$step" ca init --deployment-type standalone \
  --name MayflyCliInterop --dns 127.0.0.1 --address "127.0.0.1:$port" \
  --provisioner admin --password-file password \
  --provisioner-password-file password >init.out 2>&1 ||
  fail "step ca init: $(cat init.out)"
fp="$(openssl x509 -in "$work/ca/certs/root_ca.crt" -outform der |
  sha256sum | cut -d' ' -f1)"
STEPPATH="$work/ca" "$step_ca" "$work/ca/config/ca.json" \
  --password-file password >step-ca.log 2>&1 &
ca_pid=$!
url="https://127.0.0.1:$port"

# --- bootstrap, health, roots ------------------------------------------------
expect_fail bad-fp "fingerprint" bootstrap --ca-url "$url" \
  --fingerprint "$(printf '%064d' 0)"
booted=0
for _ in $(seq 1 300); do
  kill -0 "$ca_pid" 2>/dev/null || fail "step-ca exited"
  if mf bootstrap --ca-url "$url" --fingerprint "$fp" >bootstrap.out 2>&1; then
    booted=1
    break
  fi
  sleep 0.1
done
[ "$booted" = 1 ] || fail "mayfly bootstrap never succeeded: $(cat bootstrap.out)"
cmp -s "$work/client/certs/root_ca.crt" "$work/ca/certs/root_ca.crt" ||
  fail "bootstrap saved a root other than step-ca's"
[ "$(mf health)" = ok ] || fail "mayfly health did not print ok"
mf roots >roots.pem || fail "mayfly roots failed"
cmp -s <(openssl x509 -in roots.pem -outform der) \
  <(openssl x509 -in "$work/ca/certs/root_ca.crt" -outform der) ||
  fail "mayfly roots returned another certificate"

# --- token, certificate ------------------------------------------------------
token="$(mf token svc.example.com --san svc.example.com --san 127.0.0.1 \
  --provisioner admin --password-file password 2>token.err)" ||
  fail "mayfly token: $(cat token.err)"
mf certificate svc.example.com svc.crt svc.key --token "$token" >cert.out 2>&1 ||
  fail "mayfly certificate: $(cat cert.out)"
[ "$(mode_of svc.key)" = 600 ] || fail "svc.key is not 0600"
openssl verify -CAfile "$work/ca/certs/root_ca.crt" \
  -untrusted <(sed -n '/END CERTIFICATE/,$p' svc.crt | sed 1d) svc.crt >/dev/null ||
  fail "svc.crt does not verify against step-ca's root"
openssl x509 -in svc.crt -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" ||
  fail "svc.crt lacks the token's IP SAN"
expect_fail replay "401|lacked necessary authorization|used" certificate \
  svc.example.com again.crt again.key --token "$token"

# --- renew -------------------------------------------------------------------
old="$(serial_of svc.crt)"
mf renew svc.crt svc.key --expires-in 1h >skip.out || fail "renew --expires-in"
grep -q "certificate not renewed" skip.out || fail "renew --expires-in: $(cat skip.out)"
mf renew svc.crt svc.key --force >renew.out 2>&1 || fail "mayfly renew: $(cat renew.out)"
mtls_serial="$(serial_of svc.crt)"
[ "$mtls_serial" != "$old" ] || fail "renew over mTLS kept the serial"
mf renew svc.crt svc.key --force --mtls=false >renew-token.out 2>&1 ||
  fail "mayfly renew --mtls=false: $(cat renew-token.out)"
[ "$(serial_of svc.crt)" != "$mtls_serial" ] || fail "renew with a token kept the serial"

# --- revoke over mTLS, then renew refused --------------------------------------
mf revoke --cert svc.crt --key svc.key >revoke.out 2>&1 ||
  fail "mayfly revoke --cert --key: $(cat revoke.out)"
grep -q "has been revoked" revoke.out || fail "revoke printed: $(cat revoke.out)"
expect_fail renew-revoked "401|lacked necessary authorization" renew svc.crt svc.key --force

# --- revoke by token, then renew refused -----------------------------------------
mf certificate other.example.com other.crt other.key --provisioner admin \
  --provisioner-password-file password >cert2.out 2>&1 ||
  fail "mayfly certificate --provisioner-password-file: $(cat cert2.out)"
mf revoke "0x$(serial_of other.crt)" --provisioner admin \
  --provisioner-password-file password --reason "cli drill" \
  --reasonCode keyCompromise >revoke2.out 2>&1 ||
  fail "mayfly revoke SERIAL: $(cat revoke2.out)"
expect_fail renew-revoked2 "401|lacked necessary authorization" renew \
  other.crt other.key --force

kill -0 "$ca_pid" 2>/dev/null || fail "step-ca died during the test"
echo "PASS: mayfly CLI against step-ca (bootstrap, health, roots, token," \
  "certificate, renew over mTLS and by token, revoke over mTLS and by token," \
  "renew refused after each)"

#!/usr/bin/env bash
# The unmodified smallstep `step` CLI against `mayfly-ca serve`.
#
# usage: step_cli_test.sh MAYFLY_CA [STEP]
#
# STEP defaults to third_party/go-bin/step (built by scripts/setup); the
# environment variable MAYFLY_STEP_BIN overrides both. A missing step CLI is
# a failure, never a skip: this test is the proof that step works unchanged.
#
# In a temporary directory, with a STEPPATH of its own: mayfly-ca init with
# claims that allow short certificates, mayfly-ca serve on a free 127.0.0.1
# port, then step ca bootstrap, health, roots, provisioner list, token,
# certificate (with --token and with --provisioner-password-file),
# certificate inspect/verify, renew (mTLS and token), renew --daemon with
# short certificates until it has renewed at least once, revoke (mTLS and
# token), and renew of a revoked certificate, which must fail with 401 and
# leave a WARN line with status=401 in mayfly-ca's log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

mayfly_ca="${1:-}"
step="${MAYFLY_STEP_BIN:-${2:-$root/third_party/go-bin/step}}"

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${work:-}" ] && [ -f "$work/ca.log" ]; then
    echo "---- mayfly-ca log (last 40 lines) ----" >&2
    tail -n 40 "$work/ca.log" | cut -c 1-500 >&2
  fi
  exit 1
}
step_() {
  # step_ ARGS...: the step CLI, bounded in time, never prompting.
  timeout 60 "$step" "$@" </dev/null
}

[ -n "$mayfly_ca" ] || fail "usage: $0 MAYFLY_CA [STEP]"
[ -x "$mayfly_ca" ] || fail "mayfly-ca not found or not executable: $mayfly_ca"
[ -x "$step" ] || fail "the step CLI is not at $step: run scripts/setup (it builds step into third_party/go-bin) or set MAYFLY_STEP_BIN"
for tool in python3 timeout; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/mayfly-step-cli.XXXXXX")"
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

# The client's STEPPATH; the CA lives in a folder of its own. HOME too, so
# nothing reads or writes the real ~/.step.
export STEPPATH="$work/client"
export HOME="$work/home"
mkdir -p "$STEPPATH" "$HOME"
cd "$work"
printf 'ca password for the interop test\n' >ca-password
printf 'provisioner password\n' >prov-password

# --- init ---------------------------------------------------------------
# Default certificates of 2m and a 30s minimum, so the daemon renews within
# seconds (step renews at about 2/3 of a certificate's life).
"$mayfly_ca" init --dir "$work/ca" --name "Interop Test" \
  --dns 127.0.0.1,localhost --address 127.0.0.1:0 \
  --provisioner admin@example.com --password-file ca-password \
  --provisioner-password-file prov-password \
  --min-tls-duration 30s --default-tls-duration 2m >init.out ||
  fail "mayfly-ca init failed"
fp="$(sed -n 's/^Root fingerprint: \([0-9a-f]\{64\}\)$/\1/p' init.out)"
[ -n "$fp" ] || fail "init printed no root fingerprint: $(cat init.out)"

# --- serve --------------------------------------------------------------
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
grep -q "X.509 Root Fingerprint: $fp" ca.log ||
  fail "the startup lines do not name the root fingerprint $fp"
url="https://127.0.0.1:$port"
echo "mayfly-ca serving on $url"

# --- bootstrap, health, roots, provisioners -----------------------------
step_ ca bootstrap --ca-url "$url" --fingerprint "$fp" >bootstrap.out 2>&1 ||
  fail "step ca bootstrap: $(cat bootstrap.out)"
cmp -s "$STEPPATH/certs/root_ca.crt" "$work/ca/certs/root_ca.crt" ||
  fail "step ca bootstrap saved a root other than the CA's"

health="$(step_ ca health 2>&1)" || fail "step ca health: $health"
[ "$health" = ok ] || fail "step ca health printed '$health', want 'ok'"

step_ ca roots >roots.pem 2>roots.err || fail "step ca roots: $(cat roots.err)"
[ "$(step_ certificate fingerprint roots.pem)" = "$fp" ] ||
  fail "step ca roots returned a root whose fingerprint is not $fp"

step_ ca provisioner list >provisioners.json 2>prov.err ||
  fail "step ca provisioner list: $(cat prov.err)"
python3 - provisioners.json <<'EOF' || fail "step ca provisioner list: unexpected output: $(cat provisioners.json)"
import json, sys
provs = json.load(open(sys.argv[1]))
assert [p["name"] for p in provs] == ["admin@example.com"], provs
p = provs[0]
assert p["type"] == "JWK" and p["key"]["kid"] and p["encryptedKey"].count(".") == 4, p
assert p["claims"]["minTLSCertDuration"] == "30s", p["claims"]
EOF

# --- token, certificate --------------------------------------------------
# (step wants flags before positional arguments.)
token="$(step_ ca token --san svc.example.com --san 127.0.0.1 \
  --provisioner admin@example.com --provisioner-password-file prov-password \
  svc.example.com 2>token.err)" ||
  fail "step ca token: $(cat token.err)"
[ "$(tr -cd . <<<"$token" | wc -c)" = 2 ] || fail "step ca token printed no JWT: $token"

step_ ca certificate --token "$token" svc.example.com svc.crt svc.key \
  >cert.out 2>&1 || fail "step ca certificate --token: $(cat cert.out)"
# The same token a second time: single use.
if step_ ca certificate --token "$token" svc.example.com again.crt again.key \
  >replay.out 2>&1; then
  fail "a token was accepted twice"
fi

step_ certificate inspect --format json svc.crt >svc.json ||
  fail "step certificate inspect svc.crt"
step_ certificate inspect svc.crt >inspect.txt || fail "step certificate inspect (text)"
grep -q "Interop Test Intermediate CA" inspect.txt ||
  fail "inspect does not name the intermediate as issuer: $(cat inspect.txt)"
python3 - svc.json <<'EOF' || fail "the issued certificate is not as requested: $(cat svc.json)"
import json, sys
from datetime import datetime
c = json.load(open(sys.argv[1]))
assert c["subject"]["common_name"] == ["svc.example.com"], c["subject"]
sans = c["extensions"]["subject_alt_name"]
assert sans["dns_names"] == ["svc.example.com"], sans
assert sans["ip_addresses"] == ["127.0.0.1"], sans
eku = c["extensions"]["extended_key_usage"]
assert eku.get("server_auth") and eku.get("client_auth"), eku
assert c["extensions"]["step_provisioner"]["name"] == "admin@example.com", c["extensions"]
def t(s): return datetime.fromisoformat(s.replace("Z", "+00:00"))
span = (t(c["validity"]["end"]) - t(c["validity"]["start"])).total_seconds()
# The 2m default of the provisioner's claims, backdated by 1m.
assert 170 <= span <= 190, span
EOF
step_ certificate verify --roots "$STEPPATH/certs/root_ca.crt" svc.crt ||
  fail "step certificate verify svc.crt against the root"

# The online flow: step fetches the encrypted provisioner key and decrypts it.
step_ ca certificate --provisioner admin@example.com \
  --provisioner-password-file prov-password --not-after 1m \
  daemon.example.com daemon.crt daemon.key >cert2.out 2>&1 ||
  fail "step ca certificate --provisioner-password-file: $(cat cert2.out)"

serial_of() { step_ certificate inspect --format json "$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["serial_number"])'; }

# --- renew ----------------------------------------------------------------
old_serial="$(serial_of svc.crt)"
step_ ca renew --force svc.crt svc.key >renew.out 2>&1 ||
  fail "step ca renew (mTLS): $(cat renew.out)"
new_serial="$(serial_of svc.crt)"
[ "$new_serial" != "$old_serial" ] || fail "step ca renew kept the serial $old_serial"
step_ certificate verify --roots "$STEPPATH/certs/root_ca.crt" svc.crt ||
  fail "the renewed certificate does not verify"

# Renewal authorised by a token signed with the certificate's key (what
# step does for expired certificates) instead of mTLS.
step_ ca certificate --provisioner admin@example.com \
  --provisioner-password-file prov-password \
  token-renew.example.com tr.crt tr.key >cert3.out 2>&1 || fail "step ca certificate: $(cat cert3.out)"
tr_serial="$(serial_of tr.crt)"
step_ ca renew --force --mtls=false tr.crt tr.key >renew-token.out 2>&1 ||
  fail "step ca renew --mtls=false: $(cat renew-token.out)"
[ "$(serial_of tr.crt)" != "$tr_serial" ] || fail "renew --mtls=false kept the serial"

# --- renew --daemon ---------------------------------------------------------
# daemon.crt lives 2m (1m requested + 1m backdate): the daemon's first
# renewal is due within about 20s. --exec runs without a shell.
cat >renew-hook.sh <<EOF
#!/bin/sh
echo renewed >>"$work/renewals"
EOF
chmod +x renew-hook.sh
daemon_serial="$(serial_of daemon.crt)"
timeout 120 "$step" ca renew --daemon --exec "$work/renew-hook.sh" \
  daemon.crt daemon.key </dev/null >daemon.log 2>&1 &
daemon_pid=$!
pids+=("$daemon_pid")
for _ in $(seq 1 900); do
  [ -s renewals ] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "step ca renew --daemon exited: $(cat daemon.log)"
  sleep 0.1
done
[ -s renewals ] || fail "step ca renew --daemon did not renew within 90s: $(cat daemon.log)"
kill "$daemon_pid" 2>/dev/null || true
wait "$daemon_pid" 2>/dev/null || true
grep -q "certificate renewed" daemon.log ||
  fail "the daemon did not log a renewal: $(cat daemon.log)"
[ "$(serial_of daemon.crt)" != "$daemon_serial" ] ||
  fail "the daemon's exec hook ran but daemon.crt has the old serial"

# --- revoke -----------------------------------------------------------------
revoked_serial="$(serial_of svc.crt)"
step_ ca revoke --cert svc.crt --key svc.key >revoke.out 2>&1 ||
  fail "step ca revoke --cert --key: $(cat revoke.out)"
grep -q "Certificate with Serial Number $revoked_serial has been revoked" revoke.out ||
  fail "step ca revoke printed: $(cat revoke.out)"

# Revocation by serial with a revoke token (the provisioner flow).
daemon_serial="$(serial_of daemon.crt)"
revoke_token="$(step_ ca token --revoke --provisioner admin@example.com \
  --provisioner-password-file prov-password "$daemon_serial" 2>token2.err)" ||
  fail "step ca token --revoke: $(cat token2.err)"
step_ ca revoke --token "$revoke_token" --reason "interop drill" \
  --reasonCode 1 "$daemon_serial" >revoke2.out 2>&1 ||
  fail "step ca revoke --token SERIAL: $(cat revoke2.out)"

# A revoked certificate is never renewed: 401, which step shows as the
# message of the CA's error body.
if step_ ca renew --force svc.crt svc.key >renew-revoked.out 2>&1; then
  fail "step ca renew of a revoked certificate succeeded"
fi
grep -Eq "Unauthorized|lacked necessary authorization" renew-revoked.out ||
  fail "renew of a revoked certificate failed, but not as unauthorised: $(cat renew-revoked.out)"
if step_ ca renew --force daemon.crt daemon.key >renew-revoked2.out 2>&1; then
  fail "step ca renew of a certificate revoked by token succeeded"
fi
# mayfly-ca logs the refused renewal at WARN level with the status.
for _ in $(seq 1 50); do
  grep -E 'level=warn|WARN' ca.log | grep 'status=401' | grep -q 'path=/renew' && break
  sleep 0.1
done
grep -E 'level=warn|WARN' ca.log | grep 'status=401' | grep -q 'path=/renew' ||
  fail "mayfly-ca's log has no WARN line with status=401 for /renew"
grep -q "$token" ca.log && fail "mayfly-ca logged a one-time token"

kill -0 "$ca_pid" 2>/dev/null || fail "mayfly-ca died during the test"
echo "PASS: step CLI interop (bootstrap, health, roots, provisioners, token," \
  "certificate, renew, renew --daemon, revoke, renew refused after revoke)"

#!/usr/bin/env bash
# `mayfly-ca serve` and its signals, on a real process.
#
# usage: serve_signals_test.sh MAYFLY_CA
#
# - SIGHUP after `mayfly-ca provisioner add`: the new provisioner is served
#   by GET /provisioners without a restart; after `provisioner remove` it is
#   gone again.
# - SIGHUP with a config that does not load (broken JSON; claims that do not
#   resolve): an error line in the log, the running provisioners kept, the
#   server still answering.
# - SIGTERM while a request is in flight (headers sent, body not yet): new
#   connections are refused, the request completes with its response, and
#   the process exits 0. SIGINT on an idle server: exit 0.
set -euo pipefail

mayfly_ca="${1:-}"

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${work:-}" ] && [ -f "$work/ca.log" ]; then
    echo "---- mayfly-ca log (last 30 lines) ----" >&2
    tail -n 30 "$work/ca.log" | cut -c 1-500 >&2
  fi
  exit 1
}

[ -n "$mayfly_ca" ] || fail "usage: $0 MAYFLY_CA"
[ -x "$mayfly_ca" ] || fail "mayfly-ca not found or not executable: $mayfly_ca"
command -v python3 >/dev/null || fail "python3 is needed"

work="$(mktemp -d "${TMPDIR:-/tmp}/mayfly-signals.XXXXXX")"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
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
cd "$work"

printf 'signals test password\n' >password
"$mayfly_ca" init --dir "$work/ca" --name "Signals Test" --dns 127.0.0.1 \
  --address 127.0.0.1:0 --provisioner admin --password-file password \
  >init.out || fail "mayfly-ca init failed"
config="$work/ca/config/ca.json"
root="$work/ca/certs/root_ca.crt"

# https.py: GET a path, or hold a POST in flight (see the in-flight step).
cat >https.py <<'EOF'
import json, os, socket, ssl, sys, time

def connect(port, root):
    ctx = ssl.create_default_context(cafile=root)
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1")

def read_response(conn):
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = None
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length is not None and len(body) >= length:
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), body.decode()

mode, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "get":
    conn = connect(port, root)
    conn.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                  % sys.argv[4]).encode())
    status, body = read_response(conn)
    if " 200 " not in status + " ":
        sys.exit("GET %s: %s %s" % (sys.argv[4], status, body))
    print(body)
elif mode == "inflight":
    # Send the headers and half of the body, tell the shell, wait for its
    # go-ahead (it sends SIGTERM meanwhile), then finish the request.
    marker, go = sys.argv[4], sys.argv[5]
    body = json.dumps({"csr": "", "ott": ""}).encode()
    conn = connect(port, root)
    conn.sendall(b"POST /1.0/sign HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body[:5])
    open(marker, "w").close()
    deadline = time.time() + 20
    while not os.path.exists(go):
        if time.time() > deadline:
            sys.exit("no go-ahead from the test")
        time.sleep(0.05)
    conn.sendall(body[5:])
    status, text = read_response(conn)
    print(status)
    print(text)
    reply = json.loads(text)
    # An empty CSR is refused, with step-ca's JSON error body: the handler
    # ran to the end although the server was shutting down.
    if not status.startswith("HTTP/1.1 400") or reply.get("status") != 400:
        sys.exit("unexpected answer to the in-flight request: %s %s" % (status, text))
EOF

start_server() {  # start_server LOG: sets ca_pid and port
  "$mayfly_ca" serve "$config" --password-file password >"$1" 2>&1 &
  ca_pid=$!
  pids+=("$ca_pid")
  port=""
  for _ in $(seq 1 300); do
    port="$(sed -n 's/.*Serving HTTPS on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1)"
    [ -n "$port" ] && return 0
    kill -0 "$ca_pid" 2>/dev/null || fail "mayfly-ca serve exited at start: $(cat "$1")"
    sleep 0.1
  done
  fail "mayfly-ca serve printed no 'Serving HTTPS on 127.0.0.1:PORT' within 30s"
}
provisioner_names() {
  python3 https.py get "$port" "$root" "/provisioners" |
    python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["provisioners"]))'
}
wait_for_names() {  # wait_for_names "WANTED NAMES" WHAT
  local names=""
  for _ in $(seq 1 100); do
    names="$(provisioner_names)" || fail "GET /provisioners failed"
    [ "$names" = "$1" ] && return 0
    sleep 0.1
  done
  fail "$2: /provisioners lists '$names', want '$1'"
}
wait_for_log() {  # wait_for_log PATTERN WHAT
  for _ in $(seq 1 100); do
    grep -q -- "$1" ca.log && return 0
    sleep 0.1
  done
  fail "$2: no log line matching '$1'"
}

start_server ca.log
[ "$(provisioner_names)" = admin ] || fail "a fresh CA serves provisioners '$(provisioner_names)'"

# --- SIGHUP: a provisioner added on disk is served --------------------------
"$mayfly_ca" provisioner add second --config "$config" --password-file password \
  >add.out || fail "provisioner add: $(cat add.out)"
kill -HUP "$ca_pid"
wait_for_names "admin second" "after provisioner add and SIGHUP"
wait_for_log "SIGHUP: reloaded" "after a good reload"

# --- SIGHUP: configs that do not load are refused, the old one kept ----------
cp "$config" good.json
printf '{ "root": ' >"$config"  # truncated JSON
kill -HUP "$ca_pid"
wait_for_log "level=error.*reloading .* failed; keeping the running configuration" \
  "after a reload of broken JSON"
kill -0 "$ca_pid" 2>/dev/null || fail "mayfly-ca died on a broken config"
[ "$(provisioner_names)" = "admin second" ] ||
  fail "after a refused reload /provisioners lists '$(provisioner_names)'"

python3 - good.json "$config" <<'EOF'
import json, sys
config = json.load(open(sys.argv[1]))
# Claims that cannot resolve (min above max): the whole config is refused.
config["authority"]["provisioners"][1]["claims"] = {
    "minTLSCertDuration": "2h", "maxTLSCertDuration": "1h"}
json.dump(config, open(sys.argv[2], "w"), indent=4)
EOF
errors_before="$(grep -c 'level=error' ca.log || true)"
kill -HUP "$ca_pid"
for _ in $(seq 1 100); do
  [ "$(grep -c 'level=error' ca.log || true)" -gt "$errors_before" ] && break
  sleep 0.1
done
[ "$(grep -c 'level=error' ca.log || true)" -gt "$errors_before" ] ||
  fail "a reload of a config with bad claims logged no error"
grep 'level=error' ca.log | tail -n 1 | grep -q "minTLSCertDuration\|maxTLSCertDuration" ||
  fail "the error line does not say what is wrong: $(grep 'level=error' ca.log | tail -n 1)"
[ "$(provisioner_names)" = "admin second" ] ||
  fail "after a refused reload /provisioners lists '$(provisioner_names)'"

# --- SIGHUP: a removed provisioner is no longer served -----------------------
cp good.json "$config"
"$mayfly_ca" provisioner remove second --config "$config" >remove.out ||
  fail "provisioner remove: $(cat remove.out)"
kill -HUP "$ca_pid"
wait_for_names "admin" "after provisioner remove and SIGHUP"

# --- SIGTERM with a request in flight ----------------------------------------
python3 https.py inflight "$port" "$root" "$work/sent" "$work/go" >inflight.out 2>&1 &
client_pid=$!
pids+=("$client_pid")
for _ in $(seq 1 200); do
  [ -e sent ] && break
  kill -0 "$client_pid" 2>/dev/null || fail "the in-flight client died: $(cat inflight.out)"
  sleep 0.05
done
[ -e sent ] || fail "the in-flight client did not connect"
# Let the server take up the request (it then waits, up to its 15s read
# timeout, for the rest of the body): SIGTERM must find it in flight.
sleep 0.5
kill -TERM "$ca_pid"
wait_for_log "SIGTERM: shutting down" "after SIGTERM"
# The listener is closed at once: a new connection is refused while the
# in-flight request is still being served.
refused=0
for _ in $(seq 1 50); do
  if ! python3 - "$port" <<'EOF' 2>/dev/null; then
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
EOF
    refused=1
    break
  fi
  sleep 0.1
done
[ "$refused" = 1 ] || fail "mayfly-ca still accepts connections 5s after SIGTERM"
kill -0 "$ca_pid" 2>/dev/null ||
  fail "mayfly-ca exited with a request in flight instead of draining it"
touch go
wait "$client_pid" || fail "the in-flight request did not complete: $(cat inflight.out)"
set +e
wait "$ca_pid"
rc=$?
set -e
[ "$rc" = 0 ] || fail "mayfly-ca exited $rc after SIGTERM, want 0"
grep -q "stopped" ca.log || fail "no 'stopped' line after SIGTERM"
pids=()  # both reaped

# --- SIGINT on an idle server --------------------------------------------------
start_server ca2.log
kill -INT "$ca_pid"
set +e
timeout 20 tail --pid="$ca_pid" -f /dev/null
wait "$ca_pid"
rc=$?
set -e
[ "$rc" = 0 ] || fail "mayfly-ca exited $rc after SIGINT, want 0"
pids=()

echo "PASS: SIGHUP reload (add, refuse broken, remove), SIGTERM drains" \
  "in-flight requests and exits 0, SIGINT exits 0"

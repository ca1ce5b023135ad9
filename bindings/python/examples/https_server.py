#!/usr/bin/env python3
"""An HTTPS server (Python's standard ssl module) whose certificate rotates.

Everything runs in this one process, as a small deployment would split it:
a mayfly CA serving step-ca's API on 127.0.0.1, a client bootstrapped by the
root's fingerprint that gets a short-lived certificate, mayfly's renewal
scheduler renewing it over mTLS into rotating credentials, and an
http.server whose every new connection uses the newest certificate. One line
is printed per rotation.

    MAYFLY_LIBRARY=build/libmayfly.so python3 https_server.py --seconds 20

With --self-test, client threads fetch pages over HTTPS (verifying against
the mayfly root with Python's OpenSSL) the whole time and a summary line
reports requests, failures and distinct certificates seen.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import http.server
import json
import socket
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Tuple

import mayfly

PASSWORD = "example password"


class RotatingHTTPSServer(http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer that wraps each accepted connection with the
    newest context; the handshake runs on the connection's thread."""

    daemon_threads = True

    def __init__(self, addr: Tuple[str, int], rot: mayfly.RotatingSSLContext) -> None:
        self.rot = rot
        super().__init__(addr, Hello)

    def get_request(self) -> Tuple[socket.socket, Tuple[str, int]]:
        conn, addr = self.socket.accept()
        return self.rot.wrap_socket(conn, do_handshake_on_connect=False), addr


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello over TLS, certificate generation {self.server.rot.generation}\n".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the rotations are the interesting output


def make_ca(dir: Path, lifetime: float) -> Tuple[mayfly.Ca, mayfly.InitResult]:
    """A new CA in `dir` with a provisioner "short" issuing `lifetime`-second
    certificates."""
    pki = mayfly.init_pki(
        dir, PASSWORD, name="Example", dns_names=["127.0.0.1", "localhost"], kdf_iterations=10000
    )
    # Certificates start `backdate` before they are issued (1 minute by
    # default, for clock skew). For certificates of seconds that would
    # dominate their lifetime, so this demo CA backdates by 1 second.
    config = Path(pki.config_path)
    cfg = json.loads(config.read_text())
    cfg.setdefault("authority", {})["backdate"] = "1s"
    config.write_text(json.dumps(cfg, indent=2))
    ca = mayfly.Ca.open(pki.config_path, PASSWORD, store="memory:")
    ca.add_provisioner(
        "short",
        mayfly.Key.generate(),
        PASSWORD,
        min_duration=1,
        default_duration=lifetime,
        max_duration=max(lifetime, 3600),
        kdf_iterations=10000,
    )
    return ca, pki


def self_test(url: str, root_path: str, until: float, out: Dict[str, object]) -> None:
    ctx = ssl.create_default_context(cafile=root_path)
    host, port = url.split("//")[1].split(":")
    lock = threading.Lock()
    seen: Dict[str, int] = {}
    counts = {"requests": 0, "failures": 0}

    def worker() -> None:
        while time.monotonic() < until:
            try:
                # A new connection (and handshake) per request.
                conn = http.client.HTTPSConnection(host, int(port), timeout=5, context=ctx)
                try:
                    conn.request("GET", "/")
                    der = conn.sock.getpeercert(binary_form=True) or b""
                    reply = conn.getresponse()
                    body = reply.read()
                finally:
                    conn.close()
                if reply.status != 200 or not body.startswith(b"hello"):
                    raise RuntimeError(f"bad reply {reply.status} {body[:40]!r}")
                with lock:
                    counts["requests"] += 1
                    fp = hashlib.sha256(der).hexdigest()
                    seen[fp] = seen.get(fp, 0) + 1
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    counts["failures"] += 1
                    if counts["failures"] <= 5:
                        print(f"request failed: {e!r}", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.update(counts, certificates=len(seen))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=0, help="run this long (0: until Ctrl-C)")
    p.add_argument("--lifetime", type=float, default=6, help="certificate lifetime, seconds")
    p.add_argument("--port", type=int, default=0, help="HTTPS port (0: any free one)")
    p.add_argument("--self-test", action="store_true", help="fetch pages the whole time")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="mayfly-example-") as tmp:
        ca, pki = make_ca(Path(tmp), args.lifetime)
        ca_server = ca.serve("127.0.0.1:0", log=lambda line: None)
        # The service's side: trust the CA by its fingerprint, get a token
        # (here from the CA's own provisioner: normally handed over by an
        # operator or orchestrator), and a certificate.
        client = mayfly.Client.bootstrap(ca_server.url, pki.root_fingerprint)
        key = mayfly.Key.generate()
        signer = mayfly.TokenSigner.from_ca(ca, "short", PASSWORD)
        token = signer.sign("localhost", ca_url=ca_server.url, sans=["localhost", "127.0.0.1"])
        chain = client.sign(key, token)

        creds = mayfly.Credentials()
        creds.set(chain, key)
        rot = mayfly.RotatingSSLContext(creds)
        start = time.monotonic()
        last = [chain.leaf.fingerprint]

        def rotated(generation: int) -> None:
            leaf = creds.chain().leaf
            if leaf.fingerprint == last[0]:
                return  # the scheduler installing the pair it was given
            last[0] = leaf.fingerprint
            print(
                f"rotated: generation {generation} serial {leaf.serial} "
                f"not_after {leaf.not_after:%H:%M:%S} (t+{time.monotonic() - start:.1f}s)",
                flush=True,
            )

        rot.on_rotate(rotated)

        def on_event(e: mayfly.Event) -> None:
            if e.type != mayfly.EventType.RENEWED:
                print(f"renewal event: {e.type.name} {e.message}", file=sys.stderr, flush=True)

        scheduler = mayfly.Scheduler(client=client, on_event=on_event, first_retry=0.5, max_retry=5)
        scheduler.add(chain, key, credentials=creds)
        scheduler.start()

        httpd = RotatingHTTPSServer(("127.0.0.1", args.port), rot)
        url = f"https://127.0.0.1:{httpd.server_address[1]}"
        print(f"serving {url} (root {pki.root_path}); certificate serial {chain.leaf.serial}", flush=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        summary: Dict[str, object] = {}
        try:
            if args.self_test:
                until = time.monotonic() + (args.seconds or 10)
                self_test(url, pki.root_path, until, summary)
            elif args.seconds:
                time.sleep(args.seconds)
            else:
                threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            httpd.shutdown()
            httpd.server_close()
            scheduler.close()
            ca_server.close()
            client.close()
            ca.close()
        if summary:
            print(
                f"self-test: requests {summary['requests']} failures {summary['failures']} "
                f"certificates {summary['certificates']}",
                flush=True,
            )
            return 0 if summary["failures"] == 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

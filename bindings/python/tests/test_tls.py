"""Real TLS handshakes with Python's own ssl module (OpenSSL 3) over
certificates mayfly issues and rotates, in one process with libmayfly
(BoringSSL inside, nothing of it exported)."""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Dict, List, Set

import pytest

import mayfly
from conftest import issue, short_ca


class _TlsServer:
    """Accepts on 127.0.0.1, wraps every connection with the newest context
    of ``rot``, answers each b"ping" with b"pong"."""

    def __init__(self, rot: mayfly.RotatingSSLContext) -> None:
        self.rot = rot
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.errors: List[BaseException] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            with self.rot.wrap_socket(conn) as tls:
                if tls.recv(4) == b"ping":
                    tls.sendall(b"pong")
        except (ssl.SSLError, OSError) as e:
            self.errors.append(e)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.sock.close()


def test_rotation_with_real_handshakes(fast_pki: mayfly.InitResult) -> None:
    # 3-second certificates (plus a 1 s backdate): renewed every ~2.5 s.
    ca, signer = short_ca(fast_pki, 3)
    chain, key = issue(ca, signer, "localhost", sans=["localhost", "127.0.0.1"])
    nb, na = chain.leaf.validity
    assert (na - nb).total_seconds() == pytest.approx(4, abs=1)

    creds = mayfly.Credentials()
    creds.set(chain, key)
    rot = mayfly.RotatingSSLContext(creds)
    rotations: List[int] = []
    rot.on_rotate(rotations.append)
    events: List[mayfly.Event] = []
    sched = mayfly.Scheduler(ca=ca, on_event=events.append, first_retry=0.2, max_retry=1)
    sched.add(chain, key, credentials=creds)
    server = _TlsServer(rot)
    sched.start()

    client_ctx = ssl.create_default_context(cafile=fast_pki.root_path)
    seen: Dict[str, int] = {}
    failures: List[str] = []
    handshakes = [0]
    lock = threading.Lock()
    stop = time.monotonic() + 6.5

    def client() -> None:
        while time.monotonic() < stop:
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
                    with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        der = tls.getpeercert(binary_form=True)
                        assert der is not None
                        tls.sendall(b"ping")
                        assert tls.recv(4) == b"pong"
                fp = hashlib.sha256(der).hexdigest()
                with lock:
                    handshakes[0] += 1
                    seen[fp] = seen.get(fp, 0) + 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                with lock:
                    failures.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sched.close()
    server.close()

    renewed = [e for e in events if e.type == mayfly.EventType.RENEWED]
    print("handshakes", handshakes[0], "certs", sorted(seen.values()), "events", [e.type.name for e in events])
    assert failures == [], failures[:5]
    assert server.errors == [], server.errors[:5]
    assert handshakes[0] > 50
    assert len(seen) >= 2, (seen, events)
    assert len(renewed) >= 2 and len(rotations) >= 2
    # Every certificate a client saw is one mayfly issued for this entry.
    issued = {chain.leaf.fingerprint} | {e.chain.leaf.fingerprint for e in renewed if e.chain}
    assert set(seen) <= issued
    assert not creds.callback_errors and not sched.callback_errors


def test_mutual_tls_with_openssl_verifying_mayfly_chains(
    ca: mayfly.Ca, signer: mayfly.TokenSigner, pki: mayfly.InitResult, tmp_path: Path
) -> None:
    """Python's OpenSSL on both ends of an mTLS handshake, each side
    presenting a mayfly certificate and verifying the other's chain against
    the mayfly root; hashlib agrees with mayfly's fingerprints."""
    assert ssl.OPENSSL_VERSION.startswith("OpenSSL 3")
    maps = Path("/proc/self/maps").read_text()
    assert "libmayfly" in maps
    assert "libssl.so.3" in maps or "libssl3" in maps or "_ssl" in maps

    srv_chain, srv_key = issue(ca, signer, "localhost", sans=["localhost"])
    cli_chain, cli_key = issue(ca, signer, "client.internal")
    assert hashlib.sha256(srv_chain.leaf.to_der()).hexdigest() == srv_chain.leaf.fingerprint

    def ctx_for(chain: mayfly.Chain, key: mayfly.Key, server: bool) -> ssl.SSLContext:
        creds = mayfly.Credentials()
        creds.set(chain, key)
        ctx = mayfly.RotatingSSLContext(
            creds,
            server_side=server,
            configure=lambda c: (c.load_verify_locations(pki.root_path),
                                 setattr(c, "verify_mode", ssl.CERT_REQUIRED)),
        ).context
        return ctx

    server_ctx = ctx_for(srv_chain, srv_key, True)
    client_ctx = ctx_for(cli_chain, cli_key, False)
    lsock = socket.create_server(("127.0.0.1", 0))
    port = lsock.getsockname()[1]
    peer: Dict[str, object] = {}

    def serve() -> None:
        conn, _ = lsock.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            peer["client"] = tls.getpeercert()
            tls.sendall(b"hi")

    t = threading.Thread(target=serve)
    t.start()
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.recv(2) == b"hi"
            server_cert = tls.getpeercert()
    t.join()
    lsock.close()
    client_cert = peer["client"]
    assert isinstance(client_cert, dict)
    assert dict(x[0] for x in client_cert["subject"])["commonName"] == "client.internal"
    assert dict(x[0] for x in server_cert["subject"])["commonName"] == "localhost"

    # A certificate from another CA is refused by OpenSSL.
    other_ctx = ssl.create_default_context()
    lsock = socket.create_server(("127.0.0.1", 0))
    port = lsock.getsockname()[1]
    done: Set[str] = set()

    def serve_once() -> None:
        conn, _ = lsock.accept()
        try:
            server_ctx.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            done.add("refused")

    t = threading.Thread(target=serve_once)
    t.start()
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            other_ctx.wrap_socket(raw, server_hostname="localhost")
    t.join()
    lsock.close()


def test_sni_callback_switches_to_the_newest_context(
    ca: mayfly.Ca, signer: mayfly.TokenSigner, pki: mayfly.InitResult
) -> None:
    first, key = issue(ca, signer, "localhost", sans=["localhost"])
    creds = mayfly.Credentials()
    creds.set(first, key)
    rot = mayfly.RotatingSSLContext(creds)
    base = rot.context  # the context the listener was made with
    base.sni_callback = rot.sni_callback
    client_ctx = ssl.create_default_context(cafile=pki.root_path)

    def handshake() -> str:
        lsock = socket.create_server(("127.0.0.1", 0))
        port = lsock.getsockname()[1]

        def serve() -> None:
            conn, _ = lsock.accept()
            with base.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"x")

        t = threading.Thread(target=serve)
        t.start()
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.recv(1)
                der = tls.getpeercert(binary_form=True)
        t.join()
        lsock.close()
        assert der is not None
        return hashlib.sha256(der).hexdigest()

    assert handshake() == first.leaf.fingerprint
    second = ca.renew(first)
    creds.set(second, key)
    assert rot.generation == 2 and rot.context is not base
    # The listener still wraps with `base`; SNI moves the handshake over.
    assert handshake() == second.leaf.fingerprint

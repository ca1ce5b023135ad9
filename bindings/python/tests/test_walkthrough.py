"""The seed walkthrough in one process: a CA serving step-ca's API on
127.0.0.1, a client bootstrapped by fingerprint, a certificate signed,
renewed, passively revoked, and its renewal refused. Then the rest of the
client's API against the same server."""

from __future__ import annotations

import json
import socket
import threading
from typing import Iterator, List

import pytest

import mayfly
from conftest import PASSWORD


@pytest.fixture
def served(ca: mayfly.Ca) -> Iterator["tuple[mayfly.Ca, mayfly.Server, List[str]]"]:
    lines: List[str] = []
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            lines.append(line)

    with mayfly.Server(ca, address="127.0.0.1:0", worker_threads=2, json_logs=True, log=log) as srv:
        yield ca, srv, lines


def test_seed_walkthrough(served: "tuple[mayfly.Ca, mayfly.Server, List[str]]") -> None:
    ca, srv, lines = served
    assert srv.port > 0
    url = srv.url
    fingerprint = ca.root_fingerprint
    signer = ca.token_signer("admin", PASSWORD)

    with mayfly.Client.bootstrap(url, fingerprint) as client:
        client.health()
        # Token and sign.
        key = mayfly.Key.generate()
        token = signer.sign("svc.internal", ca_url=url, root_fingerprint=fingerprint)
        chain = client.sign(key, token)
        assert chain.leaf.common_name == "svc.internal"
        assert chain[1].common_name.endswith("Intermediate CA")

        # Renew over mTLS.
        renewed = client.renew(chain, key)
        assert renewed.leaf.serial != chain.leaf.serial
        assert renewed.leaf.not_after >= chain.leaf.not_after

        # Passive revocation (a revoke token), then the renewal is refused.
        client.revoke(
            renewed.leaf.serial,
            1,
            "key compromise",
            token=signer.revoke_token(renewed.leaf.serial, ca_url=url),
        )
        with pytest.raises((mayfly.Unauthenticated, mayfly.PermissionDenied)) as ei:
            client.renew(renewed, key)
        request_id = ei.value.message.rsplit("request id ", 1)[-1].rstrip(")")
        # Revocation follows lineage downwards only: the certificate the
        # revoked one was renewed from is not revoked and still renews.
        client.renew(chain, key)
        srv.stop(grace=1)
    # The CA's log tells why, under the request id the client was given.
    entries = [json.loads(l) for l in lines]
    assert [e["status"] for e in entries if e["path"] == "/sign"] == [201]
    refused = [e for e in entries if e.get("request-id") == request_id]
    assert len(refused) == 1, lines
    assert refused[0]["status"] == 401
    assert refused[0]["level"] == "warning"
    assert "revoked" in refused[0]["error"]


def test_client_api(served: "tuple[mayfly.Ca, mayfly.Server, List[str]]") -> None:
    ca, srv, _ = served
    url = srv.url
    signer = ca.token_signer("admin", PASSWORD)
    client = mayfly.Client(url, ca.roots())
    assert client.roots()[0].fingerprint == ca.root_fingerprint
    assert [p["name"] for p in client.provisioners()] == ["admin"]
    assert json.loads(client.provisioners_json())["provisioners"][0]["type"] == "JWK"

    key = mayfly.Key.generate()
    csr = mayfly.Csr(key, "csr.internal", ["csr.internal", "127.0.0.1"])
    chain = client.sign_csr(csr, signer.sign("csr.internal", ca_url=url, sans=["csr.internal", "127.0.0.1"]))
    assert "127.0.0.1" in chain.leaf.inspect()

    with pytest.raises(mayfly.InvalidArgument):
        client.sign(key, "bad.token.here")  # checked before it is sent
    # A well-formed token from a key the CA does not know.
    stranger = mayfly.TokenSigner(mayfly.Key.generate(), "admin")
    with pytest.raises(mayfly.Unauthenticated):
        client.sign(key, stranger.sign("csr.internal", ca_url=url))
    with pytest.raises(mayfly.PermissionDenied):
        client.sign_csr(
            mayfly.Csr(key, "other.internal", ["other.internal"]),
            signer.sign("csr.internal", ca_url=url),
        )

    again = client.renew_with_token(chain, key)
    assert again.leaf.common_name == "csr.internal"

    new_key = mayfly.Key.generate()
    rekeyed = client.rekey(again, key, new_key)
    mayfly.Credentials().set(rekeyed, new_key)

    # Revocation over mTLS by the certificate itself.
    client.revoke(rekeyed.leaf.serial, chain=rekeyed, key=new_key)
    with pytest.raises((mayfly.Unauthenticated, mayfly.PermissionDenied)):
        client.renew(rekeyed, new_key)
    client.close()


def test_client_errors(
    served: "tuple[mayfly.Ca, mayfly.Server, List[str]]", fast_pki: mayfly.InitResult
) -> None:
    ca, srv, _ = served
    with pytest.raises(mayfly.MayflyError) as ei:
        mayfly.Client.bootstrap(srv.url, "00" * 32)
    assert ei.value.code != mayfly.StatusCode.OK
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.Client.bootstrap(srv.url, "not hex")
    # A port nobody listens on.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    dead = mayfly.Client(f"https://127.0.0.1:{port}", ca.roots())
    with pytest.raises(mayfly.Unavailable):
        dead.health()
    # A client that trusts another CA's root refuses the server.
    stranger = mayfly.Chain.parse(open(fast_pki.root_path, "rb").read())
    with pytest.raises(mayfly.MayflyError):
        mayfly.Client(srv.url, stranger).health()
    mayfly.Client(srv.url, ca.roots()).health()


def test_server_needs_ca_alive(pki: mayfly.InitResult) -> None:
    # Closing the CA while its server runs only takes effect when the
    # server is gone: the server keeps the CA's C object alive.
    ca = mayfly.Ca.open(pki.config_path, PASSWORD, store="memory:")
    srv = ca.serve()
    ca.close()
    mayfly.Client.bootstrap(srv.url, pki.root_fingerprint).health()
    srv.close()
    with pytest.raises(ValueError):
        srv.port


def test_scheduler_renews_through_the_client(
    served: "tuple[mayfly.Ca, mayfly.Server, List[str]]"
) -> None:
    ca, srv, _ = served
    signer = ca.token_signer("admin", PASSWORD)
    client = mayfly.Client.bootstrap(srv.url, ca.root_fingerprint)
    key = mayfly.Key.generate()
    chain = client.sign(key, signer.sign("sched.internal", ca_url=srv.url))
    events: List[mayfly.Event] = []
    a, b = mayfly.Credentials(), mayfly.Credentials()
    with mayfly.Scheduler(client=client, after_expiry=True, on_event=events.append) as sched:
        entry = sched.add(chain, key, credentials=[a, b])
        when = sched.next_deadline
        assert when is not None
        assert sched.run_due(when) == 1
        assert [e.type for e in events] == [mayfly.EventType.RENEWED]
        renewed = events[0].chain
        assert renewed is not None and renewed.leaf.serial != chain.leaf.serial
        assert a.current().chain_pem == b.current().chain_pem == renewed.to_pem()
        assert sched.entry_info(entry).chain.leaf == renewed.leaf
    client.close()

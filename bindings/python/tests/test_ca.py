"""init_pki, the in-process CA, provisioners and tokens."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import mayfly
from conftest import CA_URL, KDF, PASSWORD, issue


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_init_pki(tmp_path: Path, pki: mayfly.InitResult) -> None:
    assert Path(pki.config_path).is_file()
    assert Path(pki.root_path).is_file()
    assert len(pki.root_fingerprint) == 64
    assert pki.provisioner_kid
    root = mayfly.Certificate.parse(Path(pki.root_path).read_bytes())
    assert root.fingerprint == pki.root_fingerprint
    cfg = json.loads(Path(pki.config_path).read_text())
    assert "127.0.0.1" in cfg["dnsNames"]

    d = tmp_path / "other"
    with pytest.raises(mayfly.InvalidArgument, match="name"):
        mayfly.init_pki(d, "pw", kdf_iterations=KDF)  # no CA name
    res = mayfly.Ca.init_pki(
        d, "pw", name="Other", provisioner="ops", key_type=mayfly.KeyType.P384, kdf_iterations=KDF,
        store="memory:", address="127.0.0.1:0",
    )
    with pytest.raises(mayfly.AlreadyExists):
        mayfly.init_pki(d, "pw", name="Other", kdf_iterations=KDF)
    again = mayfly.init_pki(d, "pw", name="Other", kdf_iterations=KDF, overwrite=True)
    assert again.root_fingerprint != res.root_fingerprint
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.init_pki(tmp_path / "nopw", "", name="X", kdf_iterations=KDF)
    with pytest.raises(ValueError):
        mayfly.init_pki(tmp_path / "x", "pw", name="X", kdf_iterations=0)


def test_open_errors(pki: mayfly.InitResult, tmp_path: Path) -> None:
    with pytest.raises(mayfly.MayflyError) as ei:
        mayfly.Ca.open(pki.config_path, "wrong password", store="memory:")
    assert ei.value.code in (
        mayfly.StatusCode.UNAUTHENTICATED,
        mayfly.StatusCode.INVALID_ARGUMENT,
        mayfly.StatusCode.PERMISSION_DENIED,
    )
    with pytest.raises(mayfly.MayflyError):
        mayfly.Ca.open(tmp_path / "missing.json", PASSWORD, store="memory:")
    with pytest.raises(mayfly.MayflyError):
        mayfly.Ca.open(pki.config_path, PASSWORD, store="nosuchstore:")


def test_roots_and_provisioners(ca: mayfly.Ca, pki: mayfly.InitResult) -> None:
    roots = ca.roots()
    assert len(roots) == 1
    assert roots[0].fingerprint == ca.root_fingerprint == pki.root_fingerprint
    provs = ca.provisioners()
    assert [p["name"] for p in provs] == ["admin"]
    assert provs[0]["type"] == "JWK"
    assert provs[0]["key"]["kid"] == pki.provisioner_kid

    key = mayfly.Key.generate()
    ca.add_provisioner("ops", key, "pw", default_duration=600, kdf_iterations=KDF)
    assert {p["name"] for p in ca.provisioners()} == {"admin", "ops"}
    with pytest.raises(mayfly.AlreadyExists):
        ca.add_provisioner("ops", mayfly.Key.generate(), "pw", kdf_iterations=KDF)
    with pytest.raises(mayfly.InvalidArgument):
        ca.add_provisioner(
            "bad", mayfly.Key.generate(), "pw", min_duration=60, max_duration=30,
            kdf_iterations=KDF,
        )
    # A certificate from "ops" lasts its default of 10 minutes.
    chain, _ = issue(ca, mayfly.TokenSigner(key, "ops"))
    nb, na = chain.leaf.validity
    assert (na - nb).total_seconds() == pytest.approx(600 + 60, abs=2)
    ca.remove_provisioner("ops")
    with pytest.raises(mayfly.NotFound):
        ca.remove_provisioner("ops")
    assert [p["name"] for p in ca.provisioners()] == ["admin"]


def test_tokens(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    t = signer.sign("a.internal", ca_url=CA_URL, sans=["a.internal", "b.internal"],
                    root_fingerprint=ca.root_fingerprint, lifetime=60)
    c = _claims(t)
    assert c["sub"] == "a.internal"
    assert c["sans"] == ["a.internal", "b.internal"]
    assert c["sha"] == ca.root_fingerprint
    assert c["iss"] == "admin"
    assert c["exp"] - c["nbf"] == pytest.approx(60, abs=1)
    assert c["aud"].endswith("/1.0/sign")
    r = _claims(signer.revoke_token("12345", ca_url=CA_URL))
    assert r["sub"] == "12345" and r["aud"].endswith("/1.0/revoke")
    with pytest.raises(mayfly.InvalidArgument):
        signer.sign("x", ca_url="not a url")
    with pytest.raises(mayfly.InvalidArgument):
        signer.sign("", ca_url=CA_URL)
    with pytest.raises(mayfly.Unauthenticated):
        ca.token_signer("admin", "wrong password")
    with pytest.raises(mayfly.MayflyError):
        ca.token_signer("nobody", PASSWORD)


def test_sign_renew_rekey_revoke(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    key = mayfly.Key.generate()
    csr = mayfly.Csr(key, "svc.internal", ["svc.internal"])
    token = signer.sign("svc.internal", ca_url=CA_URL)
    chain = ca.sign(csr, token, not_after="1h")
    nb, na = chain.leaf.validity
    assert (na - nb).total_seconds() == pytest.approx(3600 + 60, abs=2)
    # Tokens are single use.
    with pytest.raises(mayfly.Unauthenticated):
        ca.sign(csr, token)
    # A name the token does not cover.
    other = mayfly.Csr(key, "evil.internal", ["evil.internal"])
    with pytest.raises(mayfly.PermissionDenied):
        ca.sign(other, signer.sign("svc.internal", ca_url=CA_URL))
    with pytest.raises(mayfly.InvalidArgument):
        ca.sign(csr, signer.sign("svc.internal", ca_url=CA_URL), not_after="1000h")
    with pytest.raises(mayfly.Unauthenticated):
        ca.sign(csr, "not.a.token")

    renewed = ca.renew(chain)
    assert renewed.leaf.serial != chain.leaf.serial
    assert renewed.leaf.common_name == "svc.internal"

    new_key = mayfly.Key.generate(mayfly.KeyType.ED25519)
    rekeyed = ca.rekey(renewed, mayfly.Csr(new_key, "svc.internal", ["svc.internal"]))
    creds = mayfly.Credentials()
    creds.set(rekeyed, new_key)  # the new key matches the new leaf
    with pytest.raises(mayfly.InvalidArgument):
        creds.set(rekeyed, key)

    # Passive revocation with a revoke token: the certificate and everything
    # renewed from it can no longer be renewed.
    ca.revoke(chain.leaf.serial, 1, "key compromise",
              token=signer.revoke_token(chain.leaf.serial, ca_url=CA_URL))
    for c in (chain, renewed, rekeyed):
        with pytest.raises((mayfly.Unauthenticated, mayfly.PermissionDenied)):
            ca.renew(c)
    with pytest.raises(mayfly.Unauthenticated):
        ca.renew_with_token("not.a.token")

    # Revocation by the certificate itself (as over mTLS).
    chain2, _ = issue(ca, signer, "two.internal")
    ca.revoke(chain2.leaf.serial, peer_chain=chain2)
    with pytest.raises(mayfly.Unauthenticated):
        ca.renew(chain2)
    with pytest.raises(mayfly.InvalidArgument):
        ca.revoke(chain2.leaf.serial)  # neither token nor chain

    der = ca.crl()
    assert der[:1] == b"\x30"
    pem = ca.crl(pem=True)
    assert pem.startswith(b"-----BEGIN X509 CRL-----")


def test_crl_lists_revoked_serials(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    chain, _ = issue(ca, signer)
    before = ca.crl()
    ca.revoke(chain.leaf.serial, peer_chain=chain)
    after = ca.crl()
    serial = int(chain.leaf.serial)
    raw = serial.to_bytes((serial.bit_length() + 8) // 8, "big").lstrip(b"\0")
    assert raw not in before
    assert raw in after


def test_token_signer_from_key(ca: mayfly.Ca) -> None:
    key = mayfly.Key.generate()
    ca.add_provisioner("mine", key, "pw", kdf_iterations=KDF)
    mine = mayfly.TokenSigner(key, "mine")
    chain, _ = issue(ca, mine, "m.internal")
    assert chain.leaf.common_name == "m.internal"
    # The same key under a wrong issuer name is refused.
    with pytest.raises(mayfly.Unauthenticated):
        issue(ca, mayfly.TokenSigner(key, "admin"), "m.internal")
    # The provisioner's encrypted key decrypts with its password.
    again = ca.token_signer("mine", "pw")
    issue(ca, again, "n.internal")


def test_closed_ca_refuses_calls(pki: mayfly.InitResult) -> None:
    ca = mayfly.Ca.open(pki.config_path, PASSWORD, store="memory:")
    ca.close()
    with pytest.raises(ValueError, match="closed"):
        ca.roots()
    assert "closed" in repr(ca)

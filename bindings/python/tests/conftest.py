"""Fixtures: a CA folder made once per session, opened per test on the
memory store so that every test starts from an empty store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

import mayfly

PASSWORD = "correct horse battery staple"
CA_URL = "https://localhost:9000"
KDF = 1000  # PBES2 iterations: low, so that tests are fast


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> mayfly.InitResult:
    d = tmp_path_factory.mktemp("pki")
    return mayfly.init_pki(
        d,
        PASSWORD,
        name="Python Test",
        dns_names=["localhost", "127.0.0.1"],
        kdf_iterations=KDF,
    )


@pytest.fixture(scope="session")
def fast_pki(tmp_path_factory: pytest.TempPathFactory) -> mayfly.InitResult:
    """A CA whose backdate is 1 s, so that certificates of a few seconds
    renew at two thirds of their life rather than at once (the default
    backdate of 1 minute would dwarf their lifetime)."""
    d = tmp_path_factory.mktemp("fastpki")
    res = mayfly.init_pki(
        d,
        PASSWORD,
        name="Python Fast",
        dns_names=["localhost", "127.0.0.1"],
        kdf_iterations=KDF,
    )
    path = Path(res.config_path)
    cfg = json.loads(path.read_text())
    cfg.setdefault("authority", {})["backdate"] = "1s"
    path.write_text(json.dumps(cfg, indent=2))
    return res


@pytest.fixture
def ca(pki: mayfly.InitResult) -> Iterator[mayfly.Ca]:
    with mayfly.Ca.open(pki.config_path, PASSWORD, store="memory:") as c:
        yield c


@pytest.fixture
def signer(ca: mayfly.Ca) -> mayfly.TokenSigner:
    return ca.token_signer("admin", PASSWORD)


def short_ca(pki: mayfly.InitResult, seconds: float) -> "tuple[mayfly.Ca, mayfly.TokenSigner]":
    """Opens ``pki`` with a provisioner "short" issuing ``seconds``-long
    certificates; returns the CA and a signer for it."""
    ca = mayfly.Ca.open(pki.config_path, PASSWORD, store="memory:")
    key = mayfly.Key.generate()
    ca.add_provisioner(
        "short",
        key,
        PASSWORD,
        min_duration=1,
        default_duration=seconds,
        max_duration=3600,
        kdf_iterations=KDF,
    )
    return ca, mayfly.TokenSigner(key, "short")


def issue(
    ca: mayfly.Ca,
    signer: mayfly.TokenSigner,
    name: str = "svc.internal",
    key: "mayfly.Key | None" = None,
    sans: "list[str] | None" = None,
) -> "tuple[mayfly.Chain, mayfly.Key]":
    key = key or mayfly.Key.generate()
    sans = sans if sans is not None else [name]
    token = signer.sign(
        name, ca_url=CA_URL, sans=sans, root_fingerprint=ca.root_fingerprint
    )
    return ca.sign(mayfly.Csr(key, name, sans), token), key


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def pytest_report_header(config: pytest.Config) -> str:
    return f"mayfly library: {mayfly.library_path} ({mayfly.library_version()})"

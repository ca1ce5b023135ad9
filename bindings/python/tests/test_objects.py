"""Keys, CSRs, certificates, chains, errors and the library itself."""

from __future__ import annotations

import datetime as dt
import base64
import ctypes.util
import gc
import hashlib
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

import mayfly
from mayfly import _handle, _lib
from conftest import issue


def test_library_version_matches_repository(repo_root: Path) -> None:
    version = (repo_root / "VERSION").read_text().strip()
    assert mayfly.library_version() == version
    major, minor, patch = (int(x) for x in version.split("."))
    assert mayfly.library_version_number() == major * 1000000 + minor * 1000 + patch
    assert mayfly.__version__ == version


@pytest.mark.parametrize("kt", list(mayfly.KeyType))
def test_key_generate_and_pem_round_trip(kt: mayfly.KeyType) -> None:
    if kt == mayfly.KeyType.RSA:
        # mayfly verifies RSA but does not generate RSA keys.
        with pytest.raises(mayfly.InvalidArgument, match="RSA"):
            mayfly.Key.generate(kt)
        return
    key = mayfly.Key.generate(kt)
    with key:
        assert key.type == kt
        pem = key.to_pem()
        assert pem.startswith("-----BEGIN PRIVATE KEY-----")
        again = mayfly.Key.parse(pem)
        assert again.type == kt
        assert again.public_pem() == key.public_pem()
        assert key.public_pem().startswith("-----BEGIN PUBLIC KEY-----")
    assert key.closed
    with pytest.raises(ValueError, match="closed"):
        key.to_pem()


def test_key_encrypted_pem() -> None:
    key = mayfly.Key.generate()
    enc = key.to_pem("s3cret")
    assert "ENCRYPTED PRIVATE KEY" in enc
    assert mayfly.Key.parse(enc, "s3cret").public_pem() == key.public_pem()
    with pytest.raises(mayfly.MayflyError):
        mayfly.Key.parse(enc, "wrong")
    # DER input (PKCS#8) is accepted too, from Python's own decoder.
    body = "".join(l for l in key.to_pem().splitlines() if not l.startswith("-----"))
    der = base64.b64decode(body)
    assert mayfly.Key.parse(der).public_pem() == key.public_pem()


def test_bad_inputs_raise_invalid_argument() -> None:
    for bad in (b"", b"garbage", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"):
        with pytest.raises(mayfly.InvalidArgument) as ei:
            mayfly.Key.parse(bad)
        assert ei.value.code == mayfly.StatusCode.INVALID_ARGUMENT
        assert isinstance(ei.value, ValueError)
        assert ei.value.message
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.Certificate.parse(b"not a certificate")
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.Chain.parse(b"")
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.Csr.parse(b"\x30\x03\x02\x01\x00")
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.inspect(b"neither")
    with pytest.raises(TypeError):
        mayfly.Key.parse(12)  # type: ignore[arg-type]
    with pytest.raises(mayfly.InvalidArgument):
        mayfly.Key.generate(7)  # type: ignore[arg-type]
    with pytest.raises(mayfly.InvalidArgument, match="NUL"):
        mayfly.Csr(mayfly.Key.generate(), "a\0b")
    with pytest.raises(TypeError):
        mayfly.Csr("not a key", "x")  # type: ignore[arg-type]


def test_csr() -> None:
    key = mayfly.Key.generate(mayfly.KeyType.P384)
    csr = mayfly.Csr(key, "api.internal", ["api.internal", "10.0.0.7", "ops@example.com"])
    pem = csr.to_pem()
    assert pem.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    again = mayfly.Csr.parse(pem)
    assert again.to_pem() == pem
    text = csr.inspect()
    assert "api.internal" in text and "10.0.0.7" in text
    # A CSR with no name at all is still a CSR.
    mayfly.Csr(key).close()
    with pytest.raises(TypeError):
        mayfly.Csr(key, "x", "x.internal")  # a str is not a list of SANs


def test_certificate_and_chain(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    chain, key = issue(ca, signer, "web.internal", sans=["web.internal", "127.0.0.1"])
    assert len(chain) == 2
    leaf = chain.leaf
    assert leaf.common_name == "web.internal"
    assert chain[1].common_name == "Python Test Intermediate CA"
    assert chain[-1] == chain[1]
    assert [c.common_name for c in chain] == ["web.internal", "Python Test Intermediate CA"]
    assert len(chain[0:1]) == 1
    with pytest.raises(IndexError):
        chain[2]
    der = leaf.to_der()
    assert leaf.fingerprint == hashlib.sha256(der).hexdigest()
    assert int(leaf.serial) > 0
    nb, na = leaf.validity
    now = dt.datetime.now(dt.timezone.utc)
    assert nb <= now < na
    assert na - nb >= dt.timedelta(hours=24)  # the default: 24h (+ backdate)
    assert leaf.not_before == nb and leaf.not_after == na
    assert mayfly.Certificate.parse(der) == leaf
    assert mayfly.Certificate.parse(leaf.to_pem()) == leaf
    assert hash(mayfly.Certificate.parse(der)) == hash(leaf)
    pem = chain.to_pem()
    assert pem.count("BEGIN CERTIFICATE") == 2
    again = mayfly.Chain.parse(pem)
    assert [c.fingerprint for c in again] == [c.fingerprint for c in chain]
    assert mayfly.Chain.from_certificates(list(chain)).to_pem() == pem
    text = leaf.inspect()
    assert "web.internal" in text and leaf.serial in text
    assert mayfly.inspect(leaf.to_pem()) == text
    # Python's own OpenSSL reads what mayfly wrote.
    assert ssl.DER_cert_to_PEM_cert(der).strip() == leaf.to_pem().strip()
    # Key and certificate match (the CSR was made from this key).
    assert "web.internal" in repr(leaf)


def test_lent_certificate_outlives_its_chain(ca: mayfly.Ca, signer: mayfly.TokenSigner) -> None:
    chain, _ = issue(ca, signer)
    leaf = chain[0]
    fp = leaf.fingerprint
    chain.close()
    with pytest.raises(ValueError):
        len(chain)
    # The lent certificate holds the chain's memory until it is gone.
    assert leaf.fingerprint == fp
    del chain
    gc.collect()
    assert leaf.fingerprint == fp
    leaf.close()


def test_close_is_idempotent_and_context_managers() -> None:
    with mayfly.Key.generate() as key:
        pass
    key.close()
    key.close()
    assert "closed" in repr(key)


def test_error_classes() -> None:
    e = mayfly.errors.error_for(16, "no")
    assert isinstance(e, mayfly.Unauthenticated) and e.code == 16 and str(e) == "UNAUTHENTICATED: no"
    assert isinstance(mayfly.errors.error_for(7, ""), mayfly.PermissionDenied)
    assert isinstance(mayfly.errors.error_for(5, ""), mayfly.NotFound)
    assert isinstance(mayfly.errors.error_for(6, ""), mayfly.AlreadyExists)
    assert isinstance(mayfly.errors.error_for(9, ""), mayfly.FailedPrecondition)
    assert isinstance(mayfly.errors.error_for(14, ""), mayfly.Unavailable)
    odd = mayfly.errors.error_for(99, "odd")
    assert type(odd) is mayfly.MayflyError and odd.code == mayfly.StatusCode.UNKNOWN
    for code in mayfly.StatusCode:
        if code != mayfly.StatusCode.OK:
            assert mayfly.errors.error_for(int(code), "x").code == code


def test_no_callbacks_leak_from_value_objects() -> None:
    before = _handle.registered_count()
    for _ in range(10):
        mayfly.Key.generate().close()
    assert _handle.registered_count() == before


def _import_in_subprocess(env_lib: "str | None") -> "subprocess.CompletedProcess[str]":
    env = {k: v for k, v in os.environ.items() if k != "MAYFLY_LIBRARY"}
    if env_lib is not None:
        env["MAYFLY_LIBRARY"] = env_lib
    return subprocess.run(
        [sys.executable, "-c", "import mayfly; print(mayfly.library_path)"],
        capture_output=True, text=True, timeout=60, env=env,
    )


def test_library_lookup() -> None:
    # MAYFLY_LIBRARY naming a missing file: a clear ImportError.
    bad = _import_in_subprocess("/nonexistent/libmayfly.so")
    assert bad.returncode != 0
    assert "ImportError" in bad.stderr and "MAYFLY_LIBRARY" in bad.stderr
    assert "/nonexistent/libmayfly.so" in bad.stderr
    # Named: that one is loaded.
    good = _import_in_subprocess(mayfly.library_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == mayfly.library_path
    # Unnamed: the source tree's build directories, then the system's path,
    # else an ImportError telling about MAYFLY_LIBRARY.
    candidates = _lib._repo_build_candidates()
    system = ctypes.util.find_library("mayfly")
    unnamed = _import_in_subprocess(None)
    if candidates:
        # (Other builds may relink meanwhile, which reorders them by age.)
        assert unnamed.returncode == 0, unnamed.stderr
        assert unnamed.stdout.strip() in {str(c) for c in candidates}
    elif system:
        assert unnamed.returncode == 0, unnamed.stderr
    else:
        assert unnamed.returncode != 0
        assert "set the environment variable MAYFLY_LIBRARY" in unnamed.stderr


def test_version_check() -> None:
    class Fake:
        _name = "libfake.so"

        def __init__(self, number: int) -> None:
            self.number = number

        def mayfly_version_number(self) -> int:
            return self.number

    major, minor, patch = _lib.EXPECTED_VERSION
    _lib._check_version(Fake(major * 1000000 + minor * 1000 + patch + 7))  # patch: fine
    with pytest.raises(ImportError, match="needs 0.1.x"):
        _lib._check_version(Fake((major + 1) * 1000000))
    with pytest.raises(ImportError, match="MAYFLY_LIBRARY"):
        _lib._check_version(Fake(major * 1000000 + (minor + 1) * 1000))

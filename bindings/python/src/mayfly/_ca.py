"""The CA side: PKI initialisation, the authority, tokens, the HTTPS server."""

from __future__ import annotations

import ctypes
import enum
import json
import os
from ctypes import byref, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from . import _handle as h
from . import _lib
from ._handle import L, Duration, Handle, Using
from ._objects import Chain, Csr, Key, KeyType, _chain, _csr, _key, _Object

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_pki` wrote."""

    config_path: str
    root_path: str
    root_fingerprint: str
    provisioner_kid: str


def _set(fn: Any, opts: int, value: Any, what: str) -> None:
    h.check(fn(opts, value), what)


def init_pki(
    dir: PathLike,
    password: str,
    *,
    name: Optional[str] = None,
    dns_names: Sequence[str] = (),
    address: Optional[str] = None,
    provisioner: Optional[str] = None,
    provisioner_password: Optional[str] = None,
    key_type: Optional[KeyType] = None,
    store: Optional[str] = None,
    overwrite: bool = False,
    kdf_iterations: Optional[int] = None,
) -> InitResult:
    """Writes a new CA folder in ``dir``, like ``step ca init``.

    Defaults are mayfly-ca init's: DNS name "localhost", address ":9000",
    provisioner "admin", P-256 keys, the SQLite store in the folder.
    ``kdf_iterations`` (PBES2, default 600000) protects the provisioner key;
    tests lower it. Raises AlreadyExists when ``dir`` holds a PKI and
    ``overwrite`` is false.
    """
    opts = L.mayfly_init_options_new()
    if not opts:
        raise MemoryError("mayfly_init_options_new")
    try:
        _set(L.mayfly_init_options_set_dir, opts, h.cstr(os.fspath(dir), "dir"), "dir")
        _set(L.mayfly_init_options_set_password, opts, h.cstr(password, "password"), "password")
        if name is not None:
            _set(L.mayfly_init_options_set_name, opts, h.cstr(name, "name"), "name")
        if isinstance(dns_names, str):
            raise TypeError("dns_names must be a sequence of str")
        for d in dns_names:
            _set(L.mayfly_init_options_add_dns_name, opts, h.cstr(d, "DNS name"), "DNS name")
        if address is not None:
            _set(L.mayfly_init_options_set_address, opts, h.cstr(address, "address"), "address")
        if provisioner is not None:
            _set(
                L.mayfly_init_options_set_provisioner,
                opts,
                h.cstr(provisioner, "provisioner"),
                "provisioner name",
            )
        if provisioner_password is not None:
            _set(
                L.mayfly_init_options_set_provisioner_password,
                opts,
                h.cstr(provisioner_password, "provisioner_password"),
                "provisioner password",
            )
        if key_type is not None:
            _set(L.mayfly_init_options_set_key_type, opts, int(key_type), "key type")
        if store is not None:
            _set(L.mayfly_init_options_set_store, opts, h.cstr(store, "store"), "store URL")
        _set(L.mayfly_init_options_set_overwrite, opts, 1 if overwrite else 0, "overwrite")
        if kdf_iterations is not None:
            if kdf_iterations <= 0 or kdf_iterations >= 2**32:
                raise ValueError("kdf_iterations must be a positive 32-bit number")
            _set(L.mayfly_init_options_set_kdf_iterations, opts, kdf_iterations, "kdf iterations")
        res = h.out_object(L.mayfly_pki_init, opts)
    finally:
        L.mayfly_init_options_free(opts)
    try:

        def s(fn: Any) -> str:
            return (fn(res) or b"").decode("utf-8")

        return InitResult(
            config_path=s(L.mayfly_init_result_config_path),
            root_path=s(L.mayfly_init_result_root_path),
            root_fingerprint=s(L.mayfly_init_result_root_fingerprint),
            provisioner_kid=s(L.mayfly_init_result_provisioner_kid),
        )
    finally:
        L.mayfly_init_result_free(res)


class Ca(_Object):
    """A certificate authority with its store and provisioners. Thread-safe.

    ``with Ca.open(config_path, password, store="memory:") as ca: ...``
    """

    __slots__ = ()

    init_pki = staticmethod(init_pki)

    @classmethod
    def open(
        cls, config_path: PathLike, password: str, store: Optional[str] = None
    ) -> "Ca":
        """Loads ca.json, decrypts the intermediate key and opens the store
        (``store`` if given, else the config's, else the folder's SQLite)."""
        ptr = h.out_object(
            L.mayfly_ca_open,
            h.cstr(os.fspath(config_path), "config_path"),
            h.cstr(password, "password"),
            h.cstr(store, "store"),
        )
        return cls._wrap(Handle(ptr, L.mayfly_ca_free, "CA"))

    def roots(self) -> Chain:
        with Using(self._h) as (p,):
            return Chain._take(h.out_object(L.mayfly_ca_roots, p))

    @property
    def root_fingerprint(self) -> str:
        """The first root's SHA-256, lowercase hex."""
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_ca_root_fingerprint, p)

    def add_provisioner(
        self,
        name: str,
        key: Key,
        password: str,
        *,
        min_duration: Optional[Duration] = None,
        default_duration: Optional[Duration] = None,
        max_duration: Optional[Duration] = None,
        disable_renewal: Optional[bool] = None,
        allow_renewal_after_expiry: Optional[bool] = None,
        kdf_iterations: Optional[int] = None,
    ) -> None:
        """Adds a JWK provisioner whose tokens ``key`` signs (in memory only).

        Durations (seconds or timedelta; None inherits the CA's claims, then
        5m min, 24h default and max) bound the certificates it authorises.
        """
        opts = L.mayfly_provisioner_options_new()
        if not opts:
            raise MemoryError("mayfly_provisioner_options_new")
        try:
            if (min_duration, default_duration, max_duration) != (None, None, None):
                h.check(
                    L.mayfly_provisioner_options_set_durations(
                        opts,
                        0 if min_duration is None else h.ms(min_duration, "min_duration"),
                        0
                        if default_duration is None
                        else h.ms(default_duration, "default_duration"),
                        0 if max_duration is None else h.ms(max_duration, "max_duration"),
                    ),
                    "durations",
                )
            if disable_renewal is not None:
                h.check(
                    L.mayfly_provisioner_options_set_disable_renewal(
                        opts, 1 if disable_renewal else 0
                    ),
                    "disable_renewal",
                )
            if allow_renewal_after_expiry is not None:
                h.check(
                    L.mayfly_provisioner_options_set_allow_renewal_after_expiry(
                        opts, 1 if allow_renewal_after_expiry else 0
                    ),
                    "allow_renewal_after_expiry",
                )
            if kdf_iterations is not None:
                if kdf_iterations <= 0 or kdf_iterations >= 2**32:
                    raise ValueError("kdf_iterations must be a positive 32-bit number")
                h.check(
                    L.mayfly_provisioner_options_set_kdf_iterations(opts, kdf_iterations),
                    "kdf_iterations",
                )
            with Using(self._h, _key(key)._h) as (p, k):
                h.call(
                    L.mayfly_ca_add_provisioner,
                    p,
                    h.cstr(name, "name"),
                    k,
                    h.cstr(password, "password"),
                    opts,
                )
        finally:
            L.mayfly_provisioner_options_free(opts)

    def remove_provisioner(self, name: str) -> None:
        with Using(self._h) as (p,):
            h.call(L.mayfly_ca_remove_provisioner, p, h.cstr(name, "name"))

    def provisioners_json(self) -> str:
        """{"provisioners":[...]} as step-ca's /provisioners serves it."""
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_ca_provisioners_json, p)

    def provisioners(self) -> List[Dict[str, Any]]:
        return list(json.loads(self.provisioners_json())["provisioners"])

    def sign(
        self,
        csr: Csr,
        token: str,
        *,
        not_before: Optional[str] = None,
        not_after: Optional[str] = None,
    ) -> Chain:
        """Issues a certificate for ``csr`` authorised by a one-time token.

        ``not_before``/``not_after`` take step's forms ("5m", RFC 3339).
        Unauthenticated for a bad, expired or used token; PermissionDenied
        for names the token does not cover.
        """
        # The hot path of issuance, written out (no context manager).
        tok = h.cstr(token, "token")
        nb = h.cstr(not_before, "not_before")
        na = h.cstr(not_after, "not_after")
        ca_h, csr_h = self._h, _csr(csr)._h
        out, err = c_void_p(), c_void_p()
        p = ca_h.acquire()
        try:
            c = csr_h.acquire()
            try:
                code = L.mayfly_ca_sign(p, c, tok, nb, na, byref(out), byref(err))
            finally:
                csr_h.release()
        finally:
            ca_h.release()
        if code:
            h.raise_error(code, err)
        return Chain._take(out.value)

    def renew(self, peer_chain: Chain) -> Chain:
        """Renews the certificate leading ``peer_chain`` as if presented over
        mTLS (the caller vouches the peer holds its key)."""
        with Using(self._h, _chain(peer_chain)._h) as (p, c):
            return Chain._take(h.out_object(L.mayfly_ca_renew, p, c))

    def renew_with_token(self, token: str) -> Chain:
        with Using(self._h) as (p,):
            return Chain._take(
                h.out_object(L.mayfly_ca_renew_with_token, p, h.cstr(token, "token"))
            )

    def rekey(self, peer_chain: Chain, csr: Csr) -> Chain:
        with Using(self._h, _chain(peer_chain)._h, _csr(csr)._h) as (p, c, r):
            return Chain._take(h.out_object(L.mayfly_ca_rekey, p, c, r))

    def revoke(
        self,
        serial: str,
        reason_code: int = 0,
        reason: Optional[str] = None,
        *,
        token: Optional[str] = None,
        peer_chain: Optional[Chain] = None,
    ) -> None:
        """Passively revokes ``serial``, authorised by exactly one of a revoke
        ``token`` or the certificate's own ``peer_chain``."""
        chain_h = None if peer_chain is None else _chain(peer_chain)._h
        with Using(self._h, chain_h) as (p, c):
            h.call(
                L.mayfly_ca_revoke,
                p,
                h.cstr(str(serial), "serial"),
                int(reason_code),
                h.cstr(reason, "reason"),
                h.cstr(token, "token"),
                c,
            )

    def crl(self, pem: bool = False) -> bytes:
        """The current CRL, signed now: DER, or PEM."""
        with Using(self._h) as (p,):
            return h.out_bytes(L.mayfly_ca_crl, p, 1 if pem else 0)

    def token_signer(self, name: str, password: str) -> "TokenSigner":
        """A signer for provisioner ``name``, its key decrypted with
        ``password``."""
        return TokenSigner.from_ca(self, name, password)

    def serve(self, address: str = "127.0.0.1:0", **kwargs: Any) -> "Server":
        """Starts the HTTPS API on ``address``; see :class:`Server`."""
        return Server(self, address=address, **kwargs)

    def __repr__(self) -> str:
        return "<mayfly.Ca closed>" if self.closed else "<mayfly.Ca>"


class TokenPurpose(enum.IntEnum):
    SIGN = 0
    REVOKE = 1


class TokenSigner(_Object):
    """Makes one-time tokens for one JWK provisioner. Thread-safe."""

    __slots__ = ()

    def __init__(self, key: Key, issuer: str, kid: Optional[str] = None) -> None:
        """Signs as provisioner ``issuer`` (its name) with ``key``; ``kid``
        defaults to the key's thumbprint."""
        with Using(_key(key)._h) as (k,):
            ptr = h.out_object(
                L.mayfly_token_signer_new,
                k,
                h.cstr(kid, "kid"),
                h.cstr(issuer, "issuer"),
            )
        self._h = Handle(ptr, L.mayfly_token_signer_free, "token signer")

    @classmethod
    def from_ca(cls, ca: Ca, name: str, password: str) -> "TokenSigner":
        if not isinstance(ca, Ca):
            raise TypeError("ca must be a mayfly.Ca")
        with Using(ca._h) as (p,):
            ptr = h.out_object(
                L.mayfly_token_signer_from_ca,
                p,
                h.cstr(name, "name"),
                h.cstr(password, "password"),
            )
        return cls._wrap(Handle(ptr, L.mayfly_token_signer_free, "token signer"))

    def sign(
        self,
        subject: str,
        *,
        ca_url: str,
        sans: Optional[Sequence[str]] = None,
        purpose: TokenPurpose = TokenPurpose.SIGN,
        root_fingerprint: Optional[str] = None,
        lifetime: Optional[Duration] = None,
    ) -> str:
        """A token (compact JWS) for ``subject`` (the CN, or the serial of a
        revoke token) at ``ca_url``; SANs default to [subject]."""
        opts = L.mayfly_token_options_new()
        if not opts:
            raise MemoryError("mayfly_token_options_new")
        try:
            h.check(
                L.mayfly_token_options_set_subject(opts, h.cstr(subject, "subject")),
                "subject",
            )
            h.check(
                L.mayfly_token_options_set_ca_url(opts, h.cstr(ca_url, "ca_url")), "ca_url"
            )
            h.check(
                L.mayfly_token_options_set_purpose(opts, int(TokenPurpose(purpose))),
                "purpose",
            )
            if sans is not None:
                if isinstance(sans, str):
                    raise TypeError("sans must be a sequence of str")
                for s in sans:
                    h.check(L.mayfly_token_options_add_san(opts, h.cstr(s, "SAN")), "SAN")
            if root_fingerprint is not None:
                h.check(
                    L.mayfly_token_options_set_root_fingerprint(
                        opts, h.cstr(root_fingerprint, "root_fingerprint")
                    ),
                    "root_fingerprint",
                )
            if lifetime is not None:
                h.check(
                    L.mayfly_token_options_set_lifetime(opts, h.ms(lifetime, "lifetime")),
                    "lifetime",
                )
            with Using(self._h) as (p,):
                return h.out_text(L.mayfly_token_sign, p, opts)
        finally:
            L.mayfly_token_options_free(opts)

    def revoke_token(
        self, serial: str, *, ca_url: str, root_fingerprint: Optional[str] = None
    ) -> str:
        """A revoke token for certificate ``serial``."""
        return self.sign(
            str(serial),
            ca_url=ca_url,
            purpose=TokenPurpose.REVOKE,
            root_fingerprint=root_fingerprint,
        )


def _log(user_data: Optional[int], line: Optional[int], n: int) -> None:
    text = ctypes.string_at(line, n).decode("utf-8", "replace") if line else ""
    h.invoke(user_data, text)


_log_trampoline: Any = _lib.LOG_FN(_log)


class Server(_Object):
    """step-ca's HTTPS API for a :class:`Ca`, served in-process.

    ``log`` receives each log line (called from server threads) instead of
    standard error; its exceptions are recorded in ``callback_errors``.
    """

    __slots__ = ("callback_errors",)

    def __init__(
        self,
        ca: Ca,
        *,
        address: Optional[str] = "127.0.0.1:0",
        worker_threads: Optional[int] = None,
        json_logs: bool = False,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        if not isinstance(ca, Ca):
            raise TypeError("ca must be a mayfly.Ca")
        self.callback_errors: List[BaseException] = []
        opts = L.mayfly_server_options_new()
        if not opts:
            raise MemoryError("mayfly_server_options_new")
        try:
            if address is not None:
                h.check(
                    L.mayfly_server_options_set_address(opts, h.cstr(address, "address")),
                    "address",
                )
            if worker_threads is not None:
                h.check(
                    L.mayfly_server_options_set_worker_threads(opts, int(worker_threads)),
                    "worker_threads",
                )
            h.check(
                L.mayfly_server_options_set_json_logs(opts, 1 if json_logs else 0),
                "json_logs",
            )
            if log is not None:
                key = h.register(log, self.callback_errors, "server log")
                # On failure the C side has called destroy(key) already.
                h.check(
                    L.mayfly_server_options_set_log_callback(
                        opts, _log_trampoline, key, h.DESTROY
                    ),
                    "log callback",
                )
            with Using(ca._h) as (p,):
                ptr = h.out_object(L.mayfly_server_start, p, opts)
        finally:
            L.mayfly_server_options_free(opts)
        self._h = Handle(
            ptr,
            L.mayfly_server_free,
            "server",
            holds=[ca._h],
            stop=lambda p: L.mayfly_server_stop(p, 0),
        )

    @property
    def port(self) -> int:
        with Using(self._h) as (p,):
            return int(L.mayfly_server_port(p))

    @property
    def url(self) -> str:
        """https://127.0.0.1:PORT (for a server bound to 127.0.0.1)."""
        return f"https://127.0.0.1:{self.port}"

    def stop(self, grace: Duration = 10.0) -> None:
        """Stops accepting; requests in flight get ``grace`` to finish."""
        with Using(self._h) as (p,):
            L.mayfly_server_stop(p, h.ms(grace, "grace"))

    def __repr__(self) -> str:
        return "<mayfly.Server closed>" if self.closed else f"<mayfly.Server :{self.port}>"

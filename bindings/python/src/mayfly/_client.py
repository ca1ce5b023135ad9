"""The CA client: HTTPS to mayfly-ca or step-ca, trusting pinned roots."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from . import _handle as h
from ._handle import L, Handle, Using
from ._objects import Chain, Csr, Key, _chain, _csr, _key, _Object


class Client(_Object):
    """Talks to one CA. Thread-safe.

    Failures: Unavailable (no answer, 5xx), Unauthenticated or
    PermissionDenied (the CA refused: revoked, bad token), InvalidArgument
    (the CA found the request bad), with the CA's message.
    """

    __slots__ = ()

    def __init__(self, ca_url: str, roots: Chain) -> None:
        """Trusts ``roots`` for ``ca_url``."""
        with Using(_chain(roots)._h) as (r,):
            ptr = h.out_object(L.mayfly_client_new, h.cstr(ca_url, "ca_url"), r)
        self._h = Handle(ptr, L.mayfly_client_free, "client")

    @classmethod
    def bootstrap(cls, ca_url: str, fingerprint: str) -> "Client":
        """Downloads the root whose SHA-256 is ``fingerprint`` and pins it."""
        ptr = h.out_object(
            L.mayfly_client_bootstrap,
            h.cstr(ca_url, "ca_url"),
            h.cstr(fingerprint, "fingerprint"),
        )
        return cls._wrap(Handle(ptr, L.mayfly_client_free, "client"))

    def health(self) -> None:
        """Raises unless the CA answers /health."""
        with Using(self._h) as (p,):
            h.call(L.mayfly_client_health, p)

    def roots(self) -> Chain:
        with Using(self._h) as (p,):
            return Chain._take(h.out_object(L.mayfly_client_roots, p))

    def provisioners_json(self) -> str:
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_client_provisioners_json, p)

    def provisioners(self) -> List[Dict[str, Any]]:
        return list(json.loads(self.provisioners_json())["provisioners"])

    def sign(self, key: Key, token: str) -> Chain:
        """Has a certificate for ``key`` signed, with the token's subject and
        SANs."""
        with Using(self._h, _key(key)._h) as (p, k):
            return Chain._take(
                h.out_object(L.mayfly_client_sign, p, k, h.cstr(token, "token"))
            )

    def sign_csr(self, csr: Csr, token: str) -> Chain:
        with Using(self._h, _csr(csr)._h) as (p, c):
            return Chain._take(
                h.out_object(L.mayfly_client_sign_csr, p, c, h.cstr(token, "token"))
            )

    def renew(self, chain: Chain, key: Key) -> Chain:
        """Renews over mTLS with ``chain`` and its ``key``."""
        with Using(self._h, _chain(chain)._h, _key(key)._h) as (p, c, k):
            return Chain._take(h.out_object(L.mayfly_client_renew, p, c, k))

    def renew_with_token(self, chain: Chain, key: Key) -> Chain:
        """Renews an expired certificate with a token signed by its key."""
        with Using(self._h, _chain(chain)._h, _key(key)._h) as (p, c, k):
            return Chain._take(h.out_object(L.mayfly_client_renew_with_token, p, c, k))

    def rekey(self, chain: Chain, key: Key, new_key: Key) -> Chain:
        """Renews over mTLS for ``new_key``."""
        with Using(self._h, _chain(chain)._h, _key(key)._h, _key(new_key)._h) as (
            p,
            c,
            k,
            n,
        ):
            return Chain._take(h.out_object(L.mayfly_client_rekey, p, c, k, n))

    def revoke(
        self,
        serial: str,
        reason_code: int = 0,
        reason: Optional[str] = None,
        *,
        token: Optional[str] = None,
        chain: Optional[Chain] = None,
        key: Optional[Key] = None,
    ) -> None:
        """Revokes ``serial`` with a revoke ``token``, or over mTLS with
        ``chain`` and ``key``."""
        ch = None if chain is None else _chain(chain)._h
        kh = None if key is None else _key(key)._h
        with Using(self._h, ch, kh) as (p, c, k):
            h.call(
                L.mayfly_client_revoke,
                p,
                h.cstr(str(serial), "serial"),
                int(reason_code),
                h.cstr(reason, "reason"),
                h.cstr(token, "token"),
                c,
                k,
            )

    def __repr__(self) -> str:
        return "<mayfly.Client closed>" if self.closed else "<mayfly.Client>"

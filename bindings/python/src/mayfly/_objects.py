"""Keys, certificate requests, certificates and chains (immutable values)."""

from __future__ import annotations

import datetime as _dt
import enum
from ctypes import byref, c_int64
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, TypeVar, Union, overload

from . import _handle as h
from ._handle import L, Bytesish, Handle, Using

_T = TypeVar("_T", bound="_Object")


class KeyType(enum.IntEnum):
    """Key algorithms (MAYFLY_KEY_*)."""

    P256 = 0
    P384 = 1
    ED25519 = 2
    RSA = 3


class _Object:
    """Base of every wrapper: a handle, close(), and the context protocol."""

    __slots__ = ("_h", "__weakref__")
    _h: Handle

    @classmethod
    def _wrap(cls: "type[_T]", handle: Handle) -> _T:
        obj = cls.__new__(cls)
        obj._h = handle
        return obj

    def close(self) -> None:
        """Releases the C object (at once, or when its last user is done)."""
        self._h.close()

    @property
    def closed(self) -> bool:
        return self._h.closed

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def inspect(data: Bytesish) -> str:
    """Describes a certificate or CSR (PEM or DER) as readable text."""
    b = h.as_bytes(data)
    return h.out_text(L.mayfly_certificate_inspect, b, len(b))


class Key(_Object):
    """A private key with its public half."""

    __slots__ = ()

    @classmethod
    def generate(cls, type: KeyType = KeyType.P256) -> "Key":
        """Makes a new key (P-256 unless told)."""
        ptr = h.out_object(L.mayfly_key_generate, int(type))
        return cls._wrap(Handle(ptr, L.mayfly_key_free, "key"))

    @classmethod
    def parse(cls, data: Bytesish, password: Optional[str] = None) -> "Key":
        """Reads a PEM (PKCS#8, SEC1, PKCS#1; encrypted with ``password``) or
        PKCS#8 DER private key."""
        b = h.as_bytes(data, "key")
        ptr = h.out_object(L.mayfly_key_parse, b, len(b), h.cstr(password, "password"))
        return cls._wrap(Handle(ptr, L.mayfly_key_free, "key"))

    def to_pem(self, password: Optional[str] = None) -> str:
        """PKCS#8 PEM, encrypted when ``password`` is given."""
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_key_to_pem, p, h.cstr(password, "password"))

    def public_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM."""
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_key_public_pem, p)

    @property
    def type(self) -> KeyType:
        with Using(self._h) as (p,):
            return KeyType(L.mayfly_key_type(p))

    def __repr__(self) -> str:
        if self.closed:
            return "<mayfly.Key closed>"
        return f"<mayfly.Key {self.type.name}>"


class Csr(_Object):
    """A certificate signing request."""

    __slots__ = ()

    def __init__(
        self, key: Key, common_name: Optional[str] = None, sans: Sequence[str] = ()
    ) -> None:
        """Makes a CSR signed by ``key`` for ``common_name`` and ``sans`` (DNS
        names, IPs, emails, URIs)."""
        arr, n = h.cstr_array(sans, "sans")
        with Using(_key(key)._h) as (k,):
            ptr = h.out_object(
                L.mayfly_csr_new, k, h.cstr(common_name, "common_name"), arr, n
            )
        self._h = Handle(ptr, L.mayfly_csr_free, "CSR")

    @classmethod
    def parse(cls, data: Bytesish) -> "Csr":
        """Reads one PEM or DER CSR and checks its signature."""
        b = h.as_bytes(data, "CSR")
        ptr = h.out_object(L.mayfly_csr_parse, b, len(b))
        return cls._wrap(Handle(ptr, L.mayfly_csr_free, "CSR"))

    def to_pem(self) -> str:
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_csr_to_pem, p)

    def inspect(self) -> str:
        return inspect(self.to_pem())


class Certificate(_Object):
    """One X.509 certificate."""

    __slots__ = ()

    @classmethod
    def parse(cls, data: Bytesish) -> "Certificate":
        """Reads exactly one PEM or DER certificate."""
        b = h.as_bytes(data, "certificate")
        ptr = h.out_object(L.mayfly_cert_parse, b, len(b))
        return cls._wrap(Handle(ptr, L.mayfly_cert_free, "certificate"))

    def _text(self, fn: object) -> str:
        with Using(self._h) as (p,):
            return h.out_text(fn, p)

    def to_pem(self) -> str:
        return self._text(L.mayfly_cert_to_pem)

    def to_der(self) -> bytes:
        with Using(self._h) as (p,):
            return h.out_bytes(L.mayfly_cert_to_der, p)

    @property
    def serial(self) -> str:
        """The serial number in decimal, as step prints it."""
        return self._text(L.mayfly_cert_serial)

    @property
    def common_name(self) -> str:
        return self._text(L.mayfly_cert_common_name)

    @property
    def fingerprint(self) -> str:
        """The lowercase hex SHA-256 of the DER."""
        return self._text(L.mayfly_cert_fingerprint)

    @property
    def validity(self) -> Tuple[_dt.datetime, _dt.datetime]:
        """(NotBefore, NotAfter) as aware UTC datetimes."""
        nb, na = c_int64(), c_int64()
        with Using(self._h) as (p,):
            h.call(L.mayfly_cert_validity, p, byref(nb), byref(na))
        return h.from_ms(nb.value), h.from_ms(na.value)

    @property
    def not_before(self) -> _dt.datetime:
        return self.validity[0]

    @property
    def not_after(self) -> _dt.datetime:
        return self.validity[1]

    def inspect(self) -> str:
        return inspect(self.to_der())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __repr__(self) -> str:
        if self.closed:
            return "<mayfly.Certificate closed>"
        return f"<mayfly.Certificate CN={self.common_name!r} serial={self.serial}>"


class Chain(_Object, Sequence[Certificate]):
    """An ordered list of certificates: leaf first for an issued chain."""

    __slots__ = ()

    @classmethod
    def parse(cls, data: Bytesish) -> "Chain":
        """Reads every CERTIFICATE block of a PEM bundle, or one DER."""
        b = h.as_bytes(data, "chain")
        return cls._take(h.out_object(L.mayfly_chain_parse, b, len(b)))

    @classmethod
    def from_certificates(cls, certs: Iterable[Certificate]) -> "Chain":
        return cls.parse("".join(c.to_pem() for c in certs))

    @classmethod
    def _take(cls, ptr: Optional[int]) -> "Chain":
        return cls._wrap(Handle(ptr, L.mayfly_chain_free, "chain"))

    def __len__(self) -> int:
        with Using(self._h) as (p,):
            return int(L.mayfly_chain_size(p))

    @overload
    def __getitem__(self, index: int) -> Certificate: ...

    @overload
    def __getitem__(self, index: slice) -> List[Certificate]: ...

    def __getitem__(
        self, index: Union[int, slice]
    ) -> Union[Certificate, List[Certificate]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        with Using(self._h) as (p,):
            n = int(L.mayfly_chain_size(p))
            i = index + n if index < 0 else index
            if not 0 <= i < n:
                raise IndexError("chain index out of range")
            ptr = L.mayfly_chain_get(p, i)
            # The certificate is lent by the chain: its handle frees nothing
            # and holds the chain for as long as it lives.
            return Certificate._wrap(Handle(ptr, None, "certificate", holds=[self._h]))

    def __iter__(self) -> Iterator[Certificate]:
        for i in range(len(self)):
            yield self[i]

    @property
    def leaf(self) -> Certificate:
        return self[0]

    def to_pem(self) -> str:
        """Every certificate, in order, as PEM."""
        with Using(self._h) as (p,):
            return h.out_text(L.mayfly_chain_to_pem, p)

    def __repr__(self) -> str:
        if self.closed:
            return "<mayfly.Chain closed>"
        return f"<mayfly.Chain of {len(self)}>"


def _key(k: object) -> Key:
    if not isinstance(k, Key):
        raise TypeError(f"expected a mayfly.Key, not {type(k).__name__}")
    return k


def _chain(c: object) -> Chain:
    if not isinstance(c, Chain):
        raise TypeError(f"expected a mayfly.Chain, not {type(c).__name__}")
    return c


def _csr(c: object) -> Csr:
    if not isinstance(c, Csr):
        raise TypeError(f"expected a mayfly.Csr, not {type(c).__name__}")
    return c

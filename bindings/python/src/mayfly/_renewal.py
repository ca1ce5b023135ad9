"""Rotating credentials and the renewal scheduler."""

from __future__ import annotations

import ctypes
import datetime as _dt
import enum
import os
import time
from ctypes import byref, c_int, c_int64, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import _handle as h
from . import _lib
from ._ca import Ca
from ._client import Client
from ._handle import L, Duration, Handle, Using
from ._objects import Chain, Key, _chain, _key, _Object
from .errors import FailedPrecondition, MayflyError, StatusCode, error_for

PathLike = Union[str, "os.PathLike[str]"]
_INT64_MAX = 2**63 - 1


class CredentialsSnapshot(NamedTuple):
    """A matching pair: the chain (PEM, leaf first), its key (PKCS#8 PEM)."""

    chain_pem: str
    key_pem: str
    generation: int


def _change(user_data: Optional[int], generation: int) -> None:
    h.invoke(user_data, int(generation))


_change_trampoline: Any = _lib.CHANGE_FN(_change)


class Credentials(_Object):
    """The newest certificate chain and key; readers always see a matching
    pair. Thread-safe. Feed it with :meth:`set` or a scheduler entry
    (``Scheduler.add(..., credentials=creds)``)."""

    __slots__ = ("callback_errors",)

    def __init__(self) -> None:
        self.callback_errors: List[BaseException] = []
        ptr = h.out_object(L.mayfly_credentials_new)
        self._h = Handle(ptr, L.mayfly_credentials_free, "credentials", runs_callbacks=True)

    def set(self, chain: Chain, key: Key) -> None:
        """Replaces the pair (InvalidArgument if ``key`` is not the leaf's);
        change callbacks run before it returns."""
        with Using(self._h, _chain(chain)._h, _key(key)._h) as (p, c, k):
            h.call(L.mayfly_credentials_set, p, c, k)

    def current(self) -> CredentialsSnapshot:
        """The current pair; FailedPrecondition before the first set."""
        chain, chain_n = c_void_p(), c_size_t()
        key, key_n = c_void_p(), c_size_t()
        gen = c_uint64()
        with Using(self._h) as (p,):
            h.call(
                L.mayfly_credentials_current,
                p,
                byref(chain),
                byref(chain_n),
                byref(key),
                byref(key_n),
                byref(gen),
            )
        chain_pem = h.take(chain.value, chain_n.value).decode("utf-8")
        key_pem = h.take(key.value, key_n.value).decode("utf-8")
        return CredentialsSnapshot(chain_pem, key_pem, int(gen.value))

    @property
    def generation(self) -> int:
        """1 after the first set, +1 per set; 0 before any."""
        gen = c_uint64()
        with Using(self._h) as (p,):
            try:
                h.call(L.mayfly_credentials_current, p, None, None, None, None, byref(gen))
            except FailedPrecondition:
                return 0
        return int(gen.value)

    def chain(self) -> Chain:
        return Chain.parse(self.current().chain_pem)

    def key(self) -> Key:
        return Key.parse(self.current().key_pem)

    def on_change(self, fn: Callable[[int], None]) -> None:
        """Calls ``fn(generation)`` after each set, on the setting thread (a
        scheduler's thread for a scheduler entry). ``fn`` is kept until the
        credentials are freed; its exceptions go to ``callback_errors``."""
        key = h.register(fn, self.callback_errors, "credentials change")
        with Using(self._h) as (p,):
            h.call(L.mayfly_credentials_on_change, p, _change_trampoline, key, h.DESTROY)

    def __repr__(self) -> str:
        if self.closed:
            return "<mayfly.Credentials closed>"
        return f"<mayfly.Credentials generation={self.generation}>"


class EventType(enum.IntEnum):
    RENEWED = 0
    FAILED = 1  # will retry at next_attempt
    REVOKED = 2  # refused by the CA; no more attempts
    EXPIRED = 3  # expired before it could be renewed
    SINK_FAILED = 4


@dataclass(frozen=True)
class Event:
    """What happened to a scheduler entry (a copy: safe to keep)."""

    type: EventType
    entry: int
    time: _dt.datetime
    code: StatusCode
    message: str
    attempts: int
    next_attempt: Optional[_dt.datetime]
    chain: Optional[Chain]  # RENEWED: the new chain

    @property
    def error(self) -> Optional[MayflyError]:
        """The failure as an exception, None for RENEWED."""
        if self.code == StatusCode.OK:
            return None
        return error_for(int(self.code), self.message)

    @classmethod
    def _from_c(cls, ev: int) -> "Event":
        try:
            etype: EventType = EventType(L.mayfly_event_type(ev))
        except ValueError:
            etype = EventType.FAILED
        try:
            code = StatusCode(L.mayfly_event_code(ev))
        except ValueError:
            code = StatusCode.UNKNOWN
        next_ms = int(L.mayfly_event_next_attempt_ms(ev))
        chain: Optional[Chain] = None
        borrowed = L.mayfly_event_chain(ev)
        if borrowed:
            # The event lends its chain for the call only: keep a copy.
            chain = Chain.parse(h.out_text(L.mayfly_chain_to_pem, borrowed))
        return cls(
            type=etype,
            entry=int(L.mayfly_event_entry(ev)),
            time=h.from_ms(int(L.mayfly_event_time_ms(ev))),
            code=code,
            message=(L.mayfly_event_message(ev) or b"").decode("utf-8", "replace"),
            attempts=int(L.mayfly_event_attempts(ev)),
            next_attempt=h.from_ms(next_ms) if 0 < next_ms < _INT64_MAX else None,
            chain=chain,
        )


def _event(user_data: Optional[int], ev: Optional[int]) -> None:
    if ev:
        h.invoke(user_data, ev)


_event_trampoline: Any = _lib.EVENT_FN(_event)


def _deliver(
    user_data: Optional[int],
    chain: Optional[int],
    chain_n: int,
    key: Optional[int],
    key_n: int,
) -> int:
    ok, result = h.invoke(user_data, chain, chain_n, key, key_n)
    return 0 if ok and result is not False else 1


_deliver_trampoline: Any = _lib.DELIVER_FN(_deliver)


class EntryInfo(NamedTuple):
    chain: Chain
    next_attempt: Optional[_dt.datetime]
    attempts: int


Deliver = Callable[[str, str], Optional[bool]]


class Scheduler(_Object):
    """Renews certificates at about 2/3 of their lifetime (minus jitter),
    with backoff while the CA is unavailable; stops an entry the CA refuses.
    Thread-safe.

    Renew through an in-process ``ca`` or a ``client`` (over mTLS; with
    ``after_expiry``, by token after expiry when the CA allows it). The CA or
    client is kept alive as long as the scheduler. ``on_event(Event)`` runs
    on the scheduler thread (or the thread calling :meth:`run_due`); its
    exceptions go to ``callback_errors``. Do not make the callback refer to
    the scheduler itself: the scheduler keeps the callback until it is
    freed, so such a cycle is only broken by :meth:`close`.
    """

    __slots__ = ("callback_errors",)

    def __init__(
        self,
        *,
        ca: Optional[Ca] = None,
        client: Optional[Client] = None,
        after_expiry: bool = False,
        on_event: Optional[Callable[[Event], None]] = None,
        first_retry: Optional[Duration] = None,
        max_retry: Optional[Duration] = None,
    ) -> None:
        if (ca is None) == (client is None):
            raise ValueError("Scheduler needs exactly one of ca= or client=")
        if ca is not None and not isinstance(ca, Ca):
            raise TypeError("ca must be a mayfly.Ca")
        if client is not None and not isinstance(client, Client):
            raise TypeError("client must be a mayfly.Client")
        self.callback_errors: List[BaseException] = []
        dep = ca._h if ca is not None else client._h  # type: ignore[union-attr]
        opts = L.mayfly_scheduler_options_new()
        if not opts:
            raise MemoryError("mayfly_scheduler_options_new")
        try:
            with Using(dep) as (d,):
                if ca is not None:
                    h.check(L.mayfly_scheduler_options_set_ca(opts, d), "ca")
                else:
                    h.check(
                        L.mayfly_scheduler_options_set_client(
                            opts, d, 1 if after_expiry else 0
                        ),
                        "client",
                    )
                if first_retry is not None or max_retry is not None:
                    h.check(
                        L.mayfly_scheduler_options_set_retry(
                            opts,
                            h.ms(1.0 if first_retry is None else first_retry, "first_retry"),
                            h.ms(300.0 if max_retry is None else max_retry, "max_retry"),
                        ),
                        "retry",
                    )
                if on_event is not None:
                    if not callable(on_event):
                        raise TypeError("on_event must be callable")

                    def event(ev: int, _fn: Callable[[Event], None] = on_event) -> None:
                        _fn(Event._from_c(ev))

                    key = h.register(event, self.callback_errors, "scheduler event")
                    h.check(
                        L.mayfly_scheduler_options_set_event_callback(
                            opts, _event_trampoline, key, h.DESTROY
                        ),
                        "event callback",
                    )
                ptr = h.out_object(L.mayfly_scheduler_new, opts)
                self._h = Handle(
                    ptr,
                    L.mayfly_scheduler_free,
                    "scheduler",
                    holds=[dep],
                    stop=L.mayfly_scheduler_stop,
                )
        finally:
            L.mayfly_scheduler_options_free(opts)

    def start(self) -> None:
        """Runs renewals on the scheduler's own thread."""
        with Using(self._h) as (p,):
            h.call(L.mayfly_scheduler_start, p)

    def stop(self) -> None:
        """Stops the thread (waiting for a renewal under way)."""
        with Using(self._h) as (p,):
            L.mayfly_scheduler_stop(p)

    @property
    def next_deadline(self) -> Optional[_dt.datetime]:
        """When the next entry is due (None if there is none)."""
        with Using(self._h) as (p,):
            v = int(L.mayfly_scheduler_next_deadline_ms(p))
        return None if v >= _INT64_MAX else h.from_ms(v)

    def run_due(self, now: Optional[Union[_dt.datetime, float]] = None) -> int:
        """Host-loop mode: runs every entry due at ``now`` (default: the
        current time) on this thread; returns how many ran."""
        now_ms = h.time_ms(time.time() if now is None else now, "now")
        with Using(self._h) as (p,):
            return int(L.mayfly_scheduler_run_due(p, now_ms))

    def __len__(self) -> int:
        with Using(self._h) as (p,):
            return int(L.mayfly_scheduler_size(p))

    def add(
        self,
        chain: Chain,
        key: Key,
        *,
        credentials: Union[None, Credentials, Sequence[Credentials]] = None,
        cert_file: Optional[PathLike] = None,
        key_file: Optional[PathLike] = None,
        exec: Optional[Sequence[str]] = None,
        signal: Optional[Tuple[int, int]] = None,
        callback: Optional[Deliver] = None,
    ) -> int:
        """Manages ``chain`` (leaf first) and its ``key``; returns the entry id.

        Each renewal goes to every sink given: ``credentials`` (set at once
        with the current pair too), ``cert_file``/``key_file`` (replaced
        atomically; the key 0600), ``exec`` (argv run after each renewal),
        ``signal=(pid, signum)``, ``callback(chain_pem, key_pem)`` (return
        False or raise to report SINK_FAILED).
        """
        creds: List[Credentials] = []
        if isinstance(credentials, Credentials):
            creds = [credentials]
        elif credentials is not None:
            creds = list(credentials)
            for cred in creds:
                if not isinstance(cred, Credentials):
                    raise TypeError("credentials must be mayfly.Credentials")
        opts = L.mayfly_entry_options_new()
        if not opts:
            raise MemoryError("mayfly_entry_options_new")
        try:
            with Using(*(cred._h for cred in creds)) as cptrs:
                for cp in cptrs:
                    h.check(L.mayfly_entry_options_add_credentials(opts, cp), "credentials")
                if cert_file is not None or key_file is not None:
                    h.check(
                        L.mayfly_entry_options_add_files(
                            opts,
                            None if cert_file is None else h.cstr(os.fspath(cert_file)),
                            None if key_file is None else h.cstr(os.fspath(key_file)),
                        ),
                        "files",
                    )
                if exec is not None:
                    arr, n = h.cstr_array(exec, "exec")
                    h.check(L.mayfly_entry_options_add_exec(opts, arr, n), "exec argv")
                if signal is not None:
                    pid, signum = signal
                    h.check(
                        L.mayfly_entry_options_add_signal(opts, int(pid), int(signum)),
                        "signal",
                    )
                if callback is not None:
                    if not callable(callback):
                        raise TypeError("callback must be callable")

                    def deliver(
                        cp_: Optional[int],
                        cn: int,
                        kp: Optional[int],
                        kn: int,
                        _fn: Deliver = callback,
                    ) -> Optional[bool]:
                        chain_pem = ctypes.string_at(cp_, cn).decode() if cp_ else ""
                        key_pem = ctypes.string_at(kp, kn).decode() if kp else ""
                        return _fn(chain_pem, key_pem)

                    key_id = h.register(deliver, self.callback_errors, "delivery")
                    h.check(
                        L.mayfly_entry_options_add_callback(
                            opts, _deliver_trampoline, key_id, h.DESTROY
                        ),
                        "callback",
                    )
                entry = c_uint64()
                with Using(self._h, _chain(chain)._h, _key(key)._h) as (p, c, k):
                    h.call(L.mayfly_scheduler_add, p, c, k, opts, byref(entry))
                # The scheduler may use the credentials for as long as it
                # lives: keep them alive with it.
                for cred in creds:
                    self._h.hold(cred._h)
        finally:
            L.mayfly_entry_options_free(opts)
        return int(entry.value)

    def remove(self, entry: int) -> None:
        """Stops managing an entry (NotFound for an unknown id)."""
        with Using(self._h) as (p,):
            h.call(L.mayfly_scheduler_remove, p, int(entry))

    def update(self, entry: int, chain: Chain, key: Key) -> None:
        """Replaces an entry's pair (renewed elsewhere)."""
        with Using(self._h, _chain(chain)._h, _key(key)._h) as (p, c, k):
            h.call(L.mayfly_scheduler_update, p, int(entry), c, k)

    def entry_info(self, entry: int) -> EntryInfo:
        chain = c_void_p()
        next_ms = c_int64()
        attempts = c_int()
        with Using(self._h) as (p,):
            h.call(
                L.mayfly_scheduler_entry_info,
                p,
                int(entry),
                byref(chain),
                byref(next_ms),
                byref(attempts),
            )
        assert chain.value
        v = int(next_ms.value)
        return EntryInfo(
            Chain._take(chain.value),
            None if v >= _INT64_MAX or v <= 0 else h.from_ms(v),
            int(attempts.value),
        )

    def __repr__(self) -> str:
        if self.closed:
            return "<mayfly.Scheduler closed>"
        return f"<mayfly.Scheduler entries={len(self)}>"

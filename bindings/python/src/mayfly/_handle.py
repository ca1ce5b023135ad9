"""Plumbing shared by the wrappers: native handles, calls, buffers, callbacks.

Handles. Every C object is owned by one :class:`Handle`. A handle counts its
users: each call into C holds the handle for the call's duration, and an
object that needs another to stay alive (a server needs its CA, a scheduler
its CA or client) holds it for its whole life. ``close()`` forbids new uses
and the C object is freed when the last use ends, so neither an explicit
``close()`` racing a call on another thread nor the garbage collector
finalizing objects in any order can free memory still in use.

Callbacks. C keeps (function, user_data, destroy). The functions are
module-level ctypes trampolines, alive as long as the module; user_data is an
integer key into a registry holding the Python callable, and destroy(key)
removes the entry, so the callable lives exactly as long as C may call it.
Exceptions never propagate into C: they are logged on the "mayfly" logger
and appended to the owner's ``callback_errors``.
"""

from __future__ import annotations

import atexit
import ctypes
import datetime as _dt
import itertools
import logging
import threading
import weakref
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _lib
from .errors import InvalidArgument, MayflyError, error_for

L = _lib.lib
log = logging.getLogger("mayfly")

Duration = Union[float, int, _dt.timedelta]
Bytesish = Union[bytes, bytearray, memoryview, str]

_tls = threading.local()


def in_callback() -> bool:
    """True while this thread runs a Python callback called by mayfly."""
    return getattr(_tls, "depth", 0) > 0


class Handle:
    """Owns one C object; see the module comment."""

    __slots__ = (
        "_ptr",
        "_free",
        "_lock",
        "_users",
        "_closing",
        "_holds",
        "_stop",
        "_defer",
        "name",
        "__weakref__",
    )

    def __init__(
        self,
        ptr: Optional[int],
        free: Optional[Callable[[int], None]],
        name: str,
        holds: Sequence[Optional["Handle"]] = (),
        stop: Optional[Callable[[int], None]] = None,
        runs_callbacks: bool = False,
    ) -> None:
        if not ptr:
            raise MayflyError(f"mayfly returned no {name} (out of memory?)")
        self._ptr: Optional[int] = ptr
        self._free = free
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False
        self._holds: List[Handle] = []
        self._stop = stop
        self._defer = runs_callbacks or stop is not None
        self.name = name
        if holds:
            for h in holds:
                if h is not None:
                    h.acquire()
                    self._holds.append(h)
        if stop is not None:
            _running.add(self)

    def acquire(self) -> int:
        with self._lock:
            if self._closing:
                raise ValueError(f"mayfly: the {self.name} is closed")
            self._users += 1
            return self._ptr  # type: ignore[return-value]  # set until closing

    def hold(self, other: "Handle") -> None:
        """Keeps ``other`` alive until this object is freed."""
        other.acquire()
        with self._lock:
            if self._ptr is not None:
                self._holds.append(other)
                return
        other.release()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if not self._closing or self._users:
                return
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._dispose(ptr)

    @property
    def closed(self) -> bool:
        return self._closing

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._users:
                return  # the last user frees it
            ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._dispose(ptr)

    def stop(self) -> None:
        """Runs the stop function (scheduler, server) if still open."""
        if self._stop is None:
            return
        try:
            ptr = self.acquire()
        except ValueError:
            return
        try:
            self._stop(ptr)
        finally:
            self.release()

    def _dispose(self, ptr: int) -> None:
        """Frees the C object; runs once, after the last use."""
        if self._defer:
            _running.discard(self)
            if self._free is not None and in_callback():
                # Freeing a scheduler, server or credentials from a callback
                # it runs would wait for itself: c.h forbids it. Free it from
                # another thread once the callback has returned.
                threading.Thread(
                    target=self._free_and_release, args=(ptr,), daemon=True
                ).start()
                return
        self._free_and_release(ptr)

    def _free_and_release(self, ptr: int) -> None:
        try:
            if self._free is not None:
                self._free(ptr)
        finally:
            if self._holds:
                holds, self._holds = self._holds, []
                for h in holds:
                    h.release()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules half torn down
            pass


# Handles with a stop function (schedulers, servers, and credentials, whose
# change callbacks may run on a scheduler thread). At exit their threads are
# stopped before the interpreter goes away under a callback.
_running: "weakref.WeakSet[Handle]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for h in list(_running):
        try:
            h.stop()
        except Exception:
            pass


class Using:
    """Holds handles (None allowed) for one call; yields their pointers."""

    __slots__ = ("_hs", "_n")

    def __init__(self, *hs: Optional[Handle]) -> None:
        self._hs = hs
        self._n = 0

    def __enter__(self) -> List[Optional[int]]:
        ptrs: List[Optional[int]] = []
        try:
            for h in self._hs:
                ptrs.append(None if h is None else h.acquire())
                self._n += 1
        except BaseException:
            self._release()
            raise
        return ptrs

    def __exit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        for h in self._hs[: self._n]:
            if h is not None:
                h.release()
        self._n = 0


# ---- Calls ------------------------------------------------------------------


def raise_error(code: int, err: c_void_p) -> None:
    if err.value:
        msg = (L.mayfly_error_message(err) or b"").decode("utf-8", "replace")
        L.mayfly_error_free(err)
    else:
        msg = "mayfly call failed"
    raise error_for(code, msg)


def call(fn: Any, *args: Any) -> None:
    """Calls a fallible C function, appending the error out-parameter."""
    err = c_void_p()
    code = fn(*args, byref(err))
    if code:
        raise_error(code, err)


def check(code: int, what: str) -> None:
    """Raises for a setter's status (setters have no error object)."""
    if code:
        raise error_for(code, f"invalid {what}")


def out_object(fn: Any, *args: Any) -> int:
    out = c_void_p()
    call(fn, *args, byref(out))
    if not out.value:
        raise MayflyError("mayfly returned no object")
    return out.value


def take(ptr: Optional[int], n: int) -> bytes:
    """Copies and frees a buffer mayfly returned."""
    if not ptr:
        return b""
    try:
        return ctypes.string_at(ptr, n)
    finally:
        L.mayfly_free(ptr)


def out_bytes(fn: Any, *args: Any) -> bytes:
    out = c_void_p()
    n = c_size_t()
    call(fn, *args, byref(out), byref(n))
    return take(out.value, n.value)


def out_text(fn: Any, *args: Any) -> str:
    return out_bytes(fn, *args).decode("utf-8")


def cstr(s: Optional[str], what: str = "text") -> Optional[bytes]:
    """Encodes text for a const char* argument (None stays NULL)."""
    if s is None:
        return None
    if type(s) is str:
        if "\0" in s:
            raise InvalidArgument(f"{what} contains a NUL character")
        return s.encode("utf-8")
    if isinstance(s, bytes):
        b = s
    elif isinstance(s, str):
        b = s.encode("utf-8")
    else:
        raise TypeError(f"{what} must be str, not {type(s).__name__}")
    if b"\0" in b:
        raise InvalidArgument(f"{what} contains a NUL character")
    return b


def as_bytes(data: Bytesish, what: str = "data") -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"{what} must be bytes or str, not {type(data).__name__}")


def cstr_array(items: Sequence[str], what: str) -> Tuple[Any, int]:
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of str, not a single string")
    encoded = [cstr(s, what) for s in items]
    arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
    return arr, len(encoded)


def ms(d: Duration, what: str) -> int:
    """A duration (seconds or timedelta) in milliseconds."""
    if isinstance(d, _dt.timedelta):
        return int(round(d.total_seconds() * 1000))
    if isinstance(d, bool) or not isinstance(d, (int, float)):
        raise TypeError(f"{what} must be seconds or a timedelta")
    return int(round(d * 1000))


def time_ms(t: Union[_dt.datetime, float, int], what: str) -> int:
    """A time (aware datetime, or seconds since the epoch) in milliseconds."""
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            raise ValueError(f"{what} must be timezone-aware")
        return int(round(t.timestamp() * 1000))
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise TypeError(f"{what} must be a datetime or seconds since the epoch")
    return int(round(t * 1000))


def from_ms(v: int) -> _dt.datetime:
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(
        milliseconds=v
    )


# ---- Callbacks --------------------------------------------------------------


class Registered:
    """A registered Python callable and where its failures are recorded."""

    __slots__ = ("fn", "errors", "what")

    def __init__(self, fn: Callable[..., Any], errors: List[BaseException], what: str):
        self.fn = fn
        self.errors = errors
        self.what = what


_registry: Dict[int, Registered] = {}
_registry_lock = threading.Lock()
_ids = itertools.count(1)


def register(fn: Callable[..., Any], errors: List[BaseException], what: str) -> int:
    """Keeps ``fn`` alive until C calls destroy; returns its user_data."""
    if not callable(fn):
        raise TypeError(f"{what} must be callable")
    key = next(_ids)
    with _registry_lock:
        _registry[key] = Registered(fn, errors, what)
    return key


def unregister(key: int) -> None:
    with _registry_lock:
        _registry.pop(key, None)


def registered_count() -> int:
    """How many callbacks C still holds (for tests)."""
    with _registry_lock:
        return len(_registry)


def invoke(key: Optional[int], *args: Any) -> Tuple[bool, Any]:
    """Runs the callable registered under ``key``: (ok, result)."""
    entry = _registry.get(key or 0)
    if entry is None:
        return False, None
    _tls.depth = getattr(_tls, "depth", 0) + 1
    try:
        return True, entry.fn(*args)
    except BaseException as e:  # noqa: BLE001 - nothing may reach C
        try:
            entry.errors.append(e)
            log.error("exception in mayfly %s callback", entry.what, exc_info=e)
        except BaseException:
            pass
        return False, None
    finally:
        _tls.depth -= 1


def _destroy(user_data: Optional[int]) -> None:
    try:
        unregister(user_data or 0)
    except BaseException:
        pass


# The one destroy(user_data) every registration passes to C.
DESTROY: Any = _lib.DESTROY_FN(_destroy)

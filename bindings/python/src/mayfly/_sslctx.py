"""Python ``ssl`` contexts that follow rotating credentials."""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
import weakref
from typing import Any, Callable, List, Optional

from ._renewal import Credentials, CredentialsSnapshot


def _context_from(
    snap: CredentialsSnapshot,
    server_side: bool,
    configure: Optional[Callable[[ssl.SSLContext], None]],
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # ssl can only load a certificate and key from files: write them into a
    # private directory (0700, key 0600) for the duration of the load.
    with tempfile.TemporaryDirectory(prefix="mayfly-") as d:
        cert_path = os.path.join(d, "chain.pem")
        key_path = os.path.join(d, "key.pem")
        with open(os.open(cert_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(snap.chain_pem)
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(snap.key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    if configure is not None:
        configure(ctx)
    return ctx


class RotatingSSLContext:
    """The newest :class:`ssl.SSLContext` for a :class:`Credentials`.

    Each change of the credentials (a scheduler renewal, or ``set``) builds
    a new context holding the new chain and key; handshakes started after
    that use it, handshakes in progress finish with the old one. Use
    :meth:`wrap_socket` per accepted connection, or :attr:`sni_callback` on
    a base context, or read :attr:`context` yourself. ``configure(ctx)``
    runs on every new context (e.g. to require client certificates).

    The credentials must have been set once before this is made.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        server_side: bool = True,
        configure: Optional[Callable[[ssl.SSLContext], None]] = None,
    ) -> None:
        self._lock = threading.Lock()
        self._server_side = server_side
        self._configure = configure
        self._generation = 0
        self._ctx: Optional[ssl.SSLContext] = None
        self._listeners: List[Callable[[int], None]] = []
        self._install(credentials.current())
        # The callback outlives neither this object nor the credentials: it
        # refers to both weakly, so registering it creates no cycle through
        # the callback registry.
        me = weakref.ref(self)
        handle_ref = weakref.ref(credentials._h)

        def on_change(generation: int) -> None:
            rot, handle = me(), handle_ref()
            if rot is None or handle is None:
                return
            rot._install(Credentials._wrap(handle).current())

        credentials.on_change(on_change)

    def _install(self, snap: CredentialsSnapshot) -> None:
        with self._lock:
            if snap.generation <= self._generation:
                return  # an older pair, delivered late
        ctx = _context_from(snap, self._server_side, self._configure)
        with self._lock:
            if snap.generation <= self._generation:
                return
            self._ctx = ctx
            self._generation = snap.generation
            listeners = list(self._listeners)
        for fn in listeners:
            fn(snap.generation)

    def on_rotate(self, fn: Callable[[int], None]) -> None:
        """Calls ``fn(generation)`` after each new context is in place (on
        the thread that set the credentials)."""
        with self._lock:
            self._listeners.append(fn)

    @property
    def context(self) -> ssl.SSLContext:
        with self._lock:
            assert self._ctx is not None
            return self._ctx

    @property
    def generation(self) -> int:
        with self._lock:
            return self._generation

    def wrap_socket(self, sock: socket.socket, **kwargs: Any) -> ssl.SSLSocket:
        """Wraps ``sock`` with the newest context."""
        return self.context.wrap_socket(sock, server_side=self._server_side, **kwargs)

    def sni_callback(
        self, sslobj: ssl.SSLObject, server_name: Optional[str], base: ssl.SSLContext
    ) -> None:
        """For ``base.sni_callback``: switches the handshake to the newest
        context (clients that send SNI only)."""
        sslobj.context = self.context

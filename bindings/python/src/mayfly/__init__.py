"""mayfly: an embeddable private CA for short-lived certificates.

Python bindings over libmayfly's C ABI (include/mayfly/c.h), with ctypes.
The library is found through the environment variable MAYFLY_LIBRARY (a
path to libmayfly.so), then the build directories of the source tree this
package runs from, then the system's library path.

    import mayfly

    pki = mayfly.init_pki("/tmp/ca", "pw", kdf_iterations=1000)
    with mayfly.Ca.open(pki.config_path, "pw", store="memory:") as ca:
        signer = ca.token_signer("admin", "pw")
        key = mayfly.Key.generate()
        token = signer.sign("svc.internal", ca_url="https://localhost:9000")
        chain = ca.sign(mayfly.Csr(key, "svc.internal", ["svc.internal"]), token)
        print(chain.leaf.common_name, chain.leaf.not_after)
"""

from __future__ import annotations

from . import _lib
from ._ca import Ca, InitResult, Server, TokenPurpose, TokenSigner, init_pki
from ._client import Client
from ._handle import Duration
from ._objects import Certificate, Chain, Csr, Key, KeyType, inspect
from ._renewal import (
    Credentials,
    CredentialsSnapshot,
    EntryInfo,
    Event,
    EventType,
    Scheduler,
)
from ._sslctx import RotatingSSLContext
from .errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    MayflyError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    StatusCode,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)

__version__ = "0.1.0"

#: The path of the loaded libmayfly.
library_path: str = str(_lib.path)


def library_version() -> str:
    """The loaded library's version string (e.g. "0.1.0")."""
    return (_lib.lib.mayfly_version() or b"").decode("ascii")


def library_version_number() -> int:
    """MAYFLY_VERSION_NUMBER of the loaded library (major*1e6+minor*1e3+patch)."""
    return int(_lib.lib.mayfly_version_number())


__all__ = [
    "Aborted",
    "AlreadyExists",
    "Ca",
    "Cancelled",
    "Certificate",
    "Chain",
    "Client",
    "Credentials",
    "CredentialsSnapshot",
    "Csr",
    "DataLoss",
    "DeadlineExceeded",
    "Duration",
    "EntryInfo",
    "Event",
    "EventType",
    "FailedPrecondition",
    "InitResult",
    "Internal",
    "InvalidArgument",
    "Key",
    "KeyType",
    "MayflyError",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "RotatingSSLContext",
    "Scheduler",
    "Server",
    "StatusCode",
    "TokenPurpose",
    "TokenSigner",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "init_pki",
    "inspect",
    "library_path",
    "library_version",
    "library_version_number",
]

"""Loading libmayfly and declaring the C ABI (include/mayfly/c.h) for ctypes.

Nothing here is public: the classes in the other modules wrap these
functions. Every prototype is declared so that ctypes converts arguments and
results exactly as the header says (a missing declaration would silently
truncate 64-bit values).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import List, Optional

# The library version this package was written for: major and minor must
# match (before 1.0 a minor release may change the ABI); any patch works.
EXPECTED_VERSION = (0, 1, 0)

_ENV = "MAYFLY_LIBRARY"

# Callback types (c.h): mayfly_change_fn, mayfly_event_fn, mayfly_deliver_fn,
# mayfly_log_fn and the destroy(user_data) every registration takes.
DESTROY_FN = CFUNCTYPE(None, c_void_p)
CHANGE_FN = CFUNCTYPE(None, c_void_p, c_uint64)
EVENT_FN = CFUNCTYPE(None, c_void_p, c_void_p)
# The PEM arguments are declared as void* (not char*) so that ctypes hands
# over the address and the lengths decide how much is read.
DELIVER_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
LOG_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t)

_P = c_void_p  # every opaque handle
_PP = POINTER(c_void_p)  # out-parameters: handles, buffers, error objects
_SZ = POINTER(c_size_t)

# name: (restype, argtypes). Outputs of text and bytes are void** so that the
# raw address survives for mayfly_free.
_PROTOTYPES = {
    "mayfly_version": (c_char_p, []),
    "mayfly_version_number": (c_uint32, []),
    "mayfly_free": (None, [_P]),
    "mayfly_error_code": (c_int, [_P]),
    "mayfly_error_message": (c_char_p, [_P]),
    "mayfly_error_free": (None, [_P]),
    "mayfly_certificate_inspect": (c_int, [_P, c_size_t, _PP, _SZ, _PP]),
    # Keys.
    "mayfly_key_generate": (c_int, [c_int, _PP, _PP]),
    "mayfly_key_parse": (c_int, [_P, c_size_t, c_char_p, _PP, _PP]),
    "mayfly_key_to_pem": (c_int, [_P, c_char_p, _PP, _SZ, _PP]),
    "mayfly_key_public_pem": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_key_type": (c_int, [_P]),
    "mayfly_key_free": (None, [_P]),
    # CSRs.
    "mayfly_csr_new": (c_int, [_P, c_char_p, POINTER(c_char_p), c_size_t, _PP, _PP]),
    "mayfly_csr_parse": (c_int, [_P, c_size_t, _PP, _PP]),
    "mayfly_csr_to_pem": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_csr_free": (None, [_P]),
    # Certificates.
    "mayfly_cert_parse": (c_int, [_P, c_size_t, _PP, _PP]),
    "mayfly_cert_to_pem": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_cert_to_der": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_cert_serial": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_cert_common_name": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_cert_fingerprint": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_cert_validity": (c_int, [_P, POINTER(c_int64), POINTER(c_int64), _PP]),
    "mayfly_cert_free": (None, [_P]),
    # Chains.
    "mayfly_chain_parse": (c_int, [_P, c_size_t, _PP, _PP]),
    "mayfly_chain_size": (c_size_t, [_P]),
    "mayfly_chain_get": (c_void_p, [_P, c_size_t]),
    "mayfly_chain_to_pem": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_chain_free": (None, [_P]),
    # PKI initialisation.
    "mayfly_init_options_new": (c_void_p, []),
    "mayfly_init_options_free": (None, [_P]),
    "mayfly_init_options_set_dir": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_name": (c_int, [_P, c_char_p]),
    "mayfly_init_options_add_dns_name": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_address": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_provisioner": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_password": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_provisioner_password": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_key_type": (c_int, [_P, c_int]),
    "mayfly_init_options_set_store": (c_int, [_P, c_char_p]),
    "mayfly_init_options_set_overwrite": (c_int, [_P, c_int]),
    "mayfly_init_options_set_kdf_iterations": (c_int, [_P, c_uint32]),
    "mayfly_pki_init": (c_int, [_P, _PP, _PP]),
    "mayfly_init_result_config_path": (c_char_p, [_P]),
    "mayfly_init_result_root_path": (c_char_p, [_P]),
    "mayfly_init_result_root_fingerprint": (c_char_p, [_P]),
    "mayfly_init_result_provisioner_kid": (c_char_p, [_P]),
    "mayfly_init_result_free": (None, [_P]),
    # The CA.
    "mayfly_ca_open": (c_int, [c_char_p, c_char_p, c_char_p, _PP, _PP]),
    "mayfly_ca_free": (None, [_P]),
    "mayfly_ca_roots": (c_int, [_P, _PP, _PP]),
    "mayfly_ca_root_fingerprint": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_provisioner_options_new": (c_void_p, []),
    "mayfly_provisioner_options_free": (None, [_P]),
    "mayfly_provisioner_options_set_durations": (c_int, [_P, c_int64, c_int64, c_int64]),
    "mayfly_provisioner_options_set_disable_renewal": (c_int, [_P, c_int]),
    "mayfly_provisioner_options_set_allow_renewal_after_expiry": (c_int, [_P, c_int]),
    "mayfly_provisioner_options_set_kdf_iterations": (c_int, [_P, c_uint32]),
    "mayfly_ca_add_provisioner": (c_int, [_P, c_char_p, _P, c_char_p, _P, _PP]),
    "mayfly_ca_remove_provisioner": (c_int, [_P, c_char_p, _PP]),
    "mayfly_ca_provisioners_json": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_ca_sign": (c_int, [_P, _P, c_char_p, c_char_p, c_char_p, _PP, _PP]),
    "mayfly_ca_renew": (c_int, [_P, _P, _PP, _PP]),
    "mayfly_ca_renew_with_token": (c_int, [_P, c_char_p, _PP, _PP]),
    "mayfly_ca_rekey": (c_int, [_P, _P, _P, _PP, _PP]),
    "mayfly_ca_revoke": (c_int, [_P, c_char_p, c_int, c_char_p, c_char_p, _P, _PP]),
    "mayfly_ca_crl": (c_int, [_P, c_int, _PP, _SZ, _PP]),
    # Tokens.
    "mayfly_token_signer_new": (c_int, [_P, c_char_p, c_char_p, _PP, _PP]),
    "mayfly_token_signer_from_ca": (c_int, [_P, c_char_p, c_char_p, _PP, _PP]),
    "mayfly_token_signer_free": (None, [_P]),
    "mayfly_token_options_new": (c_void_p, []),
    "mayfly_token_options_free": (None, [_P]),
    "mayfly_token_options_set_subject": (c_int, [_P, c_char_p]),
    "mayfly_token_options_set_ca_url": (c_int, [_P, c_char_p]),
    "mayfly_token_options_set_purpose": (c_int, [_P, c_int]),
    "mayfly_token_options_add_san": (c_int, [_P, c_char_p]),
    "mayfly_token_options_set_root_fingerprint": (c_int, [_P, c_char_p]),
    "mayfly_token_options_set_lifetime": (c_int, [_P, c_int64]),
    "mayfly_token_sign": (c_int, [_P, _P, _PP, _SZ, _PP]),
    # The server.
    "mayfly_server_options_new": (c_void_p, []),
    "mayfly_server_options_free": (None, [_P]),
    "mayfly_server_options_set_address": (c_int, [_P, c_char_p]),
    "mayfly_server_options_set_worker_threads": (c_int, [_P, c_int]),
    "mayfly_server_options_set_json_logs": (c_int, [_P, c_int]),
    "mayfly_server_options_set_log_callback": (c_int, [_P, LOG_FN, _P, DESTROY_FN]),
    "mayfly_server_start": (c_int, [_P, _P, _PP, _PP]),
    "mayfly_server_port": (c_int, [_P]),
    "mayfly_server_stop": (None, [_P, c_int64]),
    "mayfly_server_free": (None, [_P]),
    # The client.
    "mayfly_client_new": (c_int, [c_char_p, _P, _PP, _PP]),
    "mayfly_client_bootstrap": (c_int, [c_char_p, c_char_p, _PP, _PP]),
    "mayfly_client_free": (None, [_P]),
    "mayfly_client_health": (c_int, [_P, _PP]),
    "mayfly_client_roots": (c_int, [_P, _PP, _PP]),
    "mayfly_client_provisioners_json": (c_int, [_P, _PP, _SZ, _PP]),
    "mayfly_client_sign": (c_int, [_P, _P, c_char_p, _PP, _PP]),
    "mayfly_client_sign_csr": (c_int, [_P, _P, c_char_p, _PP, _PP]),
    "mayfly_client_renew": (c_int, [_P, _P, _P, _PP, _PP]),
    "mayfly_client_renew_with_token": (c_int, [_P, _P, _P, _PP, _PP]),
    "mayfly_client_rekey": (c_int, [_P, _P, _P, _P, _PP, _PP]),
    "mayfly_client_revoke": (c_int, [_P, c_char_p, c_int, c_char_p, c_char_p, _P, _P, _PP]),
    # Rotating credentials.
    "mayfly_credentials_new": (c_int, [_PP, _PP]),
    "mayfly_credentials_free": (None, [_P]),
    "mayfly_credentials_set": (c_int, [_P, _P, _P, _PP]),
    "mayfly_credentials_current": (
        c_int,
        [_P, _PP, _SZ, _PP, _SZ, POINTER(c_uint64), _PP],
    ),
    "mayfly_credentials_on_change": (c_int, [_P, CHANGE_FN, _P, DESTROY_FN, _PP]),
    # The scheduler.
    "mayfly_event_type": (c_int, [_P]),
    "mayfly_event_entry": (c_uint64, [_P]),
    "mayfly_event_time_ms": (c_int64, [_P]),
    "mayfly_event_code": (c_int, [_P]),
    "mayfly_event_message": (c_char_p, [_P]),
    "mayfly_event_attempts": (c_int, [_P]),
    "mayfly_event_next_attempt_ms": (c_int64, [_P]),
    "mayfly_event_chain": (c_void_p, [_P]),
    "mayfly_scheduler_options_new": (c_void_p, []),
    "mayfly_scheduler_options_free": (None, [_P]),
    "mayfly_scheduler_options_set_client": (c_int, [_P, _P, c_int]),
    "mayfly_scheduler_options_set_ca": (c_int, [_P, _P]),
    "mayfly_scheduler_options_set_event_callback": (c_int, [_P, EVENT_FN, _P, DESTROY_FN]),
    "mayfly_scheduler_options_set_retry": (c_int, [_P, c_int64, c_int64]),
    "mayfly_scheduler_new": (c_int, [_P, _PP, _PP]),
    "mayfly_scheduler_free": (None, [_P]),
    "mayfly_scheduler_start": (c_int, [_P, _PP]),
    "mayfly_scheduler_stop": (None, [_P]),
    "mayfly_scheduler_next_deadline_ms": (c_int64, [_P]),
    "mayfly_scheduler_run_due": (c_size_t, [_P, c_int64]),
    "mayfly_scheduler_size": (c_size_t, [_P]),
    "mayfly_entry_options_new": (c_void_p, []),
    "mayfly_entry_options_free": (None, [_P]),
    "mayfly_entry_options_add_credentials": (c_int, [_P, _P]),
    "mayfly_entry_options_add_files": (c_int, [_P, c_char_p, c_char_p]),
    "mayfly_entry_options_add_exec": (c_int, [_P, POINTER(c_char_p), c_size_t]),
    "mayfly_entry_options_add_signal": (c_int, [_P, c_int, c_int]),
    "mayfly_entry_options_add_callback": (c_int, [_P, DELIVER_FN, _P, DESTROY_FN]),
    "mayfly_scheduler_add": (c_int, [_P, _P, _P, _P, POINTER(c_uint64), _PP]),
    "mayfly_scheduler_remove": (c_int, [_P, c_uint64, _PP]),
    "mayfly_scheduler_update": (c_int, [_P, c_uint64, _P, _P, _PP]),
    "mayfly_scheduler_entry_info": (
        c_int,
        [_P, c_uint64, _PP, POINTER(c_int64), POINTER(c_int), _PP],
    ),
}


def _repo_build_candidates() -> List[Path]:
    """Libraries built in the source tree, when this package runs from it.

    The package source lives at <repo>/bindings/python/src/mayfly; an editable
    install (or running the tests with PYTHONPATH=src) finds the library the
    build left in <repo>/build or another <repo>/build-*, newest first.
    """
    here = Path(__file__).resolve()
    try:
        repo = here.parents[4]
    except IndexError:
        return []
    if not (repo / "include" / "mayfly" / "c.h").is_file():
        return []
    found = [p for p in repo.glob("build*/libmayfly.so") if p.is_file()]
    found.sort(key=lambda p: (p.parent.name != "build", -p.stat().st_mtime))
    return found


def _load() -> ctypes.CDLL:
    tried: List[str] = []
    env = os.environ.get(_ENV)
    if env:
        try:
            return ctypes.CDLL(env)
        except OSError as e:
            raise ImportError(
                f"mayfly: cannot load {env!r} named by {_ENV}: {e}"
            ) from e
    for candidate in _repo_build_candidates():
        try:
            return ctypes.CDLL(str(candidate))
        except OSError as e:
            tried.append(f"{candidate} ({e})")
    name = ctypes.util.find_library("mayfly")
    if name:
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append(f"{name} ({e})")
    detail = ("; tried " + ", ".join(tried)) if tried else ""
    raise ImportError(
        "mayfly: cannot find libmayfly.so: set the environment variable "
        f"{_ENV} to its path (e.g. build/libmayfly.so){detail}"
    )


def _declare(lib: ctypes.CDLL) -> None:
    missing = []
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError(
            f"mayfly: {lib._name} lacks {len(missing)} C functions this "
            f"package needs ({', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}); is it an older build?"
        )


def _check_version(lib: ctypes.CDLL) -> None:
    number = int(lib.mayfly_version_number())
    found = (number // 1000000, number // 1000 % 1000, number % 1000)
    if found[:2] != EXPECTED_VERSION[:2]:
        want = ".".join(map(str, EXPECTED_VERSION[:2]))
        raise ImportError(
            f"mayfly: {lib._name} is version {'.'.join(map(str, found))}, "
            f"this package needs {want}.x (set {_ENV} to a matching library)"
        )


lib = _load()
_declare(lib)
_check_version(lib)

path: Optional[str] = lib._name

//! Raw declarations of mayfly's C ABI, `include/mayfly/c.h`, written by hand
//! to match it exactly (no bindgen, so no libclang at build time).
//!
//! Everything here is `unsafe` and follows c.h's rules: objects are opaque,
//! made by `mayfly_*_new` (or a call returning one) and released by
//! `mayfly_*_free`, which accepts NULL; buffers mayfly returns are released
//! with [`mayfly_free`]; every fallible call returns a status code
//! (`MAYFLY_OK` or one of the absl::StatusCode numbers below) and, when `err`
//! is not NULL, an error object released with [`mayfly_error_free`]. The
//! safe wrappers live in the `mayfly` crate.
//!
//! `tests/abi.rs` checks that every function and constant of c.h is declared
//! here with the same value, and links every function, so a missing symbol
//! in the library fails the build of that test.

#![allow(non_camel_case_types)]
#![no_std]

use core::ffi::{c_char, c_int, c_void};
use core::marker::{PhantomData, PhantomPinned};

/// The version this crate was written against (mayfly/version.h).
pub const MAYFLY_VERSION_MAJOR: u32 = 0;
pub const MAYFLY_VERSION_MINOR: u32 = 1;
pub const MAYFLY_VERSION_PATCH: u32 = 0;
/// major * 1000000 + minor * 1000 + patch.
pub const MAYFLY_VERSION_NUMBER: u32 =
    MAYFLY_VERSION_MAJOR * 1_000_000 + MAYFLY_VERSION_MINOR * 1_000 + MAYFLY_VERSION_PATCH;
pub const MAYFLY_VERSION_STRING: &str = "0.1.0";

// Status codes: the numbers of absl::StatusCode.
pub const MAYFLY_OK: c_int = 0;
pub const MAYFLY_CANCELLED: c_int = 1;
pub const MAYFLY_UNKNOWN: c_int = 2;
pub const MAYFLY_INVALID_ARGUMENT: c_int = 3;
pub const MAYFLY_DEADLINE_EXCEEDED: c_int = 4;
pub const MAYFLY_NOT_FOUND: c_int = 5;
pub const MAYFLY_ALREADY_EXISTS: c_int = 6;
pub const MAYFLY_PERMISSION_DENIED: c_int = 7;
pub const MAYFLY_RESOURCE_EXHAUSTED: c_int = 8;
pub const MAYFLY_FAILED_PRECONDITION: c_int = 9;
pub const MAYFLY_ABORTED: c_int = 10;
pub const MAYFLY_OUT_OF_RANGE: c_int = 11;
pub const MAYFLY_UNIMPLEMENTED: c_int = 12;
pub const MAYFLY_INTERNAL: c_int = 13;
pub const MAYFLY_UNAVAILABLE: c_int = 14;
pub const MAYFLY_DATA_LOSS: c_int = 15;
pub const MAYFLY_UNAUTHENTICATED: c_int = 16;

// Key types.
pub const MAYFLY_KEY_P256: c_int = 0;
pub const MAYFLY_KEY_P384: c_int = 1;
pub const MAYFLY_KEY_ED25519: c_int = 2;
pub const MAYFLY_KEY_RSA: c_int = 3;

// Token purposes.
pub const MAYFLY_TOKEN_SIGN: c_int = 0;
pub const MAYFLY_TOKEN_REVOKE: c_int = 1;

// Scheduler event types.
pub const MAYFLY_EVENT_RENEWED: c_int = 0;
pub const MAYFLY_EVENT_FAILED: c_int = 1;
pub const MAYFLY_EVENT_REVOKED: c_int = 2;
pub const MAYFLY_EVENT_EXPIRED: c_int = 3;
pub const MAYFLY_EVENT_SINK_FAILED: c_int = 4;

// Opaque types: zero-sized, neither Send, Sync nor Unpin, so they can only be
// used behind pointers mayfly hands out.
macro_rules! opaque {
    ($($name:ident => $alias:ident),* $(,)?) => {
        $(
            #[repr(C)]
            pub struct $name {
                _data: [u8; 0],
                _marker: PhantomData<(*mut u8, PhantomPinned)>,
            }
            pub type $alias = $name;
        )*
    };
}

opaque! {
    mayfly_error => mayfly_error_t,
    mayfly_key => mayfly_key_t,
    mayfly_csr => mayfly_csr_t,
    mayfly_cert => mayfly_cert_t,
    mayfly_chain => mayfly_chain_t,
    mayfly_init_options => mayfly_init_options_t,
    mayfly_init_result => mayfly_init_result_t,
    mayfly_ca => mayfly_ca_t,
    mayfly_provisioner_options => mayfly_provisioner_options_t,
    mayfly_token_signer => mayfly_token_signer_t,
    mayfly_token_options => mayfly_token_options_t,
    mayfly_server => mayfly_server_t,
    mayfly_server_options => mayfly_server_options_t,
    mayfly_client => mayfly_client_t,
    mayfly_credentials => mayfly_credentials_t,
    mayfly_scheduler => mayfly_scheduler_t,
    mayfly_scheduler_options => mayfly_scheduler_options_t,
    mayfly_event => mayfly_event_t,
    mayfly_entry_options => mayfly_entry_options_t,
}

/// `void (*destroy)(void* user_data)`, called once when the object holding a
/// callback is freed (or at once when registering it fails).
pub type mayfly_destroy_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A server log line (no newline, NUL-terminated, borrowed for the call).
pub type mayfly_log_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, line: *const c_char, line_len: usize)>;

/// Called with the new generation after each credentials set.
pub type mayfly_change_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, generation: u64)>;

/// A scheduler event, lent for the call.
pub type mayfly_event_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, ev: *const mayfly_event_t)>;

/// A renewed chain and key as PEM, borrowed for the call; nonzero reports
/// MAYFLY_EVENT_SINK_FAILED.
pub type mayfly_deliver_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        chain_pem: *const c_char,
        chain_pem_len: usize,
        key_pem: *const c_char,
        key_pem_len: usize,
    ) -> c_int,
>;

extern "C" {
    // ---- Version, memory, errors, inspection ------------------------------
    pub fn mayfly_version() -> *const c_char;
    pub fn mayfly_version_number() -> u32;
    pub fn mayfly_free(p: *mut c_void);
    pub fn mayfly_error_code(err: *const mayfly_error_t) -> c_int;
    pub fn mayfly_error_message(err: *const mayfly_error_t) -> *const c_char;
    pub fn mayfly_error_free(err: *mut mayfly_error_t);
    pub fn mayfly_certificate_inspect(
        in_: *const u8,
        in_len: usize,
        out_text: *mut *mut c_char,
        out_text_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;

    // ---- Keys ---------------------------------------------------------------
    pub fn mayfly_key_generate(
        type_: c_int,
        out: *mut *mut mayfly_key_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_key_parse(
        in_: *const u8,
        in_len: usize,
        password: *const c_char,
        out: *mut *mut mayfly_key_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_key_to_pem(
        key: *const mayfly_key_t,
        password: *const c_char,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_key_public_pem(
        key: *const mayfly_key_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_key_type(key: *const mayfly_key_t) -> c_int;
    pub fn mayfly_key_free(key: *mut mayfly_key_t);

    // ---- Certificate requests --------------------------------------------
    pub fn mayfly_csr_new(
        key: *const mayfly_key_t,
        common_name: *const c_char,
        sans: *const *const c_char,
        n_sans: usize,
        out: *mut *mut mayfly_csr_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_csr_parse(
        in_: *const u8,
        in_len: usize,
        out: *mut *mut mayfly_csr_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_csr_to_pem(
        csr: *const mayfly_csr_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_csr_free(csr: *mut mayfly_csr_t);

    // ---- Certificates -----------------------------------------------------
    pub fn mayfly_cert_parse(
        in_: *const u8,
        in_len: usize,
        out: *mut *mut mayfly_cert_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_to_pem(
        cert: *const mayfly_cert_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_to_der(
        cert: *const mayfly_cert_t,
        out: *mut *mut u8,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_serial(
        cert: *const mayfly_cert_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_common_name(
        cert: *const mayfly_cert_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_fingerprint(
        cert: *const mayfly_cert_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_validity(
        cert: *const mayfly_cert_t,
        not_before_ms: *mut i64,
        not_after_ms: *mut i64,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_cert_free(cert: *mut mayfly_cert_t);

    // ---- Chains -------------------------------------------------------------
    pub fn mayfly_chain_parse(
        in_: *const u8,
        in_len: usize,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_chain_size(chain: *const mayfly_chain_t) -> usize;
    pub fn mayfly_chain_get(chain: *const mayfly_chain_t, index: usize) -> *const mayfly_cert_t;
    pub fn mayfly_chain_to_pem(
        chain: *const mayfly_chain_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_chain_free(chain: *mut mayfly_chain_t);

    // ---- PKI initialisation -------------------------------------------------
    pub fn mayfly_init_options_new() -> *mut mayfly_init_options_t;
    pub fn mayfly_init_options_free(opts: *mut mayfly_init_options_t);
    pub fn mayfly_init_options_set_dir(
        opts: *mut mayfly_init_options_t,
        dir: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_name(
        opts: *mut mayfly_init_options_t,
        name: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_add_dns_name(
        opts: *mut mayfly_init_options_t,
        dns_name: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_address(
        opts: *mut mayfly_init_options_t,
        address: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_provisioner(
        opts: *mut mayfly_init_options_t,
        name: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_password(
        opts: *mut mayfly_init_options_t,
        password: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_provisioner_password(
        opts: *mut mayfly_init_options_t,
        password: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_key_type(
        opts: *mut mayfly_init_options_t,
        type_: c_int,
    ) -> c_int;
    pub fn mayfly_init_options_set_store(
        opts: *mut mayfly_init_options_t,
        url: *const c_char,
    ) -> c_int;
    pub fn mayfly_init_options_set_overwrite(
        opts: *mut mayfly_init_options_t,
        overwrite: c_int,
    ) -> c_int;
    pub fn mayfly_init_options_set_kdf_iterations(
        opts: *mut mayfly_init_options_t,
        iterations: u32,
    ) -> c_int;
    pub fn mayfly_init_options_set_backdate(
        opts: *mut mayfly_init_options_t,
        backdate_ms: i64,
    ) -> c_int;
    pub fn mayfly_pki_init(
        opts: *const mayfly_init_options_t,
        out: *mut *mut mayfly_init_result_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_init_result_config_path(result: *const mayfly_init_result_t) -> *const c_char;
    pub fn mayfly_init_result_root_path(result: *const mayfly_init_result_t) -> *const c_char;
    pub fn mayfly_init_result_root_fingerprint(
        result: *const mayfly_init_result_t,
    ) -> *const c_char;
    pub fn mayfly_init_result_provisioner_kid(result: *const mayfly_init_result_t)
        -> *const c_char;
    pub fn mayfly_init_result_free(result: *mut mayfly_init_result_t);

    // ---- The CA (authority) -----------------------------------------------
    pub fn mayfly_ca_open(
        config_path: *const c_char,
        password: *const c_char,
        store_url: *const c_char,
        out: *mut *mut mayfly_ca_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_free(ca: *mut mayfly_ca_t);
    pub fn mayfly_ca_roots(
        ca: *const mayfly_ca_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_root_fingerprint(
        ca: *const mayfly_ca_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_provisioner_options_new() -> *mut mayfly_provisioner_options_t;
    pub fn mayfly_provisioner_options_free(opts: *mut mayfly_provisioner_options_t);
    pub fn mayfly_provisioner_options_set_durations(
        opts: *mut mayfly_provisioner_options_t,
        min_ms: i64,
        default_ms: i64,
        max_ms: i64,
    ) -> c_int;
    pub fn mayfly_provisioner_options_set_disable_renewal(
        opts: *mut mayfly_provisioner_options_t,
        disable: c_int,
    ) -> c_int;
    pub fn mayfly_provisioner_options_set_allow_renewal_after_expiry(
        opts: *mut mayfly_provisioner_options_t,
        allow: c_int,
    ) -> c_int;
    pub fn mayfly_provisioner_options_set_kdf_iterations(
        opts: *mut mayfly_provisioner_options_t,
        iterations: u32,
    ) -> c_int;
    pub fn mayfly_ca_add_provisioner(
        ca: *mut mayfly_ca_t,
        name: *const c_char,
        key: *const mayfly_key_t,
        password: *const c_char,
        opts: *const mayfly_provisioner_options_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_remove_provisioner(
        ca: *mut mayfly_ca_t,
        name: *const c_char,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_provisioners_json(
        ca: *const mayfly_ca_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_sign(
        ca: *mut mayfly_ca_t,
        csr: *const mayfly_csr_t,
        token: *const c_char,
        not_before: *const c_char,
        not_after: *const c_char,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_renew(
        ca: *mut mayfly_ca_t,
        peer_chain: *const mayfly_chain_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_renew_with_token(
        ca: *mut mayfly_ca_t,
        token: *const c_char,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_rekey(
        ca: *mut mayfly_ca_t,
        peer_chain: *const mayfly_chain_t,
        csr: *const mayfly_csr_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_revoke(
        ca: *mut mayfly_ca_t,
        serial: *const c_char,
        reason_code: c_int,
        reason: *const c_char,
        token: *const c_char,
        peer_chain: *const mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_ca_crl(
        ca: *mut mayfly_ca_t,
        pem: c_int,
        out: *mut *mut u8,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;

    // ---- Tokens -------------------------------------------------------------
    pub fn mayfly_token_signer_new(
        key: *const mayfly_key_t,
        kid: *const c_char,
        issuer: *const c_char,
        out: *mut *mut mayfly_token_signer_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_token_signer_from_ca(
        ca: *const mayfly_ca_t,
        name: *const c_char,
        password: *const c_char,
        out: *mut *mut mayfly_token_signer_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_token_signer_free(signer: *mut mayfly_token_signer_t);
    pub fn mayfly_token_options_new() -> *mut mayfly_token_options_t;
    pub fn mayfly_token_options_free(opts: *mut mayfly_token_options_t);
    pub fn mayfly_token_options_set_subject(
        opts: *mut mayfly_token_options_t,
        subject: *const c_char,
    ) -> c_int;
    pub fn mayfly_token_options_set_ca_url(
        opts: *mut mayfly_token_options_t,
        ca_url: *const c_char,
    ) -> c_int;
    pub fn mayfly_token_options_set_purpose(
        opts: *mut mayfly_token_options_t,
        purpose: c_int,
    ) -> c_int;
    pub fn mayfly_token_options_add_san(
        opts: *mut mayfly_token_options_t,
        san: *const c_char,
    ) -> c_int;
    pub fn mayfly_token_options_set_root_fingerprint(
        opts: *mut mayfly_token_options_t,
        fingerprint: *const c_char,
    ) -> c_int;
    pub fn mayfly_token_options_set_lifetime(
        opts: *mut mayfly_token_options_t,
        lifetime_ms: i64,
    ) -> c_int;
    pub fn mayfly_token_sign(
        signer: *const mayfly_token_signer_t,
        opts: *const mayfly_token_options_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;

    // ---- The CA server --------------------------------------------------------
    pub fn mayfly_server_options_new() -> *mut mayfly_server_options_t;
    pub fn mayfly_server_options_free(opts: *mut mayfly_server_options_t);
    pub fn mayfly_server_options_set_address(
        opts: *mut mayfly_server_options_t,
        address: *const c_char,
    ) -> c_int;
    pub fn mayfly_server_options_set_worker_threads(
        opts: *mut mayfly_server_options_t,
        threads: c_int,
    ) -> c_int;
    pub fn mayfly_server_options_set_json_logs(
        opts: *mut mayfly_server_options_t,
        json: c_int,
    ) -> c_int;
    pub fn mayfly_server_options_set_log_callback(
        opts: *mut mayfly_server_options_t,
        fn_: mayfly_log_fn,
        user_data: *mut c_void,
        destroy: mayfly_destroy_fn,
    ) -> c_int;
    pub fn mayfly_server_start(
        ca: *mut mayfly_ca_t,
        opts: *const mayfly_server_options_t,
        out: *mut *mut mayfly_server_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_server_port(server: *const mayfly_server_t) -> c_int;
    pub fn mayfly_server_stop(server: *mut mayfly_server_t, grace_ms: i64);
    pub fn mayfly_server_free(server: *mut mayfly_server_t);

    // ---- The CA client --------------------------------------------------------
    pub fn mayfly_client_new(
        ca_url: *const c_char,
        roots: *const mayfly_chain_t,
        out: *mut *mut mayfly_client_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_bootstrap(
        ca_url: *const c_char,
        fingerprint: *const c_char,
        out: *mut *mut mayfly_client_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_free(client: *mut mayfly_client_t);
    pub fn mayfly_client_health(
        client: *mut mayfly_client_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_roots(
        client: *mut mayfly_client_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_provisioners_json(
        client: *mut mayfly_client_t,
        out: *mut *mut c_char,
        out_len: *mut usize,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_sign(
        client: *mut mayfly_client_t,
        key: *const mayfly_key_t,
        token: *const c_char,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_sign_csr(
        client: *mut mayfly_client_t,
        csr: *const mayfly_csr_t,
        token: *const c_char,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_renew(
        client: *mut mayfly_client_t,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_renew_with_token(
        client: *mut mayfly_client_t,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_rekey(
        client: *mut mayfly_client_t,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        new_key: *const mayfly_key_t,
        out: *mut *mut mayfly_chain_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_client_revoke(
        client: *mut mayfly_client_t,
        serial: *const c_char,
        reason_code: c_int,
        reason: *const c_char,
        token: *const c_char,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;

    // ---- Rotating credentials -------------------------------------------------
    pub fn mayfly_credentials_new(
        out: *mut *mut mayfly_credentials_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_credentials_free(creds: *mut mayfly_credentials_t);
    pub fn mayfly_credentials_set(
        creds: *mut mayfly_credentials_t,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_credentials_current(
        creds: *const mayfly_credentials_t,
        chain_pem: *mut *mut c_char,
        chain_pem_len: *mut usize,
        key_pem: *mut *mut c_char,
        key_pem_len: *mut usize,
        generation: *mut u64,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_credentials_on_change(
        creds: *mut mayfly_credentials_t,
        fn_: mayfly_change_fn,
        user_data: *mut c_void,
        destroy: mayfly_destroy_fn,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;

    // ---- The renewal scheduler ------------------------------------------------
    pub fn mayfly_event_type(ev: *const mayfly_event_t) -> c_int;
    pub fn mayfly_event_entry(ev: *const mayfly_event_t) -> u64;
    pub fn mayfly_event_time_ms(ev: *const mayfly_event_t) -> i64;
    pub fn mayfly_event_code(ev: *const mayfly_event_t) -> c_int;
    pub fn mayfly_event_message(ev: *const mayfly_event_t) -> *const c_char;
    pub fn mayfly_event_attempts(ev: *const mayfly_event_t) -> c_int;
    pub fn mayfly_event_next_attempt_ms(ev: *const mayfly_event_t) -> i64;
    pub fn mayfly_event_chain(ev: *const mayfly_event_t) -> *const mayfly_chain_t;

    pub fn mayfly_scheduler_options_new() -> *mut mayfly_scheduler_options_t;
    pub fn mayfly_scheduler_options_free(opts: *mut mayfly_scheduler_options_t);
    pub fn mayfly_scheduler_options_set_client(
        opts: *mut mayfly_scheduler_options_t,
        client: *mut mayfly_client_t,
        after_expiry: c_int,
    ) -> c_int;
    pub fn mayfly_scheduler_options_set_ca(
        opts: *mut mayfly_scheduler_options_t,
        ca: *mut mayfly_ca_t,
    ) -> c_int;
    pub fn mayfly_scheduler_options_set_event_callback(
        opts: *mut mayfly_scheduler_options_t,
        fn_: mayfly_event_fn,
        user_data: *mut c_void,
        destroy: mayfly_destroy_fn,
    ) -> c_int;
    pub fn mayfly_scheduler_options_set_retry(
        opts: *mut mayfly_scheduler_options_t,
        first_ms: i64,
        max_ms: i64,
    ) -> c_int;
    pub fn mayfly_scheduler_new(
        opts: *const mayfly_scheduler_options_t,
        out: *mut *mut mayfly_scheduler_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_scheduler_free(sched: *mut mayfly_scheduler_t);
    pub fn mayfly_scheduler_start(
        sched: *mut mayfly_scheduler_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_scheduler_stop(sched: *mut mayfly_scheduler_t);
    pub fn mayfly_scheduler_next_deadline_ms(sched: *const mayfly_scheduler_t) -> i64;
    pub fn mayfly_scheduler_run_due(sched: *mut mayfly_scheduler_t, now_ms: i64) -> usize;
    pub fn mayfly_scheduler_size(sched: *const mayfly_scheduler_t) -> usize;

    pub fn mayfly_entry_options_new() -> *mut mayfly_entry_options_t;
    pub fn mayfly_entry_options_free(opts: *mut mayfly_entry_options_t);
    pub fn mayfly_entry_options_add_credentials(
        opts: *mut mayfly_entry_options_t,
        creds: *mut mayfly_credentials_t,
    ) -> c_int;
    pub fn mayfly_entry_options_add_files(
        opts: *mut mayfly_entry_options_t,
        cert_path: *const c_char,
        key_path: *const c_char,
    ) -> c_int;
    pub fn mayfly_entry_options_add_exec(
        opts: *mut mayfly_entry_options_t,
        argv: *const *const c_char,
        argc: usize,
    ) -> c_int;
    pub fn mayfly_entry_options_add_signal(
        opts: *mut mayfly_entry_options_t,
        pid: c_int,
        signal: c_int,
    ) -> c_int;
    pub fn mayfly_entry_options_add_callback(
        opts: *mut mayfly_entry_options_t,
        fn_: mayfly_deliver_fn,
        user_data: *mut c_void,
        destroy: mayfly_destroy_fn,
    ) -> c_int;

    pub fn mayfly_scheduler_add(
        sched: *mut mayfly_scheduler_t,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        opts: *const mayfly_entry_options_t,
        out_id: *mut u64,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_scheduler_remove(
        sched: *mut mayfly_scheduler_t,
        id: u64,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_scheduler_update(
        sched: *mut mayfly_scheduler_t,
        id: u64,
        chain: *const mayfly_chain_t,
        key: *const mayfly_key_t,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
    pub fn mayfly_scheduler_entry_info(
        sched: *const mayfly_scheduler_t,
        id: u64,
        chain: *mut *mut mayfly_chain_t,
        next_attempt_ms: *mut i64,
        attempts: *mut c_int,
        err: *mut *mut mayfly_error_t,
    ) -> c_int;
}

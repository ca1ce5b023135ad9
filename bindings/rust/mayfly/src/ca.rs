//! Making a PKI (like `step ca init`) and running the CA in-process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

use mayfly_sys as sys;

use crate::cert::{Chain, ChainRef};
use crate::error::{check, check_setter, Code, Error, Result};
use crate::key::{Csr, Key, KeyType};
use crate::util::{
    c_bool, call_bytes, call_new, call_text, cstr, duration_ms, opt_cstr, opt_ptr, path_cstr,
    OptionsGuard,
};

/// What `init_pki` makes. Fields left `None` (or empty) take the defaults of
/// `mayfly-ca init`: DNS name "localhost", address ":9000", provisioner
/// "admin", P-256 keys, the SQLite store in the CA folder, 600000 KDF
/// iterations.
#[derive(Clone, Default)]
pub struct InitOptions {
    /// The CA folder to write.
    pub dir: Option<PathBuf>,
    /// The PKI's name (the CA certificates' subjects).
    pub name: Option<String>,
    /// The CA's DNS names (replacing "localhost").
    pub dns_names: Vec<String>,
    pub address: Option<String>,
    /// The JWK provisioner's name.
    pub provisioner: Option<String>,
    /// Encrypts the CA keys and, unless `provisioner_password` is set, the
    /// provisioner key. Required.
    pub password: String,
    pub provisioner_password: Option<String>,
    pub key_type: Option<KeyType>,
    /// A store URL ("memory:", "sqlite:PATH", "postgres://...").
    pub store: Option<String>,
    /// Replace a PKI already in `dir`.
    pub overwrite: bool,
    /// PBES2 iterations protecting the provisioner key; low values make
    /// tests fast.
    pub kdf_iterations: Option<u32>,
    /// How far before the issuance time certificates start, to absorb clock
    /// skew (default 1 minute). A certificate lives its lifetime plus the
    /// backdate: lifetimes of seconds want about 1 s.
    pub backdate: Option<Duration>,
}

impl InitOptions {
    pub fn new(dir: impl Into<PathBuf>, password: impl Into<String>) -> InitOptions {
        InitOptions { dir: Some(dir.into()), password: password.into(), ..Default::default() }
    }
}

impl fmt::Debug for InitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitOptions")
            .field("dir", &self.dir)
            .field("name", &self.name)
            .field("dns_names", &self.dns_names)
            .field("address", &self.address)
            .field("provisioner", &self.provisioner)
            .field("key_type", &self.key_type)
            .field("store", &self.store)
            .field("overwrite", &self.overwrite)
            .field("kdf_iterations", &self.kdf_iterations)
            .field("backdate", &self.backdate)
            .finish_non_exhaustive()
    }
}

/// What `init_pki` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitResult {
    /// config/ca.json, for `Ca::open`.
    pub config_path: PathBuf,
    pub root_path: PathBuf,
    /// The root certificate's SHA-256, lowercase hex (for
    /// `Client::bootstrap`).
    pub root_fingerprint: String,
    /// The JWK provisioner's key id.
    pub provisioner_kid: String,
}

/// Writes a new CA folder: root and intermediate certificates, encrypted
/// keys, and config/ca.json with one JWK provisioner. AlreadyExists if the
/// folder holds a PKI and `overwrite` is not set.
pub fn init_pki(options: &InitOptions) -> Result<InitResult> {
    let opts = OptionsGuard::new(
        unsafe { sys::mayfly_init_options_new() },
        sys::mayfly_init_options_free,
    )?;
    let o = opts.ptr;
    unsafe {
        if let Some(dir) = &options.dir {
            let dir = path_cstr("dir", dir)?;
            check_setter("dir", sys::mayfly_init_options_set_dir(o, dir.as_ptr()))?;
        }
        if let Some(name) = &options.name {
            let name = cstr("name", name)?;
            check_setter("name", sys::mayfly_init_options_set_name(o, name.as_ptr()))?;
        }
        for dns in &options.dns_names {
            let d = cstr("DNS name", dns)?;
            check_setter("DNS name", sys::mayfly_init_options_add_dns_name(o, d.as_ptr()))?;
        }
        if let Some(address) = &options.address {
            let a = cstr("address", address)?;
            check_setter("address", sys::mayfly_init_options_set_address(o, a.as_ptr()))?;
        }
        if let Some(p) = &options.provisioner {
            let p = cstr("provisioner", p)?;
            check_setter("provisioner", sys::mayfly_init_options_set_provisioner(o, p.as_ptr()))?;
        }
        if !options.password.is_empty() {
            let p = cstr("password", &options.password)?;
            check_setter("password", sys::mayfly_init_options_set_password(o, p.as_ptr()))?;
        }
        if let Some(p) = &options.provisioner_password {
            let p = cstr("provisioner password", p)?;
            check_setter(
                "provisioner password",
                sys::mayfly_init_options_set_provisioner_password(o, p.as_ptr()),
            )?;
        }
        if let Some(t) = options.key_type {
            check_setter("key type", sys::mayfly_init_options_set_key_type(o, t.raw()))?;
        }
        if let Some(s) = &options.store {
            let s = cstr("store", s)?;
            check_setter("store", sys::mayfly_init_options_set_store(o, s.as_ptr()))?;
        }
        check_setter(
            "overwrite",
            sys::mayfly_init_options_set_overwrite(o, c_bool(options.overwrite)),
        )?;
        if let Some(n) = options.kdf_iterations {
            check_setter("kdf iterations", sys::mayfly_init_options_set_kdf_iterations(o, n))?;
        }
        if let Some(b) = options.backdate {
            // Zero is a valid backdate here (no "inherit" meaning).
            let ms =
                i64::try_from(b.as_millis()).map_err(|_| Error::invalid("backdate is too long"))?;
            check_setter("backdate", sys::mayfly_init_options_set_backdate(o, ms))?;
        }
    }
    let result = call_new(|out, err| unsafe { sys::mayfly_pki_init(o, out, err) })?;
    let r = result.as_ptr();
    let text = |p: *const std::ffi::c_char| -> String {
        if p.is_null() {
            String::new()
        } else {
            unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let out = unsafe {
        InitResult {
            config_path: PathBuf::from(text(sys::mayfly_init_result_config_path(r))),
            root_path: PathBuf::from(text(sys::mayfly_init_result_root_path(r))),
            root_fingerprint: text(sys::mayfly_init_result_root_fingerprint(r)),
            provisioner_kid: text(sys::mayfly_init_result_provisioner_kid(r)),
        }
    };
    unsafe { sys::mayfly_init_result_free(r) };
    Ok(out)
}

/// Claims of a provisioner added with `Ca::add_provisioner`. `None` inherits
/// (the CA's claims, then mayfly's defaults: 5m min, 24h max and default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionerOptions {
    pub min_duration: Option<Duration>,
    pub default_duration: Option<Duration>,
    pub max_duration: Option<Duration>,
    pub disable_renewal: Option<bool>,
    pub allow_renewal_after_expiry: Option<bool>,
    /// PBES2 iterations for the stored encrypted key (default 600000).
    pub kdf_iterations: Option<u32>,
}

/// What authorises a revocation by the CA.
#[derive(Debug, Clone, Copy)]
pub enum RevokeAuth<'a> {
    /// A revoke token (`TokenPurpose::Revoke`, subject = the serial).
    Token(&'a str),
    /// The certificate's own chain, as if presented over mTLS (the caller
    /// vouches that the peer holds its key).
    Certificate(&'a ChainRef),
}

struct CaHandle(NonNull<sys::mayfly_ca_t>);

// SAFETY: c.h: every mayfly_ca_* call is thread-safe.
unsafe impl Send for CaHandle {}
unsafe impl Sync for CaHandle {}

impl Drop for CaHandle {
    fn drop(&mut self) {
        unsafe { sys::mayfly_ca_free(self.0.as_ptr()) }
    }
}

/// A certificate authority with its store and provisioners, in-process.
///
/// Cloning is cheap and shares the one CA; it is closed when the last clone,
/// server and scheduler using it are gone (a `Server` or `Scheduler` keeps
/// its CA alive, as c.h requires the CA to outlive them).
#[derive(Clone)]
pub struct Ca {
    inner: Arc<CaHandle>,
}

impl Ca {
    /// Loads config/ca.json at `config_path`, decrypts the intermediate key
    /// with `password` and opens the store: `store_url` if given, else the
    /// config's, else the CA folder's SQLite store.
    pub fn open(
        config_path: impl AsRef<Path>,
        password: &str,
        store_url: Option<&str>,
    ) -> Result<Ca> {
        let path = path_cstr("config path", config_path.as_ref())?;
        let password = cstr("password", password)?;
        let store = opt_cstr("store URL", store_url)?;
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_ca_open(path.as_ptr(), password.as_ptr(), opt_ptr(&store), out, err)
        })?;
        Ok(Ca { inner: Arc::new(CaHandle(ptr)) })
    }

    pub fn as_ptr(&self) -> *mut sys::mayfly_ca_t {
        self.inner.0.as_ptr()
    }

    /// The root certificates.
    pub fn roots(&self) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe { sys::mayfly_ca_roots(self.as_ptr(), out, err) })
    }

    /// The first root's SHA-256, lowercase hex.
    pub fn root_fingerprint(&self) -> Result<String> {
        call_text(|out, len, err| unsafe {
            sys::mayfly_ca_root_fingerprint(self.as_ptr(), out, len, err)
        })
    }

    /// Adds a JWK provisioner `name` whose public key verifies tokens; the
    /// private key is stored encrypted with `password`. AlreadyExists for a
    /// name or key id in use. In memory only: ca.json is not rewritten.
    pub fn add_provisioner(
        &self,
        name: &str,
        key: &Key,
        password: &str,
        options: &ProvisionerOptions,
    ) -> Result<()> {
        let name = cstr("name", name)?;
        let password = cstr("password", password)?;
        let opts = OptionsGuard::new(
            unsafe { sys::mayfly_provisioner_options_new() },
            sys::mayfly_provisioner_options_free,
        )?;
        let o = opts.ptr;
        let (min, def, max) =
            (options.min_duration, options.default_duration, options.max_duration);
        if min.is_some() || def.is_some() || max.is_some() {
            let ms = |what, d: Option<Duration>| d.map_or(Ok(0), |d| duration_ms(what, d));
            let (min, def, max) =
                (ms("min_duration", min)?, ms("default_duration", def)?, ms("max_duration", max)?);
            check_setter("durations", unsafe {
                sys::mayfly_provisioner_options_set_durations(o, min, def, max)
            })?;
        }
        if let Some(v) = options.disable_renewal {
            check_setter("disable_renewal", unsafe {
                sys::mayfly_provisioner_options_set_disable_renewal(o, c_bool(v))
            })?;
        }
        if let Some(v) = options.allow_renewal_after_expiry {
            check_setter("allow_renewal_after_expiry", unsafe {
                sys::mayfly_provisioner_options_set_allow_renewal_after_expiry(o, c_bool(v))
            })?;
        }
        if let Some(n) = options.kdf_iterations {
            check_setter("kdf_iterations", unsafe {
                sys::mayfly_provisioner_options_set_kdf_iterations(o, n)
            })?;
        }
        check(|err| unsafe {
            sys::mayfly_ca_add_provisioner(
                self.as_ptr(),
                name.as_ptr(),
                key.as_ptr(),
                password.as_ptr(),
                o,
                err,
            )
        })
    }

    pub fn remove_provisioner(&self, name: &str) -> Result<()> {
        let name = cstr("name", name)?;
        check(|err| unsafe { sys::mayfly_ca_remove_provisioner(self.as_ptr(), name.as_ptr(), err) })
    }

    /// `{"provisioners":[...]}` as step-ca's /provisioners serves it.
    pub fn provisioners_json(&self) -> Result<String> {
        call_text(|out, len, err| unsafe {
            sys::mayfly_ca_provisioners_json(self.as_ptr(), out, len, err)
        })
    }

    /// Issues a certificate for `csr` authorised by the one-time `token`.
    /// Unauthenticated for a bad, expired or used token; PermissionDenied for
    /// names the token does not cover.
    pub fn sign(&self, csr: &Csr, token: &str) -> Result<Chain> {
        self.sign_with_validity(csr, token, None, None)
    }

    /// `sign` with a requested validity in step's forms ("5m", RFC 3339).
    pub fn sign_with_validity(
        &self,
        csr: &Csr,
        token: &str,
        not_before: Option<&str>,
        not_after: Option<&str>,
    ) -> Result<Chain> {
        let token = cstr("token", token)?;
        let nb = opt_cstr("not_before", not_before)?;
        let na = opt_cstr("not_after", not_after)?;
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_ca_sign(
                self.as_ptr(),
                csr.as_ptr(),
                token.as_ptr(),
                opt_ptr(&nb),
                opt_ptr(&na),
                out,
                err,
            )
        })
    }

    /// Renews the certificate leading `peer_chain` as if it had been
    /// presented over mTLS. Unauthenticated if it or an ancestor is revoked,
    /// expired or not this CA's.
    pub fn renew(&self, peer_chain: &ChainRef) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_ca_renew(self.as_ptr(), peer_chain.as_ptr(), out, err)
        })
    }

    /// Renews after expiry with a renew token signed by the certificate's
    /// key, when the provisioner allows it.
    pub fn renew_with_token(&self, token: &str) -> Result<Chain> {
        let token = cstr("token", token)?;
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_ca_renew_with_token(self.as_ptr(), token.as_ptr(), out, err)
        })
    }

    /// Renews `peer_chain`'s certificate for the key of `csr`.
    pub fn rekey(&self, peer_chain: &ChainRef, csr: &Csr) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_ca_rekey(self.as_ptr(), peer_chain.as_ptr(), csr.as_ptr(), out, err)
        })
    }

    /// Passively revokes `serial` (decimal) with an RFC 5280 reason code
    /// (0..10) and optional text.
    pub fn revoke(
        &self,
        serial: &str,
        reason_code: i32,
        reason: Option<&str>,
        auth: RevokeAuth<'_>,
    ) -> Result<()> {
        let serial = cstr("serial", serial)?;
        let reason = opt_cstr("reason", reason)?;
        let (token, chain) = match auth {
            RevokeAuth::Token(t) => (Some(cstr("token", t)?), ptr::null()),
            RevokeAuth::Certificate(c) => (None, c.as_ptr()),
        };
        check(|err| unsafe {
            sys::mayfly_ca_revoke(
                self.as_ptr(),
                serial.as_ptr(),
                reason_code,
                opt_ptr(&reason),
                opt_ptr(&token),
                chain,
                err,
            )
        })
    }

    /// The current CRL, signed now, as DER.
    pub fn crl_der(&self) -> Result<Vec<u8>> {
        call_bytes(|out, len, err| unsafe { sys::mayfly_ca_crl(self.as_ptr(), 0, out, len, err) })
    }

    /// The current CRL, signed now, as PEM.
    pub fn crl_pem(&self) -> Result<String> {
        let bytes = call_bytes(|out, len, err| unsafe {
            sys::mayfly_ca_crl(self.as_ptr(), 1, out, len, err)
        })?;
        String::from_utf8(bytes).map_err(|_| Error::new(Code::Internal, "the PEM CRL is not text"))
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca").field("root_fingerprint", &self.root_fingerprint().ok()).finish()
    }
}

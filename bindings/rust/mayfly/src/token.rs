//! One-time tokens (JWTs) of a JWK provisioner.

use std::fmt;
use std::ptr::NonNull;
use std::time::Duration;

use mayfly_sys as sys;

use crate::ca::Ca;
use crate::error::{check_setter, Result};
use crate::key::Key;
use crate::util::{call_new, call_text, cstr, duration_ms, opt_cstr, opt_ptr, OptionsGuard};

/// What a token authorises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenPurpose {
    /// Signing a certificate (/1.0/sign); the subject is the CN.
    #[default]
    Sign,
    /// Revoking a certificate (/1.0/revoke); the subject is its decimal
    /// serial.
    Revoke,
}

/// What to put in a token. `sans` empty means {subject}; `lifetime` None
/// means 5 minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenOptions {
    pub subject: String,
    /// The CA's URL ("https://ca.internal:9000"); the audience is made from
    /// it for the purpose.
    pub ca_url: String,
    pub purpose: TokenPurpose,
    pub sans: Vec<String>,
    /// The root fingerprint pinned in the `sha` claim.
    pub root_fingerprint: Option<String>,
    pub lifetime: Option<Duration>,
}

impl TokenOptions {
    /// A sign token for `subject` at `ca_url`.
    pub fn sign(subject: impl Into<String>, ca_url: impl Into<String>) -> TokenOptions {
        TokenOptions { subject: subject.into(), ca_url: ca_url.into(), ..Default::default() }
    }

    /// A revoke token for the certificate with decimal `serial`.
    pub fn revoke(serial: impl Into<String>, ca_url: impl Into<String>) -> TokenOptions {
        TokenOptions {
            subject: serial.into(),
            ca_url: ca_url.into(),
            purpose: TokenPurpose::Revoke,
            ..Default::default()
        }
    }

    pub fn with_sans<S: Into<String>>(mut self, sans: impl IntoIterator<Item = S>) -> Self {
        self.sans = sans.into_iter().map(Into::into).collect();
        self
    }
}

/// Makes one-time tokens for one JWK provisioner. Thread-safe.
pub struct TokenSigner {
    ptr: NonNull<sys::mayfly_token_signer_t>,
}

// SAFETY: c.h: the token signer is thread-safe.
unsafe impl Send for TokenSigner {}
unsafe impl Sync for TokenSigner {}

impl TokenSigner {
    /// Signs as provisioner `issuer` (its name) with `key`; `kid` is the
    /// provisioner's key id (None: the key's thumbprint).
    pub fn new(key: &Key, kid: Option<&str>, issuer: &str) -> Result<TokenSigner> {
        let kid = opt_cstr("kid", kid)?;
        let issuer = cstr("issuer", issuer)?;
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_token_signer_new(key.as_ptr(), opt_ptr(&kid), issuer.as_ptr(), out, err)
        })?;
        Ok(TokenSigner { ptr })
    }

    /// Decrypts the key of the CA's provisioner `name` with `password`.
    /// Unauthenticated for a wrong password.
    pub fn from_ca(ca: &Ca, name: &str, password: &str) -> Result<TokenSigner> {
        let name = cstr("name", name)?;
        let password = cstr("password", password)?;
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_token_signer_from_ca(
                ca.as_ptr(),
                name.as_ptr(),
                password.as_ptr(),
                out,
                err,
            )
        })?;
        Ok(TokenSigner { ptr })
    }

    /// Makes a token (compact JWS).
    pub fn sign(&self, options: &TokenOptions) -> Result<String> {
        let opts = OptionsGuard::new(
            unsafe { sys::mayfly_token_options_new() },
            sys::mayfly_token_options_free,
        )?;
        let o = opts.ptr;
        let subject = cstr("subject", &options.subject)?;
        let ca_url = cstr("ca_url", &options.ca_url)?;
        unsafe {
            // Left unset when empty, so that mayfly_token_sign names what is
            // missing.
            if !options.subject.is_empty() {
                check_setter(
                    "subject",
                    sys::mayfly_token_options_set_subject(o, subject.as_ptr()),
                )?;
            }
            if !options.ca_url.is_empty() {
                check_setter("ca_url", sys::mayfly_token_options_set_ca_url(o, ca_url.as_ptr()))?;
            }
            let purpose = match options.purpose {
                TokenPurpose::Sign => sys::MAYFLY_TOKEN_SIGN,
                TokenPurpose::Revoke => sys::MAYFLY_TOKEN_REVOKE,
            };
            check_setter("purpose", sys::mayfly_token_options_set_purpose(o, purpose))?;
            for san in &options.sans {
                let s = cstr("SAN", san)?;
                check_setter("SAN", sys::mayfly_token_options_add_san(o, s.as_ptr()))?;
            }
            if let Some(fp) = &options.root_fingerprint {
                let fp = cstr("root fingerprint", fp)?;
                check_setter(
                    "root fingerprint",
                    sys::mayfly_token_options_set_root_fingerprint(o, fp.as_ptr()),
                )?;
            }
            if let Some(l) = options.lifetime {
                let ms = duration_ms("lifetime", l)?;
                check_setter("lifetime", sys::mayfly_token_options_set_lifetime(o, ms))?;
            }
        }
        call_text(|out, len, err| unsafe {
            sys::mayfly_token_sign(self.ptr.as_ptr(), o, out, len, err)
        })
    }
}

impl Drop for TokenSigner {
    fn drop(&mut self) {
        unsafe { sys::mayfly_token_signer_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner").finish_non_exhaustive()
    }
}

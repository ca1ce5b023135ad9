//! Private keys and certificate requests.

use std::ffi::c_char;
use std::ptr::{self, NonNull};

use mayfly_sys as sys;

use crate::error::Result;
use crate::util::{bytes_arg, call_new, call_text, cstr, opt_cstr, opt_ptr};

/// The key algorithms mayfly makes and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// ECDSA P-256 (ES256), the default.
    #[default]
    P256,
    /// ECDSA P-384 (ES384).
    P384,
    /// Ed25519 (EdDSA).
    Ed25519,
    /// RSA, 2048 bits or more (RS256). mayfly reads RSA keys but does not
    /// generate them: `Key::generate(KeyType::Rsa)` is InvalidArgument.
    Rsa,
}

impl KeyType {
    pub(crate) fn raw(self) -> i32 {
        match self {
            KeyType::P256 => sys::MAYFLY_KEY_P256,
            KeyType::P384 => sys::MAYFLY_KEY_P384,
            KeyType::Ed25519 => sys::MAYFLY_KEY_ED25519,
            KeyType::Rsa => sys::MAYFLY_KEY_RSA,
        }
    }

    pub(crate) fn from_raw(v: i32) -> Option<KeyType> {
        match v {
            sys::MAYFLY_KEY_P256 => Some(KeyType::P256),
            sys::MAYFLY_KEY_P384 => Some(KeyType::P384),
            sys::MAYFLY_KEY_ED25519 => Some(KeyType::Ed25519),
            sys::MAYFLY_KEY_RSA => Some(KeyType::Rsa),
            _ => None,
        }
    }
}

/// A private key (with its public half). Immutable, so shareable across
/// threads (c.h: keys are thread-safe).
pub struct Key {
    ptr: NonNull<sys::mayfly_key_t>,
}

// SAFETY: c.h: immutable objects (key, CSR, certificate, chain) are
// thread-safe.
unsafe impl Send for Key {}
unsafe impl Sync for Key {}

impl Key {
    /// Makes a new key.
    pub fn generate(key_type: KeyType) -> Result<Key> {
        let ptr =
            call_new(|out, err| unsafe { sys::mayfly_key_generate(key_type.raw(), out, err) })?;
        Ok(Key { ptr })
    }

    /// Reads a PEM (PKCS#8, SEC1 or PKCS#1; encrypted PEM with `password`)
    /// or PKCS#8 DER private key.
    pub fn parse(data: &[u8], password: Option<&str>) -> Result<Key> {
        let password = opt_cstr("password", password)?;
        let (p, n) = bytes_arg(data);
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_key_parse(p, n, opt_ptr(&password), out, err)
        })?;
        Ok(Key { ptr })
    }

    /// The key as PKCS#8 PEM, encrypted when `password` is given and not
    /// empty.
    pub fn to_pem(&self, password: Option<&str>) -> Result<String> {
        let password = opt_cstr("password", password)?;
        call_text(|out, len, err| unsafe {
            sys::mayfly_key_to_pem(self.as_ptr(), opt_ptr(&password), out, len, err)
        })
    }

    /// The public key as SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> Result<String> {
        call_text(|out, len, err| unsafe {
            sys::mayfly_key_public_pem(self.as_ptr(), out, len, err)
        })
    }

    pub fn key_type(&self) -> KeyType {
        let raw = unsafe { sys::mayfly_key_type(self.as_ptr()) };
        KeyType::from_raw(raw).unwrap_or_else(|| panic!("mayfly returned unknown key type {raw}"))
    }

    pub fn as_ptr(&self) -> *const sys::mayfly_key_t {
        self.ptr.as_ptr()
    }
}

impl Clone for Key {
    /// A copy made through PKCS#8 (mayfly has no key copy call).
    fn clone(&self) -> Key {
        let pem = self.to_pem(None).expect("mayfly could not write a key it holds");
        Key::parse(pem.as_bytes(), None).expect("mayfly could not read a key it wrote")
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        unsafe { sys::mayfly_key_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("type", &self.key_type()).finish_non_exhaustive()
    }
}

/// A certificate signing request (PKCS#10).
pub struct Csr {
    ptr: NonNull<sys::mayfly_csr_t>,
}

// SAFETY: c.h: CSRs are immutable and thread-safe.
unsafe impl Send for Csr {}
unsafe impl Sync for Csr {}

impl Csr {
    /// Makes a CSR signed by `key` for `common_name` (None or "" for none)
    /// with `sans` (DNS names, IPs, emails, URIs).
    pub fn new<S: AsRef<str>>(key: &Key, common_name: Option<&str>, sans: &[S]) -> Result<Csr> {
        let cn = opt_cstr("common name", common_name)?;
        let sans: Vec<_> = sans.iter().map(|s| cstr("SAN", s.as_ref())).collect::<Result<_>>()?;
        let san_ptrs: Vec<*const c_char> = sans.iter().map(|s| s.as_ptr()).collect();
        let sans_arg = if san_ptrs.is_empty() { ptr::null() } else { san_ptrs.as_ptr() };
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_csr_new(key.as_ptr(), opt_ptr(&cn), sans_arg, san_ptrs.len(), out, err)
        })?;
        Ok(Csr { ptr })
    }

    /// Reads one PEM or DER CSR; its signature is checked.
    pub fn parse(data: &[u8]) -> Result<Csr> {
        let (p, n) = bytes_arg(data);
        let ptr = call_new(|out, err| unsafe { sys::mayfly_csr_parse(p, n, out, err) })?;
        Ok(Csr { ptr })
    }

    pub fn to_pem(&self) -> Result<String> {
        call_text(|out, len, err| unsafe { sys::mayfly_csr_to_pem(self.as_ptr(), out, len, err) })
    }

    /// A readable description (as `step certificate inspect` prints).
    pub fn inspect(&self) -> Result<String> {
        crate::cert::inspect(self.to_pem()?.as_bytes())
    }

    pub fn as_ptr(&self) -> *const sys::mayfly_csr_t {
        self.ptr.as_ptr()
    }
}

impl Drop for Csr {
    fn drop(&mut self) {
        unsafe { sys::mayfly_csr_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Csr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csr").finish_non_exhaustive()
    }
}

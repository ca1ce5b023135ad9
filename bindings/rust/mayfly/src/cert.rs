//! Certificates and chains.
//!
//! Owned objects (`Certificate`, `Chain`) free themselves on drop and
//! dereference to borrowed views (`CertificateRef`, `ChainRef`), which is
//! also what a chain lends its certificates as and what a scheduler event
//! lends its chain as: the borrow checker keeps a lent certificate from
//! outliving the chain that owns it.

use std::borrow::Borrow;
use std::fmt;
use std::marker::{PhantomData, PhantomPinned};
use std::ops::Deref;
use std::ptr::NonNull;
use std::time::SystemTime;

use mayfly_sys as sys;

use crate::error::{check, Result};
use crate::util::{bytes_arg, call_bytes, call_new, call_text, time_from_ms};

/// Describes a certificate or CSR (PEM or DER) as readable text, as
/// `step certificate inspect` does.
pub fn inspect(data: &[u8]) -> Result<String> {
    let (p, n) = bytes_arg(data);
    call_text(|out, len, err| unsafe { sys::mayfly_certificate_inspect(p, n, out, len, err) })
}

/// A certificate's NotBefore and NotAfter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl Validity {
    /// NotAfter - NotBefore.
    pub fn lifetime(&self) -> std::time::Duration {
        self.not_after.duration_since(self.not_before).unwrap_or_default()
    }
}

/// A borrowed certificate: one of a chain's, or an owned `Certificate`.
/// Only ever used by reference.
pub struct CertificateRef {
    _opaque: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

// SAFETY: c.h: certificates are immutable and thread-safe.
unsafe impl Send for CertificateRef {}
unsafe impl Sync for CertificateRef {}

impl CertificateRef {
    /// # Safety
    /// `p` must be a valid certificate that outlives 'a.
    pub(crate) unsafe fn from_ptr<'a>(p: *const sys::mayfly_cert_t) -> &'a CertificateRef {
        &*(p as *const CertificateRef)
    }

    pub fn as_ptr(&self) -> *const sys::mayfly_cert_t {
        self as *const CertificateRef as *const sys::mayfly_cert_t
    }

    pub fn to_pem(&self) -> Result<String> {
        call_text(|out, len, err| unsafe { sys::mayfly_cert_to_pem(self.as_ptr(), out, len, err) })
    }

    pub fn to_der(&self) -> Result<Vec<u8>> {
        call_bytes(|out, len, err| unsafe { sys::mayfly_cert_to_der(self.as_ptr(), out, len, err) })
    }

    /// The serial number in decimal, as step prints it.
    pub fn serial(&self) -> Result<String> {
        call_text(|out, len, err| unsafe { sys::mayfly_cert_serial(self.as_ptr(), out, len, err) })
    }

    /// The subject's common name ("" when it has none).
    pub fn common_name(&self) -> Result<String> {
        call_text(|out, len, err| unsafe {
            sys::mayfly_cert_common_name(self.as_ptr(), out, len, err)
        })
    }

    /// The SHA-256 of the DER, lowercase hex.
    pub fn fingerprint(&self) -> Result<String> {
        call_text(|out, len, err| unsafe {
            sys::mayfly_cert_fingerprint(self.as_ptr(), out, len, err)
        })
    }

    pub fn validity(&self) -> Result<Validity> {
        let (mut nb, mut na) = (0i64, 0i64);
        check(|err| unsafe { sys::mayfly_cert_validity(self.as_ptr(), &mut nb, &mut na, err) })?;
        Ok(Validity { not_before: time_from_ms(nb), not_after: time_from_ms(na) })
    }

    /// A readable description, as `step certificate inspect` prints.
    pub fn inspect(&self) -> Result<String> {
        inspect(&self.to_der()?)
    }
}

impl ToOwned for CertificateRef {
    type Owned = Certificate;

    /// A copy through DER (mayfly has no copy call).
    fn to_owned(&self) -> Certificate {
        let der = self.to_der().expect("mayfly could not write a certificate it holds");
        Certificate::parse(&der).expect("mayfly could not read a certificate it wrote")
    }
}

impl fmt::Debug for CertificateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("serial", &self.serial().unwrap_or_default())
            .field("common_name", &self.common_name().unwrap_or_default())
            .finish()
    }
}

/// An owned certificate.
pub struct Certificate {
    ptr: NonNull<sys::mayfly_cert_t>,
}

// SAFETY: as for CertificateRef.
unsafe impl Send for Certificate {}
unsafe impl Sync for Certificate {}

impl Certificate {
    /// Reads exactly one PEM or DER certificate.
    pub fn parse(data: &[u8]) -> Result<Certificate> {
        let (p, n) = bytes_arg(data);
        let ptr = call_new(|out, err| unsafe { sys::mayfly_cert_parse(p, n, out, err) })?;
        Ok(Certificate { ptr })
    }
}

impl Deref for Certificate {
    type Target = CertificateRef;
    fn deref(&self) -> &CertificateRef {
        unsafe { CertificateRef::from_ptr(self.ptr.as_ptr()) }
    }
}

impl Borrow<CertificateRef> for Certificate {
    fn borrow(&self) -> &CertificateRef {
        self
    }
}

impl AsRef<CertificateRef> for Certificate {
    fn as_ref(&self) -> &CertificateRef {
        self
    }
}

impl Clone for Certificate {
    fn clone(&self) -> Certificate {
        (**self).to_owned()
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        unsafe { sys::mayfly_cert_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// A borrowed chain: an owned `Chain`, or the one a scheduler event lends.
/// An issued certificate is a chain with the leaf first, then the
/// intermediate; a set of roots is a chain too.
pub struct ChainRef {
    _opaque: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

// SAFETY: c.h: chains are immutable and thread-safe.
unsafe impl Send for ChainRef {}
unsafe impl Sync for ChainRef {}

impl ChainRef {
    /// # Safety
    /// `p` must be a valid chain that outlives 'a.
    pub(crate) unsafe fn from_ptr<'a>(p: *const sys::mayfly_chain_t) -> &'a ChainRef {
        &*(p as *const ChainRef)
    }

    pub fn as_ptr(&self) -> *const sys::mayfly_chain_t {
        self as *const ChainRef as *const sys::mayfly_chain_t
    }

    /// The number of certificates.
    pub fn len(&self) -> usize {
        unsafe { sys::mayfly_chain_size(self.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The certificate at `index`, lent for as long as the chain lives.
    pub fn get(&self, index: usize) -> Option<&CertificateRef> {
        let p = unsafe { sys::mayfly_chain_get(self.as_ptr(), index) };
        if p.is_null() {
            None
        } else {
            Some(unsafe { CertificateRef::from_ptr(p) })
        }
    }

    /// The first certificate: the leaf of an issued chain. Every chain mayfly
    /// makes or parses holds at least one.
    pub fn leaf(&self) -> &CertificateRef {
        self.get(0).expect("a mayfly chain holds at least one certificate")
    }

    pub fn iter(&self) -> impl Iterator<Item = &CertificateRef> + '_ {
        (0..self.len()).filter_map(move |i| self.get(i))
    }

    /// Every certificate, in order, as PEM.
    pub fn to_pem(&self) -> Result<String> {
        call_text(|out, len, err| unsafe { sys::mayfly_chain_to_pem(self.as_ptr(), out, len, err) })
    }
}

impl ToOwned for ChainRef {
    type Owned = Chain;

    /// A copy through PEM (mayfly has no copy call).
    fn to_owned(&self) -> Chain {
        let pem = self.to_pem().expect("mayfly could not write a chain it holds");
        Chain::parse(pem.as_bytes()).expect("mayfly could not read a chain it wrote")
    }
}

impl fmt::Debug for ChainRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An owned chain of certificates.
pub struct Chain {
    ptr: NonNull<sys::mayfly_chain_t>,
}

// SAFETY: as for ChainRef.
unsafe impl Send for Chain {}
unsafe impl Sync for Chain {}

impl Chain {
    /// Reads every CERTIFICATE block of a PEM bundle (at least one), or one
    /// DER certificate.
    pub fn parse(data: &[u8]) -> Result<Chain> {
        let (p, n) = bytes_arg(data);
        let ptr = call_new(|out, err| unsafe { sys::mayfly_chain_parse(p, n, out, err) })?;
        Ok(Chain { ptr })
    }

    /// Takes ownership of a chain mayfly returned.
    pub(crate) fn from_nonnull(ptr: NonNull<sys::mayfly_chain_t>) -> Chain {
        Chain { ptr }
    }

    /// Runs a call that returns a new chain (mayfly_chain_t** out, err).
    pub(crate) fn from_call(
        f: impl FnOnce(*mut *mut sys::mayfly_chain_t, *mut *mut sys::mayfly_error_t) -> i32,
    ) -> Result<Chain> {
        call_new(f).map(Chain::from_nonnull)
    }
}

impl Deref for Chain {
    type Target = ChainRef;
    fn deref(&self) -> &ChainRef {
        unsafe { ChainRef::from_ptr(self.ptr.as_ptr()) }
    }
}

impl Borrow<ChainRef> for Chain {
    fn borrow(&self) -> &ChainRef {
        self
    }
}

impl AsRef<ChainRef> for Chain {
    fn as_ref(&self) -> &ChainRef {
        self
    }
}

impl Clone for Chain {
    fn clone(&self) -> Chain {
        (**self).to_owned()
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        unsafe { sys::mayfly_chain_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

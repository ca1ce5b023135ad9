//! The CA client: HTTPS to mayfly-ca or step-ca, trusting only pinned roots.

use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use mayfly_sys as sys;

use crate::cert::{Chain, ChainRef};
use crate::error::{check, Result};
use crate::key::{Csr, Key};
use crate::util::{call_new, call_text, cstr, opt_cstr, opt_ptr};

/// What authorises a revocation through the client.
#[derive(Debug, Clone, Copy)]
pub enum ClientRevokeAuth<'a> {
    /// A revoke token (`TokenPurpose::Revoke`, subject = the serial).
    Token(&'a str),
    /// Over mTLS with the certificate's chain and key.
    Mtls(&'a ChainRef, &'a Key),
}

struct ClientHandle(NonNull<sys::mayfly_client_t>);

// SAFETY: c.h: the client is thread-safe.
unsafe impl Send for ClientHandle {}
unsafe impl Sync for ClientHandle {}

impl Drop for ClientHandle {
    fn drop(&mut self) {
        unsafe { sys::mayfly_client_free(self.0.as_ptr()) }
    }
}

/// A client of one CA. Cloning is cheap and shares the one client, which a
/// `Scheduler` renewing through it also keeps alive.
///
/// Failures: Unavailable (no answer, 5xx), Unauthenticated or
/// PermissionDenied (the CA refused: revoked, bad token), InvalidArgument
/// (the CA found the request bad), with the CA's message.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientHandle>,
}

impl Client {
    /// Trusts `roots` for `ca_url`.
    pub fn new(ca_url: &str, roots: &ChainRef) -> Result<Client> {
        let url = cstr("CA URL", ca_url)?;
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_client_new(url.as_ptr(), roots.as_ptr(), out, err)
        })?;
        Ok(Client { inner: Arc::new(ClientHandle(ptr)) })
    }

    /// Downloads /root/{fingerprint}, checks its SHA-256 against
    /// `fingerprint` (hex) and pins it.
    pub fn bootstrap(ca_url: &str, fingerprint: &str) -> Result<Client> {
        let url = cstr("CA URL", ca_url)?;
        let fp = cstr("fingerprint", fingerprint)?;
        let ptr = call_new(|out, err| unsafe {
            sys::mayfly_client_bootstrap(url.as_ptr(), fp.as_ptr(), out, err)
        })?;
        Ok(Client { inner: Arc::new(ClientHandle(ptr)) })
    }

    pub fn as_ptr(&self) -> *mut sys::mayfly_client_t {
        self.inner.0.as_ptr()
    }

    /// GET /health.
    pub fn health(&self) -> Result<()> {
        check(|err| unsafe { sys::mayfly_client_health(self.as_ptr(), err) })
    }

    /// The CA's roots (/roots).
    pub fn roots(&self) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe { sys::mayfly_client_roots(self.as_ptr(), out, err) })
    }

    /// /provisioners, every page, as JSON.
    pub fn provisioners_json(&self) -> Result<String> {
        call_text(|out, len, err| unsafe {
            sys::mayfly_client_provisioners_json(self.as_ptr(), out, len, err)
        })
    }

    /// Makes a CSR for `key` with the token's subject and SANs and has it
    /// signed.
    pub fn sign(&self, key: &Key, token: &str) -> Result<Chain> {
        let token = cstr("token", token)?;
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_client_sign(self.as_ptr(), key.as_ptr(), token.as_ptr(), out, err)
        })
    }

    pub fn sign_csr(&self, csr: &Csr, token: &str) -> Result<Chain> {
        let token = cstr("token", token)?;
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_client_sign_csr(self.as_ptr(), csr.as_ptr(), token.as_ptr(), out, err)
        })
    }

    /// Renews over mTLS with `chain` and its `key`.
    pub fn renew(&self, chain: &ChainRef, key: &Key) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_client_renew(self.as_ptr(), chain.as_ptr(), key.as_ptr(), out, err)
        })
    }

    /// Renews an expired certificate with a token signed by its key, when the
    /// CA allows renewal after expiry.
    pub fn renew_with_token(&self, chain: &ChainRef, key: &Key) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_client_renew_with_token(
                self.as_ptr(),
                chain.as_ptr(),
                key.as_ptr(),
                out,
                err,
            )
        })
    }

    /// Renews over mTLS for `new_key`.
    pub fn rekey(&self, chain: &ChainRef, key: &Key, new_key: &Key) -> Result<Chain> {
        Chain::from_call(|out, err| unsafe {
            sys::mayfly_client_rekey(
                self.as_ptr(),
                chain.as_ptr(),
                key.as_ptr(),
                new_key.as_ptr(),
                out,
                err,
            )
        })
    }

    /// Revokes `serial` (decimal) with an RFC 5280 reason code and optional
    /// text.
    pub fn revoke(
        &self,
        serial: &str,
        reason_code: i32,
        reason: Option<&str>,
        auth: ClientRevokeAuth<'_>,
    ) -> Result<()> {
        let serial = cstr("serial", serial)?;
        let reason = opt_cstr("reason", reason)?;
        let (token, chain, key) = match auth {
            ClientRevokeAuth::Token(t) => (Some(cstr("token", t)?), ptr::null(), ptr::null()),
            ClientRevokeAuth::Mtls(c, k) => (None, c.as_ptr(), k.as_ptr()),
        };
        check(|err| unsafe {
            sys::mayfly_client_revoke(
                self.as_ptr(),
                serial.as_ptr(),
                reason_code,
                opt_ptr(&reason),
                opt_ptr(&token),
                chain,
                key,
                err,
            )
        })
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

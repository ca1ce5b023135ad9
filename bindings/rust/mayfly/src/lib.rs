//! Safe Rust bindings to mayfly, an embeddable private certificate authority
//! with short-lived certificates and step-ca's HTTP API, over its C ABI
//! (`mayfly-sys`, `include/mayfly/c.h`).
//!
//! ```no_run
//! use mayfly::{init_pki, Ca, Csr, InitOptions, Key, TokenOptions, TokenSigner};
//!
//! let pki = init_pki(&InitOptions::new("/tmp/my-ca", "secret"))?;
//! let ca = Ca::open(&pki.config_path, "secret", Some("memory:"))?;
//! let signer = TokenSigner::from_ca(&ca, "admin", "secret")?;
//! let token = signer.sign(&TokenOptions::sign("svc.internal", "https://localhost:9000"))?;
//! let key = Key::generate(Default::default())?;
//! let chain = ca.sign(&Csr::new(&key, Some("svc.internal"), &["svc.internal"])?, &token)?;
//! println!("{}", chain.leaf().inspect()?);
//! # Ok::<(), mayfly::Error>(())
//! ```
//!
//! Every object frees itself on drop. Every fallible call returns
//! `Result<T, Error>`, the error carrying mayfly's status `Code` and message.
//! Keys, CSRs, certificates, chains, the CA, the token signer, the client,
//! credentials and the scheduler are `Send + Sync`, as c.h makes them
//! thread-safe; options are plain Rust values turned into mayfly's options
//! objects inside each call. A `Server` or `Scheduler` keeps the `Ca` or
//! `Client` it uses alive (they are reference-counted handles), so none can
//! be freed under the other. Closures given to mayfly are boxed into its
//! user_data, freed by its destroy callback, and never unwind into C.

mod ca;
mod cert;
mod client;
mod error;
mod key;
mod renewal;
mod server;
mod token;
mod util;

pub use ca::{init_pki, Ca, InitOptions, InitResult, ProvisionerOptions, RevokeAuth};
pub use cert::{inspect, Certificate, CertificateRef, Chain, ChainRef, Validity};
pub use client::{Client, ClientRevokeAuth};
pub use error::{Code, Error, Result};
pub use key::{Csr, Key, KeyType};
pub use renewal::{
    Credentials, CurrentCredentials, EntryId, EntryInfo, EntryOptions, Event, EventKind, FileSink,
    Renewer, Scheduler, SchedulerOptions,
};
pub use server::{Server, ServerOptions};
pub use token::{TokenOptions, TokenPurpose, TokenSigner};

pub use mayfly_sys as sys;

/// The library's version string ("0.1.0").
pub fn version() -> &'static str {
    let p = unsafe { sys::mayfly_version() };
    unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap_or("")
}

/// The library's MAYFLY_VERSION_NUMBER (major * 1000000 + minor * 1000 +
/// patch).
pub fn version_number() -> u32 {
    unsafe { sys::mayfly_version_number() }
}

//! Helpers shared by the integration tests: a temporary CA folder and an
//! in-process CA made through the C ABI.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mayfly::{init_pki, Ca, InitOptions, InitResult, TokenOptions, TokenSigner};

pub const PASSWORD: &str = "rust-binding-test-password";

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "mayfly-rust-{tag}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An initialised PKI and its CA opened in-process on a memory store.
pub struct TestCa {
    pub ca: Ca,
    pub pki: InitResult,
    pub dir: TempDir,
}

/// The options every test PKI uses: names the test server answers to, and
/// cheap key derivation so tests stay fast.
pub fn init_options(dir: &Path) -> InitOptions {
    InitOptions {
        dir: Some(dir.join("ca")),
        name: Some("Rust Binding Test".into()),
        dns_names: vec!["127.0.0.1".into(), "localhost".into()],
        password: PASSWORD.into(),
        kdf_iterations: Some(1000),
        store: Some("memory:".into()),
        ..Default::default()
    }
}

pub fn new_ca(tag: &str) -> TestCa {
    let dir = TempDir::new(tag);
    let pki = init_pki(&init_options(dir.path())).expect("init_pki");
    let ca = Ca::open(&pki.config_path, PASSWORD, Some("memory:")).expect("Ca::open");
    TestCa { ca, pki, dir }
}

/// The URL in-process tokens are made for (the port is not compared).
pub const CA_URL: &str = "https://127.0.0.1:9000";

impl TestCa {
    pub fn signer(&self) -> TokenSigner {
        TokenSigner::from_ca(&self.ca, "admin", PASSWORD).expect("token signer")
    }

    pub fn sign_token(&self, subject: &str) -> String {
        self.signer().sign(&TokenOptions::sign(subject, CA_URL)).expect("token")
    }
}

/// A CA whose backdate is 1 s and with a provisioner "fast" whose
/// certificates last `default` (at least 1 s allowed).
pub fn new_fast_ca(tag: &str, default: std::time::Duration) -> (TestCa, TokenSigner) {
    let dir = TempDir::new(tag);
    let options = InitOptions {
        backdate: Some(std::time::Duration::from_secs(1)),
        ..init_options(dir.path())
    };
    let pki = init_pki(&options).expect("init_pki");
    let ca = Ca::open(&pki.config_path, PASSWORD, Some("memory:")).expect("Ca::open");
    let pkey = mayfly::Key::generate(mayfly::KeyType::P256).unwrap();
    let opts = mayfly::ProvisionerOptions {
        min_duration: Some(std::time::Duration::from_secs(1)),
        default_duration: Some(default),
        max_duration: Some(std::time::Duration::from_secs(3600)),
        kdf_iterations: Some(1000),
        ..Default::default()
    };
    ca.add_provisioner("fast", &pkey, "fast-password", &opts).expect("add provisioner");
    let signer = TokenSigner::new(&pkey, None, "fast").unwrap();
    (TestCa { ca, pki, dir }, signer)
}

/// Counts drops of the closure that owns it: proves destroy callbacks run.
pub struct DropCounter(pub std::sync::Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits up to `timeout` for `cond`.
pub fn wait_for(timeout: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    cond()
}

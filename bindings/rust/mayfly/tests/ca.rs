//! The in-process CA: init, open, provisioners, tokens, sign, renew, rekey,
//! revoke, CRL.

mod common;

use std::time::Duration;

use common::{new_ca, CA_URL, PASSWORD};
use mayfly::{
    init_pki, Ca, Code, Credentials, Csr, InitOptions, Key, KeyType, ProvisionerOptions,
    RevokeAuth, TokenOptions, TokenSigner,
};

fn csr_for(key: &Key, name: &str) -> Csr {
    Csr::new(key, Some(name), &[name]).unwrap()
}

#[test]
fn init_refuses_to_overwrite_unless_asked() {
    let t = new_ca("init");
    assert!(t.pki.config_path.exists());
    assert!(t.pki.root_path.exists());
    assert_eq!(t.pki.root_fingerprint.len(), 64);
    assert!(!t.pki.provisioner_kid.is_empty());

    let mut opts = common::init_options(t.dir.path());
    let err = init_pki(&opts).unwrap_err();
    assert_eq!(err.code, Code::AlreadyExists, "{err}");
    opts.overwrite = true;
    let again = init_pki(&opts).unwrap();
    assert_ne!(again.root_fingerprint, t.pki.root_fingerprint, "a new root");

    // No password: a clear error, nothing written.
    let dir = common::TempDir::new("init-nopw");
    let err =
        init_pki(&InitOptions { password: String::new(), ..common::init_options(dir.path()) })
            .unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
    assert!(!dir.path().join("ca/config/ca.json").exists());
}

#[test]
fn backdate_is_configurable() {
    let dir = common::TempDir::new("backdate");
    let pki = init_pki(&InitOptions {
        backdate: Some(Duration::from_secs(5)),
        ..common::init_options(dir.path())
    })
    .unwrap();
    let ca = Ca::open(&pki.config_path, PASSWORD, Some("memory:")).unwrap();
    let signer = TokenSigner::from_ca(&ca, "admin", PASSWORD).unwrap();
    let key = Key::generate(KeyType::P256).unwrap();
    let token = signer.sign(&TokenOptions::sign("b.internal", CA_URL)).unwrap();
    let chain = ca.sign(&csr_for(&key, "b.internal"), &token).unwrap();
    let lifetime = chain.leaf().validity().unwrap().lifetime();
    assert_eq!(lifetime, Duration::from_secs(24 * 3600 + 5), "24h plus a 5 s backdate");
}

#[test]
fn open_checks_the_password() {
    let t = new_ca("open");
    let err = Ca::open(&t.pki.config_path, "wrong password", Some("memory:")).unwrap_err();
    assert_ne!(err.message, "");
    let err = Ca::open(t.dir.path().join("missing.json"), PASSWORD, None).unwrap_err();
    assert_ne!(err.message, "");
}

#[test]
fn roots_fingerprint_and_provisioners() {
    let t = new_ca("roots");
    let roots = t.ca.roots().unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots.leaf().fingerprint().unwrap(), t.pki.root_fingerprint);
    assert_eq!(t.ca.root_fingerprint().unwrap(), t.pki.root_fingerprint);
    let json = t.ca.provisioners_json().unwrap();
    assert!(json.starts_with("{\"provisioners\":["), "{json}");
    assert!(json.contains("\"admin\""), "{json}");
    assert!(json.contains(&t.pki.provisioner_kid), "{json}");
    assert!(format!("{:?}", t.ca).contains(&t.pki.root_fingerprint));
}

#[test]
fn sign_checks_tokens_and_names() {
    let t = new_ca("sign");
    let key = Key::generate(KeyType::P256).unwrap();
    let token = t.sign_token("a.internal");
    let chain = t.ca.sign(&csr_for(&key, "a.internal"), &token).unwrap();
    assert_eq!(chain.leaf().common_name().unwrap(), "a.internal");

    // One-time: the same token again is refused.
    let err = t.ca.sign(&csr_for(&key, "a.internal"), &token).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");
    // A name the token does not cover.
    let token = t.sign_token("b.internal");
    let err = t.ca.sign(&csr_for(&key, "c.internal"), &token).unwrap_err();
    assert_eq!(err.code, Code::PermissionDenied, "{err}");
    // Garbage.
    let err = t.ca.sign(&csr_for(&key, "a.internal"), "not.a.token").unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");
    // The wrong provisioner password.
    let err = TokenSigner::from_ca(&t.ca, "admin", "wrong").unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");

    // SANs beyond the subject, and a requested validity.
    let signer = t.signer();
    let token = signer
        .sign(&TokenOptions::sign("d.internal", CA_URL).with_sans(["d.internal", "127.0.0.2"]))
        .unwrap();
    let csr = Csr::new(&key, Some("d.internal"), &["d.internal", "127.0.0.2"]).unwrap();
    let chain = t.ca.sign_with_validity(&csr, &token, None, Some("10m")).unwrap();
    let v = chain.leaf().validity().unwrap();
    assert_eq!(v.lifetime(), Duration::from_secs(11 * 60), "10m plus the backdate");
    assert!(chain.leaf().inspect().unwrap().contains("127.0.0.2"));

    // An empty subject is refused by mayfly, not silently signed.
    let err = signer.sign(&TokenOptions::sign("", CA_URL)).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
}

#[test]
fn added_provisioner_signs_until_removed() {
    let t = new_ca("prov");
    let pkey = Key::generate(KeyType::P256).unwrap();
    let opts = ProvisionerOptions {
        min_duration: Some(Duration::from_secs(10)),
        default_duration: Some(Duration::from_secs(90)),
        max_duration: Some(Duration::from_secs(3600)),
        kdf_iterations: Some(1000),
        ..Default::default()
    };
    t.ca.add_provisioner("short", &pkey, "ppw", &opts).unwrap();
    let err = t.ca.add_provisioner("short", &pkey, "ppw", &opts).unwrap_err();
    assert_eq!(err.code, Code::AlreadyExists, "{err}");
    assert!(t.ca.provisioners_json().unwrap().contains("\"short\""));

    // Tokens from the host's own key, and from the CA's stored copy.
    let own = TokenSigner::new(&pkey, None, "short").unwrap();
    let stored = TokenSigner::from_ca(&t.ca, "short", "ppw").unwrap();
    let key = Key::generate(KeyType::Ed25519).unwrap();
    for signer in [&own, &stored] {
        let token = signer.sign(&TokenOptions::sign("s.internal", CA_URL)).unwrap();
        let chain = t.ca.sign(&csr_for(&key, "s.internal"), &token).unwrap();
        let v = chain.leaf().validity().unwrap();
        assert_eq!(v.lifetime(), Duration::from_secs(90 + 60), "the provisioner's default");
    }
    // Outside the provisioner's bounds.
    let token = own.sign(&TokenOptions::sign("s.internal", CA_URL)).unwrap();
    let err =
        t.ca.sign_with_validity(&csr_for(&key, "s.internal"), &token, None, Some("2h"))
            .unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");

    // Invalid claims are refused.
    let bad = ProvisionerOptions {
        min_duration: Some(Duration::from_secs(60)),
        max_duration: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let other = Key::generate(KeyType::P256).unwrap();
    let err = t.ca.add_provisioner("bad", &other, "ppw", &bad).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
    // Sub-millisecond durations would mean "inherit" in C; Rust refuses.
    let tiny =
        ProvisionerOptions { min_duration: Some(Duration::from_micros(10)), ..Default::default() };
    assert_eq!(
        t.ca.add_provisioner("tiny", &other, "ppw", &tiny).unwrap_err().code,
        Code::InvalidArgument
    );

    t.ca.remove_provisioner("short").unwrap();
    let token = own.sign(&TokenOptions::sign("s.internal", CA_URL)).unwrap();
    let err = t.ca.sign(&csr_for(&key, "s.internal"), &token).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");
    let err = t.ca.remove_provisioner("short").unwrap_err();
    assert_eq!(err.code, Code::NotFound, "{err}");
}

#[test]
fn renew_rekey_revoke_and_crl() {
    let t = new_ca("renew");
    let key = Key::generate(KeyType::P256).unwrap();
    let chain = t.ca.sign(&csr_for(&key, "r.internal"), &t.sign_token("r.internal")).unwrap();
    let serial = chain.leaf().serial().unwrap();

    let renewed = t.ca.renew(&chain).unwrap();
    assert_ne!(renewed.leaf().serial().unwrap(), serial);
    assert_eq!(renewed.leaf().common_name().unwrap(), "r.internal");
    assert_eq!(
        renewed.leaf().validity().unwrap().lifetime(),
        chain.leaf().validity().unwrap().lifetime()
    );

    // Rekey: the new certificate is for the new key, not the old one.
    let new_key = Key::generate(KeyType::P384).unwrap();
    let rekeyed = t.ca.rekey(&renewed, &csr_for(&new_key, "r.internal")).unwrap();
    let creds = Credentials::new().unwrap();
    assert_eq!(creds.set(&rekeyed, &key).unwrap_err().code, Code::InvalidArgument);
    creds.set(&rekeyed, &new_key).unwrap();

    // A renew token that is not one.
    let err = t.ca.renew_with_token("bogus").unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");

    // Revoke with a token; the CRL grows and renewal is refused.
    let crl_before = t.ca.crl_der().unwrap();
    let revoke_token = t.signer().sign(&TokenOptions::revoke(serial.clone(), CA_URL)).unwrap();
    t.ca.revoke(&serial, 1, Some("key compromise"), RevokeAuth::Token(&revoke_token)).unwrap();
    let crl_after = t.ca.crl_der().unwrap();
    assert!(crl_after.len() > crl_before.len(), "{} vs {}", crl_after.len(), crl_before.len());
    let err = t.ca.renew(&chain).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");
    assert!(t.ca.crl_pem().unwrap().starts_with("-----BEGIN X509 CRL-----"));

    // Revoke by the certificate itself (as over mTLS).
    let serial2 = rekeyed.leaf().serial().unwrap();
    t.ca.revoke(&serial2, 0, None, RevokeAuth::Certificate(&rekeyed)).unwrap();
    assert_eq!(t.ca.renew(&rekeyed).unwrap_err().code, Code::Unauthenticated);
    // A certificate cannot revoke another.
    let other = t.ca.sign(&csr_for(&key, "o.internal"), &t.sign_token("o.internal")).unwrap();
    let err =
        t.ca.revoke(&other.leaf().serial().unwrap(), 0, None, RevokeAuth::Certificate(&renewed));
    assert!(err.is_err());
    assert!(t.ca.renew(&other).is_ok(), "other is still good");
}

#[test]
fn ca_is_shared_across_threads() {
    let t = new_ca("threads");
    let signer = std::sync::Arc::new(t.signer());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let ca = t.ca.clone();
            let signer = signer.clone();
            std::thread::spawn(move || {
                let key = Key::generate(KeyType::P256).unwrap();
                let name = format!("t{i}.internal");
                let token = signer.sign(&TokenOptions::sign(name.clone(), CA_URL)).unwrap();
                let chain = ca.sign(&csr_for(&key, &name), &token).unwrap();
                chain.leaf().serial().unwrap()
            })
        })
        .collect();
    let mut serials: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 4);
}

//! Keys, CSRs, certificates, chains, inspection and errors.

mod common;

use std::time::{Duration, SystemTime};

use mayfly::{inspect, Certificate, Chain, Code, Csr, Error, Key, KeyType};

#[test]
fn version_matches_sys_constants() {
    assert_eq!(mayfly::version(), mayfly::sys::MAYFLY_VERSION_STRING);
    assert_eq!(mayfly::version_number(), mayfly::sys::MAYFLY_VERSION_NUMBER);
}

#[test]
fn every_key_type_round_trips() {
    // mayfly makes P-256, P-384 and Ed25519 keys; RSA keys it only reads.
    let rsa_pem = openssl::rsa::Rsa::generate(2048).unwrap();
    let rsa_pem = openssl::pkey::PKey::from_rsa(rsa_pem).unwrap();
    let rsa_pem = rsa_pem.private_key_to_pem_pkcs8().unwrap();
    let rsa = Key::parse(&rsa_pem, None).unwrap();
    let err = Key::generate(KeyType::Rsa).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
    for kt in [KeyType::P256, KeyType::P384, KeyType::Ed25519, KeyType::Rsa] {
        let key = if kt == KeyType::Rsa { rsa.clone() } else { Key::generate(kt).unwrap() };
        assert_eq!(key.key_type(), kt);
        let pem = key.to_pem(None).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let back = Key::parse(pem.as_bytes(), None).unwrap();
        assert_eq!(back.key_type(), kt);
        assert_eq!(back.public_pem().unwrap(), key.public_pem().unwrap());
        assert!(key.public_pem().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
        // A clone is the same key.
        assert_eq!(key.clone().public_pem().unwrap(), key.public_pem().unwrap());
    }
}

#[test]
fn encrypted_keys_need_their_password() {
    let key = Key::generate(KeyType::P256).unwrap();
    let pem = key.to_pem(Some("hunter2")).unwrap();
    assert!(pem.contains("ENCRYPTED"), "{pem}");
    let back = Key::parse(pem.as_bytes(), Some("hunter2")).unwrap();
    assert_eq!(back.public_pem().unwrap(), key.public_pem().unwrap());
    let wrong = Key::parse(pem.as_bytes(), Some("wrong")).unwrap_err();
    assert_ne!(wrong.message, "");
    // An empty password means unencrypted.
    assert!(!key.to_pem(Some("")).unwrap().contains("ENCRYPTED"));
}

#[test]
fn bad_input_is_invalid_argument() {
    let err = Key::parse(b"not a key", None).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
    assert!(!err.message.is_empty());
    assert_eq!(Csr::parse(b"junk").unwrap_err().code, Code::InvalidArgument);
    assert_eq!(Certificate::parse(b"junk").unwrap_err().code, Code::InvalidArgument);
    assert_eq!(Chain::parse(b"").unwrap_err().code, Code::InvalidArgument);
    assert_eq!(inspect(b"neither").unwrap_err().code, Code::InvalidArgument);
    // Rust strings with NUL never reach C.
    let key = Key::generate(KeyType::P256).unwrap();
    let err = Csr::new(&key, Some("a\0b"), &[] as &[&str]).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    assert!(err.message.contains("NUL"), "{err}");
}

#[test]
fn errors_display_code_and_message() {
    let e = Error::new(Code::Unauthenticated, "certificate has been revoked");
    assert_eq!(e.to_string(), "UNAUTHENTICATED: certificate has been revoked");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e.clone());
    assert_eq!(boxed.to_string(), e.to_string());
    for raw in 1..=16 {
        assert_eq!(Code::from_raw(raw).raw(), raw);
    }
    assert_eq!(Code::from_raw(99), Code::Unknown);
}

#[test]
fn csr_carries_names() {
    let key = Key::generate(KeyType::P256).unwrap();
    let csr = Csr::new(&key, Some("svc.internal"), &["svc.internal", "10.0.0.7"]).unwrap();
    let pem = csr.to_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    let back = Csr::parse(pem.as_bytes()).unwrap();
    assert_eq!(back.to_pem().unwrap(), pem);
    let text = csr.inspect().unwrap();
    assert!(text.contains("svc.internal"), "{text}");
    assert!(text.contains("10.0.0.7"), "{text}");
    assert_eq!(inspect(pem.as_bytes()).unwrap(), text);
    // No CN, no SANs is still a CSR.
    Csr::new(&key, None, &[] as &[&str]).unwrap();
}

#[test]
fn certificates_and_chains() {
    let t = common::new_ca("objects");
    let key = Key::generate(KeyType::P256).unwrap();
    let csr = Csr::new(&key, Some("leaf.internal"), &["leaf.internal"]).unwrap();
    let chain = t.ca.sign(&csr, &t.sign_token("leaf.internal")).unwrap();

    assert_eq!(chain.len(), 2, "leaf and intermediate");
    assert!(!chain.is_empty());
    assert!(chain.get(2).is_none());
    let leaf = chain.leaf();
    assert_eq!(leaf.common_name().unwrap(), "leaf.internal");
    let serial = leaf.serial().unwrap();
    assert!(!serial.is_empty() && serial.bytes().all(|b| b.is_ascii_digit()), "{serial}");
    let fp = leaf.fingerprint().unwrap();
    assert_eq!(fp.len(), 64);
    assert!(fp.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));

    let v = leaf.validity().unwrap();
    let now = SystemTime::now();
    assert!(v.not_before <= now && now < v.not_after, "{v:?}");
    // The default 24h, plus step-ca's one-minute backdate.
    assert_eq!(v.lifetime(), Duration::from_secs(24 * 3600 + 60));

    // PEM and DER round trips, owned copies, iteration.
    let der = leaf.to_der().unwrap();
    let owned = Certificate::parse(&der).unwrap();
    assert_eq!(owned.fingerprint().unwrap(), fp);
    let from_pem = Certificate::parse(leaf.to_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(from_pem.serial().unwrap(), serial);
    assert_eq!(leaf.to_owned().fingerprint().unwrap(), fp);
    assert_eq!(owned.clone().serial().unwrap(), serial);
    let pem = chain.to_pem().unwrap();
    assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let reparsed = Chain::parse(pem.as_bytes()).unwrap();
    let fps: Vec<String> = reparsed.iter().map(|c| c.fingerprint().unwrap()).collect();
    let orig: Vec<String> = chain.iter().map(|c| c.fingerprint().unwrap()).collect();
    assert_eq!(fps, orig);
    assert_eq!(chain.clone().len(), 2);
    // One DER certificate is a chain of one.
    assert_eq!(Chain::parse(&der).unwrap().len(), 1);

    let text = leaf.inspect().unwrap();
    assert!(text.contains("leaf.internal"), "{text}");
    assert_eq!(inspect(&der).unwrap(), text);

    // Certificates and chains cross threads.
    let handle = std::thread::spawn(move || chain.leaf().serial().unwrap());
    assert_eq!(handle.join().unwrap(), serial);
}

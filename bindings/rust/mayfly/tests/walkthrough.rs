//! The seed walkthrough in one process: a CA served over HTTPS on
//! 127.0.0.1, a client bootstrapped by fingerprint, then token, sign, renew,
//! passive revocation and the refused renewal; plus the rest of the client.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{new_ca, TestCa};
use mayfly::{
    Client, ClientRevokeAuth, Code, Csr, EntryOptions, EventKind, Key, KeyType, ProvisionerOptions,
    Scheduler, SchedulerOptions, Server, ServerOptions, TokenOptions,
};

struct Served {
    t: TestCa,
    server: Server,
    url: String,
    log: Arc<Mutex<Vec<String>>>,
}

fn serve(tag: &str) -> Served {
    serve_ca(new_ca(tag))
}

fn serve_ca(t: TestCa) -> Served {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let opts = ServerOptions {
        worker_threads: Some(2),
        ..ServerOptions::default()
            .with_address("127.0.0.1:0")
            .with_log(move |line| sink.lock().unwrap().push(line.to_string()))
    };
    let server = Server::start(&t.ca, &opts).expect("server start");
    assert_ne!(server.port(), 0);
    let url = format!("https://127.0.0.1:{}", server.port());
    Served { t, server, url, log }
}

#[test]
fn seed_walkthrough() {
    let s = serve("walk");
    let client = Client::bootstrap(&s.url, &s.t.pki.root_fingerprint).expect("bootstrap");
    client.health().unwrap();

    // Token and sign.
    let signer = s.t.signer();
    let token = signer
        .sign(&TokenOptions {
            root_fingerprint: Some(s.t.pki.root_fingerprint.clone()),
            ..TokenOptions::sign("walk.internal", &s.url)
        })
        .unwrap();
    let key = Key::generate(KeyType::P256).unwrap();
    let chain = client.sign(&key, &token).expect("sign");
    assert_eq!(chain.leaf().common_name().unwrap(), "walk.internal");
    let serial = chain.leaf().serial().unwrap();

    // Renew over mTLS.
    let renewed = client.renew(&chain, &key).expect("renew");
    let renewed_serial = renewed.leaf().serial().unwrap();
    assert_ne!(renewed_serial, serial);
    assert_eq!(renewed.leaf().common_name().unwrap(), "walk.internal");

    // Passive revocation with a revoke token.
    let revoke = signer.sign(&TokenOptions::revoke(renewed_serial.clone(), &s.url)).unwrap();
    client
        .revoke(&renewed_serial, 0, Some("rotated out"), ClientRevokeAuth::Token(&revoke))
        .unwrap();

    // Renewal refused by the CA.
    let err = client.renew(&renewed, &key).unwrap_err();
    assert!(
        matches!(err.code, Code::Unauthenticated | Code::PermissionDenied),
        "renewal of a revoked certificate: {err}"
    );
    // The original, not revoked, still renews.
    client.renew(&chain, &key).expect("renew the unrevoked original");

    // The server logged the requests through the callback.
    let lines = s.log.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("path=/sign") && l.contains("status=201")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("path=/renew") && l.contains("status=401")),
        "{lines:?}"
    );
    drop(s.server);
}

#[test]
fn client_operations() {
    let s = serve("client");
    // Pinning roots directly instead of bootstrapping.
    let roots = s.t.ca.roots().unwrap();
    let client = Client::new(&s.url, &roots).unwrap();
    client.health().unwrap();
    let fetched = client.roots().unwrap();
    assert_eq!(fetched.leaf().fingerprint().unwrap(), s.t.pki.root_fingerprint);
    let json = client.provisioners_json().unwrap();
    assert!(json.contains("\"admin\""), "{json}");

    // A wrong fingerprint is refused.
    let bad = "00".repeat(32);
    assert!(Client::bootstrap(&s.url, &bad).is_err());

    // sign_csr, rekey, revoke over mTLS.
    let key = Key::generate(KeyType::P256).unwrap();
    let csr = Csr::new(&key, Some("c.internal"), &["c.internal"]).unwrap();
    let chain = client.sign_csr(&csr, &s.t.sign_token("c.internal")).unwrap();
    let new_key = Key::generate(KeyType::Ed25519).unwrap();
    let rekeyed = client.rekey(&chain, &key, &new_key).unwrap();
    assert_ne!(rekeyed.leaf().serial().unwrap(), chain.leaf().serial().unwrap());
    // The rekeyed certificate renews with the new key only.
    client.renew(&rekeyed, &new_key).unwrap();
    let serial = rekeyed.leaf().serial().unwrap();
    client.revoke(&serial, 4, None, ClientRevokeAuth::Mtls(&rekeyed, &new_key)).unwrap();
    let err = client.renew(&rekeyed, &new_key).unwrap_err();
    assert!(matches!(err.code, Code::Unauthenticated | Code::PermissionDenied), "{err}");

    // A used token is refused with the CA's status.
    let token = s.t.sign_token("u.internal");
    client.sign(&key, &token).unwrap();
    let err = client.sign(&key, &token).unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated, "{err}");

    // The client is shared across threads.
    let c2 = client.clone();
    std::thread::spawn(move || c2.health().unwrap()).join().unwrap();

    // A stopped server no longer answers.
    s.server.stop(Duration::from_secs(1));
    s.server.stop(Duration::from_secs(1));
    let err = client.health().unwrap_err();
    assert_eq!(err.code, Code::Unavailable, "{err}");
}

#[test]
fn renew_expired_certificate_with_token() {
    // Backdate 1 s: the renewal of an expired certificate verifies its chain
    // at max(NotBefore, NotAfter - 1m), which must not precede the root this
    // test just made.
    let (t, fast) = common::new_fast_ca("expired", Duration::from_secs(2));
    let s = serve_ca(t);
    let pkey = Key::generate(KeyType::P256).unwrap();
    let opts = ProvisionerOptions {
        min_duration: Some(Duration::from_secs(1)),
        allow_renewal_after_expiry: Some(true),
        kdf_iterations: Some(1000),
        ..Default::default()
    };
    s.t.ca.add_provisioner("expiring", &pkey, "ppw", &opts).unwrap();
    let expiring = mayfly::TokenSigner::new(&pkey, None, "expiring").unwrap();

    // Two certificates lasting 3 s from now (longer than the backdate, so a
    // renewal has a lifetime left): one whose provisioner allows renewal
    // after expiry, one whose provisioner ("fast") does not.
    let issue = |signer: &mayfly::TokenSigner, name: &str| {
        let token = signer.sign(&TokenOptions::sign(name, &s.url)).unwrap();
        let key = Key::generate(KeyType::P256).unwrap();
        let csr = Csr::new(&key, Some(name), &[name]).unwrap();
        (s.t.ca.sign_with_validity(&csr, &token, Some("0s"), Some("3s")).unwrap(), key)
    };
    let (allowed, allowed_key) = issue(&expiring, "e.internal");
    let (refused, refused_key) = issue(&fast, "f.internal");
    let not_after = allowed.leaf().validity().unwrap().not_after;
    let client = Client::bootstrap(&s.url, &s.t.pki.root_fingerprint).unwrap();
    while SystemTime::now() <= not_after + Duration::from_millis(200) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(refused.leaf().validity().unwrap().not_after < SystemTime::now());

    let renewed = match client.renew_with_token(&allowed, &allowed_key) {
        Ok(r) => r,
        Err(e) => panic!("renew after expiry: {e}\n{:#?}", s.log.lock().unwrap()),
    };
    assert!(renewed.leaf().validity().unwrap().not_after > SystemTime::now());
    assert_eq!(renewed.leaf().common_name().unwrap(), "e.internal");

    let err = client.renew_with_token(&refused, &refused_key).unwrap_err();
    assert!(matches!(err.code, Code::Unauthenticated | Code::PermissionDenied), "{err}");
    let err = client.renew(&refused, &refused_key).unwrap_err();
    assert!(matches!(err.code, Code::Unauthenticated | Code::PermissionDenied), "{err}");

    // A scheduler renewing after expiry through the client: the allowed one
    // renews, the refused one is reported EXPIRED and dropped.
    let kinds = Arc::new(Mutex::new(Vec::new()));
    let k = kinds.clone();
    let sched = Scheduler::new(
        &SchedulerOptions::with_client(&client)
            .after_expiry(true)
            .on_event(move |ev| k.lock().unwrap().push((ev.entry(), ev.kind()))),
    )
    .unwrap();
    let a = sched.add(&allowed, &allowed_key, &EntryOptions::default()).unwrap();
    let r = sched.add(&refused, &refused_key, &EntryOptions::default()).unwrap();
    assert_eq!(sched.run_due(SystemTime::now()), 2);
    let mut kinds = kinds.lock().unwrap().clone();
    kinds.sort_by_key(|(id, _)| *id);
    let mut want = vec![(a, EventKind::Renewed), (r, EventKind::Expired)];
    want.sort_by_key(|(id, _)| *id);
    assert_eq!(kinds, want);
    assert_eq!(sched.len(), 1);
}

#[test]
fn json_logs_and_the_log_closure_is_released() {
    let t = new_ca("json");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let opts = ServerOptions {
        json_logs: true,
        ..ServerOptions::default()
            .with_address("127.0.0.1:0")
            .with_log(move |l| sink.lock().unwrap().push(l.to_string()))
    };
    let server = Server::start(&t.ca, &opts).unwrap();
    drop(opts);
    assert_eq!(server.ca().root_fingerprint().unwrap(), t.pki.root_fingerprint);
    let url = format!("https://127.0.0.1:{}", server.port());
    Client::bootstrap(&url, &t.pki.root_fingerprint).unwrap().health().unwrap();
    assert_eq!(Arc::strong_count(&lines), 2, "the server holds the log closure");
    drop(server);
    assert_eq!(Arc::strong_count(&lines), 1, "freeing the server destroyed the closure");
    let lines = lines.lock().unwrap();
    assert!(!lines.is_empty());
    for l in lines.iter() {
        assert!(l.starts_with('{') && l.ends_with('}'), "{l}");
    }
    assert!(lines.iter().any(|l| l.contains("\"/health\"")), "{lines:?}");
}

#[test]
fn server_start_rejects_a_bad_address() {
    let t = new_ca("badaddr");
    let err =
        Server::start(&t.ca, &ServerOptions::default().with_address("not an address")).unwrap_err();
    assert_ne!(err.message, "");
}

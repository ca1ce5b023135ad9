//! Rotating credentials and the renewal scheduler: host-loop mode with every
//! sink, events, and callbacks from the scheduler thread while the host
//! drops its objects.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{new_ca, new_fast_ca, wait_for, DropCounter, TempDir, CA_URL};
use mayfly::{
    Ca, Certificate, Chain, Client, Code, Credentials, Csr, EntryId, EntryOptions, EventKind, Key,
    KeyType, RevokeAuth, Scheduler, SchedulerOptions, Server, TokenOptions, TokenSigner,
};

fn issue(ca: &Ca, signer: &TokenSigner, name: &str) -> (Chain, Key) {
    let key = Key::generate(KeyType::P256).unwrap();
    let csr = Csr::new(&key, Some(name), &[name]).unwrap();
    let token = signer.sign(&TokenOptions::sign(name, CA_URL)).unwrap();
    (ca.sign(&csr, &token).unwrap(), key)
}

#[derive(Debug, Clone)]
struct Seen {
    kind: EventKind,
    entry: EntryId,
    code: Option<Code>,
    serial: Option<String>,
    attempts: i32,
    next_attempt: SystemTime,
}

fn recorder() -> (Arc<Mutex<Vec<Seen>>>, impl Fn(&mayfly::Event<'_>) + Send + Sync + 'static) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let f = move |ev: &mayfly::Event<'_>| {
        sink.lock().unwrap().push(Seen {
            kind: ev.kind(),
            entry: ev.entry(),
            code: ev.error().map(|e| e.code),
            serial: ev.chain().map(|c| c.leaf().serial().unwrap()),
            attempts: ev.attempts(),
            next_attempt: ev.next_attempt(),
        })
    };
    (seen, f)
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn thread_safety_follows_c_h() {
    assert_send_sync::<Key>();
    assert_send_sync::<Csr>();
    assert_send_sync::<Certificate>();
    assert_send_sync::<Chain>();
    assert_send_sync::<Ca>();
    assert_send_sync::<Client>();
    assert_send_sync::<TokenSigner>();
    assert_send_sync::<Credentials>();
    assert_send_sync::<Scheduler>();
    // A server may move between threads, but c.h does not make it Sync.
    assert_send::<Server>();
}

#[test]
fn credentials_hold_matching_pairs() {
    let t = new_ca("creds");
    let signer = t.signer();
    let creds = Credentials::new().unwrap();
    assert_eq!(creds.generation(), 0);
    let err = creds.current().unwrap_err();
    assert_eq!(err.code, Code::FailedPrecondition, "{err}");

    let destroyed = Arc::new(AtomicUsize::new(0));
    let changes = Arc::new(Mutex::new(Vec::new()));
    {
        let changes = changes.clone();
        let guard = DropCounter(destroyed.clone());
        creds
            .on_change(move |g| {
                let _ = &guard;
                changes.lock().unwrap().push(g)
            })
            .unwrap();
    }
    // A panicking callback is caught at the boundary; the others still run.
    creds.on_change(|_| panic!("host callback panics")).unwrap();

    let (chain, key) = issue(&t.ca, &signer, "c.internal");
    let (other_chain, other_key) = issue(&t.ca, &signer, "d.internal");
    creds.set(&chain, &key).unwrap();
    let cur = creds.current().unwrap();
    assert_eq!(cur.generation, 1);
    assert_eq!(cur.chain_pem, chain.to_pem().unwrap());
    assert_eq!(
        Key::parse(cur.key_pem.as_bytes(), None).unwrap().public_pem().unwrap(),
        key.public_pem().unwrap()
    );
    // A key that is not the leaf's: refused, nothing changes.
    let err = creds.set(&chain, &other_key).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
    assert_eq!(creds.current().unwrap(), cur);

    // Set from another thread; callbacks run before set returns.
    let c2 = creds.clone();
    std::thread::spawn(move || c2.set(&other_chain, &other_key).unwrap()).join().unwrap();
    assert_eq!(*changes.lock().unwrap(), vec![1, 2]);
    assert_eq!(creds.generation(), 2);

    assert_eq!(destroyed.load(Ordering::SeqCst), 0);
    drop(creds);
    assert_eq!(destroyed.load(Ordering::SeqCst), 1, "destroy ran once, at free");
}

#[test]
fn host_loop_renews_into_every_sink() {
    let t = new_ca("hostloop");
    let signer = t.signer();
    let (seen, on_event) = recorder();
    let sched = Scheduler::new(&SchedulerOptions::with_ca(&t.ca).on_event(on_event)).unwrap();
    assert!(sched.is_empty());
    assert_eq!(sched.next_deadline(), None);

    let (chain, key) = issue(&t.ca, &signer, "h.internal");
    let creds = Credentials::new().unwrap();
    let files = TempDir::new("sinks");
    let cert_path = files.path().join("cert.pem");
    let key_path = files.path().join("key.pem");
    let marker = files.path().join("exec-ran");
    let delivered = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let d = delivered.clone();
    let opts = EntryOptions::default()
        .credentials(&creds)
        .files(&cert_path, &key_path)
        .exec(["sh", "-c", &format!("echo ran >> '{}'", marker.display())])
        // SIGWINCH, ignored by default, to this process.
        .signal(std::process::id() as i32, 28)
        .callback(move |chain_pem, key_pem| {
            d.lock().unwrap().push((chain_pem.to_string(), key_pem.to_string()));
            true
        });
    // Both file paths are required.
    let err = sched.add(&chain, &key, &EntryOptions::default().files("", &key_path)).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "{err}");
    assert!(sched.is_empty());
    let id = sched.add(&chain, &key, &opts).unwrap();
    assert_eq!(sched.len(), 1);
    // The credentials get the current pair at once.
    assert_eq!(creds.current().unwrap().chain_pem, chain.to_pem().unwrap());

    // The deadline: NotBefore + 2/3 of the lifetime, minus up to 1/20.
    let v = chain.leaf().validity().unwrap();
    let life = v.lifetime();
    let deadline = sched.next_deadline().unwrap();
    assert!(deadline <= v.not_before + life * 2 / 3 + Duration::from_millis(1), "{deadline:?}");
    assert!(deadline >= v.not_before + life * 2 / 3 - life / 20, "{deadline:?}");
    let info = sched.entry_info(id).unwrap();
    assert_eq!(info.attempts, 0);
    assert_eq!(info.next_attempt, deadline);

    // Nothing is due now; everything is due at the deadline.
    assert_eq!(sched.run_due(SystemTime::now()), 0);
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(sched.run_due(deadline), 1);

    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventKind::Renewed);
    assert_eq!(events[0].entry, id);
    assert_eq!(events[0].code, None);
    let new_serial = events[0].serial.clone().unwrap();
    assert_ne!(new_serial, chain.leaf().serial().unwrap());

    let info = sched.entry_info(id).unwrap();
    assert_eq!(info.chain.leaf().serial().unwrap(), new_serial);
    let cur = creds.current().unwrap();
    assert_eq!(cur.generation, 2);
    assert_eq!(cur.chain_pem, info.chain.to_pem().unwrap());
    assert_eq!(std::fs::read_to_string(&cert_path).unwrap(), cur.chain_pem);
    let file_key = Key::parse(&std::fs::read(&key_path).unwrap(), None).unwrap();
    assert_eq!(file_key.public_pem().unwrap(), key.public_pem().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(&cert_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    {
        let d = delivered.lock().unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0, cur.chain_pem);
    }
    assert!(wait_for(Duration::from_secs(10), || marker.exists()), "exec sink ran");

    // Update replaces the pair; remove forgets the entry.
    let (chain2, key2) = issue(&t.ca, &signer, "h.internal");
    sched.update(id, &chain2, &key2).unwrap();
    let info = sched.entry_info(id).unwrap();
    assert_eq!(info.chain.leaf().fingerprint().unwrap(), chain2.leaf().fingerprint().unwrap());
    let err = sched.update(id, &chain2, &key).unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument, "a key that is not the leaf's: {err}");
    sched.remove(id).unwrap();
    assert!(sched.is_empty());
    assert_eq!(sched.remove(id).unwrap_err().code, Code::NotFound);
    assert_eq!(sched.entry_info(id).unwrap_err().code, Code::NotFound);
    assert_eq!(sched.update(id, &chain2, &key2).unwrap_err().code, Code::NotFound);
}

#[test]
fn events_report_sink_failures_revocation_and_outages() {
    let t = new_ca("events");
    let signer = t.signer();
    let (seen, on_event) = recorder();
    let sched = Scheduler::new(&SchedulerOptions::with_ca(&t.ca).on_event(on_event)).unwrap();

    // A sink that refuses, and one that panics: both reported, no abort.
    let (chain, key) = issue(&t.ca, &signer, "s.internal");
    let refuse = sched.add(&chain, &key, &EntryOptions::default().callback(|_, _| false)).unwrap();
    let (chain, key) = issue(&t.ca, &signer, "p.internal");
    let panics = sched
        .add(&chain, &key, &EntryOptions::default().callback(|_, _| panic!("sink panics")))
        .unwrap();
    // A revoked certificate: refused by the CA, no more attempts.
    let (chain, key) = issue(&t.ca, &signer, "r.internal");
    let serial = chain.leaf().serial().unwrap();
    t.ca.revoke(&serial, 0, None, RevokeAuth::Certificate(&chain)).unwrap();
    // Its credentials are released once the scheduler gives the entry up.
    let creds = Credentials::new().unwrap();
    let released = Arc::new(AtomicUsize::new(0));
    let dc = DropCounter(released.clone());
    creds
        .on_change(move |_| {
            let _ = &dc;
        })
        .unwrap();
    let revoked = sched.add(&chain, &key, &EntryOptions::default().credentials(&creds)).unwrap();
    assert_eq!(creds.generation(), 1);
    drop(creds);
    assert_eq!(released.load(Ordering::SeqCst), 0, "the scheduler holds the credentials");

    let later = SystemTime::now() + Duration::from_secs(23 * 3600);
    assert_eq!(sched.run_due(later), 3);
    let events = seen.lock().unwrap().clone();
    let of =
        |id: EntryId| events.iter().filter(|e| e.entry == id).map(|e| e.kind).collect::<Vec<_>>();
    assert!(of(refuse).contains(&EventKind::SinkFailed), "{events:?}");
    assert!(of(panics).contains(&EventKind::SinkFailed), "{events:?}");
    let r: Vec<&Seen> = events.iter().filter(|e| e.entry == revoked).collect();
    assert_eq!(r.len(), 1, "{events:?}");
    assert_eq!(r[0].kind, EventKind::Revoked);
    assert!(matches!(r[0].code, Some(Code::Unauthenticated | Code::PermissionDenied)), "{r:?}");
    assert_eq!(released.load(Ordering::SeqCst), 1, "released after REVOKED");
    assert_eq!(sched.len(), 2);

    // Through a client whose CA does not answer: FAILED, retried later.
    let roots = t.ca.roots().unwrap();
    let client = Client::new("https://127.0.0.1:1", &roots).unwrap();
    let (seen, on_event) = recorder();
    let sched = Scheduler::new(
        &SchedulerOptions::with_client(&client)
            .on_event(on_event)
            .retry(Duration::from_secs(2), Duration::from_secs(60)),
    )
    .unwrap();
    let (chain, key) = issue(&t.ca, &signer, "f.internal");
    let id = sched.add(&chain, &key, &EntryOptions::default()).unwrap();
    let now = SystemTime::now() + Duration::from_secs(23 * 3600);
    assert_eq!(sched.run_due(now), 1);
    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, EventKind::Failed);
    assert_eq!(events[0].code, Some(Code::Unavailable), "{events:?}");
    assert_eq!(events[0].attempts, 1);
    assert!(events[0].next_attempt >= now - Duration::from_secs(1), "{events:?}");
    assert_eq!(sched.entry_info(id).unwrap().attempts, 1);
}

#[test]
fn expired_certificates_are_reported() {
    let (t, signer) = new_fast_ca("expiry", Duration::from_secs(1));
    let (seen, on_event) = recorder();
    let sched = Scheduler::new(&SchedulerOptions::with_ca(&t.ca).on_event(on_event)).unwrap();
    let (chain, key) = issue(&t.ca, &signer, "x.internal");
    let not_after = chain.leaf().validity().unwrap().not_after;
    while SystemTime::now() <= not_after + Duration::from_millis(100) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let id = sched.add(&chain, &key, &EntryOptions::default()).unwrap();
    assert_eq!(sched.run_due(SystemTime::now()), 1);
    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].entry, id);
    assert_eq!(events[0].kind, EventKind::Expired, "{events:?}");
}

/// The scheduler thread delivers renewals into credentials and host
/// callbacks while the host drops its handles, removes entries and finally
/// the scheduler: nothing crashes, and every destroy runs exactly once.
#[test]
fn callbacks_from_the_scheduler_thread_while_the_host_drops_objects() {
    let (t, signer) = new_fast_ca("dropping", Duration::from_secs(2));
    let renewals = Arc::new(AtomicUsize::new(0));
    let destroyed = Arc::new(AtomicUsize::new(0));
    let (r, dc) = (renewals.clone(), DropCounter(destroyed.clone()));
    let sched = Scheduler::new(&SchedulerOptions::with_ca(&t.ca).on_event(move |ev| {
        let _ = &dc;
        if ev.kind() == EventKind::Renewed {
            r.fetch_add(1, Ordering::SeqCst);
        }
    }))
    .unwrap();

    const ENTRIES: usize = 8;
    let changes = Arc::new(AtomicUsize::new(0));
    let mut creds_handles = Vec::new();
    let mut ids = Vec::new();
    for i in 0..ENTRIES {
        let creds = Credentials::new().unwrap();
        let (c, dc) = (changes.clone(), DropCounter(destroyed.clone()));
        creds
            .on_change(move |_| {
                let _ = &dc;
                c.fetch_add(1, Ordering::SeqCst);
                // Widen the window in which the host drops things.
                std::thread::sleep(Duration::from_millis(2));
            })
            .unwrap();
        let dc = DropCounter(destroyed.clone());
        let opts = EntryOptions::default().credentials(&creds).callback(move |chain, key| {
            let _ = &dc;
            !chain.is_empty() && !key.is_empty()
        });
        let (chain, key) = issue(&t.ca, &signer, &format!("e{i}.internal"));
        ids.push(sched.add(&chain, &key, &opts).unwrap());
        creds_handles.push(creds);
    }
    // Per entry: one on_change closure and one delivery closure; plus the
    // event closure.
    let closures = 2 * ENTRIES + 1;
    sched.start().unwrap();

    // Drop half the host's credential handles at once: the scheduler keeps
    // delivering into them.
    let kept = creds_handles.split_off(ENTRIES / 2);
    drop(creds_handles);
    assert!(
        wait_for(Duration::from_secs(20), || renewals.load(Ordering::SeqCst) >= 2 * ENTRIES),
        "renewals: {}",
        renewals.load(Ordering::SeqCst)
    );
    // Remove entries while others renew, then drop the rest of the handles
    // from another thread while renewals are delivered.
    for id in &ids[..ENTRIES / 4] {
        // NotFound only if the scheduler dropped an expired entry itself
        // (on a machine too slow to renew 2-second certificates in time).
        if let Err(e) = sched.remove(*id) {
            assert_eq!(e.code, Code::NotFound, "{e}");
        }
    }
    let dropper = std::thread::spawn(move || drop(kept));
    let before = renewals.load(Ordering::SeqCst);
    assert!(
        wait_for(Duration::from_secs(20), || renewals.load(Ordering::SeqCst) >= before + ENTRIES),
        "renewals continue"
    );
    dropper.join().unwrap();
    assert!(changes.load(Ordering::SeqCst) >= 2 * ENTRIES);
    // Only removed entries' closures may be gone yet.
    assert!(destroyed.load(Ordering::SeqCst) <= 2 * (ENTRIES / 4));

    // Dropping the scheduler stops it and frees everything it held.
    sched.stop();
    drop(sched);
    assert_eq!(destroyed.load(Ordering::SeqCst), closures, "every destroy ran once");
    drop(t);
}

/// A host that drops the last scheduler handle inside the scheduler's own
/// callback (which c.h forbids freeing from) gets a deferred free, not a
/// deadlock or a crash.
#[test]
fn dropping_the_scheduler_inside_its_callback() {
    let (t, signer) = new_fast_ca("selfdrop", Duration::from_secs(2));
    let slot: Arc<Mutex<Option<Scheduler>>> = Arc::new(Mutex::new(None));
    let destroyed = Arc::new(AtomicUsize::new(0));
    let serials = Arc::new(Mutex::new(HashSet::new()));
    let (s, dc, seen) = (slot.clone(), DropCounter(destroyed.clone()), serials.clone());
    let sched = Scheduler::new(&SchedulerOptions::with_ca(&t.ca).on_event(move |ev| {
        let _ = &dc;
        if let Some(chain) = ev.chain() {
            seen.lock().unwrap().insert(chain.leaf().serial().unwrap());
        }
        // The last handle goes here, on the scheduler's thread.
        let taken = s.lock().unwrap().take();
        drop(taken);
    }))
    .unwrap();
    let (chain, key) = issue(&t.ca, &signer, "self.internal");
    sched.add(&chain, &key, &EntryOptions::default()).unwrap();
    // Started from the slot, which then holds the only handle.
    {
        let mut guard = slot.lock().unwrap();
        *guard = Some(sched);
        guard.as_ref().unwrap().start().unwrap();
    }
    assert!(
        wait_for(Duration::from_secs(20), || destroyed.load(Ordering::SeqCst) == 1),
        "the scheduler was freed and its callback destroyed"
    );
    assert!(!serials.lock().unwrap().is_empty());
    assert!(slot.lock().unwrap().is_none());
}

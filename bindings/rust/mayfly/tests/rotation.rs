//! Rotation under real TLS: a mutual-TLS server and client (the system's
//! OpenSSL 3, in the same process as libmayfly's BoringSSL) take their
//! certificates from mayfly `Credentials` that a `Scheduler` renews through
//! the CA's HTTPS API every second or two. Handshakes run back to back for
//! several seconds: none may fail, and both sides must see the certificates
//! change.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::new_fast_ca;
use mayfly::{
    Client, Credentials, EntryOptions, EventKind, Key, KeyType, Scheduler, SchedulerOptions,
    Server, ServerOptions, TokenOptions,
};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{Ssl, SslContext, SslContextBuilder, SslMethod, SslVerifyMode};
use openssl::x509::X509;

const RUN_FOR: Duration = Duration::from_secs(7);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The current chain and key of `creds` as OpenSSL objects, with their
/// generation.
fn current_pair(creds: &Credentials) -> (u64, Vec<X509>, PKey<Private>) {
    let cur = creds.current().expect("credentials are set");
    let chain = X509::stack_from_pem(cur.chain_pem.as_bytes()).expect("chain PEM");
    let key = PKey::private_key_from_pem(cur.key_pem.as_bytes()).expect("key PEM");
    (cur.generation, chain, key)
}

/// A TLS context presenting the newest credentials and trusting only the
/// mayfly root; rebuilt when the credentials' generation changes, as a host
/// would from `Credentials::on_change`.
struct Context {
    creds: Credentials,
    root: X509,
    server: bool,
    built: Option<(u64, SslContext)>,
}

impl Context {
    fn new(creds: &Credentials, root: &X509, server: bool) -> Context {
        Context { creds: creds.clone(), root: root.clone(), server, built: None }
    }

    fn get(&mut self) -> Result<&SslContext, String> {
        let generation = self.creds.generation();
        if self.built.as_ref().map(|(g, _)| *g) != Some(generation) {
            self.built = Some(self.build().map_err(|e| e.to_string())?);
        }
        Ok(&self.built.as_ref().unwrap().1)
    }

    fn build(&self) -> Result<(u64, SslContext), openssl::error::ErrorStack> {
        let (generation, chain, key) = current_pair(&self.creds);
        let method = if self.server { SslMethod::tls_server() } else { SslMethod::tls_client() };
        let mut b = SslContextBuilder::new(method)?;
        b.set_certificate(&chain[0])?;
        for c in &chain[1..] {
            b.add_extra_chain_cert(c.clone())?;
        }
        b.set_private_key(&key)?;
        b.check_private_key()?;
        b.cert_store_mut().add_cert(self.root.clone())?;
        // Both sides verify: the server requires a client certificate.
        let mode = if self.server {
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT
        } else {
            SslVerifyMode::PEER
        };
        b.set_verify(mode);
        Ok((generation, b.build()))
    }
}

/// One server-side exchange: handshake, "ping" in, "pong" out. Returns the
/// client certificate's serial.
fn serve_one(stream: TcpStream, ctx: &mut Context) -> Result<String, String> {
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let ssl = Ssl::new(ctx.get()?).map_err(|e| e.to_string())?;
    let mut tls = ssl.accept(stream).map_err(|e| format!("server handshake: {e}"))?;
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf).map_err(|e| format!("server read: {e}"))?;
    if &buf != b"ping" {
        return Err(format!("server read {buf:?}"));
    }
    tls.write_all(b"pong").map_err(|e| format!("server write: {e}"))?;
    let peer = tls.ssl().peer_certificate().ok_or("no client certificate")?;
    let serial = peer.serial_number().to_bn().unwrap().to_dec_str().unwrap().to_string();
    let _ = tls.shutdown();
    Ok(serial)
}

/// One client-side exchange. Returns the server certificate's SHA-256.
fn call_one(addr: SocketAddr, ctx: &mut Context, name: IpAddr) -> Result<Vec<u8>, String> {
    let mut ssl = Ssl::new(ctx.get()?).map_err(|e| e.to_string())?;
    // The server's certificate must name this address.
    ssl.param_mut().set_ip(name).map_err(|e| e.to_string())?;
    let stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut tls = ssl.connect(stream).map_err(|e| format!("client handshake: {e}"))?;
    tls.write_all(b"ping").map_err(|e| format!("client write: {e}"))?;
    let mut buf = [0u8; 4];
    tls.read_exact(&mut buf).map_err(|e| format!("client read: {e}"))?;
    if &buf != b"pong" {
        return Err(format!("client read {buf:?}"));
    }
    let peer = tls.ssl().peer_certificate().ok_or("no server certificate")?;
    Ok(peer.digest(MessageDigest::sha256()).unwrap().to_vec())
}

#[test]
fn tls_handshakes_survive_rotation() {
    // Certificates of 3 s (+1 s backdate): renewed every ~1.5 s.
    let (t, signer) = new_fast_ca("rotation", Duration::from_secs(3));
    let server = Server::start(
        &t.ca,
        &ServerOptions::default().with_address("127.0.0.1:0").with_log(|_| {}),
    )
    .unwrap();
    let url = format!("https://127.0.0.1:{}", server.port());
    let client = Client::bootstrap(&url, &t.pki.root_fingerprint).unwrap();
    let root = X509::from_pem(t.ca.roots().unwrap().leaf().to_pem().unwrap().as_bytes()).unwrap();

    let issue = |subject: &str, sans: &[&str]| {
        let key = Key::generate(KeyType::P256).unwrap();
        let token = signer
            .sign(&TokenOptions::sign(subject, url.as_str()).with_sans(sans.iter().copied()))
            .unwrap();
        (client.sign(&key, &token).unwrap(), key)
    };
    let (server_chain, server_key) = issue("rot-server", &["127.0.0.1"]);
    let (client_chain, client_key) = issue("rot-client", &["rot-client"]);

    let renewed = Arc::new(AtomicUsize::new(0));
    let problems = Arc::new(Mutex::new(Vec::<String>::new()));
    let (r, p) = (renewed.clone(), problems.clone());
    let sched =
        Scheduler::new(&SchedulerOptions::with_client(&client).on_event(
            move |ev| match ev.kind() {
                EventKind::Renewed => {
                    r.fetch_add(1, Ordering::SeqCst);
                }
                kind => p.lock().unwrap().push(format!("{kind:?}: {:?}", ev.error())),
            },
        ))
        .unwrap();
    let server_creds = Credentials::new().unwrap();
    let client_creds = Credentials::new().unwrap();
    sched
        .add(&server_chain, &server_key, &EntryOptions::default().credentials(&server_creds))
        .unwrap();
    sched
        .add(&client_chain, &client_key, &EntryOptions::default().credentials(&client_creds))
        .unwrap();
    sched.start().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server_failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let client_serials = Arc::new(Mutex::new(HashSet::<String>::new()));
    let tls_server = {
        let mut ctx = Context::new(&server_creds, &root, true);
        let stop = stop.clone();
        let (failures, serials) = (server_failures.clone(), client_serials.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                match stream.map_err(|e| e.to_string()).and_then(|s| serve_one(s, &mut ctx)) {
                    Ok(serial) => {
                        serials.lock().unwrap().insert(serial);
                    }
                    Err(e) => failures.lock().unwrap().push(e),
                }
            }
        })
    };

    let mut ok = 0usize;
    let mut client_failures = Vec::new();
    let mut server_certs = HashSet::new();
    let mut ctx = Context::new(&client_creds, &root, false);
    let start = Instant::now();
    while start.elapsed() < RUN_FOR {
        match call_one(addr, &mut ctx, addr.ip()) {
            Ok(fp) => {
                ok += 1;
                server_certs.insert(fp);
            }
            Err(e) => client_failures.push(e),
        }
    }
    let server_failures_before_controls = server_failures.lock().unwrap().len();

    // Controls: the same exchange fails for a name the certificate does not
    // carry, and for a client trusting another CA's root.
    let err = call_one(addr, &mut ctx, "127.0.0.2".parse().unwrap()).unwrap_err();
    assert!(err.contains("handshake"), "{err}");
    let other = common::new_ca("rotation-other");
    let other_root =
        X509::from_pem(other.ca.roots().unwrap().leaf().to_pem().unwrap().as_bytes()).unwrap();
    let mut wrong = Context::new(&client_creds, &other_root, false);
    let err = call_one(addr, &mut wrong, addr.ip()).unwrap_err();
    assert!(err.contains("handshake"), "{err}");

    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(addr); // wakes the accept loop
    tls_server.join().unwrap();
    sched.stop();

    let server_failures =
        server_failures.lock().unwrap()[..server_failures_before_controls].to_vec();
    let client_serials = client_serials.lock().unwrap().len();
    let renewals = renewed.load(Ordering::SeqCst);
    eprintln!(
        "rotation: {ok} handshakes, {} server and {client_serials} client certificates seen, \
         {renewals} renewals",
        server_certs.len()
    );
    assert!(client_failures.is_empty(), "client failures: {client_failures:?}");
    assert!(server_failures.is_empty(), "server failures: {server_failures:?}");
    assert!(problems.lock().unwrap().is_empty(), "{:?}", problems.lock().unwrap());
    assert!(ok >= 50, "only {ok} handshakes");
    assert!(server_certs.len() >= 2, "the server certificate never rotated");
    assert!(client_serials >= 2, "the client certificate never rotated");
    assert!(renewals >= 4, "{renewals} renewals");
    drop(server);
}
